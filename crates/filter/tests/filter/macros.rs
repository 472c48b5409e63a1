//! Macros: `${name}`, `${name:a;b}` with `$1`, `$2`; nesting; errors pointing at the reference.

use osprey_filter::{Filter, Macros};

use crate::support::Frame;

fn macros() -> Macros {
    [
        ("exec", "tracee.eventName == \"sched_process_exec\""),
        ("name", "tracee.eventName == \"$1\""),
        ("either", "${name:$1} or ${name:$2}"),
        ("bad", "tracee.eventName == "),
        ("unknown_field", "nosuch.field"),
        ("self", "tcp or ${self}"),
        ("one", "${two}"),
        ("two", "${one}"),
    ]
    .into_iter()
    .collect()
}

#[test]
fn expansion() {
    let exec = Frame::new()
        .proto("tracee")
        .str("tracee.eventName", "sched_process_exec");
    let open = Frame::new()
        .proto("tracee")
        .str("tracee.eventName", "openat");
    let m = macros();
    for (text, on_exec, on_open) in [
        ("${exec}", true, false),
        ("not ${exec}", false, true),
        ("${name:openat}", false, true),
        ("${either:openat;sched_process_exec}", true, true),
        ("${either:a;b}", false, false),
        ("tracee and ${exec}", true, false),
        ("(${exec})", true, false),
        ("tracee.eventName == \"${exec}\"", false, false),
    ] {
        let f = Filter::compile(text, &m).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(f.matches(&exec), on_exec, "{text} on exec");
        assert_eq!(f.matches(&open), on_open, "{text} on openat");
        assert_eq!(f.text(), text);
    }
}

#[test]
fn errors_point_at_the_reference() {
    let m = macros();
    let cases = [
        ("tcp or ${nope}", 7, 7, "unknown macro \"nope\""),
        ("tcp or ${bad}", 7, 6, "expected a value after \"==\" (in the expansion of ${bad})"),
        ("${unknown_field} and tcp", 0, 16, "\"nosuch.field\" is not a valid protocol or protocol field (in the expansion of ${unknown_field})"),
        ("${self}", 0, 7, "macro recursion: self -> self refers to itself"),
        ("udp or ${one}", 7, 6, "macro recursion: one -> two -> one refers to itself"),
        ("${name}", 0, 7, "macro \"name\" uses $1 but was given 0 arguments"),
        ("tcp and ${exec", 8, 6, "missing its closing \"}\""),
        ("tcp and ${}", 8, 3, "expected a macro name"),
        ("tcp and $exec", 8, 1, "unexpected \"$\""),
        ("${exec} and foo", 12, 3, "\"foo\" is not a valid protocol or protocol field"),
        ("${exec} ==", 8, 2, "was unexpected here"),
    ];
    for (text, pos, len, msg) in cases {
        let e = Filter::compile(text, &m)
            .err()
            .unwrap_or_else(|| panic!("{text} compiled"));
        assert!(
            e.message.contains(msg),
            "{text}: {:?} lacks {msg:?}",
            e.message
        );
        assert_eq!(
            (e.position, e.length),
            (pos, len),
            "{text}: {}\n{}",
            e.message,
            e.render(text)
        );
    }
}

#[test]
fn runaway_expansion_is_refused() {
    let mut m = Macros::new();
    m.insert("a0", "tcp");
    for i in 1..40 {
        m.insert(
            format!("a{i}"),
            format!("${{a{}}} or ${{a{}}}", i - 1, i - 1),
        );
    }
    let e = Filter::compile("${a39}", &m).unwrap_err();
    assert!(
        e.message.contains("too large") || e.message.contains("nests too deeply"),
        "{}",
        e.message
    );
}
