//! What the API sends about frames: rows of the packet list (the profile's columns, rendered
//! only for the rows asked for) and the detail tree of one frame with byte spans.

use osprey_dissect::{Decoded, Want};
use osprey_field::{registry, FieldValue};
use osprey_print::profile::Column;
use osprey_print::text::Summary;
use osprey_print::Profile;
use osprey_source::FrameKind;
use serde::Serialize;

use crate::index::{Index, Loaded};
use crate::spans;

/// One row of the packet list.
#[derive(Debug, Serialize)]
pub struct Row {
    /// Frame number (1-based).
    pub number: u64,
    /// Nanoseconds since the Unix epoch, as a decimal string (JSON numbers lose precision
    /// beyond 2^53 in JavaScript).
    pub ts: String,
    /// Timestamp of the frame shown before it (in this view), for the delta time format; a
    /// string like `ts`.
    pub prev_shown_ts: Option<String>,
    /// Index of the coloring rule that matched (see the profile's `colors`), if any.
    pub color: Option<usize>,
    /// The text of each column of the profile.
    pub cells: Vec<String>,
}

/// Renders rows: what a window of the list needs, and nothing for the rows around it.
pub struct RowRenderer {
    summary: Summary,
    want: Want,
    columns: Vec<Column>,
}

/// A column showing field `abbrev` (Apply as Column): its values as `-T fields` prints them.
/// None if no such field.
pub fn field_column(abbrev: &str) -> Option<Column> {
    let reg = registry();
    let id = reg.resolve(abbrev.trim())?;
    let info = reg.info(id);
    Some(Column {
        title: info.name.to_string(),
        field: id,
        right: false,
        width: 0,
        info,
    })
}

impl RowRenderer {
    /// For the columns of `profile`.
    pub fn new(profile: &Profile) -> RowRenderer {
        let mut want = Want::none();
        profile.want_columns(&mut want);
        RowRenderer {
            summary: Summary::new(&profile.columns),
            want,
            columns: profile.columns.clone(),
        }
    }

    /// The profile's columns followed by `extra` ones.
    pub fn all_columns(&self, extra: &[Column]) -> Vec<Column> {
        let mut c = self.columns.clone();
        c.extend_from_slice(extra);
        c
    }

    /// The rows of frames `loaded`, with the timestamp of the frame shown before each, and
    /// `extra` columns after the profile's, as `prefs` shows them.
    pub fn rows_with(
        &self,
        index: &Index,
        loaded: &[Loaded],
        prev_shown: &[Option<u64>],
        extra: &[Column],
        prefs: &osprey_dissect::Preferences,
    ) -> Vec<Row> {
        let widened;
        let (summary, want) = if extra.is_empty() {
            (&self.summary, &self.want)
        } else {
            let mut want = self.want.clone();
            osprey_print::want_fields(&mut want, extra.iter().map(|c| c.field));
            widened = (Summary::new(&self.all_columns(extra)), want);
            (&widened.0, &widened.1)
        };
        let first_ts = index.first_ts().unwrap_or(0);
        loaded
            .iter()
            .zip(prev_shown)
            .map(|(l, prev)| {
                let decoded = osprey_dissect::decode(&l.frame);
                let info = index.info(l, first_ts);
                let tree = osprey_dissect::dissect(&info, &decoded, prefs, want);
                let color = index
                    .entry(l.frame.number as usize - 1)
                    .and_then(|e| e.color.checked_sub(1))
                    .map(usize::from);
                Row {
                    number: l.frame.number,
                    ts: l.frame.ts.to_string(),
                    prev_shown_ts: prev.map(|p| p.to_string()),
                    color,
                    cells: summary.cells(&tree),
                }
            })
            .collect()
    }
}

/// A byte span of a detail item.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// Length in bytes.
    pub len: usize,
    /// The data source the bytes are in (see [`Detail::sources`]).
    pub source: &'static str,
}

/// One item of the detail tree.
#[derive(Debug, Serialize)]
pub struct Node {
    /// Nesting depth (0 for a top-level protocol).
    pub depth: u8,
    /// Field abbreviation (`tracee.processName`).
    pub field: String,
    /// The field's display name.
    pub name: String,
    /// The value as `-T fields` prints it (empty for protocols and labels).
    pub value: String,
    /// The line shown in the tree.
    pub text: String,
    /// A display filter selecting frames with this value.
    pub filter: String,
    /// True for a generated field (shown in brackets).
    pub generated: bool,
    /// The bytes it was read from.
    pub span: Option<Span>,
}

/// A data source of a frame: what the bytes pane shows in a tab.
#[derive(Debug, Serialize)]
pub struct Source {
    /// `json` (an event's or artifact record's line), `frame` (a packet), `packet` (the
    /// packet a `net_packet_raw` event carries).
    pub name: &'static str,
    /// Its length in bytes.
    pub len: usize,
}

/// The detail of one frame.
#[derive(Debug, Serialize)]
pub struct Detail {
    /// Frame number.
    pub number: u64,
    /// `event`, `packet` or `artifact`.
    pub kind: &'static str,
    /// The data sources, the first being the frame's own bytes.
    pub sources: Vec<Source>,
    /// The tree, in order, with depths.
    pub tree: Vec<Node>,
}

