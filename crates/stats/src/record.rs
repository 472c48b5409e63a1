//! What the statistics keep of a dissected frame: the values of the fields the views read,
//! copied out of its [`Tree`] where it was dissected (a worker thread), so that the views can
//! run later, in frame order, on another thread.
//!
//! A [`Records`] holds the frames of one batch: their values in one vector and their text in
//! one string, so recording a frame allocates nothing once the batch's buffers have grown.
//! Views read a frame through [`Rec`], by [`FieldId`], and get the registry's own
//! [`FieldValue`]s back.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use osprey_dissect::Tree;
use osprey_field::fields::{frame, icmp, ip, tcp, tracee, udp};
use osprey_field::{FieldId, FieldType, FieldValue};
use osprey_source::FrameKind;

/// A set of fields: a bitset over static field IDs and a short list of argument fields.
#[derive(Clone, Debug, Default)]
pub(crate) struct FieldSet {
    bits: Vec<u64>,
    dynamic: Vec<FieldId>,
}

impl FieldSet {
    pub(crate) fn insert(&mut self, id: FieldId) {
        if id.is_dynamic() {
            if !self.dynamic.contains(&id) {
                self.dynamic.push(id);
            }
            return;
        }
        let i = id.0 as usize;
        if self.bits.len() <= i / 64 {
            self.bits.resize(i / 64 + 1, 0);
        }
        self.bits[i / 64] |= 1 << (i % 64);
    }

    #[inline]
    pub(crate) fn contains(&self, id: FieldId) -> bool {
        if id.is_dynamic() {
            return self.dynamic.contains(&id);
        }
        let i = id.0 as usize;
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = FieldId> + '_ {
        self.bits
            .iter()
            .enumerate()
            .flat_map(|(w, bits)| {
                (0..64)
                    .filter(move |b| bits & (1 << b) != 0)
                    .map(move |b| FieldId((w * 64 + b) as u32))
            })
            .chain(self.dynamic.iter().copied())
    }
}

/// Where each field of a [`FieldSet`] is in a frame's slot table: static fields by ID, argument
/// fields in a short list. A frame records, for every slot, the index of the field's first
/// value, so that a view finds a value without a search.
#[derive(Debug, Default)]
pub(crate) struct Slots {
    by_id: Vec<u16>,
    dynamic: Vec<FieldId>,
    len: usize,
}

/// The slots of a run that recorded nothing but skipped frames.
static NO_SLOTS: Slots = Slots {
    by_id: Vec::new(),
    dynamic: Vec::new(),
    len: 0,
};

/// A slot with no value in the frame.
const EMPTY: u32 = u32::MAX;

impl Slots {
    /// The slot of `id`, if the set has it.
    #[inline]
    fn of(&self, id: FieldId) -> Option<usize> {
        if id.is_dynamic() {
            let i = self.dynamic.iter().position(|d| *d == id)?;
            return Some(self.len - self.dynamic.len() + i);
        }
        match self.by_id.get(id.0 as usize) {
            Some(&s) if s != 0 => Some(s as usize - 1),
            _ => None,
        }
    }
}

impl FieldSet {
    /// The slot table of the set's fields.
    pub(crate) fn slots(&self) -> Slots {
        let mut by_id = Vec::new();
        let mut n = 0usize;
        for id in self.iter().filter(|id| !id.is_dynamic()) {
            let i = id.0 as usize;
            if by_id.len() <= i {
                by_id.resize(i + 1, 0u16);
            }
            n += 1;
            by_id[i] = u16::try_from(n).expect("fewer than 65535 fields");
        }
        Slots {
            by_id,
            dynamic: self.dynamic.clone(),
            len: n + self.dynamic.len(),
        }
    }
}

/// A value as recorded: text and bytes are ranges of the batch's arena.
#[derive(Clone, Copy, Debug)]
enum Val {
    None,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Double(f64),
    Str(u32, u32),
    Bytes(u32, u32),
    AbsTime(u64),
    RelTime(i64),
    Ipv4([u8; 4]),
    Ipv6([u8; 16]),
    Ether([u8; 6]),
}

#[derive(Clone, Copy, Debug)]
struct Item {
    field: FieldId,
    val: Val,
}

