//! Streaming reader for PcapNG and classic pcap, with recovery from damage.
//!
//! Framing (block and record boundaries, lengths, truncation, resynchronisation) is done here,
//! because that is where a forensic reader must be careful; the bodies of well-framed blocks are
//! decoded with `pcap-parser`.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::Arc;

use bytes::Bytes;
use pcap_parser::pcapng::{
    parse_enhancedpacketblock_be, parse_enhancedpacketblock_le, parse_interfacedescriptionblock_be,
    parse_interfacedescriptionblock_le, parse_sectionheaderblock, parse_simplepacketblock_be,
    parse_simplepacketblock_le,
};
use pcap_parser::PcapNGOption;

use crate::interface::{numeric_width, BlockKind, Interface, RawOption};

/// The largest block or record accepted (16 MiB). A length field above this is damage, not an
/// allocation request.
pub const MAX_RECORD_LEN: usize = 16 << 20;

/// How far the reader scans past damage for the next valid record before giving up on the rest
/// of a file.
const RESYNC_BUDGET: u64 = 256 << 20;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const OBSOLETE_PB: u32 = 2;
const SPB: u32 = 3;
const NRB: u32 = 4;
const ISB: u32 = 5;
const EPB: u32 = 6;
const DSB: u32 = 0x0A;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// The capture file formats this reader understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PcapNG.
    PcapNg,
    /// Classic libpcap, either byte order, micro- or nanosecond timestamps.
    Pcap,
}

pub(crate) fn sniff(head: &[u8]) -> Option<Format> {
    let magic: [u8; 4] = head.get(..4)?.try_into().ok()?;
    if magic == crate::PCAPNG_MAGIC {
        return Some(Format::PcapNg);
    }
    PcapMagic::from_bytes(magic).map(|_| Format::Pcap)
}

/// A packet (or event) record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Index into [`CaptureReader::interfaces`].
    pub interface: usize,
    /// Timestamp in the interface's units (see [`Interface::ts_to_ns`]).
    pub ts_raw: u64,
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// The captured bytes (for an enhanced packet block, a slice of the block as read: no copy).
    pub data: Bytes,
    /// Enhanced packet block options, little-endian.
    pub options: Vec<RawOption>,
    /// Byte offset of the record in the (decompressed) stream.
    pub offset: u64,
}

/// A damaged or unreadable part of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset where the damage was found.
    pub offset: u64,
    /// What was wrong.
    pub message: String,
}

/// What [`CaptureReader::next`] found.
#[derive(Debug)]
pub enum Next {
    /// A record.
    Packet(Packet),
    /// A damaged record, skipped; reading may go on.
    Damage(Damage),
    /// The end of the file.
    End,
}

/// A byte source that counts its offset and can take bytes back.
struct Input<R> {
    inner: R,
    pushback: VecDeque<u8>,
    offset: u64,
}

impl<R: Read> Input<R> {
    /// Appends up to `n` bytes to `buf`; fewer only at the end of input.
    fn read_up_to(&mut self, buf: &mut Vec<u8>, n: usize) -> io::Result<usize> {
        let from_pushback = n.min(self.pushback.len());
        buf.extend(self.pushback.drain(..from_pushback));
        let mut got = from_pushback;
        if got < n {
            // `take` + `read_to_end` grows the buffer as data arrives, so a huge `n` at the end
            // of a file never becomes a huge allocation.
            got += (&mut self.inner).take((n - got) as u64).read_to_end(buf)?;
        }
        self.offset += got as u64;
        Ok(got)
    }

