//! The process model behind the process trees and the per-process view.
//!
//! Processes are identified as Tracee identifies them: by `processEntityId` (a hash of the
//! host PID and the process's start time) when the event has one, else by host PID and start
//! time (the `threadStartTime` of the process's main thread). So a PID that the kernel reuses
//! is two processes, never one. A process's parent is, in order of trust: the process whose
//! `sched_process_fork` created it (when `child_pid == child_tid`, i.e. a process and not a
//! thread), the process of its `parentEntityId`, and the process its `hostParentProcessId`
//! named at the time. Parents are resolved at the end, so a process first seen mid-stream is
//! attached under its parent even when the parent shows up later. Every `sched_process_exec`
//! is kept, in order; so is every name the process's main thread had (`comm`, which exec and
//! `prctl(PR_SET_NAME)` change); and the exit code and time of `sched_process_exit` when the
//! whole process exits (`process_group_exit`).
//!
//! Only Tracee events build the model; packets and artifact records are attributed to the
//! processes it knows ([`ProcessModel::find`]).

use osprey_dissect::prefs::{pid_text, PidFormat};
use osprey_field::fields::tracee as t;
use osprey_field::FieldValue;
use serde::Serialize;

use std::sync::{Arc, OnceLock};

use crate::fields::Args;
use crate::record::Rec;
use osprey_field::hash::FastMap;

/// Index of a process in the model.
pub type ProcId = u32;

/// One `sched_process_exec`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exec {
    /// When, ns since the epoch.
    pub time: u64,
    /// The executed file.
    pub pathname: String,
    /// argv joined by spaces.
    pub command_line: String,
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Exit {
    /// When, ns since the epoch.
    pub time: u64,
    /// `exit_code` as Tracee reports it.
    pub code: Option<i64>,
    /// `signal_code`, when reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i64>,
}

/// Where a process's parent link came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ParentLink {
    /// The process whose fork created it.
    Fork(ProcId),
    /// `parentEntityId` / `hostParentProcessId` (and the namespace PPID) of its events.
    Named,
}

/// A process as the model knows it.
#[derive(Clone, Debug)]
pub struct Process {
    /// PID in the host namespace.
    pub host_pid: i64,
    /// PID in its own namespace (0 when unknown).
    pub pid: i64,
    /// Start time (ns since the epoch, or boot-relative in old Tracee), when known.
    pub start: Option<u64>,
    /// Tracee's `processEntityId`.
    pub entity: Option<u64>,
    link: ParentLink,
    parent_entity: Option<u64>,
    host_ppid: i64,
    ppid: i64,
    /// Names of the main thread, in order, with the time each was first seen.
    pub names: Vec<(u64, String)>,
    /// Every exec, in order.
    pub execs: Vec<Exec>,
    /// `executable.path` of its events (when no exec was seen).
    pub executable: Option<String>,
    /// How it ended.
    pub exit: Option<Exit>,
    /// Container ID, and its label as the container preferences show it.
    pub container: Option<(String, String)>,
    /// First and last event.
    pub first_seen: u64,
    /// See `first_seen`.
    pub last_seen: u64,
    from_fork: bool,
    own_seen: bool,
    /// Fingerprints of the last name, the executable and the container ID, so that an event
    /// that repeats them (nearly all do) is checked without reading the strings.
    name_fp: u64,
    exe_fp: u64,
    container_fp: u64,
}

impl Process {
    /// The container ID, empty on the host.
    pub fn container_id(&self) -> &str {
        self.container.as_ref().map_or("", |c| c.0.as_str())
    }
}

/// A process's parent, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parent {
    /// A process of the model.
    Known(ProcId),
    /// A process no event came from: only its PIDs are known.
    Unseen {
        /// Host PID.
        host_pid: i64,
        /// Namespace PID (0 when unknown).
        pid: i64,
    },
    /// None (PID 0, or nothing said).
    None,
}