/// One recorded frame.
#[derive(Clone, Debug)]
pub struct FrameMeta {
    /// `frame.number`.
    pub number: u64,
    /// Timestamp, ns since the epoch.
    pub ts: u64,
    /// `frame.len`: bytes on the wire (for events, the JSON text).
    pub len: u64,
    /// Event, packet or artifact record.
    pub kind: FrameKind,
    /// True when the frame passed the run's display filter (`-Y`).
    pub passes: bool,
    /// Which of the views' filters it passed (bit `i` for filter `i`).
    pub filters: u128,
    /// False for a frame that was not dissected (a byte prefilter rejected it): only its
    /// timestamp counts.
    pub dissected: bool,
    items: (u32, u32),
    protocols: (u32, u32),
    /// Where the frame's slot table starts in the batch's.
    slots: u32,
}

/// The frames of one batch, as the views will read them.
#[derive(Clone, Debug, Default)]
pub struct Records {
    /// Timestamp of the first frame of the run (`frame.time_relative`'s reference).
    pub first_ts: u64,
    frames: Vec<FrameMeta>,
    items: Vec<Item>,
    arena: String,
    bytes: Vec<u8>,
    protocols: Vec<FieldId>,
    /// The slot tables of the frames, `map.len` entries each: the index (from the frame's
    /// first item) of each field's first value, or [`EMPTY`].
    slots: Vec<u32>,
    map: Option<std::sync::Arc<Slots>>,
}

impl Records {
    /// An empty batch of records for a run whose first frame was at `first_ts`.
    pub fn new(first_ts: u64) -> Records {
        Records {
            first_ts,
            ..Records::default()
        }
    }

    /// Empties the batch for reuse (keeping its memory), for a run whose first frame was at
    /// `first_ts`.
    pub fn reset(&mut self, first_ts: u64) {
        self.first_ts = first_ts;
        self.frames.clear();
        self.items.clear();
        self.arena.clear();
        self.bytes.clear();
        self.protocols.clear();
        self.slots.clear();
    }

