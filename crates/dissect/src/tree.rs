//! The dissection tree: what a dissector finds in one frame, as fields.
//!
//! A dissector only calls [`Tree::add`], [`Tree::open`] and [`Tree::close`] (and sets the
//! [`Columns`]). What it adds is kept only when it is *wanted*: everything for the detail view
//! and `-T json`, or just the fields a filter and the printed columns read ([`Want`]), which is
//! what lets a filter over a million events run at reading speed. Dissectors that compute
//! something expensive ask [`Tree::wants`] first.

use osprey_field::hash::FastMap;
use osprey_field::{FieldId, FieldSource, FieldValue};
use std::borrow::Cow;

/// The fields a consumer will read.
#[derive(Clone, Debug, Default)]
pub struct Want {
    all: bool,
    /// Static field IDs as a bitset (IDs are `table << 12 | index`, all below 2^16).
    bits: Vec<u64>,
    /// Argument fields by event and argument name (both sanitized), and the fields named
    /// `tracee.args.<event>.detected_from.<arg>` under the key `(<event>, detected_from.<arg>)`.
    args: FastMap<String, FastMap<String, FieldId>>,
    /// Argument fields wanted for every event (e.g. `tracee.args.command_line` is static, so
    /// this is for consumers that want all arguments, such as statistics).
    any_arg: bool,
    /// The summary columns (protocol, info, source, destination).
    pub columns: bool,
}

impl Want {
    /// Everything: the full tree and the columns.
    pub fn all() -> Want {
        Want {
            all: true,
            columns: true,
            ..Want::default()
        }
    }

    /// Nothing yet; add fields with [`Want::field`].
    pub fn none() -> Want {
        Want::default()
    }

    /// True when everything is wanted.
    pub fn is_all(&self) -> bool {
        self.all
    }

    /// Adds a field (static or argument field).
    pub fn field(&mut self, id: FieldId) -> &mut Want {
        if id.is_dynamic() {
            let info = osprey_field::registry().info(id);
            if let Some(rest) = info.abbrev.strip_prefix("tracee.args.") {
                if let Some((event, arg)) = rest.split_once('.') {
                    self.args
                        .entry(event.to_string())
                        .or_default()
                        .insert(arg.to_string(), id);
                }
            }
            return self;
        }
        let i = id.0 as usize;
        if self.bits.len() <= i / 64 {
            self.bits.resize(i / 64 + 1, 0);
        }
        self.bits[i / 64] |= 1 << (i % 64);
        self
    }

    /// Wants every argument of every event (without the rest of the tree).
    pub fn all_args(&mut self) -> &mut Want {
        self.any_arg = true;
        self
    }

    /// Wants the summary columns.
    pub fn columns(&mut self) -> &mut Want {
        self.columns = true;
        self
    }

    /// True when `id` (a static field) is wanted.
    #[inline]
    pub fn has(&self, id: FieldId) -> bool {
        if self.all {
            return true;
        }
        let i = id.0 as usize;
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// True when some argument of event `event` (sanitized name) may be wanted.
    pub fn wants_args_of(&self, event: &str) -> bool {
        self.every_arg() || self.args_of(event).is_some()
    }

    /// The argument fields wanted of event `event` (sanitized name), by argument (sanitized,
    /// or `detected_from.<arg>`), if only specific argument fields are wanted: a dissector
    /// looks the event up once for all its arguments.
    pub fn args_of(&self, event: &str) -> Option<&FastMap<String, FieldId>> {
        self.args.get(event)
    }

    /// True when argument fields must be registered and added whatever their name.
    pub fn every_arg(&self) -> bool {
        self.all || self.any_arg
    }

    /// Merges `other` into this set.
    pub fn extend(&mut self, other: &Want) {
        self.all |= other.all;
        self.any_arg |= other.any_arg;
        self.columns |= other.columns;
        if self.bits.len() < other.bits.len() {
            self.bits.resize(other.bits.len(), 0);
        }
        for (i, w) in other.bits.iter().enumerate() {
            self.bits[i] |= w;
        }
        for (event, args) in &other.args {
            let entry = self.args.entry(event.clone()).or_default();
            for (arg, id) in args {
                entry.insert(arg.clone(), *id);
            }
        }
    }
}

/// One field value in the tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Item<'a> {
    /// The field.
    pub field: FieldId,
    /// Its value ([`FieldValue::None`] for protocols and labels).
    pub value: FieldValue<'a>,
    /// Nesting depth, 0 for a frame's top-level protocols.
    pub depth: u8,
    /// Text shown instead of `Name: value` in the detail tree (subtree labels such as
    /// `Process: 1234 (bash)`).
    pub text: Option<String>,
    /// Bytes of the frame the value was read from, for highlighting.
    pub span: Option<(u32, u32)>,
    /// Kept for filters and columns but not shown in the detail tree (Wireshark's hidden
    /// items, e.g. `ip.addr`).
    pub hidden: bool,
}

