//! Malformed filters: each gives an error with a position and a message saying what was
//! expected there, and none panics.

use osprey_filter::{Filter, Macros};

/// (filter, position, length, message) — the message must equal this exactly.
const CASES: &[(&str, usize, usize, &str)] = &[
    // Unbalanced parentheses, braces, brackets and quotes.
    ("(tcp", 0, 1, "this \"(\" is never closed: expected \")\""),
    ("tcp)", 3, 1, "\")\" has no matching \"(\""),
    ("(tcp or udp", 0, 1, "this \"(\" is never closed: expected \")\""),
    ("tcp.port in {80", 12, 1, "this \"{\" is never closed: expected \"}\""),
    ("tcp.port in 80}", 12, 2, "expected \"{\" to open a set after \"in\", found \"80\""),
    ("tcp}", 3, 1, "\"}\" has no matching \"{\""),
    ("http.host == \"abc", 13, 4, "this string has no closing quote (\")"),
    ("http.host[0 == 1", 9, 1, "this \"[\" has no closing \"]\""),
    ("http.host] == 1", 9, 1, "\"]\" without an opening \"[\""),
    // Missing operands and trailing operators.
    ("tcp.port ==", 11, 0, "expected a value after \"==\""),
    ("tcp.port == )", 12, 1, "expected a value after \"==\", found \")\""),
    ("tcp.port == 80 and", 18, 0, "expected a field or \"(\""),
    ("and tcp", 0, 3, "expected a field or \"(\", found \"and\""),
    ("not", 3, 0, "expected a field or \"(\""),
    ("tcp or or udp", 7, 2, "expected a field or \"(\", found \"or\""),
    ("http.host contains", 18, 0, "expected a value after \"contains\""),
    ("tcp.port 80", 9, 2, "\"80\" was unexpected here: expected an operator such as \"==\" or \"contains\", or \"and\"/\"or\", after \"tcp.port\""),
    ("tcp.port == 80 80", 15, 2, "\"80\" was unexpected here: expected \"and\", \"or\", \")\" or the end of the filter"),
    ("tcp.port = 80", 9, 1, "\"=\" is not an operator; did you mean \"==\"?"),
    ("tcp | udp", 4, 1, "\"|\" is not an operator; did you mean \"||\"?"),
    // Bad escapes and characters.
    ("http.host == \"a\\qb\"", 15, 2, "\\q is not a valid escape sequence (to pass a backslash to a regular expression write \"\\\\q\" or a raw string r\"...\\q...\")"),
    ("http.host == \"\\x\"", 14, 2, "\\x must be followed by one or two hex digits"),
    ("http.host == \"\\777\"", 14, 4, "\\777 is not a valid octal escape (above \\377)"),
    ("http.host == é", 13, 2, "unexpected character \"é\": text other than names and numbers must be in double quotes"),
    ("http.host == a@b", 14, 1, "unexpected character \"@\""),
    ("http.host == 'ab'", 13, 2, "a character constant must be one character between single quotes"),
    // Unknown fields, functions and macros.
    ("foo.bar", 0, 7, "\"foo.bar\" is not a valid protocol or protocol field"),
    ("foo.bar == 1", 0, 7, "\"foo.bar\" is not a valid protocol or protocol field"),
    ("tcp and tracee.nosuch contains \"x\"", 8, 13, "\"tracee.nosuch\" is not a valid protocol or protocol field"),
    ("frob(tcp.port) == 1", 0, 4, "unknown function \"frob\" (functions: len, count, lower, upper, string, max, min, abs)"),
    ("len(http.host, tcp.port) == 1", 0, 3, "len() takes 1 argument, 2 given"),
    ("count() == 1", 0, 5, "count() takes 1 argument, 0 given"),
    ("len(http.host", 3, 1, "this \"(\" of len() is never closed: expected \")\""),
    ("${nosuch} or tcp", 0, 9, "unknown macro \"nosuch\""),
    // Literals that are not valid for the field.
    ("tcp.port == 99999999999999999999", 12, 20, "99999999999999999999 causes an integer overflow"),
    ("tcp.port == 1.5", 12, 3, "\"1.5\" is not a valid number for tcp.port (an unsigned integer)"),
    ("ip.addr == 10.0.0.0/33", 11, 11, "the prefix length in \"10.0.0.0/33\" must be at most 32, not 33"),
    ("ip.addr == 300.1.1.1", 11, 9, "\"300.1.1.1\" is not a valid IPv4 address"),
    ("ipv6.addr == fe80::/129", 13, 10, "the prefix length in \"fe80::/129\" must be at most 128, not 129"),
    ("eth.addr == 00:11:22", 12, 8, "\"00:11:22\" has too few bytes for an Ethernet address (6 needed, 3 given)"),
    ("eth.addr == 0g:11:22:33:44:55", 12, 17, "\"0g:11:22:33:44:55\" is not a valid Ethernet address (e.g. 00:1b:21:3a:4f:5c)"),
    ("tracee.isSignature == maybe", 22, 5, "maybe is not a valid boolean for tracee.isSignature (use true, false, 1 or 0)"),
    ("frame.time > \"yesterday\"", 13, 11, "\"yesterday\" is not a valid absolute time; examples: \"Nov 12, 1999 08:55:44.123\", \"2011-07-04 12:34:56\", \"2011-07-04T12:34:56Z\""),
    ("http.host matches \"(abc\"", 18, 6, "invalid regular expression \"(abc\": unclosed group"),
    ("http.host matches abc", 18, 3, "\"matches\" needs a regular expression in double quotes, e.g. matches \"abc\""),
    // Sets and slices.
    ("tcp.port in {}", 12, 2, "empty set: expected a value after \"{\""),
    ("tcp.port in {80,}", 16, 1, "expected a value after \",\", found \"}\""),
    ("tcp.port in {80..}", 17, 1, "expected a value after \"..\", found \"}\""),
    ("tcp.port in {80..90..100}", 19, 2, "a range has two ends: expected \",\" or \"}\" after it"),
    ("http.host[1:x] == \"a\"", 10, 3, "\"1:x\" is not a valid range"),
    ("http.host[3-1] == \"a\"", 10, 3, "\"3-1\" is not a valid range: 3 is after 1"),
    ("http.host[] == \"a\"", 10, 0, "empty slice: expected a range such as [0:2], [1-3] or [4]"),
    ("tcp.port[0] == 1", 0, 8, "\"tcp.port\" is an unsigned integer and cannot be sliced into a sequence of bytes"),
    // Operators not valid for the types, literals compared with literals.
    ("tcp.port contains 80", 0, 8, "\"tcp.port\" (unsigned integer) cannot be used with \"contains\""),
    ("tcp < 1", 0, 5, "\"tcp\" is a protocol: it can only be tested for presence, not with \"<\""),
    ("1 == 1", 0, 6, "1 == 1 compares two values: one side must be a field or function"),
    ("\"a\" == \"b\"", 0, 10, "\"a\" == \"b\" compares two values: one side must be a field or function"),
    ("tcp.srcport == ip.src", 15, 6, "tcp.srcport (unsigned integer) and ip.src (IPv4 address) are not of compatible types"),
    ("\"abc\"", 0, 5, "\"abc\" is a literal value, not a test: compare it with a field, e.g. http.host == \"abc\""),
    ("len(http.host)", 0, 14, "a function cannot be tested for presence: compare its result, e.g. len(x) > 0"),
    ("http.host in {tcp.port}", 14, 8, "http.host (character string) and tcp.port (unsigned integer) are not of compatible types"),
];

