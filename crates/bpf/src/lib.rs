/*!
Osprey's eBPF side: the programs (C under `src/bpf/`, compiled with clang and CO-RE by
`build.rs`) and the loader that probes, loads, attaches and drains them. This is the only crate
that needs root (or `CAP_BPF` + `CAP_PERFMON` + `CAP_NET_ADMIN`).

* [`probe`] finds which hook types this kernel accepts ([`Hook`], [`ProbeReport`]), and
  [`Features`] which helpers and map types, which decides between the main object and the
  compat one (for kernels before 5.17) and the fallbacks in it.
* [`Tracer::load`] opens the skeleton, writes the scope knobs into `.rodata`, sizes the ring
  buffer, loads and attaches the chosen programs. Dropping the [`Tracer`] detaches everything.
* [`Tracer::ring_buffer`] hands each record to a callback; [`record::Record::parse`] checks its
  length and splits it into a header and arguments without ever panicking.

Record layouts come from `src/bpf/osprey.h` through the skeleton's types (never hand-copied).
*/

#![deny(missing_docs)]

use std::fmt;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{Link, MapCore, MapFlags, MapHandle, OpenObject, PrintLevel};

mod features;
pub mod integrity;
pub mod record;

pub use features::Features;

#[allow(
    clippy::all,
    missing_docs,
    dead_code,
    non_camel_case_types,
    non_snake_case,
    unused_imports,
    unsafe_op_in_unsafe_fn
)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/osprey.skel.rs"));

    /// `osprey.bpf.c` built with `-DOSPREY_COMPAT` (build.rs): same maps, programs, globals.
    static COMPAT_OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/osprey_compat.bpf.o"));

    std::thread_local! {
        /// Whether the next skeleton this thread opens takes the compat object.
        pub(super) static OPEN_COMPAT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// The object bytes the (patched) skeleton opens: build.rs routes it here.
    fn object_bytes(main: &'static [u8]) -> &'static [u8] {
        if OPEN_COMPAT.get() {
            COMPAT_OBJECT
        } else {
            main
        }
    }
}

#[allow(
    clippy::all,
    missing_docs,
    dead_code,
    non_camel_case_types,
    non_snake_case,
    unused_imports,
    unsafe_op_in_unsafe_fn
)]
mod probe_skel {
    include!(concat!(env!("OUT_DIR"), "/probe.skel.rs"));
}

#[allow(
    clippy::all,
    missing_docs,
    dead_code,
    non_camel_case_types,
    non_snake_case,
    unused_imports,
    unsafe_op_in_unsafe_fn
)]
mod integrity_skel {
    include!(concat!(env!("OUT_DIR"), "/integrity.skel.rs"));
}

use skel::{OpenOspreySkel, OspreySkel, OspreySkelBuilder};

/// The header of every record (`struct record_hdr` in `osprey.h`).
pub type RecordHdr = skel::types::record_hdr;
/// Per-syscall configuration (`struct sys_cfg` in `osprey.h`).
pub type SysCfg = skel::types::sys_cfg;

// SAFETY: `record_hdr` is a `#[repr(C)]` struct of integers and byte arrays generated from BTF:
// every bit pattern is a valid value and it has no padding the compiler may rely on.
unsafe impl plain::Plain for RecordHdr {}

/// The fixed part of a capture data record (`struct cap_chunk` in `osprey.h`); `len` bytes of
/// data follow it.
pub type CapChunk = skel::types::cap_chunk;

// SAFETY: `cap_chunk` is a `#[repr(C)]` struct of integers (and a `record_hdr`) generated from
// BTF, with explicit padding: every bit pattern is a valid value.
unsafe impl plain::Plain for CapChunk {}

/// Constants shared with the BPF programs (mirrors of `osprey.h` defines, which BTF does not
/// carry; `tests::constants_match_header` checks them against the header text).
pub mod consts {
    /// Argument kinds.
    pub const ARG_INT: u8 = 1;
    /// A string.
    pub const ARG_STR: u8 = 2;
    /// Raw bytes.
    pub const ARG_BYTES: u8 = 3;
    /// NUL-separated strings.
    pub const ARG_STRLIST: u8 = 4;
    /// A raw `struct sockaddr`.
    pub const ARG_SOCKADDR: u8 = 5;

    /// How sys_exit reads a syscall argument: not at all.
    pub const SK_NONE: u8 = 0;
    /// The register value.
    pub const SK_INT: u8 = 1;
    /// A user string.
    pub const SK_STR: u8 = 2;
    /// A user sockaddr whose length is the next argument.
    pub const SK_SOCKADDR: u8 = 3;
    /// A user sockaddr whose length is behind the next argument (a `socklen_t *`).
    pub const SK_SOCKADDR_LP: u8 = 4;
    /// A user NULL-terminated string array.
    pub const SK_STRARR: u8 = 5;

    /// Record kinds.
    pub const REC_SYSCALL: u16 = 1;
    /// sched_process_exec.
    pub const REC_EXEC: u16 = 2;
    /// sched_process_fork.
    pub const REC_FORK: u16 = 3;
    /// sched_process_exit.
    pub const REC_EXIT: u16 = 4;
    /// security_file_open.
    pub const REC_FILE_OPEN: u16 = 5;
    /// magic_write.
    pub const REC_MAGIC_WRITE: u16 = 6;
    /// security_inode_unlink.
    pub const REC_UNLINK: u16 = 7;
    /// security_socket_connect.
    pub const REC_CONNECT: u16 = 8;
    /// security_socket_bind.
    pub const REC_BIND: u16 = 9;
    /// security_socket_accept.
    pub const REC_ACCEPT: u16 = 10;
    /// security_file_mprotect.
    pub const REC_MPROTECT: u16 = 11;
    /// mem_prot_alert.
    pub const REC_MEM_ALERT: u16 = 12;
    /// security_sb_mount.
    pub const REC_MOUNT: u16 = 13;
    /// A packet with its socket owner.
    pub const REC_PACKET: u16 = 14;

    /// Emit the syscall event at sys_exit.
    pub const EMIT_EXIT: u16 = 1;
    /// Emit it at sys_enter.
    pub const EMIT_ENTER: u16 = 2;
    /// sys_enter records state for a derived event.
    pub const STASH_ENTER: u16 = 4;

    /// Derived events (bits of `sys_cfg.derive`).
    pub const DV_FILE_OPEN: u16 = 1 << 0;
    /// magic_write.
    pub const DV_MAGIC_WRITE: u16 = 1 << 1;
    /// security_inode_unlink.
    pub const DV_UNLINK: u16 = 1 << 2;
    /// security_socket_connect.
    pub const DV_CONNECT: u16 = 1 << 3;
    /// security_socket_bind.
    pub const DV_BIND: u16 = 1 << 4;
    /// security_socket_accept.
    pub const DV_ACCEPT: u16 = 1 << 5;
    /// security_file_mprotect.
    pub const DV_MPROTECT: u16 = 1 << 6;
    /// mem_prot_alert.
    pub const DV_MEM_ALERT: u16 = 1 << 7;
    /// security_sb_mount.
    pub const DV_MOUNT: u16 = 1 << 8;

    /// Scope flags: in scope.
    pub const SCOPE_IN: u32 = 1;
    /// Seeded, waiting for its exec: only sched_process_exec is reported until then.
    pub const SCOPE_PENDING_EXEC: u32 = 2;

    /// --capture write (bit of `sys_cfg.derive`).
    pub const DV_CAP_WRITE: u16 = 1 << 9;
    /// --capture mem.
    pub const DV_CAP_MEM: u16 = 1 << 10;
    /// --capture module.
    pub const DV_CAP_MODULE: u16 = 1 << 11;

    /// Capture data record (`struct cap_chunk`).
    pub const REC_CAP_CHUNK: u16 = 20;
    /// First write through an open file: path and identity.
    pub const REC_CAP_WRITE: u16 = 21;
    /// An executed binary.
    pub const REC_CAP_EXEC: u16 = 22;
    /// A memory region that went from W+X to X.
    pub const REC_CAP_MEM: u16 = 23;
    /// init_module: the image follows.
    pub const REC_CAP_MODULE: u16 = 24;
    /// finit_module: the task is held, the file is behind the fd.
    pub const REC_CAP_FMODULE: u16 = 25;

