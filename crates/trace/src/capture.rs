//! The capture driver of `osprey trace --capture`: a thread that drains the kernel's capture
//! rings (`capture_rb` for data, `cap_ctl_rb` for held tasks and loss reports), completes each
//! record's process context from `/proc` (with the decoder's [`ProcContext`]), releases held
//! tasks, and hands everything to [`osprey_capture::Capturer`], which owns the files. Events
//! keep flowing on the main thread. Records of processes out of the `--scope` (its userspace
//! part, the decoder's [`UserScope`]) make no artifact (docs/capture.md).
//!
//! Held tasks: the kernel stops (SIGSTOP) the first exec of each binary and every
//! `finit_module` caller before they run another instruction. This thread opens
//! `/proc/<pid>/exe` (or `/proc/<pid>/fd/<fd>`) — which reaches deleted files and memfds too —
//! and sends SIGCONT at once; the copy is made from the open descriptor afterwards.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use osprey_bpf::consts::*;
use osprey_bpf::record::{c_chars, Record};
use osprey_bpf::{CapChunk, CaptureMaps, CaptureStats, ExecForget, RecordHdr};
use osprey_capture::{
    reason, BlobKind, BlobMeta, CaptureSummary, Capturer, ExecInfo, FileId, ModuleFileInfo, Packet,
    ProcessInfo, WriteMeta,
};

use crate::catalog::syscall_name;
use crate::proc_context::ProcContext;
use crate::scope::UserScope;

/// What the capture thread reports when it ends.
#[derive(Debug, Default)]
pub struct CaptureOutcome {
    /// Totals of the capturer.
    pub summary: CaptureSummary,
    /// Kernel-side counters.
    pub kernel: CaptureStats,
    /// Records that could not be decoded.
    pub bad_records: u64,
    /// Tasks stopped and released.
    pub released: u64,
    /// Artifacts (and data chunks) of processes out of the `--scope`, not captured.
    pub out_of_scope: u64,
    /// Part of the scope was decided here: the kernel's counters include processes out of it.
    pub user_scope: bool,
    /// A fatal error of the thread (the ring could not be read).
    pub error: Option<String>,
}

/// The running capture thread.
pub struct CaptureThread {
    stop: Arc<AtomicBool>,
    /// The capturer's totals, refreshed about twice a second (for `--metrics`).
    live: Arc<std::sync::Mutex<osprey_capture::CaptureSummary>>,
    handle: JoinHandle<CaptureOutcome>,
}

impl CaptureThread {
    /// Starts draining `maps` into `capturer` every `drain`, for the processes `scope` allows
    /// (the decoder's userspace scope, shared).
    pub fn start(
        maps: CaptureMaps,
        capturer: Capturer,
        drain: Duration,
        scope: Arc<UserScope>,
    ) -> io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let live = Arc::new(std::sync::Mutex::new(capturer.totals().clone()));
        let (flag, totals) = (stop.clone(), live.clone());
        let handle = std::thread::Builder::new()
            .name("osprey-capture".into())
            .spawn(move || run(maps, capturer, drain, flag, &totals, scope))?;
        Ok(CaptureThread { stop, live, handle })
    }

    /// The capturer's totals as of the last half second.
    pub fn totals(&self) -> osprey_capture::CaptureSummary {
        self.live.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Drains what is left, completes every artifact and returns the totals.
    pub fn finish(self) -> CaptureOutcome {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().unwrap_or_else(|_| CaptureOutcome {
            error: Some("the capture thread panicked".into()),
            ..CaptureOutcome::default()
        })
    }
}