    /// The number of frames recorded.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The recorded frames, in order.
    pub fn iter(&self) -> impl Iterator<Item = Rec<'_>> {
        let map: &Slots = self.map.as_deref().unwrap_or(&NO_SLOTS);
        self.frames.iter().map(move |meta| {
            let mut rec = Rec {
                meta,
                items: &self.items[meta.items.0 as usize..meta.items.1 as usize],
                protocols: &self.protocols[meta.protocols.0 as usize..meta.protocols.1 as usize],
                arena: &self.arena,
                bytes: &self.bytes,
                map,
                slots: if meta.dissected {
                    &self.slots[meta.slots as usize..meta.slots as usize + map.len]
                } else {
                    &[]
                },
                event_name: None,
            };
            rec.event_name = rec.str(tracee::EVENT_NAME);
            rec
        })
    }

    /// Records a frame that was not dissected: only its time counts (durations).
    pub fn skipped(&mut self, number: u64, ts: u64, len: u64, kind: FrameKind) {
        let i = self.items.len() as u32;
        let p = self.protocols.len() as u32;
        self.frames.push(FrameMeta {
            number,
            ts,
            len,
            kind,
            passes: false,
            filters: 0,
            dissected: false,
            items: (i, i),
            protocols: (p, p),
            slots: 0,
        });
    }

    /// Records a dissected frame: the values in `tree` of the fields in `wanted`, leaving out
    /// what lies inside an ICMP error's quoted packet (Wireshark's taps do not see it), and,
    /// with `protocols`, the frame's protocol path for the protocol hierarchy.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(
        &mut self,
        number: u64,
        ts: u64,
        len: u64,
        kind: FrameKind,
        passes: bool,
        filters: u128,
        tree: &Tree<'_>,
        wanted: &std::sync::Arc<Slots>,
        protocols: Option<&FieldSet>,
    ) {
        if !self
            .map
            .as_ref()
            .is_some_and(|m| std::sync::Arc::ptr_eq(m, wanted))
        {
            self.map = Some(wanted.clone());
        }
        let map: &Slots = wanted;
        let start = self.items.len();
        let pstart = self.protocols.len();
        // Depth of an ICMP item whose subtree is being skipped.
        let mut skip_below: Option<u8> = None;
        // Depth of the `tracee` item while inside it (its network protocols are hidden items),
        // and where they start in the path.
        let mut in_tracee: Option<u8> = None;
        let mut tracee_start = pstart;
        for item in tree.items() {
            if let Some(d) = skip_below {
                if item.depth > d {
                    // Wireshark puts what the quoted packet's transport carries (DNS, data...)
                    // at the top of the frame's tree, after ICMP: so does the hierarchy.
                    if let Some(protos) = protocols {
                        if protos.contains(item.field) && is_application(item.field) {
                            self.protocols.push(item.field);
                        }
                    }
                    continue;
                }
                skip_below = None;
            }
            if let Some(d) = in_tracee {
                if item.depth <= d {
                    in_tracee = None;
                    self.order_layers(tracee_start);
                }
            }
            let id = item.field;
            if let Some(protos) = protocols {
                if protos.contains(id) && id != frame::FRAME {
                    let path = &self.protocols[pstart..];
                    if item.depth == 0 || (in_tracee.is_some() && !path.contains(&id)) {
                        self.protocols.push(id);
                    }
                }
            }
            if id == tracee::TRACEE && item.depth == 0 {
                in_tracee = Some(0);
                tracee_start = self.protocols.len();
            }
            if (id == icmp::ICMP || id == icmp::ICMPV6) && in_tracee.is_none() {
                skip_below = Some(item.depth);
            }
            if map.of(id).is_none() {
                continue;
            }
            let val = self.store(&item.value);
            self.items.push(Item { field: id, val });
        }
        if in_tracee.is_some() {
            self.order_layers(tracee_start);
        }
        let slots = self.slots.len();
        self.slots.resize(slots + map.len, EMPTY);
        let table = &mut self.slots[slots..];
        if !point_at_each(table, &self.items[start..], map) {
            // A field with several values: sorted by field (stably: its values keep their
            // order), so that they are together.
            self.items[start..].sort_by_key(|i| i.field);
            table.fill(EMPTY);
            point_at_each(table, &self.items[start..], map);
        }
        self.frames.push(FrameMeta {
            number,
            ts,
            len,
            kind,
            passes,
            filters,
            dissected: true,
            items: (start as u32, self.items.len() as u32),
            protocols: (pstart as u32, self.protocols.len() as u32),
            slots: slots as u32,
        });
    }

    /// Puts the protocols an event maps onto (`protocols[from..]`, in the order its arguments
    /// gave them) in the order of their layers: network, transport, application.
    fn order_layers(&mut self, from: usize) {
        let rank = |id: &FieldId| match *id {
            tracee::TRACEE => 0,
            ip::IP | ip::IPV6 => 1,
            tcp::TCP | udp::UDP | icmp::ICMP | icmp::ICMPV6 => 2,
            _ => 3,
        };
        if let Some(seg) = self.protocols.get_mut(from..) {
            seg.sort_by_key(rank);
        }
    }

    fn store(&mut self, v: &FieldValue<'_>) -> Val {
        match v {
            FieldValue::None => Val::None,
            FieldValue::Bool(b) => Val::Bool(*b),
            FieldValue::Int(i) => Val::Int(*i),
            FieldValue::UInt(u) => Val::UInt(*u),
            FieldValue::Double(d) => Val::Double(*d),
            FieldValue::Str(s) => {
                let start = self.arena.len() as u32;
                self.arena.push_str(s);
                Val::Str(start, self.arena.len() as u32)
            }
            FieldValue::Bytes(b) => {
                let start = self.bytes.len() as u32;
                self.bytes.extend_from_slice(b);
                Val::Bytes(start, self.bytes.len() as u32)
            }
            FieldValue::AbsTime(t) => Val::AbsTime(*t),
            FieldValue::RelTime(t) => Val::RelTime(*t),
            FieldValue::Ipv4(a) => Val::Ipv4(a.octets()),
            FieldValue::Ipv6(a) => Val::Ipv6(a.octets()),
            FieldValue::Ether(e) => Val::Ether(*e),
        }
    }
}