    /// Puts `bytes` back in front of the input.
    fn unread(&mut self, bytes: &[u8]) {
        for &b in bytes.iter().rev() {
            self.pushback.push_front(b);
        }
        self.offset -= bytes.len() as u64;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct PcapMagic {
    big_endian: bool,
    nanoseconds: bool,
    modified: bool,
}

impl PcapMagic {
    fn from_bytes(m: [u8; 4]) -> Option<PcapMagic> {
        let le = u32::from_le_bytes(m);
        let be = u32::from_be_bytes(m);
        let kind = |v: u32| match v {
            0xA1B2_C3D4 => Some((false, false)),
            0xA1B2_3C4D => Some((true, false)),
            0xA1B2_CD34 => Some((false, true)),
            _ => None,
        };
        if let Some((nanoseconds, modified)) = kind(le) {
            Some(PcapMagic {
                big_endian: false,
                nanoseconds,
                modified,
            })
        } else {
            kind(be).map(|(nanoseconds, modified)| PcapMagic {
                big_endian: true,
                nanoseconds,
                modified,
            })
        }
    }
}

/// The outcome of framing one PcapNG block.
enum Framed {
    Block { block_type: u32, big_endian: bool },
    End,
}

enum FrameError {
    /// The stream cannot go on (read error, truncation at the end).
    Fatal(Damage),
    /// This block is damaged; look for the next one.
    Skip(Damage),
}

/// Block types a resynchronising reader accepts as the start of a block.
const KNOWN_BLOCKS: [u32; 11] = [
    SHB,
    IDB,
    OBSOLETE_PB,
    SPB,
    NRB,
    ISB,
    EPB,
    9,
    DSB,
    0x0BAD,
    0x4000_0BAD,
];

/// Per-format reading state.
enum State {
    PcapNg {
        big_endian: bool,
        /// Section-local interface IDs to indexes in `interfaces`.
        section_interfaces: Vec<usize>,
    },
    Pcap {
        magic: PcapMagic,
        last_ts_sec: Option<u32>,
    },
}

/// Reads records from a PcapNG or classic pcap stream.
pub struct CaptureReader<R> {
    input: Input<R>,
    state: State,
    interfaces: Vec<Arc<Interface>>,
    /// Bytes examined since the last good record while looking past damage; `None` when not
    /// resynchronising.
    resync_spent: Option<u64>,
    done: bool,
    skipped_blocks: u64,
}

fn u32_at(b: &[u8], at: usize, big_endian: bool) -> u32 {
    let bytes: [u8; 4] = b[at..at + 4].try_into().unwrap_or([0; 4]);
    if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    }
}

fn block_name(t: u32) -> String {
    match t {
        SHB => "section header block".into(),
        IDB => "interface description block".into(),
        OBSOLETE_PB => "packet block".into(),
        SPB => "simple packet block".into(),
        NRB => "name resolution block".into(),
        ISB => "interface statistics block".into(),
        EPB => "enhanced packet block".into(),
        DSB => "decryption secrets block".into(),
        other => format!("block of type 0x{other:08x}"),
    }
}

/// Options with numeric values turned little-endian.
fn normalize_options(
    options: &[PcapNGOption],
    kind: BlockKind,
    big_endian: bool,
) -> Vec<RawOption> {
    options
        .iter()
        .filter(|o| o.code.0 != 0) // opt_endofopt
        .map(|o| {
            // `value` holds the padding too; the declared length says where the value ends.
            let mut value = o.as_bytes().unwrap_or(o.value()).to_vec();
            if big_endian {
                if let Some(width) = numeric_width(kind, o.code.0) {
                    if value.len() >= width {
                        value[..width].reverse();
                    }
                }
            }
            RawOption {
                code: o.code.0,
                value,
            }
        })
        .collect()
}

impl<R: Read> CaptureReader<R> {
    /// Starts reading: reads the file header (a section header block or a pcap header).
    /// Fails when the stream is not a capture file or its header is damaged.
    pub fn new(inner: R) -> Result<Self, Damage> {
        let mut input = Input {
            inner,
            pushback: VecDeque::new(),
            offset: 0,
        };
        let mut head = Vec::with_capacity(24);
        let io_damage = |e: io::Error| Damage {
            offset: 0,
            message: format!("read error: {e}"),
        };
        let got = input.read_up_to(&mut head, 4).map_err(io_damage)?;
        if got < 4 {
            return Err(Damage {
                offset: 0,
                message: "file too short to be a capture file".into(),
            });
        }
        let magic: [u8; 4] = [head[0], head[1], head[2], head[3]];
        if magic == crate::PCAPNG_MAGIC {
            input.unread(&head);
            let mut reader = CaptureReader {
                input,
                state: State::PcapNg {
                    big_endian: false,
                    section_interfaces: Vec::new(),
                },
                interfaces: Vec::new(),
                resync_spent: None,
                done: false,
                skipped_blocks: 0,
            };
            // The first block must be a valid section header.
            match reader.next_pcapng_block(true) {
                Ok(None) => Ok(reader),
                Ok(Some(_)) => Err(Damage {
                    offset: 0,
                    message: "PcapNG file does not start with a section header".into(),
                }),
                Err(d) => Err(d),
            }
        } else if let Some(magic) = PcapMagic::from_bytes(magic) {
            input.read_up_to(&mut head, 20).map_err(io_damage)?;
            if head.len() < 24 {
                return Err(Damage {
                    offset: 0,
                    message: "truncated pcap file header".into(),
                });
            }
            let snaplen = u32_at(&head, 16, magic.big_endian);
            let link_type = (u32_at(&head, 20, magic.big_endian) & 0xFFFF) as u16;
            let iface = Interface::classic(link_type, snaplen, magic.nanoseconds);
            Ok(CaptureReader {
                input,
                state: State::Pcap {
                    magic,
                    last_ts_sec: None,
                },
                interfaces: vec![Arc::new(iface)],
                resync_spent: None,
                done: false,
                skipped_blocks: 0,
            })
        } else {
            Err(Damage {
                offset: 0,
                message: format!(
                    "not a pcap or PcapNG file (magic {:02x} {:02x} {:02x} {:02x})",
                    magic[0], magic[1], magic[2], magic[3]
                ),
            })
        }
    }

