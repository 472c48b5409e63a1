//! Live captures (`osprey view --live`): a child process (`osprey trace`, `osprey trace
//! --remote`, `osprey receive`) writes events to a FIFO whose other end is the index's input,
//! so the index, the views and the list grow while it runs. Its standard output and error are
//! kept as the capture's log. Stop sends it SIGINT (the tracer detaches and ends its output),
//! then SIGKILL if it has not ended after [`STOP_GRACE`] (30 s, not counting the time a copy
//! of the remote output directory takes, see below).
//!
//! The binary says how a source becomes a command line ([`Launcher`]); this module runs it.
//!
//! For `ssh://` sources, Fetch output (`POST /api/live/copy-output`) sends the child (`osprey
//! trace --remote`) SIGUSR1: it copies the remote output directory over SFTP into a new local
//! folder while the trace goes on, and says so in its log (`osprey: --remote: copy done
//! {JSON}` or `copy failed: ...`), which this module reads into [`LiveState::copies`].

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::index::Index;

/// Why a second start is refused.
pub const STARTED: &str = "the capture was started already";

/// How long a stopped capture gets to end on its own before it is killed: a tracer drains
/// its ring buffer, completes its artifact files and detaches every program first, which on
/// a busy machine takes seconds.
pub const STOP_GRACE: Duration = Duration::from_secs(30);

/// Log lines kept (the oldest go first); the count of those dropped is reported.
const LOG_LINES: usize = 5000;

/// A log line is cut to this many bytes.
const LOG_LINE_BYTES: usize = 4096;

/// What the capture-options dialog sends (`POST /api/live/start`). Every field is optional;
/// lists are separated by spaces, as `osprey extcap`'s options are.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptureOptions {
    /// The name of a preset (a file of `osprey trace` options in the presets directory).
    pub preset: String,
    /// Events and sets (`--events`).
    pub events: String,
    /// Scope expressions (`--scope`), separated by spaces.
    pub scope: String,
    /// Artifacts (`--capture`), separated by spaces.
    pub artifacts: String,
    /// Capture packets on this interface (`--capture net=IF`).
    pub network: String,
    /// A command to start and trace (split on spaces).
    pub command: String,
}

/// A capture's command, made by the binary from the options.
#[derive(Clone, Debug)]
pub struct Launch {
    /// The program and its arguments (the events go to the FIFO given to the [`Launcher`]).
    pub argv: Vec<OsString>,
    /// The capture's output directory (artifacts), if it writes one.
    pub output_dir: Option<PathBuf>,
}

/// Makes the command of a capture from the dialog's options (the preset's text read already)
/// and the FIFO the events must be written to.
pub type Launcher =
    Box<dyn Fn(&CaptureOptions, &str, &Path) -> Result<Launch, String> + Send + Sync>;

/// What `osprey view --live` was given.
pub struct LiveConfig {
    /// The source as the user named it: `local`, `ssh://USER@HOST`, `forward://127.0.0.1:P`.
    pub source: String,
    /// True when the capture waits for the options dialog; false when it starts at once
    /// (options on the command line, or a source without options).
    pub dialog: bool,
    /// A directory of presets (files of `osprey trace` options), if any.
    pub presets: Option<PathBuf>,
    /// Makes the command.
    pub launcher: Launcher,
}

/// Where a capture is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Waiting for the options dialog.
    Options,
    /// The process runs.
    Running,
    /// Stop was asked; the process has not ended yet.
    Stopping,
    /// The process ended.
    Ended,
    /// It could not start.
    Failed,
}

/// The state `/api/live` reports.
#[derive(Clone, Debug, Serialize)]
pub struct LiveState {
    /// The source.
    pub source: String,
    /// Where the capture is.
    pub phase: Phase,
    /// The command line run (empty before it starts).
    pub command: Vec<String>,
    /// The process, while it runs.
    pub pid: Option<u32>,
    /// How it ended: its exit code, or 128 + the signal that killed it.
    pub exit: Option<i32>,
    /// The capture's output directory, if it writes one.
    pub output_dir: Option<String>,
    /// Why it could not start.
    pub error: Option<String>,
    /// Log lines so far (including those dropped).
    pub log_lines: u64,
    /// Copies of the remote output directory made so far (ssh:// sources), oldest first.
    pub copies: Vec<CopyDone>,
    /// True while a copy asked for has not ended.
    pub copying: bool,
    /// Why the last copy failed, if it did.
    pub copy_error: Option<String>,
}

