//! The process context that both the decoder and the capture driver add to what the kernel
//! sends: a process's executable (from its exec record, inherited at fork, else
//! `<root>/<pid>/exe`), its container ID (from `<root>/<pid>/cgroup`, per cgroup), and the
//! rest of a record header completed from `<root>` when the kernel could not read the task.
//! The root is `/proc` except in tests.
//!
//! **Memory stays bounded, and late events stay complete.** A tracer runs for days and sees
//! millions of processes, so nothing here may grow with the number of processes, nor stop
//! answering once some budget is spent. The caches, keyed by host PID (the leader's start time
//! is checked, so a reused PID is read again) and by cgroup ID, hold their strings as
//! `Arc<str>` in two generations (`Generations`): lookups look in the young generation, then
//! in the old one, whose hit moves the entry to the young one; inserts go to the young one, and
//! when it reaches its entry or byte limit ([`Limits`]) the old generation is dropped whole and
//! the young one becomes old. So the entries used since the last rotation are always kept, at
//! most two generations are held, and there is no per-hit bookkeeping (as a linked LRU would
//! need). A dropped string is freed once no event refers to it any more; events borrow it only
//! while they are written. Exit records remove a process at once, but they are only traced when
//! `sched_process_exit` is selected (or for `follow`), so the generations are what bounds
//! memory. An evicted process that is still running is simply read from `/proc` again:
//! complete, only slower.
//!
//! There is no interner shared across processes: the command and host names (16 bytes at most)
//! are borrowed from the record itself, a forked child shares its parent's executable `Arc`,
//! and each cached process holds at most one path.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use osprey_bpf::RecordHdr;

use crate::container::{container_from_cgroup, unified_path};

/// Where `/proc` is.
pub const PROC_ROOT: &str = "/proc";

/// The size of one generation of a cache: the other one is as big at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Entries (processes or cgroups).
    pub entries: usize,
    /// Bytes of the strings held (paths and container IDs).
    pub bytes: usize,
}

impl Limits {
    /// 32,768 processes and 8 MiB of paths per generation: more processes than most hosts run
    /// at once, so a live process is rarely read twice, and a few tens of MiB at most.
    pub const DEFAULT: Limits = Limits {
        entries: 32 << 10,
        bytes: 8 << 20,
    };
}

/// What the caches hold, for benchmarks and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Processes cached (both generations).
    pub processes: usize,
    /// cgroups cached (both generations).
    pub cgroups: usize,
    /// Bytes of the strings they hold.
    pub bytes: usize,
}

/// A value whose size counts against [`Limits::bytes`].
trait Weight {
    fn weight(&self) -> usize;
}

/// A map of two generations (see the module documentation).
#[derive(Debug)]
struct Generations<K, V> {
    young: HashMap<K, V>,
    old: HashMap<K, V>,
    young_bytes: usize,
    old_bytes: usize,
    limits: Limits,
}

impl<K: Hash + Eq + Copy, V: Weight + Clone> Generations<K, V> {
    fn new(limits: Limits) -> Self {
        Generations {
            young: HashMap::new(),
            old: HashMap::new(),
            young_bytes: 0,
            old_bytes: 0,
            limits,
        }
    }

    fn get(&mut self, k: &K) -> Option<V> {
        if let Some(v) = self.young.get(k) {
            return Some(v.clone());
        }
        let v = self.old.remove(k)?;
        self.old_bytes -= v.weight();
        self.insert(*k, v.clone());
        Some(v)
    }

    fn insert(&mut self, k: K, v: V) {
        let w = v.weight();
        if self.young.len() >= self.limits.entries || self.young_bytes + w > self.limits.bytes {
            self.old = std::mem::take(&mut self.young);
            self.old_bytes = std::mem::replace(&mut self.young_bytes, 0);
        }
        if let Some(prev) = self.old.remove(&k) {
            self.old_bytes -= prev.weight();
        }
        self.young_bytes += w;
        if let Some(prev) = self.young.insert(k, v) {
            self.young_bytes -= prev.weight();
        }
    }

    fn remove(&mut self, k: &K) {
        if let Some(v) = self.young.remove(k) {
            self.young_bytes -= v.weight();
        }
        if let Some(v) = self.old.remove(k) {
            self.old_bytes -= v.weight();
        }
    }

    fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    fn bytes(&self) -> usize {
        self.young_bytes + self.old_bytes
    }
}