    /// Chunk of a written file.
    pub const CAP_WRITE: u16 = 1;
    /// Chunk of a memory region.
    pub const CAP_MEM: u16 = 2;
    /// Chunk of a module image.
    pub const CAP_MODULE: u16 = 3;
    /// A packet.
    pub const CAP_PACKET: u16 = 4;
    /// A written file was truncated to `offset`.
    pub const CAP_TRUNC: u16 = 5;

    /// Pipe, socket or character device.
    pub const CF_STREAM: u16 = 1;
    /// The range could not be captured.
    pub const CF_LOST: u16 = 2;
    /// A packet leaving the host.
    pub const CF_EGRESS: u16 = 4;
    /// The task was stopped (SIGSTOP) and waits to be released.
    pub const CF_HOLD: u16 = 8;
    /// No data: the kernel copied the range into the file; read it back from there.
    pub const CF_FROM_FILE: u16 = 16;
    /// With [`CF_FROM_FILE`]: sent before the write happened (io_uring's); read back later.
    pub const CF_LATER: u16 = 32;

    /// A packet record's header carries its socket owner's whole context (namespaced IDs,
    /// start times, namespaces, host name), read from the task when it used the socket.
    pub const HDR_OWNER_CONTEXT: u16 = 1 << 14;

    /// Lost: the capture ring buffer was full.
    pub const LOST_RING_FULL: u32 = 1;
    /// Lost: user memory could not be read.
    pub const LOST_UNREADABLE: u32 = 2;
    /// Lost: beyond the per-artifact cap.
    pub const LOST_TOO_BIG: u32 = 3;
    /// Lost: copied by the kernel into a pipe or socket.
    pub const LOST_KERNEL_COPY: u32 = 4;
    /// Lost: another task took the CPU's capture run while it was sent.
    pub const LOST_PREEMPTED: u32 = 5;

    /// Most bytes captured of one memory region or module image.
    pub const CAP_REGION_MAX: u64 = 256 << 20;
    /// Longest write filter prefix the kernel compares (the grammar allows 50 characters).
    pub const CAP_FILTER_LEN: usize = 64;
    /// Most write filters.
    pub const CAP_MAX_FILTERS: usize = 3;

    /// Number of syscall slots in `sys_cfgs`.
    pub const SYSCALL_SLOTS: u32 = 512;
    /// Most copies of one program (context.h, "Spare copies").
    pub const MAX_COPIES: u32 = 6;
    /// Number of event-ID slots in `lost_by_event`.
    pub const EVENT_SLOTS: u32 = 4096;
    /// Most uids `--scope uid=` can name in the kernel filter.
    pub const MAX_SCOPE_UIDS: usize = 8;
}

/// Why records were lost or degraded, indexed like the per-CPU `drops` map.
pub const DROP_CAUSES: [&str; 6] = [
    "ring buffer full",
    "record too big",
    "user memory unreadable",
    "path too deep",
    "no scratch buffer",
    "preempted while built",
];

/// Index in [`DROP_CAUSES`]: the ring buffer was full.
pub const DROP_RINGBUF_FULL: usize = 0;
/// Index in [`DROP_CAUSES`]: another task took the CPU's record buffer (compat.h, "CPU pinning").
pub const DROP_PREEMPTED: usize = 5;

/// True for the causes in [`DROP_CAUSES`] that cost a whole record (the others degrade one).
pub fn drop_cause_is_loss(cause: usize) -> bool {
    cause == DROP_RINGBUF_FULL || cause == DROP_PREEMPTED
}

/// Errors of the loader.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Opening the BPF object failed.
    #[error("opening the BPF object: {0}")]
    Open(#[source] libbpf_rs::Error),
    /// Loading (verifying) failed; `log` holds libbpf's last messages, naming the program.
    #[error("loading BPF programs ({programs}): {source}{log}")]
    Load {
        /// Programs that were being loaded.
        programs: String,
        /// libbpf's error.
        #[source]
        source: libbpf_rs::Error,
        /// The tail of libbpf's log, which names the program that failed and why.
        log: String,
    },
    /// Attaching one program failed.
    #[error("attaching {program}: {source}")]
    Attach {
        /// The program.
        program: &'static str,
        /// libbpf's error.
        #[source]
        source: libbpf_rs::Error,
    },
    /// A map operation failed.
    #[error("{what}: {source}")]
    Map {
        /// What was being done.
        what: &'static str,
        /// libbpf's error.
        #[source]
        source: libbpf_rs::Error,
    },
    /// An I/O error (opening the cgroup directory, ...).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// A kind of kernel hook the tracer can use; each maps to one or more programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hook {
    /// `tp_btf/sys_enter` + `tp_btf/sys_exit`.
    TpBtfSyscalls,
    /// `raw_tracepoint/sys_enter` + `raw_tracepoint/sys_exit` (fallback).
    RawSyscalls,
    /// `tp_btf/sched_process_exec` (+ `tp_btf/task_rename` for prev_comm).
    SchedExec,
    /// `tp_btf/sched_process_fork`.
    SchedFork,
    /// `tp_btf/sched_process_exit`.
    SchedExit,
    /// `tp_btf/ext4_unlink_enter` (inode of an unlinked ext4 file).
    Ext4Unlink,
    /// `raw_tracepoint/ext4_unlink_enter` (fallback: no BTF for modules before 5.11).
    Ext4UnlinkRaw,
    /// `cgroup_skb/ingress` + `cgroup_skb/egress` on the cgroup v2 root.
    CgroupSkb,
    /// `cgroup/sock_create`, `cgroup/connect4|6`, `cgroup/sendmsg4|6` (socket owners).
    CgroupSock,
    /// `fentry/security_file_open`: security_file_open at the LSM function (io_uring opens too).
    FileOpenFentry,
    /// `kprobe/security_file_open`: the same where fentry is refused.
    FileOpenKprobe,
    /// `fentry/security_inode_unlink`: inode of an unlinked file on any filesystem.
    UnlinkFentry,
    /// `kprobe/security_inode_unlink`: the same where fentry is refused.
    UnlinkKprobe,
    /// `fentry/security_socket_{connect,bind,accept}`: io_uring's calls of them (the syscalls'
    /// are derived at their exit).
    SocketFentry,
    /// `kprobe/security_socket_{connect,bind,accept}`: the same where fentry is refused.
    SocketKprobe,
    /// `fentry/rw_verify_area`: the writes io_uring makes, for `--capture write`.
    UringWriteFentry,
    /// `kprobe/rw_verify_area`: the same where fentry is refused.
    UringWriteKprobe,
    /// BPF LSM (probed only: fentry and kprobes serve the events without `lsm=...,bpf`).
    Lsm,
}

impl Hook {
    /// Every hook, in probe order.
    pub const ALL: [Hook; 18] = [
        Hook::TpBtfSyscalls,
        Hook::RawSyscalls,
        Hook::SchedExec,
        Hook::SchedFork,
        Hook::SchedExit,
        Hook::Ext4Unlink,
        Hook::Ext4UnlinkRaw,
        Hook::CgroupSkb,
        Hook::CgroupSock,
        Hook::FileOpenFentry,
        Hook::FileOpenKprobe,
        Hook::UnlinkFentry,
        Hook::UnlinkKprobe,
        Hook::SocketFentry,
        Hook::SocketKprobe,
        Hook::UringWriteFentry,
        Hook::UringWriteKprobe,
        Hook::Lsm,
    ];

