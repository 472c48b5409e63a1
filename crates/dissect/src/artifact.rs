//! Records of Osprey's artifact index (`out/artifacts.jsonl`), shown as frames in the timeline
//! of their capture: `artifact.*` for the record, and the `tracee.*` process fields for the
//! process it came from — so a process filter selects its events and its artifacts together,
//! while `tracee` (the protocol) and `tracee.eventName` still select events only.

use std::borrow::Cow;

use osprey_event::artifact::Artifact;
use osprey_field::fields::{artifact as a, tracee as t, ws};
use osprey_field::FieldValue;

use crate::context::container_column;
use crate::prefs::{pid_text, Preferences};
use crate::Tree;

/// What each kind of artifact is, for labels and the Info column.
fn describe_kind(kind: &str) -> &str {
    match kind {
        "write" => "Written file",
        "exec" => "Executed binary",
        "mem" => "Memory region",
        "module" => "Kernel module",
        "pcap" => "Packet capture",
        "profile" => "Runtime profile",
        other => other,
    }
}

/// Adds an artifact record's fields to the tree.
pub(crate) fn dissect<'a>(art: &'a Artifact, prefs: &Preferences, tree: &mut Tree<'a>) {
    tree.layer("artifact");
    let what = describe_kind(&art.kind);
    tree.open_with(a::ARTIFACT, FieldValue::None, || {
        format!("Osprey Artifact: {what}")
    });
    let s = |v: &'a str| FieldValue::Str(Cow::Borrowed(v));
    tree.add(a::KIND, s(&art.kind));
    tree.add(a::PATH, s(&art.path));
    tree.add(a::SIZE, FieldValue::UInt(art.size));
    tree.add(a::SHA256, s(&art.sha256));
    if !art.original_path.is_empty() {
        tree.add(a::ORIGINAL_PATH, s(&art.original_path));
    }
    if !art.event.is_empty() {
        tree.add(a::EVENT, s(&art.event));
    }
    tree.add(a::FIRST_SEEN, FieldValue::AbsTime(art.first_seen));
    tree.add(a::LAST_SEEN, FieldValue::AbsTime(art.last_seen));
    tree.add(a::COMPLETE, FieldValue::Bool(art.complete));
    tree.add(a::LOST_BYTES, FieldValue::UInt(art.lost_bytes()));
    for range in &art.lost {
        tree.open_with(a::LOST, FieldValue::None, || {
            format!(
                "Lost: bytes {}-{} ({})",
                range.start, range.end, range.reason
            )
        });
        tree.add(a::LOST_START, FieldValue::UInt(range.start));
        tree.add(a::LOST_END, FieldValue::UInt(range.end));
        tree.add(a::LOST_REASON, s(&range.reason));
        tree.close();
    }
    if let Some(note) = &art.note {
        tree.add(a::NOTE, s(note));
    }
    if !art.complete {
        tree.add(
            ws::EXPERT_MESSAGE,
            FieldValue::Str(
                format!(
                    "Incomplete artifact: {} byte(s) could not be captured",
                    art.lost_bytes()
                )
                .into(),
            ),
        );
    }
    process(art, prefs, tree);
    tree.close();
    if tree.wants_columns() {
        tree.columns.protocol = "ARTIFACT".into();
        tree.columns.info = info(art, what);
    }
}

