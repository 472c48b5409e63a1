//! An at-least-once Forward client.
//!
//! [`Sender::event`] appends an event to the open batch (PackedForward entries with EventTime
//! nanoseconds); a batch is sealed into a *chunk* with a random id when it is big enough or at
//! [`Sender::flush`], and queued. A background thread sends the queue's chunks in order,
//! waits for each `{"ack": id}` (unless acks are off), and on a timeout, a refused connection
//! or a closed socket reconnects with exponential backoff and sends the same chunk again, with
//! the same id. Chunks wait in memory up to `memory_limit`, then in files of the spool
//! directory up to `spool_limit`; past that a new chunk is dropped and its events counted.
//! A spool directory is locked by its sender for as long as it lives (`flock` on its `lock`
//! file, released by the kernel however the process ends): a sender given a `spool_dir` left by
//! one that stopped sends the chunks found there first, and one using the default directories
//! deletes those of senders that stopped (their receiver may not be its own), so that a tracer
//! restarted in a loop does not fill the disk.
//! [`Sender::finish`] gives the thread `drain_timeout` to deliver what is queued and returns
//! the [`Stats`] — delivered, resent, spooled, dropped, undelivered — for the exit summary.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::frame::{FrameReader, Limits, ReadError};
use crate::proto::{self, Message, Options};
use crate::record;

/// Where the receiver is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `host:port`.
    Tcp(String),
    /// A Unix stream socket.
    Unix(PathBuf),
    /// `host:port` over TLS.
    Tls(String),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Tcp(a) => write!(f, "tcp://{a}"),
            Endpoint::Unix(p) => write!(f, "unix://{}", p.display()),
            Endpoint::Tls(a) => write!(f, "tls://{a}"),
        }
    }
}

/// The record layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Tracee's `{"event": "<json>"}`.
    Tracee,
    /// The event as a msgpack map.
    Record,
}

/// The frame mode chunks are sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMode {
    /// PackedForward (the default; CompressedPackedForward with `compress`).
    Packed,
    /// Forward mode.
    Forward,
}

/// Everything the sender is told.
#[derive(Debug, Clone)]
pub struct Config {
    /// The receiver.
    pub endpoint: Endpoint,
    /// The tag (Tracee's receivers expect `tracee`).
    pub tag: String,
    /// The record layout.
    pub format: Format,
    /// Frame mode.
    pub mode: SendMode,
    /// gzip the chunks (CompressedPackedForward).
    pub compress: bool,
    /// Ask for an ack of every chunk and resend until it comes.
    pub require_ack: bool,
    /// How long to wait for an ack before reconnecting and resending.
    pub ack_timeout: Duration,
    /// Chunks sent before their acks come back.
    pub window: usize,
    /// Shared key of the handshake (the client then waits for the server's HELO).
    pub shared_key: Option<String>,
    /// User name and password of the handshake's user authentication.
    pub user: Option<(String, String)>,
    /// Host name sent in PING.
    pub hostname: String,
    /// Seal a batch at this many events.
    pub batch_events: usize,
    /// Seal a batch at this many bytes.
    pub batch_bytes: usize,
    /// Chunks kept in memory before spilling to the spool, in bytes.
    pub memory_limit: u64,
    /// The spool directory (a fresh one under the temporary directory when `None`).
    pub spool_dir: Option<PathBuf>,
    /// Bytes the spool may hold.
    pub spool_limit: u64,
    /// Idle interval after which the connection is checked.
    pub heartbeat: Duration,
    /// Longest wait between reconnection attempts.
    pub max_backoff: Duration,
    /// Connect (and handshake) timeout.
    pub connect_timeout: Duration,
    /// How long [`Sender::finish`] keeps trying to deliver what is queued.
    pub drain_timeout: Duration,
    /// With `tls://`: the CA certificates (PEM) to trust instead of the system's.
    pub tls_ca: Option<PathBuf>,
    /// With `tls://`: the name to verify the certificate against (default: the host).
    pub tls_name: Option<String>,
}

impl Config {
    /// Defaults for an endpoint.
    pub fn new(endpoint: Endpoint) -> Self {
        Config {
            endpoint,
            tag: "tracee".into(),
            format: Format::Tracee,
            mode: SendMode::Packed,
            compress: false,
            require_ack: true,
            ack_timeout: Duration::from_secs(10),
            window: 4,
            shared_key: None,
            user: None,
            hostname: crate::hostname(),
            batch_events: 4096,
            batch_bytes: 4 << 20,
            memory_limit: 64 << 20,
            spool_dir: None,
            spool_limit: 1 << 30,
            heartbeat: Duration::from_secs(5),
            max_backoff: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(30),
            tls_ca: None,
            tls_name: None,
        }
    }

