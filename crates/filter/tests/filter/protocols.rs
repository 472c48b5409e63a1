//! Protocols and presence tests.

use crate::support::{rejects, table, Frame};

#[test]
fn presence() {
    let event = Frame::new()
        .proto("frame")
        .proto("tracee")
        .str("tracee.eventName", "openat");
    let packet = Frame::new()
        .proto("frame")
        .proto("ip")
        .proto("tcp")
        .uint("tcp.port", 80);
    let rows = [
        ("tracee", true, false),
        ("not tracee", false, true),
        ("!tracee", false, true),
        ("tcp", false, true),
        (".tcp", false, true),
        ("tcp.port", false, true),
        ("tracee.eventName", true, false),
        ("tracee or tcp", true, true),
        ("tracee and tcp", false, false),
        ("tracee xor tcp", true, true),
        ("tracee ^^ frame", false, true),
        ("frame", true, true),
        ("not not tcp", false, true),
        ("count(tcp) == 1", false, true),
        ("tracee.args.openat.pathname", false, false),
        ("(tracee)", true, false),
        ("((tracee) or (udp))", true, false),
        ("", true, true),
        ("   ", true, true),
    ];
    for (text, on_event, on_packet) in rows {
        table(&event, &[(text, on_event)]);
        table(&packet, &[(text, on_packet)]);
    }
}

#[test]
fn precedence() {
    // not > and > xor > or, as tshark: `udp or tcp and frame.len > 1000` is `udp or (...)`.
    let packet = Frame::new().proto("udp").uint("frame.len", 60);
    table(
        &packet,
        &[
            ("udp or tcp and frame.len > 1000", true),
            ("tcp and frame.len > 1000 or udp", true),
            ("not tcp and udp", true),
            ("not (tcp or udp)", false),
            ("udp and not tcp", true),
            ("udp xor udp or udp", true),
            ("udp or udp xor udp", true),
        ],
    );
}

#[test]
fn protocol_errors() {
    rejects(&[
        (
            "tcp < 1",
            "\"tcp\" is a protocol: it can only be tested for presence, not with \"<\"",
        ),
        ("tcp == 1", "can only be tested for presence"),
        ("frame contains \"GET\"", "can only be tested for presence"),
        ("tcp[0] == 1", "Osprey keeps no protocol bytes"),
        ("tracee.context == 1", "label"),
        (
            "foo.bar",
            "\"foo.bar\" is not a valid protocol or protocol field",
        ),
        (".foo", "\"foo\" is not a valid protocol or protocol field"),
    ]);
}
