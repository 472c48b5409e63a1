//! `artifact.*`: the records of Osprey's artifact index (`out/artifacts.jsonl`), shown as frames
//! beside the events. The process an artifact came from is on the `tracee.*` process fields, so
//! `tracee.pid == 1234` selects a process's events, packets and artifacts alike.

use crate::FieldDef;
use crate::FieldType::*;

crate::fields! { base 0xD000;
    ARTIFACT = FieldDef::new("artifact", "Osprey Artifact", Protocol);
    KIND = FieldDef::new("artifact.kind", "Kind", String);
    PATH = FieldDef::new("artifact.path", "Stored as", String);
    SIZE = FieldDef::new("artifact.size", "Size", UInt);
    SHA256 = FieldDef::new("artifact.sha256", "SHA-256", String);
    ORIGINAL_PATH = FieldDef::new("artifact.original_path", "Original path", String);
    EVENT = FieldDef::new("artifact.event", "Produced by", String);
    FIRST_SEEN = FieldDef::new("artifact.first_seen", "First seen", AbsTime);
    LAST_SEEN = FieldDef::new("artifact.last_seen", "Last seen", AbsTime);
    COMPLETE = FieldDef::new("artifact.complete", "Complete", Bool);
    LOST_BYTES = FieldDef::new("artifact.lost_bytes", "Bytes lost", UInt);
    LOST = FieldDef::new("artifact.lost", "Lost range", None);
    LOST_START = FieldDef::new("artifact.lost.start", "Start", UInt);
    LOST_END = FieldDef::new("artifact.lost.end", "End", UInt);
    LOST_REASON = FieldDef::new("artifact.lost.reason", "Reason", String);
    NOTE = FieldDef::new("artifact.note", "Note", String);
}