    /// The hook's name as `--list` shows it.
    pub fn name(self) -> &'static str {
        match self {
            Hook::TpBtfSyscalls => "tp_btf/sys_enter+sys_exit",
            Hook::RawSyscalls => "raw_tracepoint/sys_enter+sys_exit",
            Hook::SchedExec => "tp_btf/sched_process_exec",
            Hook::SchedFork => "tp_btf/sched_process_fork",
            Hook::SchedExit => "tp_btf/sched_process_exit",
            Hook::Ext4Unlink => "tp_btf/ext4_unlink_enter",
            Hook::Ext4UnlinkRaw => "raw_tracepoint/ext4_unlink_enter",
            Hook::CgroupSkb => "cgroup_skb/ingress+egress",
            Hook::CgroupSock => "cgroup/sock_create+connect+sendmsg",
            Hook::FileOpenFentry => "fentry/security_file_open",
            Hook::FileOpenKprobe => "kprobe/security_file_open",
            Hook::UnlinkFentry => "fentry/security_inode_unlink",
            Hook::UnlinkKprobe => "kprobe/security_inode_unlink",
            Hook::SocketFentry => "fentry/security_socket_connect+bind+accept",
            Hook::SocketKprobe => "kprobe/security_socket_connect+bind+accept",
            Hook::UringWriteFentry => "fentry/rw_verify_area",
            Hook::UringWriteKprobe => "kprobe/rw_verify_area",
            Hook::Lsm => "lsm/file_open",
        }
    }

    fn programs(self) -> &'static [&'static str] {
        match self {
            Hook::TpBtfSyscalls => &["tp_sys_enter", "tp_sys_exit"],
            Hook::RawSyscalls => &["raw_sys_enter", "raw_sys_exit"],
            Hook::SchedExec => &["tp_sched_process_exec", "tp_task_rename"],
            Hook::SchedFork => &["tp_sched_process_fork"],
            Hook::SchedExit => &["tp_sched_process_exit"],
            Hook::Ext4Unlink => &["tp_ext4_unlink_enter"],
            Hook::Ext4UnlinkRaw => &["raw_ext4_unlink_enter"],
            Hook::CgroupSkb => &["cg_skb_ingress", "cg_skb_egress"],
            Hook::CgroupSock => &[
                "cg_sock_create",
                "cg_connect4",
                "cg_connect6",
                "cg_sendmsg4",
                "cg_sendmsg6",
            ],
            Hook::FileOpenFentry => &["fentry_file_open"],
            Hook::FileOpenKprobe => &["kprobe_file_open"],
            Hook::UnlinkFentry => &["fentry_inode_unlink"],
            Hook::UnlinkKprobe => &["kprobe_inode_unlink"],
            Hook::SocketFentry => &[
                "fentry_socket_connect",
                "fentry_socket_bind",
                "fentry_socket_accept",
            ],
            Hook::SocketKprobe => &[
                "kprobe_socket_connect",
                "kprobe_socket_bind",
                "kprobe_socket_accept",
            ],
            Hook::UringWriteFentry => &["fentry_rw_verify_area"],
            Hook::UringWriteKprobe => &["kprobe_rw_verify_area"],
            Hook::Lsm => &["probe_lsm"],
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What [`probe`] found: for each hook, `Ok` or the reason it cannot be used.
#[derive(Debug, Clone, Default)]
pub struct ProbeReport {
    /// Per hook: `Ok(())` when its programs load, else why not.
    pub hooks: Vec<(Hook, Result<(), String>)>,
    /// The kernel features the hooks were probed with.
    pub features: Option<Features>,
}

impl ProbeReport {
    /// True when `hook` loads here.
    pub fn ok(&self, hook: Hook) -> bool {
        self.hooks.iter().any(|(h, r)| *h == hook && r.is_ok())
    }

    /// Why `hook` cannot be used, if it cannot.
    pub fn why_not(&self, hook: Hook) -> Option<&str> {
        self.hooks
            .iter()
            .find(|(h, _)| *h == hook)
            .and_then(|(_, r)| r.as_ref().err().map(String::as_str))
    }
}

static LIBBPF_LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn libbpf_print(level: PrintLevel, msg: String) {
    if let Ok(mut log) = LIBBPF_LOG.lock() {
        if log.len() > 400 {
            log.drain(..200);
        }
        log.push(msg.trim_end().to_string());
    }
    if level != PrintLevel::Debug && std::env::var_os("OSPREY_BPF_DEBUG").is_some() {
        eprint!("libbpf: {msg}");
    }
}

fn take_log() -> Vec<String> {
    LIBBPF_LOG
        .lock()
        .map(|mut l| std::mem::take(&mut *l))
        .unwrap_or_default()
}

/// The part of libbpf's log that says why loading failed: the lines naming a program plus the
/// last verifier lines.
fn summarize_log(lines: &[String]) -> String {
    let mut out = String::new();
    let interesting: Vec<&String> = lines
        .iter()
        .filter(|l| {
            l.contains("failed")
                || l.contains("prog '")
                || l.contains("invalid")
                || l.contains("permission")
                || l.contains("not supported")
                || l.contains("unknown func")
        })
        .collect();
    for l in interesting.iter().rev().take(6).rev() {
        // a verifier log arrives as one message: keep its last lines, which say why
        let lines: Vec<&str> = l.lines().collect();
        for line in &lines[lines.len().saturating_sub(8)..] {
            out.push_str("\n    ");
            out.push_str(line);
        }
    }
    out
}

fn install_printer() {
    libbpf_rs::set_print(Some((PrintLevel::Debug, libbpf_print)));
}

fn leak_object() -> &'static mut MaybeUninit<OpenObject> {
    // The skeleton borrows its OpenObject for as long as it lives; the tracer lives until the end
    // of a run, so one small box per load is leaked rather than building a self-referential type.
    Box::leak(Box::new(MaybeUninit::uninit()))
}

const ALL_MAIN_PROGRAMS: &[&str] = &[
    "tp_sys_enter",
    "tp_sys_enter_copy2",
    "tp_sys_enter_copy3",
    "tp_sys_enter_copy4",
    "tp_sys_enter_copy5",
    "tp_sys_enter_copy6",
    "tp_sys_exit",
    "tp_sys_exit_copy2",
    "tp_sys_exit_copy3",
    "tp_sys_exit_copy4",
    "tp_sys_exit_copy5",
    "tp_sys_exit_copy6",
    "raw_sys_enter",
    "raw_sys_enter_copy2",
    "raw_sys_enter_copy3",
    "raw_sys_enter_copy4",
    "raw_sys_enter_copy5",
    "raw_sys_enter_copy6",
    "raw_sys_exit",
    "raw_sys_exit_copy2",
    "raw_sys_exit_copy3",
    "raw_sys_exit_copy4",
    "raw_sys_exit_copy5",
    "raw_sys_exit_copy6",
    "tp_sched_process_exec",
    "tp_task_rename",
    "tp_sched_process_fork",
    "tp_sched_process_exit",
    "tp_ext4_unlink_enter",
    "raw_ext4_unlink_enter",
    "cg_skb_ingress",
    "cg_skb_egress",
    "cg_sock_create",
    "cg_connect4",
    "cg_connect6",
    "cg_sendmsg4",
    "cg_sendmsg6",
    "fentry_file_open",
    "fentry_file_open_copy2",
    "fentry_file_open_copy3",
    "fentry_file_open_copy4",
    "fentry_file_open_copy5",
    "fentry_file_open_copy6",
    "kprobe_file_open",
    "fentry_inode_unlink",
    "kprobe_inode_unlink",
    "fentry_socket_connect",
    "fentry_socket_bind",
    "fentry_socket_accept",
    "kprobe_socket_connect",
    "kprobe_socket_bind",
    "kprobe_socket_accept",
    "fentry_rw_verify_area",
    "kprobe_rw_verify_area",
];

fn set_autoload(open: &mut OpenOspreySkel<'_>, wanted: &[&str]) {
    for mut prog in open.open_object_mut().progs_mut() {
        let load = wanted.iter().any(|w| prog.name() == *w);
        prog.set_autoload(load);
    }
}

/// Tries to load the programs of every hook, one hook at a time, and reports which load.
/// Nothing is attached. Needs root (or CAP_BPF + CAP_PERFMON).
pub fn probe() -> ProbeReport {
    probe_with(Features::detect())
}

/// [`probe`] with the given features (the object and fallbacks they select).
pub fn probe_with(features: Features) -> ProbeReport {
    install_printer();
    let mut report = ProbeReport {
        features: Some(features),
        ..ProbeReport::default()
    };
    for hook in Hook::ALL {
        let result = match hook {
            Hook::Lsm => features::load_probe("probe_lsm").map(drop),
            _ => probe_main(hook.programs(), features),
        };
        report.hooks.push((hook, result));
    }
    report
}

/// Those of `hooks` whose programs load here (probed like [`probe`], one hook at a time).
pub fn probe_hooks(hooks: &[Hook]) -> Vec<Hook> {
    install_printer();
    let features = Features::detect();
    hooks
        .iter()
        .copied()
        .filter(|h| probe_main(h.programs(), features).is_ok())
        .collect()
}

/// Opens the main or the compat object, as `features` say, with the feature knobs set and the
/// maps this kernel cannot have left uncreated.
fn open_main(features: Features) -> Result<OpenOspreySkel<'static>, libbpf_rs::Error> {
    let obj = leak_object();
    skel::OPEN_COMPAT.set(features.compat());
    let open = OspreySkelBuilder::default().open(obj);
    skel::OPEN_COMPAT.set(false);
    let mut open = open?;
    if let Some(ro) = open.maps.rodata_data.as_deref_mut() {
        ro.have_task_storage = features.task_storage as u8;
        ro.have_task_btf = features.task_btf as u8;
        ro.have_task_pt_regs = features.task_pt_regs as u8;
        ro.have_sock_task = features.sock_task as u8;
        ro.pin_cpu = features.pin_cpu as u8;
        ro.pin_cpu_skb = features.pin_cpu_skb as u8;
        ro.nr_copies = features.copies();
    }
    let storage = features.task_storage;
    open.maps.task_caches.set_autocreate(storage)?;
    open.maps.task_stashes.set_autocreate(storage)?;
    open.maps.task_cache_by_tid.set_autocreate(!storage)?;
    open.maps.task_stash_by_tid.set_autocreate(!storage)?;
    Ok(open)
}

