//! `osprey receive`: a Fluent Forward server for events of remote tracers (Osprey or Tracee).
//!
//! `osprey-forward` serves the connections; this module decides where the events go. With
//! `-w FILE` alone they are written straight to the file (NDJSON, each event's exact bytes, or
//! PcapNG when FILE ends in .pcapng/.pcap) and flushed before the frame is acked. Otherwise
//! the events, as NDJSON, feed `osprey read`'s own pipeline through a pipe, so `-Y`, `-T`,
//! `-e`, `-V` (and `-w` with a filter) behave exactly as they do on a recording.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::FromRawFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::{Args, Parser};
use osprey_forward::dedup::Dedup;
use osprey_forward::proto::Events;
use osprey_forward::receiver::{self, Handler, Listener, ServerConfig};
use osprey_forward::record;
use osprey_pcapng::{Interface, PcapNgWriter};

use crate::read;

/// Receive events over Fluent Forward (from `osprey trace -o forward:...` or Tracee's forward
/// output) and write them to a file or print them like `osprey read`.
///
/// All four Forward modes are accepted (Message, Forward, PackedForward, CompressedPacked-
/// Forward), acks are sent once the events are written, and with --shared-key the HELO/PING/
/// PONG handshake is required. Records in Tracee's layout ({"event": "<json>"}) and in Osprey's
/// `format=record` layout (the event as a map) are understood. Malformed frames are logged
/// with their reason and never affect other connections. Events a resend delivers twice
/// (same osprey_id) are written once.
#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  osprey receive --listen 127.0.0.1:24224 -w events.json
  osprey receive --listen 127.0.0.1:4000 -Y 'tracee.eventName == \"sched_process_exec\"'
  osprey receive --shared-key s3cret -T fields -e tracee.processName -e tracee.eventName
  osprey trace -o 'forward:tcp://127.0.0.1:24224?tag=tracee'   (on the traced host)")]
pub struct ReceiveArgs {
    /// Address to listen on: HOST:PORT or unix:PATH. Binds loopback unless told otherwise.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:24224")]
    listen: String,

    /// Write the events to FILE: NDJSON (exact bytes), or PcapNG when FILE ends in .pcapng or
    /// .pcap. With -Y, only the matching events.
    #[arg(short = 'w', value_name = "FILE")]
    write: Option<PathBuf>,

    /// Require the shared-key handshake with this key.
    #[arg(long, value_name = "KEY")]
    shared_key: Option<String>,

    /// Serve TLS with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// With --shared-key, also require this user (repeatable).
    #[arg(long = "user", value_name = "USER:PASS", requires = "shared_key")]
    users: Vec<String>,

    /// Switch output files like dumpcap's ring buffer: filesize:KB, duration:SECONDS, files:N
    /// (keep the last N), repeatable; files are named FILE's STEM_NNNNN_YYYYMMDDhhmmss.EXT.
    #[arg(short = 'b', long = "ring-buffer", value_name = "COND:VALUE")]
    ring_buffer: Vec<String>,

    /// Print only events matching FILTER (display-filter syntax, as in osprey read).
    #[arg(short = 'Y', long = "display-filter", value_name = "FILTER")]
    filter: Option<String>,

    /// Output format on stdout, as in osprey read: text, fields, json, ndjson.
    #[arg(short = 'T', long = "format", value_name = "FORMAT")]
    format: Option<String>,

    /// A field for -T fields (repeatable).
    #[arg(short = 'e', long = "field", value_name = "FIELD")]
    fields: Vec<String>,

    /// Print the detail tree of each event.
    #[arg(short = 'V', long = "verbose")]
    verbose: bool,

    /// Stop after receiving N events.
    #[arg(short = 'c', long = "count", value_name = "N")]
    count: Option<u64>,

    /// Largest frame accepted, in bytes (K, M suffixes).
    #[arg(long, value_name = "SIZE", default_value = "32M")]
    max_frame: String,

    /// No counters on stderr at the end.
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
}

