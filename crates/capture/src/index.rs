//! The index beside the artifacts: `out/artifacts.jsonl`, one JSON object per artifact, and
//! Tracee's `out/written_files` (`<cid|host>/write.dev-X.inode-Y <path>` per line).
//!
//! Record layout (keys always present unless marked optional):
//!
//! ```json
//! {"timestamp": 1700000000123456789,       // first seen, ns since the epoch
//!  "kind": "write",                        // write | exec | mem | module | pcap | profile
//!  "path": "host/write.dev-8388609.inode-1234",  // relative to out/
//!  "size": 4096, "sha256": "…64 hex…",
//!  "original_path": "/tmp/x",              // file written / executed / module file / ""
//!  "process": {"hostProcessId":1,"hostThreadId":1,"processId":1,"threadId":1,
//!              "processName":"sh","executable":"/bin/sh","userId":0},
//!  "container_id": "",                     // "" on the host
//!  "first_seen": 1700000000123456789, "last_seen": 1700000000223456789,
//!  "lost": [{"start":0,"end":4096,"reason":"ring buffer full"}],
//!  "complete": true,                       // every byte seen was captured
//!  "event": "write",                       // the event or syscall that produced it
//!  "note": "…"}                            // optional: why it is incomplete, what it duplicates
//! ```

use std::fs::File;
use std::io::{self, BufWriter, Write};

/// The process an artifact came from (and the context of packets).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    /// PID in the host namespace.
    pub host_pid: u32,
    /// TID in the host namespace.
    pub host_tid: u32,
    /// PID in its own namespace.
    pub pid: u32,
    /// TID in its own namespace.
    pub tid: u32,
    /// Parent PID in its own namespace.
    pub ppid: u32,
    /// Parent PID in the host namespace.
    pub host_ppid: u32,
    /// uid.
    pub uid: u32,
    /// comm.
    pub comm: String,
    /// Executable path.
    pub executable: String,
    /// Thread start time, ns since the epoch.
    pub thread_start_time: u64,
    /// cgroup ID.
    pub cgroup_id: u64,
    /// Mount namespace.
    pub mnt_ns: u64,
    /// PID namespace.
    pub pid_ns: u64,
    /// Container ID, empty on the host.
    pub container_id: String,
    /// UTS host name.
    pub host_name: String,
}

/// One line of `artifacts.jsonl`.
pub use osprey_event::artifact::Artifact as ArtifactRecord;
/// The `process` object of an index record (the record model lives in `osprey-event`, which
/// reads it back).
pub use osprey_event::artifact::ArtifactProcess as ProcessRef;
/// A lost byte range of an artifact.
pub use osprey_event::artifact::LostRange;

impl From<&ProcessInfo> for ProcessRef {
    fn from(p: &ProcessInfo) -> Self {
        ProcessRef {
            host_process_id: p.host_pid,
            host_thread_id: p.host_tid,
            process_id: p.pid,
            thread_id: p.tid,
            process_name: p.comm.clone(),
            executable: p.executable.clone(),
            user_id: p.uid,
        }
    }
}

/// The record of an artifact of `kind` that `event` produced in `proc`, seen from `first` to
/// `last`; where it is stored, its size, hash, losses and note are the caller's.
pub fn record_for(
    kind: &str,
    event: &str,
    proc: &ProcessInfo,
    first: u64,
    last: u64,
) -> ArtifactRecord {
    ArtifactRecord {
        timestamp: first,
        kind: kind.into(),
        process: ProcessRef::from(proc),
        container_id: proc.container_id.clone(),
        first_seen: first,
        last_seen: last,
        event: event.into(),
        ..ArtifactRecord::default()
    }
}

/// Writer of `artifacts.jsonl` and `written_files`.
pub struct Index {
    out: BufWriter<File>,
    written: BufWriter<File>,
    /// Records written.
    pub records: u64,
}

impl Index {
    /// Over the two open files.
    pub fn new(artifacts: File, written_files: File) -> Index {
        Index {
            out: BufWriter::new(artifacts),
            written: BufWriter::new(written_files),
            records: 0,
        }
    }

    /// Appends one record.
    pub fn record(&mut self, r: &ArtifactRecord) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, r)?;
        self.out.write_all(b"\n")?;
        self.records += 1;
        if r.kind == "write" {
            // Tracee's list: the artifact and the file it came from (newlines escaped, so one
            // line stays one entry)
            let path = r.original_path.replace('\\', "\\\\").replace('\n', "\\n");
            writeln!(self.written, "{} {}", r.path, path)?;
        }
        Ok(())
    }

    /// Pushes both files to disk.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.written.flush()
    }
}

