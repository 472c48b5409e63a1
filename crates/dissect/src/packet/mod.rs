//! Packet dissectors with Wireshark's field names: link layers (NULL/loopback, Ethernet with
//! 802.1Q tags, Linux cooked SLL/SLL2, raw IP), IPv4, IPv6, TCP, UDP, ICMP, ICMPv6, ARP, DNS
//! (with mDNS and LLMNR) and HTTP/1.x.
//!
//! Each frame is dissected on its own: Wireshark's stateful results (relative sequence
//! numbers, `tcp.analysis.*`, stream indexes, reassembly of TCP segments and IP fragments,
//! request/response matching) are not computed, and the fields that would carry them are not
//! registered, so a filter never silently disagrees with Wireshark.
//!
//! The layout follows Wireshark's epan: a dissector reads its bytes through a [`Tvb`] (captured
//! bytes plus the length the packet claims), adds typed items with byte spans, sets the
//! columns, and hands its payload to the next dissector chosen from a port or type table. A read
//! past the captured bytes stops the layer the way Wireshark's exceptions do: `_ws.short` when
//! the capture was cut by its snap length, `_ws.malformed` when the packet's own lengths point
//! past its end. No length field ever sizes an allocation.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::IpAddr;

use osprey_field::fields::{data as d, ws};
use osprey_field::{FieldId, FieldValue};

use crate::Tree;

mod arp;
pub(crate) mod dns;
mod http;
mod icmp;
mod ip;
mod link;
mod tcp;
mod udp;

#[cfg(test)]
mod tests;

/// `LINKTYPE_NULL`: a 4-byte address family in the capturing host's byte order (Tracee's own
/// packet captures).
pub const LINKTYPE_NULL: u16 = 0;
/// `LINKTYPE_ETHERNET`.
pub const LINKTYPE_ETHERNET: u16 = 1;
/// `LINKTYPE_RAW`: the packet starts with its IP header (`net_packet_raw` events).
pub const LINKTYPE_RAW: u16 = 101;
/// `LINKTYPE_LOOP`: like NULL, with the family in network byte order (OpenBSD).
pub const LINKTYPE_LOOP: u16 = 108;
/// `LINKTYPE_LINUX_SLL`: Linux cooked capture v1.
pub const LINKTYPE_LINUX_SLL: u16 = 113;
/// `LINKTYPE_IPV4`: raw IPv4.
pub const LINKTYPE_IPV4: u16 = 228;
/// `LINKTYPE_IPV6`: raw IPv6.
pub const LINKTYPE_IPV6: u16 = 229;
/// `LINKTYPE_LINUX_SLL2`: Linux cooked capture v2.
pub const LINKTYPE_LINUX_SLL2: u16 = 276;
/// DLT 12 and 14: raw IP as Linux (and OpenBSD) number it in pcap files.
pub const DLT_RAW_12: u16 = 12;
/// See [`DLT_RAW_12`].
pub const DLT_RAW_14: u16 = 14;

/// Dissects a packet whose first byte is the start of link layer `link_type`, adding its
/// protocols to `tree` and setting the protocol, source, destination and Info columns.
/// The packet is taken to be complete (its length on the wire is `data.len()`).
pub fn dissect_link<'a>(data: &'a [u8], link_type: u16, tree: &mut Tree<'a>) {
    dissect_captured(data, data.len(), link_type, tree);
}

/// Like [`dissect_link`] for a packet cut by the capture's snap length: `orig_len` is its
/// length on the wire. Lengths in the packet that point past the captured bytes but not past
/// `orig_len` mark the frame `_ws.short` ("Packet size limited during capture"), not malformed.
pub fn dissect_captured<'a>(bytes: &'a [u8], orig_len: usize, link_type: u16, tree: &mut Tree<'a>) {
    let tvb = Tvb {
        bytes,
        start: 0,
        reported: orig_len.max(bytes.len()),
    };
    let mut cx = Cx::new(tree);
    let result = match link_type {
        LINKTYPE_NULL => link::null(&mut cx, tvb, false),
        LINKTYPE_LOOP => link::null(&mut cx, tvb, true),
        LINKTYPE_ETHERNET => link::ethernet(&mut cx, tvb),
        LINKTYPE_RAW | DLT_RAW_12 | DLT_RAW_14 => link::raw(&mut cx, tvb),
        LINKTYPE_IPV4 => ip::ipv4(&mut cx, tvb),
        LINKTYPE_IPV6 => ip::ipv6(&mut cx, tvb),
        LINKTYPE_LINUX_SLL => link::sll(&mut cx, tvb),
        LINKTYPE_LINUX_SLL2 => link::sll2(&mut cx, tvb),
        _ => {
            if cx.cols {
                cx.tree.columns.protocol = format!("LINKTYPE_{link_type}").into();
            }
            data(&mut cx, tvb);
            Ok(())
        }
    };
    if let Err(e) = result {
        cx.exception(e);
    }
}