fn run(
    maps: CaptureMaps,
    capturer: Capturer,
    drain: Duration,
    stop: Arc<AtomicBool>,
    live: &std::sync::Mutex<osprey_capture::CaptureSummary>,
    scope: Arc<UserScope>,
) -> CaptureOutcome {
    let mut driver = Driver::new(capturer, ProcContext::default(), scope);
    match maps.exec_forget() {
        Ok(f) => driver.exec_done = Some(f),
        Err(e) => {
            return CaptureOutcome {
                error: Some(format!("{e}")),
                ..CaptureOutcome::default()
            };
        }
    }
    let driver = Rc::new(RefCell::new(driver));
    let (d1, d2) = (driver.clone(), driver.clone());
    let res = maps.ring_buffer(
        move |d: &[u8]| {
            d1.borrow_mut().record(d);
            0
        },
        move |d: &[u8]| {
            d2.borrow_mut().record(d);
            0
        },
    );
    let rb = match res {
        Ok(rb) => rb,
        Err(e) => {
            return CaptureOutcome {
                error: Some(format!("{e}")),
                ..CaptureOutcome::default()
            };
        }
    };
    let mut paused = false;
    let mut published = std::time::Instant::now();
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        let _ = rb.poll_and_drain(drain);
        let mut d = driver.borrow_mut();
        d.read_back_due(stopping);
        d.cap.flush();
        if published.elapsed() >= Duration::from_millis(500) {
            published = std::time::Instant::now();
            *live.lock().unwrap_or_else(|e| e.into_inner()) = d.cap.totals().clone();
        }
        for m in d.cap.take_messages() {
            let _ = writeln!(io::stderr(), "osprey: capture: {m}");
        }
        if !paused && d.cap.budget().exhausted {
            paused = true;
            if let Err(e) = maps.pause() {
                let _ = writeln!(io::stderr(), "osprey: capture: {e}");
            }
        }
        drop(d);
        if stopping {
            break;
        }
    }
    let _ = rb.drain();
    drop(rb);
    driver.borrow_mut().read_back_due(true);
    let kernel = maps.stats();
    let Ok(d) = Rc::try_unwrap(driver).map(RefCell::into_inner) else {
        return CaptureOutcome {
            error: Some("the capture ring buffer was not released".into()),
            kernel,
            ..CaptureOutcome::default()
        };
    };
    // spans lost without a report: only those of artifacts in scope (an artifact of a
    // process out of scope must not appear because some of its bytes were lost)
    let agg: Vec<(u16, [u64; 3], u64, u64)> = maps
        .aggregated_losses()
        .into_iter()
        .filter(|l| !d.scope.filters() || d.kept.contains(&(l.what, l.id)))
        .map(|l| (l.what, l.id, l.start, l.end))
        .collect();
    let (bad, released, out_of_scope) = (d.bad_records, d.released, d.out_of_scope);
    let user_scope = d.scope.filters();
    let mut cap = d.cap;
    for m in cap.take_messages() {
        let _ = writeln!(io::stderr(), "osprey: capture: {m}");
    }
    let summary = cap.finish(&agg);
    CaptureOutcome {
        summary,
        kernel,
        bad_records: bad,
        released,
        out_of_scope,
        user_scope,
        error: None,
    }
}

struct Driver {
    cap: Capturer,
    boot_to_epoch: i128,
    procs: ProcContext,
    owners: HashMap<(u32, u32), ProcessInfo>,
    /// The userspace scope, shared with the decoder.
    scope: Arc<UserScope>,
    /// After a wait for the decoder timed out, no other wait before this instant.
    no_wait_until: Option<Instant>,
    bad_records: u64,
    released: u64,
    out_of_scope: u64,
    /// The kernel's captured-binaries map, where a binary is forgotten so that its next exec
    /// is held again; `None` in unit tests, which see [`Driver::forgotten`] instead.
    exec_done: Option<ExecForget>,
    /// Binaries forgotten without a kernel (unit tests).
    forgotten: Vec<(u64, u64, u64)>,
    /// Under userspace scope filters, the artifacts let through (kind, id as in `CapChunk`).
    kept: HashSet<(u16, [u64; 3])>,
    /// Binaries whose held exec was out of scope (and forgotten by the kernel), not captured
    /// since.
    skipped_execs: HashSet<(u64, u64, u64)>,
    /// Ranges io_uring was about to write when they were sent (CF_LATER), read back once
    /// [`READ_BACK_AFTER`] has passed (or at the end).
    later: VecDeque<LaterRead>,
}

/// How long after it was announced an io_uring write is read back from its file: the write
/// happens right after rw_verify_area, in the same request (a write that blocks longer is read
/// as it stands then, and again if io_uring announces it again on its retry).
const READ_BACK_AFTER: Duration = Duration::from_millis(200);

struct LaterRead {
    due: Instant,
    id: FileId,
    ts: u64,
    range: (u64, u64),
    writer: (u32, i32),
    unknown: WriteMeta,
}

fn lost_reason(why: u32) -> &'static str {
    match why {
        LOST_RING_FULL => reason::RING_FULL,
        LOST_UNREADABLE => reason::UNREADABLE,
        LOST_TOO_BIG => reason::TOO_BIG,
        LOST_KERNEL_COPY => reason::KERNEL_COPY,
        LOST_PREEMPTED => reason::PREEMPTED,
        _ => reason::MISSING,
    }
}

/// Whether `m` is the file an exec ran (its device and inode).
fn same_file(m: &std::fs::Metadata, info: &ExecInfo) -> bool {
    use std::os::unix::fs::MetadataExt;
    m.ino() == info.ino && kernel_dev(m.dev()) == info.dev
}

/// The kernel's dev_t encoding (major << 20 | minor) of a userspace `st_dev`.
pub fn kernel_dev(st_dev: u64) -> u64 {
    let major = (st_dev >> 8) & 0xfff;
    let minor = (st_dev & 0xff) | ((st_dev >> 12) & 0xfff00);
    (major << 20) | minor
}

fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_int, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Lets a held task go on. With a pidfd the signal cannot reach a recycled PID.
fn release(pid: u32, pidfd: Option<&OwnedFd>) {
    match pidfd {
        Some(fd) => {
            // SAFETY: pidfd_send_signal with a valid pidfd, a signal number, no siginfo.
            unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    libc::SIGCONT,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                )
            };
        }
        None => {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGCONT) };
        }
    }
}

