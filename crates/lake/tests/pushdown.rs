//! Reading a lake with a display filter's constraints: what is skipped, and that nothing a
//! filter could match is.

mod common;

use std::fs;
use std::io::Read;
use std::path::Path;

use common::{event, query, read, write, Ev, SECOND, T7};
use osprey_lake::{LakeReader, RollPolicy};

/// 100 events one second apart, in one file of ten row groups of ten rows; process IDs rise
/// with them.
fn one_file_of_ten_row_groups(root: &Path) -> Vec<String> {
    let lines: Vec<Vec<u8>> = (0..100)
        .map(|i| {
            event(&Ev {
                ts: T7 + i * SECOND,
                host: "h",
                pid: 1000 + i as i64,
                comm: "bash",
                name: "openat",
                container: "",
            })
        })
        .collect();
    let policy = RollPolicy {
        row_group_rows: 10,
        ..RollPolicy::default()
    };
    write(root, &lines, policy);
    lines
        .into_iter()
        .map(|l| String::from_utf8(l).unwrap())
        .collect()
}

#[test]
fn row_groups_outside_the_constraints_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let lines = one_file_of_ten_row_groups(dir.path());
    // (filter, the rows of the row groups read, the rows whose columns meet the constraints)
    let cases = [
        // Events 25 to 44: row groups 2, 3 and 4.
        (
            "frame.time_epoch >= 1796540425 and frame.time_epoch < 1796540445",
            20..50,
            25..45,
        ),
        ("tracee.processId in {1025..1044}", 20..50, 25..45),
        // Row group 9 alone, by the time field Tracee names.
        (
            r#"tracee.timestamp >= "2026-12-06 07:01:35""#,
            90..100,
            95..100,
        ),
        // Both must hold: row group 3 alone.
        (
            "frame.time_epoch >= 1796540425 and tracee.hostProcessId >= 1030 and tracee.hostProcessId < 1040",
            30..40,
            30..40,
        ),
        // Nothing can match.
        ("tracee.processId > 5000", 0..0, 0..0),
        (r#"tracee.eventName == "execve""#, 0..0, 0..0),
        // Statistics of only nulls: no event has a container.
        (r#"tracee.container.id == "c1""#, 0..0, 0..0),
    ];
    for (filter, group_rows, rows) in cases {
        let (read, scan) = read(dir.path(), filter);
        // Of the row groups read, only the rows whose column values meet the constraints
        // have their events decoded.
        assert_eq!(read, lines[rows.clone()].to_vec(), "{filter}");
        let groups = (group_rows.len() / 10) as u64;
        assert_eq!(
            (scan.row_groups_read, scan.row_groups_skipped),
            (groups, 10 - groups),
            "{filter}: {scan}"
        );
        assert_eq!(scan.rows_read, rows.len() as u64, "{filter}: {scan}");
        assert_eq!(
            scan.rows_skipped,
            (group_rows.len() - rows.len()) as u64,
            "{filter}: {scan}"
        );
        assert_eq!(
            (scan.files_read, scan.files_skipped),
            if groups == 0 { (0, 1) } else { (1, 0) },
            "{filter}: {scan}"
        );
    }
}

#[test]
fn what_the_filter_cannot_bound_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let lines = one_file_of_ten_row_groups(dir.path());
    for filter in [
        "",
        "not frame.time_epoch < 1796540425",
        "tracee.processId != 1000",
        r#"tracee.hostName contains "h""#,
        "frame.time_epoch >= 1796540425 or tracee.eventName contains \"o\"",
        "tracee.processId < 1010 or tracee.threadId > 1090",
    ] {
        let (read, scan) = read(dir.path(), filter);
        assert_eq!(read, lines, "{filter}");
        assert_eq!(scan.row_groups_skipped, 0, "{filter}: {scan}");
        assert_eq!(scan.rows_read, 100, "{filter}: {scan}");
        assert_eq!(scan.rows_skipped, 0, "{filter}: {scan}");
    }
}

#[test]
fn partitions_outside_the_constraints_are_never_opened() {
    // Two hours, two hosts.
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<Vec<u8>> = (0..40)
        .map(|i| {
            let host = if i % 2 == 0 { "a/b" } else { "c" };
            event(&Ev {
                ts: T7 + i * 180 * SECOND,
                host,
                pid: 1,
                comm: "bash",
                name: "openat",
                container: "",
            })
        })
        .collect();
    write(dir.path(), &lines, RollPolicy::default());
    // Garbage in every partition of host `c` and of hour 08: a read that opened one of them
    // would report it (every file must hold the lake's columns).
    for part in [
        "dt=2026-12-06/hour=07/host=c",
        "dt=2026-12-06/hour=08/host=a%2Fb",
    ] {
        fs::write(dir.path().join(part).join("part-x.parquet"), b"not parquet").unwrap();
    }
    let reader = |filter: &str| {
        let reports = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = reports.clone();
        let mut reader = LakeReader::open_query(dir.path(), query(filter))
            .unwrap()
            .on_damage(move |m| seen.lock().unwrap().push(m));
        let scan = reader.scan();
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        let reports = reports.lock().unwrap().clone();
        let scan = *scan.lock().unwrap();
        let n = out.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
        (n, scan, reports)
    };
    let (n, scan, reports) =
        reader(r#"tracee.hostName == "a/b" and frame.time < "2026-12-06 08:00:00""#);
    assert!(reports.is_empty(), "{reports:?}");
    assert_eq!(n, 10);
    assert_eq!(
        (
            scan.hours_read,
            scan.hours_skipped,
            scan.hosts_read,
            scan.hosts_skipped
        ),
        (1, 1, 1, 1),
        "{scan}"
    );
    assert_eq!((scan.files_read, scan.files_skipped), (1, 0), "{scan}");
    // The same garbage in a partition the filter keeps is read, and reported.
    let (n, _, reports) = reader(r#"tracee.hostName == "c""#);
    assert_eq!(n, 20);
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].contains("host=c/part-x.parquet"), "{reports:?}");
    // And without constraints both are.
    let (n, _, reports) = reader("");
    assert_eq!((n, reports.len()), (40, 2), "{reports:?}");
}