/// The summary columns of a frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Columns {
    /// `TRACEE`, `TRACEE/SIG`, or a packet's highest protocol (nearly always a fixed name, so
    /// not copied).
    pub protocol: Cow<'static, str>,
    /// The Info column.
    pub info: String,
    /// Source address.
    pub source: String,
    /// Destination address.
    pub destination: String,
}

/// The fields found in one frame.
#[derive(Debug)]
pub struct Tree<'a> {
    items: Vec<Item<'a>>,
    want: &'a Want,
    depth: u8,
    /// Protocol names in the order the dissectors met them (`frame.protocols`).
    layers: Vec<&'static str>,
    /// The summary columns, filled by dissectors when [`Want::columns`] is set; at the end of
    /// dissection they become the `_ws.col.*` fields.
    pub columns: Columns,
}

impl<'a> Tree<'a> {
    /// An empty tree that keeps what `want` asks for.
    pub fn new(want: &'a Want) -> Tree<'a> {
        // Room for a typical event's items up front: growing from empty costs four
        // reallocations per frame.
        let capacity = if want.is_all() { 96 } else { 32 };
        Tree {
            items: Vec::with_capacity(capacity),
            want,
            depth: 0,
            layers: Vec::new(),
            columns: Columns::default(),
        }
    }

    /// What this tree keeps.
    pub fn want(&self) -> &'a Want {
        self.want
    }

    /// True when `field` is wanted: dissectors check this before computing a costly value.
    #[inline]
    pub fn wants(&self, field: FieldId) -> bool {
        self.want.has(field)
    }

    /// True when the summary columns are wanted.
    #[inline]
    pub fn wants_columns(&self) -> bool {
        self.want.columns
    }

    /// True when the full tree is built (for the detail view).
    #[inline]
    pub fn is_full(&self) -> bool {
        self.want.all
    }

    /// Adds a value, if wanted.
    #[inline]
    pub fn add(&mut self, field: FieldId, value: FieldValue<'a>) {
        if self.want.has(field) {
            self.push(field, value, None, None, false);
        }
    }

    /// Adds a value read from bytes `start..end` of the frame, if wanted.
    #[inline]
    pub fn add_span(&mut self, field: FieldId, value: FieldValue<'a>, start: usize, end: usize) {
        if self.want.has(field) {
            self.push(field, value, None, Some((start as u32, end as u32)), false);
        }
    }

    /// Adds a value that filters and columns see but the detail tree does not show.
    #[inline]
    pub fn add_hidden(&mut self, field: FieldId, value: FieldValue<'a>) {
        if self.want.has(field) {
            self.push(field, value, None, None, true);
        }
    }

    /// Adds a value with its own display text, if wanted.
    pub fn add_text(&mut self, field: FieldId, value: FieldValue<'a>, text: impl Into<String>) {
        if self.want.has(field) {
            let text = if self.want.all {
                Some(text.into())
            } else {
                None
            };
            self.push(field, value, text, None, false);
        }
    }

    /// Adds an argument field (registered at run time), always wanted by the caller's check.
    pub fn add_dynamic(&mut self, field: FieldId, value: FieldValue<'a>, text: Option<String>) {
        self.push(field, value, text, None, false);
    }

    /// Opens a subtree under a label or protocol item: items added until [`Tree::close`] are
    /// its children. The label item itself is kept only when wanted, the nesting always.
    pub fn open(&mut self, field: FieldId, value: FieldValue<'a>, text: Option<String>) {
        if self.want.has(field) {
            let text = if self.want.all { text } else { None };
            self.push(field, value, text, None, false);
        }
        self.depth = self.depth.saturating_add(1);
    }

    /// Like [`Tree::open`], with a label that is only built when the full tree is (labels are
    /// for the detail view; building them for a filter would be wasted work).
    pub fn open_with(
        &mut self,
        field: FieldId,
        value: FieldValue<'a>,
        label: impl FnOnce() -> String,
    ) {
        let text = if self.want.all { Some(label()) } else { None };
        self.open(field, value, text);
    }