impl Driver {
    fn new(cap: Capturer, procs: ProcContext, scope: Arc<UserScope>) -> Driver {
        Driver {
            cap,
            boot_to_epoch: osprey_bpf::boot_to_epoch_ns(),
            procs,
            owners: HashMap::new(),
            scope,
            no_wait_until: None,
            bad_records: 0,
            released: 0,
            out_of_scope: 0,
            exec_done: None,
            forgotten: Vec::new(),
            skipped_execs: HashSet::new(),
            kept: HashSet::new(),
            later: VecDeque::new(),
        }
    }

    /// Reads back the io_uring writes that are due (all of them at the end).
    fn read_back_due(&mut self, all: bool) {
        let now = Instant::now();
        while self.later.front().is_some_and(|r| all || r.due <= now) {
            let r = self.later.pop_front().expect("checked");
            self.read_back(r.id, r.ts, r.range, r.writer, r.unknown);
        }
    }

    fn epoch(&self, boot: u64) -> u64 {
        if boot == 0 {
            return 0;
        }
        (boot as i128 + self.boot_to_epoch).max(0) as u64
    }

    /// The context of a meta record (its header has everything but the executable and
    /// container, which come from the ProcContext).
    fn proc_from_hdr(&mut self, h: &RecordHdr) -> ProcessInfo {
        ProcessInfo {
            host_pid: h.pid,
            host_tid: h.tid,
            pid: h.ns_pid,
            tid: h.ns_tid,
            ppid: h.ns_ppid,
            host_ppid: h.ppid,
            uid: h.uid,
            comm: c_chars(&h.comm),
            executable: self
                .procs
                .executable(h.pid, h.leader_start_time)
                .as_deref()
                .unwrap_or_default()
                .to_string(),
            thread_start_time: self.epoch(h.start_time),
            cgroup_id: h.cgroup_id,
            mnt_ns: h.mnt_ns as u64,
            pid_ns: h.pid_ns as u64,
            container_id: self
                .procs
                .container_id(h.pid, h.cgroup_id)
                .as_deref()
                .unwrap_or_default()
                .to_string(),
            host_name: c_chars(&h.uts_name),
        }
    }

    /// The context of a data record: from its header when the socket hooks read the owner's
    /// whole context (`HDR_OWNER_CONTEXT`), otherwise pid, tid, uid, comm and cgroup completed
    /// from /proc and cached per thread (packets come many per socket).
    fn proc_light(&mut self, h: &RecordHdr) -> ProcessInfo {
        if h.flags & HDR_OWNER_CONTEXT != 0 {
            return self.proc_from_hdr(h);
        }
        let comm = c_chars(&h.comm);
        if let Some(p) = self.owners.get(&(h.pid, h.tid)) {
            if p.comm == comm {
                return p.clone();
            }
        }
        let mut full = *h;
        full.ns_pid = h.pid;
        full.ns_tid = h.tid;
        self.procs.complete(&mut full);
        let p = self.proc_from_hdr(&full);
        if self.owners.len() > 16384 {
            self.owners.clear();
        }
        self.owners.insert((h.pid, h.tid), p.clone());
        p
    }

    /// Whether the process of a capture record is in the `--scope`: the decoder's decision
    /// (the same [`UserScope`]). Counts what it refuses.
    fn in_scope(&mut self, h: &RecordHdr) -> bool {
        if self.scope.allows(h, &mut self.procs)
            || (self.caught_up(h.ts) && self.scope.allows(h, &mut self.procs))
        {
            return true;
        }
        self.out_of_scope += 1;
        false
    }

    /// Notes an artifact let through, for the loss spans read at the end.
    fn keep(&mut self, what: u16, id: [u64; 3]) {
        if self.scope.filters() && self.kept.len() < 1 << 20 {
            self.kept.insert((what, id));
        }
    }

    /// [`Driver::in_scope`] for a data record, whose context is `p` (completed from /proc).
    fn proc_in_scope(&mut self, p: &ProcessInfo, h: &RecordHdr) -> bool {
        let decide = |scope: &UserScope| {
            scope.decide(
                (p.host_pid, h.leader_start_time, h.ts),
                &p.comm,
                || (!p.executable.is_empty()).then(|| Arc::from(p.executable.as_str())),
                || !p.container_id.is_empty(),
            )
        };
        if decide(&self.scope) || (self.caught_up(h.ts) && decide(&self.scope)) {
            return true;
        }
        self.out_of_scope += 1;
        false
    }

    /// Under `follow` with userspace filters, waits until the decoder has read every fork
    /// record submitted before `ts` (the record may be a followed child's). True when it has.
    /// Forgets a binary in the kernel at once, so that its next exec is held again.
    fn forget(&mut self, key: (u64, u64, u64)) {
        match &self.exec_done {
            Some(map) => map.forget(key.0, key.1, key.2),
            None => self.forgotten.push(key),
        }
    }

