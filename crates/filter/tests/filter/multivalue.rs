//! Fields with several values, and absent fields (Wireshark 4 semantics, checked with tshark
//! 4.0.17: `ip.addr != 127.0.0.1` is false when either address is 127.0.0.1, and a
//! comparison on an absent field is false, `!=` included).

use crate::support::{table, Frame};

#[test]
fn any_all_and_absent() {
    let f = Frame::new()
        .str("tracee.matchedPolicies", "default")
        .str("tracee.matchedPolicies", "audit");
    table(
        &f,
        &[
            ("tracee.matchedPolicies == \"audit\"", true),
            ("tracee.matchedPolicies any_eq \"audit\"", true),
            ("tracee.matchedPolicies != \"audit\"", false),
            ("tracee.matchedPolicies ne \"audit\"", false),
            ("tracee.matchedPolicies all_ne \"audit\"", false),
            ("tracee.matchedPolicies != \"other\"", true),
            ("tracee.matchedPolicies === \"audit\"", false),
            ("tracee.matchedPolicies all_eq \"audit\"", false),
            ("tracee.matchedPolicies !== \"audit\"", true),
            ("tracee.matchedPolicies ~= \"audit\"", true),
            ("tracee.matchedPolicies any_ne \"audit\"", true),
            ("not tracee.matchedPolicies == \"audit\"", false),
            ("tracee.matchedPolicies contains \"aud\"", true),
            ("tracee.matchedPolicies in {\"x\", \"default\"}", true),
            ("tracee.matchedPolicies > \"b\"", true),
            ("count(tracee.matchedPolicies) == 2", true),
            // Absent: every comparison is false, negations of them true.
            ("tracee.container.id == \"x\"", false),
            ("tracee.container.id != \"x\"", false),
            ("tracee.container.id === \"x\"", false),
            ("tracee.container.id !== \"x\"", false),
            ("tracee.container.id in {\"x\"}", false),
            ("tracee.container.id not in {\"x\"}", true),
            ("not tracee.container.id == \"x\"", true),
        ],
    );
    let same = Frame::new()
        .str("tracee.matchedPolicies", "a")
        .str("tracee.matchedPolicies", "a");
    table(
        &same,
        &[
            ("tracee.matchedPolicies === \"a\"", true),
            ("tracee.matchedPolicies !== \"a\"", false),
        ],
    );
}

#[test]
fn field_against_field() {
    let f = Frame::new()
        .uint("tcp.srcport", 40000)
        .uint("tcp.dstport", 80)
        .uint("tcp.port", 40000)
        .uint("tcp.port", 80);
    table(
        &f,
        &[
            ("tcp.srcport == tcp.dstport", false),
            ("tcp.srcport != tcp.dstport", true),
            ("tcp.srcport > tcp.dstport", true),
            ("tcp.port == tcp.dstport", true),
            ("tcp.port != tcp.dstport", false),
            ("tcp.port !== tcp.dstport", true),
            ("tcp.port === tcp.port", false),
            ("tcp.dstport in {tcp.port}", true),
            ("tcp.dstport in {1, tcp.srcport}", false),
            ("tcp.srcport == udp.port", false),
            ("tcp.srcport != udp.port", false),
            ("max(tcp.srcport, tcp.dstport) == 40000", true),
            ("min(tcp.port) == 80", true),
            ("max(udp.port) == 0", false),
        ],
    );
}