/// Fills a frame's slot table with where each field's values start among `items`: true when
/// no field has more than one value (so every field's values are together), false when one
/// has several and they are not together.
fn point_at_each(table: &mut [u32], items: &[Item], map: &Slots) -> bool {
    for (i, item) in items.iter().enumerate() {
        let Some(s) = map.of(item.field) else {
            continue;
        };
        if table[s] == EMPTY {
            table[s] = i as u32;
        } else if items[i - 1].field != item.field {
            return false;
        }
    }
    true
}

/// One recorded frame, as the views read it.
#[derive(Clone, Copy)]
pub struct Rec<'b> {
    /// Where and what the frame is.
    pub meta: &'b FrameMeta,
    items: &'b [Item],
    protocols: &'b [FieldId],
    arena: &'b str,
    bytes: &'b [u8],
    map: &'b Slots,
    slots: &'b [u32],
    /// `tracee.eventName`, looked up once: nearly every view asks for it.
    event_name: Option<&'b str>,
}

impl<'b> Rec<'b> {
    /// Where the first value of `field` is among the frame's items.
    #[inline]
    fn first_index(&self, field: FieldId) -> Option<usize> {
        match self.map.of(field).and_then(|s| self.slots.get(s)) {
            Some(&i) if i != EMPTY => Some(i as usize),
            _ => None,
        }
    }

    /// The first value of `field`, as recorded.
    #[inline]
    fn first_val(&self, field: FieldId) -> Option<Val> {
        self.first_index(field).map(|i| self.items[i].val)
    }

    /// The values of `field` (the items are sorted by field: its values are together).
    #[inline]
    fn range(&self, field: FieldId) -> &'b [Item] {
        let Some(lo) = self.first_index(field) else {
            return &[];
        };
        let n = self.items[lo..]
            .iter()
            .take_while(|i| i.field == field)
            .count();
        &self.items[lo..lo + n]
    }

    fn value(&self, v: Val) -> FieldValue<'b> {
        match v {
            Val::None => FieldValue::None,
            Val::Bool(b) => FieldValue::Bool(b),
            Val::Int(i) => FieldValue::Int(i),
            Val::UInt(u) => FieldValue::UInt(u),
            Val::Double(d) => FieldValue::Double(d),
            Val::Str(s, e) => FieldValue::Str(Cow::Borrowed(&self.arena[s as usize..e as usize])),
            Val::Bytes(s, e) => {
                FieldValue::Bytes(Cow::Borrowed(&self.bytes[s as usize..e as usize]))
            }
            Val::AbsTime(t) => FieldValue::AbsTime(t),
            Val::RelTime(t) => FieldValue::RelTime(t),
            Val::Ipv4(a) => FieldValue::Ipv4(Ipv4Addr::from(a)),
            Val::Ipv6(a) => FieldValue::Ipv6(Ipv6Addr::from(a)),
            Val::Ether(e) => FieldValue::Ether(e),
        }
    }

    /// The first value of `field`.
    pub fn first(&self, field: FieldId) -> Option<FieldValue<'b>> {
        self.first_val(field).map(|v| self.value(v))
    }

    /// Every value of `field`, in order.
    pub fn values(&self, field: FieldId) -> impl Iterator<Item = FieldValue<'b>> + '_ {
        self.range(field).iter().map(move |i| self.value(i.val))
    }

    /// True when the frame has `field`.
    pub fn has(&self, field: FieldId) -> bool {
        self.first_index(field).is_some()
    }

    /// The first value of a text field.
    pub fn str(&self, field: FieldId) -> Option<&'b str> {
        match self.first_val(field)? {
            Val::Str(s, e) => Some(&self.arena[s as usize..e as usize]),
            _ => None,
        }
    }

    /// Every value of a text field.
    pub fn strs(&self, field: FieldId) -> impl Iterator<Item = &'b str> + '_ {
        self.range(field).iter().filter_map(move |i| match i.val {
            Val::Str(s, e) => Some(&self.arena[s as usize..e as usize]),
            _ => None,
        })
    }

    /// The first value of an integer (or boolean) field, signed.
    pub fn int(&self, field: FieldId) -> Option<i64> {
        match self.first_val(field)? {
            Val::Int(i) => Some(i),
            Val::UInt(u) => i64::try_from(u).ok(),
            Val::Bool(b) => Some(b as i64),
            Val::Str(s, e) => self.arena[s as usize..e as usize].trim().parse().ok(),
            _ => None,
        }
    }

    /// The first value of an integer (or boolean) field, unsigned.
    pub fn uint(&self, field: FieldId) -> Option<u64> {
        match self.first_val(field)? {
            Val::UInt(u) => Some(u),
            Val::Int(i) => u64::try_from(i).ok(),
            Val::Bool(b) => Some(b as u64),
            Val::Str(s, e) => self.arena[s as usize..e as usize].trim().parse().ok(),
            _ => None,
        }
    }

    /// The first value of a boolean field.
    pub fn bool(&self, field: FieldId) -> Option<bool> {
        match self.first_val(field)? {
            Val::Bool(b) => Some(b),
            Val::Int(i) => Some(i != 0),
            Val::UInt(u) => Some(u != 0),
            Val::Str(s, e) => match &self.arena[s as usize..e as usize] {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// The frame's protocols, outermost first (recorded only for the protocol hierarchy).
    pub fn protocols(&self) -> &'b [FieldId] {
        self.protocols
    }

    /// The event name (`tracee.eventName`, when recorded).
    pub fn event_name(&self) -> Option<&'b str> {
        self.event_name
    }

    /// True for a Tracee event (not a packet or an artifact record).
    pub fn is_event(&self) -> bool {
        self.meta.kind == FrameKind::Event && self.meta.dissected
    }

    /// True when the frame passed the display filter and filter `bit` of the views (`None`:
    /// no filter of its own).
    pub fn counts(&self, bit: Option<u8>) -> bool {
        self.meta.passes && bit.is_none_or(|b| self.meta.filters & (1u128 << b) != 0)
    }
}

