//! `osprey extcap` driven as Wireshark drives it: the interface, link-type and configuration
//! queries, then (as root) `--capture --fifo` read by tshark, stopped by SIGTERM or by the end
//! of the traced command.

use std::ffi::CString;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{osprey, stdout};

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("OSPREY_REQUIRE_BPF").as_deref() == Ok("1") {
        panic!("OSPREY_REQUIRE_BPF=1 but the tests are not running as root");
    }
    eprintln!("skipping: capturing needs root");
    false
}

#[test]
fn wireshark_queries_are_answered() {
    let out = stdout(&osprey(&[
        "extcap",
        "--extcap-interfaces",
        "--extcap-version=4.0",
    ]));
    assert!(out.starts_with("extcap {version="), "{out}");
    assert!(out.contains("interface {value=osprey}"), "{out}");
    let out = stdout(&osprey(&[
        "extcap",
        "--extcap-dlts",
        "--extcap-interface",
        "osprey",
    ]));
    assert_eq!(
        out.trim(),
        "dlt {number=147}{name=USER0}{display=Tracee events (JSON)}"
    );
    let out = stdout(&osprey(&[
        "extcap",
        "--extcap-config",
        "--extcap-interface",
        "osprey",
    ]));
    for call in [
        "--events",
        "--scope",
        "--command",
        "--artifacts",
        "--network",
        "--preset",
    ] {
        assert!(out.contains(&format!("{{call={call}}}")), "{call} in {out}");
    }
    assert!(out.lines().all(|l| l.starts_with("arg {number=")));
    let bad = osprey(&["extcap", "--extcap-dlts", "--extcap-interface", "eth0"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// Runs a capture into a FIFO, as Wireshark does, and returns what came through it.
fn capture(extra: &[&str], stop_after: Option<Duration>) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let c = CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut b = Vec::new();
            std::fs::File::open(fifo)
                .unwrap()
                .read_to_end(&mut b)
                .unwrap();
            b
        })
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_osprey"))
        .args([
            "extcap",
            "--capture",
            "--extcap-interface",
            "osprey",
            "--fifo",
        ])
        .arg(&fifo)
        .args(extra)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    if let Some(d) = stop_after {
        std::thread::sleep(d);
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    reader.join().unwrap()
}

fn tshark_frames(bytes: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("cap.pcapng");
    std::fs::write(&f, bytes).unwrap();
    let out = Command::new("tshark")
        .args([
            "-r",
            f.to_str().unwrap(),
            "-T",
            "fields",
            "-e",
            "frame.interface_name",
            "-e",
            "frame.len",
        ])
        .output()
        .expect("tshark (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn a_capture_of_a_command_reaches_tshark_and_osprey_read_alike() {
    if !root() {
        return;
    }
    let bytes = capture(&["--events", "proc", "--command", "/bin/sh -c true"], None);
    let frames = tshark_frames(&bytes);
    assert!(!frames.is_empty());
    assert!(
        frames.iter().all(|l| l.starts_with("tracee\t")),
        "{frames:?}"
    );
    let out = crate::util::osprey_stdin(&["read", "-q", "-r", "-", "-T", "ndjson"], &bytes);
    let events: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(events.len(), frames.len());
    // each frame's length is its event's JSON length
    for (f, e) in frames.iter().zip(&events) {
        assert_eq!(f.split('\t').nth(1).unwrap(), e.len().to_string());
    }
    assert!(events
        .iter()
        .any(|e| e.contains("\"eventName\":\"sched_process_exec\"")));
}

#[test]
fn sigterm_ends_a_host_capture_with_a_complete_file() {
    if !root() {
        return;
    }
    let bytes = capture(
        &["--events", "sched_process_exec"],
        Some(Duration::from_millis(1500)),
    );
    // a complete PcapNG: tshark reads it without complaint (events or not)
    let _ = tshark_frames(&bytes);
    assert!(bytes.len() >= 28, "at least the section header");
}
