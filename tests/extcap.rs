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

#[test]
fn the_toolbar_shows_the_log_and_its_stop_button_ends_the_capture() {
    if !root() {
        return;
    }
    let out = stdout(&osprey(&["extcap", "--extcap-interfaces"]));
    assert!(out.contains("{type=button}{display=Stop}"), "{out}");
    assert!(out.contains("{role=logger}"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let mk = |name: &str| {
        let p = dir.path().join(name);
        let c = CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        p
    };
    let (fifo, cin, cout) = (mk("fifo"), mk("in"), mk("out"));
    let data = {
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
    let log = {
        let cout = cout.clone();
        std::thread::spawn(move || {
            let mut b = Vec::new();
            std::fs::File::open(cout)
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
            "--events",
            "sched_process_exec",
        ])
        .arg("--artifacts")
        .arg(format!("exec dir:{}", dir.path().join("cap").display()))
        .arg("--fifo")
        .arg(&fifo)
        .arg("--extcap-control-in")
        .arg(&cin)
        .arg("--extcap-control-out")
        .arg(&cout)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wireshark: "initialized", then (later) a press of Stop (control 1)
    let mut w = std::fs::OpenOptions::new().write(true).open(&cin).unwrap();
    use std::io::Write as _;
    w.write_all(&[b'T', 0, 0, 2, 0, 0]).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still capturing before Stop"
    );
    // "Copy to" a folder (control 3), then "Copy output" (control 4)
    let dest = dir.path().join("copies");
    std::fs::create_dir(&dest).unwrap();
    let d = dest.to_str().unwrap().as_bytes();
    let len = d.len() + 2;
    let mut m = vec![b'T', 0, (len >> 8) as u8, len as u8, 3, 1];
    m.extend_from_slice(d);
    w.write_all(&m).unwrap();
    Command::new("/bin/true").status().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    w.write_all(&[b'T', 0, 0, 2, 4, 1]).unwrap();
    std::thread::sleep(Duration::from_millis(700));
    w.write_all(&[b'T', 0, 0, 2, 1, 1]).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Stop did not end the capture"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    drop(w);
    let bytes = data.join().unwrap();
    let _ = tshark_frames(&bytes);
    let log = log.join().unwrap();
    // control-pipe messages to the Log (control 2): the start line and the tracer's stderr
    assert!(log.starts_with(b"T"), "{log:?}");
    let text = String::from_utf8_lossy(&log);
    assert!(text.contains("capture started"), "{text}");
    assert!(text.contains("Stop pressed"), "{text}");
    assert!(text.contains("Copy output:"), "{text}");
    let copies: Vec<_> = std::fs::read_dir(&dest)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(copies.len(), 1, "{text}");
    let name = copies[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.starts_with("cap-"), "{name}");
    assert!(
        copies[0].join("events.json").is_file() || copies[0].join("out").is_dir(),
        "{text}"
    );
}

#[test]
fn install_writes_a_wrapper_wireshark_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = osprey(&[
        "extcap",
        "--install",
        "--extcap-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wrapper = dir.path().join("osprey");
    let run = Command::new(&wrapper)
        .arg("--extcap-interfaces")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&run.stdout).contains("interface {value=osprey}"));
}

/// `tshark -i osprey` through the installed wrapper, capturing a real workload. Wireshark 4.0
/// reads extcap programs only from its global folder, so this writes a wrapper there and
/// removes it after; it runs only with OSPREY_EXTCAP_SYSTEM_TEST=1 (scripts/test.sh sets it).
#[test]
fn tshark_captures_live_events_through_the_installed_interface() {
    if std::env::var("OSPREY_EXTCAP_SYSTEM_TEST").as_deref() != Ok("1") {
        eprintln!(
            "skipping: set OSPREY_EXTCAP_SYSTEM_TEST=1 to install into Wireshark's extcap folder"
        );
        return;
    }
    if !root() {
        return;
    }
    let folders = Command::new("tshark")
        .args(["-G", "folders"])
        .output()
        .unwrap();
    let global = String::from_utf8_lossy(&folders.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Extcap path:").map(|p| p.trim().to_string()))
        .expect("tshark's extcap folder");
    let staging = tempfile::tempdir().unwrap();
    let out = osprey(&[
        "extcap",
        "--install",
        "--extcap-dir",
        staging.path().to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let name = format!("osprey-test-{}", std::process::id());
    let target = std::path::Path::new(&global).join(&name);
    std::fs::copy(staging.path().join("osprey"), &target).unwrap();
    struct Remove(std::path::PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _guard = Remove(target);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("live.pcapng");
    let mut tshark = Command::new("tshark")
        .args([
            "-i",
            "osprey",
            "-a",
            "duration:10",
            "-w",
            file.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // the tracer needs a moment to load (seconds when other tests load theirs): run the
    // workload again and again until the capture ends
    let marker = dir.path().join("osprey-extcap-marker");
    let status = loop {
        if let Some(status) = tshark.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(300));
        Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("echo hi > {}", marker.display()))
            .status()
            .unwrap();
    };
    assert!(status.success());
    let bytes = std::fs::read(&file).unwrap();
    let frames = tshark_frames(&bytes);
    let out = crate::util::osprey_stdin(&["read", "-q", "-r", "-", "-T", "ndjson"], &bytes);
    let events = String::from_utf8(out.stdout).unwrap();
    assert_eq!(events.lines().count(), frames.len());
    assert!(
        events.contains("osprey-extcap-marker"),
        "the workload's events are there ({} events)",
        frames.len()
    );
}