/// A copy of the remote output directory, as `osprey trace --remote` reports it.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CopyDone {
    /// The local folder it made.
    pub path: String,
    /// Regular files copied.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Entries skipped (links, devices, FIFOs, bad names, errors; the log names them).
    pub skipped: u64,
}

/// The log line of `osprey trace --remote` announcing a finished copy (JSON follows).
const COPY_DONE: &str = "osprey: --remote: copy done ";
/// The log line of `osprey trace --remote` announcing a copy's start.
const COPY_STARTED: &str = "osprey: --remote: copying ";
/// The log line announcing a failed copy (the reason follows).
const COPY_FAILED: &str = "osprey: --remote: copy failed: ";
/// Copies remembered in the state.
const MAX_COPIES: usize = 100;

/// A preset offered by the dialog.
#[derive(Clone, Debug, Serialize)]
pub struct Preset {
    /// The file's name.
    pub name: String,
    /// Its options.
    pub text: String,
}

/// Presets bigger than this are not offered.
const MAX_PRESET: u64 = 64 * 1024;

#[derive(Default)]
struct Log {
    lines: VecDeque<String>,
    /// Lines dropped from the front.
    dropped: u64,
}

struct Inner {
    phase: Phase,
    command: Vec<String>,
    pid: Option<u32>,
    exit: Option<i32>,
    output_dir: Option<PathBuf>,
    error: Option<String>,
    stop_asked: Option<Instant>,
    /// True once a start was let through (it runs, or ran).
    claimed: bool,
    copies: Vec<CopyDone>,
    copying: bool,
    copy_error: Option<String>,
}

/// A live capture: its configuration, process, log and the index it feeds.
pub struct Live {
    config: LiveConfig,
    inner: Mutex<Inner>,
    log: Mutex<Log>,
    /// Holds the FIFO and its directory while the process runs.
    fifo_dir: Mutex<Option<tempfile::TempDir>>,
}

impl Live {
    /// A capture of `config`, not started.
    pub fn new(config: LiveConfig) -> Live {
        let phase = if config.dialog {
            Phase::Options
        } else {
            Phase::Running
        };
        Live {
            config,
            inner: Mutex::new(Inner {
                phase,
                command: Vec::new(),
                pid: None,
                exit: None,
                output_dir: None,
                error: None,
                stop_asked: None,
                claimed: false,
                copies: Vec::new(),
                copying: false,
                copy_error: None,
            }),
            log: Mutex::new(Log::default()),
            fifo_dir: Mutex::new(None),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True when the capture waits for the dialog's options.
    pub fn wants_options(&self) -> bool {
        self.inner().phase == Phase::Options
    }

    /// The directories the capture writes its artifacts to: its output directory, or the
    /// local copies of a remote one, oldest first.
    pub fn capture_dirs(&self) -> Vec<String> {
        let i = self.inner();
        let out = i.output_dir.iter().map(|d| d.display().to_string());
        out.chain(i.copies.iter().map(|c| c.path.clone())).collect()
    }

    /// The state, for `/api/live` and the event stream.
    pub fn state(&self) -> LiveState {
        let log_lines = {
            let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
            log.dropped + log.lines.len() as u64
        };
        let i = self.inner();
        LiveState {
            source: self.config.source.clone(),
            phase: i.phase,
            command: i.command.clone(),
            pid: i.pid,
            exit: i.exit,
            output_dir: i.output_dir.as_ref().map(|d| d.display().to_string()),
            error: i.error.clone(),
            log_lines,
            copies: i.copies.clone(),
            copying: i.copying,
            copy_error: i.copy_error.clone(),
        }
    }

    /// The presets of the presets directory: its regular files (not followed links), by name.
    pub fn presets(&self) -> Vec<Preset> {
        let Some(dir) = &self.config.presets else {
            return Vec::new();
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut presets: Vec<Preset> = entries
            .flatten()
            .filter(|e| {
                e.path()
                    .symlink_metadata()
                    .is_ok_and(|m| m.is_file() && m.len() <= MAX_PRESET)
            })
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_string();
                let text = std::fs::read_to_string(e.path()).ok()?;
                (!name.starts_with('.')).then_some(Preset { name, text })
            })
            .collect();
        presets.sort_by(|a, b| a.name.cmp(&b.name));
        presets
    }

    /// Log lines from `from` on (counting dropped ones), at most `limit`, and the number of
    /// the line after them.
    pub fn log_since(&self, from: u64, limit: usize) -> (Vec<String>, u64, u64) {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let skip = from.saturating_sub(log.dropped) as usize;
        let lines: Vec<String> = log.lines.iter().skip(skip).take(limit).cloned().collect();
        let first = log.dropped + skip.min(log.lines.len()) as u64;
        (lines.clone(), first + lines.len() as u64, log.dropped)
    }

    fn note(&self, line: String) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let mut line = line;
        if line.len() > LOG_LINE_BYTES {
            let mut cut = LOG_LINE_BYTES;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push('…');
        }
        log.lines.push_back(line);
        while log.lines.len() > LOG_LINES {
            log.lines.pop_front();
            log.dropped += 1;
        }
    }

