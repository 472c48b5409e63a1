//! What the lake's pushdown tests share: event lines, writing a lake, reading it with a
//! display filter's constraints.

use std::io::Read;
use std::path::Path;

use osprey_filter::{Filter, Macros};
use osprey_lake::{LakeQuery, LakeReader, LakeScan, LakeWriter, RollPolicy};

/// 2026-12-06T07:00:00Z in nanoseconds.
pub const T7: u64 = 1_796_540_400_000_000_000;
pub const SECOND: u64 = 1_000_000_000;

/// The fields of a test event that vary.
pub struct Ev<'a> {
    pub ts: u64,
    pub host: &'a str,
    pub pid: i64,
    pub comm: &'a str,
    pub name: &'a str,
    pub container: &'a str,
}

/// A legacy Tracee event line.
pub fn event(e: &Ev) -> Vec<u8> {
    let Ev {
        ts,
        host,
        pid,
        comm,
        name,
        container,
    } = e;
    format!(
        r#"{{"timestamp":{ts},"threadStartTime":1,"processorId":0,"processId":{pid},"cgroupId":1,"threadId":{pid},"parentProcessId":1,"hostProcessId":{pid},"hostThreadId":{pid},"hostParentProcessId":1,"userId":0,"mountNamespace":1,"pidNamespace":1,"processName":"{comm}","hostName":"{host}","containerId":"{container}","containerImage":"","containerName":"","podName":"","podNamespace":"","podUID":"","eventId":"257","eventName":"{name}","argsNum":0,"returnValue":0,"stackAddresses":null,"syscall":"openat","contextFlags":{{"containerStarted":false,"isCompat":false}},"args":[]}}"#
    )
    .into_bytes()
}

/// Writes `lines` into a lake at `root` under `policy`.
pub fn write(root: &Path, lines: &[Vec<u8>], policy: RollPolicy) {
    let mut writer = LakeWriter::create(root, policy).unwrap();
    for line in lines {
        writer
            .write(line, &osprey_event::parse_event(line).unwrap())
            .unwrap();
    }
    writer.finish().unwrap();
}

/// The constraints of `filter` on the lake's columns.
pub fn query(filter: &str) -> LakeQuery {
    LakeQuery::from_filter(&Filter::compile(filter, &Macros::new()).unwrap())
}

/// The lake's events that `filter`'s constraints let through, and what the read counted.
pub fn read(root: &Path, filter: &str) -> (Vec<String>, LakeScan) {
    let mut reader = LakeReader::open_query(root, query(filter)).unwrap();
    let scan = reader.scan();
    let mut out = String::new();
    reader.read_to_string(&mut out).unwrap();
    let lines = out.lines().map(str::to_string).collect();
    let scan = *scan.lock().unwrap();
    (lines, scan)
}
