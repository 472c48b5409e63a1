//! The event catalog: every event `osprey trace` can emit, with Tracee's ID, argument names and
//! types (events.md), the sets it belongs to, and where its data comes from in the kernel.
//!
//! Syscall events come from a table generated from the kernel (`data/syscalls_x86_64.txt`),
//! with Tracee's argument names laid over the kernel's for the syscalls Tracee users filter on.

use std::collections::HashMap;
use std::sync::OnceLock;

use osprey_bpf::consts::*;
use osprey_bpf::Hook;

/// One argument of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDef {
    /// Tracee's argument name.
    pub name: String,
    /// Tracee's type name (C style, as Tracee v0.2x writes it).
    pub ty: String,
    /// Index of the value in the BPF record.
    pub index: u8,
}

/// Where an event's data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A syscall, emitted at sys_exit (or sys_enter when `at_enter`, for calls that do not
    /// return).
    Syscall {
        /// Syscall number.
        nr: u32,
        /// Emitted at sys_enter.
        at_enter: bool,
    },
    /// Derived from the exit of these syscalls (`derive` bit of `sys_cfg`).
    Derived {
        /// The `DV_*` bit.
        derive: u16,
        /// Syscalls it is computed at.
        syscalls: &'static [u32],
        /// Whether sys_enter must record state first (mprotect's previous protection).
        stash_enter: bool,
        /// Hooks on the kernel function itself that replace the derivation where they load,
        /// best first (they also see what no syscall exit shows, such as io_uring's opens).
        better: &'static [Hook],
    },
    /// A scheduler tracepoint.
    Sched(Hook),
    /// Parsed from packets (cgroup_skb), one of the `net_packet_*` events.
    Packet,
    /// Kernel memory compared with the kernel's symbols by the tracer itself (integrity.rs):
    /// no hook is attached.
    Integrity,
}

/// One event.
#[derive(Debug, Clone)]
pub struct EventDef {
    /// Tracee's event ID.
    pub id: i64,
    /// Tracee's event name.
    pub name: String,
    /// Arguments in Tracee's order.
    pub args: Vec<ArgDef>,
    /// Event sets it belongs to (`--events fs` ...).
    pub sets: Vec<&'static str>,
    /// Where it comes from.
    pub source: Source,
}

impl EventDef {
    /// The hooks that can produce this event, best first; any one is enough, except that
    /// packets need both cgroup hooks (see [`EventDef::needs_all`]).
    pub fn hooks(&self) -> Vec<Hook> {
        match &self.source {
            Source::Syscall { .. } => vec![Hook::TpBtfSyscalls, Hook::RawSyscalls],
            Source::Derived { better, .. } => {
                let mut hooks = better.to_vec();
                hooks.extend([Hook::TpBtfSyscalls, Hook::RawSyscalls]);
                hooks
            }
            Source::Sched(h) => vec![*h],
            Source::Packet => vec![Hook::CgroupSkb, Hook::CgroupSock],
            Source::Integrity => Vec::new(),
        }
    }

    /// security_socket_connect, _bind or _accept: derived at the syscall's exit, and from
    /// [`URING_SOCKET_HOOKS`] for io_uring's calls.
    pub fn is_socket_event(&self) -> bool {
        matches!(self.source, Source::Derived { derive, .. }
            if derive & (DV_CONNECT | DV_BIND | DV_ACCEPT) != 0)
    }

    /// True when every hook of [`EventDef::hooks`] is needed rather than any one.
    pub fn needs_all(&self) -> bool {
        matches!(self.source, Source::Packet)
    }

    /// A short description of the hook, for `--list`; `loads` says which hooks load here.
    pub fn hook_detail(&self, chosen: Hook, loads: impl Fn(Hook) -> bool) -> String {
        match &self.source {
            Source::Syscall { at_enter, .. } => {
                let point = if *at_enter { "sys_enter" } else { "sys_exit" };
                format!("{} ({point})", chosen.name())
            }
            Source::Derived { better, .. } if better.contains(&chosen) => {
                format!("{} (open family and io_uring opens)", chosen.name())
            }
            Source::Derived {
                syscalls,
                stash_enter,
                ..
            } => {
                let names: Vec<&str> = syscalls
                    .iter()
                    .filter_map(|nr| syscall_name(*nr))
                    .collect();
                let mut s = format!(
                    "{} ({}{})",
                    chosen.name(),
                    if *stash_enter { "sys_enter+sys_exit of " } else { "sys_exit of " },
                    names.join(",")
                );
                if self.name == "security_inode_unlink" {
                    match UNLINK_INODE_HOOKS.into_iter().find(|h| loads(*h)) {
                        Some(h @ (Hook::Ext4Unlink | Hook::Ext4UnlinkRaw)) => {
                            s.push_str(&format!(" + {h} for inode/dev/ctime on ext4"))
                        }
                        Some(h) => s.push_str(&format!(" + {h} for inode/dev/ctime")),
                        None => s.push_str(" (no inode/dev/ctime: no unlink hook loads)"),
                    }
                }
                if self.is_socket_event() {
                    match URING_SOCKET_HOOKS.into_iter().find(|h| loads(*h)) {
                        Some(h) => s.push_str(&format!(" + {h} for io_uring's")),
                        None => s.push_str(" (not io_uring's: no security_socket_* hook loads)"),
                    }
                }
                s
            }
            Source::Sched(h) => h.name().to_string(),
            Source::Packet => "cgroup_skb/ingress+egress on the cgroup v2 root, socket owners from cgroup/sock_create,connect4|6,sendmsg4|6".to_string(),
            Source::Integrity => "raw_tp/read_kernel_words run by the tracer (BPF_PROG_TEST_RUN)".to_string(),
        }
    }
}

