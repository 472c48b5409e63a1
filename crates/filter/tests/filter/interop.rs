//! Interop with tshark: on a capture written by the test, every filter below must be accepted
//! or rejected by us exactly when `tshark -Y` (4.0) accepts or rejects it, and an accepted
//! filter must select the same packets. Our frames are built from the values tshark itself
//! prints for each packet (`-T fields`), so only the filter engines are compared, not the
//! dissectors. Skipped (with a message) when tshark is not installed.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use osprey_field::{registry, FieldType, FieldValue};
use osprey_filter::{Filter, Macros};

use crate::support::Frame;

/// Filters on frame/eth/ip/ipv6/tcp/udp fields. `true`: tshark 4.0.17 accepts it.
const FILTERS: &[(&str, bool)] = &[
    ("tcp", true),
    ("udp", true),
    ("ip", true),
    ("ipv6", true),
    ("eth", true),
    ("frame", true),
    ("!tcp", true),
    ("ip.addr == 10.0.0.1", true),
    ("ip.addr != 10.0.0.1", true),
    ("ip.addr === 10.0.0.1", true),
    ("ip.addr !== 10.0.0.1", true),
    ("ip.addr ~= 10.0.0.1", true),
    ("ip.addr eq 10.0.0.2 and ip.src ne 10.0.0.2", true),
    ("ip.addr == 10.0.0.0/8", true),
    ("ip.src == 10.0.0.0/24 and ip.dst == 10.0.0.2", true),
    ("ip.addr in {10.0.0.0/8, 172.16.0.0/12}", true),
    ("ip.addr in {10.0.0.1..10.0.0.5}", true),
    ("ip.addr > 10.0.0.1", true),
    ("ip.ttl < 64", true),
    ("ip.ttl le 63", true),
    ("ip.proto == 17", true),
    ("ip.proto == UDP", true),
    ("ip.proto in {UDP, 1..6}", true),
    ("tcp.port == 80", true),
    ("tcp.port in {80, 443}", true),
    ("tcp.port in {1..1023}", true),
    ("tcp.port not in {80}", true),
    ("tcp.port != 80", true),
    ("tcp.srcport > tcp.dstport", true),
    ("tcp.srcport != tcp.dstport", true),
    ("tcp.port == 0x50", true),
    ("tcp.port == 0120", true),
    ("udp.port == 9999 or tcp.port == 443", true),
    ("udp and not ip.ttl > 1", true),
    ("!(tcp.port == 80) && ip", true),
    ("tcp.port == 80 || udp", true),
    ("udp or tcp and ip.ttl > 63", true),
    ("ipv6.addr == fe80::1", true),
    ("ipv6.addr == 2001:db8::/32", true),
    ("ipv6.src == fe80::/10", true),
    ("eth.addr == 02:00:00:00:00:01", true),
    ("eth.src == 02-00-00-00-00-01", true),
    ("eth.dst == 0200.0000.0002", true),
    ("eth.addr contains 00:02", true),
    ("eth.type == 0x86dd", true),
    ("frame.len > 60", true),
    ("frame.len in {54, 74}", true),
    ("frame.number <= 3", true),
    ("frame.time_relative >= 1", true),
    ("frame.time_relative in {0.5..2}", true),
    ("frame.time_delta > 0.3", true),
    ("frame.time_epoch > 1700000001", true),
    ("frame.time >= \"Nov 14, 2023 22:13:21\"", true),
    ("frame.time < \"2023-11-14 22:13:22\"", true),
    ("len(eth.addr) == 6", true),
    ("count(ip.addr) == 2", true),
    ("ip.src[0] == 0a", true),
    ("eth.src[0:2] == 02:00", true),
    ("ip.dst[2-3] == 00:02", true),
    ("max(tcp.srcport, tcp.dstport) > 1000", true),
    ("min(tcp.srcport, tcp.dstport) == 80", true),
    ("abs(frame.time_delta) > 0", true),
    ("ip.addr == 10.0.0.1 or ipv6", true),
    (".ip.ttl == 64", true),
    (
        "tcp.port == 80 and ip.ttl == 64 or udp.port == 9999 and not ip.ttl == 1",
        true,
    ),
    // Rejected by both.
    ("tcp.port ==", false),
    ("(tcp", false),
    ("tcp)", false),
    ("ip.addr == 10.0.0.0/33", false),
    ("ip.addr == 1.2.3", false),
    ("ip.addr == ::1", false),
    ("tcp.port == 99999999999999999999", false),
    ("tcp.port == 1.5", false),
    ("tcp.port == 08", false),
    ("tcp.port contains 80", false),
    ("tcp.port matches \"8\"", false),
    ("foo.bar", false),
    ("foo.bar == 1", false),
    ("tcp.port in {}", false),
    ("tcp.port in {80,}", false),
    ("tcp.port in {80..}", false),
    ("eth.addr == 00:11:22", false),
    ("eth.addr == 00:11:22:33:44:55:66", false),
    ("ipv6.addr == ::1/129", false),
    ("tcp.port = 80", false),
    ("tcp.port 80", false),
    ("and tcp", false),
    ("1 == 1", false),
    ("\"a\" == \"b\"", false),
    ("frame.time > \"yesterday\"", false),
    ("frame.time > \"Jan 1, 2024\"", false),
    ("frame.time_relative > \"0.5\"", false),
    ("frame.time_relative < 1e-3", false),
    ("tcp.port > \"80\"", false),
    ("ip.addr == \"10.0.0.1\"", false),
    ("eth.addr == \"02:00:00:00:00:01\"", false),
    ("frob(ip.addr) == 1", false),
    ("len(ip.addr, 2) == 2", false),
    ("count() == 1", false),
    ("count(ip.addr)", false),
    ("tcp.port[0] == 1", false),
    ("ip.src == tcp.port", false),
    ("ip.addr contains 1", false),
    ("lower(tcp.port) == \"x\"", false),
    ("ip.addr == 10.0.0.1 &&", false),
    ("tcp.port in {80 ..90}..", false),
    ("ip.addr == é", false),
];

