/*!
Opening recordings and turning them into one stream of frames.

An input is a file, standard input (`-`) or a Tracee capture directory. Its format is found from
its content, never its name: Tracee JSON of any generation, PcapNG, classic pcap, Osprey's
artifact index (`artifacts.jsonl`), and the gzip form of each ([`sniff`]). A capture directory
(`<dir>` or `<dir>/out`) opens as every event file, packet capture and artifact index inside it.

[`Inputs::frames`] reads every input in order and merges them by timestamp, the way `mergecap`
does: each input keeps its own order, and at each step the input whose next frame is earliest
goes first. Frames are numbered from 1 as they leave the merge. A [`Frame`] keeps the exact bytes
it was read as — the JSON text of an event, or a packet's bytes with its interface and options —
so every writer can pass it through unchanged.

Damage never stops reading. A bad line or block is reported to the [`Diagnostics`] with the file
and line number or byte offset, counted, and skipped; everything readable is still read.
*/

#![deny(missing_docs)]

mod diagnostics;
mod json_lines;
mod merge;
mod open;

use std::sync::Arc;

pub use bytes::Bytes;
pub use diagnostics::{Diagnostics, InputStats, Location, Problem};
pub use merge::Frames;
pub use open::{sniff, ContentKind, InputFile, Inputs, OpenError};

use osprey_pcapng::{Interface, RawOption};

/// What a frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A Tracee event; `data` is its JSON text (no newline).
    Event,
    /// A packet; `data` is its bytes.
    Packet,
    /// A record of Osprey's artifact index; `data` is its JSON text (no newline).
    Artifact,
}

/// One record of a recording: a Tracee event, a packet or an artifact record.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// 1-based position in the merged stream.
    pub number: u64,
    /// Nanoseconds since the Unix epoch.
    pub ts: u64,
    /// Index of the input it came from (see [`Inputs::files`]).
    pub input: u32,
    /// Where in that input it was read.
    pub location: Location,
    /// What it is.
    pub kind: FrameKind,
    /// The record's bytes, exactly as read (for JSON lines, a slice of the buffer they were read
    /// into, shared with the frames around it).
    pub data: Bytes,
    /// For frames read from a capture file: the interface, raw timestamp and options, so the
    /// frame can be written to PcapNG unchanged. `None` for records read from JSON.
    pub capture: Option<Box<Captured>>,
}

/// What a capture file says about a frame beyond its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Captured {
    /// The interface the frame was recorded on.
    pub interface: Arc<Interface>,
    /// The timestamp in the interface's units.
    pub ts_raw: u64,
    /// Length on the wire.
    pub orig_len: u32,
    /// Enhanced packet block options.
    pub options: Vec<RawOption>,
}