#[test]
fn malformed_filters_have_positioned_errors() {
    let macros = Macros::new();
    let mut failures = Vec::new();
    for (text, pos, len, msg) in CASES {
        match Filter::compile(text, &macros) {
            Ok(_) => failures.push(format!("{text:?} compiled")),
            Err(e) => {
                if (e.position, e.length, e.message.as_str()) != (*pos, *len, *msg) {
                    failures.push(format!(
                        "{text:?}: got ({}, {}, {:?})\n{}",
                        e.position,
                        e.length,
                        e.message,
                        e.render(text)
                    ));
                }
                assert!(!e.render(text).is_empty());
                assert!(!e.to_string().contains('\n'), "{text}: one-line message");
            }
        }
    }
    assert!(CASES.len() >= 40);
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}tcp{}", "(".repeat(10_000), ")".repeat(10_000));
    let e = Filter::compile(&deep, &Macros::new()).unwrap_err();
    assert!(e.message.contains("nests too deeply"), "{}", e.message);
    let nots = format!("{}tcp", "not ".repeat(10_000));
    assert!(Filter::compile(&nots, &Macros::new()).is_err());
    let long_or = vec!["tcp"; 20_000].join(" or ");
    assert!(Filter::compile(&long_or, &Macros::new()).is_ok());
}
