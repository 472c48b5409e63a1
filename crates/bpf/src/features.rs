//! What this kernel offers the programs, beyond the hooks: each feature the tracer has a
//! fallback for is probed by loading a tiny program of `probe.bpf.c` that uses it (libbpf's own
//! helper probes do not cover tracing programs). The answers pick the object (main or compat,
//! see `build.rs`) and set the feature knobs of `knobs.h`; `compat.h` holds the ways taken.

use std::fmt;
use std::sync::OnceLock;

use libbpf_rs::libbpf_sys;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};

use crate::probe_skel::{ProbeSkel, ProbeSkelBuilder};
use crate::{leak_object, summarize_log, take_log};

/// The kernel features the programs adapt to (`knobs.h`, `compat.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// `BPF_MAP_TYPE_RINGBUF` (5.8+): the tracer cannot run without it.
    pub ring_buffer: bool,
    /// `bpf_loop` (5.17+); without it (or `bpf_find_vma`) the compat object is used.
    pub bpf_loop: bool,
    /// `bpf_find_vma` (5.17+).
    pub find_vma: bool,
    /// Task storage from tracing programs (5.11+); else hashes keyed by thread ID.
    pub task_storage: bool,
    /// `bpf_get_current_task_btf` (5.11+); else the plain task pointer read with CO-RE.
    pub task_btf: bool,
    /// `bpf_task_pt_regs` (5.15+); else the registers at the top of the kernel stack.
    pub task_pt_regs: bool,
    /// `bpf_get_current_task` in cgroup sock programs; else a socket owner's context comes
    /// from `/proc` (and is lost when the owner has exited before its packets are read).
    pub sock_task: bool,
    /// `bpf_preempt_disable` in tracing programs, with global functions callable while
    /// preemption is off (6.14+): a program keeps its CPU, so its per-CPU buffers stay its own
    /// on kernels with full or lazy preemption. Else a buffer another task took half-way is
    /// dropped and counted ("preempted").
    pub pin_cpu: bool,
    /// The same in cgroup_skb programs (packets sent from task context).
    pub pin_cpu_skb: bool,
    /// The kernel may preempt a task inside a tracing program (full, lazy or RT preemption;
    /// or not known): then the busiest programs run in several copies, since the kernel skips
    /// a program on a CPU where a preempted task is still inside it (context.h, "Spare copies").
    pub preemptible: bool,
}

impl Features {
    /// Probes the running kernel, unless `OSPREY_BPF_COMPAT=1` asks for [`Features::oldest`];
    /// `OSPREY_BPF_PREEMPTIBLE=1` takes the kernel for one that preempts programs (the copies of
    /// context.h, "Spare copies", on a kernel that would not need them: how the tests cover
    /// them here). Needs root (or `CAP_BPF` + `CAP_PERFMON`).
    /// The answer is kept for the rest of the process.
    pub fn detect() -> Features {
        static DETECTED: OnceLock<Features> = OnceLock::new();
        let set = |name: &str| std::env::var(name).as_deref() == Ok("1");
        *DETECTED.get_or_init(|| {
            let features = if set("OSPREY_BPF_COMPAT") {
                Features::oldest()
            } else {
                Features::probe()
            };
            Features {
                preemptible: features.preemptible || set("OSPREY_BPF_PREEMPTIBLE"),
                ..features
            }
        })
    }

    /// Loads one probe program per feature.
    pub fn probe() -> Features {
        let ring_buffer = unsafe {
            // SAFETY: a plain FFI call with a null options pointer, which libbpf accepts.
            libbpf_sys::libbpf_probe_bpf_map_type(
                libbpf_sys::BPF_MAP_TYPE_RINGBUF,
                std::ptr::null(),
            ) == 1
        };
        let task_btf = probe_program("probe_task_btf").is_ok();
        Features {
            ring_buffer,
            bpf_loop: probe_program("probe_loop").is_ok(),
            find_vma: task_btf && probe_program("probe_find_vma").is_ok(),
            task_storage: task_btf && probe_program("probe_task_storage").is_ok(),
            task_btf,
            task_pt_regs: task_btf && probe_program("probe_task_pt_regs").is_ok(),
            sock_task: probe_program("probe_sock_task").is_ok(),
            pin_cpu: task_btf && probe_program("probe_pin").is_ok(),
            pin_cpu_skb: probe_program("probe_pin_skb").is_ok(),
            preemptible: preemptible_kernel().unwrap_or(true),
        }
    }

