//! Fluent Forward: `osprey receive` fed real Tracee output in Tracee's own Message-mode layout,
//! printing like `osprey read`, the handshake, and (as root) `osprey trace -o forward:` into it.
//! The node and Python peers are in tests/forward/ (run by scripts/test.sh).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use osprey_forward::frame::{FrameReader, Limits};
use osprey_forward::proto::{self, Message, Options};
use osprey_forward::record;
use osprey_forward::sender::{Config, Endpoint, Sender};

use crate::util::{fixture, osprey, stdout, view_api, view_live, wait_view, ACTION, DOCS};

/// `osprey receive` on a free loopback port; returns the child and its address.
fn receive(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_osprey"))
        .args(["receive", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run osprey receive");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let addr = line
        .split("listening on ")
        .nth(1)
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    // keep draining stderr so the child never blocks on it
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = err.read_to_string(&mut rest);
        eprint!("{rest}");
    });
    (child, addr)
}

/// SIGINT, then the child's stdout.
fn stop(mut child: Child) -> String {
    // SAFETY: signalling our own child by its PID.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "osprey receive exited with {status}");
    out
}

fn lines(rel: &str) -> Vec<Vec<u8>> {
    std::fs::read(fixture(rel))
        .unwrap()
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| l.to_vec())
        .collect()
}

/// Sends events as Tracee's forward output does: Message mode, integer seconds of the send
/// time, `{"event": "<json>"}`, and `{"chunk": base64}` with an ack awaited for each.
fn send_like_tracee(addr: &str, events: &[Vec<u8>]) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut acks = FrameReader::new(Limits::default());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    for (i, ev) in events.iter().enumerate() {
        let chunk = base64::engine::general_purpose::STANDARD.encode(format!("chunk-{i}"));
        let opts = Options {
            chunk: Some(chunk.clone()),
            ..Options::default()
        };
        let frame = proto::encode_message("tracee", now, false, &record::tracee(ev, None), &opts);
        s.write_all(&frame).unwrap();
        let ack = acks.next_frame(&mut s).unwrap().expect("an ack");
        assert_eq!(
            proto::decode(&ack, &Limits::default()).unwrap(),
            Message::Ack(chunk)
        );
    }
}

#[test]
fn tracee_message_mode_replay_is_written_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("got.json");
    let (child, addr) = receive(&["-w", out.to_str().unwrap()]);
    let mut want = Vec::new();
    for rel in [DOCS, ACTION] {
        let evs = lines(rel);
        send_like_tracee(&addr, &evs);
        for e in evs {
            want.extend_from_slice(&e);
            want.push(b'\n');
        }
    }
    stop(child);
    assert_eq!(std::fs::read(&out).unwrap(), want);
}

#[test]
fn tracee_message_mode_replay_is_written_to_a_lake() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let (child, addr) = receive(&["-w", &format!("lake:{}", lake.display())]);
    let mut sent = Vec::new();
    for rel in [DOCS, ACTION] {
        let evs = lines(rel);
        send_like_tracee(&addr, &evs);
        sent.extend(evs);
    }
    stop(child);
    // The lake gives the events back in time order: the same lines, each once.
    sent.sort();
    assert_eq!(sorted_lake_lines(&lake), sent);
}

/// The events `osprey read` gives back from `lake`, as lines, sorted.
fn sorted_lake_lines(lake: &std::path::Path) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let back = dir.path().join("back.json");
    let out = osprey(&[
        "read",
        "-q",
        "-r",
        lake.to_str().unwrap(),
        "-w",
        back.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let mut got: Vec<Vec<u8>> = std::fs::read(&back)
        .unwrap()
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| l.to_vec())
        .collect();
    got.sort();
    got
}

