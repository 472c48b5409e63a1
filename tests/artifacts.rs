//! Artifacts in the timeline: `osprey read` on a capture directory shows the records of
//! `out/artifacts.jsonl` as frames among the events, filters select them by `artifact.*` and by
//! the process they came from, and converting keeps them byte for byte.

use std::path::Path;
use std::process::Command;

use crate::util::*;

const EVENT_SH: &str = r#"{"timestamp":1000,"threadStartTime":1,"processorId":0,"processId":7,"cgroupId":1,"threadId":7,"parentProcessId":1,"hostProcessId":700,"hostThreadId":700,"hostParentProcessId":1,"userId":0,"mountNamespace":1,"pidNamespace":1,"processName":"sh","hostName":"h","container":{},"kubernetes":{},"eventId":"1","eventName":"write","matchedPolicies":[""],"argsNum":0,"returnValue":4,"syscall":"write","stackAddresses":null,"contextFlags":{"containerStarted":false,"isCompat":false},"args":[]}"#;
const EVENT_CURL: &str = r#"{"timestamp":3000,"threadStartTime":1,"processorId":0,"processId":9,"cgroupId":1,"threadId":9,"parentProcessId":1,"hostProcessId":900,"hostThreadId":900,"hostParentProcessId":1,"userId":0,"mountNamespace":1,"pidNamespace":1,"processName":"curl","hostName":"h","container":{},"kubernetes":{},"eventId":"2","eventName":"openat","matchedPolicies":[""],"argsNum":0,"returnValue":3,"syscall":"openat","stackAddresses":null,"contextFlags":{"containerStarted":false,"isCompat":false},"args":[]}"#;
const ART_WRITE: &str = r#"{"timestamp":2000,"kind":"write","path":"host/write.dev-8.inode-12","size":4,"sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","original_path":"/tmp/dropped","process":{"hostProcessId":700,"hostThreadId":700,"processId":7,"threadId":7,"processName":"sh","executable":"/bin/sh","userId":0},"container_id":"","first_seen":2000,"last_seen":2500,"lost":[],"complete":true,"event":"write"}"#;
const ART_EXEC: &str = r#"{"timestamp":4000,"kind":"exec","path":"host/exec.4000.dropped","size":8,"sha256":"aa","original_path":"/tmp/dropped","process":{"hostProcessId":900,"hostThreadId":900,"processId":9,"threadId":9,"processName":"dropped","executable":"/tmp/dropped","userId":0},"container_id":"","first_seen":4000,"last_seen":4000,"lost":[{"start":0,"end":8,"reason":"ring buffer full"}],"complete":false,"event":"sched_process_exec","note":"bytes lost"}"#;