/// The details of a process as views show them (JSON).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProcessInfo {
    /// Host PID.
    pub host_pid: i64,
    /// Namespace PID.
    pub pid: i64,
    /// `processEntityId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<u64>,
    /// Start time, ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<u64>,
    /// Names, in order.
    pub names: Vec<String>,
    /// Execs, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub execs: Vec<Exec>,
    /// Executable when no exec was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    /// Exit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<Exit>,
    /// Container ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// False for a parent that no event came from.
    pub seen: bool,
}

impl ProcessInfo {
    /// A parent no event came from: its PIDs alone.
    pub fn unseen(host_pid: i64, pid: i64) -> ProcessInfo {
        ProcessInfo {
            host_pid,
            pid,
            entity_id: None,
            start_time: None,
            names: Vec::new(),
            execs: Vec::new(),
            executable: None,
            exit: None,
            container: None,
            seen: false,
        }
    }
}

/// Every process of a run.
#[derive(Debug)]
pub struct ProcessModel {
    procs: Vec<Process>,
    by_entity: FastMap<u64, ProcId>,
    by_pid: FastMap<i64, Vec<ProcId>>,
    args: Args,
    /// Hashes names into [`Process`] fingerprints.
    hash: osprey_field::hash::FastHash,
    /// Labels already made, in one PID format (a preference: one for the run), by process.
    /// Labels and details are made once the events are all in, once each, and shared by every
    /// tree that shows the process (trees may be finished on several threads at once).
    labels: OnceLock<(PidFormat, Made<Box<str>>)>,
    /// Details already made, by process.
    infos: OnceLock<Made<Arc<ProcessInfo>>>,
}

/// One of a thing per process, each made when first asked for.
type Made<T> = Vec<OnceLock<T>>;

/// The time value of a field (absolute times, or plain integers as fork's `start_time`).
fn time(rec: &Rec<'_>, field: osprey_field::FieldId) -> Option<u64> {
    match rec.first(field)? {
        FieldValue::AbsTime(t) => Some(t),
        FieldValue::UInt(u) => Some(u),
        FieldValue::Int(i) => u64::try_from(i).ok(),
        _ => None,
    }
}

impl ProcessModel {
    pub(crate) fn new(args: Args) -> ProcessModel {
        ProcessModel {
            procs: Vec::new(),
            by_entity: FastMap::default(),
            by_pid: FastMap::default(),
            args,
            hash: Default::default(),
            labels: OnceLock::new(),
            infos: OnceLock::new(),
        }
    }

    /// The fields the model reads.
    pub(crate) fn fields(args: &Args) -> Vec<osprey_field::FieldId> {
        vec![
            t::TRACEE,
            t::EVENT_NAME,
            t::PROCESS_ENTITY_ID,
            t::PARENT_ENTITY_ID,
            t::HOST_PROCESS_ID,
            t::HOST_THREAD_ID,
            t::HOST_PARENT_PROCESS_ID,
            t::PROCESS_ID,
            t::PARENT_PROCESS_ID,
            t::THREAD_START_TIME,
            t::PROCESS_NAME,
            t::EXECUTABLE_PATH,
            t::CONTAINER_ID,
            t::CONTAINER_COL,
            t::COMMAND_LINE,
            args.fork_child_pid,
            args.fork_child_tid,
            args.fork_child_ns_pid,
            args.fork_start_time,
            args.exec_pathname,
            args.exec_cmdpath,
            args.exit_code,
            args.exit_signal,
            args.exit_group,
        ]
    }

    /// The processes, by [`ProcId`].
    pub fn processes(&self) -> &[Process] {
        &self.procs
    }

    /// Process `id`.
    pub fn get(&self, id: ProcId) -> &Process {
        &self.procs[id as usize]
    }

