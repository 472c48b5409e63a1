//! Booleans.

use osprey_field::FieldValue;

use crate::support::{rejects, table, Frame};

#[test]
fn boolean_literals() {
    let f = Frame::new()
        .with("tracee.isSignature", FieldValue::Bool(false))
        .with("tracee.isContainer", FieldValue::Bool(true));
    table(
        &f,
        &[
            ("tracee.isSignature == false", true),
            ("tracee.isSignature == False", true),
            ("tracee.isSignature == FALSE", true),
            ("tracee.isSignature == 0", true),
            ("tracee.isSignature == \"false\"", true),
            ("tracee.isSignature == true", false),
            ("tracee.isSignature", true),
            ("tracee.isContainer == True", true),
            ("tracee.isContainer == 1", true),
            ("tracee.isContainer == 2", true),
            ("tracee.isContainer != 0", true),
            ("tracee.isContainer > false", true),
            ("tracee.isContainer in {true}", true),
            ("tracee.isContainer && tracee.isSignature == 0", true),
            // `!field` tests absence, not falsehood (Wireshark semantics).
            ("!tracee.isSignature", false),
            ("dns.flags.response == true", false),
            ("dns.flags.response != true", false),
        ],
    );
}

#[test]
fn boolean_errors() {
    rejects(&[
        ("tracee.isSignature == yes", "not a valid boolean"),
        ("tracee.isSignature == \"1\"", "not a valid boolean"),
        (
            "tracee.isSignature contains 1",
            "cannot be used with \"contains\"",
        ),
    ]);
}
