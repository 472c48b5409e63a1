//! The Parquet lake (docs/fleet.md): `-w lake:DIR` and `-r LAKE` give back the events' bytes and
//! `osprey read`'s output, and DuckDB (PyPI `duckdb`, in the venv scripts/setup.sh makes)
//! counts what `osprey read -Y` counts.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{fixture, osprey, python, stderr, stdout, ACTION, DOCS};

/// The event lines of the fixtures, in one list sorted by timestamp (stable): the order in
/// which a lake gives them back.
fn sorted_events(rels: &[&str]) -> Vec<u8> {
    let mut lines: Vec<(u64, Vec<u8>)> = Vec::new();
    for rel in rels {
        for line in std::fs::read(fixture(rel)).unwrap().split(|&b| b == b'\n') {
            if line.is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            lines.push((v["timestamp"].as_u64().unwrap(), line.to_vec()));
        }
    }
    lines.sort_by_key(|(ts, _)| *ts);
    lines
        .into_iter()
        .flat_map(|(_, l)| [l, b"\n".to_vec()])
        .flatten()
        .collect()
}

fn read_ok(args: &[&str]) -> String {
    let out = osprey(args);
    assert!(out.status.success(), "osprey {args:?}: {out:?}");
    stdout(&out)
}

/// Writes the fixtures' events, sorted, to `dir/sorted.json` and through `osprey read -w
/// lake:` to `dir/lake`.
fn sorted_json_and_lake(dir: &Path) -> (PathBuf, PathBuf) {
    let json = dir.join("sorted.json");
    std::fs::write(&json, sorted_events(&[DOCS, ACTION])).unwrap();
    let lake = dir.join("lake");
    let target = format!("lake:{}", lake.display());
    read_ok(&["read", "-q", "-r", json.to_str().unwrap(), "-w", &target]);
    (json, lake)
}

#[test]
fn json_to_lake_to_json_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let (json, lake) = sorted_json_and_lake(dir.path());
    let back = dir.path().join("back.json");
    read_ok(&[
        "read",
        "-q",
        "-r",
        lake.to_str().unwrap(),
        "-w",
        back.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&json).unwrap());
}

#[test]
fn reading_a_lake_prints_what_reading_the_json_prints() {
    let dir = tempfile::tempdir().unwrap();
    let (json, lake) = sorted_json_and_lake(dir.path());
    let (json, lake) = (json.to_str().unwrap(), lake.to_str().unwrap());
    let runs: [&[&str]; 4] = [
        &[],
        &[
            "-Y",
            "tracee.eventName == \"security_file_open\" || tracee.hostName == \"minikube\"",
        ],
        &[
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "tracee.processName",
            "-e",
            "frame.time_epoch",
        ],
        &["-z", "tracee,event_counts", "-z", "tracee,process_tree"],
    ];
    for extra in runs {
        let from_json = read_ok(&[&["read", "-q", "-r", json], extra].concat());
        let from_lake = read_ok(&[&["read", "-q", "-r", lake], extra].concat());
        assert!(!from_json.is_empty(), "{extra:?}");
        assert_eq!(from_lake, from_json, "{extra:?}");
    }
}

#[test]
fn a_lake_is_read_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (json, lake) = sorted_json_and_lake(dir.path());
    let out = osprey(&[
        "read",
        "-q",
        "-r",
        lake.to_str().unwrap(),
        "-r",
        json.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("only -r"),
        "{out:?}"
    );
}

/// The counts an engine's script (tests/lake/*_counts.py) gives for each SQL condition.
fn engine_counts(script: &str, lake: &Path, conditions: &[&str]) -> Vec<u64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/lake")
        .join(script);
    let out = Command::new(python())
        .arg(&script)
        .arg(lake)
        .args(conditions)
        .output()
        .expect("the test venv's python (scripts/setup.sh)");
    assert!(
        out.status.success(),
        "{}: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out).lines().map(|l| l.parse().unwrap()).collect()
}