    /// Takes in one event; returns the process it came from (`None` for a frame that is not an
    /// event, or an event without a process, host PID 0).
    pub fn observe(&mut self, rec: &Rec<'_>) -> Option<ProcId> {
        if !rec.is_event() {
            return None;
        }
        let host_pid = rec.int(t::HOST_PROCESS_ID).filter(|p| *p != 0)?;
        let ts = rec.meta.ts;
        let host_tid = rec.int(t::HOST_THREAD_ID).unwrap_or(host_pid);
        let main = host_tid == host_pid;
        let id = self.resolve(rec, host_pid, main, ts);
        let comm = rec.str(t::PROCESS_NAME).unwrap_or("");
        let fp = |s: &str| std::hash::BuildHasher::hash_one(&self.hash, s) | 1;
        let comm_fp = fp(comm);
        let exe = rec.str(t::EXECUTABLE_PATH).filter(|e| !e.is_empty());
        let exe_fp = exe.map_or(0, fp);
        let cid = rec.str(t::CONTAINER_ID).filter(|c| !c.is_empty());
        let cid_fp = cid.map_or(0, fp);
        let p = &mut self.procs[id as usize];
        p.own_seen = true;
        p.first_seen = p.first_seen.min(ts);
        p.last_seen = p.last_seen.max(ts);
        if !comm.is_empty() && (p.names.is_empty() || (main && p.name_fp != comm_fp)) {
            p.names.push((ts, comm.to_string()));
            p.name_fp = comm_fp;
        }
        if let Some(exe) = exe.filter(|_| p.exe_fp != exe_fp) {
            p.executable = Some(exe.to_string());
            p.exe_fp = exe_fp;
        }
        if let Some(cid) = cid.filter(|_| p.container_fp != cid_fp) {
            let label = rec
                .str(t::CONTAINER_COL)
                .filter(|l| !l.is_empty())
                .map_or_else(|| cid.chars().take(12).collect(), str::to_string);
            p.container = Some((cid.to_string(), label));
            p.container_fp = cid_fp;
        }
        if p.pid == 0 {
            p.pid = rec.int(t::PROCESS_ID).unwrap_or(0);
        }
        if p.parent_entity.is_none() {
            p.parent_entity = rec.uint(t::PARENT_ENTITY_ID).filter(|e| *e != 0);
        }
        if p.host_ppid == 0 {
            p.host_ppid = rec.int(t::HOST_PARENT_PROCESS_ID).unwrap_or(0);
            p.ppid = rec.int(t::PARENT_PROCESS_ID).unwrap_or(0);
        }
        match rec.event_name().unwrap_or("") {
            "sched_process_fork" => self.fork(rec, id, ts),
            "sched_process_exec" => {
                let a = self.args;
                let pathname = rec
                    .str(a.exec_pathname)
                    .filter(|s| !s.is_empty())
                    .or_else(|| rec.str(a.exec_cmdpath))
                    .unwrap_or("");
                let command_line = rec.str(t::COMMAND_LINE).unwrap_or("");
                self.procs[id as usize].execs.push(Exec {
                    time: ts,
                    pathname: pathname.to_string(),
                    command_line: command_line.to_string(),
                });
            }
            "sched_process_exit" => {
                let a = self.args;
                let group = rec.bool(a.exit_group).unwrap_or(main);
                if group {
                    self.procs[id as usize].exit = Some(Exit {
                        time: ts,
                        code: rec.int(a.exit_code),
                        signal: rec.int(a.exit_signal),
                    });
                }
            }
            _ => {}
        }
        Some(id)
    }