    /// The format being read.
    pub fn format(&self) -> Format {
        match self.state {
            State::PcapNg { .. } => Format::PcapNg,
            State::Pcap { .. } => Format::Pcap,
        }
    }

    /// Every interface seen so far, across sections, in order of appearance.
    pub fn interfaces(&self) -> &[Arc<Interface>] {
        &self.interfaces
    }

    /// Blocks of kinds this reader does not use (statistics, name resolution, custom...), skipped.
    pub fn skipped_blocks(&self) -> u64 {
        self.skipped_blocks
    }

    /// The next record, a report of damage, or the end.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Next {
        if self.done {
            return Next::End;
        }
        let result = match self.state {
            State::PcapNg { .. } => self.next_pcapng_block(false),
            State::Pcap { .. } => self.next_pcap_record(),
        };
        match result {
            Ok(Some(packet)) => {
                self.resync_spent = None;
                Next::Packet(packet)
            }
            Ok(None) => Next::End,
            Err(d) => Next::Damage(d),
        }
    }

    fn fail_io(&mut self, e: io::Error) -> Damage {
        self.done = true;
        Damage {
            offset: self.input.offset,
            message: format!("read error: {e}"),
        }
    }

    /// Marks the bytes after `start` for rescanning, one byte further on, and charges the
    /// resynchronisation budget.
    fn resync_after(&mut self, start: u64, consumed: &[u8]) -> Option<Damage> {
        let keep_from = 1.min(consumed.len());
        self.input.unread(&consumed[keep_from..]);
        let spent = self.resync_spent.get_or_insert(0);
        *spent += consumed.len().max(1) as u64;
        if *spent > RESYNC_BUDGET {
            self.done = true;
            return Some(Damage {
                offset: start,
                message: format!(
                    "no valid record found in the {} MiB after the damage; the rest of the file is skipped",
                    RESYNC_BUDGET >> 20
                ),
            });
        }
        None
    }