#[test]
fn duckdb_and_clickhouse_count_what_osprey_read_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (json, lake) = sorted_json_and_lake(dir.path());
    // (display filter, the same condition in SQL over the documented schema; ClickHouse's
    // where its dialect differs)
    let cases = [
        ("", "true"),
        (
            "tracee.eventName == \"security_file_open\"",
            "event_name = 'security_file_open'",
        ),
        (
            "tracee.eventName == \"sched_process_exec\"",
            "event_name = 'sched_process_exec'",
        ),
        ("tracee.hostName == \"minikube\"", "host = 'minikube'"),
        (
            "tracee.hostName == \"ubuntu-kinetic\"",
            "host_name = 'ubuntu-kinetic'",
        ),
        ("tracee.processName == \"bash\"", "process_name = 'bash'"),
        (
            "frame.time >= \"2023-01-11T16:50:00Z\" && frame.time < \"2023-10-02T18:00:00Z\"",
            "\"timestamp\" >= TIMESTAMPTZ '2023-01-11 16:50:00+00' \
             AND \"timestamp\" < TIMESTAMPTZ '2023-10-02 18:00:00+00'",
        ),
        (
            "tracee.processName == \"bash\" && tracee.eventName == \"openat\"",
            "process_name = 'bash' AND event_name = 'openat'",
        ),
    ];
    let clickhouse = |sql: &str| match sql {
        s if s.contains("TIMESTAMPTZ") => {
            "\"timestamp\" >= toDateTime64('2023-01-11 16:50:00', 9, 'UTC') \
             AND \"timestamp\" < toDateTime64('2023-10-02 18:00:00', 9, 'UTC')"
                .to_string()
        }
        s => s.to_string(),
    };
    let sql: Vec<&str> = cases.iter().map(|(_, sql)| *sql).collect();
    let ch_sql: Vec<String> = sql.iter().map(|s| clickhouse(s)).collect();
    let from_duckdb = engine_counts("duckdb_counts.py", &lake, &sql);
    let from_chdb = engine_counts(
        "chdb_counts.py",
        &lake,
        &ch_sql.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(
        from_duckdb, from_chdb,
        "DuckDB and ClickHouse (chdb) disagree"
    );
    let mut nonzero = 0;
    for ((filter, sql), duck) in cases.iter().zip(from_duckdb) {
        for input in [&json, &lake] {
            let printed = read_ok(&[
                "read",
                "-q",
                "-r",
                input.to_str().unwrap(),
                "-Y",
                filter,
                "-T",
                "fields",
                "-e",
                "frame.number",
            ]);
            let count = printed.lines().count() as u64;
            assert_eq!(count, duck, "{filter} / {sql} ({})", input.display());
        }
        nonzero += u64::from(duck > 0);
    }
    assert_eq!(nonzero, cases.len() as u64, "every case selects something");
}

#[test]
fn a_damaged_lake_file_is_reported_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let (_, lake) = sorted_json_and_lake(dir.path());
    let all = read_ok(&["read", "-q", "-r", lake.to_str().unwrap()])
        .lines()
        .count();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut dirs = vec![lake.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    let victim = &files[files.len() / 2];
    let data = std::fs::read(victim).unwrap();
    std::fs::write(victim, &data[..data.len() / 2]).unwrap();
    let out = osprey(&["read", "-r", lake.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}: Parquet error", victim.display())),
        "{err}"
    );
    let read = stdout(&out).lines().count();
    assert!(read > 0 && read < all, "{read} of {all}");
}