/// A cached process: its executable, and when its leader started (0: unknown).
#[derive(Debug, Clone)]
struct Proc {
    start: u64,
    exe: Arc<str>,
}

impl Weight for Proc {
    fn weight(&self) -> usize {
        self.exe.len()
    }
}

/// A cgroup's container ID; `None` for a cgroup that is no container's.
impl Weight for Option<Arc<str>> {
    fn weight(&self) -> usize {
        self.as_deref().map_or(0, str::len)
    }
}

/// Executables and container IDs by process, read from a `/proc` tree and cached within
/// [`Limits`].
#[derive(Debug)]
pub struct ProcContext {
    root: String,
    procs: Generations<u32, Proc>,
    cgroups: Generations<u64, Option<Arc<str>>>,
    /// The last executable looked up, (pid, start, exe), for storms from one process.
    last: Option<(u32, u64, Option<Arc<str>>)>,
}

impl Default for ProcContext {
    fn default() -> Self {
        ProcContext::new(PROC_ROOT)
    }
}

impl ProcContext {
    /// Reads from the `/proc` tree at `root`, within [`Limits::DEFAULT`].
    pub fn new(root: impl Into<String>) -> Self {
        ProcContext::with_limits(root, Limits::DEFAULT)
    }

    /// Reads from the `/proc` tree at `root`, caching within `limits` per generation.
    pub fn with_limits(root: impl Into<String>, limits: Limits) -> Self {
        ProcContext {
            root: root.into(),
            procs: Generations::new(limits),
            cgroups: Generations::new(limits),
            last: None,
        }
    }

    /// The `/proc` tree read: also where the capture opens a process's files (`exe`, `fd/N`).
    pub fn root(&self) -> &str {
        &self.root
    }