/// A filter that selects `value` of field `abbrev`, in display-filter syntax.
pub fn filter_for(abbrev: &str, value: &FieldValue<'_>, plain: &str) -> String {
    match value {
        FieldValue::None => abbrev.to_string(),
        FieldValue::Str(s) => format!("{abbrev} == {}", osprey_filter::string_literal(s)),
        FieldValue::Bytes(_) | FieldValue::Ether(_) if plain.is_empty() => abbrev.to_string(),
        FieldValue::Bool(b) => format!("{abbrev} == {}", if *b { "True" } else { "False" }),
        // Epoch-displayed times are numbers (`frame.time_epoch == 1657321167.356748797`),
        // dates are strings.
        FieldValue::AbsTime(_) if !plain.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            format!("{abbrev} == {}", osprey_filter::string_literal(plain))
        }
        _ => format!("{abbrev} == {plain}"),
    }
}

/// The detail tree of a loaded frame, with every item's byte span where the bytes hold it.
pub fn detail(index: &Index, loaded: &Loaded, prefs: &osprey_dissect::Preferences) -> Detail {
    let want = Want::all();
    let first_ts = index.first_ts().unwrap_or(0);
    let frame = &loaded.frame;
    let decoded = osprey_dissect::decode(frame);
    let info = index.info(loaded, first_ts);
    let tree = osprey_dissect::dissect(&info, &decoded, prefs, &want);
    let reg = registry();
    let json = matches!(frame.kind, FrameKind::Event | FrameKind::Artifact);
    let raw_packet = match &decoded {
        Decoded::Event { raw_packet, .. } => raw_packet.as_deref(),
        _ => None,
    };
    let mut sources = vec![Source {
        name: if json { "json" } else { "frame" },
        len: frame.data.len(),
    }];
    if let Some(p) = raw_packet {
        sources.push(Source {
            name: "packet",
            len: p.len(),
        });
    }
    let items: Vec<_> = tree
        .items()
        .iter()
        .filter(|i| !i.hidden)
        .map(|i| (i, reg.info(i.field)))
        .collect();
    // Spans in the JSON line, found afterwards (the event parser keeps no positions).
    let json_spans = if json {
        let leaves = spans::scan(&frame.data);
        let asked: Vec<_> = items
            .iter()
            .map(|(i, info)| {
                // Generated fields and the frame's metadata are not in the line.
                let in_line = !info.generated
                    && !info.abbrev.starts_with("frame.")
                    && !info.abbrev.starts_with("_ws.");
                (if in_line { &*info.abbrev } else { "" }, &i.value, info)
            })
            .collect();
        spans::locate(&frame.data, &leaves, &asked)
    } else {
        vec![None; items.len()]
    };
    let nodes = items
        .iter()
        .zip(json_spans)
        .map(|((item, info), json_span)| {
            let mut value = String::new();
            item.value.write_plain(info, &mut value);
            let span = if let Some((s, e)) = item.span {
                // Spans set by the packet dissectors: in the frame, or in the packet a
                // net_packet_raw event carries.
                let (source, limit) = match (json, raw_packet) {
                    (false, _) => ("frame", frame.data.len()),
                    (true, Some(p)) => ("packet", p.len()),
                    (true, None) => ("json", 0),
                };
                let (s, e) = (s as usize, e as usize);
                (s <= e && e <= limit).then_some(Span {
                    start: s,
                    len: e - s,
                    source,
                })
            } else if let Some((s, e)) = json_span {
                Some(Span {
                    start: s,
                    len: e - s,
                    source: "json",
                })
            } else if item.depth == 0 && matches!(info.ty, osprey_field::FieldType::Protocol) {
                // A top-level protocol covers the frame (the event's line).
                Some(Span {
                    start: 0,
                    len: frame.data.len(),
                    source: sources[0].name,
                })
            } else {
                None
            };
            Node {
                depth: item.depth,
                field: info.abbrev.to_string(),
                name: info.name.to_string(),
                filter: filter_for(&info.abbrev, &item.value, &value),
                text: osprey_print::detail::label(item, info),
                generated: info.generated,
                value,
                span,
            }
        })
        .collect();
    Detail {
        number: frame.number,
        kind: match frame.kind {
            FrameKind::Event => "event",
            FrameKind::Packet => "packet",
            FrameKind::Artifact => "artifact",
        },
        sources,
        tree: nodes,
    }
}

/// The bytes of a frame's data source (`json`/`frame`: the frame's own bytes; `packet`: the
/// packet a `net_packet_raw` event carries).
pub fn source_bytes(loaded: &Loaded, source: &str) -> Option<Vec<u8>> {
    match source {
        "json" | "frame" => Some(loaded.frame.data.to_vec()),
        "packet" => match osprey_dissect::decode(&loaded.frame) {
            Decoded::Event { raw_packet, .. } => raw_packet,
            _ => None,
        },
        _ => None,
    }
}
