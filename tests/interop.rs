//! Interop with the real tools: tshark reads what `osprey read -w` writes, and mergecap merges
//! our PcapNG with a capture tshark makes on loopback.

use std::process::Command;

use crate::util::*;

fn tshark(args: &[&str]) -> std::process::Output {
    Command::new("tshark")
        .args(args)
        .output()
        .expect("tshark is installed (scripts/setup.sh)")
}

const USER0_JSON: &str = r#"uat:user_dlts:"User 0 (DLT=147)","json","0","","0","""#;

#[test]
fn tshark_reads_our_pcapng_with_the_events_timestamps_and_payloads() {
    let dir = tempdir();
    let src = fixture(DOCS);
    let pcapng = dir.path().join("events.pcapng");
    let out = osprey(&[
        "read",
        "-q",
        "-r",
        src.to_str().unwrap(),
        "-w",
        pcapng.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    let events = lines(&src);
    let ts = timestamps(&src);
    // Plain tshark: same frame count, nanosecond timestamps, payload = the JSON text.
    let out = tshark(&[
        "-r",
        pcapng.to_str().unwrap(),
        "-T",
        "fields",
        "-e",
        "frame.time_epoch",
        "-e",
        "data.data",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<(String, String)> = stdout(&out)
        .lines()
        .map(|l| {
            let (a, b) = l.split_once('\t').unwrap();
            (a.to_string(), b.to_string())
        })
        .collect();
    assert_eq!(rows.len(), events.len());
    for (i, (time, hex)) in rows.iter().enumerate() {
        assert_eq!(
            *time,
            format!("{}.{:09}", ts[i] / 1_000_000_000, ts[i] % 1_000_000_000),
            "frame {}",
            i + 1
        );
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|j| u8::from_str_radix(&hex[j..j + 2], 16).unwrap())
            .collect();
        assert_eq!(
            bytes,
            events[i],
            "frame {} carries the original JSON",
            i + 1
        );
    }
    // With the USER0 → json preference, every frame decodes as JSON, none malformed.
    let out = tshark(&[
        "-o",
        USER0_JSON,
        "-r",
        pcapng.to_str().unwrap(),
        "-Y",
        "json && !_ws.malformed",
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).lines().count(),
        events.len(),
        "{}",
        stderr(&out)
    );
    let out = tshark(&[
        "-o",
        USER0_JSON,
        "-r",
        pcapng.to_str().unwrap(),
        "-T",
        "fields",
        "-e",
        "json.value.string",
    ]);
    let first = stdout(&out).lines().next().unwrap_or("").to_string();
    assert!(
        first.contains("security_file_open") && first.contains("/tmp/testing.txt"),
        "{first}"
    );
}

#[test]
fn mergecap_merges_our_events_with_a_loopback_capture() {
    if !can_capture("mergecap_merges_our_events_with_a_loopback_capture") {
        return;
    }
    let dir = tempdir();
    let pcap = dir.path().join("lo.pcap");
    // Capture our own UDP datagrams on loopback, on a port nobody else uses.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    let filter = format!("udp port {port}");
    let mut cap = Command::new("tshark")
        .args([
            "-i",
            "lo",
            "-f",
            &filter,
            "-c",
            "3",
            "-F",
            "pcap",
            "-w",
            pcap.to_str().unwrap(),
            "-q",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Send until the capture has three packets (it starts asynchronously).
    let target = format!("127.0.0.1:{port}");
    for i in 0..200 {
        sock.send_to(format!("ping {i}").as_bytes(), &target)
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        if cap.try_wait().unwrap().is_some() {
            break;
        }
    }
    let status = cap.wait().unwrap();
    assert!(status.success(), "tshark capture failed");

    // Packet timestamps, then events placed between them.
    let out = tshark(&[
        "-r",
        pcap.to_str().unwrap(),
        "-T",
        "fields",
        "-e",
        "frame.time_epoch",
    ]);
    let packet_ts: Vec<u64> = stdout(&out)
        .lines()
        .map(|l| {
            let (s, ns) = l.split_once('.').unwrap();
            s.parse::<u64>().unwrap() * 1_000_000_000 + format!("{ns:0<9}").parse::<u64>().unwrap()
        })
        .collect();
    assert_eq!(packet_ts.len(), 3);
    let events_json = dir.path().join("events.json");
    let mut text = String::new();
    let event_ts = [packet_ts[0] - 1000, packet_ts[0] + 1, packet_ts[2] + 5];
    for (i, ts) in event_ts.iter().enumerate() {
        text.push_str(&format!("{{\"timestamp\":{ts},\"processName\":\"sender\",\"eventId\":\"1\",\"eventName\":\"ev{i}\",\"args\":[]}}\n"));
    }
    std::fs::write(&events_json, &text).unwrap();
    let events_pcapng = dir.path().join("events.pcapng");
    let out = osprey(&[
        "read",
        "-q",
        "-r",
        events_json.to_str().unwrap(),
        "-w",
        events_pcapng.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    let merged = dir.path().join("merged.pcapng");
    let status = Command::new("mergecap")
        .args([
            "-w",
            merged.to_str().unwrap(),
            events_pcapng.to_str().unwrap(),
            pcap.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let (rows, out) = fields(
        &[merged.to_str().unwrap()],
        &[
            "frame.number",
            "tracee.eventName",
            "frame.time_epoch",
            "frame.len",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let kinds: Vec<&str> = rows
        .iter()
        .map(|r| {
            if r[1].is_empty() {
                "packet"
            } else {
                r[1].as_str()
            }
        })
        .collect();
    assert_eq!(kinds, ["ev0", "packet", "ev1", "packet", "packet", "ev2"]);
    let times: Vec<&String> = rows.iter().map(|r| &r[2]).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "interleaved in time order");
    // and osprey's own merge of the two inputs gives the same order
    let (own, _) = fields(
        &[events_json.to_str().unwrap(), pcap.to_str().unwrap()],
        &["tracee.eventName"],
        &[],
    );
    let own_kinds: Vec<&str> = own
        .iter()
        .map(|r| {
            if r[0].is_empty() {
                "packet"
            } else {
                r[0].as_str()
            }
        })
        .collect();
    assert_eq!(own_kinds, kinds);
}