    /// Parses `tcp://[user:pass@]HOST:PORT?opt=v&...` or `unix:///PATH?...`. Options: `tag`,
    /// `format=tracee|record`, `mode=packed|forward`, `compress=gzip|none`, `ack=true|false`
    /// (`requireAck` too), `ack_timeout=SECS`, `shared_key`, `hostname`, `batch=EVENTS`,
    /// `memory=SIZE`, `spool=SIZE`, `spool_dir=DIR`, `heartbeat=SECS`, `backoff=SECS`,
    /// `drain_timeout=SECS` (SIZE takes K, M, G suffixes).
    pub fn from_url(url: &str) -> Result<Config, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("'{url}': expected tcp://HOST:PORT or unix:///PATH"))?;
        let (target, query) = match rest.split_once('?') {
            Some((t, q)) => (t, q),
            None => (rest, ""),
        };
        let mut user = None;
        let endpoint = match scheme {
            "tcp" | "tls" => {
                let host = match target.rsplit_once('@') {
                    Some((cred, host)) => {
                        let (u, p) = cred.split_once(':').unwrap_or((cred, ""));
                        user = Some((pct_decode(u)?, pct_decode(p)?));
                        host
                    }
                    None => target,
                };
                let host = host.trim_end_matches('/');
                if !host.contains(':') {
                    return Err(format!("'{url}': the address needs a port (HOST:PORT)"));
                }
                if scheme == "tls" {
                    Endpoint::Tls(host.to_string())
                } else {
                    Endpoint::Tcp(host.to_string())
                }
            }
            "unix" => {
                if target.is_empty() {
                    return Err(format!("'{url}': unix:// needs a socket path"));
                }
                Endpoint::Unix(PathBuf::from(pct_decode(target)?))
            }
            "udp" => {
                return Err(format!(
                    "'{url}': Forward over UDP carries no events (only heartbeats); use tcp://"
                ))
            }
            other => {
                return Err(format!(
                    "'{url}': unknown scheme '{other}' (tcp, tls or unix)"
                ))
            }
        };
        let mut c = Config::new(endpoint);
        c.user = user;
        for kv in query.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let v = pct_decode(v)?;
            let bad = |what: &str| format!("'{url}': {k}={v}: {what}");
            match k {
                "tag" if !v.is_empty() => c.tag = v,
                "format" => {
                    c.format = match v.as_str() {
                        "tracee" => Format::Tracee,
                        "record" => Format::Record,
                        _ => return Err(bad("expected tracee or record")),
                    }
                }
                "mode" => {
                    c.mode = match v.as_str() {
                        "packed" => SendMode::Packed,
                        "forward" => SendMode::Forward,
                        _ => return Err(bad("expected packed or forward")),
                    }
                }
                "compress" | "compressed" => {
                    c.compress = match v.as_str() {
                        "gzip" => true,
                        "none" | "" => false,
                        _ => return Err(bad("expected gzip or none")),
                    }
                }
                "ack" | "requireAck" | "require_ack" => {
                    c.require_ack = parse_bool(&v).ok_or_else(|| bad("expected true or false"))?
                }
                "ack_timeout" => c.ack_timeout = secs(&v).ok_or_else(|| bad("expected seconds"))?,
                "window" => {
                    c.window = v
                        .parse()
                        .ok()
                        .filter(|n| (1..=1024).contains(n))
                        .ok_or_else(|| bad("expected 1 to 1024 chunks"))?
                }
                "shared_key" => c.shared_key = Some(v),
                "hostname" => c.hostname = v,
                "batch" => {
                    c.batch_events = v
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| bad("expected a number of events"))?
                }
                "memory" => c.memory_limit = size(&v).ok_or_else(|| bad("expected a size"))?,
                "spool" => c.spool_limit = size(&v).ok_or_else(|| bad("expected a size"))?,
                "spool_dir" => c.spool_dir = Some(v.into()),
                "ca" | "tls_ca" => c.tls_ca = Some(v.into()),
                "sni" | "tls_name" => c.tls_name = Some(v),
                "heartbeat" => c.heartbeat = secs(&v).ok_or_else(|| bad("expected seconds"))?,
                "backoff" => c.max_backoff = secs(&v).ok_or_else(|| bad("expected seconds"))?,
                "connectionTimeout" | "connect_timeout" => {
                    c.connect_timeout = secs(&v).ok_or_else(|| bad("expected seconds"))?
                }
                "drain_timeout" => {
                    c.drain_timeout = secs(&v).ok_or_else(|| bad("expected seconds"))?
                }
                _ => return Err(format!("'{url}': unknown option '{k}'")),
            }
        }
        Ok(c)
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

fn secs(v: &str) -> Option<Duration> {
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e6)
        .map(Duration::from_secs_f64)
}

/// `1024`, `64K`, `100M`, `2G` (powers of 1024).
pub fn size(v: &str) -> Option<u64> {
    let v = v.trim();
    let (num, mul) = match v.char_indices().last()? {
        (i, 'k' | 'K') => (&v[..i], 1u64 << 10),
        (i, 'm' | 'M') => (&v[..i], 1 << 20),
        (i, 'g' | 'G') => (&v[..i], 1 << 30),
        _ => (v, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

fn pct_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent escape in '{s}'"))?;
            out.push(h);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("'{s}' is not UTF-8 once decoded"))
}

/// What the sender did, for the exit summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events handed to the sender.
    pub events: u64,
    /// Events delivered (acknowledged, or written when acks are off).
    pub delivered: u64,
    /// Chunks delivered.
    pub chunks: u64,
    /// Chunk sends that were repeats (after a timeout or a lost connection).
    pub resent: u64,
    /// Bytes written to the spool directory.
    pub spooled_bytes: u64,
    /// Chunks written to the spool directory.
    pub spooled_chunks: u64,
    /// Events dropped because the spool was full.
    pub dropped: u64,
    /// Events still queued when the drain timeout ran out.
    pub undelivered: u64,
    /// Events found in the spool directory, left there by a sender that stopped (counted in
    /// `events` too).
    pub adopted: u64,
    /// Connections made after the first.
    pub reconnects: u64,
    /// Failed connection attempts.
    pub connect_failures: u64,
}

