//! The sender and the receiver over loopback: every mode, the handshake, acks, an outage
//! bridged by the spool, and hostile bytes that must not kill other connections.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use osprey_forward::frame::Limits;
use osprey_forward::proto::{self, Events, Message, Options};
use osprey_forward::receiver::{self, Handler, Listener, ServerConfig};
use osprey_forward::record;
use osprey_forward::sender::{Config, Endpoint, Format, SendMode, Sender};

/// (event JSON, time, osprey id) of each event received.
type Got = (Vec<u8>, u64, Option<String>);

#[derive(Default)]
struct Collect(Mutex<Vec<Got>>);

impl Handler for Collect {
    fn events(&self, _peer: &str, ev: &Events) -> Result<(), String> {
        let mut v = self.0.lock().unwrap();
        for e in &ev.entries {
            let json = record::event_json(&e.record).map_err(|r| r.to_string())?;
            v.push((
                json.into_owned(),
                e.time_ns,
                record::event_id(&e.record).map(String::from),
            ));
        }
        Ok(())
    }
}

struct Server {
    addr: String,
    got: Arc<Collect>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(addr: &str, cfg: ServerConfig) -> Server {
        let l = Listener::bind(addr).unwrap();
        let addr = l.local_addr();
        let got = Arc::new(Collect::default());
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (g, s, lg) = (got.clone(), stop.clone(), log.clone());
        let thread = std::thread::spawn(move || {
            receiver::serve(
                &l,
                Arc::new(cfg),
                g,
                s,
                Arc::new(move |m: &str| lg.lock().unwrap().push(m.to_string())),
            );
        });
        Server {
            addr,
            got,
            stop,
            thread: Some(thread),
            log,
        }
    }
    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

fn events(n: usize) -> Vec<(u64, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let ns = 1_700_000_000_000_000_000 + i as u64 * 1_001;
            let json = format!(
                r#"{{"timestamp":{ns},"threadStartTime":0,"processorId":1,"processId":{i},"processName":"w\u001bx","eventId":"257","eventName":"openat","returnValue":-2,"args":[{{"name":"pathname","type":"const char*","value":"/etc/é{i}"}}]}}"#
            );
            (ns, json.into_bytes())
        })
        .collect()
}

fn quiet() -> Arc<dyn Fn(&str) + Send + Sync> {
    Arc::new(|_m: &str| {})
}

fn send_all(cfg: Config, evs: &[(u64, Vec<u8>)]) -> osprey_forward::sender::Stats {
    let mut s = Sender::start(cfg, quiet()).unwrap();
    for (ns, j) in evs {
        s.event(*ns, j).unwrap();
    }
    s.finish()
}

#[test]
fn every_mode_with_and_without_key_delivers_the_exact_bytes() {
    let evs = events(1000);
    for (key, compress, mode, format, ack) in [
        (None, false, SendMode::Packed, Format::Tracee, true),
        (Some("s3cret"), true, SendMode::Packed, Format::Tracee, true),
        (None, false, SendMode::Forward, Format::Record, false),
        (
            Some("s3cret"),
            false,
            SendMode::Forward,
            Format::Tracee,
            true,
        ),
    ] {
        let mut srv = Server::start(
            "127.0.0.1:0",
            ServerConfig {
                shared_key: key.map(String::from),
                ..ServerConfig::default()
            },
        );
        let mut cfg = Config::new(Endpoint::Tcp(srv.addr.clone()));
        cfg.shared_key = key.map(String::from);
        cfg.compress = compress;
        cfg.mode = mode;
        cfg.format = format;
        cfg.require_ack = ack;
        cfg.batch_events = 128;
        let stats = send_all(cfg, &evs);
        assert_eq!(stats.delivered, 1000, "{stats:?}");
        assert_eq!(stats.undelivered + stats.dropped, 0);
        // without acks the last frame may still be in flight when finish returns
        std::thread::sleep(Duration::from_millis(300));
        srv.stop();
        let got = srv.got.0.lock().unwrap();
        assert_eq!(got.len(), 1000, "{key:?} {compress} {mode:?} {format:?}");
        for ((ns, j), (gj, gns, id)) in evs.iter().zip(got.iter()) {
            assert_eq!(j, gj);
            assert_eq!(ns, gns);
            assert!(id.is_some());
        }
        let ids: std::collections::HashSet<_> = got.iter().map(|g| g.2.clone()).collect();
        assert_eq!(ids.len(), 1000, "ids are unique");
    }
}