/// Documented differences (see the crate documentation): (filter, tshark accepts, we accept).
const DIFFERENCES: &[(&str, bool, bool)] = &[
    ("tcp.port in {80 443}", false, true),
    ("80 == tcp.port", false, true),
    ("tcp xor udp", false, true),
    ("tcp ^^ udp", false, true),
    ("frame.time >= 2023-11-14T22:13:21Z", false, true),
    ("tcp < 1", true, false),
    ("frame contains 47:45:54", true, false),
    ("tcp[0] == 0", true, false),
    ("len(frame.len) == 2", true, false),
];

/// Fields whose per-packet values tshark prints for our frames.
const FIELDS: &[&str] = &[
    "frame.number",
    "frame.time_epoch",
    "frame.time_relative",
    "frame.time_delta",
    "frame.len",
    "frame.protocols",
    "eth.addr",
    "eth.src",
    "eth.dst",
    "eth.type",
    "ip.addr",
    "ip.src",
    "ip.dst",
    "ip.ttl",
    "ip.proto",
    "ip.version",
    "ipv6.addr",
    "ipv6.src",
    "ipv6.dst",
    "tcp.port",
    "tcp.srcport",
    "tcp.dstport",
    "udp.port",
    "udp.srcport",
    "udp.dstport",
];

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs tshark with `filter`: `None` when it rejects the filter, else the matching frame numbers.
fn tshark(pcap: &Path, filter: &str) -> Option<BTreeSet<u64>> {
    let out = Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(pcap)
        .arg("-Y")
        .arg(filter)
        .args(["-T", "fields", "-e", "frame.number"])
        .output()
        .unwrap();
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect(),
    )
}