fn probe_main(programs: &[&str], features: Features) -> Result<(), String> {
    let _ = take_log();
    let mut open = open_main(features).map_err(|e| format!("open: {e}"))?;
    set_autoload(&mut open, programs);
    shrink_maps(&mut open);
    // Turn every knob on: the verifier prunes branches that frozen .rodata disables, so a probe
    // with the knobs at zero would not verify the code a real run uses.
    if let Some(ro) = open.maps.rodata_data.as_deref_mut() {
        ro.self_tgid = std::process::id();
        ro.scope_pid_mode = 1;
        ro.scope_follow = 1;
        ro.scope_new = 1;
        ro.scope_uid_mode = 1;
        ro.scope_nuids = 1;
        ro.en_exec = 1;
        ro.en_fork = 1;
        ro.en_exit = 1;
        ro.en_packets = 1;
        ro.exec_env = 1;
        ro.wakeup_bytes = 1;
        ro.cap_write = 1;
        ro.cap_exec = 1;
        ro.cap_mem = 1;
        ro.cap_module = 1;
        ro.cap_net = 1;
        ro.cap_netns = 1;
        ro.cap_nfilters = 1;
        ro.cap_filter_len[0] = 1;
        ro.cap_wakeup_bytes = 1;
    }
    let skel = open
        .load()
        .map_err(|e| format!("{e}{}", summarize_log(&take_log())))?;
    // Loading a kprobe proves nothing (a kernel without CONFIG_KPROBES loads it and cannot
    // attach it): attach, and detach at once by dropping the link.
    for kprobe in [
        &skel.progs.kprobe_file_open,
        &skel.progs.kprobe_inode_unlink,
        &skel.progs.kprobe_socket_connect,
        &skel.progs.kprobe_socket_bind,
        &skel.progs.kprobe_socket_accept,
        &skel.progs.kprobe_rw_verify_area,
    ] {
        if programs.iter().any(|p| kprobe.name() == *p) {
            drop(kprobe.attach().map_err(|e| format!("attach: {e}"))?);
        }
    }
    Ok(())
}

fn shrink_maps(open: &mut OpenOspreySkel<'_>) {
    // A probe needs no real capacity.
    let _ = open.maps.events.set_max_entries(4096);
    let _ = open.maps.capture_rb.set_max_entries(4096);
    let _ = open.maps.cap_ctl_rb.set_max_entries(4096);
    let _ = open.maps.exec_done.set_max_entries(16);
    let _ = open.maps.cap_files.set_max_entries(16);
    let _ = open.maps.cap_streams.set_max_entries(16);
    let _ = open.maps.cap_loss_agg.set_max_entries(16);
    let _ = open.maps.scope_pids.set_max_entries(16);
    let _ = open.maps.sock_owners.set_max_entries(16);
}

/// How the scope's PID set is used in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PidMode {
    /// No PID filter.
    #[default]
    Any,
    /// Only processes in the set.
    Only,
    /// Everyone but the processes in the set.
    Except,
}

/// Everything [`Tracer::load`] needs.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The tracer's own process, never reported.
    pub self_tgid: u32,
    /// How `scope_pids` is used.
    pub pid_mode: PidMode,
    /// Initial PID set, with scope flags ([`consts::SCOPE_IN`], [`consts::SCOPE_PENDING_EXEC`]).
    pub scope_pids: Vec<(u32, u32)>,
    /// Descendants of the PID set join it.
    pub follow: bool,
    /// Only processes started after this boot-clock time (ns).
    pub new_after: Option<u64>,
    /// uid filter: `Some((true, uids))` keeps those uids, `Some((false, uids))` drops them.
    pub uids: Option<(bool, Vec<u32>)>,
    /// Programs to load, by hook.
    pub hooks: Vec<Hook>,
    /// sched_process_exec/fork/exit and packet records enabled.
    pub exec: bool,
    /// sched_process_fork.
    pub fork: bool,
    /// sched_process_exit.
    pub exit: bool,
    /// Packets.
    pub packets: bool,
    /// Capture `env` of sched_process_exec.
    pub exec_env: bool,
    /// Packet bytes kept.
    pub snaplen: u32,
    /// Ring buffer size in bytes (a power of two, at least one page).
    pub ring_bytes: u32,
    /// Force a wakeup when this much data is pending (0: never).
    pub wakeup_bytes: u64,
    /// Per-syscall configuration.
    pub sys_cfgs: Vec<(u32, SysCfg)>,
    /// Artifact capture (`--capture`), if any.
    pub capture: Option<CaptureLoad>,
    /// cgroup v2 directory to attach cgroup programs to (the root).
    pub cgroup_root: Option<PathBuf>,
    /// Kernel features to build for; `None` probes them ([`Features::detect`]).
    pub features: Option<Features>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            self_tgid: std::process::id(),
            pid_mode: PidMode::Any,
            scope_pids: Vec::new(),
            follow: false,
            new_after: None,
            uids: None,
            hooks: Vec::new(),
            exec: false,
            fork: false,
            exit: false,
            packets: false,
            exec_env: true,
            snaplen: 1024,
            ring_bytes: 64 << 20,
            wakeup_bytes: 0,
            sys_cfgs: Vec::new(),
            cgroup_root: None,
            capture: None,
            features: None,
        }
    }
}

/// What the kernel side captures (`--capture`); the syscall table carries the `DV_CAP_*` bits
/// that route the syscalls to it.
#[derive(Debug, Clone, Default)]
pub struct CaptureLoad {
    /// Bytes of the write family.
    pub write: bool,
    /// Path prefixes a written file must start with (at most 3, each at most 50 bytes); empty
    /// for every file.
    pub filters: Vec<Vec<u8>>,
    /// Executed binaries (for `exec` and `profile`): the first exec of each is held for a copy.
    pub exec: bool,
    /// Regions that go from W+X to X.
    pub mem: bool,
    /// Kernel module images.
    pub module: bool,
    /// Packets through this interface (its index in the tracer's network namespace).
    pub net_ifindex: Option<u32>,
    /// Network namespace cookie of that interface (0: do not check).
    pub net_netns: u64,
    /// Most bytes copied of one packet.
    pub snap: u32,
    /// Size of the capture data ring buffer in bytes (a power of two).
    pub ring_bytes: u32,
}