    /// The binary of an exec the kernel did not hold: `/proc/PID/exe` while the task runs,
    /// else the absolute path it was run from if that is still the same regular file (the
    /// caller checks the open file again). Non-blocking, so that a FIFO swapped in cannot hang
    /// the capture.
    fn open_unheld_binary(&self, pid: u32, info: &ExecInfo) -> io::Result<File> {
        use std::os::unix::fs::OpenOptionsExt;
        File::open(format!("{}/{pid}/exe", self.procs.root())).or_else(|gone| {
            let path = std::path::Path::new(&info.path);
            let m = std::fs::metadata(path).map_err(|_| gone)?;
            if !path.is_absolute() || !m.is_file() || !same_file(&m, info) {
                return Err(io::Error::other(
                    "the task is gone and its path is no longer the executed binary",
                ));
            }
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
                .open(path)
        })
    }

    fn caught_up(&mut self, ts: u64) -> bool {
        if !self.scope.follows() || self.no_wait_until.is_some_and(|t| Instant::now() < t) {
            return false;
        }
        if self.scope.wait_for_forks(ts, &|| false) {
            return true;
        }
        // the main thread is behind (a slow output): do not wait record by record
        self.no_wait_until = Some(Instant::now() + Duration::from_secs(1));
        false
    }

    fn record(&mut self, d: &[u8]) {
        let hl = std::mem::size_of::<RecordHdr>();
        if d.len() < hl {
            self.bad_records += 1;
            return;
        }
        let mut hdr = RecordHdr::default();
        if plain::copy_from_bytes(&mut hdr, &d[..hl]).is_err() {
            self.bad_records += 1;
            return;
        }
        match hdr.kind {
            REC_CAP_CHUNK => self.chunk(d),
            REC_CAP_WRITE | REC_CAP_EXEC | REC_CAP_MEM | REC_CAP_MODULE | REC_CAP_FMODULE => {
                match Record::parse(d) {
                    Ok(rec) => self.meta(&rec),
                    Err(_) => {
                        self.bad_records += 1;
                        // a held task must never stay stopped
                        if hdr.flags & CF_HOLD != 0 {
                            release(hdr.pid, pidfd_open(hdr.pid).as_ref());
                            self.released += 1;
                        }
                    }
                }
            }
            _ => self.bad_records += 1,
        }
    }

    fn meta(&mut self, rec: &Record) {
        let h = rec.hdr;
        let ts = self.epoch(h.ts);
        match h.kind {
            REC_CAP_WRITE => {
                let id = FileId {
                    dev: rec.int(1).unwrap_or(0),
                    ino: rec.int(2).unwrap_or(0),
                    gen: rec.int(3).unwrap_or(0),
                };
                if !self.in_scope(&h) {
                    return;
                }
                self.keep(CAP_WRITE, [id.dev, id.ino, id.gen]);
                let proc = self.proc_from_hdr(&h);
                let meta = WriteMeta {
                    ts,
                    path: rec.string(0).unwrap_or_default(),
                    stream: h.flags & CF_STREAM != 0,
                    proc,
                    syscall: syscall_name(h.syscall.max(0) as u32)
                        .unwrap_or("write")
                        .to_string(),
                };
                self.cap.write_meta(id, meta);
            }
            REC_CAP_EXEC => {
                let path = rec.string(0).unwrap_or_default();
                // the process runs another executable now (its leader's start time is the same)
                self.procs.exec(
                    h.pid,
                    h.leader_start_time,
                    (!path.is_empty()).then_some(path.as_str()),
                );
                let info = ExecInfo {
                    ts,
                    path,
                    dev: rec.int(1).unwrap_or(0),
                    ino: rec.int(2).unwrap_or(0),
                    ctime: rec.int(3).unwrap_or(0),
                    size: rec.int(4).unwrap_or(0),
                    proc: ProcessInfo::default(),
                };
                let key = (info.dev, info.ino, info.ctime);
                let held = if h.flags & CF_HOLD != 0 {
                    let pidfd = pidfd_open(h.pid);
                    let exe = File::open(format!("{}/{}/exe", self.procs.root(), h.pid));
                    // out of scope at first sight (without waiting for the decoder): the
                    // kernel forgets the binary before the task goes on, so that an exec of
                    // it in scope right after is held again. A needless forget costs a hold.
                    if !self.scope.allows(&h, &mut self.procs) {
                        self.forget(key);
                    }
                    // a held task is always let go, in scope or not, before anything slower
                    release(h.pid, pidfd.as_ref());
                    self.released += 1;
                    Some(exe)
                } else {
                    None
                };
                if !self.in_scope(&h) {
                    // not captured (and forgotten above: the quick answer was no too)
                    if held.is_some() {
                        self.skipped_execs.insert(key);
                    }
                    return;
                }
                // not held although an exec of it out of scope was not captured: a
                // concurrent exec, before the kernel forgot it. Copy it as it runs, or from
                // its path once the task is gone (checked below)
                let held = held.or_else(|| {
                    self.skipped_execs
                        .remove(&key)
                        .then(|| self.open_unheld_binary(h.pid, &info))
                });
                let mut proc = self.proc_from_hdr(&h);
                proc.executable = info.path.clone();
                let info = ExecInfo { proc, ..info };
                if let Some(exe) = held {
                    let exe = exe.and_then(|f| {
                        let m = f.metadata()?;
                        if !same_file(&m, &info) {
                            return Err(io::Error::other(
                                "the file opened is no longer the executed binary",
                            ));
                        }
                        Ok(f)
                    });
                    if exe.is_err() {
                        self.forget(key);
                    }
                    self.skipped_execs.remove(&key);
                    self.cap.exec(&info, Some(exe));
                } else {
                    self.cap.exec(&info, None);
                }
            }
            REC_CAP_FMODULE => {
                let fd = rec.int(0).unwrap_or(u64::MAX) as i64;
                let pidfd = pidfd_open(h.pid);
                let file = if (0..1 << 20).contains(&fd) {
                    File::open(format!("{}/{}/fd/{fd}", self.procs.root(), h.pid))
                } else {
                    Err(io::Error::from_raw_os_error(libc::EBADF))
                };
                if h.flags & CF_HOLD != 0 {
                    release(h.pid, pidfd.as_ref());
                    self.released += 1;
                }
                if !self.in_scope(&h) {
                    return;
                }
                let proc = self.proc_from_hdr(&h);
                let info = ModuleFileInfo {
                    ts,
                    path: rec.string(1).unwrap_or_default(),
                    dev: rec.int(2).unwrap_or(0),
                    ino: rec.int(3).unwrap_or(0),
                    proc,
                    note: format!(
                        "param_values {:?}, flags {}",
                        rec.string(6).unwrap_or_default(),
                        rec.int(7).unwrap_or(0)
                    ),
                };
                self.cap.module_file(&info, file);
            }
            REC_CAP_MEM => {
                let addr = rec.int(0).unwrap_or(0);
                if !self.in_scope(&h) {
                    return;
                }
                self.keep(CAP_MEM, [h.pid as u64, h.ts, addr]);
                let proc = self.proc_from_hdr(&h);
                let key = (BlobKind::Mem, [h.pid as u64, h.ts, addr]);
                let meta = BlobMeta {
                    ts,
                    len: rec.int(1).unwrap_or(0),
                    original_path: rec.string(4).unwrap_or_default(),
                    event: "mem_prot_alert".into(),
                    note: format!(
                        "addr 0x{addr:x}, prot {}, prev_prot {}",
                        rec.int(2).unwrap_or(0),
                        rec.int(3).unwrap_or(0)
                    ),
                    proc,
                };
                self.cap.blob_meta(key, meta);
            }
            REC_CAP_MODULE => {
                if !self.in_scope(&h) {
                    return;
                }
                self.keep(CAP_MODULE, [h.pid as u64, h.ts, 0]);
                let proc = self.proc_from_hdr(&h);
                let key = (BlobKind::Module, [h.pid as u64, h.ts, 0]);
                let meta = BlobMeta {
                    ts,
                    len: rec.int(0).unwrap_or(0),
                    original_path: String::new(),
                    event: "init_module".into(),
                    note: format!("param_values {:?}", rec.string(1).unwrap_or_default()),
                    proc,
                };
                self.cap.blob_meta(key, meta);
            }
            _ => self.bad_records += 1,
        }
    }