/// Why a layer stopped early (Wireshark's `BoundsError` and `ReportedBoundsError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exc {
    /// The capture ends before the packet does (snap length).
    Short,
    /// The packet's own lengths point past its end.
    Malformed,
}

/// Result of a dissector: `Err` stops the frame's dissection where it happened.
pub(crate) type Res = Result<(), Exc>;

/// A layer's bytes: what was captured of it, where it starts in the frame (for spans), and the
/// length the enclosing layers say it has (which may exceed what was captured).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tvb<'a> {
    bytes: &'a [u8],
    start: usize,
    reported: usize,
}

impl<'a> Tvb<'a> {
    /// Captured bytes.
    #[inline]
    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Number of captured bytes.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The length the packet claims for this layer.
    #[inline]
    pub(crate) fn reported(&self) -> usize {
        self.reported
    }

    /// True when every claimed byte was captured.
    #[inline]
    pub(crate) fn complete(&self) -> bool {
        self.bytes.len() >= self.reported
    }

    /// Offset of byte `off` of this layer in the frame.
    #[inline]
    pub(crate) fn abs(&self, off: usize) -> usize {
        self.start + off
    }

    /// Checks that `off..off + n` can be read.
    #[inline]
    pub(crate) fn check(&self, off: usize, n: usize) -> Res {
        let end = off.checked_add(n).ok_or(Exc::Malformed)?;
        if end > self.bytes.len() {
            return Err(if end > self.reported {
                Exc::Malformed
            } else {
                Exc::Short
            });
        }
        Ok(())
    }