    /// The process an event comes from, created if new.
    fn resolve(&mut self, rec: &Rec<'_>, host_pid: i64, main: bool, ts: u64) -> ProcId {
        let entity = rec.uint(t::PROCESS_ENTITY_ID).filter(|e| *e != 0);
        if let Some(e) = entity {
            if let Some(&id) = self.by_entity.get(&e) {
                return id;
            }
        }
        let thread_start = time(rec, t::THREAD_START_TIME).filter(|t| *t != 0);
        let found = self.candidate(host_pid, main, thread_start, entity);
        let id = match found {
            Some(id) => {
                let p = &mut self.procs[id as usize];
                if main && p.start != thread_start && thread_start.is_some() {
                    // A process first seen from another thread (start unknown), or created by
                    // a fork whose start time is on another clock.
                    p.start = thread_start;
                }
                if p.entity.is_none() {
                    p.entity = entity;
                }
                id
            }
            None => self.create(Process {
                host_pid,
                pid: rec.int(t::PROCESS_ID).unwrap_or(0),
                start: if main { thread_start } else { None },
                entity,
                link: ParentLink::Named,
                parent_entity: None,
                host_ppid: 0,
                ppid: 0,
                names: Vec::new(),
                execs: Vec::new(),
                executable: None,
                exit: None,
                container: None,
                first_seen: ts,
                last_seen: ts,
                from_fork: false,
                own_seen: true,
                name_fp: 0,
                exe_fp: 0,
                container_fp: 0,
            }),
        };
        if let Some(e) = entity {
            self.by_entity.insert(e, id);
        }
        id
    }

    /// An existing process a new (entity, thread) belongs to.
    fn candidate(
        &self,
        host_pid: i64,
        main: bool,
        thread_start: Option<u64>,
        entity: Option<u64>,
    ) -> Option<ProcId> {
        let cands = self.by_pid.get(&host_pid)?;
        let compatible = |p: &Process| p.entity.is_none() || p.entity == entity || entity.is_none();
        if main {
            if let Some(start) = thread_start {
                if let Some(&id) = cands.iter().rev().find(|&&id| {
                    let p = &self.procs[id as usize];
                    p.start == Some(start) && compatible(p)
                }) {
                    return Some(id);
                }
                // Adopt a process whose start was not known: first seen from another thread,
                // or made by a fork that nothing of its own has confirmed yet.
                return cands.iter().rev().copied().find(|&id| {
                    let p = &self.procs[id as usize];
                    compatible(p)
                        && p.entity.is_none()
                        && (p.start.is_none() || (p.from_fork && !p.own_seen))
                        && p.start.is_none_or(|s| s <= start || p.from_fork)
                });
            }
        }
        // Another thread (or no start time): the latest process of this PID that started no
        // later than the thread.
        cands.iter().rev().copied().find(|&id| {
            let p = &self.procs[id as usize];
            compatible(p)
                && match (p.start, thread_start) {
                    (Some(s), Some(t)) => s <= t,
                    _ => true,
                }
        })
    }

    fn create(&mut self, p: Process) -> ProcId {
        let id = self.procs.len() as ProcId;
        self.by_pid.entry(p.host_pid).or_default().push(id);
        self.procs.push(p);
        id
    }

    /// `sched_process_fork` from process `parent`: a new process when `child_pid == child_tid`.
    fn fork(&mut self, rec: &Rec<'_>, parent: ProcId, ts: u64) {
        let a = self.args;
        let (Some(child_pid), Some(child_tid)) =
            (rec.int(a.fork_child_pid), rec.int(a.fork_child_tid))
        else {
            return;
        };
        if child_pid != child_tid || child_pid == 0 {
            return;
        }
        let start = time(rec, a.fork_start_time).filter(|s| *s != 0);
        // The child's own events may have come first (events of different CPUs interleave),
        // and a (PID, start time) is one process however often its fork is reported.
        let existing = self.by_pid.get(&child_pid).and_then(|cands| {
            cands.iter().rev().copied().find(|&id| {
                let p = &self.procs[id as usize];
                (start.is_some() && p.start == start) || (p.start.is_none() && !p.from_fork)
            })
        });
        let (names, container, name_fp, container_fp) = {
            let p = &self.procs[parent as usize];
            (
                p.names.last().cloned().map(|(_, n)| vec![(ts, n)]),
                p.container.clone(),
                p.name_fp,
                p.container_fp,
            )
        };
        match existing {
            Some(id) => {
                let p = &mut self.procs[id as usize];
                if id != parent {
                    p.link = ParentLink::Fork(parent);
                }
                p.from_fork = true;
                if p.start.is_none() {
                    p.start = start;
                }
            }
            None => {
                self.create(Process {
                    host_pid: child_pid,
                    pid: rec.int(a.fork_child_ns_pid).unwrap_or(0),
                    start,
                    entity: None,
                    link: ParentLink::Fork(parent),
                    parent_entity: None,
                    host_ppid: 0,
                    ppid: 0,
                    names: names.unwrap_or_default(),
                    execs: Vec::new(),
                    executable: None,
                    exit: None,
                    container,
                    first_seen: ts,
                    last_seen: ts,
                    from_fork: true,
                    own_seen: false,
                    name_fp,
                    exe_fp: 0,
                    container_fp,
                });
            }
        }
    }