/// Where security_inode_unlink's inode, device and ctime come from, best first (its event is
/// derived at the syscall's exit): the LSM function on any filesystem, else ext4's tracepoint.
pub const UNLINK_INODE_HOOKS: [Hook; 4] = [
    Hook::UnlinkFentry,
    Hook::UnlinkKprobe,
    Hook::Ext4Unlink,
    Hook::Ext4UnlinkRaw,
];

/// Where the security_socket_* events of io_uring's connects, binds and accepts come from, best
/// first (the syscalls' own are derived at their exit, which knows the result): none where
/// neither loads, and those calls go unseen.
pub const URING_SOCKET_HOOKS: [Hook; 2] = [Hook::SocketFentry, Hook::SocketKprobe];

/// Where `--capture write` sees the writes io_uring makes, best first (the syscalls' own are
/// captured at their exit): none where neither loads, and those writes go uncaptured.
pub const URING_WRITE_HOOKS: [Hook; 2] = [Hook::UringWriteFentry, Hook::UringWriteKprobe];

/// Tracee event IDs of the non-syscall events (Tracee v0.2x numbering; syscall events use the
/// x86_64 syscall number).
pub mod ids {
    /// sched_process_fork.
    pub const SCHED_PROCESS_FORK: i64 = 712;
    /// sched_process_exec.
    pub const SCHED_PROCESS_EXEC: i64 = 713;
    /// sched_process_exit.
    pub const SCHED_PROCESS_EXIT: i64 = 714;
    /// mem_prot_alert.
    pub const MEM_PROT_ALERT: i64 = 722;
    /// magic_write.
    pub const MAGIC_WRITE: i64 = 725;
    /// security_file_open.
    pub const SECURITY_FILE_OPEN: i64 = 730;
    /// security_inode_unlink.
    pub const SECURITY_INODE_UNLINK: i64 = 731;
    /// security_socket_connect.
    pub const SECURITY_SOCKET_CONNECT: i64 = 734;
    /// security_socket_accept.
    pub const SECURITY_SOCKET_ACCEPT: i64 = 735;
    /// security_socket_bind.
    pub const SECURITY_SOCKET_BIND: i64 = 736;
    /// security_sb_mount.
    pub const SECURITY_SB_MOUNT: i64 = 738;
    /// security_file_mprotect.
    pub const SECURITY_FILE_MPROTECT: i64 = 746;
    /// hooked_proc_fops.
    pub const HOOKED_PROC_FOPS: i64 = 763;
    /// net_packet_icmp.
    pub const NET_PACKET_ICMP: i64 = 2004;
    /// net_packet_icmpv6.
    pub const NET_PACKET_ICMPV6: i64 = 2005;
    /// net_packet_dns.
    pub const NET_PACKET_DNS: i64 = 2006;
    /// net_packet_dns_request.
    pub const NET_PACKET_DNS_REQUEST: i64 = 2007;
    /// net_packet_dns_response.
    pub const NET_PACKET_DNS_RESPONSE: i64 = 2008;
    /// net_packet_http.
    pub const NET_PACKET_HTTP: i64 = 2009;
    /// net_packet_http_request.
    pub const NET_PACKET_HTTP_REQUEST: i64 = 2010;
    /// net_packet_http_response.
    pub const NET_PACKET_HTTP_RESPONSE: i64 = 2011;
    /// hooked_syscall (Tracee's user-space events moved between releases, 2015-2022; readers
    /// go by the name).
    pub const HOOKED_SYSCALL: i64 = 2018;
    /// The marker written for lost records (`--lost-markers`); not a Tracee event.
    pub const LOST_EVENTS: i64 = 9999;
}

/// Syscall numbers used by derived events (x86_64).
pub mod nr {
    #![allow(missing_docs)]
    pub const WRITE: u32 = 1;
    pub const OPEN: u32 = 2;
    pub const MMAP: u32 = 9;
    pub const MPROTECT: u32 = 10;
    pub const PWRITE64: u32 = 18;
    pub const WRITEV: u32 = 20;
    pub const CONNECT: u32 = 42;
    pub const ACCEPT: u32 = 43;
    pub const BIND: u32 = 49;
    pub const EXECVE: u32 = 59;
    pub const EXIT: u32 = 60;
    pub const CREAT: u32 = 85;
    pub const UNLINK: u32 = 87;
    pub const MOUNT: u32 = 165;
    pub const EXIT_GROUP: u32 = 231;
    pub const OPENAT: u32 = 257;
    pub const UNLINKAT: u32 = 263;
    pub const ACCEPT4: u32 = 288;
    pub const PWRITEV: u32 = 296;
    pub const EXECVEAT: u32 = 322;
    pub const PWRITEV2: u32 = 328;
    pub const PKEY_MPROTECT: u32 = 329;
    pub const OPENAT2: u32 = 437;
    pub const FTRUNCATE: u32 = 77;
    pub const SENDFILE: u32 = 40;
    pub const SPLICE: u32 = 275;
    pub const COPY_FILE_RANGE: u32 = 326;
    pub const INIT_MODULE: u32 = 175;
    pub const FINIT_MODULE: u32 = 313;
}