    /// Reads blocks until a packet, the end, or damage. With `header_only`, reads exactly the
    /// first block, which must be a section header.
    fn next_pcapng_block(&mut self, header_only: bool) -> Result<Option<Packet>, Damage> {
        loop {
            let start = self.input.offset;
            let mut buf = Vec::with_capacity(64);
            match self.frame_pcapng_block(&mut buf, start) {
                Ok(Framed::Block {
                    block_type,
                    big_endian,
                }) => {
                    // A well-framed block: back in sync.
                    self.resync_spent = None;
                    if header_only && block_type != SHB {
                        return Err(Damage {
                            offset: start,
                            message: "PcapNG file does not start with a section header".into(),
                        });
                    }
                    match self.decode_block(block_type, big_endian, buf, start)? {
                        Some(p) => return Ok(Some(p)),
                        None if header_only => return Ok(None),
                        None => {}
                    }
                }
                Ok(Framed::End) => {
                    self.done = true;
                    return Ok(None);
                }
                Err(FrameError::Fatal(d)) => {
                    self.done = true;
                    return Err(d);
                }
                Err(FrameError::Skip(d)) => {
                    if header_only {
                        return Err(d);
                    }
                    // Past damage, look for the next block one byte further on. Only the first
                    // problem of a damaged stretch is reported.
                    let reporting = self.resync_spent.is_none();
                    if let Some(give_up) = self.resync_after(start, &buf) {
                        return Err(give_up);
                    }
                    if reporting {
                        return Err(d);
                    }
                }
            }
        }
    }

    /// Reads one block's bytes into `buf` and checks its framing.
    fn frame_pcapng_block(&mut self, buf: &mut Vec<u8>, start: u64) -> Result<Framed, FrameError> {
        let resyncing = self.resync_spent.is_some();
        let io = |e: io::Error| {
            FrameError::Fatal(Damage {
                offset: start,
                message: format!("read error: {e}"),
            })
        };
        let got = self.input.read_up_to(buf, 8).map_err(io)?;
        if got == 0 {
            return Ok(Framed::End);
        }
        if got < 8 {
            if resyncing {
                return Ok(Framed::End); // the damage before this was reported already
            }
            return Err(FrameError::Fatal(Damage {
                offset: start,
                message: format!("truncated block header ({got} of 8 bytes)"),
            }));
        }
        let skip = |message: String| {
            FrameError::Skip(Damage {
                offset: start,
                message,
            })
        };
        let mut big_endian = matches!(
            self.state,
            State::PcapNg {
                big_endian: true,
                ..
            }
        );
        if u32_at(buf, 0, false) == SHB {
            if self.input.read_up_to(buf, 4).map_err(io)? < 4 {
                return Err(skip("truncated section header block".into()));
            }
            big_endian = match u32_at(buf, 8, false) {
                BYTE_ORDER_MAGIC => false,
                m if m.swap_bytes() == BYTE_ORDER_MAGIC => true,
                m => {
                    return Err(skip(format!(
                        "section header with an invalid byte-order magic 0x{m:08x}"
                    )))
                }
            };
        }
        let block_type = u32_at(buf, 0, big_endian);
        if resyncing && !KNOWN_BLOCKS.contains(&block_type) {
            return Err(skip(String::new()));
        }
        let block_len = u32_at(buf, 4, big_endian) as usize;
        let min_len = if block_type == SHB { 28 } else { 12 };
        if block_len < min_len || block_len % 4 != 0 || block_len > MAX_RECORD_LEN {
            return Err(skip(format!(
                "{} with an invalid length of {block_len} bytes",
                block_name(block_type)
            )));
        }
        let need = block_len - buf.len();
        // Room for the whole block at once rather than growing five times; bounded, so that a
        // hostile length is still only met by the bytes that really come.
        buf.reserve_exact(need.min(64 << 10));
        let got = self.input.read_up_to(buf, need).map_err(io)?;
        if got < need {
            let message = format!(
                "truncated {}: it declares {block_len} bytes but the file ends after {}",
                block_name(block_type),
                buf.len()
            );
            // While resynchronising, a candidate that runs off the end was not a block.
            return Err(if resyncing {
                skip(message)
            } else {
                FrameError::Fatal(Damage {
                    offset: start,
                    message,
                })
            });
        }
        let trailer = u32_at(buf, block_len - 4, big_endian) as usize;
        if trailer != block_len {
            return Err(skip(format!(
                "{} whose length fields disagree ({block_len} at the start, {trailer} at the end)",
                block_name(block_type)
            )));
        }
        Ok(Framed::Block {
            block_type,
            big_endian,
        })
    }

