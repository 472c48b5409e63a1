//! Shared by the packet tests and the `packet_fields` example: dissect a capture with Osprey
//! and with tshark, and print field values the way `tshark -T fields -E occurrence=a` does.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use osprey_dissect::{decode, dissect, FrameInfo, Preferences, Want};
use osprey_field::{registry, FieldId, FieldValue};
use osprey_source::{Diagnostics, Inputs};

/// A string as tshark prints it in `-T fields` output (Wireshark's `format_text`): C escapes
/// for `\a \b \f \n \r \t \v`, three-digit octal for other control characters and DEL.
pub fn tshark_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\{:03o}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// One value as `tshark -T fields` prints it.
pub fn plain(field: FieldId, v: &FieldValue<'_>) -> String {
    let mut s = String::new();
    v.write_plain(&registry().info(field), &mut s);
    match v {
        FieldValue::Str(_) => tshark_escape(&s),
        _ => s,
    }
}

/// Osprey's values of `fields` for every frame of `path`: one row per frame, each cell the
/// values joined by `,`.
pub fn osprey_rows(path: &Path, fields: &[&str]) -> Vec<Vec<String>> {
    let reg = registry();
    let ids: Vec<FieldId> = fields
        .iter()
        .map(|f| {
            reg.lookup(f)
                .unwrap_or_else(|| panic!("field {f} is not registered"))
        })
        .collect();
    let mut want = Want::none();
    for &id in &ids {
        want.field(id);
    }
    want.columns();
    let inputs = Inputs::open(
        &[path.display().to_string()],
        Arc::new(Diagnostics::silent()),
    )
    .expect("open capture");
    let prefs = Preferences::default();
    let mut rows = Vec::new();
    let mut first_ts = None;
    let mut prev_ts = None;
    for frame in inputs.frames() {
        let first = *first_ts.get_or_insert(frame.ts);
        let decoded = decode(&frame);
        let info = FrameInfo {
            frame: &frame,
            input_name: "capture",
            first_ts: first,
            prev_ts,
        };
        let tree = dissect(&info, &decoded, &prefs, &want);
        let row = ids
            .iter()
            .map(|&id| {
                tree.values(id)
                    .map(|v| plain(id, v))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        rows.push(row);
        prev_ts = Some(frame.ts);
    }
    rows
}

/// tshark's values of `fields` for every frame of `path`, with extra options (`-o ...`).
pub fn tshark_rows(path: &Path, fields: &[&str], options: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(path).args(options).args([
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for f in fields {
        cmd.arg("-e").arg(f);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut cells: Vec<String> = l.split('\t').map(str::to_string).collect();
            cells.resize(fields.len(), String::new());
            cells
        })
        .collect()
}

/// The differences between two tables, one line each (frame, field, ours, tshark's).
pub fn differences(fields: &[&str], ours: &[Vec<String>], theirs: &[Vec<String>]) -> Vec<String> {
    let mut diffs = Vec::new();
    if ours.len() != theirs.len() {
        diffs.push(format!(
            "frame count: osprey {} tshark {}",
            ours.len(),
            theirs.len()
        ));
    }
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        for (j, f) in fields.iter().enumerate() {
            if a[j] != b[j] {
                diffs.push(format!(
                    "frame {} {f}: osprey {:?} tshark {:?}",
                    i + 1,
                    a[j],
                    b[j]
                ));
            }
        }
    }
    diffs
}