/// Loaded and attached programs. Dropping it detaches and unloads everything.
pub struct Tracer {
    // Field order matters: links are dropped (detached) before the skeleton (unloaded).
    links: Vec<(&'static str, Link)>,
    skel: OspreySkel<'static>,
    cgroup_dir: Option<std::fs::File>,
    hooks: Vec<Hook>,
}

impl fmt::Debug for Tracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracer")
            .field("hooks", &self.hooks)
            .field(
                "links",
                &self.links.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Tracer {
    /// Opens, configures, loads and attaches the programs of `opts.hooks`.
    pub fn load(opts: &LoadOptions) -> Result<Tracer, Error> {
        install_printer();
        let _ = take_log();
        let features = opts.features.unwrap_or_else(Features::detect);
        let mut open = open_main(features).map_err(Error::Open)?;
        let programs: Vec<&str> = opts
            .hooks
            .iter()
            .flat_map(|h| h.programs().iter().copied())
            .filter(|p| ALL_MAIN_PROGRAMS.contains(p))
            .flat_map(|p| with_copies(p, features.copies()))
            .collect();
        set_autoload(&mut open, &programs);
        open.maps
            .events
            .set_max_entries(opts.ring_bytes)
            .map_err(|source| Error::Map {
                what: "sizing the ring buffer",
                source,
            })?;
        if let Some(ro) = open.maps.rodata_data.as_deref_mut() {
            ro.self_tgid = opts.self_tgid;
            ro.scope_pid_mode = match opts.pid_mode {
                PidMode::Any => 0,
                PidMode::Only => 1,
                PidMode::Except => 2,
            };
            ro.scope_follow = opts.follow as u8;
            ro.scope_new = opts.new_after.is_some() as u8;
            ro.new_after = opts.new_after.unwrap_or(0);
            if let Some((keep, uids)) = &opts.uids {
                ro.scope_uid_mode = if *keep { 1 } else { 2 };
                for (i, uid) in uids.iter().take(consts::MAX_SCOPE_UIDS).enumerate() {
                    ro.scope_uids[i] = *uid;
                }
                ro.scope_nuids = uids.len().min(consts::MAX_SCOPE_UIDS) as u32;
            }
            ro.en_exec = opts.exec as u8;
            ro.en_fork = opts.fork as u8;
            ro.en_exit = opts.exit as u8;
            ro.en_packets = opts.packets as u8;
            ro.exec_env = opts.exec_env as u32;
            ro.snaplen = opts.snaplen.clamp(1, 4096);
            ro.wakeup_bytes = opts.wakeup_bytes;
            if let Some(c) = &opts.capture {
                ro.cap_write = c.write as u8;
                ro.cap_exec = c.exec as u8;
                ro.cap_mem = c.mem as u8;
                ro.cap_module = c.module as u8;
                ro.cap_net = c.net_ifindex.is_some() as u8;
                ro.cap_ifindex = c.net_ifindex.unwrap_or(0);
                ro.cap_netns = c.net_netns;
                ro.cap_snap = c.snap.clamp(1, 65535);
                ro.cap_wakeup_bytes = c.ring_bytes as u64 / 4;
                let n = c.filters.len().min(consts::CAP_MAX_FILTERS);
                for (i, f) in c.filters.iter().take(n).enumerate() {
                    let len = f.len().min(consts::CAP_FILTER_LEN - 1);
                    for (j, b) in f[..len].iter().enumerate() {
                        ro.cap_filters[i][j] = *b as _;
                    }
                    ro.cap_filter_len[i] = len as u32;
                }
                ro.cap_nfilters = n as u32;
            }
        }
        if let Some(c) = &opts.capture {
            open.maps
                .capture_rb
                .set_max_entries(c.ring_bytes.max(1 << 16))
                .map_err(|source| Error::Map {
                    what: "sizing the capture ring buffer",
                    source,
                })?;
        } else {
            // unused: keep it small
            let _ = open.maps.capture_rb.set_max_entries(4096);
            let _ = open.maps.cap_ctl_rb.set_max_entries(4096);
        }
        let skel = open.load().map_err(|source| Error::Load {
            programs: programs.join(", "),
            source,
            log: summarize_log(&take_log()),
        })?;

        let tracer_maps_ok = || -> Result<(), Error> {
            for (nr, cfg) in &opts.sys_cfgs {
                let val = struct_bytes(cfg);
                skel.maps
                    .sys_cfgs
                    .update(&nr.to_ne_bytes(), val, MapFlags::ANY)
                    .map_err(|source| Error::Map {
                        what: "writing the syscall table",
                        source,
                    })?;
            }
            for (pid, flags) in &opts.scope_pids {
                skel.maps
                    .scope_pids
                    .update(&pid.to_ne_bytes(), &flags.to_ne_bytes(), MapFlags::ANY)
                    .map_err(|source| Error::Map {
                        what: "writing the scope PID set",
                        source,
                    })?;
            }
            Ok(())
        };
        tracer_maps_ok()?;

        let mut tracer = Tracer {
            links: Vec::new(),
            skel,
            cgroup_dir: None,
            hooks: opts.hooks.clone(),
        };
        // Lifecycle and stash programs first, so that a process seen at sys_exit was seen
        // exec'ing; the syscall programs last.
        let mut cgroup_fd = None;
        if programs.iter().any(|p| p.starts_with("cg_")) {
            let root = opts.cgroup_root.clone().or_else(find_cgroup2_root);
            let Some(root) = root else {
                return Err(Error::Io {
                    what: "finding the cgroup v2 root".into(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no cgroup2 mount in /proc/self/mountinfo",
                    ),
                });
            };
            let dir = std::fs::File::open(&root).map_err(|source| Error::Io {
                what: format!("opening {}", root.display()),
                source,
            })?;
            cgroup_fd = Some(dir.as_raw_fd());
            tracer.cgroup_dir = Some(dir);
        }
        for name in programs {
            let prog = tracer.program(name);
            let Some(prog) = prog else { continue };
            let link = if name.starts_with("cg_") {
                let fd = cgroup_fd.unwrap_or(-1);
                prog.attach_cgroup(fd)
            } else {
                prog.attach()
            }
            .map_err(|source| Error::Attach {
                program: name_static(name),
                source,
            })?;
            tracer.links.push((name_static(name), link));
        }
        Ok(tracer)
    }

    fn program(&self, name: &str) -> Option<&libbpf_rs::ProgramMut<'static>> {
        let p = &self.skel.progs;
        Some(match name {
            "tp_sys_enter" => &p.tp_sys_enter,
            "tp_sys_enter_copy2" => &p.tp_sys_enter_copy2,
            "tp_sys_enter_copy3" => &p.tp_sys_enter_copy3,
            "tp_sys_enter_copy4" => &p.tp_sys_enter_copy4,
            "tp_sys_enter_copy5" => &p.tp_sys_enter_copy5,
            "tp_sys_enter_copy6" => &p.tp_sys_enter_copy6,
            "tp_sys_exit" => &p.tp_sys_exit,
            "tp_sys_exit_copy2" => &p.tp_sys_exit_copy2,
            "tp_sys_exit_copy3" => &p.tp_sys_exit_copy3,
            "tp_sys_exit_copy4" => &p.tp_sys_exit_copy4,
            "tp_sys_exit_copy5" => &p.tp_sys_exit_copy5,
            "tp_sys_exit_copy6" => &p.tp_sys_exit_copy6,
            "raw_sys_enter" => &p.raw_sys_enter,
            "raw_sys_enter_copy2" => &p.raw_sys_enter_copy2,
            "raw_sys_enter_copy3" => &p.raw_sys_enter_copy3,
            "raw_sys_enter_copy4" => &p.raw_sys_enter_copy4,
            "raw_sys_enter_copy5" => &p.raw_sys_enter_copy5,
            "raw_sys_enter_copy6" => &p.raw_sys_enter_copy6,
            "raw_sys_exit" => &p.raw_sys_exit,
            "raw_sys_exit_copy2" => &p.raw_sys_exit_copy2,
            "raw_sys_exit_copy3" => &p.raw_sys_exit_copy3,
            "raw_sys_exit_copy4" => &p.raw_sys_exit_copy4,
            "raw_sys_exit_copy5" => &p.raw_sys_exit_copy5,
            "raw_sys_exit_copy6" => &p.raw_sys_exit_copy6,
            "tp_sched_process_exec" => &p.tp_sched_process_exec,
            "tp_task_rename" => &p.tp_task_rename,
            "tp_sched_process_fork" => &p.tp_sched_process_fork,
            "tp_sched_process_exit" => &p.tp_sched_process_exit,
            "tp_ext4_unlink_enter" => &p.tp_ext4_unlink_enter,
            "raw_ext4_unlink_enter" => &p.raw_ext4_unlink_enter,
            "cg_skb_ingress" => &p.cg_skb_ingress,
            "cg_skb_egress" => &p.cg_skb_egress,
            "cg_sock_create" => &p.cg_sock_create,
            "cg_connect4" => &p.cg_connect4,
            "cg_connect6" => &p.cg_connect6,
            "cg_sendmsg4" => &p.cg_sendmsg4,
            "cg_sendmsg6" => &p.cg_sendmsg6,
            "fentry_file_open" => &p.fentry_file_open,
            "fentry_file_open_copy2" => &p.fentry_file_open_copy2,
            "fentry_file_open_copy3" => &p.fentry_file_open_copy3,
            "fentry_file_open_copy4" => &p.fentry_file_open_copy4,
            "fentry_file_open_copy5" => &p.fentry_file_open_copy5,
            "fentry_file_open_copy6" => &p.fentry_file_open_copy6,
            "kprobe_file_open" => &p.kprobe_file_open,
            "fentry_inode_unlink" => &p.fentry_inode_unlink,
            "kprobe_inode_unlink" => &p.kprobe_inode_unlink,
            "fentry_socket_connect" => &p.fentry_socket_connect,
            "fentry_socket_bind" => &p.fentry_socket_bind,
            "fentry_socket_accept" => &p.fentry_socket_accept,
            "kprobe_socket_connect" => &p.kprobe_socket_connect,
            "kprobe_socket_bind" => &p.kprobe_socket_bind,
            "kprobe_socket_accept" => &p.kprobe_socket_accept,
            "fentry_rw_verify_area" => &p.fentry_rw_verify_area,
            "kprobe_rw_verify_area" => &p.kprobe_rw_verify_area,
            _ => return None,
        })
    }

    /// The hooks this tracer loaded.
    pub fn hooks(&self) -> &[Hook] {
        &self.hooks
    }

    /// Adds a process to the scope PID set (e.g. the command `osprey trace -- CMD` started).
    pub fn add_scope_pid(&self, pid: u32, flags: u32) -> Result<(), Error> {
        self.skel
            .maps
            .scope_pids
            .update(&pid.to_ne_bytes(), &flags.to_ne_bytes(), MapFlags::ANY)
            .map_err(|source| Error::Map {
                what: "adding to the scope PID set",
                source,
            })
    }

    /// A ring-buffer consumer calling `callback` with each record's bytes. The callback should
    /// return 0 to continue.
    pub fn ring_buffer<'a, F>(&'a self, callback: F) -> Result<RingBuffer<'a>, Error>
    where
        F: FnMut(&[u8]) -> i32 + 'a,
    {
        let mut builder = libbpf_rs::RingBufferBuilder::new();
        builder
            .add(&self.skel.maps.events, callback)
            .map_err(|source| Error::Map {
                what: "registering the ring buffer",
                source,
            })?;
        let rb = builder.build().map_err(|source| Error::Map {
            what: "creating the ring-buffer consumer",
            source,
        })?;
        Ok(RingBuffer { rb })
    }

