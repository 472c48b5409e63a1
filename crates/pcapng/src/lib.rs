/*!
Reading and writing packet capture files: PcapNG and classic pcap.

[`CaptureReader`] reads either format from any [`std::io::Read`] (a file, a pipe, a gzip
stream), one record at a time, without holding the file in memory. It accepts several sections,
several interfaces, both byte orders, both classic magics (micro- and nanosecond), and skips
block types it does not use. Damage is not fatal: a truncated block, a bad length or a record
that does not parse is reported as a [`Damage`] with its byte offset, the reader looks for the
next valid record, and reading goes on.

[`PcapNgWriter`] writes little-endian PcapNG: a section header, interface description blocks
(added lazily, before their first packet) and enhanced packet blocks. Interface and packet
options read from any file are kept as [`RawOption`]s in little-endian form, so a packet copied
from one file to another keeps its interface, timestamp units and options unchanged.

Tracee events travel in PcapNG as ordinary packets on a `LINKTYPE_USER0` interface
(formats.md §2); [`Interface::tracee_events`] builds that interface.
*/

#![deny(missing_docs)]

mod interface;
mod read;
mod write;

pub use interface::{
    option_code, Interface, RawOption, LINKTYPE_ETHERNET, LINKTYPE_NULL, LINKTYPE_USER0,
    LINKTYPE_USER1,
};
pub use read::{CaptureReader, Damage, Format, Next, Packet, MAX_RECORD_LEN};
pub use write::PcapNgWriter;

/// The first four bytes of a PcapNG file (a section header block).
pub const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// True when `head` (the first bytes of a file) starts a PcapNG or classic pcap file.
pub fn sniff(head: &[u8]) -> Option<Format> {
    read::sniff(head)
}
