//! `--scope`: which processes are traced, in Tracee's grammar.
//!
//! Each `--scope` value is one expression; several are combined with AND, values within one
//! expression with OR: `comm=ls,cat`, `comm!=sshd`, `pid=1000,1001`, `pid!=1`, `uid=0`,
//! `uid!=0`, `executable=/usr/bin/curl` (also `exec=`), `container`, `not-container`
//! (also `!container`), `new` (started after the tracer), `follow` (descendants of matching
//! processes too). PIDs, uids and `new` are decided in the kernel; the rest in userspace, by
//! one [`UserScope`] that the event decoder and the capture thread share, so that artifacts
//! are captured for exactly the processes whose events are shown.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use osprey_bpf::record::c_chars;
use osprey_bpf::RecordHdr;

use crate::proc_context::ProcContext;

/// A list filter: keep (`=`) or drop (`!=`) these values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter<T> {
    /// `true` for `=`, `false` for `!=`.
    pub keep: bool,
    /// The values.
    pub values: Vec<T>,
}

impl<T: PartialEq> Filter<T> {
    /// Whether `v` passes.
    pub fn allows(&self, v: &T) -> bool {
        self.values.contains(v) == self.keep
    }
}

/// The parsed scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `comm=` / `comm!=`.
    pub comm: Option<Filter<String>>,
    /// `pid=` / `pid!=`.
    pub pid: Option<Filter<u32>>,
    /// `uid=` / `uid!=`.
    pub uid: Option<Filter<u32>>,
    /// `executable=` / `executable!=`.
    pub executable: Option<Filter<String>>,
    /// `container` (Some(true)) or `not-container` (Some(false)).
    pub container: Option<bool>,
    /// `new`.
    pub new: bool,
    /// `follow`.
    pub follow: bool,
}

/// A `--scope` expression that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeError(pub String);

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScopeError {}

fn merge<T: PartialEq + Clone>(
    slot: &mut Option<Filter<T>>,
    keep: bool,
    values: Vec<T>,
    field: &str,
) -> Result<(), ScopeError> {
    match slot {
        None => *slot = Some(Filter { keep, values }),
        Some(f) if f.keep == keep => {
            for v in values {
                if !f.values.contains(&v) {
                    f.values.push(v);
                }
            }
        }
        Some(_) => {
            return Err(ScopeError(format!(
                "{field}= and {field}!= cannot both be given"
            )))
        }
    }
    Ok(())
}

impl Scope {
    /// Parses the `--scope` values.
    pub fn parse(exprs: &[String]) -> Result<Scope, ScopeError> {
        let mut s = Scope::default();
        for expr in exprs {
            let e = expr.trim();
            match e {
                "container" => s.container = Some(true),
                "not-container" | "!container" => s.container = Some(false),
                "new" | "pid=new" => s.new = true,
                "follow" => s.follow = true,
                _ => {
                    let (field, keep, value) = if let Some((f, v)) = e.split_once("!=") {
                        (f.trim(), false, v.trim())
                    } else if let Some((f, v)) = e.split_once('=') {
                        (f.trim(), true, v.trim())
                    } else {
                        return Err(ScopeError(format!(
                            "'{e}': expected FIELD=VALUES, FIELD!=VALUES, container, not-container, new or follow"
                        )));
                    };
                    let values: Vec<&str> = value
                        .split(',')
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .collect();
                    if values.is_empty() {
                        return Err(ScopeError(format!("'{e}': no value")));
                    }
                    let numbers = |what: &str| -> Result<Vec<u32>, ScopeError> {
                        values
                            .iter()
                            .map(|v| {
                                v.parse::<u32>().map_err(|_| {
                                    ScopeError(format!("'{e}': '{v}' is not a valid {what}"))
                                })
                            })
                            .collect()
                    };
                    match field {
                        "comm" => {
                            let v = values
                                .iter()
                                .map(|c| c.chars().take(15).collect::<String>())
                                .collect();
                            merge(&mut s.comm, keep, v, "comm")?
                        }
                        "pid" => merge(&mut s.pid, keep, numbers("PID")?, "pid")?,
                        "uid" => merge(&mut s.uid, keep, numbers("uid")?, "uid")?,
                        "executable" | "exec" => merge(
                            &mut s.executable,
                            keep,
                            values.iter().map(|v| v.to_string()).collect(),
                            "executable",
                        )?,
                        other => {
                            return Err(ScopeError(format!(
                                "'{e}': unknown scope field '{other}' (comm, pid, uid, executable, container, not-container, new, follow)"
                            )))
                        }
                    }
                }
            }
        }
        if let Some(uid) = &s.uid {
            if uid.values.len() > osprey_bpf::consts::MAX_SCOPE_UIDS {
                return Err(ScopeError(format!(
                    "at most {} uids can be named",
                    osprey_bpf::consts::MAX_SCOPE_UIDS
                )));
            }
        }
        Ok(s)
    }