    fn chunk(&mut self, d: &[u8]) {
        let cl = std::mem::size_of::<CapChunk>();
        if d.len() < cl {
            self.bad_records += 1;
            return;
        }
        let mut c = CapChunk::default();
        if plain::copy_from_bytes(&mut c, &d[..cl]).is_err() {
            self.bad_records += 1;
            return;
        }
        let lost = c.flags & CF_LOST != 0;
        // a lost range, or a kernel copy to read back from the file, carries no bytes
        let data: &[u8] = if lost || c.flags & CF_FROM_FILE != 0 {
            &[]
        } else {
            match d.get(cl..cl + c.len as usize) {
                Some(b) => b,
                None => {
                    self.bad_records += 1;
                    return;
                }
            }
        };
        let ts = self.epoch(c.hdr.ts);
        let len = c.len as u64;
        match c.what {
            CAP_WRITE => {
                let id = FileId {
                    dev: c.id[0],
                    ino: c.id[1],
                    gen: c.id[2],
                };
                let proc = self.proc_light(&c.hdr);
                if !self.proc_in_scope(&proc, &c.hdr) {
                    // a write of a process out of scope: its bytes (or lost range) are no
                    // artifact's
                    return;
                }
                self.keep(CAP_WRITE, c.id);
                let unknown = WriteMeta {
                    ts,
                    stream: c.flags & CF_STREAM != 0,
                    proc,
                    ..WriteMeta::default()
                };
                if lost {
                    self.cap.write_lost(
                        id,
                        ts,
                        c.offset,
                        len,
                        lost_reason(c.lost_why),
                        Some(unknown),
                    );
                } else if c.flags & CF_LATER != 0 {
                    self.later.push_back(LaterRead {
                        due: Instant::now() + READ_BACK_AFTER,
                        id,
                        ts,
                        range: (c.offset, len),
                        writer: (c.hdr.pid, c.fd),
                        unknown,
                    });
                } else if c.flags & CF_FROM_FILE != 0 {
                    let range = (c.offset, len);
                    self.read_back(id, ts, range, (c.hdr.pid, c.fd), unknown);
                } else {
                    self.cap.write_data(id, ts, c.offset, data, Some(unknown));
                }
            }
            CAP_TRUNC => {
                let id = FileId {
                    dev: c.id[0],
                    ino: c.id[1],
                    gen: c.id[2],
                };
                self.cap.write_truncate(id, ts, c.offset);
            }
            CAP_MEM | CAP_MODULE => {
                let kind = if c.what == CAP_MEM {
                    BlobKind::Mem
                } else {
                    BlobKind::Module
                };
                let proc = self.proc_light(&c.hdr);
                if !self.proc_in_scope(&proc, &c.hdr) {
                    return;
                }
                self.keep(c.what, c.id);
                let key = (kind, c.id);
                if lost {
                    self.cap
                        .blob_lost(key, ts, c.offset, len, lost_reason(c.lost_why), &proc);
                } else {
                    self.cap.blob_data(key, ts, c.offset, data, &proc);
                }
            }
            CAP_PACKET => {
                if lost {
                    return;
                }
                let proc = self.proc_light(&c.hdr);
                if !self.proc_in_scope(&proc, &c.hdr) {
                    return;
                }
                let pkt = Packet {
                    ts,
                    egress: c.flags & CF_EGRESS != 0,
                    data,
                    wire_len: c.id[1].min(u32::MAX as u64) as u32,
                };
                self.cap.packet(&proc, &pkt);
            }
            _ => self.bad_records += 1,
        }
    }
}