/// `<dir>/out` as `osprey trace --capture` leaves it: events, the index, the artifacts
/// themselves, Tracee's `written_files` and a profile (neither of which are recordings).
fn capture_dir(index: &str) -> tempfile::TempDir {
    let dir = tempdir();
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("host")).unwrap();
    std::fs::write(
        out.join("events.json"),
        format!("{EVENT_SH}\n{EVENT_CURL}\n"),
    )
    .unwrap();
    std::fs::write(out.join("artifacts.jsonl"), index).unwrap();
    std::fs::write(out.join("host/write.dev-8.inode-12"), b"test").unwrap();
    std::fs::write(out.join("host/exec.4000.dropped"), b"\x7fELF\0\0\0\0").unwrap();
    std::fs::write(
        out.join("written_files"),
        "host/write.dev-8.inode-12 /tmp/dropped\n",
    )
    .unwrap();
    std::fs::write(
        out.join("tracee.profile"),
        r#"{"/tmp/dropped":{"times":1,"file_hash":"aa"}}"#,
    )
    .unwrap();
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_capture_directory_shows_artifacts_among_the_events_in_time_order() {
    let dir = capture_dir(&format!("{ART_WRITE}\n{ART_EXEC}\n"));
    let d = path(dir.path());
    let (rows, out) = fields(
        &[d],
        &[
            "frame.number",
            "_ws.col.protocol",
            "tracee.processName",
            "_ws.col.info",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let protos: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[1].as_str(), r[2].as_str()))
        .collect();
    assert_eq!(
        protos,
        [
            ("TRACEE", "sh"),
            ("ARTIFACT", "sh"),
            ("TRACEE", "curl"),
            ("ARTIFACT", "dropped")
        ]
    );
    assert_eq!(
        rows[1][3],
        "Written file /tmp/dropped → host/write.dev-8.inode-12 (4 bytes)"
    );
    assert_eq!(
        rows[3][3],
        "Executed binary /tmp/dropped → host/exec.4000.dropped (8 bytes), incomplete: 8 bytes lost [bytes lost]"
    );

    // the text view has the artifact lines too, with their PID in the PID column
    let text = stdout(&osprey(&["read", "-q", "-r", d]));
    let line = text.lines().nth(3).unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        words[..5],
        ["4", "0.000003000", "ARTIFACT", "9", "dropped"],
        "{line}"
    );

    // colored by the profile's artifact rules, the incomplete one apart
    let colored = stdout(&osprey(&[
        "read",
        "-q",
        "-r",
        d,
        "--color=always",
        "-Y",
        "artifact",
    ]));
    let backgrounds: Vec<bool> = colored
        .lines()
        .map(|l| l.contains("\x1b[48;2;255;140;105m"))
        .collect();
    assert_eq!(backgrounds, [false, true], "{colored}");
    assert!(colored
        .lines()
        .next()
        .unwrap()
        .contains("\x1b[48;2;240;230;140m"));

    // the detail view names every field
    let detail = stdout(&osprey(&[
        "read",
        "-q",
        "-r",
        d,
        "-V",
        "-Y",
        "artifact.kind == \"exec\"",
    ]));
    for want in [
        "Osprey Artifact: Executed binary",
        "SHA-256: aa",
        "Lost: bytes 0-8 (ring buffer full)",
        "Process: 900 (dropped)",
    ] {
        assert!(detail.contains(want), "{want} missing from\n{detail}");
    }
}

#[test]
fn filters_select_artifacts_by_their_fields_and_their_process() {
    let dir = capture_dir(&format!("{ART_WRITE}\n{ART_EXEC}\n"));
    let d = path(dir.path());
    let numbers = |filter: &str| -> Vec<String> {
        let (rows, out) = fields(&[d], &["frame.number"], &["-Y", filter]);
        assert!(out.status.success(), "{filter}: {}", stderr(&out));
        rows.into_iter().map(|r| r[0].clone()).collect()
    };
    assert_eq!(numbers("artifact"), ["2", "4"]);
    assert_eq!(numbers("tracee"), ["1", "3"], "artifacts are not events");
    assert_eq!(numbers("artifact.complete == false"), ["4"]);
    assert_eq!(numbers("artifact.lost_bytes > 0"), ["4"]);
    assert_eq!(numbers("artifact.lost.reason contains \"ring\""), ["4"]);
    assert_eq!(
        numbers("artifact.original_path == \"/tmp/dropped\""),
        ["2", "4"]
    );
    assert_eq!(numbers("tracee.processName == \"sh\""), ["1", "2"]);
    assert_eq!(numbers("tracee.hostProcessId == 900"), ["3", "4"]);
    assert_eq!(numbers("artifact.sha256 matches \"^9f86\""), ["2"]);
    assert_eq!(numbers("tracee.eventName == \"write\""), ["1"]);
}