impl Stats {
    /// One line for the exit summary.
    pub fn summary(&self, endpoint: &Endpoint) -> String {
        let adopted = match self.adopted {
            0 => String::new(),
            n => format!(" ({n} from the spool of a sender that stopped)"),
        };
        format!(
            "forward {endpoint}: {} of {} events{adopted} delivered in {} chunks, {} chunks resent, {} reconnects, {} bytes ({} chunks) spooled to disk, {} events dropped (spool full), {} events undelivered at exit",
            self.delivered,
            self.events,
            self.chunks,
            self.resent,
            self.reconnects,
            self.spooled_bytes,
            self.spooled_chunks,
            self.dropped,
            self.undelivered
        )
    }
}

enum Body {
    Mem(Arc<Vec<u8>>),
    Disk(PathBuf),
}

struct Chunk {
    id: String,
    events: u64,
    len: u64,
    body: Body,
    sends: u32,
}

struct Queue {
    items: VecDeque<Chunk>,
    mem_bytes: u64,
    disk_bytes: u64,
    file_no: u64,
    closing: Option<Instant>,
    stats: Stats,
    spool_dir: Option<PathBuf>,
    own_spool_dir: bool,
    /// The spool directory's lock, held while the sender lives.
    spool_lock: Option<File>,
    warned_full: bool,
}

struct Shared {
    q: Mutex<Queue>,
    cv: Condvar,
}

/// The client. Dropping it without [`Sender::finish`] delivers nothing more.
pub struct Sender {
    cfg: Config,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    batch: Vec<u8>,
    batch_events: u64,
    run_id: String,
    seq: u64,
    /// The current event's id (a buffer kept, to not allocate one per event).
    id: String,
    log: Arc<dyn Fn(&str) + Send + Sync>,
}

impl Sender {
    /// Starts the sending thread; nothing is connected until there is something to send.
    /// `log` receives one line per notable happening (connection lost, spool full).
    pub fn start(cfg: Config, log: Arc<dyn Fn(&str) + Send + Sync>) -> io::Result<Sender> {
        let mut q = Queue {
            items: VecDeque::new(),
            mem_bytes: 0,
            disk_bytes: 0,
            file_no: 0,
            closing: None,
            stats: Stats::default(),
            spool_dir: None,
            own_spool_dir: false,
            spool_lock: None,
            warned_full: false,
        };
        match &cfg.spool_dir {
            Some(dir) => {
                let lock = lock_spool(dir)?.ok_or_else(|| {
                    io::Error::other(format!(
                        "spool directory {} is in use by another sender",
                        dir.display()
                    ))
                })?;
                q.spool_dir = Some(dir.clone());
                q.spool_lock = Some(lock);
                adopt_spool(dir, &cfg, &mut q, &*log)?;
            }
            None => sweep_stopped_spools(&std::env::temp_dir(), &*log),
        }
        let shared = Arc::new(Shared {
            q: Mutex::new(q),
            cv: Condvar::new(),
        });
        let run_id = hex(&crate::random_bytes::<8>());
        let thread = {
            let (cfg, shared, log) = (cfg.clone(), shared.clone(), log.clone());
            std::thread::Builder::new()
                .name("forward".into())
                .spawn(move || run(cfg, shared, log))?
        };
        Ok(Sender {
            batch: Vec::with_capacity(batch_capacity(&cfg)),
            cfg,
            shared,
            thread: Some(thread),
            batch_events: 0,
            run_id,
            seq: 0,
            id: String::with_capacity(40),
            log,
        })
    }

    /// Adds an event: `json` is its exact JSON text, `ns` its time.
    pub fn event(&mut self, ns: u64, json: &[u8]) -> Result<(), serde_json::Error> {
        // the event's id, `<run>-<sequence>` (crate::dedup reads it back)
        self.id.clear();
        write!(self.id, "{}-{}", self.run_id, self.seq).expect("String");
        match self.cfg.format {
            Format::Tracee => {
                proto::write_entry_head(&mut self.batch, ns);
                record::write_tracee(&mut self.batch, json, Some(&self.id));
            }
            Format::Record => {
                let rec = record::as_map(json, Some(&self.id))?;
                proto::write_entry(&mut self.batch, ns, &rec);
            }
        }
        self.seq += 1;
        self.batch_events += 1;
        if self.batch_events as usize >= self.cfg.batch_events
            || self.batch.len() >= self.cfg.batch_bytes
        {
            self.seal();
        }
        Ok(())
    }

    /// Seals the open batch so that it is sent now.
    pub fn flush(&mut self) {
        self.seal();
    }