    /// The parent of process `id`.
    pub fn parent(&self, id: ProcId) -> Parent {
        let p = &self.procs[id as usize];
        if let ParentLink::Fork(parent) = p.link {
            return Parent::Known(parent);
        }
        if let Some(e) = p.parent_entity {
            if let Some(&parent) = self.by_entity.get(&e) {
                if parent != id {
                    return Parent::Known(parent);
                }
            }
        }
        if p.host_ppid == 0 {
            return Parent::None;
        }
        // The process of that PID that was there when this one started: the latest to have
        // started before it (it may be seen only later in the recording).
        let started_before = |c: &Process| match (c.start, p.start) {
            (Some(cs), Some(ps)) => cs <= ps,
            _ => c.first_seen <= p.last_seen,
        };
        let found = self.by_pid.get(&p.host_ppid).and_then(|cands| {
            cands
                .iter()
                .copied()
                .filter(|&c| c != id && started_before(&self.procs[c as usize]))
                .max_by_key(|&c| {
                    let cp = &self.procs[c as usize];
                    (cp.start.unwrap_or(0), cp.first_seen)
                })
        });
        match found {
            Some(parent) => Parent::Known(parent),
            None => Parent::Unseen {
                host_pid: p.host_ppid,
                pid: p.ppid,
            },
        }
    }

    /// The processes a frame that is not an event (a packet of a per-process capture, an
    /// artifact record) belongs to: by host PID, at the frame's time.
    pub fn find(&self, host_pid: i64, thread_start: Option<u64>, ts: u64) -> Option<ProcId> {
        let cands = self.by_pid.get(&host_pid)?;
        if let Some(start) = thread_start {
            if let Some(&id) = cands
                .iter()
                .rev()
                .find(|&&id| self.procs[id as usize].start == Some(start))
            {
                return Some(id);
            }
        }
        // The latest process of that PID that was there at `ts`.
        cands
            .iter()
            .rev()
            .copied()
            .find(|&id| {
                let p = &self.procs[id as usize];
                p.start.map_or(p.first_seen, |s| s.min(p.first_seen)) <= ts
            })
            .or_else(|| cands.first().copied())
    }

    /// The label of a process in a process tree: `<pid> (<names>): <images>`, where the PID
    /// follows the PID format preference, the names are every name the process had (`bash ->
    /// python3`), and the images every exec (`<exe>: <command line>`, or the command line alone
    /// when it starts with the executable) joined by ` -> `. Beyond [`LABEL_ITEMS`] names or
    /// images, the first and the last are shown around `... (N more)`: a label sets the width
    /// of a tree's name column (the process's details keep them all). Labels are made once
    /// the events are all in (the model is reachable only then) and kept for the next tree.
    pub fn label(&self, id: ProcId, format: PidFormat) -> String {
        let (made_in, labels) = self.labels.get_or_init(|| (format, self.made()));
        match labels.get(id as usize).filter(|_| *made_in == format) {
            // (`String::from`, not `to_string`, which goes through the formatting machinery.)
            Some(label) => {
                String::from(&**label.get_or_init(|| self.make_label(id, format).into()))
            }
            None => self.make_label(id, format),
        }
    }

