//! Late materialization: within the row groups read, the query's constraints are tested on
//! the values of their columns, and the `event` column is decoded only for the rows that meet
//! them. The rows kept are exactly those whose columns meet the constraints (a superset of
//! what the display filter matches, which tests/lake.rs checks end to end).

mod common;

use std::path::Path;

use common::{event, read, write, Ev, SECOND, T7};
use osprey_lake::RollPolicy;

const NAMES: [&str; 4] = [
    "openat",
    "sched_process_exec",
    "close",
    "security_file_open",
];
const COMMS: [&str; 3] = ["bash", "curl", "ls"];
const CONTAINERS: [&str; 3] = ["c0", "", "c2"];

/// Event `i` of the test lake: one second after event `i - 1`, its event name, process name
/// and container cycling (with periods 4, 3 and 5, so every combination occurs).
struct Row {
    ts: u64,
    name: &'static str,
    comm: &'static str,
    container: &'static str,
}

fn row(i: usize) -> Row {
    Row {
        ts: T7 + i as u64 * SECOND,
        name: NAMES[i % 4],
        comm: COMMS[i % 3],
        container: CONTAINERS[(i / 5) % 3],
    }
}

fn line(r: &Row) -> String {
    let line = event(&Ev {
        ts: r.ts,
        host: "h",
        pid: 7,
        comm: r.comm,
        name: r.name,
        container: r.container,
    });
    String::from_utf8(line).unwrap()
}

const ROWS: usize = 300;

/// The test lake, every event in one file and one row group (its statistics bound none of
/// the columns tested), and its lines.
fn lake(root: &Path) -> Vec<String> {
    let lines: Vec<String> = (0..ROWS).map(|i| line(&row(i))).collect();
    let bytes: Vec<Vec<u8>> = lines.iter().map(|l| l.clone().into_bytes()).collect();
    write(root, &bytes, RollPolicy::default());
    lines
}

/// Reads `filter` and checks that exactly the events `wanted` selects were decoded, in order,
/// from the one row group, and that the others were counted as skipped.
fn check(root: &Path, lines: &[String], filter: &str, wanted: impl Fn(&Row) -> bool) -> usize {
    let expected: Vec<String> = (0..ROWS)
        .filter(|&i| wanted(&row(i)))
        .map(|i| lines[i].clone())
        .collect();
    let (read, scan) = read(root, filter);
    assert_eq!(read, expected, "{filter}");
    assert_eq!(
        (
            scan.files_read,
            scan.row_groups_read,
            scan.row_groups_skipped
        ),
        (1, 1, 0),
        "{filter}: the statistics rule nothing out: {scan}"
    );
    assert_eq!(scan.rows_read, expected.len() as u64, "{filter}: {scan}");
    assert_eq!(
        scan.rows_skipped,
        (ROWS - expected.len()) as u64,
        "{filter}: {scan}"
    );
    expected.len()
}

#[test]
fn event_and_process_names_are_tested_before_the_event_is_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let lines = lake(dir.path());
    let n = check(
        dir.path(),
        &lines,
        r#"tracee.eventName == "sched_process_exec" and tracee.processName == "curl""#,
        |r| r.name == "sched_process_exec" && r.comm == "curl",
    );
    assert_eq!(n, ROWS / 12);
    // Parts of the filter that are not constraints are left to the display filter: the rows
    // read are those the constraints keep.
    check(
        dir.path(),
        &lines,
        r#"tracee.eventName == "close" and tracee.syscall contains "open""#,
        |r| r.name == "close",
    );
}

#[test]
fn a_time_range_inside_a_row_group_decodes_only_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let lines = lake(dir.path());
    let n = check(
        dir.path(),
        &lines,
        r#"frame.time >= "2026-12-06 07:00:10" and frame.time < "2026-12-06 07:00:20""#,
        |r| (T7 + 10 * SECOND..T7 + 20 * SECOND).contains(&r.ts),
    );
    assert_eq!(n, 10);
    // With a name: both hold.
    check(
        dir.path(),
        &lines,
        r#"frame.time_epoch < 1796540500 and tracee.eventName == "openat""#,
        |r| r.ts < T7 + 100 * SECOND && r.name == "openat",
    );
}

#[test]
fn a_set_of_values_keeps_each() {
    let dir = tempfile::tempdir().unwrap();
    let lines = lake(dir.path());
    check(
        dir.path(),
        &lines,
        r#"tracee.processName in {"curl", "ls"}"#,
        |r| r.comm != "bash",
    );
    check(
        dir.path(),
        &lines,
        r#"tracee.eventName == "close" or tracee.eventName == "openat""#,
        |r| r.name == "close" || r.name == "openat",
    );
    // More values than are compared one by one.
    check(
        dir.path(),
        &lines,
        r#"tracee.eventName in {"a", "b", "c", "close", "d", "e", "f", "g", "h", "i", "openat"}"#,
        |r| r.name == "close" || r.name == "openat",
    );
}

#[test]
fn an_absent_value_meets_no_constraint() {
    let dir = tempfile::tempdir().unwrap();
    let lines = lake(dir.path());
    // The statistics (c0 to c2, some nulls) admit c1; no row holds it, and the rows without a
    // container (null) do not either.
    let n = check(dir.path(), &lines, r#"tracee.container.id == "c1""#, |_| {
        false
    });
    assert_eq!(n, 0);
    check(dir.path(), &lines, r#"tracee.container.id == "c2""#, |r| {
        r.container == "c2"
    });
    check(
        dir.path(),
        &lines,
        r#"tracee.container.id in {"c0", "c2"}"#,
        |r| !r.container.is_empty(),
    );
}

#[test]
fn without_constraints_every_row_is_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let lines = lake(dir.path());
    for filter in [
        "",
        r#"tracee.processName contains "cur""#,
        r#"not tracee.eventName == "close""#,
        r#"tracee.eventName == "close" or tracee.processName == "curl""#,
    ] {
        check(dir.path(), &lines, filter, |_| true);
    }
}