const SYSCALL_TABLE: &str = include_str!("data/syscalls_x86_64.txt");

/// Tracee's names and types for the syscalls people filter on (man-page names), overriding the
/// kernel's names from the generated table.
const TRACEE_SYSCALL_ARGS: &[(&str, &str)] = &[
    ("read", "fd:int|buf:void*|count:size_t"),
    ("write", "fd:int|buf:void*|count:size_t"),
    ("open", "pathname:const char*|flags:int|mode:mode_t"),
    ("close", "fd:int"),
    ("stat", "pathname:const char*|statbuf:struct stat*"),
    ("fstat", "fd:int|statbuf:struct stat*"),
    ("lstat", "pathname:const char*|statbuf:struct stat*"),
    ("mmap", "addr:void*|length:size_t|prot:int|flags:int|fd:int|off:off_t"),
    ("mprotect", "addr:void*|len:size_t|prot:int"),
    ("pread64", "fd:int|buf:void*|count:size_t|offset:off_t"),
    ("pwrite64", "fd:int|buf:const void*|count:size_t|offset:off_t"),
    ("readv", "fd:int|iov:const struct iovec*|iovcnt:int"),
    ("writev", "fd:int|iov:const struct iovec*|iovcnt:int"),
    ("access", "pathname:const char*|mode:int"),
    ("dup", "oldfd:int"),
    ("dup2", "oldfd:int|newfd:int"),
    ("socket", "domain:int|type:int|protocol:int"),
    ("connect", "sockfd:int|addr:struct sockaddr*|addrlen:int"),
    ("accept", "sockfd:int|addr:struct sockaddr*|addrlen:int*"),
    ("sendto", "sockfd:int|buf:void*|len:size_t|flags:int|dest_addr:struct sockaddr*|addrlen:int"),
    ("recvfrom", "sockfd:int|buf:void*|len:size_t|flags:int|src_addr:struct sockaddr*|addrlen:int*"),
    ("bind", "sockfd:int|addr:struct sockaddr*|addrlen:int"),
    ("listen", "sockfd:int|backlog:int"),
    ("getsockname", "sockfd:int|addr:struct sockaddr*|addrlen:int*"),
    ("getpeername", "sockfd:int|addr:struct sockaddr*|addrlen:int*"),
    ("clone", "flags:unsigned long|stack:void*|parent_tid:int*|child_tid:int*|tls:unsigned long"),
    ("execve", "pathname:const char*|argv:const char*const*|envp:const char*const*"),
    ("exit", "status:int"),
    ("kill", "pid:pid_t|sig:int"),
    ("fcntl", "fd:int|cmd:int|arg:unsigned long"),
    ("truncate", "path:const char*|length:off_t"),
    ("ftruncate", "fd:int|length:off_t"),
    ("chdir", "path:const char*"),
    ("fchdir", "fd:int"),
    ("rename", "oldpath:const char*|newpath:const char*"),
    ("mkdir", "pathname:const char*|mode:mode_t"),
    ("rmdir", "pathname:const char*"),
    ("creat", "pathname:const char*|mode:mode_t"),
    ("link", "oldpath:const char*|newpath:const char*"),
    ("unlink", "pathname:const char*"),
    ("symlink", "target:const char*|linkpath:const char*"),
    ("readlink", "pathname:const char*|buf:char*|bufsiz:size_t"),
    ("chmod", "pathname:const char*|mode:mode_t"),
    ("fchmod", "fd:int|mode:mode_t"),
    ("chown", "pathname:const char*|owner:uid_t|group:gid_t"),
    ("fchown", "fd:int|owner:uid_t|group:gid_t"),
    ("lchown", "pathname:const char*|owner:uid_t|group:gid_t"),
    ("ptrace", "request:long|pid:pid_t|addr:void*|data:void*"),
    ("setuid", "uid:uid_t"),
    ("setgid", "gid:gid_t"),
    ("setreuid", "ruid:uid_t|euid:uid_t"),
    ("setregid", "rgid:gid_t|egid:gid_t"),
    ("setresuid", "ruid:uid_t|euid:uid_t|suid:uid_t"),
    ("setresgid", "rgid:gid_t|egid:gid_t|sgid:gid_t"),
    ("setfsuid", "fsuid:uid_t"),
    ("setfsgid", "fsgid:gid_t"),
    ("prctl", "option:int|arg2:unsigned long|arg3:unsigned long|arg4:unsigned long|arg5:unsigned long"),
    ("mount", "source:const char*|target:const char*|filesystemtype:const char*|mountflags:unsigned long|data:const void*"),
    ("umount2", "target:const char*|flags:int"),
    ("init_module", "module_image:void*|len:unsigned long|param_values:const char*"),
    ("delete_module", "name:const char*|flags:int"),
    ("tgkill", "tgid:int|tid:int|sig:int"),
    ("openat", "dirfd:int|pathname:const char*|flags:int|mode:mode_t"),
    ("mkdirat", "dirfd:int|pathname:const char*|mode:mode_t"),
    ("fchownat", "dirfd:int|pathname:const char*|owner:uid_t|group:gid_t|flags:int"),
    ("unlinkat", "dirfd:int|pathname:const char*|flags:int"),
    ("renameat", "olddirfd:int|oldpath:const char*|newdirfd:int|newpath:const char*"),
    ("linkat", "olddirfd:int|oldpath:const char*|newdirfd:int|newpath:const char*|flags:unsigned int"),
    ("symlinkat", "target:const char*|newdirfd:int|linkpath:const char*"),
    ("fchmodat", "dirfd:int|pathname:const char*|mode:mode_t|flags:int"),
    ("faccessat", "dirfd:int|pathname:const char*|mode:int|flags:int"),
    ("unshare", "flags:int"),
    ("accept4", "sockfd:int|addr:struct sockaddr*|addrlen:int*|flags:int"),
    ("dup3", "oldfd:int|newfd:int|flags:int"),
    ("pwritev", "fd:int|iov:const struct iovec*|iovcnt:unsigned long|pos_l:unsigned long|pos_h:unsigned long"),
    ("setns", "fd:int|nstype:int"),
    ("process_vm_readv", "pid:pid_t|local_iov:const struct iovec*|liovcnt:unsigned long|remote_iov:const struct iovec*|riovcnt:unsigned long|flags:unsigned long"),
    ("process_vm_writev", "pid:pid_t|local_iov:const struct iovec*|liovcnt:unsigned long|remote_iov:const struct iovec*|riovcnt:unsigned long|flags:unsigned long"),
    ("finit_module", "fd:int|param_values:const char*|flags:int"),
    ("renameat2", "olddirfd:int|oldpath:const char*|newdirfd:int|newpath:const char*|flags:unsigned int"),
    ("memfd_create", "name:const char*|flags:unsigned int"),
    ("bpf", "cmd:int|attr:union bpf_attr*|size:unsigned int"),
    ("execveat", "dirfd:int|pathname:const char*|argv:const char*const*|envp:const char*const*|flags:int"),
    ("pkey_mprotect", "addr:void*|len:size_t|prot:int|pkey:int"),
    ("openat2", "dirfd:int|pathname:const char*|how:struct open_how*|size:size_t"),
    ("fchmodat2", "dirfd:int|pathname:const char*|mode:mode_t|flags:int"),
];