#[test]
fn converting_keeps_artifact_records_byte_for_byte() {
    let dir = capture_dir(&format!("{ART_WRITE}\n{ART_EXEC}\n"));
    let d = path(dir.path());
    let scratch = tempdir();
    let pcapng = scratch.path().join("all.pcapng");
    let out = osprey(&["read", "-q", "-r", d, "-w", path(&pcapng)]);
    assert!(out.status.success(), "{}", stderr(&out));

    // the records travel as their own JSON on a USER1 interface, in time order with the events
    let data = std::fs::read(&pcapng).unwrap();
    let mut reader = osprey_pcapng::CaptureReader::new(&data[..]).unwrap();
    let mut frames = Vec::new();
    while let osprey_pcapng::Next::Packet(p) = reader.next() {
        let link = reader.interfaces()[p.interface].link_type;
        frames.push((link, p.data.to_vec()));
    }
    let expected: Vec<(u16, Vec<u8>)> = [
        (147, EVENT_SH),
        (148, ART_WRITE),
        (147, EVENT_CURL),
        (148, ART_EXEC),
    ]
    .iter()
    .map(|(l, s)| (*l, s.as_bytes().to_vec()))
    .collect();
    assert_eq!(frames, expected);

    // and come back as artifacts
    let (rows, _) = fields(&[path(&pcapng)], &["artifact.kind"], &["-Y", "artifact"]);
    assert_eq!(rows, [["write"], ["exec"]]);

    // Wireshark opens the file (the records are undissected user data to it)
    let tshark = Command::new("tshark")
        .args(["-r", path(&pcapng), "-T", "fields", "-e", "frame.number"])
        .output()
        .expect("tshark (scripts/setup.sh installs it)");
    assert!(tshark.status.success(), "{}", stderr(&tshark));
    assert_eq!(stdout(&tshark).lines().count(), 4);

    // NDJSON holds events only: the records are left out, and said so
    let json = scratch.path().join("events-only.json");
    let out = osprey(&["read", "-r", d, "-w", path(&json)]);
    assert!(out.status.success());
    assert_eq!(lines(&json), [EVENT_SH.as_bytes(), EVENT_CURL.as_bytes()]);
    assert!(
        stderr(&out).contains("2 packet(s) or artifact record(s) not written"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_index_given_alone_is_recognised_and_damage_is_reported_by_line() {
    let dir = capture_dir(&format!(
        "{ART_WRITE}\n{{\"timestamp\":5,\"kind\":7}}\n{ART_EXEC}\n"
    ));
    let index = dir.path().join("out/artifacts.jsonl");
    let (rows, out) = fields(&[path(&index)], &["artifact.kind"], &[]);
    assert_eq!(rows, [["write"], ["exec"]]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a skipped record is exit code 1"
    );
    let err = stderr(&out);
    assert!(
        err.contains("artifacts.jsonl: line 2: not an artifact record"),
        "{err}"
    );
}

/// The whole path, for real: trace a command with `--capture exec`, then read the directory.
#[test]
fn a_real_capture_reads_back_with_its_artifacts() {
    if !can_capture("a_real_capture_reads_back_with_its_artifacts") {
        return;
    }
    let dir = tempdir();
    let capture = format!("dir:{}", path(dir.path()));
    // a binary copied to a fresh path and run from there: its image is captured once
    let bin = dir.path().join("suspect-true");
    std::fs::copy("/bin/true", &bin).unwrap();
    let out = osprey(&[
        "trace",
        "-q",
        "-e",
        "sched_process_exec",
        "-o",
        "json:/dev/null",
        "--capture",
        "exec",
        "--capture",
        &capture,
        "--",
        path(&bin),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (rows, out) = fields(
        &[path(dir.path())],
        &[
            "_ws.col.protocol",
            "tracee.eventName",
            "artifact.original_path",
            "artifact.sha256",
        ],
        &["-Y", "tracee.processName == \"suspect-true\""],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        rows.iter()
            .any(|r| r[0] == "TRACEE" && r[1] == "sched_process_exec"),
        "no exec event in {rows:?}"
    );
    let artifact = rows
        .iter()
        .position(|r| r[0] == "ARTIFACT" && r[2] == path(&bin))
        .unwrap_or_else(|| panic!("no exec artifact in {rows:?}"));
    use sha2::Digest;
    let sha = format!("{:x}", sha2::Sha256::digest(std::fs::read(&bin).unwrap()));
    assert_eq!(rows[artifact][3], sha);
}

/// The reported case: a host-wide `osprey trace --scope comm=NAME --capture exec` captured
/// the binaries of every process on the host. Only NAME's artifacts are captured now, the
/// processes out of scope run to their end (none is left stopped), and the exit summary
/// counts what the index lists. Not quite host-wide: the programs run as `nobody` and the
/// trace is scoped to that uid too, so that the first execs of other people's processes (and
/// of the tests running beside this one) are not held by this trace.
#[test]
fn a_host_wide_capture_keeps_only_the_scopes_artifacts() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;
    if !can_capture("a_host_wide_capture_keeps_only_the_scopes_artifacts") {
        return;
    }
    let dir = tempdir();
    let work = tempfile::tempdir_in("/var/tmp").unwrap();
    let w = work.path().canonicalize().unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&w, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    const NOBODY: u32 = 65534;
    let tag = std::process::id() % 100_000;
    // shells under names of their own: the one in scope and one out of it
    let inside = w.join(format!("hwin{tag}"));
    let outside = w.join(format!("hwout{tag}"));
    for p in [&inside, &outside] {
        std::fs::copy("/bin/sh", p).unwrap();
    }
    let capture = format!("dir:{}", path(dir.path()));
    let events = dir.path().join("events.json");
    let comm = format!("comm=hwin{tag}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_osprey"))
        .args([
            "trace",
            "-e",
            "sched_process_exit",
            "-o",
            &format!("json:{}", path(&events)),
            "--buffer-size",
            "16",
            "--capture-buffer-size",
            "16",
            "--scope",
            &comm,
            "--scope",
            "uid=65534",
            "--capture",
            "exec",
            "--capture",
            "write",
            "--capture",
            &capture,
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    loop {
        let mut line = String::new();
        assert!(err.read_line(&mut line).unwrap() > 0, "osprey ended: {log}");
        log.push_str(&line);
        if line.contains("capturing into") {
            break;
        }
    }
    let run = |bin: &Path, args: &[&str]| {
        // a task left stopped would make timeout fail
        use std::os::unix::process::CommandExt;
        let st = Command::new("timeout")
            .uid(NOBODY)
            .gid(NOBODY)
            .arg("30")
            .arg(bin)
            .args(args)
            .status()
            .unwrap();
        assert!(st.success(), "{} {args:?}: {st}", bin.display());
    };
    let script = |f: &str| format!("echo data of {f} > {}; /bin/true", path(&w.join(f)));
    run(&outside, &["-c", &script("out.txt")]);
    run(Path::new("/bin/cat"), &["/etc/hostname"]);
    run(&inside, &["-c", &script("in.txt")]);
    run(Path::new("/bin/date"), &[]);
    run(&outside, &["-c", &script("out2.txt")]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    err.read_to_string(&mut log).unwrap();
    assert!(child.wait().unwrap().success(), "{log}");
    let index = std::fs::read_to_string(dir.path().join("out/artifacts.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = index
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let originals = |kind: &str| -> Vec<String> {
        let mut v: Vec<String> = records
            .iter()
            .filter(|r| r["kind"] == kind)
            .map(|r| r["original_path"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(originals("exec"), [path(&inside)], "{index}");
    assert_eq!(originals("write"), [path(&w.join("in.txt"))], "{index}");
    for r in &records {
        assert_eq!(r["process"]["processName"], format!("hwin{tag}"), "{r}");
    }
    // nothing in out/host but what the index lists
    let mut stored: Vec<String> = std::fs::read_dir(dir.path().join("out/host"))
        .unwrap()
        .map(|e| format!("host/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    stored.sort();
    let mut listed: Vec<String> = records
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    assert_eq!(stored, listed);
    // the events are of the process in scope only, the summary counts what the index lists
    let evs = std::fs::read_to_string(&events).unwrap();
    assert!(
        evs.contains(&format!("\"processName\":\"hwin{tag}\"")),
        "{evs}"
    );
    assert!(!evs.contains(&format!("hwout{tag}\"")), "{evs}");
    let summary = log
        .lines()
        .find(|l| l.starts_with("osprey: capture: ") && l.contains(" artifacts in "))
        .unwrap_or_else(|| panic!("no summary in {log}"));
    assert!(
        summary.starts_with(&format!("osprey: capture: {} artifacts in ", records.len())),
        "{summary} vs {index}"
    );
    assert!(
        summary.contains("(1 written files, 1 binaries from 1 executions"),
        "{summary}"
    );
}
