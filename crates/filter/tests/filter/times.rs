//! Absolute times and time offsets.

use osprey_field::FieldValue;

use crate::support::{rejects, table, Frame};

/// 2024-01-01T00:00:00Z in nanoseconds.
const JAN_1_2024: u64 = 1_704_067_200_000_000_000;

fn frame() -> Frame {
    Frame::new()
        .with(
            "frame.time",
            FieldValue::AbsTime(JAN_1_2024 + 1_500_000_000),
        )
        .with(
            "frame.time_epoch",
            FieldValue::AbsTime(JAN_1_2024 + 1_500_000_000),
        )
        .with("frame.time_relative", FieldValue::RelTime(1_500_000_000))
        .with("frame.time_delta", FieldValue::RelTime(-250_000_000))
}

#[test]
fn absolute_times() {
    table(
        &frame(),
        &[
            ("frame.time >= \"Jan 1, 2024 00:00:00\"", true),
            ("frame.time >= \"jan  1, 2024 00:00:01.5\"", true),
            ("frame.time > \"Jan 1, 2024 00:00:01.5\"", false),
            ("frame.time == \"Jan 1, 2024 00:00:01.500000000 UTC\"", true),
            ("frame.time == \"2024-01-01 00:00:01.5\"", true),
            ("frame.time == \"2024-01-01T00:00:01.5Z\"", true),
            ("frame.time == \"2024-01-01T01:00:01.5+01:00\"", true),
            ("frame.time > 2024-01-01", true),
            ("frame.time < \"2023-12-31\"", false),
            ("frame.time in {\"2024-01-01\"..\"2024-01-02\"}", true),
            ("frame.time_epoch > 1704067200", true),
            ("frame.time_epoch == 1704067201.5", true),
            ("frame.time_epoch < \"Jan 1, 2024 00:00:00\"", false),
        ],
    );
}

#[test]
fn relative_times() {
    table(
        &frame(),
        &[
            ("frame.time_relative > 1", true),
            ("frame.time_relative == 1.5", true),
            ("frame.time_relative == 1.500000000", true),
            ("frame.time_relative < 1.499999999", false),
            ("frame.time_relative in {1..2}", true),
            ("frame.time_delta < 0", true),
            ("frame.time_delta == -0.25", true),
            ("abs(frame.time_delta) == 0.25", true),
            ("frame.time_delta < frame.time_relative", true),
        ],
    );
}

#[test]
fn time_errors() {
    rejects(&[
        (
            "frame.time >= \"Jan 1, 2024\"",
            "is not a valid absolute time",
        ),
        (
            "frame.time >= \"January 1, 2024 00:00:00\"",
            "is not a valid absolute time",
        ),
        (
            "frame.time >= \"2024-13-01\"",
            "is not a valid absolute time",
        ),
        (
            "frame.time >= \"Jan 1, 2024 25:00:00\"",
            "is not a valid absolute time",
        ),
        (
            "frame.time >= \"Jan 1, 2024 00:00:00 EST\"",
            "is not a valid absolute time",
        ),
        ("frame.time >= 1700000000", "is not a valid absolute time"),
        (
            "frame.time contains \"Jan\"",
            "cannot be used with \"contains\"",
        ),
        (
            "frame.time_relative > \"0.5\"",
            "write the value without quotes",
        ),
        ("frame.time_relative < 1e-3", "not a valid time offset"),
        ("frame.time_relative < 0x10", "not a valid time offset"),
    ]);
}
