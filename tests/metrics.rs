//! `osprey trace --metrics`: a real trace's counters, scraped over HTTP while it runs and read
//! by the Prometheus reference client's parser (PyPI `prometheus-client`, in the test venv).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{python, tempdir};

/// GET `path` from `addr`: the status line and the body.
fn get(addr: &str, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the metrics endpoint");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").expect("a head and a body");
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}

/// The families of `text` as the reference parser reads them.
fn parse(text: &str) -> serde_json::Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/metrics/parse.py");
    let mut child = Command::new(python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the venv's python (scripts/setup.sh makes it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus-client rejects the text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The value of `sample` with label `key` = `value` in family `family`.
fn value(families: &serde_json::Value, family: &str, key: &str, label: &str) -> Option<f64> {
    families[family]["samples"]
        .as_array()?
        .iter()
        .find(|s| s[1][key] == label)
        .and_then(|s| s[2].as_f64())
}

#[test]
fn a_running_trace_serves_its_counters_to_prometheus() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        if std::env::var("OSPREY_REQUIRE_BPF").as_deref() == Ok("1") {
            panic!("OSPREY_REQUIRE_BPF=1 but the tests are not running as root");
        }
        eprintln!("skipping: osprey trace needs root");
        return;
    }
    let dir = tempdir();
    let events = dir.path().join("events.json");
    // Six execs (the shell and five `true`), then the trace stays up to be scraped.
    let mut child = Command::new(env!("CARGO_BIN_EXE_osprey"))
        .args([
            "trace",
            "-e",
            "sched_process_exec",
            "--metrics",
            "127.0.0.1:0",
            "-o",
        ])
        .arg(format!("json:{}", events.display()))
        .args([
            "--",
            "/bin/sh",
            "-c",
            "for i in 1 2 3 4 5; do /bin/true; done; sleep 30",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .expect("run osprey trace");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut addr = None;
    let mut seen = String::new();
    for _ in 0..200 {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        seen.push_str(&line);
        if let Some(rest) = line.trim().strip_prefix("osprey: metrics on http://") {
            addr = rest.strip_suffix("/metrics").map(str::to_string);
            break;
        }
    }
    let Some(addr) = addr else {
        let _ = child.kill();
        panic!("no metrics address announced:\n{seen}");
    };
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let start = Instant::now();
    let families = loop {
        let (status, body) = get(&addr, "/metrics");
        assert_eq!(status, "HTTP/1.1 200 OK");
        let families = parse(&body);
        if value(&families, "osprey_events", "event", "sched_process_exec") >= Some(6.0) {
            break families;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the exec count never reached 6:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // The reference parser names counters without their _total suffix.
    assert_eq!(families["osprey_events"]["type"], "counter");
    assert_eq!(
        value(&families, "osprey_events_lost", "cause", "ring buffer full"),
        Some(0.0),
        "{families}"
    );
    assert_eq!(families["osprey_hook_attached"]["type"], "gauge");
    // sched_process_exec comes from one hook or another depending on the kernel: whichever,
    // it is listed, once.
    let hooks = families["osprey_hook_attached"]["samples"]
        .as_array()
        .unwrap();
    assert!(
        hooks.iter().any(|h| h[1]["hook"]
            .as_str()
            .is_some_and(|n| n.contains("sched_process_exec"))),
        "{families}"
    );
    assert!(hooks.iter().all(|h| h[2] == 1.0), "{families}");
    assert!(
        families.get("osprey_forward_events").is_none(),
        "no Forward output"
    );
    let (status, _) = get(&addr, "/");
    assert!(status.contains("404"), "{status}");
    // SAFETY: kill with a pid of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success() || status.code().is_some(), "{status:?}");
    // The endpoint went with the tracer.
    assert!(
        TcpStream::connect(&addr).is_err(),
        "the metrics port is still open"
    );
    let written = std::fs::read_to_string(&events).unwrap();
    assert!(
        written
            .lines()
            .filter(|l| l.contains("\"sched_process_exec\""))
            .count()
            >= 6
    );
}