#[test]
fn a_wrong_shared_key_is_refused_and_nothing_is_delivered() {
    let mut srv = Server::start(
        "127.0.0.1:0",
        ServerConfig {
            shared_key: Some("right".into()),
            ..ServerConfig::default()
        },
    );
    let mut cfg = Config::new(Endpoint::Tcp(srv.addr.clone()));
    cfg.shared_key = Some("wrong".into());
    cfg.drain_timeout = Duration::from_secs(1);
    let stats = send_all(cfg, &events(10));
    assert_eq!(stats.delivered, 0);
    assert_eq!(stats.undelivered, 10, "{stats:?}");
    assert!(stats.connect_failures > 0);
    srv.stop();
    assert!(srv
        .log
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("shared key mismatch")));
}

#[test]
fn an_outage_is_bridged_by_the_spool_and_nothing_is_lost() {
    let evs = events(3000);
    let spool = tempfile::tempdir().unwrap();
    let (addr, cfg) = spooling_to_a_closed_port(spool.path());
    let mut s = Sender::start(cfg, quiet()).unwrap();
    for (ns, j) in &evs[..2000] {
        s.event(*ns, j).unwrap();
    }
    s.flush();
    std::thread::sleep(Duration::from_millis(500));
    let mid = s.stats();
    assert_eq!(mid.delivered, 0);
    assert!(mid.spooled_chunks > 0 && mid.spooled_bytes > 0, "{mid:?}");
    assert!(chunk_files(spool.path()) > 0);
    let mut srv = Server::start(&addr, ServerConfig::default());
    for (ns, j) in &evs[2000..] {
        s.event(*ns, j).unwrap();
    }
    let stats = s.finish();
    srv.stop();
    assert_eq!(stats.delivered, 3000, "{stats:?}");
    assert_eq!(stats.dropped + stats.undelivered, 0);
    let got = srv.got.0.lock().unwrap();
    assert_eq!(got.len(), 3000);
    assert!(
        got.iter().zip(&evs).all(|(g, e)| g.0 == e.1),
        "in order, exact"
    );
    assert_eq!(chunk_files(spool.path()), 0, "spool emptied");
}

/// A sender's configuration for a free loopback port where nobody listens yet, with chunks of
/// 100 events, most of them spooled to `spool`; and that address.
fn spooling_to_a_closed_port(spool: &std::path::Path) -> (String, Config) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut cfg = Config::new(Endpoint::Tcp(addr.clone()));
    cfg.batch_events = 100;
    cfg.memory_limit = 20_000; // most chunks go to disk
    cfg.spool_dir = Some(spool.to_path_buf());
    cfg.max_backoff = Duration::from_millis(200);
    (addr, cfg)
}

/// The chunks waiting in a spool directory (beside its lock file).
fn chunk_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().ends_with(".chunk")
        })
        .count()
}

#[test]
fn a_spool_left_by_a_sender_that_stopped_is_sent_first_by_the_next() {
    let evs = events(3000);
    let spool = tempfile::tempdir().unwrap();
    let (addr, mut cfg) = spooling_to_a_closed_port(spool.path());
    // The first sender never reaches its receiver and stops without draining (dropped, as a
    // killed process would): what it kept in memory is gone, its spool stays.
    let mut first = Sender::start(cfg.clone(), quiet()).unwrap();
    for (ns, j) in &evs[..2000] {
        first.event(*ns, j).unwrap();
    }
    first.flush();
    let left = first.stats();
    drop(first);
    let spooled = chunk_files(spool.path());
    assert!(spooled > 0, "{left:?}");
    // The next one compresses its chunks: those it finds are sent compressed too.
    let mut srv = Server::start(&addr, ServerConfig::default());
    cfg.compress = true;
    let mut next = Sender::start(cfg.clone(), quiet()).unwrap();
    // Its spool is locked while it runs.
    let other = Sender::start(cfg.clone(), quiet());
    assert!(
        other.is_err_and(|e| e.to_string().contains("in use by another sender")),
        "a second sender on the same spool directory is refused"
    );
    for (ns, j) in &evs[2000..] {
        next.event(*ns, j).unwrap();
    }
    let stats = next.finish();
    srv.stop();
    let adopted = spooled as u64 * 100;
    assert_eq!(stats.adopted, adopted, "{stats:?}");
    assert_eq!(stats.events, adopted + 1000);
    assert_eq!(stats.delivered, adopted + 1000, "{stats:?}");
    // The first sender's last chunks (those it had spooled), in order, then the new events.
    let want: Vec<&Vec<u8>> = evs[2000 - adopted as usize..2000]
        .iter()
        .chain(&evs[2000..])
        .map(|(_, j)| j)
        .collect();
    let got = srv.got.0.lock().unwrap();
    let got: Vec<&Vec<u8>> = got.iter().map(|(j, _, _)| j).collect();
    assert_eq!(got, want);
    assert_eq!(chunk_files(spool.path()), 0, "spool emptied");
}