    fn seal(&mut self) {
        if self.batch_events == 0 {
            return;
        }
        let mut raw = std::mem::replace(
            &mut self.batch,
            Vec::with_capacity(batch_capacity(&self.cfg)),
        );
        // a queued chunk holds only what it needs (the memory limit counts lengths)
        if raw.len() < raw.capacity() / 2 {
            raw.shrink_to_fit();
        }
        let payload = if self.cfg.compress {
            proto::gzip(&raw)
        } else {
            raw
        };
        let events = std::mem::take(&mut self.batch_events);
        let chunk = Chunk {
            id: base64::engine::general_purpose::STANDARD.encode(crate::random_bytes::<16>()),
            events,
            len: payload.len() as u64,
            body: Body::Mem(Arc::new(payload)),
            sends: 0,
        };
        let mut q = self.shared.q.lock().expect("queue");
        q.stats.events += events;
        let spool_to = place(&mut q, chunk, &self.cfg, &*self.log);
        drop(q);
        if let Some((chunk, path)) = spool_to {
            // the file is written without the queue's lock, so the sending thread goes on
            // sending meanwhile; the producer is the only one adding chunks, so the order holds
            let written = std::fs::create_dir_all(path.parent().expect("a spool file's dir"))
                .and_then(|_| match &chunk.body {
                    Body::Mem(data) => std::fs::write(&path, &data[..]),
                    Body::Disk(_) => unreachable!("new chunks are in memory"),
                });
            let mut q = self.shared.q.lock().expect("queue");
            spooled(&mut q, chunk, path, written, &*self.log);
        }
        self.shared.cv.notify_one();
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.shared.q.lock().expect("queue").stats.clone()
    }

    /// Seals the open batch, gives the thread `drain_timeout` to deliver the queue, and
    /// returns the counters; what is left is counted as undelivered.
    pub fn finish(mut self) -> Stats {
        self.seal();
        {
            let mut q = self.shared.q.lock().expect("queue");
            q.closing = Some(Instant::now() + self.cfg.drain_timeout);
        }
        self.shared.cv.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let mut q = self.shared.q.lock().expect("queue");
        let left: u64 = q.items.iter().map(|c| c.events).sum();
        q.stats.undelivered = left;
        for c in q.items.drain(..) {
            if let Body::Disk(p) = c.body {
                let _ = std::fs::remove_file(p);
            }
        }
        if q.own_spool_dir {
            if let Some(d) = &q.spool_dir {
                // the lock file last, the lock itself (the open file) after the directory
                let _ = std::fs::remove_file(d.join(SPOOL_LOCK));
                let _ = std::fs::remove_dir(d);
            }
        }
        q.spool_lock = None;
        q.stats.clone()
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            {
                let mut q = self.shared.q.lock().expect("queue");
                q.closing = Some(Instant::now());
            }
            self.shared.cv.notify_one();
            let _ = t.join();
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Queues a new chunk in memory, or drops it when the spool is full, or reserves its place
/// in the spool: then the caller writes the returned file and calls [`spooled`].
fn place(
    q: &mut Queue,
    chunk: Chunk,
    cfg: &Config,
    log: &dyn Fn(&str),
) -> Option<(Chunk, PathBuf)> {
    let fits_memory = q.mem_bytes + chunk.len <= cfg.memory_limit;
    // a chunk goes to memory whenever there is room, even behind chunks waiting on disk: the
    // queue keeps the order, wherever each chunk's bytes are
    if fits_memory {
        q.mem_bytes += chunk.len;
        q.items.push_back(chunk);
        return None;
    }
    if q.disk_bytes + chunk.len > cfg.spool_limit {
        q.stats.dropped += chunk.events;
        if !q.warned_full {
            q.warned_full = true;
            log(&format!(
                "spool full ({} bytes): dropping events until the receiver catches up (counted in the summary)",
                cfg.spool_limit
            ));
        }
        return None;
    }
    let dir = match &q.spool_dir {
        Some(d) => d.clone(),
        None => match new_default_spool(&std::env::temp_dir()) {
            Ok((d, lock)) => {
                q.spool_dir = Some(d.clone());
                q.own_spool_dir = true;
                q.spool_lock = Some(lock);
                d
            }
            Err(e) => {
                q.stats.dropped += chunk.events;
                log(&format!(
                    "cannot make a spool directory ({e}); {} events dropped",
                    chunk.events
                ));
                return None;
            }
        },
    };
    q.file_no += 1;
    // counted from now on, so the spool limit holds while the file is written
    q.disk_bytes += chunk.len;
    let path = dir.join(format!("{:012}.chunk", q.file_no));
    Some((chunk, path))
}

/// The lock file of a spool directory.
const SPOOL_LOCK: &str = "lock";
/// The names of the default spool directories, under the temporary directory.
const DEFAULT_SPOOL: &str = "osprey-forward-spool-";

/// Takes an exclusive lock on `file`, released by the kernel when the process ends however it
/// ends; false when another open file holds it.
fn try_lock(file: &File) -> io::Result<bool> {
    // SAFETY: flock on a descriptor `file` owns.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EWOULDBLOCK) => Ok(false),
        _ => Err(e),
    }
}

/// Makes `dir` a spool directory and locks it; `None` when another sender holds it.
fn lock_spool(dir: &Path) -> io::Result<Option<File>> {
    std::fs::create_dir_all(dir)?;
    let lock = File::options()
        .create(true)
        .append(true)
        .open(dir.join(SPOOL_LOCK))?;
    Ok(try_lock(&lock)?.then_some(lock))
}

/// A fresh default spool directory under `tmp`, locked before it takes its name, so that a
/// sender sweeping stopped senders' directories never finds it unlocked.
fn new_default_spool(tmp: &Path) -> io::Result<(PathBuf, File)> {
    let name = format!(
        "{DEFAULT_SPOOL}{}-{}",
        std::process::id(),
        hex(&crate::random_bytes::<4>())
    );
    let staging = tmp.join(format!(".{name}"));
    std::fs::create_dir(&staging)?;
    let lock = File::create(staging.join(SPOOL_LOCK))?;
    if !try_lock(&lock)? {
        return Err(io::Error::other("a new spool directory is locked already"));
    }
    let dir = tmp.join(name);
    std::fs::rename(&staging, &dir)?;
    Ok((dir, lock))
}

/// Deletes the default spool directories under `tmp` that this user's senders left when they
/// stopped without draining them (their lock is free): their chunks were for a receiver that
/// need not be this sender's, and a tracer restarted in a loop would otherwise fill the disk.
fn sweep_stopped_spools(tmp: &Path, log: &dyn Fn(&str)) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let mine = entry.file_type().is_ok_and(|t| t.is_dir())
            && entry.metadata().is_ok_and(|m| m.uid() == me);
        if !mine || !name.to_string_lossy().starts_with(DEFAULT_SPOOL) {
            continue;
        }
        let dir = entry.path();
        let Ok(Some(_lock)) = lock_spool(&dir) else {
            continue;
        };
        let (mut chunks, mut bytes) = (0u64, 0u64);
        for f in std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
        {
            if f.file_name().to_string_lossy().ends_with(".chunk") {
                chunks += 1;
                bytes += f.metadata().map_or(0, |m| m.len());
            }
        }
        if std::fs::remove_dir_all(&dir).is_ok() && chunks > 0 {
            log(&format!(
                "deleted {}: {chunks} chunks ({bytes} bytes) a sender that stopped had not delivered",
                dir.display()
            ));
        }
    }
}