/// One row of the syscall table.
#[derive(Debug, Clone)]
pub struct Syscall {
    /// x86_64 number.
    pub nr: u32,
    /// Name.
    pub name: String,
    /// Arguments (name, C type) in order.
    pub args: Vec<(String, String)>,
}

fn parse_args(spec: &str) -> Vec<(String, String)> {
    spec.split('|')
        .filter(|a| !a.is_empty())
        .filter_map(|a| {
            let (n, t) = a.split_once(':')?;
            Some((n.to_string(), t.to_string()))
        })
        .collect()
}

/// The syscall table (kernel table with Tracee's names laid over it).
pub fn syscalls() -> &'static [Syscall] {
    static TABLE: OnceLock<Vec<Syscall>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let overrides: HashMap<&str, &str> = TRACEE_SYSCALL_ARGS.iter().copied().collect();
        SYSCALL_TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let mut parts = l.splitn(3, ' ');
                let nr: u32 = parts.next()?.parse().ok()?;
                let name = parts.next()?.to_string();
                let spec = parts.next().unwrap_or("");
                let args = parse_args(overrides.get(name.as_str()).copied().unwrap_or(spec));
                Some(Syscall { nr, name, args })
            })
            .collect()
    })
}

/// The name of syscall `nr`.
pub fn syscall_name(nr: u32) -> Option<&'static str> {
    static BY_NR: OnceLock<HashMap<u32, &'static str>> = OnceLock::new();
    BY_NR
        .get_or_init(|| syscalls().iter().map(|s| (s.nr, s.name.as_str())).collect())
        .get(&nr)
        .copied()
}

/// How sys_exit must read an argument of this C type (`SK_*`).
pub fn syscall_arg_kind(name: &str, ty: &str, next_ty: Option<&str>) -> u8 {
    let t = ty.replace(' ', "");
    match t.as_str() {
        "constchar*const*" | "constchar**" | "char**" | "char*const*" => SK_STRARR,
        "structsockaddr*" => match next_ty.map(|n| n.replace(' ', "")) {
            Some(n) if n.ends_with('*') => SK_SOCKADDR_LP,
            _ => SK_SOCKADDR,
        },
        "constchar*" | "char*" => {
            if matches!(
                name,
                "buf" | "ubuf" | "optval" | "data" | "value" | "name_user"
            ) && name != "name"
            {
                SK_INT
            } else {
                SK_STR
            }
        }
        _ => SK_INT,
    }
}

fn args(spec: &str) -> Vec<ArgDef> {
    parse_args(spec)
        .into_iter()
        .enumerate()
        .map(|(i, (name, ty))| ArgDef {
            name,
            ty,
            index: i as u8,
        })
        .collect()
}

