//! Throughput of Forward out -> Forward in on loopback, with acks, and a receiver restart in the
//! middle of the stream: `cargo run --release -p osprey-forward --example forward_bench [N]`.
//! Prints events per second and what was lost or duplicated (BENCHMARKS.md).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use osprey_forward::proto::Events;
use osprey_forward::receiver::{self, Handler, Listener, ServerConfig};
use osprey_forward::record;
use osprey_forward::sender::{Config, Endpoint, Sender};

/// Counts events, and which sequence numbers of `<run>-<seq>` ids arrived (a bitmap: the
/// bench's own accounting should not cost more than the transport it measures).
struct Count {
    events: AtomicU64,
    seen: Mutex<(Vec<bool>, u64)>,
    bytes: AtomicU64,
}

impl Count {
    fn new(n: u64) -> Count {
        Count {
            events: AtomicU64::new(0),
            seen: Mutex::new((vec![false; n as usize], 0)),
            bytes: AtomicU64::new(0),
        }
    }
}

impl Handler for Count {
    fn events(&self, _peer: &str, ev: &Events) -> Result<(), String> {
        let mut seen = self.seen.lock().unwrap();
        for e in &ev.entries {
            let json = record::event_json(&e.record).map_err(|r| r.to_string())?;
            self.bytes.fetch_add(json.len() as u64, Ordering::Relaxed);
            let seq: usize = record::event_id(&e.record)
                .and_then(|id| id.rsplit_once('-'))
                .and_then(|(_, n)| n.parse().ok())
                .ok_or("an event without an osprey_id")?;
            if !std::mem::replace(&mut seen.0[seq], true) {
                seen.1 += 1;
            }
            self.events.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

fn serve(addr: &str, count: Arc<Count>) -> (Arc<AtomicBool>, std::thread::JoinHandle<()>, String) {
    let l = Listener::bind(addr).unwrap();
    let addr = l.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let t = std::thread::spawn(move || {
        receiver::serve(
            &l,
            Arc::new(ServerConfig::default()),
            count,
            s,
            Arc::new(|_: &str| {}),
        )
    });
    (stop, t, addr)
}

fn event(i: u64) -> Vec<u8> {
    let ns = 1_700_000_000_000_000_000 + i * 997;
    format!(
        r#"{{"timestamp":{ns},"threadStartTime":1699999990000000000,"processorId":1,"processId":{p},"cgroupId":1,"threadId":{p},"parentProcessId":1,"hostProcessId":{p},"hostThreadId":{p},"hostParentProcessId":1,"userId":0,"mountNamespace":4026531840,"pidNamespace":4026531836,"processName":"bench","executable":{{"path":""}},"hostName":"host","containerId":"","container":{{}},"kubernetes":{{}},"eventId":"257","eventName":"security_file_open","matchedPolicies":[""],"argsNum":2,"returnValue":0,"syscall":"openat","stackAddresses":null,"contextFlags":{{"containerStarted":false,"isCompat":false}},"threadEntityId":1,"processEntityId":2,"parentEntityId":3,"args":[{{"name":"pathname","type":"const char*","value":"/usr/lib/x86_64-linux-gnu/libc.so.6.{i}"}},{{"name":"flags","type":"int","value":524288}}]}}"#,
        p = 1000 + i % 5000
    )
    .into_bytes()
}

fn run(n: u64, restart: bool) {
    let count = Arc::new(Count::new(n));
    let (stop, t, addr) = serve("127.0.0.1:0", count.clone());
    let mut cfg = Config::new(Endpoint::Tcp(addr.clone()));
    cfg.max_backoff = Duration::from_millis(200);
    cfg.ack_timeout = Duration::from_secs(2);
    if let Ok(m) = std::env::var("FORWARD_BENCH_MEMORY") {
        cfg.memory_limit = osprey_forward::sender::size(&m).expect("a size");
    }
    let mut s = Sender::start(cfg, Arc::new(|m: &str| eprintln!("  sender: {m}"))).unwrap();
    let events: Vec<Vec<u8>> = (0..10_000).map(event).collect();
    let start = Instant::now();
    let mut restarted = None;
    let mut stop = stop;
    let mut t = Some(t);
    for i in 0..n {
        let e = &events[(i % 10_000) as usize];
        // a fresh timestamp prefix is not needed: the sender does not parse the JSON
        s.event(1_700_000_000_000_000_000 + i, e).unwrap();
        if i % 4096 == 4095 {
            s.flush();
        }
        if restart && i == n / 2 {
            // the receiver goes away for a second in the middle of the stream
            stop.store(true, Ordering::SeqCst);
            t.take().unwrap().join().unwrap();
            let c = count.clone();
            let a = addr.clone();
            restarted = Some(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(1));
                serve(&a, c)
            }));
        }
    }
    if let Some(r) = restarted {
        let (st, tt, _) = r.join().unwrap();
        stop = st;
        t = Some(tt);
    }
    let stats = s.finish();
    let secs = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::SeqCst);
    t.take().unwrap().join().unwrap();
    let unique = count.seen.lock().unwrap().1;
    let received = count.events.load(Ordering::Relaxed);
    println!(
        "{} events{}: {:.2} s, {:.0} events/s, {:.0} MB/s of event JSON; delivered {} (acked), received {} ({} unique, {} duplicates), lost {}, resent chunks {}, spooled {} bytes, dropped {}",
        n,
        if restart { " with a receiver restart" } else { "" },
        secs,
        n as f64 / secs,
        count.bytes.load(Ordering::Relaxed) as f64 / secs / 1e6,
        stats.delivered,
        received,
        unique,
        received - unique,
        n - unique,
        stats.resent,
        stats.spooled_bytes,
        stats.dropped
    );
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    run(n, false);
    run(n, true);
}