/// Queues the chunks a sender that stopped left in `dir`, in their order, to be sent before
/// anything new: each is checked (PackedForward entries, gzip or not) and re-encoded for this
/// sender's compression; one that does not decode is deleted and said so.
fn adopt_spool(dir: &Path, cfg: &Config, q: &mut Queue, log: &dyn Fn(&str)) -> io::Result<()> {
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = name.strip_suffix(".chunk")?.parse::<u64>().ok()?;
            Some((n, e.path()))
        })
        .collect();
    files.sort();
    for (n, path) in files {
        q.file_no = q.file_no.max(n);
        let data = std::fs::read(&path)?;
        match proto::recode_packed(&data, cfg.compress, &Limits::default()) {
            Ok((events, payload)) => {
                if payload != data {
                    std::fs::write(&path, &payload)?;
                }
                q.stats.events += events;
                q.stats.adopted += events;
                q.disk_bytes += payload.len() as u64;
                q.items.push_back(Chunk {
                    id: base64::engine::general_purpose::STANDARD
                        .encode(crate::random_bytes::<16>()),
                    events,
                    len: payload.len() as u64,
                    body: Body::Disk(path),
                    sends: 0,
                });
            }
            Err(e) => {
                log(&format!(
                    "spooled chunk {} unreadable ({e}): deleted",
                    path.display()
                ));
                std::fs::remove_file(&path)?;
            }
        }
    }
    if q.stats.adopted > 0 {
        log(&format!(
            "sending first the {} events a sender that stopped left in {}",
            q.stats.adopted,
            dir.display()
        ));
    }
    Ok(())
}

/// Queues a chunk whose spool file [`place`] reserved, once it is written (or drops it).
fn spooled(
    q: &mut Queue,
    mut chunk: Chunk,
    path: PathBuf,
    written: io::Result<()>,
    log: &dyn Fn(&str),
) {
    match written {
        Ok(()) => {
            if q.stats.spooled_chunks == 0 {
                log(&format!(
                    "receiver behind: spooling chunks to {}",
                    path.parent().unwrap_or(&path).display()
                ));
            }
            q.stats.spooled_bytes += chunk.len;
            q.stats.spooled_chunks += 1;
            chunk.body = Body::Disk(path);
            q.items.push_back(chunk);
        }
        Err(e) => {
            q.disk_bytes -= chunk.len;
            q.stats.dropped += chunk.events;
            let _ = std::fs::remove_file(&path);
            log(&format!(
                "cannot spool to {}: {e}; {} events dropped",
                path.display(),
                chunk.events
            ));
        }
    }
}

/// Room for a whole batch at once (a batch grown by doubling is copied on the way).
fn batch_capacity(cfg: &Config) -> usize {
    cfg.batch_bytes.min(8 << 20) + (64 << 10)
}

/// A connection to the receiver.
pub struct Conn {
    stream: Stream,
    reader: FrameReader,
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(b),
            Stream::Unix(s) => s.read(b),
            Stream::Tls(s) => s.read(b),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(b),
            Stream::Unix(s) => s.write(b),
            Stream::Tls(s) => s.write(b),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tls(s) => s.flush(),
            _ => Ok(()),
        }
    }
}

impl Stream {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(t),
            Stream::Unix(s) => s.set_read_timeout(t),
            Stream::Tls(s) => s.sock.set_read_timeout(t),
        }
    }
    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nonblocking(on),
            Stream::Unix(s) => s.set_nonblocking(on),
            Stream::Tls(s) => s.sock.set_nonblocking(on),
        }
    }
}

fn tcp_connect(addr: &str, timeout: Duration) -> Result<TcpStream, String> {
    let addrs: Vec<_> = addr
        .to_socket_addrs()
        .map_err(|e| format!("resolving {addr}: {e}"))?
        .collect();
    let mut last = format!("{addr}: no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = format!("{a}: {e}"),
        }
    }
    Err(last)
}