/// The process an artifact came from, on the `tracee.*` fields events use. Artifacts of the
/// whole run (the profile) have none.
fn process<'a>(art: &'a Artifact, prefs: &Preferences, tree: &mut Tree<'a>) {
    let p = &art.process;
    if p.host_process_id == 0 && p.process_name.is_empty() {
        return;
    }
    tree.open_with(t::PROCESS, FieldValue::None, || {
        format!("Process: {} ({})", p.host_process_id, p.process_name)
    });
    tree.add(
        t::PROCESS_NAME,
        FieldValue::Str(Cow::Borrowed(&p.process_name)),
    );
    if !p.executable.is_empty() {
        tree.add(
            t::EXECUTABLE_PATH,
            FieldValue::Str(Cow::Borrowed(&p.executable)),
        );
    }
    tree.add(t::PROCESS_ID, FieldValue::Int(p.process_id.into()));
    tree.add(t::THREAD_ID, FieldValue::Int(p.thread_id.into()));
    tree.add(
        t::HOST_PROCESS_ID,
        FieldValue::Int(p.host_process_id.into()),
    );
    tree.add(t::HOST_THREAD_ID, FieldValue::Int(p.host_thread_id.into()));
    tree.add(t::USER_ID, FieldValue::UInt(p.user_id.into()));
    if tree.wants(t::PID_COL) {
        let text = pid_text(
            prefs.pid_format,
            p.process_id.into(),
            p.host_process_id.into(),
        );
        tree.add_hidden(t::PID_COL, FieldValue::Str(text.into()));
    }
    if tree.wants(t::TID_COL) {
        let text = pid_text(
            prefs.pid_format,
            p.thread_id.into(),
            p.host_thread_id.into(),
        );
        tree.add_hidden(t::TID_COL, FieldValue::Str(text.into()));
    }
    tree.close();
    if !art.container_id.is_empty() {
        tree.add(
            t::CONTAINER_ID,
            FieldValue::Str(Cow::Borrowed(&art.container_id)),
        );
    }
    if tree.wants(t::CONTAINER_COL) {
        let column = container_column(prefs, &art.container_id, "", "");
        tree.add_hidden(t::CONTAINER_COL, FieldValue::Str(column.into()));
    }
}

/// `Executed binary /tmp/x → exec/… (1234 bytes)`, with what was lost and the note.
fn info(art: &Artifact, what: &str) -> String {
    let mut info = String::from(what);
    if !art.original_path.is_empty() {
        info.push(' ');
        info.push_str(&art.original_path);
    }
    if art.path.is_empty() {
        info.push_str(" (not stored)");
    } else {
        info.push_str(" → ");
        info.push_str(&art.path);
        info.push_str(&format!(" ({} bytes)", art.size));
    }
    if !art.complete {
        info.push_str(&format!(", incomplete: {} bytes lost", art.lost_bytes()));
    }
    if let Some(note) = &art.note {
        info.push_str(&format!(" [{note}]"));
    }
    info
}

/// An artifact index line that does not parse.
pub(crate) fn dissect_malformed(error: &serde_json::Error, tree: &mut Tree<'_>) {
    tree.layer("artifact");
    tree.add(a::ARTIFACT, FieldValue::None);
    tree.add(ws::MALFORMED, FieldValue::None);
    tree.add(
        ws::EXPERT_MESSAGE,
        FieldValue::Str(format!("Malformed artifact record: {error}").into()),
    );
    if tree.wants_columns() {
        tree.columns.protocol = "ARTIFACT".into();
        tree.columns.info = format!("[Malformed artifact record: {error}]");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Want;

    #[test]
    fn records_fill_artifact_and_process_fields() {
        let line = br#"{"timestamp":5,"kind":"exec","path":"host/exec.abc","size":10,"sha256":"ab","original_path":"/tmp/x","process":{"hostProcessId":70,"hostThreadId":71,"processId":7,"threadId":8,"processName":"sh","executable":"/bin/sh","userId":1000},"container_id":"0123456789abcdef","first_seen":5,"last_seen":6,"lost":[{"start":0,"end":4,"reason":"unreadable"}],"complete":false,"event":"sched_process_exec","note":"held"}"#;
        let art = osprey_event::artifact::parse_artifact(line).unwrap();
        let want = Want::all();
        let mut tree = Tree::new(&want);
        dissect(&art, &Preferences::default(), &mut tree);
        assert_eq!(tree.first(a::KIND), Some(&FieldValue::Str("exec".into())));
        assert_eq!(tree.first(a::LOST_BYTES), Some(&FieldValue::UInt(4)));
        assert_eq!(tree.first(t::HOST_PROCESS_ID), Some(&FieldValue::Int(70)));
        assert_eq!(tree.first(t::PID_COL), Some(&FieldValue::Str("7".into())));
        assert_eq!(
            tree.first(t::CONTAINER_COL),
            Some(&FieldValue::Str("0123456789ab".into()))
        );
        assert!(
            tree.first(t::TRACEE).is_none(),
            "an artifact is not an event"
        );
        assert_eq!(tree.columns.protocol, "ARTIFACT");
        assert_eq!(
            tree.columns.info,
            "Executed binary /tmp/x → host/exec.abc (10 bytes), incomplete: 4 bytes lost [held]"
        );
    }
}