    /// A 5.10 kernel's answers (measured in the kernel matrix): every fallback that kernel takes
    /// (and the compat object) at once. Set `OSPREY_BPF_COMPAT=1` to run the tracer this way on
    /// a newer kernel, which is how the tests cover the old kernels' paths on the machine at hand.
    pub fn oldest() -> Features {
        Features {
            ring_buffer: true,
            bpf_loop: false,
            find_vma: false,
            task_storage: false,
            task_btf: false,
            task_pt_regs: false,
            // 5.10 has it (the kernel matrix's --list): the task pointer in cgroup sock programs
            sock_task: true,
            pin_cpu: false,
            pin_cpu_skb: false,
            // Debian's 5.10 preempts voluntarily: a BPF program is never preempted
            preemptible: false,
        }
    }

    /// Copies of the busiest programs to attach (context.h, "Spare copies").
    pub fn copies(&self) -> u32 {
        if self.preemptible {
            crate::consts::MAX_COPIES
        } else {
            1
        }
    }

    /// True when the compat object (bounded loops, no callbacks) must be used.
    pub fn compat(&self) -> bool {
        !(self.bpf_loop && self.find_vma)
    }

    /// Each feature with whether it is there and the way taken when it is not, for `--list`.
    pub fn describe(&self) -> Vec<(&'static str, bool, &'static str)> {
        vec![
            (
                "ring buffer",
                self.ring_buffer,
                "none: the tracer needs 5.8 or newer",
            ),
            (
                "bpf_loop",
                self.bpf_loop,
                "bounded loops: paths 48 deep, 8 MiB captured per call",
            ),
            (
                "bpf_find_vma",
                self.find_vma,
                "walk of the VMA red-black tree",
            ),
            (
                "task storage",
                self.task_storage,
                "hashes keyed by thread ID",
            ),
            (
                "bpf_get_current_task_btf",
                self.task_btf,
                "task pointer read with CO-RE",
            ),
            (
                "bpf_task_pt_regs",
                self.task_pt_regs,
                "registers at the top of the kernel stack",
            ),
            (
                "task in socket hooks",
                self.sock_task,
                "socket owners' context from /proc",
            ),
            (
                "bpf_preempt_disable",
                self.pin_cpu && self.pin_cpu_skb,
                "a record another task overwrote half-way is dropped and counted",
            ),
            (
                "non-preemptible programs",
                !self.preemptible,
                "the busiest programs run in 6 copies (a preempted task blocks only one)",
            ),
        ]
    }
}

impl fmt::Display for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let missing: Vec<&str> = self
            .describe()
            .into_iter()
            .filter(|(_, ok, _)| !ok)
            .map(|(name, _, _)| name)
            .collect();
        let object = if self.compat() { "compat" } else { "main" };
        if missing.is_empty() {
            write!(f, "{object} object, every feature")
        } else {
            write!(f, "{object} object, without {}", missing.join(", "))
        }
    }
}

/// Whether the running kernel can preempt a task inside a BPF program, from what it says of its
/// preemption model: the dynamic mode in debugfs, `preempt=` on the command line, else the
/// build (`uname -v`: PREEMPT_RT, PREEMPT_LAZY, PREEMPT; PREEMPT_DYNAMIC's default mode from the
/// kernel's config, in /boot or /proc/config.gz). `None` when nothing says.
fn preemptible_kernel() -> Option<bool> {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let release = read("/proc/sys/kernel/osrelease").unwrap_or_default();
    let config = read(&format!("/boot/config-{}", release.trim())).or_else(|| {
        let gz = std::fs::File::open("/proc/config.gz").ok()?;
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz), &mut text).ok()?;
        Some(text)
    });
    preemption_from(
        read("/sys/kernel/debug/sched/preempt").as_deref(),
        read("/proc/cmdline").as_deref(),
        read("/proc/sys/kernel/version").as_deref(),
        config.as_deref(),
    )
}

