//! Every input format, recognised by content: the three Tracee JSON generations, PcapNG (sections,
//! interfaces, byte orders, USER0 events, packet context), classic pcap, gzip, standard input,
//! capture directories.

use crate::util::*;

#[test]
fn every_fixture_is_read_with_its_events_names_and_timestamps() {
    // (file, events, first and last event name, first and last timestamp) — counted by hand.
    let cases: &[(&str, usize, &str, &str, u64, u64)] = &[
        (
            DOCS,
            78,
            "security_file_open",
            "execve",
            1657321167356748797,
            1684688250477166817,
        ),
        (
            ACTION,
            24,
            "net_packet_dns",
            "file_write",
            1673769313538657745,
            1674376141487852494,
        ),
    ];
    for (file, count, first, last, first_ts, last_ts) in cases {
        let path = fixture(file);
        let (rows, out) = fields(
            &[path.to_str().unwrap()],
            &[
                "frame.number",
                "tracee.eventName",
                "tracee.timestamp",
                "frame.time_epoch",
            ],
            &[],
        );
        assert!(out.status.success(), "{file}: {}", stderr(&out));
        assert_eq!(rows.len(), *count, "{file}");
        assert_eq!(rows[0][1], *first);
        assert_eq!(rows[rows.len() - 1][1], *last);
        let epoch = |ns: u64| format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000);
        assert_eq!(rows[0][3], epoch(*first_ts));
        assert_eq!(rows[rows.len() - 1][3], epoch(*last_ts));
        // Every frame's timestamp is the event's own, in file order.
        let expected = timestamps(&path);
        let got: Vec<String> = rows.iter().map(|r| r[3].clone()).collect();
        assert_eq!(
            got,
            expected.iter().map(|t| epoch(*t)).collect::<Vec<_>>(),
            "{file}"
        );
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(r[0], (i + 1).to_string());
        }
    }
}