impl Driver {
    /// Bytes the kernel copied into a file (sendfile, splice, copy_file_range) never passed
    /// through memory the kernel side could read: they are read back from the file, through
    /// the writer's descriptor while it is open, else by the path the file was first written
    /// under (in the writer's root, then in ours). Identity (device, inode) is checked, so a
    /// reused descriptor or a replaced path is never read instead.
    fn read_back(
        &mut self,
        id: FileId,
        ts: u64,
        (offset, len): (u64, u64),
        (pid, fd): (u32, i32),
        unknown: WriteMeta,
    ) {
        use std::os::unix::fs::{FileExt, MetadataExt};
        let same = |f: &File| {
            f.metadata()
                .map(|m| kernel_dev(m.dev()) == id.dev && m.ino() == id.ino)
                .unwrap_or(false)
        };
        let path = self.cap.write_path(id).map(str::to_string);
        let proc = self.procs.root();
        let mut candidates = vec![format!("{proc}/{pid}/fd/{fd}")];
        if let Some(p) = &path {
            candidates.push(format!("{proc}/{pid}/root{p}"));
            candidates.push(p.clone());
        }
        let file = candidates
            .iter()
            .filter_map(|c| File::open(c).ok())
            .find(|f| same(f));
        let mut done = 0u64;
        if let Some(f) = file {
            let mut buf = vec![0u8; (len as usize).min(1 << 20)];
            while done < len {
                let want = ((len - done) as usize).min(buf.len());
                match f.read_at(&mut buf[..want], offset + done) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let meta = Some(unknown.clone());
                        self.cap.write_data(id, ts, offset + done, &buf[..n], meta);
                        done += n as u64;
                    }
                }
            }
        }
        if done < len {
            let (start, rest) = (offset + done, len - done);
            let why = reason::NOT_READ_BACK;
            self.cap.write_lost(id, ts, start, rest, why, Some(unknown));
        }
    }
}

/// The index of a network interface in this network namespace and the namespace's cookie.
pub fn interface(name: &str) -> io::Result<(u32, u64)> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name holds a NUL"))?;
    // SAFETY: `c` is a valid C string.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "no such network interface here",
        ));
    }
    Ok((idx, netns_cookie().unwrap_or(0)))
}