    /// Starts the capture with `options` (the dialog's, or the defaults when the options
    /// came on the command line), feeding `index`. An error when it runs or ran already, or
    /// when the options make no command (the capture still waits for options then), or when
    /// the command cannot be started (the capture has failed then).
    pub fn start(
        self: &Arc<Self>,
        options: &CaptureOptions,
        index: &Arc<Index>,
        profile: Arc<osprey_print::Profile>,
        prefs: osprey_dissect::Preferences,
    ) -> Result<(), String> {
        {
            // Claimed under the lock: two requests at once start one capture.
            let mut i = self.inner();
            let waiting =
                i.phase == Phase::Options || (i.phase == Phase::Running && i.pid.is_none());
            if !waiting || i.claimed {
                return Err(STARTED.into());
            }
            i.claimed = true;
        }
        let launch = match self.command(options) {
            Ok(made) => made,
            Err(why) => {
                // Options that make no command are refused; the dialog can be sent again.
                self.inner().claimed = false;
                return Err(why);
            }
        };
        let result = self.launch(launch.0, launch.1, index, profile, prefs);
        if let Err(why) = &result {
            let mut i = self.inner();
            i.phase = Phase::Failed;
            i.error = Some(why.clone());
            drop(i);
            self.note(format!("osprey view: {why}"));
            index.fail(format!("the capture did not start: {why}"));
        }
        result
    }

    /// The command of `options` and the directory of its FIFO.
    fn command(&self, options: &CaptureOptions) -> Result<(Launch, tempfile::TempDir), String> {
        let preset = self.preset_text(&options.preset)?;
        let dir = tempfile::Builder::new()
            .prefix("osprey-view-live-")
            .tempdir()
            .map_err(|e| format!("creating a directory for the FIFO: {e}"))?;
        let fifo = dir.path().join("events");
        let launch = (self.config.launcher)(options, &preset, &fifo)?;
        Ok((launch, dir))
    }

    fn preset_text(&self, name: &str) -> Result<String, String> {
        if name.is_empty() {
            return Ok(String::new());
        }
        // Only a name the listing offers: never a path.
        self.presets()
            .into_iter()
            .find(|p| p.name == name)
            .map(|p| p.text)
            .ok_or_else(|| format!("no preset named {name:?}"))
    }

    /// Runs `launch`, its events going to the FIFO `events` in `dir`, into `index`.
    fn launch(
        self: &Arc<Self>,
        launch: Launch,
        dir: tempfile::TempDir,
        index: &Arc<Index>,
        profile: Arc<osprey_print::Profile>,
        prefs: osprey_dissect::Preferences,
    ) -> Result<(), String> {
        let fifo = dir.path().join("events");
        make_fifo(&fifo).map_err(|e| format!("creating the FIFO {}: {e}", fifo.display()))?;
        let (reader, keeper) =
            open_fifo(&fifo).map_err(|e| format!("opening the FIFO {}: {e}", fifo.display()))?;
        index
            .feed(Box::new(reader), profile, prefs)
            .map_err(|e| e.to_string())?;
        *self.fifo_dir.lock().unwrap_or_else(|e| e.into_inner()) = Some(dir);
        {
            let mut i = self.inner();
            i.command = launch
                .argv
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            i.output_dir = launch.output_dir.clone();
            i.phase = Phase::Running;
        }
        self.note(format!(
            "osprey view: running {}",
            self.inner().command.join(" ")
        ));
        self.spawn_supervisor(launch.argv, keeper)
    }

    /// Starts the process on a thread that lives until it has ended: the parent-death signal
    /// is tied to the thread that forks, so the tracer gets SIGINT if this server dies, and
    /// not before.
    fn spawn_supervisor(self: &Arc<Self>, argv: Vec<OsString>, keeper: File) -> Result<(), String> {
        let (tx, rx) = std::sync::mpsc::channel::<Result<u32, String>>();
        let live = self.clone();
        std::thread::Builder::new()
            .name("osprey-view-live".into())
            .spawn(move || live.supervise(argv, keeper, tx))
            .map_err(|e| e.to_string())?;
        let pid = rx
            .recv()
            .map_err(|_| "the capture's thread ended".to_string())??;
        self.inner().pid = Some(pid);
        Ok(())
    }