#[derive(Parser)]
struct ReadCli {
    #[command(flatten)]
    args: read::ReadArgs,
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn install_signal_handlers() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
        libc::sigaction(libc::SIGTERM, &sa, std::ptr::null_mut());
    }
}

enum Out {
    Ndjson(BufWriter<Box<dyn Write + Send>>),
    Pcapng(PcapNgWriter<BufWriter<File>>, u32),
    /// Files switched by size or time (`-b`).
    Rotating(Box<Rotator>),
    /// A Parquet lake (`-w lake:DIR`).
    Lake(Box<osprey_lake::LakeSink>),
    /// After the server ended: the file is flushed and closed, the pipe's reader sees its end.
    Closed,
}

impl Out {
    /// Creates `path`: PcapNG when it ends in .pcapng or .pcap, NDJSON otherwise.
    fn create(path: &Path) -> anyhow::Result<Out> {
        let name = path.display().to_string();
        if let Some(dir) = name.strip_prefix("lake:") {
            // Journaled: a chunk is acknowledged once its events are in the journal, and what
            // a receiver that died had acknowledged is written into the lake first.
            let (lake, recovered) = osprey_lake::LakeSink::create_journaled(dir.as_ref())
                .with_context(|| format!("cannot create {dir}"))?;
            if recovered.journals > 0 {
                eprintln!(
                    "osprey: receive: {dir}: wrote the {} events of {} journal(s) left by a receiver that stopped",
                    recovered.events, recovered.journals
                );
            }
            return Ok(Out::Lake(Box::new(lake)));
        }
        let f = File::create(path).with_context(|| format!("cannot create {name}"))?;
        Ok(if is_pcapng(path) {
            let mut w = PcapNgWriter::new(BufWriter::new(f), "osprey receive")?;
            let iface = w.add_interface(&Interface::tracee_events())?;
            Out::Pcapng(w, iface)
        } else {
            let w: Box<dyn Write + Send> = Box::new(f);
            Out::Ndjson(BufWriter::with_capacity(1 << 16, w))
        })
    }

    fn write_event(&mut self, json: &[u8], ts: u64) -> io::Result<()> {
        match self {
            Out::Ndjson(w) => w.write_all(json).and_then(|_| w.write_all(b"\n")),
            Out::Pcapng(w, iface) => w.write_event(*iface, ts, json),
            Out::Rotating(r) => r.write_event(json, ts),
            Out::Lake(l) => l.write_json(json),
            Out::Closed => Err(io::Error::other("closed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Out::Ndjson(w) => w.flush(),
            Out::Pcapng(w, _) => w.flush(),
            Out::Rotating(r) => r.current.flush(),
            // The journal to the system before the ack; files become visible when complete:
            // here, those open longer than the roll age.
            Out::Lake(l) => l.commit(),
            Out::Closed => Ok(()),
        }
    }
}

fn is_pcapng(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(ext.as_str(), "pcapng" | "pcap")
}

/// When to switch files, as dumpcap's `-b`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct RotateWhen {
    /// After this many bytes.
    bytes: Option<u64>,
    /// After this long.
    duration: Option<Duration>,
    /// Keep only this many files (a ring buffer).
    files: Option<usize>,
}

fn parse_rotation(specs: &[String]) -> anyhow::Result<Option<RotateWhen>> {
    if specs.is_empty() {
        return Ok(None);
    }
    let mut r = RotateWhen::default();
    for s in specs {
        let (k, v) = s.split_once(':').with_context(|| {
            format!("-b {s}: expected filesize:KB, duration:SECONDS or files:N")
        })?;
        let n: u64 = v
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .with_context(|| format!("-b {s}: expected a positive number"))?;
        match k {
            "filesize" => r.bytes = Some(n * 1000),
            "duration" => r.duration = Some(Duration::from_secs(n)),
            "files" => r.files = Some(n as usize),
            _ => bail!("-b {s}: expected filesize:KB, duration:SECONDS or files:N"),
        }
    }
    if r.bytes.is_none() && r.duration.is_none() {
        bail!("-b: files:N needs filesize:KB or duration:SECONDS to switch files");
    }
    Ok(Some(r))
}

/// Writes `STEM_NNNNN_YYYYMMDDhhmmss.EXT` files, switching as `when` says.
struct Rotator {
    base: PathBuf,
    when: RotateWhen,
    current: Out,
    number: u32,
    opened: Instant,
    written: u64,
    kept: VecDeque<PathBuf>,
}

impl Rotator {
    fn start(base: &Path, when: RotateWhen) -> anyhow::Result<Rotator> {
        let path = rotated_name(base, 1);
        let current = Out::create(&path)?;
        Ok(Rotator {
            base: base.to_path_buf(),
            when,
            current,
            number: 1,
            opened: Instant::now(),
            written: 0,
            kept: VecDeque::from([path]),
        })
    }