fn netns_cookie() -> Option<u64> {
    // SAFETY: socket() has no memory preconditions; the descriptor is owned below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` is a new descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut cookie: u64 = 0;
    let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
    const SO_NETNS_COOKIE: libc::c_int = 71;
    // SAFETY: `cookie` and `len` are valid for writes of the sizes given.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_NETNS_COOKIE,
            (&mut cookie as *mut u64).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(cookie)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc_context::tests::{container, FakeProc};
    use osprey_bpf::record::RecordBuilder;
    use osprey_capture::CaptureOptions;

    /// Both kinds of capture records get the executable, the container ID and the rest of the
    /// context from the ProcContext's root, not from the real /proc.
    #[test]
    fn process_context_comes_from_the_given_proc_root() {
        let fake = FakeProc::new();
        let cid = container(7);
        // pids far above pid_max: the real /proc cannot have them
        let (writer, chunker) = (1 << 23, (1 << 23) + 1);
        fake.process(writer, "/opt/writer", &format!("/docker/{cid}"));
        fake.process(chunker, "/opt/chunker", "/user.slice");
        std::fs::write(
            fake.0.path().join(format!("{chunker}/status")),
            "NStgid:\t8388609\t5\nNSpid:\t8388609\t5\nPPid:\t1\n",
        )
        .unwrap();
        let out = tempfile::tempdir().unwrap();
        let dir = format!("dir:{}", out.path().display());
        let opts = CaptureOptions::parse(&["write", dir.as_str()])
            .unwrap()
            .unwrap();
        let mut d = Driver::new(
            Capturer::new(&opts).unwrap(),
            ProcContext::new(fake.root()),
            Arc::new(UserScope::new(crate::scope::Scope::default())),
        );

        let h = RecordHdr {
            kind: REC_CAP_WRITE,
            pid: writer,
            tid: writer,
            cgroup_id: 70,
            leader_start_time: 1,
            ..RecordHdr::default()
        };
        let meta = RecordBuilder::new(h)
            .str(0, "/tmp/out.log")
            .int(1, 8)
            .int(2, 100)
            .int(3, 0)
            .finish();
        d.record(&meta);
        // a chunk of a file whose meta record was lost, from a task the kernel could not read
        let c = CapChunk {
            hdr: RecordHdr {
                kind: REC_CAP_CHUNK,
                pid: chunker,
                tid: chunker,
                cgroup_id: 71,
                ..RecordHdr::default()
            },
            what: CAP_WRITE,
            id: [8, 101, 0],
            len: 4,
            ..CapChunk::default()
        };
        // SAFETY: CapChunk is Plain: viewing it as bytes reads initialized memory.
        let mut chunk = unsafe { plain::as_bytes(&c) }.to_vec();
        chunk.extend_from_slice(b"data");
        d.record(&chunk);
        assert_eq!(d.bad_records, 0);
        d.cap.finish(&[]);

        let recs = index_records(out.path());
        let by_inode = |ino: &str| {
            recs.iter()
                .find(|r| r["path"].as_str().unwrap().ends_with(ino))
                .unwrap()
        };
        let w = by_inode("inode-100");
        assert_eq!(w["process"]["executable"], "/opt/writer");
        assert_eq!(w["container_id"], cid);
        let c = by_inode("inode-101");
        assert_eq!(c["process"]["executable"], "/opt/chunker");
        assert_eq!(c["container_id"], "");
        assert_eq!(
            c["process"]["processId"], 5,
            "completed from <root>/<pid>/status"
        );
    }

    #[test]
    fn kernel_dev_encoding() {
        // 8:1 (sda1) in glibc's encoding -> 8 << 20 | 1
        assert_eq!(kernel_dev(0x801), (8 << 20) | 1);
        // 259:3 (nvme) -> major 259
        let st = (259u64 << 8) | 3;
        assert_eq!(kernel_dev(st), (259 << 20) | 3);
    }

    #[test]
    fn loopback_is_found() {
        let (idx, _) = interface("lo").unwrap();
        assert!(idx > 0);
        assert!(interface("osprey-no-such0").is_err());
    }
    /// The records of the artifact index a capture into `out` wrote.
    fn index_records(out: &std::path::Path) -> Vec<serde_json::Value> {
        let index = std::fs::read_to_string(out.join("out/artifacts.jsonl")).unwrap();
        index
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// A driver capturing `what` into `out` for the processes named `inside` only.
    fn inside_only(fake: &FakeProc, what: &[&str], out: &std::path::Path) -> Driver {
        let dir = format!("dir:{}", out.display());
        let mut args = what.to_vec();
        args.push(&dir);
        let opts = CaptureOptions::parse(&args).unwrap().unwrap();
        let scope = crate::scope::Scope::parse(&["comm=inside".to_string()]).unwrap();
        Driver::new(
            Capturer::new(&opts).unwrap(),
            ProcContext::new(fake.root()),
            Arc::new(UserScope::new(scope)),
        )
    }

    /// Capture records of a process out of the userspace scope make no artifact: no written
    /// file (its data and lost ranges are dropped, not counted as lost), no binary (a held
    /// exec is let go and forgotten by the kernel), no region; those in scope still do.
    #[test]
    fn records_out_of_scope_make_no_artifact() {
        let fake = FakeProc::new();
        let (inside, outside) = ((1 << 23) + 10, (1 << 23) + 11);
        fake.process(inside, "/opt/inside", "/user.slice");
        fake.process(outside, "/opt/outside", "/user.slice");
        let out = tempfile::tempdir().unwrap();
        let mut d = inside_only(&fake, &["write", "exec", "mem"], out.path());
        let hdr = |kind, pid: u32, comm: &str| {
            let mut h = RecordHdr {
                kind,
                pid,
                tid: pid,
                leader_start_time: 1,
                ts: 1000,
                ..RecordHdr::default()
            };
            for (i, b) in comm.bytes().enumerate() {
                h.comm[i] = b as i8;
            }
            h
        };
        for (pid, comm, ino) in [(inside, "inside", 200), (outside, "outside", 201)] {
            let meta = RecordBuilder::new(hdr(REC_CAP_WRITE, pid, comm))
                .str(0, &format!("/tmp/{comm}.txt"))
                .int(1, 8)
                .int(2, ino)
                .int(3, 0)
                .finish();
            d.record(&meta);
            for lost in [false, true] {
                let c = CapChunk {
                    hdr: hdr(REC_CAP_CHUNK, pid, comm),
                    what: CAP_WRITE,
                    id: [8, ino, 0],
                    len: 4,
                    offset: if lost { 4 } else { 0 },
                    flags: if lost { CF_LOST } else { 0 },
                    lost_why: LOST_RING_FULL,
                    ..CapChunk::default()
                };
                // SAFETY: CapChunk is Plain: viewing it as bytes reads initialized memory.
                let mut chunk = unsafe { plain::as_bytes(&c) }.to_vec();
                if !lost {
                    chunk.extend_from_slice(b"data");
                }
                d.record(&chunk);
            }
            // a held exec: its binary cannot be opened here (no such task), it is let go
            let mut h = hdr(REC_CAP_EXEC, pid, comm);
            h.flags = CF_HOLD;
            let exec = RecordBuilder::new(h)
                .str(0, &format!("/opt/{comm}"))
                .int(1, 8)
                .int(2, ino + 100)
                .int(3, 5)
                .int(4, 10)
                .finish();
            d.record(&exec);
        }
        assert_eq!(d.bad_records, 0);
        assert_eq!(d.released, 2, "held tasks are let go in scope or not");
        // the out-of-scope binary is forgotten (so that an exec in scope is held again); the
        // one in scope too here, because /proc/<pid>/exe could not be opened
        assert!(d.forgotten.contains(&(8, 301, 5)), "{:?}", d.forgotten);
        assert!(d.skipped_execs.contains(&(8, 301, 5)));
        assert!(!d.skipped_execs.contains(&(8, 300, 5)));
        assert!(d.out_of_scope >= 4, "{}", d.out_of_scope);
        let summary = d.cap.finish(&[]);
        assert_eq!(summary.lost_bytes, 4, "only the in-scope file's lost range");
        let index = std::fs::read_to_string(out.path().join("out/artifacts.jsonl")).unwrap();
        assert!(index.contains("/tmp/inside.txt"), "{index}");
        assert!(!index.contains("outside"), "{index}");
    }

    /// An exec the kernel did not hold, of a binary whose held exec out of scope was not
    /// captured (a concurrent exec, before the kernel forgot it), is copied from its path when
    /// the task is already gone, but only while the path is still the same file.
    #[test]
    fn an_unheld_exec_of_a_skipped_binary_is_copied_from_its_path() {
        use std::os::unix::fs::MetadataExt;
        let fake = FakeProc::new();
        let (inside, outside, later) = ((1 << 23) + 20, (1 << 23) + 21, (1 << 23) + 22);
        fake.process(inside, "/opt/inside", "/user.slice");
        fake.process(outside, "/opt/outside", "/user.slice");
        fake.process(later, "/opt/inside", "/user.slice");
        let bins = tempfile::tempdir().unwrap();
        let shared = bins.path().join("shared");
        std::fs::write(&shared, b"\x7fELF the shared binary").unwrap();
        let m = std::fs::metadata(&shared).unwrap();
        let out = tempfile::tempdir().unwrap();
        let mut d = inside_only(&fake, &["exec"], out.path());
        let exec = |pid: u32, comm: &str, flags: u16, ino: u64| {
            let mut h = RecordHdr {
                kind: REC_CAP_EXEC,
                pid,
                tid: pid,
                leader_start_time: 1,
                ts: 1000,
                flags,
                ..RecordHdr::default()
            };
            for (i, b) in comm.bytes().enumerate() {
                h.comm[i] = b as i8;
            }
            RecordBuilder::new(h)
                .str(0, &shared.display().to_string())
                .int(1, kernel_dev(m.dev()))
                .int(2, ino)
                .int(3, 5)
                .int(4, m.size())
                .finish()
        };
        let key = (kernel_dev(m.dev()), m.ino(), 5);
        d.record(&exec(outside, "outside", CF_HOLD, m.ino()));
        assert_eq!(d.forgotten, [key], "forgotten before the task went on");
        assert!(d.skipped_execs.contains(&key));
        // in scope, not held, its task already gone (no <root>/<pid>/exe to open)
        d.record(&exec(inside, "inside", 0, m.ino()));
        assert!(!d.skipped_execs.contains(&key));
        // another binary skipped, then run in scope after its path was replaced: not copied
        d.record(&exec(outside, "outside", CF_HOLD, m.ino() + 1));
        d.record(&exec(later, "inside", 0, m.ino() + 1));
        assert_eq!(d.bad_records, 0);
        d.cap.finish(&[]);
        let recs = index_records(out.path());
        assert_eq!(recs.len(), 2, "{recs:#?}");
        let copied = &recs[0];
        assert_eq!(copied["complete"], true, "{copied}");
        assert_eq!(copied["process"]["hostProcessId"], inside, "{copied}");
        let stored = std::fs::read(
            out.path()
                .join("out")
                .join(copied["path"].as_str().unwrap()),
        );
        assert_eq!(stored.unwrap(), std::fs::read(&shared).unwrap());
        let refused = &recs[1];
        assert_eq!(refused["complete"], false, "{refused}");
        assert_eq!(refused["path"], "", "{refused}");
        assert!(
            refused["note"]
                .as_str()
                .unwrap()
                .contains("no longer the executed binary"),
            "{refused}"
        );
    }
}
