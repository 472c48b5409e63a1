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
    convert(&src, &pcapng);

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
    convert(&events_json, &events_pcapng);

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

/// The answer to `query`: one A record, 127.0.0.1, TTL 300, by compression pointer.
fn dns_answer(query: &[u8]) -> Vec<u8> {
    let mut a = query.to_vec();
    a[2] = 0x81;
    a[3] = 0x80;
    a[7] = 1; // one answer
    a.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4, 127, 0, 0, 1]);
    a
}

#[test]
fn osprey_read_fields_agree_with_tshark_on_real_loopback_packets() {
    use std::io::{Read, Write};
    if !can_capture("osprey_read_fields_agree_with_tshark_on_real_loopback_packets") {
        return;
    }
    let dir = tempdir();
    let pcap = dir.path().join("lo.pcapng");
    let http = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let http_port = http.local_addr().unwrap().port();
    let dns = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dns_port = dns.local_addr().unwrap().port();
    let filter = format!("tcp port {http_port} or udp port {dns_port}");
    let mut cap = Command::new("dumpcap")
        .args([
            "-q",
            "-i",
            "lo",
            "-f",
            &filter,
            "-w",
            pcap.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // dumpcap says "File: ..." on stderr once it captures.
    let mut err = cap.stderr.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("File:") {
        let n = err.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "dumpcap did not start: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    // HTTP: one request, one response, on a port tshark decodes by content.
    let server = std::thread::spawn(move || {
        let (mut conn, _) = http.accept().unwrap();
        let mut req = [0u8; 1024];
        let _ = conn.read(&mut req).unwrap();
        conn.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nServer: osprey-test\r\n\r\nnope\n").unwrap();
    });
    let mut client = std::net::TcpStream::connect(("127.0.0.1", http_port)).unwrap();
    client.write_all(b"GET /index.html?q=1 HTTP/1.1\r\nHost: osprey.test\r\nUser-Agent: osprey-test/1\r\nAccept: */*\r\n\r\n").unwrap();
    let mut resp = Vec::new();
    let _ = client.read_to_end(&mut resp);
    server.join().unwrap();
    // DNS over UDP, on the resolver port tshark decodes as DNS with "-d".
    let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let query = dns_query_bytes(0x1a2b, "osprey.test");
    client.send_to(&query, ("127.0.0.1", dns_port)).unwrap();
    let mut q = [0u8; 512];
    let (n, from) = dns.recv_from(&mut q).unwrap();
    dns.send_to(&dns_answer(&q[..n]), from).unwrap();
    let _ = client.recv_from(&mut q).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    // SIGINT makes dumpcap finish the file.
    let _ = Command::new("kill")
        .args(["-INT", &cap.id().to_string()])
        .status();
    assert!(cap.wait().unwrap().success() || pcap.exists());

    // Osprey sees DNS on 53/5353 only; rewrite the ports so both tools decode the same way.
    let fields = [
        "frame.number",
        "frame.len",
        "ip.src",
        "ip.dst",
        "ip.proto",
        "ip.ttl",
        "ip.len",
        "ip.flags.df",
        "tcp.srcport",
        "tcp.dstport",
        "tcp.flags",
        "tcp.flags.str",
        "tcp.len",
        "tcp.hdr_len",
        "tcp.seq_raw",
        "udp.srcport",
        "udp.dstport",
        "udp.length",
        "http.request.method",
        "http.request.uri",
        "http.request.version",
        "http.host",
        "http.user_agent",
        "http.response.code",
        "http.response.phrase",
        "http.content_type",
        "http.server",
    ];
    let mut osprey_args = vec![
        "read",
        "-q",
        "-r",
        pcap.to_str().unwrap(),
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ];
    let mut tshark_args = vec![
        "-n",
        "-r",
        pcap.to_str().unwrap(),
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ];
    for f in fields {
        osprey_args.extend(["-e", f]);
        tshark_args.extend(["-e", f]);
    }
    let ours = osprey(&osprey_args);
    assert!(ours.status.success(), "{}", stderr(&ours));
    let theirs = tshark(&tshark_args);
    assert!(theirs.status.success(), "{}", stderr(&theirs));
    let (ours, theirs) = (stdout(&ours), stdout(&theirs));
    assert!(
        ours.lines().count() >= 8,
        "TCP handshake, HTTP, DNS: {ours}"
    );
    assert!(ours.contains("GET\t/index.html?q=1"), "{ours}");
    assert!(ours.contains("404\tNot Found\ttext/plain"), "{ours}");
    for (i, (a, b)) in ours.lines().zip(theirs.lines()).enumerate() {
        assert_eq!(
            a,
            b,
            "frame {}: osprey (left) and tshark (right) disagree\nfields: {fields:?}",
            i + 1
        );
    }
    assert_eq!(ours.lines().count(), theirs.lines().count());
}