fn syscall_sets(name: &str) -> Vec<&'static str> {
    let mut sets = vec!["syscalls"];
    let proc_ = [
        "execve",
        "execveat",
        "clone",
        "clone3",
        "fork",
        "vfork",
        "exit",
        "exit_group",
        "kill",
        "tkill",
        "tgkill",
        "ptrace",
        "setuid",
        "setgid",
        "setreuid",
        "setregid",
        "setresuid",
        "setresgid",
        "setfsuid",
        "setfsgid",
        "prctl",
        "unshare",
        "setns",
        "memfd_create",
        "process_vm_writev",
        "process_vm_readv",
        "init_module",
        "finit_module",
        "delete_module",
    ];
    let fs = [
        "open",
        "openat",
        "openat2",
        "creat",
        "unlink",
        "unlinkat",
        "rename",
        "renameat",
        "renameat2",
        "mkdir",
        "mkdirat",
        "rmdir",
        "link",
        "linkat",
        "symlink",
        "symlinkat",
        "chmod",
        "fchmod",
        "fchmodat",
        "fchmodat2",
        "chown",
        "fchown",
        "lchown",
        "fchownat",
        "mount",
        "umount2",
        "truncate",
        "ftruncate",
        "memfd_create",
    ];
    let net = [
        "socket",
        "connect",
        "bind",
        "listen",
        "accept",
        "accept4",
        "sendto",
        "recvfrom",
        "sendmsg",
        "recvmsg",
        "getsockname",
        "getpeername",
        "socketpair",
        "setsockopt",
    ];
    if proc_.contains(&name) {
        sets.push("proc");
    }
    if fs.contains(&name) {
        sets.push("fs");
    }
    if net.contains(&name) {
        sets.push("net");
    }
    if [
        "ptrace",
        "process_vm_writev",
        "init_module",
        "finit_module",
        "memfd_create",
        "setuid",
        "setgid",
        "setreuid",
        "setregid",
        "setresuid",
        "setresgid",
        "kill",
    ]
    .contains(&name)
    {
        sets.push("default");
    }
    sets
}

/// The whole catalog.
pub fn catalog() -> &'static Catalog {
    static CAT: OnceLock<Catalog> = OnceLock::new();
    CAT.get_or_init(Catalog::build)
}

/// All events, by name.
#[derive(Debug)]
pub struct Catalog {
    events: Vec<EventDef>,
    by_name: HashMap<String, usize>,
}

