//! Strings: equality, order, contains, matches, escapes, raw strings, slices, functions.

use crate::support::{rejects, table, Frame};

fn frame() -> Frame {
    Frame::new()
        .proto("http")
        .str("http.request.method", "GET")
        .str("http.host", "example.com:8080")
        .str("http.user_agent", "curl/8.0 \"quoted\" back\\slash")
        .str("tracee.sockaddr.sin_port", "443")
        .str("tracee.pktmeta.src_ip", "10.1.2.3")
}

#[test]
fn equality_order_and_unquoted_words() {
    table(
        &frame(),
        &[
            ("http.request.method == \"GET\"", true),
            ("http.request.method == GET", true),
            ("http.request.method == \"get\"", false),
            ("http.request.method != \"POST\"", true),
            ("http.request.method in {\"POST\", \"GET\"}", true),
            ("http.request.method in {POST, PUT}", false),
            ("http.request.method > \"FOO\"", true),
            ("http.request.method < \"GEU\"", true),
            ("http.request.method in {\"A\"..\"H\"}", true),
            ("http.host == example.com:8080", true),
            ("http.request.method == 'G'", false),
            ("\"GET\" == http.request.method", true),
        ],
    );
}

#[test]
fn numbers_and_networks_against_text_fields() {
    table(
        &frame(),
        &[
            ("tracee.sockaddr.sin_port == 443", true),
            ("tracee.sockaddr.sin_port == \"443\"", true),
            ("tracee.sockaddr.sin_port == 0x1bb", true),
            ("tracee.sockaddr.sin_port in {80, 443}", true),
            ("tracee.sockaddr.sin_port < 1024", true),
            ("tracee.sockaddr.sin_port > 1000", false),
            ("tracee.pktmeta.src_ip == 10.1.2.3", true),
            ("tracee.pktmeta.src_ip == 10.0.0.0/8", true),
            ("tracee.pktmeta.src_ip == 192.168.0.0/16", false),
        ],
    );
}

#[test]
fn contains_matches_and_escapes() {
    table(
        &frame(),
        &[
            ("http.host contains \"example\"", true),
            ("http.host contains example", true),
            ("http.host contains \"EXAMPLE\"", false),
            ("http.host contains \"\"", false),
            ("http.host contains \"\\x65xample\"", true),
            ("http.host contains \"\\145xample\"", true),
            ("http.user_agent contains \"\\\"quoted\\\"\"", true),
            ("http.user_agent contains \"back\\\\slash\"", true),
            ("http.user_agent contains r\"back\\slash\"", true),
            ("http.host matches \"^EXAMPLE\\\\.com\"", true),
            ("http.host matches \"(?-i)^EXAMPLE\"", false),
            ("http.host matches r\"\\d+$\"", true),
            ("http.host matches \"\"", true),
            ("http.host matches \"^x\"", false),
            ("http.user_agent matches r\"\\\"quoted\\\"\"", true),
        ],
    );
}

#[test]
fn slices_and_functions() {
    table(
        &frame(),
        &[
            ("http.request.method[0] == \"G\"", true),
            ("http.request.method[0] == 47", true),
            ("http.request.method[0:2] == \"GE\"", true),
            ("http.request.method[0:2] == 47:45", true),
            ("http.request.method[1-2] == \"ET\"", true),
            ("http.request.method[1:] == \"ET\"", true),
            ("http.request.method[:2] == \"GE\"", true),
            ("http.request.method[-1] == \"T\"", true),
            ("http.request.method[-2:] == \"ET\"", true),
            ("http.request.method[0:1,2] == \"GT\"", true),
            ("http.request.method[2:5] == \"T\"", false),
            ("http.request.method[3]", false),
            ("http.request.method[2]", true),
            ("http.request.method[0:2] contains \"E\"", true),
            ("http.request.method[0:2] matches \"^ge$\"", true),
            ("len(http.request.method) == 3", true),
            ("len(http.host) > 100", false),
            ("count(http.host) == 1", true),
            ("count(http.cookie) == 0", false),
            ("lower(http.request.method) == \"get\"", true),
            ("upper(http.host) contains \"EXAMPLE\"", true),
            ("lower(http.host) == http.host", true),
            ("string(http.host) == \"example.com:8080\"", true),
            ("len(lower(http.host)) == 16", true),
        ],
    );
}

#[test]
fn string_errors() {
    rejects(&[
        ("http.host == \"abc", "no closing quote"),
        ("http.host == \"\\q\"", "\\q is not a valid escape sequence"),
        ("http.host matches \"\\d\"", "raw string"),
        ("http.host matches \"(abc\"", "invalid regular expression"),
        (
            "http.host matches abc",
            "needs a regular expression in double quotes",
        ),
        (
            "http.host matches \"a{1000}{1000}{1000}\"",
            "invalid regular expression",
        ),
        ("http.host[1:x] == \"a\"", "\"1:x\" is not a valid range"),
        ("http.host[0:0] == \"a\"", "not positive"),
        ("http.host[] == \"a\"", "empty slice"),
        ("http.host[0 == \"a\"", "has no closing \"]\""),
        ("lower(tcp.port) == \"x\"", "only string fields"),
        ("len(tcp.port) == 1", "len() needs a string"),
        ("len(http.host, 2) == 1", "len() takes 1 argument, 2 given"),
        ("len() == 1", "len() takes 1 argument, 0 given"),
        ("frob(http.host) == 1", "unknown function \"frob\""),
        ("len(http.host)", "cannot be tested for presence"),
        ("len(\"abc\") == 3", "arguments of len()"),
        ("\"abc\" contains http.host", "left side of \"contains\""),
    ]);
}
