//! Integers: decimal, hex, octal, negative, ranges in sets, value names, bitwise and.

use crate::support::{rejects, table, Frame};

#[test]
fn unsigned_comparisons_and_literal_forms() {
    let f = Frame::new()
        .proto("tcp")
        .uint("tcp.port", 8765)
        .uint("tcp.port", 443);
    table(
        &f,
        &[
            ("tcp.port == 8765", true),
            ("tcp.port eq 443", true),
            ("tcp.port any_eq 443", true),
            ("tcp.port == 0x223d", true),
            ("tcp.port == 0X223D", true),
            ("tcp.port == 021075", true),
            ("tcp.port == 80", false),
            ("tcp.port > 8000", true),
            ("tcp.port gt 9000", false),
            ("tcp.port >= 8765", true),
            ("tcp.port < 443", false),
            ("tcp.port <= 443", true),
            ("tcp.port lt 444", true),
            ("tcp.port le 442", false),
            ("tcp.port ge 8766", false),
            ("tcp.port == -1", false),
            ("tcp.port > -1", true),
            ("8765 == tcp.port", true),
            ("9000 < tcp.port", false),
            ("444 > tcp.port", true),
        ],
    );
}

#[test]
fn sets_with_values_and_ranges() {
    let f = Frame::new().uint("tcp.port", 8765);
    table(
        &f,
        &[
            ("tcp.port in {80, 443, 8765}", true),
            ("tcp.port in {80 443 8765}", true),
            ("tcp.port in {80,443}", false),
            ("tcp.port in {8000..9000}", true),
            ("tcp.port in {0x2000..0x3000}", true),
            ("tcp.port in {1..10, 8765..8765}", true),
            ("tcp.port in {9000..8000}", false),
            ("tcp.port not in {80, 443}", true),
            ("tcp.port not in {8765}", false),
            ("udp.port not in {53}", true),
            ("udp.port in {53}", false),
        ],
    );
}

#[test]
fn signed_fields() {
    let f = Frame::new()
        .int("tracee.returnValue", -13)
        .int("tracee.processId", 1234);
    table(
        &f,
        &[
            ("tracee.returnValue == -13", true),
            ("tracee.returnValue < 0", true),
            ("tracee.returnValue in {-20..-10}", true),
            ("tracee.returnValue == -0xd", true),
            ("tracee.processId == 1234", true),
            ("tracee.processId != 1234", false),
            ("tracee.processId != 1", true),
            ("tracee.processId in {1, 2, 1234}", true),
            ("tracee.processId == 'A'", false),
        ],
    );
}

#[test]
fn value_names_and_bitwise_and() {
    let f = Frame::new()
        .int("tracee.args.ptrace.request", 16)
        .uint("ip.proto", 6);
    table(
        &f,
        &[
            ("tracee.args.ptrace.request == PTRACE_ATTACH", true),
            ("tracee.args.ptrace.request == ptrace_attach", true),
            ("tracee.args.ptrace.request == \"PTRACE_ATTACH\"", true),
            (
                "tracee.args.ptrace.request in {PTRACE_TRACEME, PTRACE_ATTACH}",
                true,
            ),
            ("tracee.args.ptrace.request == PTRACE_TRACEME", false),
            ("ip.proto == TCP", true),
            ("ip.proto in {ICMP..TCP}", true),
            ("ip.proto == UDP", false),
            ("ip.proto & 0x02", true),
            ("ip.proto & 0x01", false),
            ("ip.proto & 0x06 == 6", true),
            ("ip.proto & 4 != 0", true),
        ],
    );
}

#[test]
fn integer_errors() {
    rejects(&[
        (
            "tcp.port == abc",
            "\"abc\" is not a valid number for tcp.port",
        ),
        ("tcp.port == 1.5", "not a valid number"),
        ("tcp.port == 08", "not a valid number"),
        ("tcp.port == 0x", "not a valid number"),
        (
            "tcp.port == 99999999999999999999",
            "causes an integer overflow",
        ),
        ("tracee.processId == 18446744073709551615", "too big"),
        ("tcp.port > \"80\"", "quoted string"),
        (
            "ip.proto == TCPX",
            "cannot be found among the possible values for ip.proto",
        ),
        ("tcp.port contains 80", "cannot be used with \"contains\""),
        ("tcp.port matches \"8\"", "cannot be used with \"matches\""),
        ("tcp.port[0] == 1", "cannot be sliced"),
        ("http.host & 1", "needs an integer field"),
        ("tcp.port & x", "expected an integer mask"),
    ]);
}