    fn supervise(
        self: Arc<Self>,
        argv: Vec<OsString>,
        keeper: File,
        started: std::sync::mpsc::Sender<Result<u32, String>>,
    ) {
        let remote = self.config.source.starts_with("ssh://");
        let mut child = match spawn_child(&argv, remote) {
            Ok(c) => c,
            Err(why) => {
                drop(keeper);
                let _ = started.send(Err(why));
                return;
            }
        };
        let pid = child.id();
        // The pid is published before the caller returns, so Stop can reach it.
        self.inner().pid = Some(pid);
        let _ = started.send(Ok(pid));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(self.clone().read_log(out, "stdout: "));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(self.clone().read_log(err, LOG_STDERR));
        }
        let _escalation = self.clone().spawn_escalation(pid);
        let exit = wait_without_reaping(pid);
        // Cleared before the child is reaped: Stop never signals a recycled pid.
        self.inner().pid = None;
        let status = child.wait();
        // The process is gone: the FIFO's last writer goes, and the index sees the end.
        drop(keeper);
        let code = match status {
            Ok(s) => s
                .code()
                .or_else(|| std::os::unix::process::ExitStatusExt::signal(&s).map(|n| 128 + n)),
            Err(_) => exit,
        };
        // Its last words first; but a traced command that outlives the tracer may hold the
        // pipes open, so the end is not held up for long.
        let deadline = Instant::now() + Duration::from_secs(1);
        while readers.iter().any(|r| !r.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        {
            let mut i = self.inner();
            i.exit = code;
            i.phase = Phase::Ended;
        }
        self.note(format!(
            "osprey view: the capture ended{}",
            code.map(|c| format!(" (exit status {c})"))
                .unwrap_or_default()
        ));
        *self.fifo_dir.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn read_log(
        self: Arc<Self>,
        stream: impl Read + Send + 'static,
        prefix: &'static str,
    ) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stream);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match lines.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&buf);
                        let line = text.trim_end_matches(['\n', '\r']);
                        // Only `osprey trace --remote` speaks of copies (a local tracer's
                        // stderr is shared with the command it traces).
                        if prefix == LOG_STDERR && self.config.source.starts_with("ssh://") {
                            self.copy_report(line);
                        }
                        self.note(format!("{prefix}{line}"));
                    }
                }
            }
        })
    }

    /// Notes a copy's end from a line of the child's standard error (the remote tracer's own
    /// lines come prefixed with `remote: `, so they cannot pass for these).
    ///
    /// While a copy runs, a Stop's grace is suspended: the copy at stop (`--remote-copy`) runs
    /// after the remote tracer has ended, and may take longer than [`STOP_GRACE`]; its SFTP
    /// requests time out on their own. The grace starts again when it ends.
    fn copy_report(&self, line: &str) {
        if line.starts_with(COPY_STARTED) {
            self.inner().copying = true;
        } else if let Some(json) = line.strip_prefix(COPY_DONE) {
            let Ok(done) = serde_json::from_str::<CopyDone>(json) else {
                return;
            };
            let mut i = self.inner();
            i.copying = false;
            if i.stop_asked.is_some() {
                i.stop_asked = Some(Instant::now());
            }
            i.copy_error = None;
            i.copies.push(done);
            if i.copies.len() > MAX_COPIES {
                i.copies.remove(0);
            }
        } else if let Some(why) = line.strip_prefix(COPY_FAILED) {
            let mut i = self.inner();
            i.copying = false;
            if i.stop_asked.is_some() {
                i.stop_asked = Some(Instant::now());
            }
            i.copy_error = Some(why.to_string());
        }
    }

    /// Asks `osprey trace --remote` to copy the remote output directory now (SIGUSR1), the
    /// trace going on. Only for ssh:// sources, while the capture runs.
    pub fn request_copy(&self) -> Result<(), String> {
        if !self.config.source.starts_with("ssh://") {
            return Err(
                "only a capture on a remote host (ssh://) has an output directory to fetch".into(),
            );
        }
        let mut i = self.inner();
        match (i.phase, i.pid) {
            (Phase::Running, Some(pid)) => {
                // SAFETY: kill with our child's pid, not reaped yet (see supervise); `osprey
                // trace --remote` handles SIGUSR1 from its start.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGUSR1) };
                i.copying = true;
                drop(i);
                self.note("osprey view: fetching the remote output directory (SIGUSR1)".into());
                Ok(())
            }
            _ => Err("the capture is not running".into()),
        }
    }

    /// Kills the process when a Stop has not ended it within [`STOP_GRACE`].
    fn spawn_escalation(self: Arc<Self>, pid: u32) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(200));
            let i = self.inner();
            if i.pid != Some(pid) {
                return;
            }
            if !i.copying && i.stop_asked.is_some_and(|t| t.elapsed() > STOP_GRACE) {
                // SAFETY: kill with the pid of our child, not reaped yet (the pid is cleared,
                // under this lock, before it is).
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                drop(i);
                self.note(format!(
                    "osprey view: the capture did not stop within {} s: killed",
                    STOP_GRACE.as_secs()
                ));
                return;
            }
        })
    }

    /// Asks the capture to stop (SIGINT). Stopping a capture that has not started ends the
    /// wait for options: the index is then complete, and empty.
    pub fn stop(&self, index: &Index) {
        let mut i = self.inner();
        match (i.phase, i.pid) {
            (Phase::Running, Some(pid)) if i.stop_asked.is_none() => {
                i.stop_asked = Some(Instant::now());
                i.phase = Phase::Stopping;
                // SAFETY: kill with our child's pid, not reaped yet (see supervise).
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) };
                drop(i);
                self.note("osprey view: stopping the capture (SIGINT)".into());
            }
            (Phase::Options, _) => {
                i.phase = Phase::Ended;
                drop(i);
                index.fail("the capture was stopped before it started".into());
            }
            _ => {}
        }
    }
}