    /// Room for one of a thing per process of the model as it is (the events all in).
    fn made<T>(&self) -> Made<T> {
        (0..self.procs.len()).map(|_| OnceLock::new()).collect()
    }

    fn make_label(&self, id: ProcId, format: PidFormat) -> String {
        let p = &self.procs[id as usize];
        let mut label = pid_text(format, p.pid, p.host_pid);
        if !p.names.is_empty() {
            label.push_str(" (");
            join_capped(
                &mut label,
                p.names.iter().map(|(_, n)| n.as_str()),
                p.names.len(),
            );
            label.push(')');
        }
        let image = |exe: &str, cmd: &str| -> String {
            match (exe.is_empty() || cmd.starts_with(exe), cmd.is_empty()) {
                (true, _) => cmd.to_string(),
                (false, true) => exe.to_string(),
                (false, false) => format!("{exe}: {cmd}"),
            }
        };
        if p.execs.is_empty() {
            if let Some(exe) = &p.executable {
                label.push_str(": ");
                label.push_str(exe);
            }
        } else {
            label.push_str(": ");
            let images = p.execs.iter().map(|e| image(&e.pathname, &e.command_line));
            join_capped(&mut label, images, p.execs.len());
        }
        label
    }

    /// The label of a parent no event came from: its PID alone.
    pub fn unseen_label(host_pid: i64, pid: i64, format: PidFormat) -> String {
        pid_text(format, pid, host_pid)
    }

    /// The details of process `id`, made once and shared (every process tree of a run shows
    /// the same processes). Like labels, they are made once the events are all in.
    pub fn shared_info(&self, id: ProcId) -> Arc<ProcessInfo> {
        match self.infos.get_or_init(|| self.made()).get(id as usize) {
            Some(info) => info.get_or_init(|| Arc::new(self.info(id))).clone(),
            None => Arc::new(self.info(id)),
        }
    }

    /// The details of process `id`.
    pub fn info(&self, id: ProcId) -> ProcessInfo {
        let p = &self.procs[id as usize];
        ProcessInfo {
            host_pid: p.host_pid,
            pid: p.pid,
            entity_id: p.entity,
            start_time: p.start,
            names: p.names.iter().map(|(_, n)| n.clone()).collect(),
            execs: p.execs.clone(),
            executable: p.executable.clone(),
            exit: p.exit,
            container: p.container.as_ref().map(|(id, _)| id.clone()),
            seen: p.own_seen,
        }
    }
}

/// Names or images a process-tree label shows in full; beyond, the first and last ones.
pub const LABEL_ITEMS: usize = 8;

/// Joins `items` (`len` of them) with ` -> `, eliding the middle of more than [`LABEL_ITEMS`].
fn join_capped<S: AsRef<str>>(out: &mut String, items: impl Iterator<Item = S>, len: usize) {
    let (head, tail) = if len > LABEL_ITEMS {
        (LABEL_ITEMS / 2, LABEL_ITEMS / 2)
    } else {
        (len, 0)
    };
    for (i, item) in items.enumerate() {
        if i < head || i >= len - tail {
            if i > 0 {
                out.push_str(" -> ");
            }
            out.push_str(item.as_ref());
        } else if i == head {
            out.push_str(&format!(" -> ... ({} more)", len - head - tail));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_label_lists_keep_their_ends() {
        let items: Vec<String> = (0..10).map(|i| format!("a{i}")).collect();
        let mut s = String::new();
        join_capped(&mut s, items.iter(), items.len());
        assert_eq!(
            s,
            "a0 -> a1 -> a2 -> a3 -> ... (2 more) -> a6 -> a7 -> a8 -> a9"
        );
        let mut s = String::new();
        join_capped(&mut s, items[..8].iter(), 8);
        assert_eq!(s.matches(" -> ").count(), 7);
    }
}