    /// True when some filter is applied in userspace (comm, executable, container).
    pub fn has_user_filters(&self) -> bool {
        self.comm.is_some() || self.executable.is_some() || self.container.is_some()
    }

    /// The userspace part of the decision for one process.
    pub fn user_allows(&self, comm: &str, executable: Option<&str>, in_container: bool) -> bool {
        if let Some(f) = &self.comm {
            if !f.allows(&comm.to_string()) {
                return false;
            }
        }
        if let Some(f) = &self.executable {
            let exe = executable.unwrap_or("").to_string();
            if !f.allows(&exe) {
                return false;
            }
        }
        if let Some(want) = self.container {
            if want != in_container {
                return false;
            }
        }
        true
    }
}

/// The userspace part of the scope decision, one instance shared (in an `Arc`) by the event
/// decoder on the main thread and the capture thread, so that an artifact is captured exactly
/// for the processes whose events are shown.
///
/// `follow` with userspace filters: a process forked by one the filters allow (or by a
/// followed one) is followed. The fork records come on the event ring, which the decoder reads;
/// the capture thread reads the capture rings. The kernel submits the fork record before the
/// child runs, so every record of the child is stamped (`hdr.ts`) after the fork record was in
/// the event ring: the capture thread, for a record the filters refuse, waits until the main
/// thread has finished a drain that began after that stamp ([`UserScope::events_drained`]), then
/// decides. Followed processes stay known after their exit (marked with its time) for the
/// capture thread, which may still hold their records, and are told apart from a later process
/// with the same PID by their start time.
#[derive(Debug)]
pub struct UserScope {
    scope: Scope,
    filters: bool,
    followed: Mutex<HashMap<u32, Followed>>,
    /// Boot-clock time at which the latest completed drain of the event ring began.
    drained_from: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
struct Followed {
    /// The process's start time (its leader's, boot clock), 0 when unknown.
    start: u64,
    /// When it exited (boot clock), 0 while it lives.
    exited: u64,
}

/// How long the capture thread waits for the decoder to catch up before it decides anyway.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(1);

/// Exited followed processes are forgotten this long after their exit (boot clock ns).
const FORGET_EXITED_AFTER: u64 = 30_000_000_000;

impl UserScope {
    /// The userspace scope of `scope`.
    pub fn new(scope: Scope) -> UserScope {
        UserScope {
            filters: scope.has_user_filters(),
            scope,
            followed: Mutex::new(HashMap::new()),
            drained_from: AtomicU64::new(0),
        }
    }

    /// The parsed scope.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// True when some of the decision is made here (comm, executable, container).
    pub fn filters(&self) -> bool {
        self.filters
    }

    /// True when `follow` is decided here (there are userspace filters to follow past).
    pub fn follows(&self) -> bool {
        self.scope.follow && self.filters
    }