    fn write_event(&mut self, json: &[u8], ts: u64) -> io::Result<()> {
        let full = self
            .when
            .bytes
            .is_some_and(|b| self.written > 0 && self.written + json.len() as u64 > b);
        let old = self
            .when
            .duration
            .is_some_and(|d| self.written > 0 && self.opened.elapsed() >= d);
        if full || old {
            self.current.flush()?;
            self.number += 1;
            let path = rotated_name(&self.base, self.number);
            self.current = Out::create(&path).map_err(|e| io::Error::other(format!("{e:#}")))?;
            self.kept.push_back(path);
            if let Some(n) = self.when.files {
                while self.kept.len() > n {
                    if let Some(p) = self.kept.pop_front() {
                        let _ = std::fs::remove_file(p);
                    }
                }
            }
            self.opened = Instant::now();
            self.written = 0;
        }
        self.written += json.len() as u64 + 1;
        self.current.write_event(json, ts)
    }
}

/// `dir/stem_00001_20261206101500.ext`, as dumpcap names ring-buffer files.
fn rotated_name(base: &Path, n: u32) -> PathBuf {
    let stem = base
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("events");
    let ext = base.extension().and_then(|s| s.to_str());
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, mo, d) = civil(secs / 86_400);
    let t = secs % 86_400;
    let name = format!(
        "{stem}_{n:05}_{y:04}{mo:02}{d:02}{:02}{:02}{:02}{}",
        t / 3600,
        t / 60 % 60,
        t % 60,
        ext.map(|e| format!(".{e}")).unwrap_or_default()
    );
    base.with_file_name(name)
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's algorithm).
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as u64, m as u64, d as u64)
}

struct Writer {
    out: Mutex<Out>,
    seen: Mutex<Dedup>,
    events: AtomicU64,
    duplicates: AtomicU64,
    unreadable: AtomicU64,
    limit: Option<u64>,
    stop: Arc<AtomicBool>,
}

impl Writer {
    fn fresh(&self, id: Option<&str>) -> bool {
        id.is_none_or(|id| self.seen.lock().expect("seen").take(id))
    }
}

