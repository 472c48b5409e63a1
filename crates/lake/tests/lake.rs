//! The lake written and read back: bytes, layout, temporary files.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use osprey_lake::{LakeReader, LakeSink, LakeWriter, RollPolicy};
use osprey_print::FrameSink;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/tracee")
        .join(name)
}

/// The fixture's event lines, sorted by timestamp (stable), as the lake gives them back.
fn sorted_lines(name: &str) -> Vec<Vec<u8>> {
    let text = fs::read(fixture(name)).unwrap();
    let mut lines: Vec<Vec<u8>> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| l.to_vec())
        .collect();
    lines.sort_by_key(|l| osprey_event::parse_event(l).unwrap().timestamp);
    lines
}

fn write_lake(root: &Path, lines: &[Vec<u8>], policy: RollPolicy) -> Vec<PathBuf> {
    let mut writer = LakeWriter::create(root, policy).unwrap();
    for line in lines {
        let event = osprey_event::parse_event(line).unwrap();
        writer.write(line, &event).unwrap();
    }
    writer.finish().unwrap();
    writer.completed().to_vec()
}

fn read_lake(root: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    LakeReader::open(root)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn round_trip_is_byte_identical() {
    for name in ["tracee-docs-v0.23.jsonl", "tracee-action-trace.jsonl"] {
        let lines = sorted_lines(name);
        let dir = tempfile::tempdir().unwrap();
        write_lake(dir.path(), &lines, RollPolicy::default());
        let want: Vec<u8> = lines
            .iter()
            .flat_map(|l| [&l[..], b"\n"].concat())
            .collect();
        assert_eq!(read_lake(dir.path()), want, "{name}");
    }
}

#[test]
fn files_roll_when_another_partition_is_needed_or_by_size() {
    let lines = sorted_lines("tracee-docs-v0.23.jsonl");
    let want: Vec<u8> = lines
        .iter()
        .flat_map(|l| [&l[..], b"\n"].concat())
        .collect();
    // One open partition at a time: a file per run of one partition's events.
    let one_open = RollPolicy {
        max_open_partitions: 1,
        ..RollPolicy::default()
    };
    // Any size is too large: a file per row group of 4 rows.
    let tiny = RollPolicy {
        max_file_bytes: 1,
        row_group_rows: 4,
        ..RollPolicy::default()
    };
    for policy in [one_open, tiny] {
        let dir = tempfile::tempdir().unwrap();
        let files = write_lake(dir.path(), &lines, policy.clone());
        assert!(files.len() > 10, "{policy:?}: {} files", files.len());
        assert_eq!(read_lake(dir.path()), want, "{policy:?}");
    }
}

#[test]
fn many_hosts_in_turn_make_one_file_each_and_memory_ends_row_groups_early() {
    // A receiver's stream: 300 hosts' events in turn, all in the fixture's hour or two.
    let base = sorted_lines("tracee-docs-v0.23.jsonl");
    let hosts = 300;
    let lines: Vec<Vec<u8>> = (0..hosts * 20)
        .map(|i| with_host(&base[i % base.len()], &format!("node-{:03}", i % hosts)))
        .collect();
    let lines: Vec<Vec<u8>> = {
        let mut l = lines;
        l.sort_by_key(|l| osprey_event::parse_event(l).unwrap().timestamp);
        l
    };
    // Copies share timestamps, which the lake orders among themselves by file: compared as
    // sets of lines.
    let sorted = |text: Vec<u8>| {
        let mut l: Vec<Vec<u8>> = text.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
        l.retain(|l| !l.is_empty());
        l.sort();
        l
    };
    let want = sorted(lines.join(&b'\n'));
    let partitions = {
        let mut p: Vec<(String, i64)> = lines
            .iter()
            .map(|l| {
                let e = osprey_event::parse_event(l).unwrap();
                (
                    e.host_name.to_string(),
                    (e.timestamp / 3_600_000_000_000) as i64,
                )
            })
            .collect();
        p.sort();
        p.dedup();
        p.len()
    };
    // Default policy: one file per partition, however the hosts interleave.
    let dir = tempfile::tempdir().unwrap();
    let files = write_lake(dir.path(), &lines, RollPolicy::default());
    assert_eq!(files.len(), partitions);
    assert!(sorted(read_lake(dir.path())) == want, "every event once");
    // The same through `-w lake:`'s sink, whose writer threads each own some of the hosts: a
    // partition's file is never split between them.
    let dir = tempfile::tempdir().unwrap();
    let mut sink = LakeSink::create(dir.path()).unwrap();
    for line in &lines {
        sink.write_json(line).unwrap();
    }
    sink.write_json(b"{\"not\": \"an event\"}").unwrap();
    sink.finish().unwrap();
    assert_eq!(sink.left_out(), 1);
    let files = all_files(dir.path());
    assert_eq!(files.len(), partitions, "{files:?}");
    assert!(sorted(read_lake(dir.path())) == want, "every event once");
    // A budget smaller than what the open files hold: row groups end early, the files stay.
    let small = RollPolicy {
        memory_budget: 64 << 10,
        ..RollPolicy::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let files = write_lake(dir.path(), &lines, small);
    assert_eq!(files.len(), partitions);
    let groups: usize = files
        .iter()
        .map(|f| {
            use parquet::file::reader::FileReader;
            let file = fs::File::open(f).unwrap();
            parquet::file::reader::SerializedFileReader::new(file)
                .unwrap()
                .metadata()
                .num_row_groups()
        })
        .sum();
    assert!(
        groups > partitions,
        "{groups} row groups in {partitions} files"
    );
    assert!(sorted(read_lake(dir.path())) == want, "every event once");
}

#[test]
fn layout_is_dt_hour_host() {
    let lines = sorted_lines("tracee-docs-v0.23.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let files = write_lake(dir.path(), &lines, RollPolicy::default());
    for file in &files {
        let rel = file.strip_prefix(dir.path()).unwrap();
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        assert_eq!(parts.len(), 4, "{rel:?}");
        assert!(
            parts[0].starts_with("dt=") && parts[0].len() == 13,
            "{rel:?}"
        );
        assert!(
            parts[1].starts_with("hour=") && parts[1].len() == 7,
            "{rel:?}"
        );
        assert!(parts[2].starts_with("host="), "{rel:?}");
        assert!(parts[3].starts_with("part-") && parts[3].ends_with(".parquet"));
    }
    // Every host has a partition.
    let hosts: std::collections::BTreeSet<String> = files
        .iter()
        .map(|f| {
            let host = f.parent().unwrap().file_name().unwrap().to_string_lossy();
            host.trim_start_matches("host=").to_string()
        })
        .collect();
    assert!(
        hosts.contains("minikube") && hosts.contains("95e88e281c4b"),
        "{hosts:?}"
    );
    // The earliest event, 1657321167.356729582 s, is 2022-07-08T22:59:27Z.
    assert!(dir.path().join("dt=2022-07-08/hour=22").is_dir());
}

/// An event line of the fixture with its host name replaced.
fn with_host(line: &[u8], host: &str) -> Vec<u8> {
    let text = String::from_utf8(line.to_vec()).unwrap();
    let old = osprey_event::parse_event(line)
        .unwrap()
        .host_name
        .to_string();
    let quoted = serde_json_string(host);
    text.replacen(
        &format!("\"hostName\":\"{old}\""),
        &format!("\"hostName\":{quoted}"),
        1,
    )
    .into_bytes()
}

fn serde_json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[test]
fn hostile_host_names_stay_inside_the_lake() {
    let base = sorted_lines("tracee-action-trace.jsonl");
    let hosts = [
        "..",
        ".",
        "",
        "../../escape",
        "a/b/c",
        "host=x/dt=y",
        "nul\0",
        "%2E%2E",
        // Longer than a directory name may be.
        &"h".repeat(300),
        &"h".repeat(301),
    ];
    let lines: Vec<Vec<u8>> = hosts.iter().map(|h| with_host(&base[0], h)).collect();
    for (line, host) in lines.iter().zip(hosts) {
        assert_eq!(osprey_event::parse_event(line).unwrap().host_name, host);
    }
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("lake");
    let files = write_lake(&root, &lines, RollPolicy::default());
    assert_eq!(files.len(), hosts.len(), "one partition per distinct host");
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap();
        assert_eq!(rel.components().count(), 4, "{rel:?}");
        assert_eq!(
            fs::canonicalize(file)
                .unwrap()
                .parent()
                .unwrap()
                .parent()
                .unwrap()
                .parent()
                .unwrap()
                .parent()
                .unwrap(),
            fs::canonicalize(&root).unwrap()
        );
    }
    // Nothing was created beside the lake.
    let beside: Vec<_> = fs::read_dir(outer.path()).unwrap().collect();
    assert_eq!(beside.len(), 1);
    // And every event reads back.
    let back = read_lake(&root);
    assert_eq!(
        back.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count(),
        hosts.len()
    );
}

/// Every file in `root`, relative, sorted.
fn all_files(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

#[test]
fn files_are_hidden_until_complete() {
    let lines = sorted_lines("tracee-action-trace.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let mut writer = LakeWriter::create(dir.path(), RollPolicy::default()).unwrap();
    for line in &lines {
        let event = osprey_event::parse_event(line).unwrap();
        writer.write(line, &event).unwrap();
    }
    // Open files exist, but only under hidden temporary names that the reader skips.
    let during = all_files(dir.path());
    assert!(!during.is_empty());
    for f in &during {
        let name = file_name(f);
        assert!(
            name.starts_with(".part-") && name.ends_with(".parquet.tmp"),
            "{f}"
        );
    }
    assert!(!osprey_lake::is_lake(dir.path()));
    writer.finish().unwrap();
    let after = all_files(dir.path());
    assert_eq!(after.len(), during.len());
    for f in &after {
        let name = file_name(f);
        assert!(
            name.starts_with("part-") && name.ends_with(".parquet"),
            "{f}"
        );
    }
    assert!(osprey_lake::is_lake(dir.path()));
}

#[test]
fn aged_files_are_completed_by_roll_aged() {
    let lines = sorted_lines("tracee-action-trace.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let policy = RollPolicy {
        max_file_age: Duration::ZERO,
        ..RollPolicy::default()
    };
    let mut writer = LakeWriter::create(dir.path(), policy).unwrap();
    let event = osprey_event::parse_event(&lines[0]).unwrap();
    writer.write(&lines[0], &event).unwrap();
    assert!(writer.completed().is_empty());
    writer.roll_aged().unwrap();
    assert_eq!(writer.completed().len(), 1);
    assert_eq!(read_lake(dir.path()), [&lines[0][..], b"\n"].concat());
}

#[test]
fn a_damaged_file_is_reported_and_skipped() {
    let lines = sorted_lines("tracee-docs-v0.23.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let files = write_lake(dir.path(), &lines, RollPolicy::default());
    let victim = files.iter().max().unwrap().clone();
    let data = fs::read(&victim).unwrap();
    let victim_rows = read_file_events(&data);
    let all = read_lake(dir.path());
    let want: Vec<u8> = all
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| !victim_rows.contains(&l.to_vec()))
        .flatten()
        .copied()
        .collect();
    // Cut anywhere (the footer is read first, so every cut is seen when the file is opened),
    // or a page's bytes overwritten.
    let mut garbled = data.clone();
    garbled[4..data.len() / 2].fill(0x5a);
    let damaged = [
        data[..0].to_vec(),
        data[..4].to_vec(),
        data[..data.len() / 2].to_vec(),
        data[..data.len() - 9].to_vec(),
        garbled,
    ];
    for bytes in damaged {
        fs::write(&victim, &bytes).unwrap();
        let reports = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = reports.clone();
        let mut out = Vec::new();
        LakeReader::open(dir.path())
            .unwrap()
            .on_damage(move |m| seen.lock().unwrap().push(m))
            .read_to_end(&mut out)
            .unwrap();
        let reports = reports.lock().unwrap();
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert!(
            reports[0].contains(&victim.display().to_string()),
            "{reports:?}"
        );
        // Every other file's events are all there; of the damaged one, at most what was
        // readable before the damage.
        let rest: Vec<u8> = out
            .split_inclusive(|&b| b == b'\n')
            .filter(|l| !victim_rows.contains(&l.to_vec()))
            .flatten()
            .copied()
            .collect();
        assert_eq!(rest, want);
    }
}

/// The event lines (with their line ends) of one lake file's bytes.
fn read_file_events(data: &[u8]) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("dt=2000-01-01/hour=00/host=h");
    fs::create_dir_all(&part).unwrap();
    fs::write(part.join("part-0.parquet"), data).unwrap();
    read_lake(dir.path())
        .split_inclusive(|&b| b == b'\n')
        .map(|l| l.to_vec())
        .collect()
}

/// The typed columns of a lake's only file, read back with the `parquet` crate.
fn only_batch(root: &Path) -> arrow_array::RecordBatch {
    let files: Vec<PathBuf> = all_files(root).iter().map(|f| root.join(f)).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = fs::File::open(&files[0]).unwrap();
    let mut reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    reader.next().unwrap().unwrap()
}

#[test]
fn typed_columns_hold_the_events_context() {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int64Type, TimestampNanosecondType};
    use arrow_array::Array;

    let text = fs::read(fixture("examples/finding_TRC-1022.v0.11-era.json")).unwrap();
    let line = text.trim_ascii_end();
    let event = osprey_event::parse_event(line).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_lake(dir.path(), &[line.to_vec()], RollPolicy::default());
    let batch = only_batch(dir.path());
    assert_eq!(batch.schema(), osprey_lake::lake_schema());
    let int = |name: &str| {
        batch
            .column_by_name(name)
            .unwrap()
            .as_primitive::<Int64Type>()
            .value(0)
    };
    let text = |name: &str| {
        let column = batch.column_by_name(name).unwrap().as_string::<i32>();
        (!column.is_null(0)).then(|| column.value(0).to_string())
    };
    let ts = batch.column_by_name("timestamp").unwrap();
    assert_eq!(
        ts.as_primitive::<TimestampNanosecondType>().value(0),
        event.timestamp as i64
    );
    assert_eq!(int("severity"), 2, "the finding's Severity property");
    assert_eq!(int("host_process_id"), event.host_process_id);
    assert_eq!(int("event_id"), event.event_id);
    assert_eq!(int("return_value"), event.return_value);
    assert_eq!(text("host_name").as_deref(), Some(&*event.host_name));
    assert_eq!(text("event_name").as_deref(), Some(&*event.event_name));
    assert_eq!(text("process_name").as_deref(), Some(&*event.process_name));
    assert_eq!(text("container_id").as_deref(), Some(&*event.container.id));
    assert_eq!(text("pod_name").as_deref(), Some("app-75ff449bcd-hfwnz"));
    let json = batch.column_by_name("event").unwrap().as_binary::<i32>();
    assert_eq!(json.value(0), line);

    // An ordinary event outside containers: no severity, null container and pod columns.
    let line = &sorted_lines("tracee-action-trace.jsonl")[0];
    let dir = tempfile::tempdir().unwrap();
    write_lake(
        dir.path(),
        std::slice::from_ref(line),
        RollPolicy::default(),
    );
    let batch = only_batch(dir.path());
    for name in [
        "severity",
        "container_id",
        "container_name",
        "pod_name",
        "pod_namespace",
    ] {
        assert!(batch.column_by_name(name).unwrap().is_null(0), "{name}");
    }
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_writer_threads_error_is_reported_and_leaves_nothing_half_written_visible() {
    let lines = sorted_lines("tracee-docs-v0.23.jsonl");
    let hour = {
        let e = osprey_event::parse_event(&lines[0]).unwrap();
        osprey_lake::partition_dir(e.timestamp, &e.host_name)
    };
    let dir = tempfile::tempdir().unwrap();
    // One host's partition cannot be made: a file stands where its directory must go.
    let blocked = hour.with_file_name("host=blocked");
    fs::create_dir_all(dir.path().join(blocked.parent().unwrap())).unwrap();
    fs::write(dir.path().join(&blocked), b"in the way").unwrap();
    let mut sink = LakeSink::create(dir.path()).unwrap();
    let mut result = Ok(());
    for (i, line) in lines.iter().cycle().take(5000).enumerate() {
        let host = ["blocked", "fine-1", "fine-2", "fine-3"][i % 4];
        result = result.and_then(|()| sink.write_json(&with_host(line, host)));
    }
    let result = result.and_then(|()| sink.finish());
    let err = result.expect_err("the blocked host's partition cannot be written");
    assert!(err.to_string().contains("exists"), "{err}");
    // Stopped by an error, the writers leave their files hidden, as one writer does: a lake
    // is never given a file that lacks events it was given before the error.
    drop(sink);
    let files = all_files(dir.path());
    assert!(files.iter().any(|f| f.ends_with(".tmp")), "{files:?}");
    for f in &files {
        assert!(f.ends_with(".tmp") || f.ends_with("host=blocked"), "{f}");
    }
}

/// A receiver's sink writes on a writer thread per CPU and journals what it is given: events of
/// several hosts and hours, committed chunk by chunk, then the receiver dies (dropped without
/// finishing: its files stay hidden). The next one writes the journal into the lake first, and
/// every committed event is there, once, byte for byte.
#[test]
fn a_journaled_sink_on_writer_threads_loses_nothing_committed() {
    let base = sorted_lines("tracee-docs-v0.23.jsonl");
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for host in 0..6 {
        lines.extend(base.iter().map(|l| with_host(l, &format!("node-{host}"))));
    }
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut sink, recovered) = LakeSink::create_journaled(dir.path()).unwrap();
        assert_eq!(recovered.journals, 0);
        for chunk in lines.chunks(50) {
            for line in chunk {
                sink.write_json(line).unwrap();
            }
            sink.commit().unwrap();
        }
    }
    assert!(
        all_files(dir.path())
            .iter()
            .all(|f| !f.ends_with(".parquet")),
        "no file was complete"
    );
    let (mut sink, recovered) = LakeSink::create_journaled(dir.path()).unwrap();
    assert_eq!(
        (recovered.journals, recovered.events),
        (1, lines.len() as u64)
    );
    sink.finish().unwrap();
    let journals = dir.path().join(osprey_lake::JOURNALS);
    assert_eq!(fs::read_dir(journals).unwrap().count(), 0);
    let mut got: Vec<Vec<u8>> = read_lake(dir.path())
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| l.to_vec())
        .collect();
    got.sort();
    lines.sort();
    assert_eq!(got, lines);
}