    /// Handles on the capture maps, for a reader on another thread (they keep the maps open).
    pub fn capture_maps(&self) -> Result<CaptureMaps, Error> {
        let m = &self.skel.maps;
        macro_rules! handle {
            ($map:expr, $what:expr) => {
                MapHandle::try_from(&$map).map_err(|source| Error::Map {
                    what: $what,
                    source,
                })?
            };
        }
        Ok(CaptureMaps {
            data: handle!(m.capture_rb, "opening the capture ring buffer"),
            ctl: handle!(m.cap_ctl_rb, "opening the capture control ring buffer"),
            control: handle!(m.cap_ctl, "opening the capture control map"),
            stats: handle!(m.cap_stats, "opening the capture counters"),
            loss: handle!(m.cap_loss_agg, "opening the capture loss map"),
            exec_done: handle!(m.exec_done, "opening the captured-binaries map"),
        })
    }

    /// Drop counters per CPU: `result[cpu][cause]`, causes as in [`DROP_CAUSES`].
    pub fn drops_per_cpu(&self) -> Vec<[u64; DROP_CAUSES.len()]> {
        let mut out: Vec<[u64; DROP_CAUSES.len()]> = Vec::new();
        for cause in 0..DROP_CAUSES.len() as u32 {
            let Ok(Some(per_cpu)) = self
                .skel
                .maps
                .drops
                .lookup_percpu(&cause.to_ne_bytes(), MapFlags::ANY)
            else {
                continue;
            };
            if out.len() < per_cpu.len() {
                out.resize(per_cpu.len(), [0; DROP_CAUSES.len()]);
            }
            for (cpu, bytes) in per_cpu.iter().enumerate() {
                out[cpu][cause as usize] = read_u64(bytes);
            }
        }
        out
    }

    /// Records lost because the ring buffer was full, per event ID (summed over CPUs).
    pub fn lost_by_event(&self) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        for id in 0..consts::EVENT_SLOTS {
            let Ok(Some(per_cpu)) = self
                .skel
                .maps
                .lost_by_event
                .lookup_percpu(&id.to_ne_bytes(), MapFlags::ANY)
            else {
                continue;
            };
            let n: u64 = per_cpu.iter().map(|b| read_u64(b)).sum();
            if n > 0 {
                out.push((id, n));
            }
        }
        out
    }

    /// Per attached program, the runs the kernel skipped because the program was already
    /// running on that CPU: another task preempted inside it (context.h, "Spare copies"). Read
    /// from the kernel's `recursion_misses` (5.12+; 0 before).
    pub fn skipped_runs(&self) -> Vec<SkippedRuns> {
        let covered = self.copies_covered();
        self.links
            .iter()
            .filter_map(|(name, _)| {
                let runs = recursion_misses(self.program(name)?)?;
                let lost = if next_copy(name).is_some_and(|n| self.has_link(n)) {
                    0 // a later copy ran instead
                } else if self.has_link(&format!("{}_copy2", copy_base(name))) {
                    // the last copy: lost unless an earlier copy had done the call
                    let i = mark_index(name).map_or(0, |i| covered[i]);
                    runs.saturating_sub(i)
                } else {
                    runs
                };
                Some(SkippedRuns {
                    program: name,
                    runs,
                    lost,
                })
            })
            .collect()
    }

    fn has_link(&self, program: &str) -> bool {
        self.links.iter().any(|(name, _)| *name == program)
    }

    /// `copies_covered`, summed over CPUs, by mark index (sys_enter, sys_exit, file_open).
    fn copies_covered(&self) -> [u64; 3] {
        let mut out = [0; 3];
        for (i, n) in out.iter_mut().enumerate() {
            let key = (i as u32).to_ne_bytes();
            if let Ok(Some(per_cpu)) = self
                .skel
                .maps
                .copies_covered
                .lookup_percpu(&key, MapFlags::ANY)
            {
                *n = per_cpu.iter().map(|b| read_u64(b)).sum();
            }
        }
        out
    }
}

/// The kernel's count of runs of `prog` it skipped (`bpf_prog_info.recursion_misses`).
fn recursion_misses(prog: &libbpf_rs::ProgramMut<'_>) -> Option<u64> {
    let mut info = libbpf_rs::libbpf_sys::bpf_prog_info::default();
    let mut len = std::mem::size_of::<libbpf_rs::libbpf_sys::bpf_prog_info>() as u32;
    // SAFETY: `info` is a valid bpf_prog_info of `len` bytes, and the fd is the loaded
    // program's, open for as long as `prog`.
    let rc = unsafe {
        libbpf_rs::libbpf_sys::bpf_prog_get_info_by_fd(
            prog.as_fd().as_raw_fd(),
            &mut info,
            &mut len,
        )
    };
    (rc == 0).then_some(info.recursion_misses)
}

/// Runs of one program the kernel skipped ([`Tracer::skipped_runs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkippedRuns {
    /// The program's name (`tp_sys_exit`, `tp_sys_exit_copy2`, ...).
    pub program: &'static str,
    /// Runs skipped.
    pub runs: u64,
    /// Of those, calls no copy of the program ran: at most that many events lost (a skipped call
    /// may be of a task out of scope). 0 for a copy with a later copy attached; for the last
    /// copy, its skips less the calls an earlier copy had done.
    pub lost: u64,
}

/// The first copy of a program (`tp_sys_exit_copy3` → `tp_sys_exit`).
fn copy_base(program: &str) -> &str {
    match program.rsplit_once("_copy") {
        Some((base, n)) if n.parse::<u32>().is_ok() => base,
        _ => program,
    }
}

/// The index of a copied program's mark in `copies_covered` (MARK_INDEX in osprey.h).
fn mark_index(program: &str) -> Option<usize> {
    let base = copy_base(program);
    [("sys_enter", 0), ("sys_exit", 1), ("file_open", 2)]
        .into_iter()
        .find(|(hook, _)| base.ends_with(hook))
        .map(|(_, i)| i)
}