impl Catalog {
    fn build() -> Catalog {
        let mut events = Vec::new();
        for sc in syscalls() {
            let at_enter = matches!(sc.nr, nr::EXECVE | nr::EXECVEAT | nr::EXIT | nr::EXIT_GROUP);
            events.push(EventDef {
                id: sc.nr as i64,
                name: sc.name.clone(),
                args: sc
                    .args
                    .iter()
                    .enumerate()
                    .map(|(i, (n, t))| ArgDef {
                        name: n.clone(),
                        ty: t.clone(),
                        index: i as u8,
                    })
                    .collect(),
                sets: syscall_sets(&sc.name),
                source: Source::Syscall {
                    nr: sc.nr,
                    at_enter,
                },
            });
        }
        let d = |derive, syscalls: &'static [u32], stash_enter| Source::Derived {
            derive,
            syscalls,
            stash_enter,
            better: &[],
        };
        let fixed: Vec<(i64, &str, &str, Vec<&'static str>, Source)> = vec![
            (
                ids::SCHED_PROCESS_EXEC,
                "sched_process_exec",
                "cmdpath:const char*|pathname:const char*|dev:dev_t|inode:unsigned long|ctime:unsigned long|inode_mode:umode_t|interpreter_pathname:const char*|interpreter_dev:dev_t|interpreter_inode:unsigned long|interpreter_ctime:unsigned long|argv:const char**|interp:const char*|stdin_type:umode_t|stdin_path:char*|invoked_from_kernel:bool|prev_comm:const char*|env:const char**|pwd:char*",
                vec!["proc", "default"],
                Source::Sched(Hook::SchedExec),
            ),
            (
                ids::SCHED_PROCESS_FORK,
                "sched_process_fork",
                "parent_tid:int|parent_ns_tid:int|parent_pid:int|parent_ns_pid:int|parent_start_time:unsigned long|child_tid:int|child_ns_tid:int|child_pid:int|child_ns_pid:int|start_time:unsigned long|parent_process_tid:int|parent_process_ns_tid:int|parent_process_pid:int|parent_process_ns_pid:int|parent_process_start_time:unsigned long|leader_tid:int|leader_ns_tid:int|leader_pid:int|leader_ns_pid:int|leader_start_time:unsigned long",
                vec!["proc"],
                Source::Sched(Hook::SchedFork),
            ),
            (
                ids::SCHED_PROCESS_EXIT,
                "sched_process_exit",
                "exit_code:long|signal_code:int|process_group_exit:bool",
                vec!["proc", "default"],
                Source::Sched(Hook::SchedExit),
            ),
            (
                ids::SECURITY_FILE_OPEN,
                "security_file_open",
                "pathname:const char*|flags:int|dev:dev_t|inode:unsigned long|ctime:unsigned long|syscall_pathname:const char*",
                vec!["fs", "lsm_hooks", "default"],
                Source::Derived {
                    derive: DV_FILE_OPEN,
                    syscalls: &[nr::OPEN, nr::OPENAT, nr::OPENAT2, nr::CREAT],
                    stash_enter: false,
                    better: &[Hook::FileOpenFentry, Hook::FileOpenKprobe],
                },
            ),
            (
                ids::MAGIC_WRITE,
                "magic_write",
                "pathname:const char*|bytes:bytes|dev:dev_t|inode:unsigned long",
                vec!["fs", "default"],
                d(
                    DV_MAGIC_WRITE,
                    &[nr::WRITE, nr::PWRITE64, nr::WRITEV, nr::PWRITEV, nr::PWRITEV2],
                    false,
                ),
            ),
            (
                ids::SECURITY_INODE_UNLINK,
                "security_inode_unlink",
                "pathname:const char*|inode:unsigned long|dev:dev_t|ctime:u64",
                vec!["fs", "lsm_hooks", "default"],
                d(DV_UNLINK, &[nr::UNLINK, nr::UNLINKAT], false),
            ),
            (
                ids::SECURITY_SOCKET_CONNECT,
                "security_socket_connect",
                "sockfd:int|type:int|remote_addr:struct sockaddr*",
                vec!["net", "lsm_hooks", "default"],
                d(DV_CONNECT, &[nr::CONNECT], false),
            ),
            (
                ids::SECURITY_SOCKET_BIND,
                "security_socket_bind",
                "sockfd:int|local_addr:struct sockaddr*",
                vec!["net", "lsm_hooks", "default"],
                d(DV_BIND, &[nr::BIND], false),
            ),
            (
                ids::SECURITY_SOCKET_ACCEPT,
                "security_socket_accept",
                "sockfd:int|local_addr:struct sockaddr*",
                vec!["net", "lsm_hooks", "default"],
                d(DV_ACCEPT, &[nr::ACCEPT, nr::ACCEPT4], false),
            ),
            (
                ids::MEM_PROT_ALERT,
                "mem_prot_alert",
                "alert:u32|addr:void*|len:size_t|prot:int|prev_prot:int|pathname:const char*|dev:dev_t|inode:u64|ctime:u64",
                vec!["proc", "default"],
                d(DV_MEM_ALERT, &[nr::MMAP, nr::MPROTECT, nr::PKEY_MPROTECT], true),
            ),
            (
                ids::SECURITY_FILE_MPROTECT,
                "security_file_mprotect",
                "pathname:const char*|prot:int|ctime:unsigned long|prev_prot:int|addr:void*|len:size_t|pkey:int",
                vec!["proc", "lsm_hooks"],
                d(DV_MPROTECT, &[nr::MPROTECT, nr::PKEY_MPROTECT], true),
            ),
            (
                ids::SECURITY_SB_MOUNT,
                "security_sb_mount",
                "dev_name:const char*|path:const char*|type:const char*|flags:unsigned long",
                vec!["fs", "lsm_hooks", "default"],
                d(DV_MOUNT, &[nr::MOUNT], false),
            ),
            (
                ids::NET_PACKET_ICMP,
                "net_packet_icmp",
                "src:const char*|dst:const char*|metadata:trace.PacketMetadata|proto_icmp:trace.ProtoICMP",
                vec!["net", "network_events"],
                Source::Packet,
            ),
            (
                ids::NET_PACKET_ICMPV6,
                "net_packet_icmpv6",
                "src:const char*|dst:const char*|metadata:trace.PacketMetadata|proto_icmpv6:trace.ProtoICMPv6",
                vec!["net", "network_events"],
                Source::Packet,
            ),
            (
                ids::NET_PACKET_DNS,
                "net_packet_dns",
                "src:const char*|dst:const char*|src_port:u16|dst_port:u16|metadata:trace.PacketMetadata|proto_dns:trace.ProtoDNS",
                vec!["net", "network_events"],
                Source::Packet,
            ),
            (
                ids::NET_PACKET_DNS_REQUEST,
                "net_packet_dns_request",
                "metadata:trace.PktMeta|dns_questions:[]trace.DnsQueryData",
                vec!["net", "network_events", "default"],
                Source::Packet,
            ),
            (
                ids::NET_PACKET_DNS_RESPONSE,
                "net_packet_dns_response",
                "metadata:trace.PktMeta|dns_response:[]trace.DnsResponseData",
                vec!["net", "network_events", "default"],
                Source::Packet,
            ),
            (
                ids::NET_PACKET_HTTP,
                "net_packet_http",
                "metadata:trace.PacketMetadata|proto_http:trace.ProtoHTTP",
                vec!["net", "network_events"],
                Source::Packet,
            ),
            (
                ids::NET_PACKET_HTTP_REQUEST,
                "net_packet_http_request",
                "metadata:trace.PktMeta|http_request:trace.ProtoHTTPRequest",
                vec!["net", "network_events", "default"],
                Source::Packet,
            ),
            (
                ids::NET_PACKET_HTTP_RESPONSE,
                "net_packet_http_response",
                "metadata:trace.PktMeta|http_response:trace.ProtoHTTPResponse",
                vec!["net", "network_events"],
                Source::Packet,
            ),
            (
                ids::HOOKED_SYSCALL,
                "hooked_syscall",
                "syscall:const char*|address:const char*|function:const char*|owner:const char*",
                vec!["integrity"],
                Source::Integrity,
            ),
            (
                ids::HOOKED_PROC_FOPS,
                "hooked_proc_fops",
                "hooked_fops_pointers:[]trace.HookedSymbolData",
                vec!["integrity"],
                Source::Integrity,
            ),
        ];
        for (id, name, spec, sets, source) in fixed {
            events.push(EventDef {
                id,
                name: name.to_string(),
                args: args(spec),
                sets,
                source,
            });
        }
        let by_name = events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.clone(), i))
            .collect();
        Catalog { events, by_name }
    }

    /// Every event.
    pub fn events(&self) -> &[EventDef] {
        &self.events
    }

    /// The event named `name`.
    pub fn get(&self, name: &str) -> Option<&EventDef> {
        self.by_name.get(name).map(|&i| &self.events[i])
    }

    /// The syscall event for `nr`.
    pub fn syscall(&self, nr: u32) -> Option<&EventDef> {
        syscall_name(nr).and_then(|n| self.get(n))
    }

    /// Every set name.
    pub fn sets(&self) -> Vec<&'static str> {
        let mut s: Vec<&'static str> = self
            .events
            .iter()
            .flat_map(|e| e.sets.iter().copied())
            .collect();
        s.sort_unstable();
        s.dedup();
        s
    }

    /// Resolves `--events` words (event names, set names, `-name` to remove) to event names.
    pub fn select(&self, words: &[String]) -> Result<Vec<String>, String> {
        let mut chosen: Vec<String> = Vec::new();
        let sets = self.sets();
        for word in words.iter().flat_map(|w| w.split(',')) {
            let word = word.trim();
            if word.is_empty() {
                continue;
            }
            let (remove, w) = match word.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, word),
            };
            let names: Vec<String> = if self.get(w).is_some() {
                vec![w.to_string()]
            } else if sets.contains(&w) {
                self.events
                    .iter()
                    .filter(|e| e.sets.contains(&w))
                    .map(|e| e.name.clone())
                    .collect()
            } else {
                let hint = self
                    .events
                    .iter()
                    .map(|e| e.name.as_str())
                    .find(|n| n.contains(w))
                    .map(|n| format!(" (did you mean {n}?)"))
                    .unwrap_or_default();
                return Err(format!(
                    "unknown event or set '{w}'{hint}; see `osprey trace --list`"
                ));
            };
            for n in names {
                if remove {
                    chosen.retain(|c| *c != n);
                } else if !chosen.contains(&n) {
                    chosen.push(n);
                }
            }
        }
        Ok(chosen)
    }
}