    /// Bytes `off..off + n`.
    #[inline]
    pub(crate) fn get(&self, off: usize, n: usize) -> Result<&'a [u8], Exc> {
        self.check(off, n)?;
        Ok(&self.bytes[off..off + n])
    }

    #[inline]
    pub(crate) fn u8(&self, off: usize) -> Result<u8, Exc> {
        Ok(self.get(off, 1)?[0])
    }

    #[inline]
    pub(crate) fn be16(&self, off: usize) -> Result<u16, Exc> {
        let b = self.get(off, 2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    #[inline]
    pub(crate) fn be32(&self, off: usize) -> Result<u32, Exc> {
        let b = self.get(off, 4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Fixed-size array at `off`.
    #[inline]
    pub(crate) fn array<const N: usize>(&self, off: usize) -> Result<[u8; N], Exc> {
        let b = self.get(off, N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        Ok(a)
    }

    /// Everything from `off` on (empty when `off` is past the end).
    pub(crate) fn sub(&self, off: usize) -> Tvb<'a> {
        let off_c = off.min(self.bytes.len());
        Tvb {
            bytes: &self.bytes[off_c..],
            start: self.start + off_c,
            reported: self.reported.saturating_sub(off),
        }
    }

    /// `len` claimed bytes from `off` (fewer when not captured).
    pub(crate) fn sub_len(&self, off: usize, len: usize) -> Tvb<'a> {
        let mut t = self.sub(off);
        // A length claimed past the enclosing layer's end is not believed: reads beyond it
        // are malformed, not merely cut by the snap length.
        t.reported = len.min(t.reported);
        if t.bytes.len() > len {
            t.bytes = &t.bytes[..len];
        }
        t
    }

    /// The captured bytes from `off` to the end of the claimed length.
    pub(crate) fn rest(&self, off: usize) -> &'a [u8] {
        &self.bytes[off.min(self.bytes.len())..]
    }
}

/// Dissection state shared by the layers of one frame.
pub(crate) struct Cx<'a, 't> {
    pub(crate) tree: &'t mut Tree<'a>,
    /// Columns are wanted.
    pub(crate) cols: bool,
    /// Nesting inside ICMP error payloads: the quoted packet neither sets columns nor is
    /// marked malformed for being cut short (as Wireshark's `in_error_pkt`).
    pub(crate) in_error: u8,
    /// TTL or hop limit of the innermost IP header (ICMP's Info shows it).
    pub(crate) ip_ttl: u8,
    /// Source and destination of the innermost IP header (pseudo-header checksums).
    pub(crate) net: Option<(IpAddr, IpAddr)>,
    /// The protocol being dissected, for exception messages.
    pub(crate) current: &'static str,
    /// Layers opened so far (bounds encapsulation depth: VLAN stacks, IP-in-IP, ICMP errors).
    pub(crate) layers: u8,
    /// Subtrees opened and not yet closed: closed on an exception, so that the tree of a
    /// caller (an event holding a raw packet) keeps its nesting.
    pub(crate) depth: u32,
}

/// Most layers one frame may have: deeper nesting is hostile and stops as malformed.
const MAX_LAYERS: u8 = 24;

impl<'a, 't> Cx<'a, 't> {
    fn new(tree: &'t mut Tree<'a>) -> Self {
        let cols = tree.wants_columns();
        Cx {
            tree,
            cols,
            in_error: 0,
            ip_ttl: 0,
            net: None,
            current: "Frame",
            layers: 0,
            depth: 0,
        }
    }

    /// True when columns should be written by this layer.
    #[inline]
    pub(crate) fn set_cols(&self) -> bool {
        self.cols && self.in_error == 0
    }

    /// Starts a protocol: records it in `frame.protocols` and opens its subtree (its label
    /// text is built only for the full tree).
    pub(crate) fn open(
        &mut self,
        field: FieldId,
        layer: &'static str,
        current: &'static str,
        text: impl FnOnce() -> String,
    ) -> Res {
        self.layers = self.layers.saturating_add(1);
        if self.layers > MAX_LAYERS {
            return Err(Exc::Malformed);
        }
        self.tree.layer(layer);
        self.current = current;
        let label = if self.tree.is_full() {
            Some(text())
        } else {
            None
        };
        self.tree.open(field, FieldValue::None, label);
        self.depth += 1;
        Ok(())
    }

    /// Opens a subtree inside a protocol: a labelled field (`icmpv6.opt`) or, with `None`, a
    /// text-only node (`Queries`, `Options: (12 bytes)`).
    pub(crate) fn subtree(&mut self, field: Option<FieldId>, text: impl FnOnce() -> String) {
        match field {
            Some(f) => {
                let label = if self.tree.is_full() {
                    Some(text())
                } else {
                    None
                };
                self.tree.open(f, FieldValue::None, label);
            }
            None => self.tree.open_text(ws::TEXT, text),
        }
        self.depth += 1;
    }

    /// Closes the innermost protocol or subtree.
    pub(crate) fn close(&mut self) {
        if self.depth > 0 {
            self.depth -= 1;
            self.tree.close();
        }
    }

    /// Closes subtrees until `depth` are open (after a nested layer stopped early).
    pub(crate) fn unwind(&mut self, depth: u32) {
        while self.depth > depth {
            self.close();
        }
    }

    /// Sets the protocol column.
    pub(crate) fn protocol(&mut self, name: impl Into<Cow<'static, str>>) {
        if self.set_cols() {
            self.tree.columns.protocol = name.into();
        }
    }

    /// Replaces the Info column with what `f` writes.
    pub(crate) fn info(&mut self, f: impl FnOnce(&mut String)) {
        if self.set_cols() {
            self.tree.columns.info.clear();
            f(&mut self.tree.columns.info);
        }
    }

    /// Appends to the Info column.
    pub(crate) fn info_append(&mut self, f: impl FnOnce(&mut String)) {
        if self.set_cols() {
            f(&mut self.tree.columns.info);
        }
    }

    /// Sets the source and destination columns.
    pub(crate) fn addresses(&mut self, src: &dyn std::fmt::Display, dst: &dyn std::fmt::Display) {
        if self.set_cols() {
            let c = &mut self.tree.columns;
            c.source.clear();
            c.destination.clear();
            let _ = write!(c.source, "{src}");
            let _ = write!(c.destination, "{dst}");
        }
    }

    /// Adds a value read from `tvb[off..off + len]`.
    #[inline]
    pub(crate) fn add(
        &mut self,
        field: FieldId,
        value: FieldValue<'a>,
        tvb: &Tvb<'a>,
        off: usize,
        len: usize,
    ) {
        let s = tvb.abs(off);
        self.tree.add_span(field, value, s, s + len);
    }

    /// Adds an unsigned value read from `tvb[off..off + len]`.
    #[inline]
    pub(crate) fn uint(
        &mut self,
        field: FieldId,
        v: impl Into<u64>,
        tvb: &Tvb<'a>,
        off: usize,
        len: usize,
    ) {
        self.add(field, FieldValue::UInt(v.into()), tvb, off, len);
    }

    /// Adds a boolean read from `tvb[off..off + len]`.
    #[inline]
    pub(crate) fn flag(&mut self, field: FieldId, v: bool, tvb: &Tvb<'a>, off: usize, len: usize) {
        self.add(field, FieldValue::Bool(v), tvb, off, len);
    }

    /// Adds a problem found in the packet: `_ws.malformed` with an expert message, kept
    /// with the rest of what was dissected.
    pub(crate) fn malformed(&mut self, message: impl FnOnce() -> String) {
        let wants = self.tree.wants(ws::EXPERT_MESSAGE);
        self.tree.add(ws::MALFORMED, FieldValue::None);
        if wants {
            self.tree
                .add(ws::EXPERT_MESSAGE, FieldValue::Str(message().into()));
        }
    }

    /// Ends the frame after a layer stopped early, as Wireshark's `show_exception` does.
    fn exception(&mut self, e: Exc) {
        // Every subtree opened so far ends here; the marks sit at the top level.
        self.unwind(0);
        let proto = self.current;
        match e {
            Exc::Short => {
                let wants = self.tree.wants(ws::SHORT);
                if wants {
                    self.tree.add(ws::SHORT, FieldValue::None);
                }
                if self.cols {
                    let _ = write!(
                        self.tree.columns.info,
                        "[Packet size limited during capture: {proto} truncated]"
                    );
                }
            }
            Exc::Malformed => {
                self.malformed(|| "Malformed Packet (Exception occurred)".to_string());
                if self.cols {
                    self.tree.columns.info.push_str("[Malformed Packet]");
                }
            }
        }
    }
}

/// Bytes no dissector claims: Wireshark's "Data" protocol. Touches no column.
pub(crate) fn data<'a>(cx: &mut Cx<'a, '_>, tvb: Tvb<'a>) {
    let bytes = tvb.bytes();
    if bytes.is_empty() {
        return;
    }
    cx.tree.layer("data");
    let label = if cx.tree.is_full() {
        Some(format!("Data ({} bytes)", bytes.len()))
    } else {
        None
    };
    cx.tree.open(d::DATA, FieldValue::None, label);
    cx.depth += 1;
    cx.add(
        d::DATA_DATA,
        FieldValue::Bytes(bytes.into()),
        &tvb,
        0,
        bytes.len(),
    );
    cx.tree
        .add(d::DATA_LEN, FieldValue::Int(bytes.len() as i64));
    cx.close();
}

/// The Internet checksum of `parts` (one's complement sum, RFC 1071); 0 means correct when the
/// checksum field is included.
pub(crate) fn inet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u64 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        let mut p: &[u8] = part;
        if let Some(hi) = odd.take() {
            if let Some((&lo, rest)) = p.split_first() {
                sum += u64::from(u16::from_be_bytes([hi, lo]));
                p = rest;
            } else {
                odd = Some(hi);
                continue;
            }
        }
        let mut chunks = p.chunks_exact(2);
        for c in &mut chunks {
            sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            odd = Some(*last);
        }
    }
    if let Some(hi) = odd {
        sum += u64::from(u16::from_be_bytes([hi, 0]));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Looks `v` up in a value table.
pub(crate) fn name_of(table: &'static [(i64, &'static str)], v: u64) -> Option<&'static str> {
    table.iter().find(|(n, _)| *n as u64 == v).map(|(_, s)| *s)
}

/// A MAC address as Wireshark prints it without name resolution.
pub(crate) struct Mac<'b>(pub(crate) &'b [u8]);

impl std::fmt::Display for Mac<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}
