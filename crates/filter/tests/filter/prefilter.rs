//! The prefilter never drops a line the filter matches: every filter below is run over every
//! event line of the fixtures (and variants of them made to trip byte-level tests), comparing
//! `prefilter.may_match(line) || !filter.matches(event)`.
//!
//! Events are turned into fields by a small stand-in for the event dissector, following
//! analyzer.md §2: context fields, the event name, and each argument as
//! `tracee.args.<event>.<arg>` (text verbatim, numbers as numbers, arrays as several values,
//! objects rendered `{key = value, ...}`), plus `detected_from` arguments of signatures.

use std::borrow::Cow;
use std::path::PathBuf;

use osprey_event::value::Value;
use osprey_event::Event;
use osprey_field::{
    fields::frame, fields::tracee as t, registry, sanitize_name, FieldId, FieldValue,
};
use osprey_filter::{Filter, Macros, Prefilter};

use crate::spec_filters::spec_macros;
use crate::support::Frame;

/// The fixture lines, then variants of each; and how many of them are the fixtures' own.
fn fixtures() -> (Vec<Vec<u8>>, usize) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tracee");
    let mut lines = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.extend(
        std::fs::read_dir(dir.join("examples"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    paths.sort();
    for p in paths {
        if p.is_file() {
            let data = std::fs::read(&p).unwrap();
            lines.extend(
                data.split(|b| *b == b'\n')
                    .filter(|l| !l.is_empty())
                    .map(<[u8]>::to_vec),
            );
        }
    }
    assert!(lines.len() > 100, "fixtures not found in {}", dir.display());
    // Variants: renamed events, a nested eventName key, escapes, spacing, a second key.
    let base = lines.clone();
    for l in &base {
        let s = String::from_utf8_lossy(l).to_string();
        lines.push(
            s.replacen("\"eventName\":\"", "\"eventName\":\"x", 1)
                .into_bytes(),
        );
        lines.push(
            s.replacen("\"eventName\":\"", "\"eventName\": \"", 1)
                .into_bytes(),
        );
        lines.push(
            s.replacen("\"processName\":\"", "\"processName\":\"a\\\"b", 1)
                .into_bytes(),
        );
        lines.push(s.replacen("\"args\":[", "\"args\":[{\"name\":\"nested\",\"type\":\"obj\",\"value\":{\"eventName\":\"sched_process_exec\"}},", 1).into_bytes());
        lines.push(
            s.replacen(
                "\"eventName\":\"",
                "\"eventName\":\"security_file_open\",\"eventName\":\"",
                1,
            )
            .into_bytes(),
        );
        // what makes an event a signature, in the spellings the readers accept
        for id in ["\"eventId\":\"6", "\"eventId\":\"06", "\"eventId\": \" 6"] {
            lines.push(s.replacen("\"eventId\":\"", id, 1).into_bytes());
        }
        lines.push(
            s.replacen("\"eventName\":\"", "\"eventName\":\"sig_", 1)
                .into_bytes(),
        );
    }
    (lines, base.len())
}

/// A stand-in for the event dissector (see the module documentation).
fn dissect(event: &Event<'_>) -> Frame {
    let mut f = Frame::new().proto("frame").proto("tracee");
    let s = |f: Frame, id: FieldId, v: &str| -> Frame {
        push(f, id, FieldValue::Str(Cow::Owned(v.to_string())))
    };
    f = s(f, t::EVENT_NAME, &event.event_name);
    f = s(f, t::PROCESS_NAME, &event.process_name);
    if let Some(p) = &event.executable_path {
        f = s(f, t::EXECUTABLE_PATH, p);
    }
    f = s(f, t::HOST_NAME, &event.host_name);
    f = s(f, t::CONTAINER_ID, &event.container.id);
    f = s(f, t::CONTAINER_NAME, &event.container.name);
    f = s(f, t::CONTAINER_IMAGE, &event.container.image);
    f = s(f, t::POD_NAME, &event.kubernetes.pod_name);
    if !event.syscall.is_empty() {
        f = s(f, t::SYSCALL, &event.syscall);
    }
    for p in event.matched_policies.iter().flatten() {
        f = s(f, t::MATCHED_POLICIES, p);
    }
    f = push(f, t::PROCESS_ID, FieldValue::Int(event.process_id));
    f = push(
        f,
        t::HOST_PROCESS_ID,
        FieldValue::Int(event.host_process_id),
    );
    f = push(f, t::USER_ID, FieldValue::UInt(event.user_id as u64));
    f = push(f, t::EVENT_ID, FieldValue::Int(event.event_id));
    f = push(f, t::RETURN_VALUE, FieldValue::Int(event.return_value));
    f = push(f, t::IS_SIGNATURE, FieldValue::Bool(event.is_signature()));
    f = push(f, t::IS_CONTAINER, FieldValue::Bool(event.is_container()));
    f = push(f, frame::TIME, FieldValue::AbsTime(event.timestamp));
    if let Some(m) = &event.metadata {
        f = s(f, t::METADATA_DESCRIPTION, &m.description);
        if let Some(Value::Str(n)) = m.property("signatureName") {
            f = s(f, t::METADATA_SIGNATURE_NAME, n);
        }
        if let Some(sev) = m.property("Severity").and_then(Value::as_i64) {
            f = push(f, t::METADATA_SEVERITY, FieldValue::Int(sev));
        }
    }
    let ev = sanitize_name(&event.event_name).to_string();
    for arg in &event.args {
        let name = format!("tracee.args.{ev}.{}", sanitize_name(&arg.name));
        f = add_value(f, &name, &arg.value);
        if arg.name == "triggeredBy" {
            if let Some(Value::Array(args)) = arg.value.get("args") {
                for a in args {
                    if let (Some(n), Some(v)) =
                        (a.get("name").and_then(Value::as_str), a.get("value"))
                    {
                        f = add_value(
                            f,
                            &format!("tracee.args.{ev}.detected_from.{}", sanitize_name(n)),
                            v,
                        );
                    }
                }
            }
        }
        if arg.name == "request" && event.event_name == "ptrace" {
            if let Some(r) = arg.value.as_i64() {
                f = push(f, t::PTRACE_REQUEST, FieldValue::Int(r));
            }
        }
        if let (Some(sa), true) = (arg.value.get("sa_family"), arg.ty.contains("sockaddr")) {
            f = s(f, t::SOCKADDR_SA_FAMILY, sa.as_str().unwrap_or(""));
        }
    }
    f
}

fn push(mut f: Frame, id: FieldId, v: FieldValue<'static>) -> Frame {
    f.items.push((id, v));
    f
}

fn add_value(f: Frame, name: &str, v: &Value<'_>) -> Frame {
    if registry().resolve(name).is_none() {
        return f;
    }
    match v {
        Value::Null => f,
        Value::Bool(b) => f.with(name, FieldValue::Bool(*b)),
        Value::Int(i) => f.with(name, FieldValue::Int(*i)),
        Value::UInt(u) => f.with(name, FieldValue::UInt(*u)),
        Value::Float(x) => f.with(name, FieldValue::Double(*x)),
        Value::Str(s) => f.str(name, s),
        Value::Array(items) if items.iter().all(|i| matches!(i, Value::Str(_))) => items
            .iter()
            .fold(f, |f, i| f.str(name, i.as_str().unwrap_or(""))),
        other => f.str(name, &render(other)),
    }
}

fn render(v: &Value<'_>) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(x) => x.to_string(),
        Value::Str(s) => s.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(kv) => format!(
            "{{{}}}",
            kv.iter()
                .map(|(k, v)| format!("{k} = {}", render(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

const FILTERS: &[&str] = &[
    "tracee",
    "not tracee",
    "tracee.eventName == \"security_file_open\"",
    "tracee.eventName == \"net_packet_dns\"",
    "tracee.eventName == \"New executable dropped\"",
    "tracee.eventName != \"net_packet_dns\"",
    "tracee.eventName === \"vfs_read\"",
    "tracee.eventName in {\"openat\", \"execve\", \"close\"}",
    "tracee.eventName contains \"net_\"",
    "tracee.eventName contains \"dns\" and tracee.processName == \"ping\"",
    "not tracee.eventName == \"net_packet_dns\"",
    "tracee.eventName matches \"^net_packet_(dns|http)\"",
    "tracee.eventName == \"sched_process_exec\" or tracee.eventName == \"vfs_read\"",
    "tracee.eventName == \"clone\" xor tracee.processName == \"bash\"",
    "tracee.processName == \"bash\"",
    "tracee.processName == bash",
    "tracee.processName contains \"as\"",
    "tracee.processName in {\"ping\", \"dpkg\"}",
    "tracee.container.image == \"docker.io/library/ubuntu:latest\"",
    "tracee.container.id == \"\"",
    "tracee.container.id != \"\"",
    "tracee.syscall == \"openat\"",
    "tracee.matchedPolicies == \"default\"",
    "tracee.hostName contains \"kinetic\"",
    "tracee.args.security_file_open.pathname contains \"/tmp\"",
    "tracee.args.security_file_open.pathname == \"/tmp/testing.txt\"",
    "tracee.args.security_file_open.flags contains \"O_WRONLY\"",
    "tracee.args.security_file_open.dev == 271581185",
    "tracee.args.security_file_open.pathname",
    "tracee.args.net_packet_dns.src == \"127.0.0.1\"",
    "tracee.args.net_packet_dns.src == 127.0.0.0/8",
    "tracee.args.net_packet_dns.dst_port == 53",
    "tracee.args.net_packet_dns.dst_port in {53, 5353}",
    "tracee.args.net_packet_dns.proto_dns contains \"ebpf\"",
    "tracee.args.net_packet_dns.proto_dns contains \"questions = \"",
    "tracee.args.net_packet_dns.proto_dns contains \"name = ebpf.io\"",
    "tracee.args.sched_process_exec.argv contains \"ls\"",
    "tracee.args.sched_process_exec.argv == \"-la\"",
    "tracee.args.New_executable_dropped.detected_from.pathname contains \"/\"",
    "tracee.args.mine.detected_from.pathname",
    "tracee.args.vfs_read.count > 0",
    "not tracee.args.vfs_read.count",
    "tracee.args.ptrace.request == PTRACE_ATTACH",
    r#"tracee.args.security_file_open.pathname matches r"(?-i)^/tmp/""#,
    r#"tracee.args.security_file_open.pathname matches r"(?-i)testing\.txt$""#,
    r#"tracee.args.security_file_open.pathname matches r"(?-i)^/(etc|tmp)/[a-z]+""#,
    r#"tracee.args.security_file_open.pathname matches "^/TMP/""#,
    r#"tracee.args.sched_process_exec.argv matches r"(?-i)^ls$""#,
    r#"tracee.args.net_packet_dns.proto_dns matches r"(?-i)ebpf\.io""#,
    r#"tracee.processName matches r"(?-i)^(ping|bash)$""#,
    r#"tracee.processName matches "^PI""#,
    r#"tracee.container.image matches r"(?-i)ubuntu""#,
    "tracee.isSignature == true",
    "tracee.isSignature == 1",
    "tracee.isSignature in {true}",
    "tracee.isSignature == true and tracee.processName == \"bash\"",
    "tracee.isSignature != false",
    "tracee.isSignature == false and tracee.eventName contains \"net\"",
    "tracee.processId > 1000 and tracee.eventName == \"net_packet_dns\"",
    "frame.time > \"2023-01-01\"",
    "len(tracee.eventName) > 10",
    "count(tracee.args.net_packet_dns.src) == 1",
    "lower(tracee.eventName) == \"security_file_open\"",
    "tracee.eventName[0:3] == \"net\"",
    "tracee.eventName == 80",
    "max(tracee.args.vfs_read.count, tracee.args.security_file_open.dev) > 0",
    "tcp or tracee.eventName == \"openat\"",
    "ip.addr == 127.0.0.1 and tracee.eventName == \"net_packet_tcp\"",
];

#[test]
fn prefilter_never_drops_a_match() {
    let (lines, fixture_lines) = fixtures();
    let macros = spec_macros();
    let mut filters: Vec<String> = FILTERS.iter().map(|s| s.to_string()).collect();
    filters.extend(
        crate::spec_filters::all_spec_filters()
            .into_iter()
            .map(|(_, f)| f),
    );
    let events: Vec<Option<Frame>> = lines
        .iter()
        .map(|l| osprey_event::parse_event(l).ok().map(|e| dissect(&e)))
        .collect();
    let mut rejected_total = 0;
    let mut report = Vec::new();
    for text in &filters {
        let filter = Filter::compile(text, &macros).unwrap_or_else(|e| panic!("{text}: {e}"));
        let pre = filter.event_prefilter();
        let (mut matched, mut rejected) = (0, 0);
        for (line, event) in lines.iter().zip(&events) {
            let Some(event) = event else { continue };
            let m = filter.matches(event);
            matched += m as usize;
            if !pre.may_match(line) {
                rejected += 1;
                assert!(
                    !m,
                    "prefilter of {text:?} dropped a matching line:\n{}",
                    String::from_utf8_lossy(line)
                );
            }
        }
        rejected_total += rejected;
        report.push(format!("{rejected:5} rejected, {matched:4} match: {text}"));
    }
    let report = report.join("\n");
    println!("{report}");
    assert!(
        rejected_total > 1000,
        "the prefilter rejects almost nothing:\n{report}"
    );
    // Filters naming one event reject every other well-formed line.
    let f = Filter::compile("tracee.eventName == \"security_file_open\"", &Macros::new()).unwrap();
    let p = f.event_prefilter();
    let base = &lines[..fixture_lines];
    let kept = base.iter().filter(|l| p.may_match(l)).count();
    assert!(kept <= 12, "{kept} of {} kept", base.len());
}

#[test]
fn prefilter_rules() {
    let m = Macros::new();
    let pre = |text: &str| Filter::compile(text, &m).unwrap().event_prefilter();
    let line = br#"{"timestamp":1,"processName":"bash","eventName":"openat","args":[{"name":"pathname","type":"const char*","value":"/etc/passwd"}]}"#;
    let cases: &[(&str, bool)] = &[
        ("tracee", true),
        ("not tracee", false),
        ("tracee.eventName == \"openat\"", true),
        ("tracee.eventName == \"close\"", false),
        ("tracee.eventName in {\"close\", \"openat\"}", true),
        ("tracee.eventName != \"openat\"", false),
        ("tracee.eventName != \"close\"", true),
        ("not tracee.eventName == \"openat\"", true),
        ("tracee.eventName contains \"open\"", true),
        ("tracee.eventName contains \"clo\"", false),
        ("tracee.processName == \"bash\"", true),
        ("tracee.processName == \"zsh\"", false),
        ("tracee.processName contains \"zs\"", false),
        ("tracee.processName in {\"zsh\", \"ksh\"}", false),
        ("tracee.processName in {\"zsh\", \"bash\"}", true),
        (
            "tracee.processName == \"zsh\" or tracee.args.openat.pathname contains \"/usr/\"",
            false,
        ),
        (
            "tracee.processName == \"zsh\" or tracee.args.openat.pathname contains \"/etc/\"",
            true,
        ),
        ("tracee.args.openat.pathname contains \"/etc/\"", true),
        ("tracee.args.openat.pathname contains \"/usr/\"", false),
        ("tracee.args.close.fd == 3", false),
        ("tracee.args.openat.flags == 3", true),
        ("tracee.args.openat.pathname == \"/etc/shadow\"", false),
        ("tracee.args.openat.pathname matches \"shadow\"", true),
        (
            r#"tracee.args.openat.pathname matches r"(?-i)^/etc/(passwd|shadow)$""#,
            true,
        ),
        (
            r#"tracee.args.openat.pathname matches r"(?-i)^/usr/""#,
            false,
        ),
        (
            r#"tracee.args.openat.pathname matches r"(?-i)p.sswd""#,
            true,
        ),
        (r#"tracee.args.openat.pathname matches r"(?-i)x*""#, true),
        (r#"tracee.args.openat.pathname matches r"(?-i)a=b""#, true),
        (r#"tracee.processName matches r"(?-i)^z""#, false),
        (r#"tracee.processName matches "^BA""#, true),
        (r#"tracee.processName matches "^ZS""#, false),
        (
            "tracee.eventName == \"close\" or tracee.processName == \"bash\"",
            true,
        ),
        (
            "tracee.eventName == \"close\" and tracee.processName == \"bash\"",
            false,
        ),
        ("tracee.processId == 5", true),
        ("not tracee.processId == 5", true),
        ("", true),
    ];
    for (text, want) in cases {
        assert_eq!(pre(text).may_match(line), *want, "{text}");
    }
    // A backslash anywhere makes every line a candidate.
    let escaped = br#"{"processName":"a\"b","eventName":"openat"}"#;
    assert!(pre("tracee.eventName == \"close\"").may_match(escaped));
    // No key, or two: the name is unknown.
    assert!(pre("tracee.eventName == \"close\"").may_match(br#"{"name":"openat"}"#));
    assert!(pre("tracee.eventName == \"close\"")
        .may_match(br#"{"eventName":"openat","eventName":"close"}"#));
    // A byte argument may decode to the needle.
    let bytes_line = br#"{"eventName":"magic_write","args":[{"name":"bytes","type":"bytes","value":"f0VMRg=="}]}"#;
    assert!(pre("tracee.args.magic_write.bytes contains \"ELF\"").may_match(bytes_line));
    assert!(pre(r#"tracee.args.magic_write.bytes contains "ELF" or tracee.args.magic_write.pathname contains "/x""#).may_match(bytes_line));
    // Settled for a known event name.
    let open_in_usr =
        pre("tracee.eventName == \"openat\" and tracee.args.openat.pathname contains \"/usr/\"");
    let usr_line = String::from_utf8_lossy(line).replace("/etc/", "/usr/");
    assert!(!open_in_usr.for_event(b"openat").may_match(line));
    assert!(open_in_usr
        .for_event(b"openat")
        .may_match(usr_line.as_bytes()));
    assert!(!open_in_usr
        .for_event(b"close")
        .may_match(usr_line.as_bytes()));
    assert!(pre("tracee.eventName != \"close\"")
        .for_event(b"openat")
        .is_trivial());
    assert_eq!(Prefilter::event_name(line), Some(&b"openat"[..]));
    // Any of several.
    let either = |a: &str, b: &str| Prefilter::any([pre(a), pre(b)]);
    assert!(either(
        "tracee.processName == \"zsh\"",
        "tracee.processName == \"bash\""
    )
    .may_match(line));
    assert!(!either(
        "tracee.processName == \"zsh\"",
        "tracee.eventName == \"close\""
    )
    .may_match(line));
    assert!(!Prefilter::any([]).for_event(b"openat").may_match(line));
    assert!(pre("").is_trivial());
    assert!(!pre("tracee.eventName == \"x\"").is_trivial());
}
