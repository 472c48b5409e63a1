//! `osprey trace --metrics ADDR`: the tracer's counters in Prometheus' text exposition format
//! (version 0.0.4) on `http://ADDR/metrics`, for a node's monitoring to scrape.
//!
//! The trace loop renders the text about once a second ([`render`]) and hands it to the server
//! thread ([`Server`]), which only copies it out: a scrape never touches the tracer's state or
//! its maps, and a slow or hostile client costs at most a short timeout of that thread.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The longest request head read.
const MAX_REQUEST: usize = 8 * 1024;

/// How long a client may take to send its request or read the answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);

/// The metrics endpoint's thread.
pub struct Server {
    text: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    /// Where it listens (the port chosen when `:0` was given).
    pub addr: SocketAddr,
}

impl Server {
    /// Listens on `addr` and serves the text last [`Server::publish`]ed.
    pub fn start(addr: SocketAddr) -> io::Result<Server> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let text = Arc::new(Mutex::new(String::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (t, s) = (text.clone(), stop.clone());
        let handle = std::thread::Builder::new()
            .name("osprey-metrics".into())
            .spawn(move || serve(&listener, &t, &s))?;
        Ok(Server {
            text,
            stop,
            handle: Some(handle),
            addr,
        })
    }

    /// Replaces the text scrapes get.
    pub fn publish(&self, text: String) {
        *self.text.lock().unwrap_or_else(|e| e.into_inner()) = text;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn serve(listener: &TcpListener, text: &Mutex<String>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                // One client at a time: scrapes are rare and small, and the timeouts bound each.
                let _ = answer(stream, text);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn answer(mut stream: TcpStream, text: &Mutex<String>) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let (method, path) = loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(_)) => {
                break (
                    req.method.unwrap_or("").to_string(),
                    req.path.unwrap_or("").to_string(),
                )
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_REQUEST => continue,
            _ => {
                return respond(
                    &mut stream,
                    "400 Bad Request",
                    "text/plain",
                    "bad request\n",
                )
            }
        }
    };
    let path = path.split('?').next().unwrap_or("");
    match (method.as_str(), path) {
        ("GET" | "HEAD", "/metrics") => {
            let body = text.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let body = if method == "HEAD" {
                String::new()
            } else {
                body
            };
            respond(
                &mut stream,
                "200 OK",
                "text/plain; version=0.0.4; charset=utf-8",
                &body,
            )
        }
        ("GET" | "HEAD", _) => {
            respond(&mut stream, "404 Not Found", "text/plain", "see /metrics\n")
        }
        _ => respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            "GET /metrics\n",
        ),
    }
}

fn respond(stream: &mut TcpStream, status: &str, kind: &str, body: &str) -> io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

/// What the text is made from: the trace's counters at one moment.
#[derive(Default)]
pub struct Snapshot<'a> {
    /// Events written, by event name.
    pub events: Vec<(String, u64)>,
    /// Findings written, by signature name.
    pub findings: Option<&'a BTreeMap<String, u64>>,
    /// Kernel-side drops by cause (summed over CPUs), and whether the cause costs a whole
    /// event (else it degrades one: a truncated path, an unreadable argument).
    pub lost: Vec<(&'static str, bool, u64)>,
    /// Records that could not be decoded.
    pub bad_records: u64,
    /// The Forward outputs: endpoint and counters.
    pub forward: Vec<(String, osprey_forward::sender::Stats)>,
    /// The capture's totals so far.
    pub capture: Option<osprey_capture::CaptureSummary>,
    /// The hooks attached (their program sections).
    pub hooks: Vec<&'static str>,
}

/// Reads one counter of a Forward output.
type ForwardCounter = fn(&osprey_forward::sender::Stats) -> u64;