#[test]
fn context_is_normalised_across_generations() {
    // The docs fixture mixes generations: line 1 has the flat context (v0.8), line 28 the
    // container object (v0.2x), line 76 is a signature.
    let (rows, out) = fields(
        &[fixture(DOCS).to_str().unwrap()],
        &[
            "tracee.hostProcessId",
            "tracee.processName",
            "tracee.hostName",
            "tracee.container.id",
            "tracee.isContainer",
            "tracee.processId",
            "tracee.userId",
            "tracee.isSignature",
            "tracee.syscall",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        rows[0],
        ["2578238", "bash", "fujitsu", "", "0", "2578238", "1000", "0", "openat"]
    );
    assert_eq!(
        rows[27],
        [
            "691018",
            "inform-164",
            "95e88e281c4b",
            "95e88e281c4b47994e0d17ac74b83761fbc3ea570c3f1d4b98b6501ecc00dd84",
            "1",
            "21",
            "0",
            "0",
            "write"
        ]
    );
    assert_eq!(rows[75][7], "1", "event 76 is a signature");
}

#[test]
fn each_example_generation_reads() {
    let cases = [
        (
            "tracee/examples/v1beta1-sched_process_exec.docs.json",
            "sched_process_exec",
            "1732454400.123456789",
            "12345",
            "bash",
        ),
        (
            "tracee/examples/sched_process_exec.v0.8-era.json",
            "sched_process_exec",
            "1657295236.470126167",
            "2578324",
            "exa",
        ),
        (
            "tracee/examples/sched_process_exec.v0.10-era.tracee-action.json",
            "sched_process_exec",
            "1673455684.884990401",
            "21497",
            "ls",
        ),
        (
            "tracee/examples/finding_TRC-1022.v0.11-era.json",
            "New executable dropped",
            "1677676197.900822209",
            "4741",
            "dpkg",
        ),
        (
            "tracee/examples/security_file_open.v0.2x.json",
            "security_file_open",
            "1680182976.364916505",
            "676",
            "systemd-oomd",
        ),
        (
            "tracee/examples/vfs_read.v0.1x.json",
            "vfs_read",
            "1685285181.028166900",
            "184128",
            "cat",
        ),
        (
            "tracee/examples/net_packet_dns.v0.2x.json",
            "net_packet_dns",
            "1696255744.420477145",
            "472",
            "systemd-resolve",
        ),
    ];
    for (file, name, epoch, host_pid, comm) in cases {
        let (rows, out) = fields(
            &[fixture(file).to_str().unwrap()],
            &[
                "tracee.eventName",
                "frame.time_epoch",
                "tracee.hostProcessId",
                "tracee.processName",
            ],
            &[],
        );
        assert!(out.status.success(), "{file}: {}", stderr(&out));
        assert_eq!(rows, [[name, epoch, host_pid, comm]], "{file}");
    }
}

#[test]
fn log_lines_crlf_blank_lines_and_bom_are_handled() {
    let dir = tempdir();
    let path = dir.path().join("mixed.json");
    let docs = std::fs::read_to_string(fixture(DOCS)).unwrap();
    let first_two: Vec<&str> = docs.lines().take(2).collect();
    let content = format!(
        "\u{feff}{}\r\n\r\n{{\"level\":\"info\",\"ts\":1,\"msg\":\"Tracee is ready\"}}\r\n   \n{}\r\n",
        first_two[0], first_two[1]
    );
    std::fs::write(&path, content).unwrap();
    let out = osprey(&[
        "read",
        "-r",
        path.to_str().unwrap(),
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "tracee.eventName",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "log lines are not damage: {}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "1\tsecurity_file_open\n2\topenat\n");
    assert!(
        stderr(&out).contains("1 Tracee log line(s) skipped"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn pcapng_events_packets_contexts_and_both_byte_orders() {
    let dir = tempdir();
    let docs = lines(&fixture(DOCS));
    let ctx = r#"{"version":"1.0","container":{"id":"","name":"","image":"","imageDigest":""},"kubernetes":{"podName":"","podNamespace":"","podUID":"","podSandbox":false},"hostName":"h","processName":"ping","process":{"threadStartTime":1,"processId":7,"cgroupId":1,"threadId":7,"parentProcessId":1,"hostProcessId":4242,"hostThreadId":4242,"hostParentProcessId":1,"userId":0,"mountNamespace":1,"pidNamespace":1,"executable":""}}"#;
    let events: Vec<(u64, &[u8])> = vec![(1_000, docs[2].as_slice()), (3_000, docs[3].as_slice())];
    let le = pcapng_with_context(&events, &[(2_000, null_udp_packet(1000, 53, b"x"))], ctx);
    // A second section, big-endian, from the crate's own test builder: re-encode by hand.
    let be_section = big_endian_section(5_000, &null_udp_packet(2000, 2001, b"yz"));
    let mut file = le.clone();
    file.extend_from_slice(&be_section);
    let path = dir.path().join("mixed.pcapng");
    std::fs::write(&path, &file).unwrap();
    let (rows, out) = fields(
        &[path.to_str().unwrap()],
        &[
            "frame.number",
            "frame.time_epoch",
            "tracee.eventName",
            "tracee.processName",
            "tracee.hostProcessId",
            "frame.interface_name",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0][1], "0.000001000");
    assert_eq!(rows[0][2], "vfs_read");
    // the packet carries its interface's Tracee context
    assert_eq!(rows[1][2], "");
    assert_eq!(rows[1][3], "ping");
    assert_eq!(rows[1][4], "4242");
    assert_eq!(rows[1][5], "tracee");
    assert_eq!(rows[2][2], "vfs_read");
    assert_eq!(
        rows[3][1], "0.005000000",
        "big-endian section, 5000 microseconds"
    );
}

/// A big-endian PcapNG section with one NULL interface (microseconds) and one packet, plus an
/// unknown block that must be skipped.
fn big_endian_section(ts_us: u64, packet: &[u8]) -> Vec<u8> {
    fn block(t: u32, body: &[u8]) -> Vec<u8> {
        let len = (12 + body.len()) as u32;
        let mut b = t.to_be_bytes().to_vec();
        b.extend_from_slice(&len.to_be_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(&len.to_be_bytes());
        b
    }
    let mut shb = 0x1A2B3C4Du32.to_be_bytes().to_vec();
    shb.extend_from_slice(&[0, 1, 0, 0]);
    shb.extend_from_slice(&(-1i64).to_be_bytes());
    let mut out = block(0x0A0D0D0A, &shb);
    let mut idb = 0u16.to_be_bytes().to_vec();
    idb.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    out.extend(block(1, &idb));
    out.extend(block(0x0000_0bad, &[0xde, 0xad, 0xbe, 0xef]));
    let mut epb = 0u32.to_be_bytes().to_vec();
    epb.extend_from_slice(&((ts_us >> 32) as u32).to_be_bytes());
    epb.extend_from_slice(&(ts_us as u32).to_be_bytes());
    epb.extend_from_slice(&(packet.len() as u32).to_be_bytes());
    epb.extend_from_slice(&(packet.len() as u32).to_be_bytes());
    epb.extend_from_slice(packet);
    epb.extend(std::iter::repeat_n(0u8, (4 - packet.len() % 4) % 4));
    out.extend(block(6, &epb));
    out
}

#[test]
fn classic_pcap_in_every_magic() {
    let dir = tempdir();
    for (be, nanos) in [(false, false), (true, false), (false, true), (true, true)] {
        let frac = if nanos { 5 } else { 7 };
        let file = classic_pcap(
            be,
            nanos,
            0,
            &[(1_700_000_000, frac, null_udp_packet(1, 2, b"a"))],
        );
        let path = dir.path().join(format!("c-{be}-{nanos}.pcap"));
        std::fs::write(&path, file).unwrap();
        let (rows, out) = fields(
            &[path.to_str().unwrap()],
            &["frame.time_epoch", "frame.len"],
            &[],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let expect = if nanos {
            "1700000000.000000005"
        } else {
            "1700000000.000007000"
        };
        assert_eq!(rows, [[expect, "33"]], "big endian {be}, ns {nanos}");
    }
}

#[test]
fn gzip_and_standard_input() {
    let docs = std::fs::read(fixture(DOCS)).unwrap();
    let dir = tempdir();
    let gz = dir.path().join("docs.json.gz");
    std::fs::write(&gz, gzip(&docs)).unwrap();
    let (rows, out) = fields(&[gz.to_str().unwrap()], &["frame.number"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(rows.len(), 78);
    // standard input, gzip-compressed pcapng
    let le = pcapng_with_context(
        &[(
            10,
            b"{\"timestamp\":10,\"eventName\":\"x\",\"eventId\":\"1\"}",
        )],
        &[],
        "{\"version\":\"1.0\"}",
    );
    let out = osprey_stdin(
        &["read", "-r", "-", "-T", "fields", "-e", "tracee.eventName"],
        &gzip(&le),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "x\n");
}

#[test]
fn a_live_stream_on_standard_input_is_printed_as_it_comes() {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::mpsc;
    use std::time::Duration;

    let mut child = osprey_piped(&[
        "read",
        "-r",
        "-",
        "-l",
        "-T",
        "fields",
        "-e",
        "tracee.eventName",
    ]);
    let mut input = child.stdin.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    let output = BufReader::new(child.stdout.take().unwrap());
    let reader = std::thread::spawn(move || {
        for line in output.lines() {
            let _ = lines_tx.send(line.unwrap());
        }
    });
    // Each event must come out while the stream stays open, before the next one is written:
    // nothing waits for a batch to fill or for the end of the input.
    for (i, name) in ["first", "second", "third"].iter().enumerate() {
        let event = format!("{{\"timestamp\":{i},\"eventName\":\"{name}\",\"eventId\":\"1\"}}\n");
        input.write_all(event.as_bytes()).unwrap();
        input.flush().unwrap();
        let shown = lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| {
                panic!("event {name} was not printed while the stream stayed open")
            });
        assert_eq!(shown, *name);
    }
    drop(input);
    assert!(child.wait().unwrap().success());
    reader.join().unwrap();
    assert!(lines.try_recv().is_err(), "nothing more");
}

#[test]
fn a_count_ends_the_run_while_a_live_stream_stays_open() {
    use std::io::Write;
    use std::time::{Duration, Instant};

    let mut child = osprey_piped(&[
        "read",
        "-r",
        "-",
        "-c",
        "1",
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]);
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(b"{\"timestamp\":1,\"eventName\":\"a\",\"eventId\":\"1\"}\n{\"timestamp\":2,\"eventName\":\"b\",\"eventId\":\"1\"}\n")
        .unwrap();
    input.flush().unwrap();
    // The stream stays open (`input` is alive) with nothing more to come: like tshark -c, the
    // run ends once the count is reached instead of waiting for more input.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("osprey read -c 1 kept waiting on the open stream");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert_eq!(out, "1\n");
    drop(input);
}

#[test]
fn a_capture_directory_opens_as_its_events_and_pcaps() {
    let dir = tempdir();
    let out_dir = dir.path().join("out");
    let pcaps = out_dir.join("pcap/processes/host");
    std::fs::create_dir_all(&pcaps).unwrap();
    std::fs::copy(fixture(ACTION), dir.path().join("events.json")).unwrap();
    // the packet lies between the action fixture's timestamps (2023-01)
    let pcap = classic_pcap(
        false,
        false,
        0,
        &[(1_673_769_313, 600_000, null_udp_packet(5353, 53, b"q"))],
    );
    std::fs::write(pcaps.join("ping_79275_1.pcap"), pcap).unwrap();
    // artifacts and the profile are not recordings and are left out
    std::fs::write(
        out_dir.join("tracee.profile"),
        "{\n  \"host/exec.ls:1\": {\"times\": 1, \"file_hash\": \"ab\"}\n}\n",
    )
    .unwrap();
    std::fs::write(out_dir.join("exec.1.ls"), b"\x7fELF\x02\x01\x01").unwrap();
    for target in [dir.path().to_path_buf(), out_dir.clone()] {
        let (rows, out) = fields(
            &[target.to_str().unwrap()],
            &["frame.number", "tracee.eventName", "frame.file"],
            &[],
        );
        if target == out_dir {
            // only the pcap lives under out/
            assert!(out.status.success(), "{}", stderr(&out));
            assert_eq!(rows.len(), 1);
            continue;
        }
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(rows.len(), 25, "24 events and 1 packet");
        assert!(rows.iter().any(|r| r[2].ends_with("ping_79275_1.pcap")));
    }
}

#[test]
fn several_inputs_merge_in_time_order() {
    let dir = tempdir();
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    let ev = |ts: u64, name: &str| {
        format!("{{\"timestamp\":{ts},\"eventName\":\"{name}\",\"eventId\":\"1\"}}\n")
    };
    std::fs::write(&a, format!("{}{}{}", ev(1, "a1"), ev(4, "a4"), ev(6, "a6"))).unwrap();
    std::fs::write(&b, format!("{}{}", ev(2, "b2"), ev(5, "b5"))).unwrap();
    let (rows, out) = fields(
        &[a.to_str().unwrap(), b.to_str().unwrap()],
        &["frame.number", "tracee.eventName"],
        &[],
    );
    assert!(out.status.success());
    let names: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(names, ["a1", "b2", "a4", "b5", "a6"]);
    // -c counts the frames output
    let (rows, _) = fields(
        &[a.to_str().unwrap(), b.to_str().unwrap()],
        &["tracee.eventName"],
        &["-c", "2"],
    );
    assert_eq!(rows.len(), 2);
}

#[test]
fn a_read_filter_drops_frames_as_if_the_input_never_held_them() {
    let dir = tempdir();
    let ev = |ts: u64, name: &str| {
        format!("{{\"timestamp\":{ts}000000000,\"eventName\":\"{name}\",\"eventId\":\"1\"}}\n")
    };
    let input = dir.path().join("in.json");
    let names = ["open", "read", "open", "exec", "open", "read"];
    let text: String = (0..).zip(names).map(|(i, n)| ev(10 + i * 2, n)).collect();
    std::fs::write(&input, text).unwrap();
    let input = input.to_str().unwrap();
    let columns = [
        "frame.number",
        "frame.time_relative",
        "frame.time_delta",
        "tracee.eventName",
    ];
    let read_filter = ["-R", "tracee.eventName != \"read\""];
    // Numbers and times count the frames that pass: 1..4 from the first open, not 1, 3, 4, 5.
    let (rows, out) = fields(&[input], &columns, &read_filter);
    assert!(out.status.success(), "{}", stderr(&out));
    let numbers: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let relative: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    let delta: Vec<&str> = rows.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(numbers, ["1", "2", "3", "4"]);
    assert_eq!(
        relative,
        ["0.000000000", "4.000000000", "6.000000000", "8.000000000"]
    );
    assert_eq!(
        delta,
        ["0.000000000", "4.000000000", "2.000000000", "2.000000000"]
    );
    // -Y after -R filters what passed and keeps its numbers; -c counts what is output.
    let open = ["-Y", "tracee.eventName == \"open\""];
    let (rows, _) = fields(&[input], &columns, &[&read_filter[..], &open].concat());
    let numbers: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(numbers, ["1", "2", "4"]);
    let (rows, _) = fields(
        &[input],
        &columns,
        &[&read_filter[..], &["-c", "3"]].concat(),
    );
    let names: Vec<&str> = rows.iter().map(|r| r[3].as_str()).collect();
    assert_eq!(names, ["open", "open", "exec"]);
    // -Y alone numbers every frame read.
    let (rows, _) = fields(&[input], &columns, &["-Y", "tracee.eventName == \"exec\""]);
    assert_eq!(rows, [["4", "6.000000000", "2.000000000", "exec"]]);
    // Statistics count only what passed; -w writes only that, byte for byte.
    let counts = osprey(&[
        "read",
        "-r",
        input,
        "-R",
        "tracee.eventName != \"read\"",
        "-z",
        "tracee,event_counts",
        "-T",
        "json",
    ]);
    let counts = stdout(&counts);
    assert!(
        counts.contains("\"open\"") && counts.contains("\"exec\""),
        "{counts}"
    );
    assert!(!counts.contains("\"read\""), "{counts}");
    let written = dir.path().join("out.json");
    let out = osprey(&[
        "read",
        "-q",
        "-r",
        input,
        "-R",
        "tracee.eventName == \"open\"",
        "-w",
        written.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let opens: String = [0, 2, 4].iter().map(|&i| ev(10 + i * 2, "open")).collect();
    assert_eq!(std::fs::read_to_string(&written).unwrap(), opens);
    // A bad read filter is a usage error that names the option.
    let bad = osprey(&["read", "-r", input, "-R", "tracee.eventName =="]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("-R"), "{}", stderr(&bad));
}
