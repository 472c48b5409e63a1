//! IPv4, IPv6 (with networks), Ethernet addresses and byte strings.

use std::borrow::Cow;

use osprey_field::{FieldType, FieldValue};

use crate::support::{field_of_type, rejects, table, Frame};

fn frame() -> Frame {
    Frame::new()
        .proto("ip")
        .with("ip.src", FieldValue::Ipv4([10, 1, 2, 3].into()))
        .with("ip.dst", FieldValue::Ipv4([192, 168, 0, 1].into()))
        .with("ip.addr", FieldValue::Ipv4([10, 1, 2, 3].into()))
        .with("ip.addr", FieldValue::Ipv4([192, 168, 0, 1].into()))
        .with("ipv6.addr", FieldValue::Ipv6("fe80::1".parse().unwrap()))
        .with(
            "eth.addr",
            FieldValue::Ether([0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x5c]),
        )
}

#[test]
fn ipv4_addresses_and_networks() {
    table(
        &frame(),
        &[
            ("ip.src == 10.1.2.3", true),
            ("ip.src == 10.1.2.4", false),
            ("ip.src == 10.0.0.0/8", true),
            ("ip.src == 10.1.2.3/32", true),
            ("ip.src == 0.0.0.0/0", true),
            ("ip.src == 11.0.0.0/8", false),
            ("ip.src != 10.0.0.0/8", false),
            ("ip.addr == 192.168.0.1", true),
            ("ip.addr != 192.168.0.1", false),
            ("ip.addr !== 192.168.0.1", true),
            ("ip.addr === 192.168.0.1", false),
            ("ip.addr in {10.0.0.0/8, 172.16.0.0/12}", true),
            ("ip.addr in {192.168.0.0..192.168.0.10}", true),
            ("ip.src > 10.1.2.2", true),
            ("ip.src < 9.255.255.255", false),
            ("ip.src == ip.addr", true),
            ("ip.src == ip.dst", false),
            ("ip.src[0] == 0a", true),
            ("ip.src[2:2] == 02:03", true),
            ("len(ip.src) == 4", true),
        ],
    );
}

#[test]
fn ipv6_addresses_and_networks() {
    table(
        &frame(),
        &[
            ("ipv6.addr == fe80::1", true),
            ("ipv6.addr == fe80:0:0:0:0:0:0:1", true),
            ("ipv6.addr == fe80::/10", true),
            ("ipv6.addr == ::/0", true),
            ("ipv6.addr == 2001:db8::/32", false),
            ("ipv6.addr in {::1, fe80::1}", true),
            ("len(ipv6.addr) == 16", true),
            ("ipv6.addr[0:2] == fe:80", true),
        ],
    );
}

#[test]
fn ethernet_addresses() {
    table(
        &frame(),
        &[
            ("eth.addr == 00:1b:21:3a:4f:5c", true),
            ("eth.addr == 00-1b-21-3a-4f-5c", true),
            ("eth.addr == 001b.213a.4f5c", true),
            ("eth.addr == 001b213a4f5c", true),
            ("eth.addr == 00:1B:21:3A:4F:5C", true),
            ("eth.addr == ff:ff:ff:ff:ff:ff", false),
            ("eth.addr contains 21:3a", true),
            ("eth.addr contains 21:3b", false),
            ("eth.addr[0:2] == 00:1b", true),
            ("eth.addr > 00:00:00:00:00:00", true),
        ],
    );
}

#[test]
fn byte_fields() {
    // Slices are bytes; a static byte field, when the registry has one, too.
    let mut rows: Vec<(String, bool)> = Vec::new();
    if let Some(name) = field_of_type(FieldType::Bytes) {
        let f = frame().with(&name, FieldValue::Bytes(Cow::Borrowed(b"GET / HTTP/1.1")));
        let cases = [
            (format!("{name} contains \"HTTP\""), true),
            (format!("{name} contains 48:54:54:50"), true),
            (format!("{name} contains 47:45:54:21"), false),
            (format!("{name}[0:3] == \"GET\""), true),
            (format!("{name}[0:3] == 47.45.54"), true),
            (format!("{name}[0:3] == 474554"), true),
            (format!("{name}[0] == 0x47"), true),
            (format!("{name} matches \"^get /\""), true),
            (format!("len({name}) == 14"), true),
            (format!("{name} == \"GET / HTTP/1.1\""), true),
        ];
        rows.extend(cases);
        let refs: Vec<(&str, bool)> = rows.iter().map(|(s, b)| (s.as_str(), *b)).collect();
        table(&f, &refs);
        rejects(&[(&format!("{name} == GETX"), "not a valid byte string")]);
    }
}

#[test]
fn address_errors() {
    rejects(&[
        (
            "ip.addr == 1.2.3.256",
            "\"1.2.3.256\" is not a valid IPv4 address",
        ),
        ("ip.addr == 1.2.3", "not a valid IPv4 address"),
        ("ip.addr == 10.0.0.0/33", "must be at most 32, not 33"),
        ("ip.addr == 10.0.0.0/x", "not a prefix length"),
        ("ip.addr == ::1", "not a valid IPv4 address"),
        ("ip.addr == \"10.0.0.1\"", "write the value without quotes"),
        ("ip.addr == localhost", "not a valid IPv4 address"),
        ("ipv6.addr == fe80:::1", "not a valid IPv6 address"),
        ("ipv6.addr == ::1/129", "must be at most 128, not 129"),
        ("ipv6.addr == 10.0.0.1", "not a valid IPv6 address"),
        ("eth.addr == 00:11:22:33:44", "too few bytes"),
        ("eth.addr == 00:11:22:33:44:55:66", "too many bytes"),
        (
            "eth.addr == 00:11:22:33:44:zz",
            "not a valid Ethernet address",
        ),
        ("ip.addr contains 1", "cannot be used with \"contains\""),
        ("ip.src == tcp.port", "not of compatible types"),
    ]);
}

#[test]
fn bitwise_and_on_address_bytes() {
    // Wireshark's default "Broadcast" coloring rule tests the I/G bit this way.
    let multicast = Frame::new().with("eth.dst", FieldValue::Ether([0x01, 0x00, 0x5e, 0, 0, 1]));
    let unicast = Frame::new().with(
        "eth.dst",
        FieldValue::Ether([0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x5c]),
    );
    table(
        &multicast,
        &[
            ("eth.dst[0] & 1", true),
            ("eth.dst[0] & 2", false),
            ("eth.dst[0:2] & 0x5e", false),
        ],
    );
    table(
        &unicast,
        &[("eth.dst[0] & 1", false), ("eth.dst & 0x5c", true)],
    );
}