/// [`preemptible_kernel`] over the texts it reads.
fn preemption_from(
    debugfs: Option<&str>,
    cmdline: Option<&str>,
    version: Option<&str>,
    config: Option<&str>,
) -> Option<bool> {
    let preemptive_mode = |mode: &str| matches!(mode, "full" | "lazy" | "rt");
    // "none voluntary (full) lazy": the current mode in parentheses
    if let Some(mode) = debugfs
        .and_then(|d| d.split_once('('))
        .and_then(|(_, r)| r.split_once(')'))
    {
        return Some(preemptive_mode(mode.0));
    }
    let version = version?;
    let words: Vec<&str> = version.split_whitespace().collect();
    if words
        .iter()
        .any(|w| matches!(*w, "PREEMPT_RT" | "PREEMPT_LAZY" | "PREEMPT"))
    {
        return Some(true);
    }
    if !words.contains(&"PREEMPT_DYNAMIC") {
        return Some(false); // built for none or voluntary preemption
    }
    if let Some(mode) = cmdline
        .into_iter()
        .flat_map(str::split_whitespace)
        .find_map(|w| w.strip_prefix("preempt="))
    {
        return Some(preemptive_mode(mode));
    }
    let config = config?;
    let set = |name: &str| config.lines().any(|l| l.trim() == format!("{name}=y"));
    Some(set("CONFIG_PREEMPT") || set("CONFIG_PREEMPT_LAZY") || set("CONFIG_PREEMPT_RT"))
}

/// Loads the probe program `name` alone.
fn probe_program(name: &str) -> Result<(), String> {
    load_probe(name).map(drop)
}

/// Loads the probe program `name` alone (with only the map it uses created).
pub(crate) fn load_probe(name: &str) -> Result<ProbeSkel<'static>, String> {
    let _ = take_log();
    let obj = leak_object();
    let mut open = ProbeSkelBuilder::default()
        .open(obj)
        .map_err(|e| format!("open: {e}"))?;
    for mut prog in open.open_object_mut().progs_mut() {
        let wanted = prog.name() == name;
        prog.set_autoload(wanted);
    }
    for mut map in open.open_object_mut().maps_mut() {
        let used = map.name() == "probe_tasks" && name == "probe_task_storage";
        map.set_autocreate(used)
            .map_err(|e| format!("autocreate: {e}"))?;
    }
    open.load()
        .map_err(|e| format!("{e}{}", summarize_log(&take_log())))
}

#[cfg(test)]
mod tests {
    use super::preemption_from;

    #[test]
    fn the_preemption_model_is_read_from_what_the_kernel_says() {
        let dynamic = Some("#1 SMP PREEMPT_DYNAMIC Debian 6.12.118-1");
        // debugfs knows best
        assert_eq!(
            preemption_from(Some("none voluntary (full) lazy\n"), None, None, None),
            Some(true)
        );
        assert_eq!(
            preemption_from(Some("none (voluntary) full lazy\n"), None, dynamic, None),
            Some(false)
        );
        assert_eq!(
            preemption_from(Some("none voluntary full (lazy)\n"), None, None, None),
            Some(true)
        );
        // then the build
        assert_eq!(
            preemption_from(None, None, Some("#1 SMP PREEMPT_RT Debian"), None),
            Some(true)
        );
        assert_eq!(
            preemption_from(None, None, Some("#1 SMP PREEMPT Fri"), None),
            Some(true)
        );
        assert_eq!(
            preemption_from(None, None, Some("#1 SMP Debian 5.10.262-1"), None),
            Some(false)
        );
        // a dynamic kernel: the command line, else its config's default
        assert_eq!(
            preemption_from(None, Some("ro preempt=full quiet"), dynamic, None),
            Some(true)
        );
        assert_eq!(
            preemption_from(None, Some("ro preempt=none"), dynamic, None),
            Some(false)
        );
        let voluntary = "CONFIG_PREEMPT_VOLUNTARY=y\n# CONFIG_PREEMPT is not set\n";
        assert_eq!(
            preemption_from(None, Some("ro"), dynamic, Some(voluntary)),
            Some(false)
        );
        assert_eq!(
            preemption_from(None, Some("ro"), dynamic, Some("CONFIG_PREEMPT_LAZY=y\n")),
            Some(true)
        );
        assert_eq!(preemption_from(None, Some("ro"), dynamic, None), None);
    }
}
