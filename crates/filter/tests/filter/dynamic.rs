//! Argument fields: they compile before any data shows them, and each value is compared by its
//! own type.

use std::borrow::Cow;

use osprey_field::{registry, FieldType, FieldValue};

use crate::support::{compile, rejects, table, Frame};

#[test]
fn compile_before_data_and_coerce_per_value() {
    // Never-seen argument names resolve (and register) at compile time.
    let f = compile("tracee.args.never_seen_event.some_arg == 80");
    assert_eq!(f.fields().len(), 1);
    assert!(registry()
        .lookup("tracee.args.never_seen_event.some_arg")
        .is_some());

    let rows = [
        ("tracee.args.dyn_t.port == 80", true),
        ("tracee.args.dyn_t.port == \"80\"", true),
        ("tracee.args.dyn_t.port == 0x50", true),
        ("tracee.args.dyn_t.port in {443, 80}", true),
        ("tracee.args.dyn_t.port in {1..100}", true),
        ("tracee.args.dyn_t.port > 79", true),
        ("tracee.args.dyn_t.port != 80", false),
        ("tracee.args.dyn_t.port == 81", false),
        ("tracee.args.dyn_t.port == abc", false),
        ("tracee.args.dyn_t.port != abc", true),
    ];
    for value in [
        FieldValue::Int(80),
        FieldValue::UInt(80),
        FieldValue::Str(Cow::Borrowed("80")),
        FieldValue::Double(80.0),
    ] {
        let frame = Frame::new().with("tracee.args.dyn_t.port", value.clone());
        let mut failures = Vec::new();
        for (text, want) in rows {
            if compile(text).matches(&frame) != want {
                failures.push(format!("{text} on {value:?}: expected {want}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}

#[test]
fn text_bytes_booleans_and_addresses() {
    let f = Frame::new()
        .str("tracee.args.dyn_t.pathname", "/etc/passwd")
        .with(
            "tracee.args.dyn_t.data",
            FieldValue::Bytes(Cow::Borrowed(b"\x7fELF\x02")),
        )
        .with("tracee.args.dyn_t.flag", FieldValue::Bool(true))
        .str("tracee.args.dyn_t.addr", "10.1.2.3")
        .with(
            "tracee.args.dyn_t.ip",
            FieldValue::Ipv4([10, 1, 2, 3].into()),
        )
        .with(
            "tracee.args.dyn_t.when",
            FieldValue::AbsTime(1_704_067_200_000_000_000),
        )
        .with(
            "tracee.args.dyn_t.detected_from.pathname",
            FieldValue::Str(Cow::Borrowed("/bin/sh")),
        );
    table(
        &f,
        &[
            ("tracee.args.dyn_t.pathname contains \"/etc/\"", true),
            ("tracee.args.dyn_t.pathname == \"/etc/passwd\"", true),
            ("tracee.args.dyn_t.pathname == /etc/passwd", true),
            ("tracee.args.dyn_t.pathname matches \"^/ETC/\"", true),
            ("tracee.args.dyn_t.pathname[0:5] == \"/etc/\"", true),
            ("lower(tracee.args.dyn_t.pathname) == \"/etc/passwd\"", true),
            ("len(tracee.args.dyn_t.pathname) == 11", true),
            ("tracee.args.dyn_t.pathname > \"/etc\"", true),
            ("tracee.args.dyn_t.data contains \"ELF\"", true),
            ("tracee.args.dyn_t.data contains 7f:45:4c:46", true),
            ("tracee.args.dyn_t.data[0] == 7f", true),
            ("tracee.args.dyn_t.flag == true", true),
            ("tracee.args.dyn_t.flag == 1", true),
            ("tracee.args.dyn_t.flag == false", false),
            ("tracee.args.dyn_t.addr == 10.0.0.0/8", true),
            ("tracee.args.dyn_t.addr == 10.1.2.3", true),
            ("tracee.args.dyn_t.ip == 10.0.0.0/8", true),
            ("tracee.args.dyn_t.ip == 10.1.2.4", false),
            ("tracee.args.dyn_t.when == \"2024-01-01\"", true),
            ("tracee.args.dyn_t.when > \"Jan 1, 2023 00:00:00\"", true),
            (
                "tracee.args.dyn_t.detected_from.pathname == \"/bin/sh\"",
                true,
            ),
            ("tracee.args.dyn_t.missing", false),
            ("tracee.args.dyn_t.missing == 1", false),
            ("tracee.args.dyn_t.pathname contains 80", false),
        ],
    );
}

#[test]
fn registered_types_do_not_change_what_compiles() {
    // The dissector registered this argument as an integer; the filter still treats it per value.
    registry()
        .resolve_typed("tracee.args.dyn_typed.count", FieldType::Int)
        .unwrap();
    let f = Frame::new().str("tracee.args.dyn_typed.count", "many");
    table(
        &f,
        &[
            ("tracee.args.dyn_typed.count contains \"man\"", true),
            ("tracee.args.dyn_typed.count == many", true),
        ],
    );
}

#[test]
fn dynamic_errors() {
    rejects(&[
        (
            "tracee.args.openat",
            "is not a valid protocol or protocol field",
        ),
        (
            "tracee.args.a.b.c == 1",
            "is not a valid protocol or protocol field",
        ),
        ("tracee.args.x.y matches abc", "double quotes"),
        (
            "tracee.args.x.y matches \"(\"",
            "invalid regular expression",
        ),
        ("tracee.args.x.y == tcp", "\"tcp\" is a protocol"),
    ]);
}