impl Conn {
    /// Connects and, with a shared key, runs the client half of the handshake.
    pub fn open(cfg: &Config) -> Result<Conn, String> {
        let stream = match &cfg.endpoint {
            Endpoint::Tcp(addr) => Stream::Tcp(tcp_connect(addr, cfg.connect_timeout)?),
            Endpoint::Tls(addr) => {
                let tcp = tcp_connect(addr, cfg.connect_timeout)?;
                let tls = crate::tls::client_config(cfg.tls_ca.as_deref())?;
                let host = cfg.tls_name.clone().unwrap_or_else(|| {
                    let h = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr);
                    h.trim_start_matches('[').trim_end_matches(']').to_string()
                });
                let name = rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| format!("TLS name {host:?}: {e}"))?;
                let conn = rustls::ClientConnection::new(tls, name).map_err(|e| e.to_string())?;
                let mut s = rustls::StreamOwned::new(conn, tcp);
                s.sock
                    .set_read_timeout(Some(cfg.connect_timeout))
                    .map_err(|e| e.to_string())?;
                while s.conn.is_handshaking() {
                    s.conn
                        .complete_io(&mut s.sock)
                        .map_err(|e| format!("TLS handshake with {addr}: {e}"))?;
                }
                Stream::Tls(Box::new(s))
            }
            Endpoint::Unix(p) => {
                Stream::Unix(UnixStream::connect(p).map_err(|e| format!("{}: {e}", p.display()))?)
            }
        };
        let mut c = Conn {
            stream,
            reader: FrameReader::new(Limits {
                max_frame: 1 << 20,
                ..Limits::default()
            }),
        };
        if let Some(key) = &cfg.shared_key {
            c.handshake(cfg, key)?;
        }
        Ok(c)
    }

    fn read_message(&mut self, timeout: Duration) -> Result<Message, String> {
        self.stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        match self.reader.next_frame(&mut self.stream) {
            Ok(Some(f)) => {
                proto::decode(&f, &Limits::default()).map_err(|r| format!("bad reply: {r}"))
            }
            Ok(None) => Err("the receiver closed the connection".into()),
            Err(ReadError::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err("timed out".into())
            }
            Err(ReadError::Io(e)) => Err(e.to_string()),
            Err(ReadError::Reject(r)) => Err(format!("bad reply: {r}")),
        }
    }

    fn handshake(&mut self, cfg: &Config, key: &str) -> Result<(), String> {
        let helo = match self.read_message(cfg.connect_timeout) {
            Ok(Message::Helo(h)) => h,
            Ok(other) => return Err(format!("expected HELO from the receiver, got {other:?}")),
            Err(e) => return Err(format!("waiting for HELO (a shared key is set): {e}")),
        };
        let salt = crate::random_bytes::<16>().to_vec();
        let (user, pass) = cfg.user.clone().unwrap_or_default();
        let ping = proto::Ping {
            hostname: cfg.hostname.clone(),
            shared_key_digest: proto::shared_key_digest(&salt, &cfg.hostname, &helo.nonce, key),
            shared_key_salt: salt.clone(),
            password_digest: if helo.auth.is_empty() {
                String::new()
            } else {
                proto::password_digest(&helo.auth, &user, &pass)
            },
            username: if helo.auth.is_empty() {
                String::new()
            } else {
                user
            },
        };
        self.stream
            .write_all(&proto::encode_ping(&ping))
            .map_err(|e| format!("sending PING: {e}"))?;
        match self.read_message(cfg.connect_timeout)? {
            Message::Pong(p) if !p.ok => {
                Err(format!("the receiver refused the handshake: {}", p.reason))
            }
            Message::Pong(p) => {
                let want = proto::shared_key_digest(&salt, &p.hostname, &helo.nonce, key);
                if want != p.digest {
                    return Err(
                        "the receiver's PONG digest does not match: it has another shared key"
                            .into(),
                    );
                }
                Ok(())
            }
            other => Err(format!("expected PONG, got {other:?}")),
        }
    }

    /// Sends one frame.
    pub fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        self.stream.write_all(frame)
    }

    /// Sends a chunk's frame: its head, the payload where it lies, its tail (one vectored
    /// write where the stream takes it, so the payload is not copied into a frame first).
    fn send_chunk(
        &mut self,
        cfg: &Config,
        id: &str,
        events: u64,
        payload: &[u8],
    ) -> io::Result<()> {
        let (head, tail) = frame_for(cfg, id, events, payload);
        let mut parts = [
            io::IoSlice::new(&head),
            io::IoSlice::new(payload),
            io::IoSlice::new(&tail),
        ];
        let mut parts = &mut parts[..];
        while !parts.is_empty() {
            match self.stream.write_vectored(parts) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => io::IoSlice::advance_slices(&mut parts, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Waits for `{"ack": chunk}`.
    pub fn wait_ack(&mut self, chunk: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err("no ack before the timeout".into());
            }
            match self.read_message(left)? {
                Message::Ack(a) if a == chunk => return Ok(()),
                Message::Ack(_) => continue, // a late ack of an earlier send
                other => return Err(format!("expected an ack, got {other:?}")),
            }
        }
    }

    /// Whether the peer still holds the connection open (a non-blocking peek).
    pub fn alive(&mut self) -> bool {
        if self.stream.set_nonblocking(true).is_err() {
            return false;
        }
        let mut b = [0u8; 1];
        let r = match &self.stream {
            Stream::Tcp(s) => s.peek(&mut b),
            // pending TLS records (a close_notify included) count as alive; a closed socket not
            Stream::Tls(s) => s.sock.peek(&mut b),
            Stream::Unix(s) => {
                // UnixStream has no stable peek: a read of pending bytes (an unexpected
                // message) is buffered by the frame reader on the next read anyway
                let mut s = s;
                s.read(&mut b).map(|n| {
                    if n == 1 {
                        // unexpected data from the receiver: treat the connection as suspect
                        0
                    } else {
                        n
                    }
                })
            }
        };
        let ok = match r {
            Ok(0) => false,
            Ok(_) => true,
            Err(e) => e.kind() == io::ErrorKind::WouldBlock,
        };
        ok && self.stream.set_nonblocking(false).is_ok()
    }
}