#[cfg(test)]
mod tests {
    /// The C writes each event's arguments by the names of `osprey.h`'s `enum *_arg`, whose
    /// comment names the event: every name must be the catalog's argument at that index.
    #[test]
    fn record_argument_indices_match_the_catalog() {
        let header = include_str!("../../bpf/src/bpf/osprey.h");
        let mut checked = 0;
        for block in header.split("enum ").skip(1) {
            let Some((head, body)) = block.split_once('{') else {
                continue;
            };
            let Some(prefix) = head.trim().strip_suffix("_arg") else {
                continue;
            };
            let body = body.split("};").next().unwrap();
            let (comment, body) = body.split_once("*/").unwrap();
            let event = comment.trim().trim_start_matches("/*").trim();
            let event = event.split(':').next().unwrap().trim();
            let def = catalog()
                .get(event)
                .unwrap_or_else(|| panic!("enum {prefix}_arg names no event: {event}"));
            let mut next = 0u8;
            for item in body.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                let (name, index) = match item.split_once('=') {
                    Some((n, v)) => (n.trim(), v.trim().parse::<u8>().unwrap()),
                    None => (item, next),
                };
                next = index + 1;
                let arg = name
                    .strip_prefix(&format!("{}_", prefix.to_uppercase()))
                    .unwrap_or_else(|| panic!("{name} lacks the prefix of enum {prefix}_arg"))
                    .to_lowercase();
                let at = def.args.iter().find(|a| a.index == index);
                assert_eq!(
                    at.map(|a| a.name.as_str()),
                    Some(arg.as_str()),
                    "{name} = {index} in osprey.h, but {event}'s argument {index} differs"
                );
                checked += 1;
            }
        }
        assert!(checked > 60, "only {checked} indices found in osprey.h");
    }

    use super::*;

    /// Every event of events.md, with its argument names in order.
    const EVENTS_MD: &[(&str, &str)] = &[
        ("sched_process_exec", "cmdpath,pathname,dev,inode,ctime,inode_mode,interpreter_pathname,interpreter_dev,interpreter_inode,interpreter_ctime,argv,interp,stdin_type,stdin_path,invoked_from_kernel,prev_comm,env,pwd"),
        ("sched_process_fork", "parent_tid,parent_ns_tid,parent_pid,parent_ns_pid,parent_start_time,child_tid,child_ns_tid,child_pid,child_ns_pid,start_time,parent_process_tid,parent_process_ns_tid,parent_process_pid,parent_process_ns_pid,parent_process_start_time,leader_tid,leader_ns_tid,leader_pid,leader_ns_pid,leader_start_time"),
        ("sched_process_exit", "exit_code,signal_code,process_group_exit"),
        ("security_file_open", "pathname,flags,dev,inode,ctime,syscall_pathname"),
        ("magic_write", "pathname,bytes,dev,inode"),
        ("mem_prot_alert", "alert,addr,len,prot,prev_prot,pathname,dev,inode,ctime"),
        ("security_file_mprotect", "pathname,prot,ctime,prev_prot,addr,len,pkey"),
        ("security_inode_unlink", "pathname,inode,dev,ctime"),
        ("security_socket_connect", "sockfd,type,remote_addr"),
        ("security_socket_bind", "sockfd,local_addr"),
        ("security_socket_accept", "sockfd,local_addr"),
        ("security_sb_mount", "dev_name,path,type,flags"),
        ("init_module", "module_image,len,param_values"),
        ("finit_module", "fd,param_values,flags"),
        ("memfd_create", "name,flags"),
        ("ptrace", "request,pid,addr,data"),
        ("process_vm_writev", "pid,local_iov,liovcnt,remote_iov,riovcnt,flags"),
        ("kill", "pid,sig"),
        ("setuid", "uid"),
        ("chmod", "pathname,mode"),
        ("fchmodat", "dirfd,pathname,mode,flags"),
        ("net_packet_icmp", "src,dst,metadata,proto_icmp"),
        ("net_packet_dns", "src,dst,src_port,dst_port,metadata,proto_dns"),
        ("net_packet_dns_request", "metadata,dns_questions"),
        ("net_packet_dns_response", "metadata,dns_response"),
        ("net_packet_http", "metadata,proto_http"),
        ("net_packet_http_request", "metadata,http_request"),
        ("net_packet_http_response", "metadata,http_response"),
        ("openat", "dirfd,pathname,flags,mode"),
        ("connect", "sockfd,addr,addrlen"),
    ];

    #[test]
    fn catalog_has_every_event_of_events_md_with_its_argument_names() {
        let cat = catalog();
        for (name, args) in EVENTS_MD {
            let ev = cat.get(name).unwrap_or_else(|| panic!("{name} missing"));
            let got: Vec<&str> = ev.args.iter().map(|a| a.name.as_str()).collect();
            let want: Vec<&str> = args.split(',').collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn syscall_table_is_complete_and_numbered() {
        let t = syscalls();
        assert!(t.len() > 350);
        assert_eq!(syscall_name(257), Some("openat"));
        assert_eq!(syscall_name(59), Some("execve"));
        assert_eq!(syscall_name(39), Some("getpid"));
        assert_eq!(syscall_name(435), Some("clone3"));
        let openat = catalog().get("openat").unwrap();
        assert_eq!(openat.id, 257);
        assert_eq!(openat.args[1].ty, "const char*");
    }

    /// The BPF programs compare syscall numbers from `sysnr.h` (`#define NR_OPENAT2 437`), derived
    /// events use [`nr`] (`pub const OPENAT2: u32 = 437;`), and the decoder names syscalls from
    /// the generated table: every number of the first two must be the table's for the name.
    #[test]
    fn syscall_numbers_of_sysnr_h_and_of_nr_match_the_table() {
        const SYSNR_H: &str = include_str!("../../bpf/src/bpf/sysnr.h");
        const THIS_FILE: &str = include_str!("catalog.rs");
        let by_name: HashMap<&str, u32> =
            syscalls().iter().map(|s| (s.name.as_str(), s.nr)).collect();
        let check = |what: &str, upper: &str, value: &str| {
            let n: u32 = value
                .parse()
                .unwrap_or_else(|_| panic!("{what}: {upper} = {value:?} is not a plain number"));
            let name = upper.to_ascii_lowercase();
            assert_eq!(
                by_name.get(name.as_str()),
                Some(&n),
                "{what}: {upper} is {n}, the syscall table has {name} at {:?}",
                by_name.get(name.as_str())
            );
        };
        let mut in_sysnr = 0;
        for line in SYSNR_H.lines() {
            let Some(def) = line.trim().strip_prefix("#define NR_") else {
                continue;
            };
            let mut parts = def.split_whitespace();
            let (Some(upper), Some(value)) = (parts.next(), parts.next()) else {
                panic!("sysnr.h: cannot read {line:?}");
            };
            check("sysnr.h", upper, value);
            in_sysnr += 1;
        }
        let module = THIS_FILE
            .split_once("\npub mod nr {\n")
            .and_then(|(_, rest)| rest.split_once("\n}\n"))
            .expect("the nr module in catalog.rs")
            .0;
        let mut in_nr = 0;
        for line in module.lines() {
            let Some(def) = line.trim().strip_prefix("pub const ") else {
                continue;
            };
            let Some((upper, value)) = def.trim_end_matches(';').split_once(": u32 = ") else {
                panic!("nr: cannot read {line:?}");
            };
            check("nr", upper, value);
            in_nr += 1;
        }
        assert!(
            in_sysnr >= 25 && in_nr >= 26,
            "only {in_sysnr} NR_ definitions read from sysnr.h and {in_nr} constants from nr"
        );
    }

    #[test]
    fn arg_kinds_follow_types() {
        assert_eq!(syscall_arg_kind("pathname", "const char*", None), SK_STR);
        assert_eq!(syscall_arg_kind("buf", "char*", None), SK_INT);
        assert_eq!(
            syscall_arg_kind("argv", "const char*const*", None),
            SK_STRARR
        );
        assert_eq!(
            syscall_arg_kind("addr", "struct sockaddr*", Some("int")),
            SK_SOCKADDR
        );
        assert_eq!(
            syscall_arg_kind("addr", "struct sockaddr*", Some("int*")),
            SK_SOCKADDR_LP
        );
        assert_eq!(syscall_arg_kind("fd", "int", None), SK_INT);
    }

    #[test]
    fn selection_expands_sets_and_removes() {
        let cat = catalog();
        let s = cat.select(&["fs,-openat".into()]).unwrap();
        assert!(s.contains(&"security_file_open".to_string()));
        assert!(!s.contains(&"openat".to_string()));
        let s = cat.select(&["openat,connect".into()]).unwrap();
        assert_eq!(s, vec!["openat", "connect"]);
        assert!(cat.select(&["nonsense".into()]).is_err());
        for set in ["default", "fs", "proc", "net", "syscalls"] {
            assert!(!cat.select(&[set.into()]).unwrap().is_empty(), "{set}");
        }
    }
}