    fn followed(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Followed>> {
        self.followed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks a process as followed (its descendants join it); `start` 0 when unknown.
    pub fn follow(&self, pid: u32, start: u64) {
        self.followed().insert(pid, Followed { start, exited: 0 });
    }

    /// A fork: the child is followed when `follow` is on and the parent is in scope.
    pub fn fork(&self, parent_allowed: bool, parent: u32, child: u32, child_start: u64) {
        if self.follows() && parent_allowed && child != 0 && child != parent {
            self.follow(child, child_start);
        }
    }

    /// A whole process exited at `ts` (boot clock).
    pub fn exit(&self, pid: u32, ts: u64) {
        if !self.follows() {
            return;
        }
        let mut f = self.followed();
        if let Some(e) = f.get_mut(&pid) {
            e.exited = ts.max(1);
        }
        if f.len() > 1024 {
            f.retain(|_, e| e.exited == 0 || e.exited.saturating_add(FORGET_EXITED_AFTER) > ts);
        }
    }

    /// Whether the process `pid` (started at `start`, 0 when unknown) was followed when it
    /// made a record at `ts`.
    fn is_followed(&self, pid: u32, start: u64, ts: u64) -> bool {
        match self.followed().get(&pid) {
            None => false,
            Some(e) if e.start != 0 && start != 0 => e.start == start,
            Some(e) => e.exited == 0 || ts <= e.exited,
        }
    }

    /// The decision for one process: `comm`, and its executable and whether it runs in a
    /// container, asked for only when a filter needs them.
    pub fn decide(
        &self,
        (pid, start, ts): (u32, u64, u64),
        comm: &str,
        executable: impl FnOnce() -> Option<std::sync::Arc<str>>,
        in_container: impl FnOnce() -> bool,
    ) -> bool {
        if !self.filters {
            return true;
        }
        if self.scope.follow && self.is_followed(pid, start, ts) {
            return true;
        }
        let exe = if self.scope.executable.is_some() {
            executable()
        } else {
            None
        };
        let container = self.scope.container.is_some() && in_container();
        self.scope.user_allows(comm, exe.as_deref(), container)
    }

    /// The decision for the process of a record, its executable and container from `procs`.
    pub fn allows(&self, hdr: &RecordHdr, procs: &mut ProcContext) -> bool {
        if !self.filters {
            return true;
        }
        let comm = c_chars(&hdr.comm);
        let procs = std::cell::RefCell::new(procs);
        self.decide(
            (hdr.pid, hdr.leader_start_time, hdr.ts),
            &comm,
            || {
                procs
                    .borrow_mut()
                    .executable(hdr.pid, hdr.leader_start_time)
            },
            || {
                procs
                    .borrow_mut()
                    .container_id(hdr.pid, hdr.cgroup_id)
                    .is_some()
            },
        )
    }

    /// The main thread has drained the event ring in a pass that began at `boot_ns`.
    pub fn events_drained(&self, boot_ns: u64) {
        self.drained_from.fetch_max(boot_ns, Ordering::SeqCst);
    }

    /// The event ring will not be read again: nothing more to wait for.
    pub fn events_done(&self) {
        self.drained_from.store(u64::MAX, Ordering::SeqCst);
    }

    /// For the capture thread: `decide` again, once the decoder has seen every fork that came
    /// before `ts`, when a record the filters refuse may be of a process being followed.
    pub fn wait_for_forks(&self, ts: u64, give_up: &dyn Fn() -> bool) -> bool {
        if !self.follows() || ts == 0 {
            return false;
        }
        let begin = Instant::now();
        while self.drained_from.load(Ordering::SeqCst) <= ts {
            if begin.elapsed() >= CATCH_UP_LIMIT || give_up() {
                return false;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Result<Scope, ScopeError> {
        Scope::parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_tracee_grammar() {
        let s = p(&[
            "comm=ls,cat",
            "pid!=1",
            "uid=0,1000",
            "container",
            "new",
            "follow",
        ])
        .unwrap();
        assert_eq!(
            s.comm,
            Some(Filter {
                keep: true,
                values: vec!["ls".into(), "cat".into()]
            })
        );
        assert_eq!(
            s.pid,
            Some(Filter {
                keep: false,
                values: vec![1]
            })
        );
        assert_eq!(s.uid.as_ref().unwrap().values, vec![0, 1000]);
        assert_eq!(s.container, Some(true));
        assert!(s.new && s.follow);
        assert_eq!(p(&["not-container"]).unwrap().container, Some(false));
        assert_eq!(p(&["!container"]).unwrap().container, Some(false));
        assert_eq!(
            p(&["executable=/usr/bin/curl"])
                .unwrap()
                .executable
                .unwrap()
                .values,
            vec!["/usr/bin/curl".to_string()]
        );
        assert!(!p(&["exec!=/bin/sh"]).unwrap().executable.unwrap().keep);
    }

    #[test]
    fn repeated_fields_merge_and_conflicts_fail() {
        let s = p(&["comm=a", "comm=b"]).unwrap();
        assert_eq!(
            s.comm.unwrap().values,
            vec!["a".to_string(), "b".to_string()]
        );
        assert!(p(&["pid=1", "pid!=2"]).is_err());
    }

    #[test]
    fn bad_expressions_say_why() {
        for bad in [
            "pid=abc",
            "uid=",
            "color=red",
            "justaword",
            "uid=1,2,3,4,5,6,7,8,9",
        ] {
            let err = p(&[bad]).unwrap_err();
            assert!(!err.0.is_empty(), "{bad}");
        }
    }

    #[test]
    fn comm_is_truncated_like_the_kernel() {
        let s = p(&["comm=a-very-long-process-name"]).unwrap();
        assert_eq!(s.comm.unwrap().values[0], "a-very-long-pro");
    }

    #[test]
    fn user_filters() {
        let s = p(&["comm!=sshd", "not-container"]).unwrap();
        assert!(s.user_allows("bash", None, false));
        assert!(!s.user_allows("sshd", None, false));
        assert!(!s.user_allows("bash", None, true));
        let s = p(&["executable=/bin/ls"]).unwrap();
        assert!(s.user_allows("ls", Some("/bin/ls"), false));
        assert!(!s.user_allows("ls", Some("/usr/bin/ls"), false));
        assert!(!s.user_allows("ls", None, false));
    }
    fn hdr(pid: u32, start: u64, ts: u64, comm: &str) -> RecordHdr {
        let mut h = RecordHdr {
            pid,
            leader_start_time: start,
            ts,
            ..RecordHdr::default()
        };
        for (i, b) in comm.bytes().enumerate() {
            h.comm[i] = b as i8;
        }
        h
    }

    #[test]
    fn user_scope_follows_forks_past_exits_and_tells_reused_pids_apart() {
        let us = UserScope::new(p(&["comm=sshd", "follow"]).unwrap());
        let mut procs = ProcContext::new("/nonexistent");
        assert!(us.follows() && us.filters());
        assert!(us.allows(&hdr(10, 5, 100, "sshd"), &mut procs));
        assert!(!us.allows(&hdr(11, 6, 100, "bash"), &mut procs));
        us.fork(true, 10, 11, 6);
        us.fork(false, 12, 13, 7);
        assert!(us.allows(&hdr(11, 6, 200, "bash"), &mut procs));
        assert!(!us.allows(&hdr(13, 7, 200, "bash"), &mut procs));
        // a record without the start time (a data chunk) of a living followed process
        assert!(us.allows(&hdr(11, 0, 300, "bash"), &mut procs));
        us.exit(11, 400);
        // still known for records made before the exit (the capture thread may be behind)
        assert!(us.allows(&hdr(11, 6, 350, "bash"), &mut procs));
        assert!(us.allows(&hdr(11, 0, 350, "bash"), &mut procs));
        // a new process with the same PID is not followed
        assert!(!us.allows(&hdr(11, 9, 500, "bash"), &mut procs));
        assert!(!us.allows(&hdr(11, 0, 500, "bash"), &mut procs));
    }

    #[test]
    fn user_scope_without_filters_allows_all_and_never_waits() {
        let us = UserScope::new(p(&["follow", "uid=0"]).unwrap());
        let mut procs = ProcContext::new("/nonexistent");
        assert!(!us.filters() && !us.follows());
        assert!(us.allows(&hdr(1, 1, 1, "x"), &mut procs));
        assert!(!us.wait_for_forks(1, &|| false));
    }

    #[test]
    fn the_capture_side_waits_for_the_decoders_drain() {
        let us = std::sync::Arc::new(UserScope::new(p(&["comm=a", "follow"]).unwrap()));
        us.events_drained(100);
        // a drain that began after the record: nothing to wait for
        assert!(us.wait_for_forks(99, &|| false));
        // not yet: gives up when told to
        assert!(!us.wait_for_forks(150, &|| true));
        let other = us.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            other.events_drained(200);
        });
        assert!(us.wait_for_forks(150, &|| false));
        t.join().unwrap();
        us.events_done();
        assert!(us.wait_for_forks(u64::MAX - 1, &|| false));
    }
}