    /// Opens a subtree whose label is only text (no field): shown in the detail tree only.
    pub fn open_text(&mut self, field: FieldId, text: impl FnOnce() -> String) {
        if self.want.all {
            self.push(field, FieldValue::None, Some(text()), None, false);
        }
        self.depth = self.depth.saturating_add(1);
    }

    /// Closes the innermost subtree.
    pub fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn push(
        &mut self,
        field: FieldId,
        value: FieldValue<'a>,
        text: Option<String>,
        span: Option<(u32, u32)>,
        hidden: bool,
    ) {
        self.items.push(Item {
            field,
            value,
            depth: self.depth,
            text,
            span,
            hidden,
        });
    }

    /// Records that the frame holds protocol `name` (for `frame.protocols`, when wanted).
    pub fn layer(&mut self, name: &'static str) {
        if self.want.has(osprey_field::fields::frame::PROTOCOLS) {
            self.layers.push(name);
        }
    }

    /// The protocols recorded with [`Tree::layer`].
    pub fn layers(&self) -> &[&'static str] {
        &self.layers
    }

    /// The number of items so far: a position for [`Tree::insert`].
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing was kept.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Inserts a value at `index` with the given depth, if wanted (for values known only once
    /// the rest of the frame is dissected, such as `frame.protocols`).
    pub fn insert(&mut self, index: usize, depth: u8, field: FieldId, value: FieldValue<'a>) {
        if self.want.has(field) {
            let index = index.min(self.items.len());
            self.items.insert(
                index,
                Item {
                    field,
                    value,
                    depth,
                    text: None,
                    span: None,
                    hidden: false,
                },
            );
        }
    }

    /// Every item, in order.
    pub fn items(&self) -> &[Item<'a>] {
        &self.items
    }

    /// The values of `field`, in order.
    pub fn values(&self, field: FieldId) -> impl Iterator<Item = &FieldValue<'a>> {
        self.items
            .iter()
            .filter(move |i| i.field == field)
            .map(|i| &i.value)
    }

    /// The first value of `field`.
    pub fn first(&self, field: FieldId) -> Option<&FieldValue<'a>> {
        self.values(field).next()
    }

    /// True when `field` is present.
    pub fn has(&self, field: FieldId) -> bool {
        self.items.iter().any(|i| i.field == field)
    }
}

impl FieldSource for Tree<'_> {
    fn any_value(&self, field: FieldId, f: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
        self.items
            .iter()
            .filter(|i| i.field == field)
            .any(|i| f(&i.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use osprey_field::fields::{frame, ip, tracee};

    #[test]
    fn keeps_only_what_is_wanted() {
        let mut want = Want::none();
        want.field(ip::SRC);
        let mut tree = Tree::new(&want);
        tree.add(ip::SRC, FieldValue::Ipv4([10, 0, 0, 1].into()));
        tree.add(ip::DST, FieldValue::Ipv4([10, 0, 0, 2].into()));
        tree.open(tracee::CONTEXT, FieldValue::None, Some("Context".into()));
        tree.add(frame::NUMBER, FieldValue::UInt(1));
        tree.close();
        assert_eq!(tree.items().len(), 1);
        assert!(tree.any_value(ip::SRC, &mut |_| true));
        assert!(!tree.any_value(ip::DST, &mut |_| true));
    }

    #[test]
    fn full_trees_nest() {
        let want = Want::all();
        let mut tree = Tree::new(&want);
        tree.open(tracee::TRACEE, FieldValue::None, None);
        tree.add(tracee::PROCESS_ID, FieldValue::Int(5));
        tree.close();
        tree.add(frame::NUMBER, FieldValue::UInt(1));
        let depths: Vec<u8> = tree.items().iter().map(|i| i.depth).collect();
        assert_eq!(depths, [0, 1, 0]);
    }

    #[test]
    fn argument_fields_are_wanted_by_event_and_name() {
        let id = osprey_field::registry()
            .resolve("tracee.args.openat.pathname")
            .unwrap();
        let mut want = Want::none();
        want.field(id);
        assert!(want.wants_args_of("openat"));
        assert!(!want.wants_args_of("close"));
        let openat = want.args_of("openat").unwrap();
        assert_eq!(openat.get("pathname"), Some(&id));
        assert_eq!(openat.get("flags"), None);
    }
}