    fn decode_block(
        &mut self,
        block_type: u32,
        big_endian: bool,
        block: Vec<u8>,
        start: u64,
    ) -> Result<Option<Packet>, Damage> {
        let buf = &block[..];
        let bad = |what: &str| Damage {
            offset: start,
            message: format!("malformed {}: {what}", block_name(block_type)),
        };
        match block_type {
            SHB => {
                parse_sectionheaderblock(buf).map_err(|e| bad(&format!("{e:?}")))?;
                self.state = State::PcapNg {
                    big_endian,
                    section_interfaces: Vec::new(),
                };
                Ok(None)
            }
            IDB => {
                let parsed = if big_endian {
                    parse_interfacedescriptionblock_be(buf)
                } else {
                    parse_interfacedescriptionblock_le(buf)
                };
                let (_, idb) = parsed.map_err(|_| bad("options do not fit the block"))?;
                let iface = Interface {
                    link_type: idb.linktype.0 as u16,
                    snaplen: idb.snaplen,
                    options: normalize_options(&idb.options, BlockKind::Interface, big_endian),
                };
                self.interfaces.push(Arc::new(iface));
                let index = self.interfaces.len() - 1;
                if let State::PcapNg {
                    section_interfaces, ..
                } = &mut self.state
                {
                    section_interfaces.push(index);
                }
                Ok(None)
            }
            EPB => {
                let parsed = if big_endian {
                    parse_enhancedpacketblock_be(buf)
                } else {
                    parse_enhancedpacketblock_le(buf)
                };
                let (_, epb) =
                    parsed.map_err(|_| bad("captured length or options do not fit the block"))?;
                let interface = self.section_interface(epb.if_id, start)?;
                let caplen = (epb.caplen as usize).min(epb.data.len());
                // Where the payload sits in the block: the packet keeps the block's buffer
                // and points into it, rather than copying the payload out.
                let at = epb.data.as_ptr() as usize - buf.as_ptr() as usize;
                let (ts_raw, orig_len) = (
                    ((epb.ts_high as u64) << 32) | epb.ts_low as u64,
                    epb.origlen,
                );
                let options = normalize_options(&epb.options, BlockKind::Packet, big_endian);
                Ok(Some(Packet {
                    interface,
                    ts_raw,
                    orig_len,
                    data: Bytes::from(block).slice(at..at + caplen),
                    options,
                    offset: start,
                }))
            }
            SPB => {
                let parsed = if big_endian {
                    parse_simplepacketblock_be(buf)
                } else {
                    parse_simplepacketblock_le(buf)
                };
                let (_, spb) = parsed.map_err(|_| bad("does not parse"))?;
                let interface = self.section_interface(0, start)?;
                let snaplen = self.interfaces[interface].snaplen as usize;
                let mut caplen = (spb.origlen as usize).min(spb.data.len());
                if snaplen > 0 {
                    caplen = caplen.min(snaplen);
                }
                Ok(Some(Packet {
                    interface,
                    ts_raw: 0,
                    orig_len: spb.origlen,
                    data: Bytes::copy_from_slice(&spb.data[..caplen]),
                    options: Vec::new(),
                    offset: start,
                }))
            }
            OBSOLETE_PB => {
                // interface id u16, drops u16, ts high, ts low, caplen, len, data.
                if buf.len() < 32 {
                    return Err(bad("too short"));
                }
                let if_id = if big_endian {
                    u16::from_be_bytes([buf[8], buf[9]])
                } else {
                    u16::from_le_bytes([buf[8], buf[9]])
                };
                let interface = self.section_interface(if_id as u32, start)?;
                let caplen = u32_at(buf, 20, big_endian) as usize;
                let orig_len = u32_at(buf, 24, big_endian);
                let data = buf
                    .get(28..28 + caplen)
                    .filter(|_| 28 + caplen <= buf.len() - 4)
                    .ok_or_else(|| bad("captured length does not fit the block"))?;
                Ok(Some(Packet {
                    interface,
                    ts_raw: ((u32_at(buf, 12, big_endian) as u64) << 32)
                        | u32_at(buf, 16, big_endian) as u64,
                    orig_len,
                    data: Bytes::copy_from_slice(data),
                    options: Vec::new(),
                    offset: start,
                }))
            }
            // Statistics, name resolution, secrets, custom and unknown blocks carry nothing
            // the views use.
            _ => {
                self.skipped_blocks += 1;
                Ok(None)
            }
        }
    }