/// A chunk's frame around its payload: (what goes before, what goes after).
fn frame_for(cfg: &Config, id: &str, events: u64, payload: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let opts = Options {
        chunk: cfg.require_ack.then(|| id.to_string()),
        size: Some(events),
        compressed: cfg.compress.then(|| "gzip".to_string()),
    };
    match cfg.mode {
        SendMode::Forward if !cfg.compress => {
            proto::forward_frame_parts(&cfg.tag, events as u32, &opts)
        }
        _ => proto::packed_frame_parts(&cfg.tag, payload.len(), &opts),
    }
}

/// The sending thread. Up to `cfg.window` chunks are in flight (sent, not yet acked); acks
/// come back in order, each for the oldest chunk in flight. A timeout or a failed connection
/// sends every unacked chunk again on a new connection, in order, with the same ids.
fn run(cfg: Config, shared: Arc<Shared>, log: Arc<dyn Fn(&str) + Send + Sync>) {
    let mut conn: Option<Conn> = None;
    let mut backoff = Duration::from_millis(100);
    let mut next_attempt = Instant::now();
    let mut failing = false;
    let mut connected_once = false;
    // chunks at the front of the queue that are in flight on `conn`
    let mut inflight = 0usize;
    let window = cfg.window.max(1);
    loop {
        let closing = shared.q.lock().expect("queue").closing;
        if closing.is_some_and(|d| Instant::now() >= d) {
            return;
        }
        // nothing queued: wait (an idle connection is checked at each heartbeat)
        {
            let q = shared.q.lock().expect("queue");
            if q.items.is_empty() {
                if q.closing.is_some() {
                    return;
                }
                let (q, _) = shared.cv.wait_timeout(q, cfg.heartbeat).expect("queue");
                let empty = q.items.is_empty();
                drop(q);
                if empty {
                    if let Some(c) = conn.as_mut() {
                        if !c.alive() {
                            log("the receiver closed the connection; reconnecting when there is more to send");
                            conn = None;
                        }
                    }
                }
                continue;
            }
        }
        // connect
        if conn.is_none() {
            inflight = 0;
            let now = Instant::now();
            if now < next_attempt {
                let wait = (next_attempt - now).min(Duration::from_millis(100));
                if closing.is_some_and(|d| now + wait >= d) {
                    return;
                }
                std::thread::sleep(wait);
                continue;
            }
            match Conn::open(&cfg) {
                Ok(c) => {
                    if failing {
                        log("connected again; sending what was queued");
                    }
                    if connected_once {
                        shared.q.lock().expect("queue").stats.reconnects += 1;
                    }
                    connected_once = true;
                    failing = false;
                    backoff = Duration::from_millis(100);
                    conn = Some(c);
                }
                Err(e) => {
                    shared.q.lock().expect("queue").stats.connect_failures += 1;
                    if !failing {
                        log(&format!(
                            "cannot reach the receiver ({e}); queueing and retrying with backoff"
                        ));
                    }
                    failing = true;
                    next_attempt = Instant::now() + backoff;
                    backoff = (backoff * 2).min(cfg.max_backoff);
                    continue;
                }
            }
        }
        let c = conn.as_mut().expect("connected");
        // fill the window
        let mut error = None;
        while inflight < window {
            let next = {
                let mut q = shared.q.lock().expect("queue");
                q.items.get_mut(inflight).map(|ch| {
                    ch.sends += 1;
                    let body = match &ch.body {
                        Body::Mem(d) => Ok(d.clone()),
                        Body::Disk(p) => Err(p.clone()),
                    };
                    (ch.id.clone(), ch.events, body)
                })
            };
            let Some((id, events, body)) = next else {
                break;
            };
            // a spooled chunk is read without the queue's lock (only this thread removes it)
            let body = body.or_else(|p| {
                std::fs::read(&p)
                    .map(Arc::new)
                    .map_err(|e| format!("{}: {e}", p.display()))
            });
            let body = match body {
                Ok(b) => b,
                Err(e) => {
                    log(&format!(
                        "spooled chunk unreadable ({e}): its {events} events are dropped"
                    ));
                    let mut q = shared.q.lock().expect("queue");
                    q.stats.dropped += events;
                    remove_at(&mut q, inflight);
                    continue;
                }
            };
            if let Err(e) = c.send_chunk(&cfg, &id, events, &body) {
                error = Some(format!("chunk {id}: {e}"));
                break;
            }
            if cfg.require_ack {
                inflight += 1;
            } else {
                let mut q = shared.q.lock().expect("queue");
                delivered(&mut q);
            }
        }
        // wait for the oldest chunk's ack
        if error.is_none() && inflight > 0 {
            let id = {
                let q = shared.q.lock().expect("queue");
                q.items.front().map(|c| c.id.clone()).unwrap_or_default()
            };
            match c.wait_ack(&id, cfg.ack_timeout) {
                Ok(()) => {
                    let mut q = shared.q.lock().expect("queue");
                    delivered(&mut q);
                    inflight -= 1;
                }
                Err(e) => error = Some(format!("chunk {id}: {e}")),
            }
        }
        if let Some(e) = error {
            if !failing {
                log(&format!(
                    "{e}; reconnecting to send the unacknowledged chunks again"
                ));
            }
            failing = true;
            conn = None;
            inflight = 0;
            next_attempt = Instant::now() + backoff;
            backoff = (backoff * 2).min(cfg.max_backoff);
        }
    }
}