impl Handler for Writer {
    fn events(&self, peer: &str, ev: &Events) -> Result<(), String> {
        let mut out = self.out.lock().expect("out");
        for e in &ev.entries {
            if let Some(limit) = self.limit {
                if self.events.load(Ordering::SeqCst) >= limit {
                    break;
                }
            }
            let json = match record::event_json(&e.record) {
                Ok(j) => j,
                Err(r) => {
                    if self.unreadable.fetch_add(1, Ordering::SeqCst) < 20 {
                        eprintln!(
                            "osprey: receive: {peer}: tag {}: record skipped: {r}",
                            ev.tag
                        );
                    }
                    continue;
                }
            };
            if !self.fresh(record::event_id(&e.record)) {
                self.duplicates.fetch_add(1, Ordering::SeqCst);
                continue;
            }
            let ts = osprey_event::peek_timestamp(&json).unwrap_or(e.time_ns);
            out.write_event(&json, ts)
                .map_err(|e| format!("writing: {e}"))?;
            self.events.fetch_add(1, Ordering::SeqCst);
        }
        out.flush().map_err(|e| format!("writing: {e}"))?;
        if self
            .limit
            .is_some_and(|l| self.events.load(Ordering::SeqCst) >= l)
        {
            self.stop.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// `osprey read`'s arguments for printing what arrives on `input`.
fn read_argv(args: &ReceiveArgs, input: &str) -> Vec<String> {
    let mut argv: Vec<String> = vec![
        "read".into(),
        "-r".into(),
        input.to_string(),
        "-l".into(),
        "-q".into(),
    ];
    if let Some(f) = &args.filter {
        argv.extend(["-Y".into(), f.clone()]);
    }
    if let Some(t) = &args.format {
        argv.extend(["-T".into(), t.clone()]);
    }
    for e in &args.fields {
        argv.extend(["-e".into(), e.clone()]);
    }
    if args.verbose {
        argv.push("-V".into());
    }
    if let Some(w) = &args.write {
        argv.extend(["-w".into(), w.display().to_string()]);
    }
    argv
}

/// Flushes and closes the output (the pipe's reader then sees the end of its input).
fn close(w: &Writer) -> io::Result<()> {
    let mut out = w.out.lock().map_err(|_| io::Error::other("poisoned"))?;
    let r = match &mut *out {
        Out::Lake(l) => osprey_print::FrameSink::finish(l.as_mut()),
        other => other.flush(),
    };
    *out = Out::Closed;
    r
}

fn parse_size(s: &str) -> anyhow::Result<usize> {
    let v = s.trim();
    let (num, mul) = match v.chars().last() {
        Some('k' | 'K') => (&v[..v.len() - 1], 1usize << 10),
        Some('m' | 'M') => (&v[..v.len() - 1], 1 << 20),
        _ => (v, 1),
    };
    num.parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .filter(|n| (64..=(1usize << 30)).contains(n))
        .with_context(|| format!("--max-frame {s}: expected a size between 64 bytes and 1G"))
}

pub fn run(args: ReceiveArgs) -> anyhow::Result<ExitCode> {
    let mut users = Vec::new();
    for u in &args.users {
        let Some((name, pass)) = u.split_once(':') else {
            bail!("--user {u}: expected USER:PASS");
        };
        users.push((name.to_string(), pass.to_string()));
    }
    let rotation = parse_rotation(&args.ring_buffer)?;
    let limits = osprey_forward::frame::Limits {
        max_frame: parse_size(&args.max_frame)?,
        ..Default::default()
    };
    let cfg = Arc::new(ServerConfig {
        shared_key: args.shared_key.clone(),
        users,
        limits,
        ..ServerConfig::default()
    });
    let printing = args.filter.is_some()
        || args.format.is_some()
        || !args.fields.is_empty()
        || args.verbose
        || args.write.is_none();
    let to_lake = args
        .write
        .as_ref()
        .is_some_and(|w| w.to_string_lossy().starts_with("lake:"));
    if rotation.is_some() && to_lake {
        bail!("a lake rolls its own files: -b does not apply to -w lake:DIR");
    }
    if rotation.is_some() && (printing || args.write.is_none()) {
        bail!("-b needs -w FILE (and no -Y, -T, -e or -V)");
    }
    if printing {
        // a bad -Y, -T or -e is reported before anything listens (and acks)
        let check = ReadCli::try_parse_from(read_argv(&args, "/dev/null"))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        read::check(&check.args)?;
    }
    let listener = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Listener::bind_tls(&args.listen, cert, key),
        _ => Listener::bind(&args.listen),
    }
    .with_context(|| format!("cannot listen on {}", args.listen))?;
    if !args.quiet {
        eprintln!(
            "osprey: receive: listening on {}{}",
            listener.local_addr(),
            match (args.tls_cert.is_some(), args.shared_key.is_some()) {
                (true, true) => " (TLS, shared key required)",
                (true, false) => " (TLS)",
                (false, true) => " (shared key required)",
                (false, false) => "",
            }
        );
    }
    install_signal_handlers();
    let stop = Arc::new(AtomicBool::new(false));

    // the read pipeline's argv, when it prints (or filters into -w)
    let mut read_fd = None;
    let out = if printing {
        let mut fds = [0; 2];
        // SAFETY: pipe fills two descriptors we then own.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error()).context("creating a pipe");
        }
        read_fd = Some(fds[0]);
        // SAFETY: fds[1] is ours alone.
        let w: Box<dyn Write + Send> = Box::new(unsafe { File::from_raw_fd(fds[1]) });
        Out::Ndjson(BufWriter::with_capacity(1 << 16, w))
    } else {
        let path = args.write.as_ref().expect("not printing: -w given");
        match rotation {
            Some(when) => Out::Rotating(Box::new(Rotator::start(path, when)?)),
            None => Out::create(path)?,
        }
    };
    let writer = Arc::new(Writer {
        out: Mutex::new(out),
        seen: Mutex::new(Dedup::default()),
        events: AtomicU64::new(0),
        duplicates: AtomicU64::new(0),
        unreadable: AtomicU64::new(0),
        limit: args.count,
        stop: stop.clone(),
    });
    // the signal flag reaches the server's flag
    {
        let stop = stop.clone();
        std::thread::spawn(move || loop {
            if STOP.load(Ordering::SeqCst) {
                stop.store(true, Ordering::SeqCst);
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        });
    }
    let server = {
        let (cfg, handler, stop) = (cfg.clone(), writer.clone(), stop.clone());
        let handler_out = writer.clone();
        std::thread::spawn(move || {
            receiver::serve(
                &listener,
                cfg,
                handler as Arc<dyn Handler>,
                stop,
                Arc::new(|m: &str| eprintln!("osprey: receive: {m}")),
            );
            close(&handler_out)
        })
    };

    let mut code = ExitCode::SUCCESS;
    if let Some(fd) = read_fd {
        let read_args = ReadCli::try_parse_from(read_argv(&args, &format!("/dev/fd/{fd}")))
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .args;
        // The reader runs here until the server ends and the pipe closes. It waits for the
        // first event to recognise the stream; with no event at all there is nothing to read.
        let result = read::run(read_args);
        let asked_to_stop = stop.load(Ordering::SeqCst);
        // The reader is done (the server ended, or the reader failed): stop serving, and
        // close our end of the pipe so that nothing more is acked into it.
        stop.store(true, Ordering::SeqCst);
        // SAFETY: fd is the pipe's read end, ours, not used after this.
        unsafe {
            libc::close(fd);
        }
        let _ = server.join();
        let written = writer.events.load(Ordering::SeqCst);
        match result {
            Ok(c) => code = c,
            // stopped before anything came: the reader found no recording in an empty stream
            Err(_) if written == 0 && asked_to_stop => {}
            Err(e) => return Err(e),
        }
    } else {
        server
            .join()
            .map_err(|_| anyhow::anyhow!("the server thread panicked"))?
            .context("writing the events")?;
    }
    if !args.quiet {
        eprintln!(
            "osprey: receive: {} events written, {} duplicates dropped, {} records without an event skipped",
            writer.events.load(Ordering::SeqCst),
            writer.duplicates.load(Ordering::SeqCst),
            writer.unreadable.load(Ordering::SeqCst)
        );
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_specs_and_names() {
        assert_eq!(parse_rotation(&[]).unwrap(), None);
        let r = parse_rotation(&["filesize:10".into(), "files:3".into()])
            .unwrap()
            .unwrap();
        assert_eq!(r.bytes, Some(10_000));
        assert_eq!(r.files, Some(3));
        assert!(parse_rotation(&["files:3".into()]).is_err());
        assert!(parse_rotation(&["size:3".into()]).is_err());
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(20_428), (2025, 12, 6));
        let n = rotated_name(Path::new("/d/ev.json"), 7);
        let s = n.to_str().unwrap();
        assert!(s.starts_with("/d/ev_00007_") && s.ends_with(".json"), "{s}");
        assert_eq!(s.len(), "/d/ev_00007_20261206101500.json".len());
    }
}