/// The prefix of the child's standard error lines in the log (none).
const LOG_STDERR: &str = "";

/// `POST /api/live/copy-output`: Fetch output. 200 with the state (its `copying` true; the
/// copy's folder comes in `copies`, here and in the event stream, when it is done), 404 for
/// a view that is not live, 409 when there is nothing to fetch now.
pub async fn copy_output(
    axum::extract::State(s): axum::extract::State<Arc<crate::ViewState>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let refuse = |status: axum::http::StatusCode, why: String| {
        (status, axum::Json(serde_json::json!({ "error": why }))).into_response()
    };
    let Some(live) = &s.live else {
        return refuse(
            axum::http::StatusCode::NOT_FOUND,
            "not a live capture (osprey view --live)".into(),
        );
    };
    match live.request_copy() {
        Ok(()) => axum::Json(live.state()).into_response(),
        Err(why) => refuse(axum::http::StatusCode::CONFLICT, why),
    }
}

/// Starts `argv` with its output and error piped (the log), no input, and SIGINT as its
/// parent-death signal. With `remote` (`osprey trace --remote`, which runs nothing locally)
/// it starts with SIGUSR1 ignored, so a Fetch output asked before it has set up its handler
/// does not end it.
fn spawn_child(argv: &[OsString], remote: bool) -> Result<std::process::Child, String> {
    let Some((program, args)) = argv.split_first() else {
        return Err("an empty command".into());
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: between fork and exec the child only calls prctl and signal, which are
    // async-signal-safe; the first stops the tracer cleanly if this server dies.
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT, 0, 0, 0);
            if remote {
                libc::signal(libc::SIGUSR1, libc::SIG_IGN);
            }
            Ok(())
        });
    }
    cmd.spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.to_string_lossy()))
}

fn make_fifo(path: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("a NUL in the path"))?;
    // SAFETY: a valid C string and a mode.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Opens the FIFO for reading, and once more for writing: that *keeper* makes the reader
/// block until data comes (rather than see an end before the process opened its side), and
/// dropping it after the process ended gives the reader its end even if the process never
/// opened the FIFO. Both are close-on-exec, so the process does not inherit them.
fn open_fifo(path: &Path) -> std::io::Result<(File, File)> {
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let keeper = std::fs::OpenOptions::new().write(true).open(path)?;
    // Blocking reads from now on.
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl on a file descriptor we own.
    unsafe {
        let fd = reader.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
    }
    Ok((reader, keeper))
}

/// Waits until process `pid` has ended, leaving it a zombie (so its pid is not reused before
/// it is reaped). Returns its exit code when known.
fn wait_without_reaping(pid: u32) -> Option<i32> {
    loop {
        // SAFETY: waitid with a zeroed siginfo to fill.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            // SAFETY: filled by a successful waitid.
            return Some(unsafe { info.si_status() });
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return None;
        }
    }
}