#[test]
fn same_filters_accepted_and_same_packets_matched_as_tshark() {
    if !tshark_available() {
        eprintln!("tshark not installed: interop test skipped");
        return;
    }
    let dir = std::env::temp_dir().join(format!("osprey-filter-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("t.pcap");
    std::fs::write(&pcap, capture()).unwrap();
    let frames = frames_from_tshark(&pcap);
    assert_eq!(frames.len(), 7, "packets read back");
    let macros = Macros::new();

    let mut failures = Vec::new();
    let results: Vec<(&str, Option<BTreeSet<u64>>)> = std::thread::scope(|s| {
        let handles: Vec<_> = FILTERS
            .chunks(FILTERS.len() / 2 + 1)
            .map(|chunk| {
                s.spawn(|| {
                    chunk
                        .iter()
                        .map(|(f, _)| (*f, tshark(&pcap, f)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    for ((text, expect_ok), (_, theirs)) in FILTERS.iter().zip(&results) {
        if theirs.is_some() != *expect_ok {
            failures.push(format!(
                "{text}: tshark {} it, the table says otherwise",
                if theirs.is_some() {
                    "accepts"
                } else {
                    "rejects"
                }
            ));
        }
        let ours = Filter::compile(text, &macros);
        match (ours, theirs) {
            (Ok(f), Some(theirs)) => {
                let mine: BTreeSet<u64> = frames
                    .iter()
                    .filter(|(_, fr)| f.matches(fr))
                    .map(|(n, _)| *n)
                    .collect();
                if &mine != theirs {
                    failures.push(format!("{text}: we match {mine:?}, tshark {theirs:?}"));
                }
            }
            (Err(e), None) => {
                let _ = e;
            }
            (Ok(_), None) => failures.push(format!("{text}: we accept it, tshark rejects it")),
            (Err(e), Some(_)) => {
                failures.push(format!("{text}: we reject it ({e}), tshark accepts it"))
            }
        }
    }
    for (text, tshark_ok, ours_ok) in DIFFERENCES {
        if tshark(&pcap, text).is_some() != *tshark_ok {
            failures.push(format!(
                "documented difference {text}: tshark changed its mind"
            ));
        }
        if Filter::compile(text, &macros).is_ok() != *ours_ok {
            failures.push(format!("documented difference {text}: we changed ours"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Frames built from tshark's own per-packet field values.
fn frames_from_tshark(pcap: &Path) -> Vec<(u64, Frame)> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(pcap).args([
        "-T",
        "fields",
        "-E",
        "separator=\t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut frames = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let mut frame = Frame::new().proto("frame");
        let mut number = 0;
        for (name, col) in FIELDS.iter().zip(&cols) {
            if col.is_empty() {
                continue;
            }
            match *name {
                "frame.number" => number = col.parse().unwrap(),
                "frame.protocols" => {
                    for p in col.split(':') {
                        if registry()
                            .lookup(p)
                            .is_some_and(|id| registry().info(id).ty == FieldType::Protocol)
                        {
                            frame = frame.proto(p);
                        }
                    }
                }
                "frame.time_epoch" => {
                    let ns = epoch_ns(col);
                    frame = frame
                        .with("frame.time", FieldValue::AbsTime(ns))
                        .with("frame.time_epoch", FieldValue::AbsTime(ns));
                    continue;
                }
                _ => {}
            }
            let Some(id) = registry().lookup(name) else {
                continue;
            };
            let ty = registry().info(id).ty;
            for v in col.split(',') {
                let value = match ty {
                    FieldType::UInt => FieldValue::UInt(if let Some(h) = v.strip_prefix("0x") {
                        u64::from_str_radix(h, 16).unwrap()
                    } else {
                        v.parse().unwrap()
                    }),
                    FieldType::Int => FieldValue::Int(v.parse().unwrap()),
                    FieldType::RelTime => FieldValue::RelTime(
                        epoch_ns(v.trim_start_matches('-')) as i64
                            * if v.starts_with('-') { -1 } else { 1 },
                    ),
                    FieldType::Ipv4 => FieldValue::Ipv4(v.parse().unwrap()),
                    FieldType::Ipv6 => FieldValue::Ipv6(v.parse().unwrap()),
                    FieldType::Ether => {
                        let b: Vec<u8> = v
                            .split(':')
                            .map(|x| u8::from_str_radix(x, 16).unwrap())
                            .collect();
                        FieldValue::Ether([b[0], b[1], b[2], b[3], b[4], b[5]])
                    }
                    FieldType::String => FieldValue::Str(v.to_string().into()),
                    _ => continue,
                };
                frame = frame.with(name, value);
            }
        }
        frames.push((number, frame));
    }
    frames
}

fn epoch_ns(s: &str) -> u64 {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut nanos: u64 = 0;
    for b in frac.bytes().chain(std::iter::repeat(b'0')).take(9) {
        nanos = nanos * 10 + (b - b'0') as u64;
    }
    secs.parse::<u64>().unwrap() * 1_000_000_000 + nanos
}

// A small pcap, written by hand: Ethernet, IPv4/IPv6, TCP/UDP.

const MAC1: [u8; 6] = [2, 0, 0, 0, 0, 1];
const MAC2: [u8; 6] = [2, 0, 0, 0, 0, 2];

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0)))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn tcp(sport: u16, dport: u16, flags: u8, payload: &[u8]) -> (u8, Vec<u8>) {
    let mut h = Vec::new();
    h.extend(sport.to_be_bytes());
    h.extend(dport.to_be_bytes());
    h.extend(1000u32.to_be_bytes());
    h.extend(0u32.to_be_bytes());
    h.extend([5 << 4, flags]);
    h.extend(65535u16.to_be_bytes());
    h.extend([0, 0, 0, 0]);
    h.extend(payload);
    (6, h)
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> (u8, Vec<u8>) {
    let mut h = Vec::new();
    h.extend(sport.to_be_bytes());
    h.extend(dport.to_be_bytes());
    h.extend((8 + payload.len() as u16).to_be_bytes());
    h.extend([0, 0]);
    h.extend(payload);
    (17, h)
}

fn ipv4(src: [u8; 4], dst: [u8; 4], ttl: u8, (proto, l4): (u8, Vec<u8>)) -> Vec<u8> {
    let mut h = vec![0x45, 0];
    h.extend((20 + l4.len() as u16).to_be_bytes());
    h.extend([0x12, 0x34, 0x40, 0, ttl, proto, 0, 0]);
    h.extend(src);
    h.extend(dst);
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend(l4);
    h
}

fn ipv6(src: &str, dst: &str, (proto, l4): (u8, Vec<u8>)) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend((l4.len() as u16).to_be_bytes());
    h.extend([proto, 64]);
    h.extend(src.parse::<std::net::Ipv6Addr>().unwrap().octets());
    h.extend(dst.parse::<std::net::Ipv6Addr>().unwrap().octets());
    h.extend(l4);
    h
}

fn ether(src: [u8; 6], dst: [u8; 6], ethertype: u16, payload: Vec<u8>) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend(dst);
    f.extend(src);
    f.extend(ethertype.to_be_bytes());
    f.extend(payload);
    f
}

fn capture() -> Vec<u8> {
    let packets: Vec<(u64, Vec<u8>)> = vec![
        (
            0,
            ether(
                MAC1,
                MAC2,
                0x0800,
                ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64, tcp(40000, 80, 0x02, b"")),
            ),
        ),
        (
            500_000,
            ether(
                MAC2,
                MAC1,
                0x0800,
                ipv4([10, 0, 0, 2], [10, 0, 0, 1], 63, tcp(80, 40000, 0x12, b"")),
            ),
        ),
        (
            900_000,
            ether(
                MAC1,
                MAC2,
                0x0800,
                ipv4(
                    [10, 0, 0, 1],
                    [10, 0, 0, 2],
                    64,
                    tcp(40000, 80, 0x18, b"hello there, not http"),
                ),
            ),
        ),
        (
            1_250_000,
            ether(
                MAC1,
                MAC2,
                0x0800,
                ipv4(
                    [192, 168, 1, 5],
                    [10, 0, 0, 9],
                    64,
                    udp(5000, 9999, b"ping"),
                ),
            ),
        ),
        (
            1_500_000,
            ether(
                MAC1,
                MAC2,
                0x86dd,
                ipv6("fe80::1", "2001:db8::2", tcp(1234, 443, 0x02, b"")),
            ),
        ),
        (
            2_000_000,
            ether(
                MAC2,
                MAC1,
                0x0800,
                ipv4([172, 16, 0, 9], [8, 8, 4, 4], 1, udp(53000, 9999, b"x")),
            ),
        ),
        (
            2_100_000,
            ether(
                MAC2,
                MAC1,
                0x0800,
                ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64, tcp(80, 80, 0x10, b"")),
            ),
        ),
    ];
    let mut out = Vec::new();
    out.extend(0xa1b2_c3d4u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(4u16.to_le_bytes());
    out.extend([0u8; 8]);
    out.extend(65535u32.to_le_bytes());
    out.extend(1u32.to_le_bytes());
    for (offset_us, data) in packets {
        let ts = 1_700_000_000_000_000u64 + offset_us;
        out.extend(((ts / 1_000_000) as u32).to_le_bytes());
        out.extend(((ts % 1_000_000) as u32).to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend(data);
    }
    out
}
