//! `osprey detect`: findings from a recording, in Tracee's layout, that `osprey read` colors and
//! counts like Tracee's own; the catalogue; rules-file errors.

use std::path::Path;

use crate::util::{fixture, osprey, stderr, stdout, DOCS};

/// A recording of real Tracee events (tests/fixtures, see NOTICE): the docs recording, plus
/// its `security_file_open` of /tmp/testing.txt for writing, aimed at /etc/sudoers.
fn recording(dir: &Path) -> std::path::PathBuf {
    let docs = std::fs::read_to_string(fixture(DOCS)).unwrap();
    let write = docs
        .lines()
        .find(|l| l.contains("\"eventName\":\"security_file_open\"") && l.contains("O_WRONLY"))
        .unwrap();
    let mut text = docs.clone();
    text.push_str(&write.replace("/tmp/testing.txt", "/etc/sudoers"));
    text.push('\n');
    let path = dir.join("events.json");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn findings_of_a_recording_in_tracees_layout() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recording(dir.path());
    let out = osprey(&["detect", "-r", rec.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["eventName"], "sudoers_modification");
    assert_eq!(v["eventId"], "6028");
    assert_eq!(v["metadata"]["Properties"]["signatureID"], "TRC-1028");
    assert_eq!(v["args"][0]["name"], "triggeredBy");
    assert_eq!(v["args"][0]["value"]["name"], "security_file_open");
    assert!(
        stderr(&out).contains("79 events, 1 finding(s)"),
        "{}",
        stderr(&out)
    );

    // the same recording as PcapNG (the Traceeshark layout) gives the same finding
    let pcapng = dir.path().join("events.pcapng");
    crate::util::convert(&rec, &pcapng);
    let again = osprey(&["detect", "-q", "-r", pcapng.to_str().unwrap()]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stdout(&again), text);

    // and as a capture directory (its out/events.json)
    let capdir = dir.path().join("case");
    std::fs::create_dir_all(capdir.join("out")).unwrap();
    std::fs::copy(&rec, capdir.join("out/events.json")).unwrap();
    let from_dir = osprey(&["detect", "-q", "-r", capdir.to_str().unwrap()]);
    assert!(from_dir.status.success(), "{}", stderr(&from_dir));
    assert_eq!(stdout(&from_dir), text);

    // and as a Parquet lake (docs/fleet.md)
    let lake = dir.path().join("lake");
    crate::util::convert(&rec, format!("lake:{}", lake.display()).as_ref());
    let from_lake = osprey(&["detect", "-r", lake.to_str().unwrap()]);
    assert!(from_lake.status.success(), "{}", stderr(&from_lake));
    assert_eq!(stdout(&from_lake), text);
    assert!(stderr(&from_lake).contains("79 events, 1 finding(s)"));

    // none selected: nothing
    let none = osprey(&[
        "detect",
        "-q",
        "-r",
        rec.to_str().unwrap(),
        "--signatures",
        "none",
    ]);
    assert!(none.status.success());
    assert!(none.stdout.is_empty());
}

#[test]
fn osprey_read_counts_and_colors_findings_like_tracees() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recording(dir.path());
    let found = dir.path().join("findings.pcapng");
    let out = osprey(&[
        "detect",
        "-q",
        "-r",
        rec.to_str().unwrap(),
        "-w",
        found.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // PcapNG, read back: a signature frame
    let counts = osprey(&[
        "read",
        "-q",
        "-r",
        found.to_str().unwrap(),
        "-z",
        "tracee,event_counts",
    ]);
    let text = stdout(&counts);
    assert!(text.contains("Signatures"), "{text}");
    assert!(text.contains("Severity 2"), "{text}");
    assert!(text.contains("sudoers_modification"), "{text}");
    // the same coloring rule as Tracee's own finding of the same severity (TRC-1022, severity 2)
    let color = |file: &Path| {
        let o = osprey(&[
            "read",
            "-q",
            "-r",
            file.to_str().unwrap(),
            "--color",
            "always",
            "-Y",
            "tracee.isSignature == true",
        ]);
        let s = stdout(&o);
        let line = s.lines().next().unwrap_or_default().to_string();
        line[..line.find('m').unwrap() + 1].to_string()
    };
    let tracee = color(&fixture("tracee/examples/finding_TRC-1022.v0.11-era.json"));
    assert!(tracee.starts_with("\x1b["), "{tracee:?}");
    assert_eq!(color(&found), tracee);
    let summary = osprey(&["read", "-q", "-r", found.to_str().unwrap()]);
    assert!(stdout(&summary).contains("TRACEE/SIG"));
}

#[test]
fn the_catalogue() {
    let out = osprey(&["detect", "--list"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 32, "{text}"); // header + 31
    let row = |id: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap()
            .to_string()
    };
    assert!(row("TRC-101").contains("stdio_over_socket"));
    assert!(row("TRC-101").contains("live and replay"));
    // kernel integrity: replayable everywhere; live where the kernel lets the tracer check
    // (not as a user: /proc/kallsyms hides addresses)
    assert!(
        row("TRC-1030").contains("syscall_hooking") && row("TRC-1030").contains("hooked_syscall")
    );
    assert!(row("TRC-1020").contains("hooked_proc_fops"));
    for id in ["TRC-1020", "TRC-1030"] {
        let r = row(id);
        assert!(
            r.contains("live and replay") || r.contains("replay; live not on this kernel ("),
            "{r}"
        );
    }
}

#[test]
fn user_rules_and_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recording(dir.path());
    let rules = dir.path().join("mine.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nid = \"MINE-1\"\nname = \"bash_opens\"\nseverity = 1\nevents = [\"security_file_open\"]\nfilter = 'tracee.processName == \"bash\"'\n",
    )
    .unwrap();
    let out = osprey(&[
        "detect",
        "-q",
        "-r",
        rec.to_str().unwrap(),
        "-R",
        rules.to_str().unwrap(),
        "--signatures",
        "MINE-1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let n = stdout(&out)
        .lines()
        .filter(|l| l.contains("\"eventName\":\"bash_opens\""))
        .count();
    assert!(n >= 1, "{}", stdout(&out));
    let list = osprey(&["detect", "--list", "-R", rules.to_str().unwrap()]);
    assert!(stdout(&list).contains("MINE-1"));

    std::fs::write(
        &rules,
        "[[rule]]\nid = \"MINE-1\"\nname = \"x\"\nseverity = 1\nfilter = 'tracee.processName =='\n",
    )
    .unwrap();
    let bad = osprey(&[
        "detect",
        "-r",
        rec.to_str().unwrap(),
        "-R",
        rules.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let msg = stderr(&bad);
    assert!(
        msg.contains(&format!(
            "{}:5: rule MINE-1: bad filter: expected a value after \"==\"",
            rules.display()
        )),
        "{msg}"
    );
    let missing = osprey(&[
        "detect",
        "-r",
        rec.to_str().unwrap(),
        "-R",
        "/nonexistent.toml",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("/nonexistent.toml: cannot read the rules file"));
}

/// The same rules written in TOML and in YAML: the same findings, byte for byte.
const RULES_TOML: &str = r#"
[macros]
by = 'tracee.processName == "$1"'

[[rule]]
id = "MINE-1"
name = "bash_opens"
title = "bash opened a file"
description = "An open by bash."
severity = 1
category = "test"
technique = "Testing"
external_id = "T0000"
events = ["security_file_open"]
filter = 'tracee.eventName == "security_file_open" and ${by:bash}'

[[rule]]
id = "MINE-2"
name = "openat_then_open"
severity = 2
events = ["openat", "security_file_open"]
filter = 'tracee.eventName == "openat"'
then = 'tracee.eventName == "security_file_open"'
within = "24h"

[[rule]]
id = "MINE-3"
name = "ping_then_ping6"
severity = 4
events = ["net_packet_icmp", "net_packet_icmpv6"]
filter = 'tracee.eventName == "net_packet_icmp"'
then = '''
  tracee.eventName == "net_packet_icmpv6"
'''
within = "24h"
scope = "host"
"#;

const RULES_YAML: &str = r#"
# the rules of RULES_TOML
macros:
  by: 'tracee.processName == "$1"'

rule:
  - id: MINE-1
    name: bash_opens
    title: bash opened a file
    description: An open by bash.
    severity: 1
    category: test
    technique: Testing
    external_id: T0000
    events: [security_file_open]
    filter: tracee.eventName == "security_file_open" and ${by:bash}

  - id: MINE-2
    name: openat_then_open
    severity: 2
    events:
      - openat
      - security_file_open
    filter: 'tracee.eventName == "openat"'
    then: 'tracee.eventName == "security_file_open"'
    within: 24h

  - id: MINE-3
    name: ping_then_ping6
    severity: 4
    events: [net_packet_icmp, net_packet_icmpv6]
    filter: 'tracee.eventName == "net_packet_icmp"'
    then: |
      tracee.eventName == "net_packet_icmpv6"
    within: "24h"
    scope: host
"#;

#[test]
fn yaml_rules_give_the_findings_of_the_same_toml_rules() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recording(dir.path());
    let mut outputs = Vec::new();
    for (name, text) in [
        ("mine.toml", RULES_TOML),
        ("mine.yaml", RULES_YAML),
        ("mine.YML", RULES_YAML),
    ] {
        let rules = dir.path().join(name);
        std::fs::write(&rules, text).unwrap();
        let out = osprey(&[
            "detect",
            "-q",
            "-r",
            rec.to_str().unwrap(),
            "-R",
            rules.to_str().unwrap(),
            "--signatures",
            "MINE-1,MINE-2,MINE-3",
        ]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        outputs.push(stdout(&out));
        let list = osprey(&["detect", "--list", "-R", rules.to_str().unwrap()]);
        assert!(list.status.success(), "{}", stderr(&list));
        for id in ["MINE-1", "MINE-2", "MINE-3"] {
            assert!(stdout(&list).contains(id), "{}", stdout(&list));
        }
    }
    let toml = &outputs[0];
    for (id, severity) in [("MINE-1", 1), ("MINE-2", 2), ("MINE-3", 4)] {
        let found: Vec<serde_json::Value> = toml
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|v: &serde_json::Value| v["metadata"]["Properties"]["signatureID"] == id)
            .collect();
        assert!(!found.is_empty(), "{id}: {toml}");
        assert_eq!(
            found[0]["metadata"]["Properties"]["Severity"], severity,
            "{id}"
        );
    }
    assert_eq!(&outputs[1], toml, "YAML and TOML findings differ");
    assert_eq!(&outputs[2], toml, ".YML and TOML findings differ");
}

#[test]
fn yaml_rule_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recording(dir.path());
    let rules = dir.path().join("mine.yml");
    for (text, line, reason) in [
        (
            "rule:\n  - id: MINE-1\n    name: x\n    severity: 1\n    filter: tracee.processName ==\n",
            5,
            "rule MINE-1: bad filter: expected a value after \"==\"",
        ),
        (
            "rule:\n  - id: MINE-1\n    name: x\n    severity: 1\n    filter: tracee\n  - id: MINE-2\n    name: y\n    severity: critical\n    filter: tracee\n",
            8,
            "invalid i64",
        ),
        (
            "rule:\n  - id: MINE-1\n    name: x\n    severity: 1\n    filter: tracee\n  - id: MINE-2\n    name: y\n    severity: 5\n    filter: tracee\n",
            8,
            "rule MINE-2: severity 5 is not in 0..4",
        ),
        (
            "macros:\n  m: &m tracee\nrule:\n  - id: MINE-1\n    name: x\n    severity: 1\n    filter: *m\n",
            2,
            "anchors, aliases and merge keys are not allowed in rules files (use macros)",
        ),
        (
            "rule:\n  - id: TRC-102\n    name: x\n    severity: 1\n    filter: tracee\n",
            0,
            "rule TRC-102 has the ID of a built-in signature",
        ),
    ] {
        std::fs::write(&rules, text).unwrap();
        for args in [
            vec!["detect", "-r", rec.to_str().unwrap(), "-R", rules.to_str().unwrap()],
            vec!["detect", "--list", "-R", rules.to_str().unwrap()],
        ] {
            let bad = osprey(&args);
            assert_eq!(bad.status.code(), Some(2), "{text}");
            let msg = stderr(&bad);
            let want = if line > 0 {
                format!("{}:{line}: {reason}", rules.display())
            } else {
                format!("{}: {reason}", rules.display())
            };
            assert!(msg.contains(&want), "want {want:?} in {msg}");
        }
    }
}

#[test]
fn damaged_lines_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recording(dir.path());
    let mut text = std::fs::read_to_string(&rec).unwrap();
    text.insert_str(
        0,
        "{\"timestamp\":1,\"eventName\":\"security_file_open\",\"args\":[\n",
    );
    std::fs::write(&rec, text).unwrap();
    let out = osprey(&["detect", "-r", rec.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 damaged record(s) skipped"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out).lines().count(), 1);
    let unknown = osprey(&[
        "detect",
        "-r",
        rec.to_str().unwrap(),
        "--signatures",
        "TRC-999",
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("unknown signature \"TRC-999\""));
}