/// Renders `s` in Prometheus' text format.
pub fn render(s: &Snapshot<'_>) -> String {
    let mut out = String::with_capacity(4096);
    family(
        &mut out,
        "osprey_events_total",
        "counter",
        "Events written, by event name.",
    );
    for (name, n) in &s.events {
        sample(&mut out, "osprey_events_total", &[("event", name)], *n);
    }
    family(
        &mut out,
        "osprey_findings_total",
        "counter",
        "Detections' findings written, by signature.",
    );
    for (name, n) in s.findings.into_iter().flatten() {
        sample(
            &mut out,
            "osprey_findings_total",
            &[("signature", name)],
            *n,
        );
    }
    family(
        &mut out,
        "osprey_events_lost_total",
        "counter",
        "Events the kernel side could not deliver, by cause.",
    );
    for (cause, _, n) in s.lost.iter().filter(|l| l.1) {
        sample(
            &mut out,
            "osprey_events_lost_total",
            &[("cause", cause)],
            *n,
        );
    }
    family(&mut out, "osprey_events_degraded_total", "counter", "Events delivered with a part missing (a truncated path, an unreadable argument), by cause.");
    for (cause, _, n) in s.lost.iter().filter(|l| !l.1) {
        sample(
            &mut out,
            "osprey_events_degraded_total",
            &[("cause", cause)],
            *n,
        );
    }
    family(
        &mut out,
        "osprey_bad_records_total",
        "counter",
        "Records from the kernel that could not be decoded.",
    );
    sample(&mut out, "osprey_bad_records_total", &[], s.bad_records);
    family(
        &mut out,
        "osprey_hook_attached",
        "gauge",
        "Kernel hooks attached (1 each), by hook.",
    );
    for hook in &s.hooks {
        sample(&mut out, "osprey_hook_attached", &[("hook", hook)], 1);
    }
    let forward: [(&str, &str, ForwardCounter); 8] = [
        (
            "osprey_forward_events_total",
            "Events handed to a Forward output.",
            |f| f.events,
        ),
        (
            "osprey_forward_delivered_events_total",
            "Events a Forward receiver acknowledged (or that were written, without acks).",
            |f| f.delivered,
        ),
        ("osprey_forward_chunks_total", "Chunks delivered.", |f| {
            f.chunks
        }),
        (
            "osprey_forward_resent_chunks_total",
            "Chunk sends that were repeats, after a timeout or a lost connection.",
            |f| f.resent,
        ),
        (
            "osprey_forward_spooled_bytes_total",
            "Bytes written to the on-disk spool.",
            |f| f.spooled_bytes,
        ),
        (
            "osprey_forward_dropped_events_total",
            "Events dropped because the spool was full.",
            |f| f.dropped,
        ),
        (
            "osprey_forward_reconnects_total",
            "Connections made after the first.",
            |f| f.reconnects,
        ),
        (
            "osprey_forward_connect_failures_total",
            "Failed connection attempts.",
            |f| f.connect_failures,
        ),
    ];
    if !s.forward.is_empty() {
        for (name, help, get) in forward {
            family(&mut out, name, "counter", help);
            for (endpoint, stats) in &s.forward {
                sample(&mut out, name, &[("endpoint", endpoint)], get(stats));
            }
        }
    }
    if let Some(c) = &s.capture {
        let capture: [(&str, &str, &str, u64); 6] = [
            (
                "osprey_capture_bytes_total",
                "counter",
                "Bytes of artifacts written.",
                c.bytes,
            ),
            (
                "osprey_capture_lost_bytes_total",
                "counter",
                "Bytes of artifacts lost, all causes.",
                c.lost_bytes,
            ),
            (
                "osprey_capture_artifacts",
                "gauge",
                "Artifacts in the capture's index.",
                c.artifacts,
            ),
            (
                "osprey_capture_packets_total",
                "counter",
                "Packets written to the per-process captures.",
                c.packets,
            ),
            (
                "osprey_capture_errors_total",
                "counter",
                "Errors writing artifacts.",
                c.errors,
            ),
            (
                "osprey_capture_budget_exhausted",
                "gauge",
                "1 once the capture budget stopped capture.",
                u64::from(c.budget_hit),
            ),
        ];
        for (name, kind, help, v) in capture {
            family(&mut out, name, kind, help);
            sample(&mut out, name, &[], v);
        }
    }
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            // The exposition format's escapes: a signature name comes from a user's rules file.
            for c in v.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_families_typed() {
        let mut found = BTreeMap::new();
        found.insert("evil\"sig\\\nname".to_string(), 2);
        let s = Snapshot {
            events: vec![("execve".into(), 3)],
            findings: Some(&found),
            lost: vec![("ring buffer full", true, 1), ("path too deep", false, 4)],
            ..Default::default()
        };
        let text = render(&s);
        assert!(
            text.contains("osprey_events_total{event=\"execve\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("osprey_findings_total{signature=\"evil\\\"sig\\\\\\nname\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE osprey_events_lost_total counter\n"));
        assert!(text.contains("osprey_events_lost_total{cause=\"ring buffer full\"} 1\n"));
        assert!(text.contains("osprey_events_degraded_total{cause=\"path too deep\"} 4\n"));
        assert!(
            !text.contains("osprey_forward"),
            "no Forward output, no Forward families"
        );
        let forwarded = render(&Snapshot {
            forward: vec![(
                "tcp://127.0.0.1:24224".into(),
                osprey_forward::sender::Stats {
                    events: 10,
                    delivered: 7,
                    resent: 2,
                    spooled_bytes: 4096,
                    ..Default::default()
                },
            )],
            capture: Some(osprey_capture::CaptureSummary {
                bytes: 123,
                lost_bytes: 5,
                ..Default::default()
            }),
            ..Default::default()
        });
        for line in [
            "osprey_forward_delivered_events_total{endpoint=\"tcp://127.0.0.1:24224\"} 7\n",
            "osprey_forward_resent_chunks_total{endpoint=\"tcp://127.0.0.1:24224\"} 2\n",
            "osprey_forward_spooled_bytes_total{endpoint=\"tcp://127.0.0.1:24224\"} 4096\n",
            "osprey_capture_bytes_total 123\n",
            "osprey_capture_lost_bytes_total 5\n",
            "osprey_capture_budget_exhausted 0\n",
        ] {
            assert!(forwarded.contains(line), "{line} in {forwarded}");
        }
    }

    #[test]
    fn serves_metrics_and_refuses_the_rest() {
        let server = Server::start("127.0.0.1:0".parse().unwrap()).unwrap();
        server.publish("osprey_bad_records_total 0\n".into());
        let get = |req: &str| {
            let mut s = TcpStream::connect(server.addr).unwrap();
            s.write_all(req.as_bytes()).unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        };
        let ok = get("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.ends_with("\r\n\r\nosprey_bad_records_total 0\n"), "{ok}");
        assert!(get("GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get("POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        assert!(get("\x00\x01garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
        // A client that never finishes its request holds the thread for the timeout only.
        let _idle = TcpStream::connect(server.addr).unwrap();
        assert!(get("GET /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200"));
    }
}
