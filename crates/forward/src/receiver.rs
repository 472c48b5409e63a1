//! A Forward server: TCP or a Unix socket, one thread per connection.
//!
//! Each connection optionally runs the server half of the handshake (HELO, check the PING's
//! digests, PONG), then reads frames under the [`Limits`], decodes them, hands the events to
//! the [`Handler`] and, when the frame asked for it and the handler took the events, answers
//! `{"ack": chunk}`. A frame that decodes badly is logged with its reason and skipped (no
//! ack, so an at-least-once sender sends it again); a stream whose framing is lost (a frame
//! beyond the limits, a byte that is no msgpack) is logged and that connection alone closed.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::frame::{FrameReader, Limits, ReadError};
use crate::proto::{self, Events, Message};

/// The server's settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Require the handshake with this shared key.
    pub shared_key: Option<String>,
    /// With a shared key, also require one of these users (name, password).
    pub users: Vec<(String, String)>,
    /// Host name sent in PONG.
    pub hostname: String,
    /// Bounds on frames.
    pub limits: Limits,
    /// Connections served at once; more are refused.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            shared_key: None,
            users: Vec::new(),
            hostname: crate::hostname(),
            limits: Limits::default(),
            max_connections: 256,
        }
    }
}

/// What the server does with events.
pub trait Handler: Send + Sync {
    /// Takes the events of one frame from `peer`. `Ok` lets the server ack the frame;
    /// `Err(reason)` is logged and the frame is not acked.
    fn events(&self, peer: &str, events: &Events) -> Result<(), String>;
}

/// A bound listening socket.
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// A Unix socket (removed when the listener is dropped).
    Unix(UnixListener, PathBuf),
    /// TLS over TCP.
    Tls(TcpListener, Arc<rustls::ServerConfig>),
}

impl Listener {
    /// Binds `HOST:PORT`, or `unix:PATH` / `unix://PATH`.
    pub fn bind(addr: &str) -> io::Result<Listener> {
        if let Some(p) = addr
            .strip_prefix("unix://")
            .or_else(|| addr.strip_prefix("unix:"))
        {
            let l = UnixListener::bind(p)?;
            l.set_nonblocking(true)?;
            return Ok(Listener::Unix(l, p.into()));
        }
        let addr = addr.strip_prefix("tcp://").unwrap_or(addr);
        let l = TcpListener::bind(addr)?;
        l.set_nonblocking(true)?;
        Ok(Listener::Tcp(l))
    }

    /// Binds `HOST:PORT` for TLS with a PEM certificate chain and key.
    pub fn bind_tls(
        addr: &str,
        cert: &std::path::Path,
        key: &std::path::Path,
    ) -> io::Result<Listener> {
        let cfg = crate::tls::server_config(cert, key)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let addr = addr.strip_prefix("tls://").unwrap_or(addr);
        let l = TcpListener::bind(addr)?;
        l.set_nonblocking(true)?;
        Ok(Listener::Tls(l, cfg))
    }

    /// The bound address (`127.0.0.1:24224`, `unix:/path`).
    pub fn local_addr(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| "?".into()),
            Listener::Unix(_, p) => format!("unix:{}", p.display()),
            Listener::Tls(l, _) => l
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| "?".into()),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, p) = self {
            let _ = std::fs::remove_file(p);
        }
    }
}

trait Conn: Read + Write + Send {
    fn timeout(&self, t: Duration) -> io::Result<()>;
}
impl Conn for TcpStream {
    fn timeout(&self, t: Duration) -> io::Result<()> {
        self.set_nonblocking(false)?;
        self.set_read_timeout(Some(t))
    }
}
impl Conn for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn timeout(&self, t: Duration) -> io::Result<()> {
        self.sock.set_nonblocking(false)?;
        self.sock.set_read_timeout(Some(t))
    }
}
impl Conn for UnixStream {
    fn timeout(&self, t: Duration) -> io::Result<()> {
        self.set_nonblocking(false)?;
        self.set_read_timeout(Some(t))
    }
}