/// True for a protocol above the transport layer (`dns`, `http`, `data`): not a network or
/// transport header, nor a part of one (`tcp.options.mss`).
fn is_application(id: FieldId) -> bool {
    let info = osprey_field::registry().info(id);
    let name: &str = &info.abbrev;
    !name.contains('.') && !matches!(name, "ip" | "ipv6" | "tcp" | "udp" | "icmp" | "icmpv6")
}

/// Every static protocol field, for the protocol hierarchy.
pub(crate) fn protocol_fields() -> FieldSet {
    let mut set = FieldSet::default();
    for (id, info) in osprey_field::registry().all() {
        if info.ty == FieldType::Protocol && !id.is_dynamic() {
            set.insert(id);
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use osprey_dissect::Want;

    #[test]
    fn records_only_wanted_values_outside_icmp_errors() {
        let want = Want::all();
        let mut tree = Tree::new(&want);
        tree.open(ip::IP, FieldValue::None, None);
        tree.add(ip::SRC, FieldValue::Ipv4([10, 0, 0, 1].into()));
        tree.close();
        tree.open(icmp::ICMP, FieldValue::None, None);
        tree.open(ip::IP, FieldValue::None, None);
        tree.add(ip::SRC, FieldValue::Ipv4([10, 0, 0, 9].into()));
        tree.close();
        tree.open(udp::UDP, FieldValue::None, None);
        tree.add(udp::SRCPORT, FieldValue::UInt(53));
        tree.close();
        tree.close();
        let mut wanted = FieldSet::default();
        wanted.insert(ip::SRC);
        wanted.insert(udp::SRCPORT);
        let protos = protocol_fields();
        let wanted = std::sync::Arc::new(wanted.slots());
        let mut r = Records::new(0);
        r.record(
            1,
            5,
            60,
            FrameKind::Packet,
            true,
            0,
            &tree,
            &wanted,
            Some(&protos),
        );
        let rec = r.iter().next().unwrap();
        assert_eq!(rec.values(ip::SRC).count(), 1);
        assert_eq!(
            rec.first(ip::SRC),
            Some(FieldValue::Ipv4([10, 0, 0, 1].into()))
        );
        assert!(
            !rec.has(udp::SRCPORT),
            "the quoted packet's ports are not the frame's"
        );
        assert_eq!(rec.protocols(), [ip::IP, icmp::ICMP]);
    }
}