/// The copy of a program that runs after it for the same call (context.h, "Spare copies"):
/// `P` → `P_copy2` → `P_copy3` → `P_copy4`.
fn next_copy(program: &str) -> Option<&'static str> {
    let (base, n) = match program.rsplit_once("_copy") {
        Some((base, n)) => (base, n.parse::<u32>().ok()?),
        None => (program, 1),
    };
    let next = format!("{base}_copy{}", n + 1);
    ALL_MAIN_PROGRAMS.iter().copied().find(|p| *p == next)
}

/// A program with its first `copies` copies, in the order they must be attached so that they
/// run first to last for each call: a tracepoint runs its programs in the order they were
/// attached, a trampoline (fentry) the last attached first.
fn with_copies(program: &'static str, copies: u32) -> Vec<&'static str> {
    let mut all = vec![program];
    while all.len() < copies as usize {
        match next_copy(all[all.len() - 1]) {
            Some(next) => all.push(next),
            None => break,
        }
    }
    if program.starts_with("fentry_") {
        all.reverse();
    }
    all
}

/// The capture maps of a loaded [`Tracer`], usable from another thread.
#[derive(Debug)]
pub struct CaptureMaps {
    data: MapHandle,
    ctl: MapHandle,
    control: MapHandle,
    stats: MapHandle,
    loss: MapHandle,
    exec_done: MapHandle,
}

/// Forgets binaries the kernel marked as captured (see [`CaptureMaps::exec_forget`]).
#[derive(Debug)]
pub struct ExecForget(MapHandle);

impl ExecForget {
    /// Forgets that a binary was captured, so that its next exec is held again (its copy
    /// failed, or the exec was out of scope and not copied).
    pub fn forget(&self, dev: u64, ino: u64, ctime: u64) {
        let mut key = [0u8; 24];
        key[..8].copy_from_slice(&dev.to_ne_bytes());
        key[8..16].copy_from_slice(&ino.to_ne_bytes());
        key[16..].copy_from_slice(&ctime.to_ne_bytes());
        let _ = self.0.delete(&key);
    }
}

/// Capture counters summed over CPUs (`cap_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Data bytes submitted.
    pub bytes: u64,
    /// Data records submitted.
    pub chunks: u64,
    /// Bytes lost (ring full, unreadable, too big), each also reported by range.
    pub lost_bytes: u64,
    /// Loss reports that could not be sent and were aggregated per artifact instead.
    pub lost_unsent: u64,
    /// Tasks stopped for a copy.
    pub holds: u64,
}

/// A loss the kernel could not report by record: the artifact and the span of its losses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggregatedLoss {
    /// `CAP_*` kind of the artifact.
    pub what: u16,
    /// Its identity (as in the chunks).
    pub id: [u64; 3],
    /// Lowest lost offset.
    pub start: u64,
    /// Highest lost end.
    pub end: u64,
    /// Bytes lost in that span.
    pub bytes: u64,
}

impl CaptureMaps {
    /// A consumer of both capture rings: `data` gets the data ring's records, `ctl` the
    /// control ring's (held tasks, executed binaries, loss records).
    pub fn ring_buffer<'a, F, G>(&'a self, data: F, ctl: G) -> Result<RingBuffer<'a>, Error>
    where
        F: FnMut(&[u8]) -> i32 + 'a,
        G: FnMut(&[u8]) -> i32 + 'a,
    {
        let mut builder = libbpf_rs::RingBufferBuilder::new();
        builder
            .add(&self.ctl, ctl)
            .and_then(|b| b.add(&self.data, data))
            .map_err(|source| Error::Map {
                what: "registering the capture ring buffers",
                source,
            })?;
        let rb = builder.build().map_err(|source| Error::Map {
            what: "creating the capture ring-buffer consumer",
            source,
        })?;
        Ok(RingBuffer { rb })
    }

    /// Stops all capture in the kernel (the size budget is spent); events go on.
    pub fn pause(&self) -> Result<(), Error> {
        self.control
            .update(&0u32.to_ne_bytes(), &1u32.to_ne_bytes(), MapFlags::ANY)
            .map_err(|source| Error::Map {
                what: "pausing capture",
                source,
            })
    }

    /// A handle on the captured-binaries map for the code that reads the capture records,
    /// which must forget a binary before it lets the held task go on.
    pub fn exec_forget(&self) -> Result<ExecForget, Error> {
        MapHandle::try_from(&self.exec_done)
            .map(ExecForget)
            .map_err(|source| Error::Map {
                what: "opening the captured-binaries map",
                source,
            })
    }

    /// The capture counters, summed over CPUs.
    pub fn stats(&self) -> CaptureStats {
        let mut v = [0u64; 5];
        for (i, slot) in v.iter_mut().enumerate() {
            if let Ok(Some(per_cpu)) = self
                .stats
                .lookup_percpu(&(i as u32).to_ne_bytes(), MapFlags::ANY)
            {
                *slot = per_cpu.iter().map(|b| read_u64(b)).sum();
            }
        }
        CaptureStats {
            bytes: v[0],
            chunks: v[1],
            lost_bytes: v[2],
            lost_unsent: v[3],
            holds: v[4],
        }
    }

    /// Losses the kernel could not report one by one (the control ring was full too).
    pub fn aggregated_losses(&self) -> Vec<AggregatedLoss> {
        let mut out = Vec::new();
        for key in self.loss.keys() {
            let Ok(Some(val)) = self.loss.lookup(&key, MapFlags::ANY) else {
                continue;
            };
            if key.len() < 32 || val.len() < 24 {
                continue;
            }
            let k = |i: usize| read_u64(&key[i * 8..i * 8 + 8]);
            let v = |i: usize| read_u64(&val[i * 8..i * 8 + 8]);
            out.push(AggregatedLoss {
                id: [k(0), k(1), k(2)],
                what: read_u64(&key[24..28]) as u16,
                start: v(0),
                end: v(1),
                bytes: v(2),
            });
        }
        out
    }
}

/// The ring-buffer consumer of a [`Tracer`].
pub struct RingBuffer<'a> {
    rb: libbpf_rs::RingBuffer<'a>,
}

impl RingBuffer<'_> {
    /// Waits up to `timeout` for a wakeup, then consumes everything pending (records are
    /// submitted without wakeups, so the consume after a timeout is what drains them).
    pub fn poll_and_drain(&self, timeout: Duration) -> Result<(), Error> {
        self.rb.poll(timeout).map_err(|source| Error::Map {
            what: "polling the ring buffer",
            source,
        })?;
        self.drain()
    }

    /// Consumes everything pending without waiting.
    pub fn drain(&self) -> Result<(), Error> {
        self.rb.consume().map_err(|source| Error::Map {
            what: "consuming the ring buffer",
            source,
        })
    }
}

fn read_u64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = bytes.len().min(8);
    b[..n].copy_from_slice(&bytes[..n]);
    u64::from_ne_bytes(b)
}

fn struct_bytes(cfg: &SysCfg) -> &[u8] {
    // SAFETY: SysCfg is a #[repr(C)] struct of integers without implicit padding (explicit
    // `_pad` fields), so viewing it as bytes reads only initialized memory.
    unsafe {
        std::slice::from_raw_parts(
            (cfg as *const SysCfg).cast::<u8>(),
            std::mem::size_of::<SysCfg>(),
        )
    }
}

fn name_static(name: &str) -> &'static str {
    ALL_MAIN_PROGRAMS
        .iter()
        .copied()
        .find(|p| *p == name)
        .unwrap_or("program")
}

/// Where the cgroup v2 hierarchy is mounted (`/sys/fs/cgroup` or `/sys/fs/cgroup/unified`),
/// read from `/proc/self/mountinfo`.
pub fn find_cgroup2_root() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    cgroup2_root_from_mountinfo(&text)
}

/// The first cgroup2 mount point in a mountinfo text.
pub fn cgroup2_root_from_mountinfo(text: &str) -> Option<PathBuf> {
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        if right.split_whitespace().next() == Some("cgroup2") {
            let mount_point = left.split_whitespace().nth(4)?;
            return Some(PathBuf::from(unescape_mountinfo(mount_point)));
        }
    }
    None
}

fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| c.is_ascii_digit()) {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// True when this process may load BPF programs (root, or the BPF capabilities).
pub fn have_privileges() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    euid == 0
}

/// Reads the boot clock (`CLOCK_BOOTTIME`), the clock of record timestamps, in ns.
pub fn boottime_ns() -> u64 {
    clock_ns(libc::CLOCK_BOOTTIME)
}

/// Reads `CLOCK_REALTIME` in ns since the epoch.
pub fn realtime_ns() -> u64 {
    clock_ns(libc::CLOCK_REALTIME)
}

/// What to add to a boot-clock time (BPF timestamps, task start times) to get ns since the
/// epoch. Measured once per process, so that the events and the artifacts of a run convert
/// every time the same way (a thread's start time in a pcap name equals the one in its events).
pub fn boot_to_epoch_ns() -> i128 {
    static OFFSET: std::sync::OnceLock<i128> = std::sync::OnceLock::new();
    *OFFSET.get_or_init(|| realtime_ns() as i128 - boottime_ns() as i128)
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; clock_gettime only writes it.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[doc(hidden)]
pub fn _path_exists(p: &Path) -> bool {
    p.exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_header() {
        let h = include_str!("bpf/osprey.h");
        let get = |name: &str| -> u64 {
            let line = h
                .lines()
                .find(|l| {
                    let mut w = l.split_whitespace();
                    w.next() == Some("#define") && w.next() == Some(name)
                })
                .unwrap_or_else(|| panic!("{name} not in osprey.h"));
            let v = line
                .split_whitespace()
                .nth(2)
                .unwrap()
                .trim_start_matches('(');
            if let Some(rest) = v.strip_prefix("1") {
                if line.contains("<<") {
                    let shift: u64 = line
                        .split("<<")
                        .nth(1)
                        .unwrap()
                        .trim()
                        .trim_end_matches(')')
                        .parse()
                        .unwrap();
                    let _ = rest;
                    return 1 << shift;
                }
            }
            v.parse().unwrap()
        };
        use consts::*;
        assert_eq!(get("ARG_INT"), ARG_INT as u64);
        assert_eq!(get("ARG_STR"), ARG_STR as u64);
        assert_eq!(get("ARG_BYTES"), ARG_BYTES as u64);
        assert_eq!(get("ARG_STRLIST"), ARG_STRLIST as u64);
        assert_eq!(get("ARG_SOCKADDR"), ARG_SOCKADDR as u64);
        assert_eq!(get("SK_STRARR"), SK_STRARR as u64);
        assert_eq!(get("SK_SOCKADDR_LP"), SK_SOCKADDR_LP as u64);
        assert_eq!(get("REC_PACKET"), REC_PACKET as u64);
        assert_eq!(get("REC_MOUNT"), REC_MOUNT as u64);
        assert_eq!(get("REC_EXEC"), REC_EXEC as u64);
        assert_eq!(get("DV_MOUNT"), DV_MOUNT as u64);
        assert_eq!(get("DV_MEM_ALERT"), DV_MEM_ALERT as u64);
        assert_eq!(get("STASH_ENTER"), STASH_ENTER as u64);
        assert_eq!(get("SCOPE_PENDING_EXEC"), SCOPE_PENDING_EXEC as u64);
        assert_eq!(get("SYSCALL_SLOTS"), SYSCALL_SLOTS as u64);
        assert_eq!(get("DROP_CAUSES"), DROP_CAUSES.len() as u64);
        assert_eq!(get("DROP_RINGBUF_FULL"), super::DROP_RINGBUF_FULL as u64);
        assert_eq!(get("DROP_PREEMPTED"), super::DROP_PREEMPTED as u64);
        assert_eq!(get("MAX_COPIES"), MAX_COPIES as u64);
        assert_eq!(get("DV_CAP_WRITE"), DV_CAP_WRITE as u64);
        assert_eq!(get("DV_CAP_MODULE"), DV_CAP_MODULE as u64);
        assert_eq!(get("REC_CAP_CHUNK"), REC_CAP_CHUNK as u64);
        assert_eq!(get("REC_CAP_FMODULE"), REC_CAP_FMODULE as u64);
        assert_eq!(get("CAP_TRUNC"), CAP_TRUNC as u64);
        assert_eq!(get("CAP_PACKET"), CAP_PACKET as u64);
        assert_eq!(get("CF_HOLD"), CF_HOLD as u64);
        assert_eq!(get("CF_FROM_FILE"), CF_FROM_FILE as u64);
        assert_eq!(get("CF_LATER"), CF_LATER as u64);
        assert_eq!(get("LOST_KERNEL_COPY"), LOST_KERNEL_COPY as u64);
        assert_eq!(get("LOST_PREEMPTED"), LOST_PREEMPTED as u64);
        assert_eq!(get("HDR_OWNER_CONTEXT"), HDR_OWNER_CONTEXT as u64);
        assert_eq!(get("LOST_TOO_BIG"), LOST_TOO_BIG as u64);
        assert_eq!(get("CAP_FILTER_LEN"), CAP_FILTER_LEN as u64);
        assert_eq!(get("CAP_MAX_FILTERS"), CAP_MAX_FILTERS as u64);
        assert_eq!(get("CS_COUNT"), 5);
    }

    #[test]
    fn copies_of_a_program_are_attached_so_that_they_run_in_order() {
        assert_eq!(next_copy("tp_sys_exit"), Some("tp_sys_exit_copy2"));
        assert_eq!(next_copy("tp_sys_exit_copy3"), Some("tp_sys_exit_copy4"));
        assert_eq!(next_copy("tp_sys_exit_copy6"), None);
        assert_eq!(next_copy("tp_sched_process_exec"), None);
        assert_eq!(copy_base("tp_sys_exit_copy3"), "tp_sys_exit");
        assert_eq!(copy_base("tp_sched_process_exec"), "tp_sched_process_exec");
        assert_eq!(mark_index("raw_sys_enter_copy2"), Some(0)); // MARK_INDEX(MARK_SYS_ENTER)
        assert_eq!(mark_index("tp_sys_exit"), Some(1));
        assert_eq!(mark_index("fentry_file_open_copy6"), Some(2));
        assert_eq!(mark_index("tp_sched_process_exit"), None);
        let n = consts::MAX_COPIES;
        assert_eq!(
            with_copies("tp_sched_process_exec", n),
            ["tp_sched_process_exec"]
        );
        assert_eq!(with_copies("raw_sys_exit", 1), ["raw_sys_exit"]);
        assert_eq!(
            with_copies("raw_sys_exit", 3),
            ["raw_sys_exit", "raw_sys_exit_copy2", "raw_sys_exit_copy3"]
        );
        assert_eq!(with_copies("raw_sys_exit", n).len(), n as usize);
        // a trampoline runs the last attached first
        assert_eq!(
            with_copies("fentry_file_open", 2),
            ["fentry_file_open_copy2", "fentry_file_open"]
        );
        let copied: Vec<&str> = Hook::ALL
            .iter()
            .flat_map(|h| h.programs())
            .filter(|p| with_copies(p, n).len() == n as usize)
            .copied()
            .collect();
        assert_eq!(
            copied,
            [
                "tp_sys_enter",
                "tp_sys_exit",
                "raw_sys_enter",
                "raw_sys_exit",
                "fentry_file_open"
            ]
        );
    }

    #[test]
    fn cgroup2_root_is_found_in_hybrid_and_unified_layouts() {
        let hybrid = "35 25 0:30 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n\
                      36 35 0:31 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup2_root_from_mountinfo(hybrid),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        let unified =
            "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            cgroup2_root_from_mountinfo(unified),
            Some(PathBuf::from("/sys/fs/cgroup"))
        );
        assert_eq!(
            cgroup2_root_from_mountinfo("1 2 0:1 / / rw - ext4 /dev/vda rw\n"),
            None
        );
        let escaped = "30 23 0:26 / /mnt/cg\\040root rw - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup2_root_from_mountinfo(escaped),
            Some(PathBuf::from("/mnt/cg root"))
        );
    }

    #[test]
    fn record_header_layout_is_stable() {
        assert_eq!(std::mem::size_of::<RecordHdr>(), 136);
        assert_eq!(std::mem::size_of::<SysCfg>(), 12);
        assert_eq!(std::mem::size_of::<CapChunk>(), 136 + 48);
    }
}