#[test]
fn the_sql_of_docs_fleet_md_answers_alike_in_duckdb_and_clickhouse() {
    let dir = tempfile::tempdir().unwrap();
    let (json, lake) = sorted_json_and_lake(dir.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lake/doc_queries.py");
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/fleet.md");
    let out = Command::new(python())
        .arg(script)
        .arg(doc)
        .arg(&lake)
        .output()
        .expect("the test venv's python (scripts/setup.sh)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sections = answers.as_object().unwrap();
    assert_eq!(sections.len(), 3, "{answers}");
    for (title, both) in sections {
        let duck = &both["duckdb"];
        assert!(
            duck.as_array().is_some_and(|r| !r.is_empty()),
            "{title}: no rows ({answers})"
        );
        assert_eq!(duck, &both["clickhouse"], "{title}");
    }
    // Execs per host: what osprey read counts.
    let hosts = read_ok(&[
        "read",
        "-q",
        "-r",
        json.to_str().unwrap(),
        "-Y",
        "tracee.eventName == \"sched_process_exec\"",
        "-T",
        "fields",
        "-e",
        "tracee.hostName",
    ]);
    let mut expected: Vec<(String, u64)> = Vec::new();
    for h in hosts.lines() {
        match expected.iter_mut().find(|(n, _)| n == h) {
            Some((_, c)) => *c += 1,
            None => expected.push((h.to_string(), 1)),
        }
    }
    expected.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let got: Vec<(String, u64)> = answers["Execs per host"]["duckdb"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap()))
        .collect();
    assert_eq!(got, expected);
}

/// 2026-12-04T00:00:00Z, in seconds.
const DEC_4: u64 = 1_796_342_400;

/// 720 events five minutes apart from 2026-12-04 00:00 UTC (60 hours), in turn on hosts
/// `node-1` (no container), `node-2` (container `c1`) and `web/3` (containers `c2`, `c3`);
/// every fourth event of 2026-12-05 is an `execve`, the others `openat` or `read`. Each
/// hour has four events of each host.
fn fleet_events() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..720u64 {
        let secs = DEC_4 + i * 300 + i % 7;
        let host = ["node-1", "node-2", "web/3"][(i % 3) as usize];
        let (container, name) = match i % 3 {
            0 => ("", ""),
            1 => ("c1", "app"),
            _ if i % 2 == 0 => ("c2", "db"),
            _ => ("c3", "cache"),
        };
        let on_dec_5 = (DEC_4 + 86_400..DEC_4 + 2 * 86_400).contains(&secs);
        let event = match (on_dec_5 && i % 4 == 0, i % 2) {
            (true, _) => "execve",
            (false, 0) => "openat",
            (false, _) => "read",
        };
        out.extend(format!(
            r#"{{"timestamp":{secs}{:09},"threadStartTime":1,"processorId":0,"processId":{i},"cgroupId":1,"threadId":{i},"parentProcessId":1,"hostProcessId":{i},"hostThreadId":{i},"hostParentProcessId":1,"userId":0,"mountNamespace":1,"pidNamespace":1,"processName":"bash","hostName":"{host}","containerId":"{container}","containerImage":"","containerName":"{name}","podName":"","podNamespace":"","podUID":"","eventId":"257","eventName":"{event}","argsNum":0,"returnValue":0,"stackAddresses":null,"syscall":"openat","contextFlags":{{"containerStarted":false,"isCompat":false}},"args":[]}}"#,
            i * 1000
        ).bytes());
        out.push(b'\n');
    }
    out
}

/// The fleet's events in `dir/fleet.json` and, through `osprey read -w lake:`, `dir/lake`.
fn fleet_json_and_lake(dir: &Path) -> (String, String) {
    let json = dir.join("fleet.json");
    std::fs::write(&json, fleet_events()).unwrap();
    let lake = dir.join("lake");
    let target = format!("lake:{}", lake.display());
    read_ok(&["read", "-q", "-r", json.to_str().unwrap(), "-w", &target]);
    (
        json.to_str().unwrap().to_string(),
        lake.to_str().unwrap().to_string(),
    )
}

