/*!
Dissectors: a frame's bytes become a [`Tree`] of named, typed fields.

A frame is first [`decode`]d — its event JSON parsed, a `net_packet_raw` payload or a pcap
interface's Tracee context read — and then [`dissect`]ed into a tree that holds what the
consumer [`Want`]s: the whole tree for the detail view, or only the fields a display filter and
the printed columns read. Dissectors only add fields and set columns; filters, columns,
statistics and views only read the tree, through field names of the registry in
`osprey-field`.

- [`event`]: Tracee events (analyzer.md §1–5): context, arguments as
  `tracee.args.<event>.<arg>`, every complex type, enrichments, the Info column, and network
  events mapped onto Wireshark's own fields.
- [`packet`]: real packets with Wireshark's field names, from the link layer up to DNS and HTTP.
- [`context`]: the Tracee capture context of a pcap interface (formats.md §3), applied to its
  packets under the same `tracee.*` names as events.
- `artifact`: records of Osprey's artifact index as `artifact.*`, with their process on the
  `tracee.*` process fields.
*/

#![deny(missing_docs)]

mod artifact;
pub mod context;
pub mod event;
mod frame;
pub mod packet;
pub mod prefs;
mod tree;

use osprey_event::artifact::Artifact;
use osprey_event::{Event, ParseError};
use osprey_source::{Frame, FrameKind};

pub use context::PacketContext;
pub use prefs::Preferences;
pub use tree::{Columns, Item, Tree, Want};

/// A frame's content, parsed once; the tree borrows from it.
// An event is large and by far the most common frame: boxing it would cost an allocation per
// event on the hot path to save stack space on the rare packet.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Decoded<'a> {
    /// A Tracee event. `raw_packet` holds the decoded `data` of a `net_packet_raw` event.
    Event {
        /// The parsed event.
        event: Event<'a>,
        /// The packet bytes carried by a `net_packet_raw` event.
        raw_packet: Option<Vec<u8>>,
    },
    /// An event frame whose JSON does not parse.
    MalformedEvent(ParseError),
    /// A packet, with the Tracee context of its interface when the capture has one.
    Packet {
        /// The interface's packet context.
        context: Option<PacketContext<'a>>,
    },
    /// A record of an artifact index.
    Artifact(Box<Artifact>),
    /// An artifact index line that does not parse.
    MalformedArtifact(serde_json::Error),
}

impl Decoded<'_> {
    /// The parse error of a record that does not parse.
    pub fn malformed(&self) -> Option<String> {
        match self {
            Decoded::MalformedEvent(e) => Some(e.to_string()),
            Decoded::MalformedArtifact(e) => Some(format!("not an artifact record: {e}")),
            _ => None,
        }
    }
}

/// Parses what a frame holds.
pub fn decode(frame: &Frame) -> Decoded<'_> {
    match frame.kind {
        FrameKind::Event => match osprey_event::parse_event(&frame.data) {
            Ok(event) => {
                let raw_packet = event::raw_packet_bytes(&event);
                Decoded::Event { event, raw_packet }
            }
            Err(e) => Decoded::MalformedEvent(e),
        },
        FrameKind::Artifact => match osprey_event::artifact::parse_artifact(&frame.data) {
            Ok(art) => Decoded::Artifact(Box::new(art)),
            Err(e) => Decoded::MalformedArtifact(e),
        },
        FrameKind::Packet => {
            let context = frame
                .capture
                .as_ref()
                .and_then(|c| c.interface.description())
                .and_then(PacketContext::parse);
            Decoded::Packet { context }
        }
    }
}

/// Where a frame sits in the run: needed for `frame.*` fields.
#[derive(Clone, Copy, Debug)]
pub struct FrameInfo<'a> {
    /// The frame.
    pub frame: &'a Frame,
    /// The name of the input it came from.
    pub input_name: &'a str,
    /// Timestamp of the first frame of the run.
    pub first_ts: u64,
    /// Timestamp of the previous frame, if any.
    pub prev_ts: Option<u64>,
}

/// Dissects a decoded frame into a tree holding what `want` asks for.
pub fn dissect<'a>(
    info: &FrameInfo<'a>,
    decoded: &'a Decoded<'a>,
    prefs: &Preferences,
    want: &'a Want,
) -> Tree<'a> {
    let mut tree = Tree::new(want);
    let frame_end = frame::dissect(info, &mut tree);
    match decoded {
        Decoded::Event { event, raw_packet } => {
            event::dissect(event, raw_packet.as_deref(), prefs, &mut tree);
        }
        Decoded::MalformedEvent(e) => event::dissect_malformed(e, &mut tree),
        Decoded::Artifact(art) => artifact::dissect(art, prefs, &mut tree),
        Decoded::MalformedArtifact(e) => artifact::dissect_malformed(e, &mut tree),
        Decoded::Packet {
            context: packet_context,
        } => {
            if let Some(ctx) = packet_context {
                context::dissect(ctx, prefs, &mut tree);
            }
            let link_type = info
                .frame
                .capture
                .as_ref()
                .map_or(0, |c| c.interface.link_type);
            packet::dissect_link(&info.frame.data, link_type, &mut tree);
        }
    }
    event::columns_as_fields(&mut tree);
    frame::finish(frame_end, &mut tree);
    tree
}
