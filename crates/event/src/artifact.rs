//! The artifact index: `out/artifacts.jsonl`, one record per artifact `osprey trace --capture`
//! saved (a written file, an executed binary, a memory region, a kernel module, a per-process
//! pcap, the runtime profile). The capture writes these records; `osprey read` shows them as
//! frames beside the events, so one timeline holds what happened and what was kept of it.
//!
//! ```json
//! {"timestamp":1700000000123456789,"kind":"write","path":"host/write.dev-8388609.inode-1234",
//!  "size":4096,"sha256":"…","original_path":"/tmp/x",
//!  "process":{"hostProcessId":1,"hostThreadId":1,"processId":1,"threadId":1,
//!             "processName":"sh","executable":"/bin/sh","userId":0},
//!  "container_id":"","first_seen":1700000000123456789,"last_seen":1700000000223456789,
//!  "lost":[{"start":0,"end":4096,"reason":"ring buffer full"}],"complete":false,
//!  "event":"write","note":"…"}
//! ```
//!
//! Reading is lenient, because an index may come from a damaged or hostile host: only
//! `timestamp` and `kind` are required; every other key defaults to empty, and unknown keys are
//! ignored.

use serde::{Deserialize, Serialize};

/// One line of `artifacts.jsonl`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// First seen, nanoseconds since the epoch.
    pub timestamp: u64,
    /// `write`, `exec`, `mem`, `module`, `pcap` or `profile`.
    pub kind: String,
    /// Where the artifact is, relative to `out/`; empty when nothing could be stored.
    #[serde(default)]
    pub path: String,
    /// Size of the stored artifact in bytes.
    #[serde(default)]
    pub size: u64,
    /// SHA-256 of the stored artifact, in hex.
    #[serde(default)]
    pub sha256: String,
    /// The file it came from: the file written, the binary executed (`memfd:NAME` for a memfd),
    /// the module file; empty when there is none.
    #[serde(default)]
    pub original_path: String,
    /// The process it came from.
    #[serde(default)]
    pub process: ArtifactProcess,
    /// Its container, empty on the host.
    #[serde(default)]
    pub container_id: String,
    /// First seen, nanoseconds since the epoch.
    #[serde(default)]
    pub first_seen: u64,
    /// Last seen, nanoseconds since the epoch.
    #[serde(default)]
    pub last_seen: u64,
    /// Byte ranges that could not be captured.
    #[serde(default)]
    pub lost: Vec<LostRange>,
    /// True when every byte seen was captured.
    #[serde(default)]
    pub complete: bool,
    /// The event or syscall that produced it (`write`, `sched_process_exec`, `mem_prot_alert`,
    /// `init_module`, `net_packet`...).
    #[serde(default)]
    pub event: String,
    /// Why it is incomplete, or which artifact has the same content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The process an artifact came from, with Tracee's key names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ArtifactProcess {
    /// PID in the host namespace.
    #[serde(rename = "hostProcessId")]
    pub host_process_id: u32,
    /// TID in the host namespace.
    #[serde(rename = "hostThreadId")]
    pub host_thread_id: u32,
    /// PID in its own namespace.
    #[serde(rename = "processId")]
    pub process_id: u32,
    /// TID in its own namespace.
    #[serde(rename = "threadId")]
    pub thread_id: u32,
    /// `comm`.
    #[serde(rename = "processName")]
    pub process_name: String,
    /// Executable path.
    pub executable: String,
    /// Real user ID.
    #[serde(rename = "userId")]
    pub user_id: u32,
}

/// A byte range of an artifact that could not be captured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LostRange {
    /// First lost byte.
    pub start: u64,
    /// One past the last lost byte.
    pub end: u64,
    /// Why it was lost (`ring buffer full`, `unreadable`, `budget`...).
    pub reason: String,
}

impl Artifact {
    /// Bytes lost in all ranges.
    pub fn lost_bytes(&self) -> u64 {
        self.lost
            .iter()
            .map(|r| r.end.saturating_sub(r.start))
            .fold(0, u64::saturating_add)
    }
}

/// Parses one line of an artifact index.
pub fn parse_artifact(line: &[u8]) -> Result<Artifact, serde_json::Error> {
    serde_json::from_slice(line)
}

/// True when a JSON line is an artifact record rather than a Tracee event: an object with
/// `timestamp`, `kind` and `sha256`, and no event name. Decides what a JSON input holds from
/// its first line.
pub fn is_artifact_line(line: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        timestamp: Option<serde::de::IgnoredAny>,
        kind: Option<serde::de::IgnoredAny>,
        sha256: Option<serde::de::IgnoredAny>,
        #[serde(rename = "eventName")]
        event_name: Option<serde::de::IgnoredAny>,
        name: Option<serde::de::IgnoredAny>,
    }
    match serde_json::from_slice::<Probe>(line) {
        Ok(p) => {
            p.timestamp.is_some()
                && p.kind.is_some()
                && p.sha256.is_some()
                && p.event_name.is_none()
                && p.name.is_none()
        }
        Err(_) => false,
    }
}

/// The timestamp of an artifact line, read cheaply when it is the first key (as Osprey writes
/// it) and by a full parse otherwise.
pub fn peek_artifact_timestamp(line: &[u8]) -> Result<u64, serde_json::Error> {
    if let Some(after) = line.strip_prefix(b"{\"timestamp\":") {
        let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
        if (1..=19).contains(&digits) && matches!(after.get(digits), Some(b',' | b'}')) {
            if let Some(ns) = std::str::from_utf8(&after[..digits])
                .ok()
                .and_then(|s| s.parse().ok())
            {
                return Ok(ns);
            }
        }
    }
    parse_artifact(line).map(|a| a.timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"timestamp":5,"kind":"write","path":"host/write.dev-1.inode-2","size":3,"sha256":"ab","original_path":"/tmp/a","process":{"hostProcessId":7,"hostThreadId":7,"processId":1,"threadId":1,"processName":"sh","executable":"/bin/sh","userId":0},"container_id":"","first_seen":5,"last_seen":6,"lost":[{"start":0,"end":1,"reason":"unreadable"}],"complete":false,"event":"write"}"#;

    #[test]
    fn a_record_round_trips_and_is_told_from_events() {
        let a = parse_artifact(LINE.as_bytes()).unwrap();
        assert_eq!(a.process.process_name, "sh");
        assert_eq!(a.lost_bytes(), 1);
        assert_eq!(serde_json::to_string(&a).unwrap(), LINE);
        assert!(is_artifact_line(LINE.as_bytes()));
        assert_eq!(peek_artifact_timestamp(LINE.as_bytes()).unwrap(), 5);
        let event = br#"{"timestamp":1,"eventName":"openat","kind":"x","sha256":"y"}"#;
        assert!(!is_artifact_line(event));
        assert!(!is_artifact_line(b"{\"timestamp\":1,"));
    }

    #[test]
    fn reading_is_lenient_about_what_is_missing() {
        let a = parse_artifact(br#"{"kind":"exec","timestamp":9,"extra":[1,2]}"#).unwrap();
        assert_eq!((a.timestamp, a.kind.as_str(), a.size), (9, "exec", 0));
        assert_eq!(
            peek_artifact_timestamp(br#"{"kind":"exec","timestamp":9}"#).unwrap(),
            9
        );
        assert!(parse_artifact(br#"{"kind":"exec"}"#).is_err());
        let huge = br#"{"timestamp":1,"kind":"x","lost":[{"start":1,"end":18446744073709551615},{"start":0,"end":18446744073709551615}]}"#;
        assert_eq!(parse_artifact(huge).unwrap().lost_bytes(), u64::MAX);
    }
}