#[test]
fn what_a_killed_lake_receiver_acknowledged_is_in_the_lake_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let target = format!("lake:{}", lake.display());
    let (mut child, addr) = receive(&["-w", &target]);
    let docs = lines(DOCS);
    send_like_tracee(&addr, &docs);
    // Every chunk was acknowledged; the files are still open (the roll age is minutes).
    child.kill().unwrap();
    child.wait().unwrap();
    let journals = lake.join(osprey_lake::JOURNALS);
    assert_eq!(std::fs::read_dir(&journals).unwrap().count(), 1);
    // The next receiver writes them into the lake before it listens, then takes more.
    let (child, addr) = receive(&["-w", &target]);
    let action = lines(ACTION);
    send_like_tracee(&addr, &action);
    stop(child);
    assert_eq!(
        std::fs::read_dir(&journals).unwrap().count(),
        0,
        "every journal is deleted once its events are in complete files"
    );
    let mut sent: Vec<Vec<u8>> = docs.into_iter().chain(action).collect();
    sent.sort();
    assert_eq!(
        sorted_lake_lines(&lake),
        sent,
        "each acknowledged event once, byte for byte"
    );
}

#[test]
fn receive_prints_exactly_what_read_prints() {
    let fields = [
        "-T",
        "fields",
        "-e",
        "tracee.eventName",
        "-e",
        "tracee.processName",
        "-e",
        "tracee.args.security_file_open.pathname",
        "-Y",
        "tracee.eventName != \"sched_process_exit\"",
    ];
    let (child, addr) = receive(&fields);
    send_like_tracee(&addr, &lines(ACTION));
    let got = stop(child);
    let mut args = vec!["read", "-q", "-r"];
    let path = fixture(ACTION);
    args.push(path.to_str().unwrap());
    args.extend(fields);
    let want = stdout(&osprey(&args));
    assert!(!want.is_empty());
    // frame numbers are not among the fields, so the two agree line for line
    assert_eq!(got, want);
}

#[test]
fn the_handshake_is_required_with_a_shared_key_and_pcapng_keeps_the_events() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("got.pcapng");
    let (child, addr) = receive(&["--shared-key", "k3y", "-w", out.to_str().unwrap()]);
    let evs = lines(DOCS);
    // a wrong key delivers nothing
    let mut bad = Config::new(Endpoint::Tcp(addr.clone()));
    bad.shared_key = Some("wrong".into());
    bad.drain_timeout = Duration::from_millis(500);
    let mut s = Sender::start(bad, std::sync::Arc::new(|_: &str| {})).unwrap();
    s.event(1, &evs[0]).unwrap();
    assert_eq!(s.finish().delivered, 0);
    // the right key, gzip
    let mut cfg = Config::from_url(&format!("tcp://{addr}?shared_key=k3y&compress=gzip")).unwrap();
    cfg.batch_events = 10;
    let mut s = Sender::start(cfg, std::sync::Arc::new(|_: &str| {})).unwrap();
    for e in &evs {
        s.event(osprey_event::peek_timestamp(e).unwrap(), e)
            .unwrap();
    }
    let stats = s.finish();
    assert_eq!(stats.delivered, evs.len() as u64);
    stop(child);
    let back = dir.path().join("back.json");
    crate::util::convert(&out, &back);
    let mut want = Vec::new();
    for e in &evs {
        want.extend_from_slice(e);
        want.push(b'\n');
    }
    assert_eq!(
        std::fs::read(&back).unwrap(),
        want,
        "PcapNG holds the exact events"
    );
}

#[test]
fn resent_events_are_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("got.json");
    let (child, addr) = receive(&["-w", out.to_str().unwrap()]);
    let evs = lines(DOCS);
    let mut entries = Vec::new();
    for (i, e) in evs.iter().enumerate() {
        proto::write_entry(
            &mut entries,
            1,
            &record::tracee(e, Some(&format!("run-{i}"))),
        );
    }
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut acks = FrameReader::new(Limits::default());
    for chunk in ["a", "a", "b"] {
        let opts = Options {
            chunk: Some(chunk.into()),
            ..Options::default()
        };
        s.write_all(&proto::encode_packed("tracee", &entries, &opts))
            .unwrap();
        let ack = acks.next_frame(&mut s).unwrap().unwrap();
        assert_eq!(
            proto::decode(&ack, &Limits::default()).unwrap(),
            Message::Ack(chunk.into())
        );
    }
    stop(child);
    assert_eq!(
        std::fs::read(&out)
            .unwrap()
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count(),
        evs.len()
    );
}

