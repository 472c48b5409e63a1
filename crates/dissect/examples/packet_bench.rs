//! Packet dissection throughput on a fixed mix of packets, for BENCHMARKS.md.
//!
//! ```text
//! cargo run --release --example packet_bench            # the built-in mix
//! cargo run --release --example packet_bench -- FILE    # the packets of a capture instead
//! ```
//!
//! Each configuration dissects the whole mix repeatedly for about a second, five times, and
//! reports the median: full trees (the detail view), columns only (the packet list), one
//! field (`ip.src`, a filter on addresses) and `dns.qry.name` (a filter that needs DNS).

use std::hint::black_box;
use std::time::{Duration, Instant};

use osprey_dissect::packet::{self, dissect_link};
use osprey_dissect::{Tree, Want};
use osprey_field::registry;

fn checksum(b: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in b.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![
        0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    h[2..4].copy_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

fn ipv6(nxt: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0, 0, 0, nxt, 64];
    h[4..6].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&[0; 15]);
    h.push(1);
    h.extend_from_slice(&[0; 15]);
    h.push(1);
    h.extend_from_slice(payload);
    h
}

fn tcp(sport: u16, dport: u16, flags: u8, opts: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&sport.to_be_bytes());
    h.extend_from_slice(&dport.to_be_bytes());
    h.extend_from_slice(&[
        0,
        0,
        3,
        232,
        0,
        0,
        7,
        208,
        (((20 + opts.len()) / 4) as u8) << 4,
        flags,
        2,
        0,
        0,
        0,
        0,
        0,
    ]);
    h.extend_from_slice(opts);
    h.extend_from_slice(payload);
    h
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&sport.to_be_bytes());
    h.extend_from_slice(&dport.to_be_bytes());
    h.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(payload);
    h
}

fn null(family: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = family.to_le_bytes().to_vec();
    v.extend_from_slice(payload);
    v
}

fn ether(payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 8, 0];
    v.extend_from_slice(payload);
    v
}

/// A mix like a Tracee capture's: mostly TCP, some DNS, HTTP and ICMP, on NULL and Ethernet.
fn mix() -> Vec<(u16, Vec<u8>)> {
    let syn = [
        2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
    ];
    let ts = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2];
    let query =
        b"\x1a\x2b\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
            .to_vec();
    let mut response =
        b"\x1a\x2b\x81\x80\x00\x01\x00\x02\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
            .to_vec();
    response.extend_from_slice(b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x06\x03www\xc0\x0c\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\x01\x02\x03\x04");
    let get = b"GET /index.html?a=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n";
    let ok = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: 12\r\n\r\n<html></html>";
    let mut echo = vec![8, 0, 0, 0, 0, 1, 0, 1];
    echo.extend_from_slice(&[0x61; 48]);
    let c = checksum(&echo);
    echo[2..4].copy_from_slice(&c.to_be_bytes());
    let packets = vec![
        (
            packet::LINKTYPE_NULL,
            null(2, &ipv4(6, &tcp(40000, 443, 0x02, &syn, b""))),
        ),
        (
            packet::LINKTYPE_NULL,
            null(2, &ipv4(6, &tcp(443, 40000, 0x12, &syn, b""))),
        ),
        (
            packet::LINKTYPE_NULL,
            null(2, &ipv4(6, &tcp(40000, 443, 0x10, &ts, b""))),
        ),
        (
            packet::LINKTYPE_NULL,
            null(2, &ipv4(6, &tcp(40000, 443, 0x18, &ts, &[0x17; 64]))),
        ),
        (
            packet::LINKTYPE_NULL,
            null(2, &ipv4(17, &udp(40000, 53, &query))),
        ),
        (
            packet::LINKTYPE_NULL,
            null(2, &ipv4(17, &udp(53, 40000, &response))),
        ),
        (
            packet::LINKTYPE_NULL,
            null(2, &ipv4(6, &tcp(40000, 80, 0x18, &ts, get))),
        ),
        (
            packet::LINKTYPE_NULL,
            null(2, &ipv4(6, &tcp(80, 40000, 0x18, &ts, ok))),
        ),
        (
            packet::LINKTYPE_NULL,
            null(10, &ipv6(17, &udp(40000, 9999, b"payload"))),
        ),
        (packet::LINKTYPE_ETHERNET, ether(&ipv4(1, &echo))),
        (
            packet::LINKTYPE_ETHERNET,
            ether(&ipv4(6, &tcp(40000, 22, 0x10, &ts, b""))),
        ),
        (packet::LINKTYPE_RAW, ipv4(17, &udp(40000, 53, &query))),
    ];
    packets
}

fn read_capture(path: &str) -> Vec<(u16, Vec<u8>)> {
    use osprey_source::{Diagnostics, Inputs};
    let inputs = Inputs::open(
        &[path.to_string()],
        std::sync::Arc::new(Diagnostics::silent()),
    )
    .expect("open capture");
    inputs
        .frames()
        .filter(|f| f.kind == osprey_source::FrameKind::Packet)
        .map(|f| {
            (
                f.capture.as_ref().map_or(0, |c| c.interface.link_type),
                f.data.to_vec(),
            )
        })
        .collect()
}

fn measure(packets: &[(u16, Vec<u8>)], want: &Want) -> f64 {
    let mut runs = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_millis(800) {
            for (link, p) in packets {
                let mut tree = Tree::new(want);
                dissect_link(p, *link, &mut tree);
                black_box(&tree);
                n += 1;
            }
        }
        runs.push(start.elapsed().as_nanos() as f64 / n as f64);
    }
    runs.sort_by(f64::total_cmp);
    runs[2]
}

fn main() {
    let packets = match std::env::args().nth(1) {
        Some(path) => read_capture(&path),
        None => mix(),
    };
    let reg = registry();
    let mut columns = Want::none();
    columns.columns();
    let mut ip_src = Want::none();
    ip_src.field(reg.lookup("ip.src").unwrap());
    let mut dns_name = Want::none();
    dns_name.field(reg.lookup("dns.qry.name").unwrap());
    println!("{} packets in the mix", packets.len());
    for (label, want) in [
        ("full tree", Want::all()),
        ("columns only", columns),
        ("ip.src only", ip_src),
        ("dns.qry.name only", dns_name),
    ] {
        let ns = measure(&packets, &want);
        println!(
            "{label:<20} {ns:>8.0} ns/packet {:>10.2} M packets/s",
            1000.0 / ns
        );
    }
}