/// The front chunk was delivered.
fn delivered(q: &mut Queue) {
    if let Some(c) = q.items.front() {
        let (events, sends) = (c.events, c.sends);
        q.stats.delivered += events;
        q.stats.chunks += 1;
        q.stats.resent += sends.saturating_sub(1) as u64;
    }
    pop_front(q);
}

fn remove_at(q: &mut Queue, i: usize) {
    if i == 0 {
        pop_front(q);
        return;
    }
    if let Some(c) = q.items.remove(i) {
        match c.body {
            Body::Mem(_) => q.mem_bytes -= c.len,
            Body::Disk(p) => {
                let _ = std::fs::remove_file(p);
                q.disk_bytes -= c.len;
            }
        }
    }
}

fn pop_front(q: &mut Queue) {
    if let Some(c) = q.items.pop_front() {
        match c.body {
            Body::Mem(_) => q.mem_bytes -= c.len,
            Body::Disk(p) => {
                let _ = std::fs::remove_file(p);
                q.disk_bytes -= c.len;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spools_of_senders_that_stopped_are_swept_and_live_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        // A live sender's directory: locked from before it had its name.
        let (live, _held) = new_default_spool(tmp.path()).unwrap();
        assert!(live
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(DEFAULT_SPOOL));
        std::fs::write(live.join("000000000001.chunk"), b"x").unwrap();
        // One whose sender stopped: its lock is free.
        let (dead, lock) = new_default_spool(tmp.path()).unwrap();
        std::fs::write(dead.join("000000000001.chunk"), b"abc").unwrap();
        drop(lock);
        // Not a spool of ours, by its name.
        let other = tmp.path().join("somebody-else");
        std::fs::create_dir(&other).unwrap();
        let said = Arc::new(Mutex::new(Vec::new()));
        let log = {
            let said = said.clone();
            move |m: &str| said.lock().unwrap().push(m.to_string())
        };
        sweep_stopped_spools(tmp.path(), &log);
        assert!(!dead.exists());
        assert!(live.join("000000000001.chunk").exists());
        assert!(other.exists());
        let said = said.lock().unwrap();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].contains("1 chunks (3 bytes)"), "{said:?}");
    }

    #[test]
    fn spooled_payloads_are_recoded_for_the_senders_compression() {
        let mut raw = Vec::new();
        for i in 0..3u64 {
            proto::write_entry(&mut raw, i, &record::tracee(b"{}", None));
        }
        let limits = Limits::default();
        let (n, gz) = proto::recode_packed(&raw, true, &limits).unwrap();
        assert_eq!(n, 3);
        assert_ne!(gz, raw);
        assert_eq!(
            proto::recode_packed(&gz, false, &limits).unwrap(),
            (3, raw.clone())
        );
        assert_eq!(
            proto::recode_packed(&gz, true, &limits).unwrap(),
            (3, gz.clone())
        );
        assert!(proto::recode_packed(b"\xc1junk", false, &limits).is_err());
    }

    #[test]
    fn urls_parse() {
        let c = Config::from_url("tcp://u:p%40ss@127.0.0.1:24224?tag=t&format=record&compress=gzip&ack=false&spool=10M&shared_key=k").unwrap();
        assert_eq!(c.endpoint, Endpoint::Tcp("127.0.0.1:24224".into()));
        assert_eq!(c.user, Some(("u".into(), "p@ss".into())));
        assert_eq!(c.tag, "t");
        assert_eq!(c.format, Format::Record);
        assert!(c.compress && !c.require_ack);
        assert_eq!(c.spool_limit, 10 << 20);
        assert_eq!(c.shared_key.as_deref(), Some("k"));
        let u = Config::from_url("unix:///run/x.sock").unwrap();
        assert_eq!(u.endpoint, Endpoint::Unix("/run/x.sock".into()));
        assert_eq!(u.tag, "tracee");
        assert!(u.require_ack);
        assert!(Config::from_url("tcp://host").is_err());
        assert!(Config::from_url("tcp://h:1?bogus=1").is_err());
        let t = Config::from_url("tls://h.example:1?ca=/x.pem&sni=n").unwrap();
        assert_eq!(t.endpoint, Endpoint::Tls("h.example:1".into()));
        assert_eq!(t.tls_ca, Some("/x.pem".into()));
        assert_eq!(t.tls_name.as_deref(), Some("n"));
    }
}