#[test]
fn trace_forwards_the_same_bytes_it_writes() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        if std::env::var("OSPREY_REQUIRE_BPF").as_deref() == Ok("1") {
            panic!("OSPREY_REQUIRE_BPF=1 but the tests are not running as root");
        }
        eprintln!("skipping: osprey trace needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let got = dir.path().join("got.json");
    let direct = dir.path().join("direct.json");
    let (child, addr) = receive(&["-w", got.to_str().unwrap()]);
    let out = osprey(&[
        "trace",
        "-o",
        &format!("json:{}", direct.display()),
        "-o",
        &format!("forward:tcp://{addr}?tag=tracee&compress=gzip&batch=7"),
        "--",
        "/bin/sh",
        "-c",
        "cat /etc/hostname >/dev/null; ls / >/dev/null",
    ]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{err}");
    assert!(err.contains("events delivered"), "{err}");
    assert!(err.contains("0 events dropped"), "{err}");
    stop(child);
    let direct = std::fs::read(&direct).unwrap();
    assert!(!direct.is_empty());
    assert_eq!(std::fs::read(&got).unwrap(), direct);
}

#[test]
fn bad_print_options_are_refused_before_listening() {
    let out = osprey(&[
        "receive",
        "--listen",
        "127.0.0.1:0",
        "-T",
        "fields",
        "-e",
        "tracee.nope",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tracee.nope") && !err.contains("listening"),
        "{err}"
    );
}

#[test]
fn ring_buffer_files_hold_every_event_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("live.json");
    let (child, addr) = receive(&["-w", base.to_str().unwrap(), "-b", "filesize:16"]);
    let evs = lines(DOCS);
    send_like_tracee(&addr, &evs);
    stop(child);
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() > 2, "{files:?}");
    let mut all = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("live_") && name.ends_with(".json"),
            "{name}"
        );
        let bytes = std::fs::read(f).unwrap();
        assert!(bytes.len() <= 16_000 || bytes.iter().filter(|b| **b == b'\n').count() == 1);
        all.extend(bytes);
    }
    let mut want = Vec::new();
    for e in &evs {
        want.extend_from_slice(e);
        want.push(b'\n');
    }
    assert_eq!(all, want);
}

#[test]
fn view_live_forward_grows_as_events_arrive_and_stops() {
    // A free loopback port for the receiver.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_view, http, token) = view_live(&[&format!("forward://127.0.0.1:{port}")]);
    let token = token.as_str();
    // The receiver says when it listens, in the capture's log.
    wait_view(http, token, "/api/live/log", |v| {
        v["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains("listening on"))
    });
    let receiver = format!("127.0.0.1:{port}");
    send_like_tracee(&receiver, &lines(DOCS));
    wait_view(http, token, "/api/status", |v| v["index"]["frames"] == 78);
    send_like_tracee(&receiver, &lines(ACTION));
    wait_view(http, token, "/api/status", |v| v["index"]["frames"] == 102);
    let rows = view_api(http, token, "GET", "/api/rows?offset=100&limit=10");
    assert_eq!(rows["total"], 102);
    assert_eq!(rows["complete"], false);
    let pid = view_api(http, token, "GET", "/api/live")["state"]["pid"]
        .as_u64()
        .unwrap();
    view_api(http, token, "POST", "/api/live/stop");
    wait_view(http, token, "/api/live", |v| v["state"]["phase"] == "ended");
    let live = view_api(http, token, "GET", "/api/live");
    assert_eq!(live["state"]["exit"], 0, "{live}");
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    wait_view(http, token, "/api/status", |v| v["index"]["done"] == true);
}

#[test]
fn view_live_forward_listens_on_loopback_only() {
    let out = osprey(&["view", "--no-browser", "--live", "forward://0.0.0.0:24224"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}
