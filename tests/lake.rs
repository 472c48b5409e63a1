//! The Parquet lake (docs/fleet.md): `-w lake:DIR` and `-r LAKE` give back the events' bytes and
//! `osprey read`'s output, and DuckDB (PyPI `duckdb`, in the venv scripts/setup.sh makes)
//! counts what `osprey read -Y` counts.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{fixture, osprey, python, stdout, ACTION, DOCS};

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