/// Lost ranges of one artifact, kept sorted and merged per reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LostSet {
    ranges: Vec<(u64, u64, &'static str)>,
}

impl LostSet {
    /// Records [start, end) as lost for `reason`.
    pub fn add(&mut self, start: u64, end: u64, reason: &'static str) {
        if end <= start {
            return;
        }
        self.remove(start, end);
        let pos = self.ranges.partition_point(|r| r.0 < start);
        self.ranges.insert(pos, (start, end, reason));
        // merge neighbours of the same reason
        let mut merged: Vec<(u64, u64, &'static str)> = Vec::with_capacity(self.ranges.len());
        for r in self.ranges.drain(..) {
            match merged.last_mut() {
                Some(last) if last.1 == r.0 && last.2 == r.2 => last.1 = r.1,
                _ => merged.push(r),
            }
        }
        // bound the list: a pathological run keeps its span, not every hole
        if merged.len() > 4096 {
            let (s, e) = (merged[0].0, merged[merged.len() - 1].1);
            merged = vec![(s, e, "many ranges (merged)")];
        }
        self.ranges = merged;
    }

    /// [start, end) was captured after all: it is no longer lost.
    pub fn remove(&mut self, start: u64, end: u64) {
        if self.ranges.is_empty() || end <= start {
            return;
        }
        let mut out = Vec::with_capacity(self.ranges.len() + 1);
        for &(s, e, why) in &self.ranges {
            if e <= start || s >= end {
                out.push((s, e, why));
                continue;
            }
            if s < start {
                out.push((s, start, why));
            }
            if e > end {
                out.push((end, e, why));
            }
        }
        self.ranges = out;
    }

    /// The file was truncated to `size`.
    pub fn truncate(&mut self, size: u64) {
        self.remove(size, u64::MAX);
    }

    /// True when nothing is lost.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Total lost bytes.
    pub fn bytes(&self) -> u64 {
        self.ranges.iter().map(|r| r.1 - r.0).sum()
    }

    /// The ranges, for the index.
    pub fn to_vec(&self) -> Vec<LostRange> {
        self.ranges
            .iter()
            .map(|&(start, end, reason)| LostRange {
                start,
                end,
                reason: reason.to_string(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_ranges_merge_split_and_truncate() {
        let mut l = LostSet::default();
        l.add(0, 10, "ring buffer full");
        l.add(10, 20, "ring buffer full");
        l.add(30, 40, "unreadable");
        assert_eq!(l.to_vec().len(), 2);
        assert_eq!(l.bytes(), 30);
        l.remove(5, 8); // re-written later
        assert_eq!(
            l.to_vec()
                .iter()
                .map(|r| (r.start, r.end))
                .collect::<Vec<_>>(),
            vec![(0, 5), (8, 20), (30, 40)]
        );
        l.truncate(35);
        assert_eq!(l.to_vec().last().map(|r| r.end), Some(35));
        l.truncate(0);
        assert!(l.is_empty());
    }

    #[test]
    fn record_serializes_with_the_documented_keys() {
        let r = ArtifactRecord {
            timestamp: 5,
            kind: "write".into(),
            path: "host/write.dev-1.inode-2".into(),
            size: 3,
            sha256: "ab".into(),
            original_path: "/tmp/a\nb".into(),
            process: ProcessRef::from(&ProcessInfo {
                host_pid: 7,
                comm: "sh".into(),
                ..ProcessInfo::default()
            }),
            container_id: String::new(),
            first_seen: 5,
            last_seen: 6,
            lost: vec![LostRange {
                start: 0,
                end: 1,
                reason: "unreadable".into(),
            }],
            complete: false,
            event: "write".into(),
            note: None,
        };
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        for k in [
            "timestamp",
            "kind",
            "path",
            "size",
            "sha256",
            "original_path",
            "process",
            "container_id",
            "first_seen",
            "last_seen",
            "lost",
            "complete",
            "event",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert!(v.get("note").is_none());
        assert_eq!(v["process"]["hostProcessId"], 7);
        assert_eq!(v["process"]["processName"], "sh");
        assert_eq!(v["lost"][0]["end"], 1);
        let tmp = tempfile::tempdir().unwrap();
        let mut idx = Index::new(
            File::create(tmp.path().join("a")).unwrap(),
            File::create(tmp.path().join("w")).unwrap(),
        );
        idx.record(&r).unwrap();
        idx.flush().unwrap();
        let w = std::fs::read_to_string(tmp.path().join("w")).unwrap();
        assert_eq!(w, "host/write.dev-1.inode-2 /tmp/a\\nb\n");
    }
}