    fn section_interface(&self, if_id: u32, start: u64) -> Result<usize, Damage> {
        let section_interfaces: &[usize] = match &self.state {
            State::PcapNg {
                section_interfaces, ..
            } => section_interfaces,
            State::Pcap { .. } => &[],
        };
        section_interfaces
            .get(if_id as usize)
            .copied()
            .ok_or_else(|| Damage {
                offset: start,
                message: format!(
                    "packet refers to interface {if_id}, but its section has {} interface(s)",
                    section_interfaces.len()
                ),
            })
    }

    fn next_pcap_record(&mut self) -> Result<Option<Packet>, Damage> {
        let (magic, last_ts_sec) = match self.state {
            State::Pcap { magic, last_ts_sec } => (magic, last_ts_sec),
            State::PcapNg { .. } => return Ok(None),
        };
        let header_len = if magic.modified { 24 } else { 16 };
        let units: u32 = if magic.nanoseconds {
            1_000_000_000
        } else {
            1_000_000
        };
        loop {
            let start = self.input.offset;
            let resyncing = self.resync_spent.is_some();
            let mut buf = Vec::with_capacity(header_len);
            let got = self
                .input
                .read_up_to(&mut buf, header_len)
                .map_err(|e| self.fail_io(e))?;
            if got == 0 {
                self.done = true;
                return Ok(None);
            }
            if got < header_len {
                self.done = true;
                if resyncing {
                    return Ok(None);
                }
                return Err(Damage {
                    offset: start,
                    message: format!("truncated record header ({got} of {header_len} bytes)"),
                });
            }
            let be = magic.big_endian;
            let (ts_sec, ts_frac) = (u32_at(&buf, 0, be), u32_at(&buf, 4, be));
            let (caplen, orig_len) = (u32_at(&buf, 8, be) as usize, u32_at(&buf, 12, be));
            let max_caplen = (self.interfaces[0].snaplen as usize).clamp(262_144, MAX_RECORD_LEN);
            let plausible = caplen <= max_caplen
                && ts_frac < units
                && (!resyncing
                    || Self::plausible_after_damage(caplen, orig_len, ts_sec, last_ts_sec));
            if !plausible {
                let d = Damage {
                    offset: start,
                    message: if caplen > max_caplen {
                        format!("record with an implausible captured length of {caplen} bytes")
                    } else {
                        format!("record with an invalid timestamp fraction {ts_frac}")
                    },
                };
                if let Some(b) = self.resync_after(start, &buf) {
                    return Err(b);
                }
                if resyncing {
                    continue;
                }
                return Err(d);
            }
            let got = self
                .input
                .read_up_to(&mut buf, caplen)
                .map_err(|e| self.fail_io(e))?;
            if got < caplen && resyncing {
                // A candidate that runs off the end was not a record.
                if let Some(give_up) = self.resync_after(start, &buf) {
                    return Err(give_up);
                }
                continue;
            }
            if got < caplen {
                self.done = true;
                return Err(Damage {
                    offset: start,
                    message: format!("truncated record: it declares {caplen} captured bytes but the file ends after {got}"),
                });
            }
            self.state = State::Pcap {
                magic,
                last_ts_sec: Some(ts_sec),
            };
            buf.drain(..header_len);
            return Ok(Some(Packet {
                interface: 0,
                ts_raw: ts_sec as u64 * units as u64 + ts_frac as u64,
                orig_len,
                data: buf.into(),
                options: Vec::new(),
                offset: start,
            }));
        }
    }

    /// After damage, a candidate record header must also look like its neighbours.
    fn plausible_after_damage(
        caplen: usize,
        orig_len: u32,
        ts_sec: u32,
        last: Option<u32>,
    ) -> bool {
        let near_in_time = last.is_none_or(|l| (ts_sec as i64 - l as i64).abs() < 86_400);
        caplen <= orig_len as usize
            && orig_len as usize <= MAX_RECORD_LEN
            && caplen <= 262_144
            && near_in_time
    }
}