/// What `--scan-stats` printed: hour partitions read and skipped, host partitions read and
/// skipped, files read and skipped, row groups read and skipped, rows read and skipped by
/// their column values.
fn scan_stats(stderr: &[u8]) -> [u64; 10] {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("osprey: lake scan: "))
        .unwrap_or_else(|| panic!("no scan statistics in {text}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.parse().unwrap())
        .collect();
    numbers
        .try_into()
        .unwrap_or_else(|n| panic!("{line}: {n:?}"))
}

/// `osprey read` of the lake and of the JSON with the same arguments: the same output, and
/// the lake read's scan statistics.
fn lake_reads_as_json(json: &str, lake: &str, args: &[&str]) -> (String, [u64; 10]) {
    let from_json = read_ok(&[&["read", "-q", "-r", json], args].concat());
    let out = osprey(&[&["read", "-q", "--scan-stats", "-r", lake], args].concat());
    assert!(out.status.success(), "{args:?}: {out:?}");
    assert_eq!(stdout(&out), from_json, "{args:?}");
    (from_json, scan_stats(&out.stderr))
}

#[test]
fn a_filter_on_time_host_container_or_event_name_reads_only_what_may_match() {
    let dir = tempfile::tempdir().unwrap();
    let (json, lake) = fleet_json_and_lake(dir.path());
    // (filter, [hours read, skipped, hosts read, skipped, files read, skipped], rows read,
    // rows skipped by their column values). The filters made only of constraints read exactly
    // the events they match.
    type Scan = ([u64; 6], u64, u64);
    let everything: Scan = ([60, 0, 180, 0, 180, 0], 720, 0);
    let cases: [(&str, Scan); 11] = [
        (
            r#"tracee.hostName == "node-2" and frame.time >= "2026-12-05 10:00:00" and frame.time < "2026-12-05 11:00:00""#,
            ([1, 59, 1, 2, 1, 0], 4, 0),
        ),
        // 05:30 to 08:00 on Dec 4: hours 05, 06 and 07, and in hour 05 the events from 05:30.
        (
            "frame.time_epoch >= 1796362200 and frame.time_epoch < 1796371200",
            ([3, 57, 9, 0, 9, 0], 30, 6),
        ),
        // node-1's files have no container, web/3's only c2 and c3.
        (
            r#"tracee.container.id == "c1""#,
            ([60, 0, 180, 0, 60, 120], 240, 0),
        ),
        // Only Dec 5's files hold an execve, one event in four.
        (
            r#"tracee.eventName == "execve""#,
            ([60, 0, 180, 0, 72, 108], 72, 216),
        ),
        // Fleet-wide, two columns: web/3's files of Dec 5 mix both event names and both
        // container names.
        (
            r#"tracee.eventName == "execve" and tracee.container.name == "db""#,
            ([60, 0, 180, 0, 24, 156], 24, 72),
        ),
        (
            r#"tracee.hostName == "node-1" or tracee.hostName == "web/3""#,
            ([60, 0, 120, 60, 120, 0], 480, 0),
        ),
        // Nothing matches: the statistics rule out every file here, the column values every
        // row there (an execve is never in c3); no output, as from the JSON, and no error.
        (
            r#"tracee.eventName == "bind""#,
            ([60, 0, 180, 0, 0, 180], 0, 0),
        ),
        (
            r#"tracee.eventName == "execve" and tracee.container.id == "c3""#,
            ([60, 0, 180, 0, 24, 156], 0, 96),
        ),
        (r#"not tracee.hostName == "node-1""#, everything),
        (r#"tracee.hostName contains "node""#, everything),
        ("", everything),
    ];
    for (filter, (want, rows, skipped)) in cases {
        let args: Vec<&str> = if filter.is_empty() {
            vec![]
        } else {
            vec!["-Y", filter]
        };
        for view in [
            &["-T", "ndjson"][..],
            &[
                "-T",
                "fields",
                "-e",
                "tracee.hostName",
                "-e",
                "frame.time_epoch",
                "-e",
                "tracee.container.id",
                "-e",
                "tracee.eventName",
            ],
        ] {
            let (out, scan) = lake_reads_as_json(&json, &lake, &[&args[..], view].concat());
            assert!(
                filter.starts_with("tracee.container") || rows == 0 || !out.is_empty(),
                "{filter}"
            );
            assert_eq!(scan[..6], want, "{filter} {view:?}: {scan:?}");
            assert_eq!(scan[8..], [rows, skipped], "{filter} {view:?}: {scan:?}");
            if view[1] == "ndjson" && !filter.contains("not ") && !filter.contains("contains") {
                assert_eq!(out.lines().count() as u64, rows, "{filter}");
            }
        }
    }
}

#[test]
fn views_that_count_every_event_read_the_whole_lake() {
    let dir = tempfile::tempdir().unwrap();
    let (json, lake) = fleet_json_and_lake(dir.path());
    let host = r#"tracee.hostName == "node-2" and frame.time < "2026-12-04 03:00:00""#;
    for args in [
        // The summary's No. and Time columns number and time every event read.
        &["-Y", host][..],
        &["-Y", host, "-T", "fields", "-e", "frame.number"],
        &["-Y", host, "-T", "fields", "-e", "frame.time_relative"],
        &[
            "-Y",
            &format!("{host} and frame.number > 2"),
            "-T",
            "ndjson",
        ],
        // The statistics see the events that fail the filter too.
        &["-Y", host, "-z", "tracee,event_counts"],
        &[
            "-Y",
            host,
            "-z",
            "tracee,event_counts",
            "-z",
            "tracee,process_tree",
        ],
    ] {
        let (out, scan) = lake_reads_as_json(&json, &lake, args);
        assert!(!out.is_empty(), "{args:?}");
        assert_eq!(scan[..6], [60, 0, 180, 0, 180, 0], "{args:?}: {scan:?}");
        // Without -q, the user is told why and what would prune.
        let loud = osprey(&[&["read", "-r", &lake], args].concat());
        let said = String::from_utf8_lossy(&loud.stderr);
        assert!(
            said.contains("the lake is read whole") && said.contains("read filter (-R)"),
            "{args:?}: {said}"
        );
    }
    // A filter the lake cannot use says nothing.
    let quiet = osprey(&[
        "read",
        "-r",
        &lake,
        "-Y",
        "tracee.processName contains \"x\"",
    ]);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("read whole"));
}

#[test]
fn a_read_filter_prunes_the_lake_whatever_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let (json, lake) = fleet_json_and_lake(dir.path());
    // Hours 00-02 of Dec 4 on node-2: four events an hour, half of them `openat`.
    let host = r#"tracee.hostName == "node-2" and frame.time < "2026-12-04 03:00:00""#;
    let openat = ["-Y", r#"tracee.eventName == "openat""#];
    let mut numbers = Vec::new();
    for (args, rows, skipped) in [
        // The views that read the lake whole with -Y: numbers, times, statistics.
        (&["-R", host][..], 12, 0),
        (
            &[
                "-R",
                host,
                "-T",
                "fields",
                "-e",
                "frame.number",
                "-e",
                "frame.time_relative",
            ],
            12,
            0,
        ),
        (
            &[
                "-R",
                host,
                "-z",
                "tracee,event_counts",
                "-z",
                "tracee,process_tree",
            ],
            12,
            0,
        ),
        // -Y's constraints pushed down beside the read filter's, where it may prune.
        (&[&["-R", host, "-T", "ndjson"], &openat[..]].concat(), 6, 6),
        (&[&["-R", host], &openat[..]].concat(), 12, 0),
    ] {
        let (out, scan) = lake_reads_as_json(&json, &lake, args);
        assert!(!out.is_empty(), "{args:?}");
        assert_eq!(scan[..6], [3, 57, 3, 6, 3, 0], "{args:?}: {scan:?}");
        assert_eq!(scan[8..], [rows, skipped], "{args:?}: {scan:?}");
        let loud = osprey(&[&["read", "-r", &lake], args].concat());
        assert!(!stderr(&loud).contains("read whole"), "{}", stderr(&loud));
        if args.contains(&"frame.number") {
            numbers = out.lines().map(str::to_owned).collect();
        }
    }
    let first: Vec<&str> = numbers
        .iter()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    let want: Vec<String> = (1..=12).map(|n| n.to_string()).collect();
    assert_eq!(first, want);
    // A read filter on frame numbers needs every event read, and says so.
    let positional = format!("{host} and frame.number > 2");
    let (_, scan) = lake_reads_as_json(&json, &lake, &["-R", &positional, "-T", "ndjson"]);
    assert_eq!(scan[..6], [60, 0, 180, 0, 180, 0], "{scan:?}");
    let loud = osprey(&["read", "-r", &lake, "-R", &positional]);
    assert!(stderr(&loud).contains("read whole"), "{}", stderr(&loud));
}

#[test]
fn a_damaged_file_in_a_pruned_partition_is_never_opened() {
    let dir = tempfile::tempdir().unwrap();
    let (json, lake) = fleet_json_and_lake(dir.path());
    let partition = Path::new(&lake).join("dt=2026-12-05/hour=10/host=web%2F3");
    std::fs::write(
        partition.join("part-x.parquet"),
        b"not a parquet file at all",
    )
    .unwrap();
    let node_2 = r#"tracee.hostName == "node-2""#;
    let (out, _) = lake_reads_as_json(&json, &lake, &["-Y", node_2, "-T", "ndjson"]);
    assert_eq!(out.lines().count(), 240);
    // Other hours of web/3: the hour is left out before the host is looked at.
    let (_, scan) = lake_reads_as_json(
        &json,
        &lake,
        &[
            "-Y",
            r#"tracee.hostName == "web/3" and frame.time < "2026-12-05 10:00:00""#,
            "-T",
            "ndjson",
        ],
    );
    assert_eq!(scan[4], 34, "{scan:?}");
    // A filter that keeps the partition reads the file and reports it.
    let out = osprey(&[
        "read",
        "-q",
        "-r",
        &lake,
        "-Y",
        r#"tracee.hostName == "web/3""#,
        "-T",
        "ndjson",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("host=web%2F3/part-x.parquet"), "{err}");
    assert_eq!(stdout(&out).lines().count(), 240);
}