/// Serves until `stop` is set; then waits for the connections to finish their current frame.
pub fn serve(
    listener: &Listener,
    cfg: Arc<ServerConfig>,
    handler: Arc<dyn Handler>,
    stop: Arc<AtomicBool>,
    log: Arc<dyn Fn(&str) + Send + Sync>,
) {
    let active = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let accepted: io::Result<(Box<dyn Conn>, String)> = match listener {
            Listener::Tcp(l) => l
                .accept()
                .map(|(s, a)| (Box::new(s) as Box<dyn Conn>, a.to_string())),
            Listener::Unix(l, p) => l.accept().map(|(s, _)| {
                (
                    Box::new(s) as Box<dyn Conn>,
                    format!("unix:{}", p.display()),
                )
            }),
            Listener::Tls(l, cfg) => l.accept().and_then(|(s, a)| {
                let conn = rustls::ServerConnection::new(cfg.clone()).map_err(io::Error::other)?;
                Ok((
                    Box::new(rustls::StreamOwned::new(conn, s)) as Box<dyn Conn>,
                    format!("tls://{a}"),
                ))
            }),
        };
        match accepted {
            Ok((conn, peer)) => {
                if active.load(Ordering::SeqCst) >= cfg.max_connections {
                    log(&format!(
                        "{peer}: refused: already {} connections",
                        cfg.max_connections
                    ));
                    continue;
                }
                active.fetch_add(1, Ordering::SeqCst);
                let (cfg, handler, stop, log, active) = (
                    cfg.clone(),
                    handler.clone(),
                    stop.clone(),
                    log.clone(),
                    active.clone(),
                );
                threads.push(std::thread::spawn(move || {
                    if let Err(e) = connection(conn, &peer, &cfg, &*handler, &stop, &*log) {
                        log(&format!("{peer}: {e}"));
                    }
                    active.fetch_sub(1, Ordering::SeqCst);
                }));
                threads.retain(|t| !t.is_finished());
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => {
                log(&format!("accept: {e}"));
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    for t in threads {
        let _ = t.join();
    }
}

const POLL: Duration = Duration::from_millis(200);

fn next(
    r: &mut FrameReader,
    c: &mut dyn Conn,
    stop: &AtomicBool,
    deadline: Option<Instant>,
) -> Result<Option<Vec<u8>>, String> {
    loop {
        match r.next_frame(c) {
            Ok(f) => return Ok(f),
            Err(ReadError::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if stop.load(Ordering::SeqCst) {
                    return Ok(None);
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err("timed out waiting for the handshake".into());
                }
            }
            Err(ReadError::Io(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(ReadError::Io(e)) => return Err(e.to_string()),
            Err(ReadError::Reject(r)) => {
                return Err(format!("rejected, closing this connection: {r}"))
            }
        }
    }
}

fn connection(
    mut c: Box<dyn Conn>,
    peer: &str,
    cfg: &ServerConfig,
    handler: &dyn Handler,
    stop: &AtomicBool,
    log: &dyn Fn(&str),
) -> Result<(), String> {
    c.timeout(POLL).map_err(|e| e.to_string())?;
    let mut reader = FrameReader::new(cfg.limits);
    if let Some(key) = &cfg.shared_key {
        let nonce = crate::random_bytes::<16>().to_vec();
        let auth = if cfg.users.is_empty() {
            Vec::new()
        } else {
            crate::random_bytes::<16>().to_vec()
        };
        c.write_all(&proto::encode_helo(&proto::Helo {
            nonce: nonce.clone(),
            auth: auth.clone(),
            keepalive: true,
        }))
        .map_err(|e| e.to_string())?;
        let hs_limits = Limits {
            max_frame: 64 << 10,
            ..cfg.limits
        };
        let mut hs_reader = FrameReader::new(hs_limits);
        let frame = next(
            &mut hs_reader,
            &mut *c,
            stop,
            Some(Instant::now() + Duration::from_secs(10)),
        )?
        .ok_or("closed before PING")?;
        let ping = match proto::decode(&frame, &hs_limits) {
            Ok(Message::Ping(p)) => p,
            Ok(_) => return Err("rejected: expected PING after HELO".into()),
            Err(r) => return Err(format!("rejected PING: {r}")),
        };
        let mut reason = String::new();
        if ping.shared_key_digest
            != proto::shared_key_digest(&ping.shared_key_salt, &ping.hostname, &nonce, key)
        {
            reason = "shared key mismatch".into();
        } else if !cfg.users.is_empty() {
            let ok = cfg.users.iter().any(|(u, p)| {
                *u == ping.username && proto::password_digest(&auth, u, p) == ping.password_digest
            });
            if !ok {
                reason = "username/password mismatch".into();
            }
        }
        let ok = reason.is_empty();
        c.write_all(&proto::encode_pong(&proto::Pong {
            ok,
            reason: reason.clone(),
            hostname: cfg.hostname.clone(),
            digest: proto::shared_key_digest(&ping.shared_key_salt, &cfg.hostname, &nonce, key),
        }))
        .map_err(|e| e.to_string())?;
        if !ok {
            return Err(format!("handshake refused: {reason}"));
        }
        // bytes after the PING belong to the event stream
        reader = hs_reader.with_limits(cfg.limits);
    }
    let mut logged = 0u32;
    while let Some(frame) = next(&mut reader, &mut *c, stop, None)? {
        if stop.load(Ordering::SeqCst) {
            // stopping: this frame is not taken (nor acked), the sender sends it again
            break;
        }
        match proto::decode(&frame, &cfg.limits) {
            Ok(Message::Events(ev)) => match handler.events(peer, &ev) {
                Ok(()) => {
                    if let Some(chunk) = &ev.options.chunk {
                        c.write_all(&proto::encode_ack(chunk))
                            .map_err(|e| format!("sending ack: {e}"))?;
                    }
                }
                Err(e) => return Err(format!("events not taken ({e}); closing without ack")),
            },
            Ok(other) => {
                if logged < 20 {
                    logged += 1;
                    log(&format!(
                        "{peer}: rejected a frame: unexpected message {}",
                        short(&other)
                    ));
                }
            }
            Err(r) => {
                if logged < 20 {
                    logged += 1;
                    log(&format!("{peer}: rejected a frame: {r}"));
                }
            }
        }
    }
    Ok(())
}

fn short(m: &Message) -> &'static str {
    match m {
        Message::Events(_) => "events",
        Message::Ping(_) => "PING",
        Message::Helo(_) => "HELO",
        Message::Pong(_) => "PONG",
        Message::Ack(_) => "ack",
    }
}

impl FrameReader {
    /// The same reader (and what it has buffered) with other limits.
    pub fn with_limits(mut self, limits: Limits) -> FrameReader {
        self.set_limits(limits);
        self
    }
}