#[test]
fn a_full_spool_drops_and_counts() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spool = tempfile::tempdir().unwrap();
    let mut cfg = Config::new(Endpoint::Tcp(format!("127.0.0.1:{port}")));
    cfg.batch_events = 10;
    cfg.memory_limit = 5_000;
    cfg.spool_limit = 10_000;
    cfg.spool_dir = Some(spool.path().to_path_buf());
    cfg.drain_timeout = Duration::from_millis(200);
    let stats = send_all(cfg, &events(500));
    assert_eq!(stats.events, 500);
    assert_eq!(stats.delivered, 0);
    assert!(stats.dropped > 0, "{stats:?}");
    assert_eq!(
        stats.dropped + stats.undelivered,
        500,
        "every event accounted for"
    );
}

#[test]
fn hostile_bytes_close_one_connection_and_spare_the_others() {
    let mut srv = Server::start("127.0.0.1:0", ServerConfig::default());
    // a good connection opened first and kept
    let mut good = TcpStream::connect(&srv.addr).unwrap();
    // garbage, a huge declared length, a bad frame shape
    for junk in [
        vec![0xc1, 0, 0],
        vec![0xdd, 0xff, 0xff, 0xff, 0xff],
        vec![0xc6, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3],
    ] {
        let mut bad = TcpStream::connect(&srv.addr).unwrap();
        bad.write_all(&junk).unwrap();
        drop(bad);
    }
    // a well-framed but meaningless frame on the good connection: skipped, no ack
    let mut junk = Vec::new();
    rmpv::encode::write_value(&mut junk, &rmpv::Value::Array(vec![1.into(), 2.into()])).unwrap();
    good.write_all(&junk).unwrap();
    let rec = record::tracee(br#"{"timestamp":1,"eventName":"x"}"#, None);
    let opts = Options {
        chunk: Some("c1".into()),
        ..Options::default()
    };
    good.write_all(&proto::encode_message(
        "tracee",
        1_000_000_000,
        false,
        &rec,
        &opts,
    ))
    .unwrap();
    good.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut r = osprey_forward::frame::FrameReader::new(Limits::default());
    let ack = r.next_frame(&mut good).unwrap().unwrap();
    assert_eq!(
        proto::decode(&ack, &Limits::default()).unwrap(),
        Message::Ack("c1".into())
    );
    srv.stop();
    assert_eq!(srv.got.0.lock().unwrap().len(), 1);
    let log = srv.log.lock().unwrap().join("\n");
    assert!(log.contains("0xc1"), "{log}");
    assert!(log.contains("frame limit"), "{log}");
    assert!(log.contains("rejected a frame"), "{log}");
}

#[test]
fn a_unix_socket_works_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.sock");
    let mut srv = Server::start(&format!("unix:{}", path.display()), ServerConfig::default());
    let cfg = Config::from_url(&format!("unix://{}?tag=t", path.display())).unwrap();
    let stats = send_all(cfg, &events(50));
    srv.stop();
    assert_eq!(stats.delivered, 50);
    assert_eq!(srv.got.0.lock().unwrap().len(), 50);
}

fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, c.cert.pem()).unwrap();
    std::fs::write(&key, c.key_pair.serialize_pem()).unwrap();
    (cert, key)
}

#[test]
fn tls_delivers_with_the_right_ca_and_refuses_an_unknown_one() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let l = Listener::bind_tls("127.0.0.1:0", &cert, &key).unwrap();
    let port = l.local_addr().rsplit_once(':').unwrap().1.to_string();
    let got = Arc::new(Collect::default());
    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let t = {
        let (g, s, lg) = (got.clone(), stop.clone(), log.clone());
        std::thread::spawn(move || {
            receiver::serve(
                &l,
                Arc::new(ServerConfig {
                    shared_key: Some("k".into()),
                    ..ServerConfig::default()
                }),
                g,
                s,
                Arc::new(move |m: &str| lg.lock().unwrap().push(m.to_string())),
            )
        })
    };
    let evs = events(500);
    let url = format!(
        "tls://localhost:{port}?ca={}&shared_key=k&compress=gzip&batch=50",
        cert.display()
    );
    let stats = send_all(Config::from_url(&url).unwrap(), &evs);
    assert_eq!(stats.delivered, 500, "{stats:?}");
    // another CA: the certificate is not trusted, nothing is sent
    let other = tempfile::tempdir().unwrap();
    let (other_cert, _) = self_signed(other.path());
    let mut cfg = Config::from_url(&format!(
        "tls://localhost:{port}?ca={}&shared_key=k",
        other_cert.display()
    ))
    .unwrap();
    cfg.drain_timeout = Duration::from_millis(500);
    let bad = send_all(cfg, &events(3));
    assert_eq!(bad.delivered, 0);
    assert_eq!(bad.undelivered, 3);
    stop.store(true, Ordering::SeqCst);
    t.join().unwrap();
    let got = got.0.lock().unwrap();
    assert_eq!(got.len(), 500);
    assert!(got.iter().zip(&evs).all(|(g, e)| g.0 == e.1));
}