    /// What the caches hold.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            processes: self.procs.len(),
            cgroups: self.cgroups.len(),
            bytes: self.procs.bytes() + self.cgroups.bytes(),
        }
    }

    /// The executable of process `pid` whose leader started at `start` (0 when unknown).
    pub fn executable(&mut self, pid: u32, start: u64) -> Option<Arc<str>> {
        if let Some((p, s, exe)) = &self.last {
            if *p == pid && *s == start {
                return exe.clone();
            }
        }
        let exe = match self.procs.get(&pid) {
            Some(p) if p.start == 0 || start == 0 || p.start == start => Some(p.exe),
            _ => {
                let read = std::fs::read_link(format!("{}/{pid}/exe", self.root))
                    .ok()
                    .map(|p| Arc::<str>::from(p.to_string_lossy()));
                if let Some(exe) = &read {
                    let exe = exe.clone();
                    self.procs.insert(pid, Proc { start, exe });
                }
                read
            }
        };
        self.last = Some((pid, start, exe.clone()));
        exe
    }

    /// Process `pid` (leader started at `start`) executed `path` (`None`: not known).
    pub fn exec(&mut self, pid: u32, start: u64, path: Option<&str>) {
        self.last = None;
        match path {
            Some(p) => self.procs.insert(
                pid,
                Proc {
                    start,
                    exe: Arc::from(p),
                },
            ),
            None => self.procs.remove(&pid),
        }
    }

    /// Process `parent` forked `child`, which runs the parent's executable until it execs.
    pub fn fork(&mut self, parent: u32, parent_start: u64, child: u32, child_start: u64) {
        match self.executable(parent, parent_start) {
            Some(exe) => self.procs.insert(
                child,
                Proc {
                    start: child_start,
                    exe,
                },
            ),
            None => self.procs.remove(&child),
        }
    }

    /// Process `pid` exited (all its threads).
    pub fn exit(&mut self, pid: u32) {
        self.procs.remove(&pid);
        self.last = None;
    }

    /// The container ID of cgroup `cgroup_id`, read from the cgroup of `pid`, one of its
    /// processes; `None` on the host, or when `pid` is gone before its cgroup was known.
    pub fn container_id(&mut self, pid: u32, cgroup_id: u64) -> Option<Arc<str>> {
        if let Some(c) = self.cgroups.get(&cgroup_id) {
            return c;
        }
        let text = std::fs::read_to_string(format!("{}/{pid}/cgroup", self.root)).ok()?;
        let id = unified_path(&text)
            .and_then(container_from_cgroup)
            .map(|c| Arc::<str>::from(c.id));
        self.cgroups.insert(cgroup_id, id.clone());
        id
    }

    /// Completes a header that carries only pid, tid, uid, comm and cgroup (a packet whose
    /// owner's task could not be read): namespaced IDs, parent, namespaces, thread start time,
    /// host name. Whatever the tree no longer has (the task exited) stays as it was.
    pub fn complete(&self, hdr: &mut RecordHdr) {
        let base = format!("{}/{}", self.root, hdr.pid);
        if let Ok(status) = std::fs::read_to_string(format!("{base}/task/{}/status", hdr.tid))
            .or_else(|_| std::fs::read_to_string(format!("{base}/status")))
        {
            for line in status.lines() {
                let last = |l: &str| {
                    l.split_whitespace()
                        .last()
                        .and_then(|v| v.parse::<u32>().ok())
                };
                if let Some(v) = line.strip_prefix("NStgid:") {
                    hdr.ns_pid = last(v).unwrap_or(hdr.pid);
                } else if let Some(v) = line.strip_prefix("NSpid:") {
                    hdr.ns_tid = last(v).unwrap_or(hdr.tid);
                } else if let Some(v) = line.strip_prefix("PPid:") {
                    hdr.ppid = last(v).unwrap_or(0);
                }
            }
            hdr.ns_ppid = if hdr.ns_pid == hdr.pid { hdr.ppid } else { 0 };
        }
        let ns = |name: &str| -> u32 {
            std::fs::read_link(format!("{base}/ns/{name}"))
                .ok()
                .and_then(|p| {
                    let s = p.to_string_lossy().into_owned();
                    s.split('[').nth(1)?.trim_end_matches(']').parse().ok()
                })
                .unwrap_or(0)
        };
        hdr.mnt_ns = ns("mnt");
        hdr.pid_ns = ns("pid");
        if let Ok(stat) = std::fs::read_to_string(format!("{base}/task/{}/stat", hdr.tid)) {
            // field 22 (starttime, clock ticks since boot), counted after the comm's ')'
            if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
                if let Some(ticks) = rest
                    .split_whitespace()
                    .nth(19)
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    // SAFETY: sysconf has no preconditions.
                    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
                    hdr.start_time = ticks * (1_000_000_000 / hz);
                }
            }
        }
        let mut host = [0u8; 64];
        // SAFETY: `host` is a writable buffer of the given length; gethostname NUL-terminates
        // when the name fits.
        if unsafe { libc::gethostname(host.as_mut_ptr().cast(), host.len()) } == 0 {
            let n = host.iter().position(|&b| b == 0).unwrap_or(0).min(15);
            for (i, b) in host[..n].iter().enumerate() {
                hdr.uts_name[i] = *b as i8;
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fake `/proc` tree: `<pid>/exe` links and `<pid>/cgroup` files.
    pub(crate) struct FakeProc(pub tempfile::TempDir);

    impl FakeProc {
        pub(crate) fn new() -> Self {
            FakeProc(tempfile::tempdir().unwrap())
        }

        pub(crate) fn root(&self) -> String {
            self.0.path().display().to_string()
        }

        /// Process `pid` runs `exe` in cgroup `cgroup` (a unified path).
        pub(crate) fn process(&self, pid: u32, exe: &str, cgroup: &str) {
            let dir = self.0.path().join(pid.to_string());
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir(&dir).unwrap();
            std::os::unix::fs::symlink(exe, dir.join("exe")).unwrap();
            std::fs::write(dir.join("cgroup"), format!("0::{cgroup}\n")).unwrap();
        }

        pub(crate) fn gone(&self, pid: u32) {
            std::fs::remove_dir_all(self.0.path().join(pid.to_string())).unwrap();
        }
    }

    pub(crate) fn container(n: u64) -> String {
        format!("{n:064x}")
    }

    #[test]
    fn executables_and_containers_come_from_the_given_root() {
        let fake = FakeProc::new();
        fake.process(10, "/usr/bin/a", &format!("/docker/{}", container(1)));
        fake.process(11, "/usr/bin/b", "/user.slice/session-1.scope");
        let mut c = ProcContext::new(fake.root());
        assert_eq!(c.executable(10, 5).as_deref(), Some("/usr/bin/a"));
        assert_eq!(c.container_id(10, 100).as_deref(), Some(&*container(1)));
        assert_eq!(c.executable(11, 6).as_deref(), Some("/usr/bin/b"));
        assert_eq!(c.container_id(11, 101), None);
        // cached: the tree no longer has them
        fake.gone(10);
        assert_eq!(c.executable(10, 5).as_deref(), Some("/usr/bin/a"));
        assert_eq!(c.container_id(10, 100).as_deref(), Some(&*container(1)));
        // a PID reused by another process is read again
        fake.process(11, "/usr/bin/c", "/");
        assert_eq!(c.executable(11, 7).as_deref(), Some("/usr/bin/c"));
        assert_eq!(ProcContext::new("/nonexistent").executable(1, 0), None);
    }

    #[test]
    fn exec_fork_and_exit_update_the_cache() {
        let mut c = ProcContext::new("/nonexistent");
        c.exec(20, 1, Some("/bin/sh"));
        c.fork(20, 1, 21, 2);
        assert_eq!(c.executable(21, 2).as_deref(), Some("/bin/sh"));
        c.exec(21, 2, Some("/bin/ls"));
        assert_eq!(c.executable(21, 2).as_deref(), Some("/bin/ls"));
        assert_eq!(c.executable(20, 1).as_deref(), Some("/bin/sh"));
        c.exit(20);
        assert_eq!(c.executable(20, 1), None);
        c.exec(21, 2, None);
        assert_eq!(c.executable(21, 2), None);
    }

    /// The old interner cached `None` for every process once its budget was spent.
    #[test]
    fn a_tiny_budget_exceeded_many_times_over_still_gives_every_new_process_its_context() {
        let fake = FakeProc::new();
        let limits = Limits {
            entries: 8,
            bytes: 256,
        };
        let mut c = ProcContext::with_limits(fake.root(), limits);
        // 2000 distinct paths of ~60 bytes and as many container IDs pass through
        for n in 0..2000u32 {
            let pid = 1000 + n % 50;
            let exe = format!("/opt/app-{n}/bin/server-with-a-long-name-{n}");
            let cid = container(n as u64);
            if n % 2 == 0 {
                c.exec(pid, n as u64 + 1, Some(&exe));
                fake.process(pid, "/wrong", &format!("/docker/{cid}"));
            } else {
                fake.process(pid, &exe, &format!("/docker/{cid}"));
            }
            assert_eq!(c.executable(pid, n as u64 + 1).as_deref(), Some(&*exe));
            assert_eq!(c.container_id(pid, n as u64).as_deref(), Some(&*cid));
            let s = c.stats();
            assert!(s.processes <= 2 * limits.entries && s.cgroups <= 2 * limits.entries);
            assert!(s.bytes <= 4 * limits.bytes, "{s:?}");
        }
    }

    #[test]
    fn generations_keep_what_is_used_and_drop_the_rest() {
        let limits = Limits {
            entries: 2,
            bytes: 1 << 20,
        };
        let mut g: Generations<u32, Option<Arc<str>>> = Generations::new(limits);
        let s = |t: &str| Some(Arc::<str>::from(t));
        g.insert(1, s("a"));
        g.insert(2, s("b"));
        g.insert(3, s("c")); // 1, 2 become old
        assert_eq!(g.get(&1), Some(s("a"))); // promoted: 3, 1 young
        g.insert(4, s("d")); // 3, 1 old; 2 dropped
        assert_eq!(g.get(&2), None);
        assert_eq!(g.get(&1), Some(s("a")));
        assert_eq!(g.get(&3), Some(s("c")));
        assert_eq!((g.len(), g.bytes()), (3, 3));
        g.remove(&3);
        assert_eq!((g.len(), g.bytes()), (2, 2));
    }

    #[test]
    fn a_header_is_completed_from_the_given_root() {
        let fake = FakeProc::new();
        let task = fake.0.path().join("30/task/31");
        std::fs::create_dir_all(&task).unwrap();
        std::fs::write(
            task.join("status"),
            "Name:\tx\nNStgid:\t30\t7\nNSpid:\t31\t8\nPPid:\t29\n",
        )
        .unwrap();
        let mut hdr = RecordHdr {
            pid: 30,
            tid: 31,
            ..RecordHdr::default()
        };
        ProcContext::new(fake.root()).complete(&mut hdr);
        assert_eq!(
            (hdr.ns_pid, hdr.ns_tid, hdr.ppid, hdr.ns_ppid),
            (7, 8, 29, 0)
        );
        let mut gone = RecordHdr {
            pid: 30,
            tid: 31,
            ..RecordHdr::default()
        };
        ProcContext::new("/nonexistent").complete(&mut gone);
        assert_eq!((gone.ns_pid, gone.ppid), (0, 0));
    }
}
