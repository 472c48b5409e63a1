/*!
The one registry of named, typed fields (Wireshark's `hf_register_info`, as data).

Every value a dissector finds in an event or a packet is a field: `tracee.processId`,
`ip.src`, `dns.qry.name`. Dissectors add fields; display filters, columns, `-T fields`, the
detail tree, statistics and the web UI only read them, by name or [`FieldId`]. Field names are
an interface: users' Traceeshark and Wireshark filters must carry over, so the names here follow
those tools.

Static fields are declared once, per protocol, in the modules under [`fields`] with the
[`fields!`] macro, which gives each a `FieldId` constant (`fields::ip::SRC`). Tracee event
arguments have no fixed list: `tracee.args.<event>.<arg>` fields are registered when a filter
names them or data shows them ([`Registry::resolve`]), with their type taken from the
argument's Tracee type ([`arg_field_type`]).

```
use osprey_field::{registry, fields, FieldType};
let reg = registry();
assert_eq!(reg.lookup("ip.src"), Some(fields::ip::SRC));
assert_eq!(reg.info(fields::ip::SRC).ty, FieldType::Ipv4);
let arg = reg.resolve("tracee.args.kill.sig").unwrap();
assert_eq!(reg.info(arg).abbrev, "tracee.args.kill.sig");
```
*/

#![deny(missing_docs)]

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, LazyLock, RwLock};

pub mod fields;
pub mod hash;
mod value;

pub use value::FieldValue;

/// Identifies a field. Static fields have constants in [`fields`]; argument fields get theirs
/// when first resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u32);

/// Bit marking an ID as a dynamic (argument) field.
const DYNAMIC: u32 = 0x8000_0000;
/// Each static table holds up to 4096 fields.
const TABLE_SHIFT: u32 = 12;

impl FieldId {
    /// The ID of entry `index` of the static table at `base`.
    pub const fn new(base: u32, index: u32) -> FieldId {
        FieldId(base + index)
    }

    /// True for argument fields registered at run time.
    pub fn is_dynamic(self) -> bool {
        self.0 & DYNAMIC != 0
    }
}

/// The type of a field's values (Wireshark's `FT_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// A protocol: present or not (`tcp`, `tracee`).
    Protocol,
    /// A label or subtree without a value.
    None,
    /// `true`/`false` (printed 1/0, as tshark does).
    Bool,
    /// Signed integer.
    Int,
    /// Unsigned integer.
    UInt,
    /// Floating point.
    Double,
    /// Text.
    String,
    /// Raw bytes.
    Bytes,
    /// Absolute time, nanoseconds since the epoch.
    AbsTime,
    /// Relative time, nanoseconds.
    RelTime,
    /// IPv4 address.
    Ipv4,
    /// IPv6 address.
    Ipv6,
    /// Ethernet (MAC) address.
    Ether,
    /// Decided by each value: argument fields whose Tracee type varies between recordings.
    Dynamic,
}

/// How integers are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    /// Decimal.
    Dec,
    /// Hexadecimal with `0x` and zero padding to the given number of digits.
    Hex(u8),
    /// Octal with a leading 0 (file modes).
    Oct,
    /// For absolute times: seconds since the epoch, with nanoseconds (`frame.time_epoch`).
    Epoch,
}

/// The declaration of one field.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDef {
    /// The filter name, e.g. `tracee.processId`.
    pub abbrev: Cow<'static, str>,
    /// The name shown in the detail tree, e.g. `Process ID`.
    pub name: Cow<'static, str>,
    /// Value type.
    pub ty: FieldType,
    /// Integer display.
    pub display: Display,
    /// Names for integer values (e.g. signal numbers), shown beside the number.
    pub strings: &'static [(i64, &'static str)],
    /// One-line description for the field list.
    pub blurb: Cow<'static, str>,
    /// True for values the analyzer derives rather than reads (shown in `[brackets]`).
    pub generated: bool,
}

impl FieldDef {
    /// A field with decimal display and no value names.
    pub const fn new(abbrev: &'static str, name: &'static str, ty: FieldType) -> FieldDef {
        FieldDef {
            abbrev: Cow::Borrowed(abbrev),
            name: Cow::Borrowed(name),
            ty,
            display: Display::Dec,
            strings: &[],
            blurb: Cow::Borrowed(""),
            generated: false,
        }
    }

    /// Sets the description.
    pub const fn blurb(mut self, blurb: &'static str) -> FieldDef {
        // Plain assignment would drop the old `Cow`, which a const fn cannot do; it is a
        // borrowed string here, so forgetting it leaks nothing.
        std::mem::forget(std::mem::replace(&mut self.blurb, Cow::Borrowed(blurb)));
        self
    }

    /// Shows the value in hexadecimal, zero-padded to `digits`.
    pub const fn hex(mut self, digits: u8) -> FieldDef {
        self.display = Display::Hex(digits);
        self
    }

    /// Shows the value in octal.
    pub const fn oct(mut self) -> FieldDef {
        self.display = Display::Oct;
        self
    }

    /// Shows an absolute time as seconds since the epoch.
    pub const fn epoch(mut self) -> FieldDef {
        self.display = Display::Epoch;
        self
    }

    /// Names integer values.
    pub const fn strings(mut self, strings: &'static [(i64, &'static str)]) -> FieldDef {
        self.strings = strings;
        self
    }

    /// Marks the field as derived by the analyzer.
    pub const fn generated(mut self) -> FieldDef {
        self.generated = true;
        self
    }

    /// The name of integer value `v`, if the field names its values.
    pub fn value_name(&self, v: i64) -> Option<&'static str> {
        self.strings.iter().find(|(n, _)| *n == v).map(|(_, s)| *s)
    }
}

/// Declares a protocol's static fields: a `FieldId` constant per field and a `TABLE` the
/// registry collects.
///
/// ```text
/// fields! { base 0x3000;
///     SRC = FieldDef::new("ip.src", "Source Address", FieldType::Ipv4);
/// }
/// ```
#[macro_export]
macro_rules! fields {
    (base $base:expr; $( $id:ident = $def:expr; )* ) => {
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[repr(u32)]
        enum Index { $( $id, )* }
        $( #[doc = concat!("Field `", stringify!($id), "`.")] pub const $id: $crate::FieldId = $crate::FieldId::new($base, Index::$id as u32); )*
        /// The declarations, in `FieldId` order.
        pub static TABLE: &[$crate::FieldDef] = &[ $( $def, )* ];
        /// The first `FieldId` of this table.
        pub const BASE: u32 = $base;
    };
}

/// The Tracee type names of formats.md §1.1 and analyzer.md §2, mapped to field types.
pub fn arg_field_type(tracee_type: &str) -> FieldType {
    match tracee_type {
        "bool" => FieldType::Bool,
        "int" | "pid_t" | "int32" | "int64" | "long" | "int8" | "int16" | "off_t" | "clockid_t"
        | "const clockid_t" | "key_t" | "timer_t" => FieldType::Int,
        "u8" | "u16" | "umode_t" | "u32" | "dev_t" | "mode_t" | "uid_t" | "gid_t"
        | "unsigned int" | "unsigned long" | "u64" | "size_t" | "uint8" | "uint16" | "uint32"
        | "uint64" | "unsigned short" | "old_uid_t" | "old_gid_t" => FieldType::UInt,
        "float" | "float64" | "double" | "struct timespec*" => FieldType::Double,
        "const char*" | "char*" | "string" | "bytes" | "[]byte" | "time.Time" | "const char *" => {
            FieldType::String
        }
        t if t.ends_with('*') || t == "trace.Pointer" || t == "void*" => FieldType::String,
        _ => FieldType::Dynamic,
    }
}

/// Replaces what cannot appear in a field name (spaces, parentheses, punctuation) with `_`, as
/// Traceeshark does for argument names (`IP address` → `IP_address`).
pub fn sanitize_name(name: &str) -> Cow<'_, str> {
    // One table lookup per byte: this runs for every event's name.
    const NAME_BYTE: [bool; 256] = {
        let mut table = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            table[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
            b += 1;
        }
        table
    };
    if !name.is_empty() && name.bytes().all(|b| NAME_BYTE[b as usize]) {
        return Cow::Borrowed(name);
    }
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Cow::Owned(if s.is_empty() { "_".to_string() } else { s })
}

/// A field declaration, from a static table or registered at run time.
#[derive(Clone, Debug)]
pub enum Info {
    /// Declared in a table.
    Static(&'static FieldDef),
    /// Registered at run time.
    Dynamic(Arc<FieldDef>),
}

impl std::ops::Deref for Info {
    type Target = FieldDef;
    fn deref(&self) -> &FieldDef {
        match self {
            Info::Static(d) => d,
            Info::Dynamic(d) => d,
        }
    }
}

#[derive(Default)]
struct Dynamic {
    defs: Vec<Arc<FieldDef>>,
    by_abbrev: HashMap<String, FieldId>,
}

/// Argument fields beyond this many are not registered (their values still show in the detail
/// tree): a hostile recording cannot make the registry grow without bound.
const MAX_DYNAMIC: usize = 200_000;

/// All fields: the static tables and the argument fields registered so far.
pub struct Registry {
    tables: Vec<&'static [FieldDef]>,
    by_abbrev: HashMap<&'static str, FieldId>,
    dynamic: RwLock<Dynamic>,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::build);

/// The process-wide registry.
pub fn registry() -> &'static Registry {
    &REGISTRY
}

impl Registry {
    fn build() -> Registry {
        let mut tables: Vec<&'static [FieldDef]> = Vec::new();
        let mut by_abbrev = HashMap::new();
        for (base, table) in fields::tables() {
            let slot = (base >> TABLE_SHIFT) as usize;
            if tables.len() <= slot {
                tables.resize(slot + 1, &[]);
            }
            tables[slot] = table;
            for (i, def) in table.iter().enumerate() {
                let Cow::Borrowed(abbrev) = def.abbrev else {
                    continue;
                };
                by_abbrev.insert(abbrev, FieldId(base + i as u32));
            }
        }
        for (alias, name) in fields::ALIASES {
            if let Some(id) = by_abbrev.get(name).copied() {
                by_abbrev.insert(alias, id);
            }
        }
        Registry {
            tables,
            by_abbrev,
            dynamic: RwLock::new(Dynamic::default()),
        }
    }

    /// The field named `abbrev`, if it is static or an argument field already registered.
    pub fn lookup(&self, abbrev: &str) -> Option<FieldId> {
        if let Some(id) = self.by_abbrev.get(abbrev) {
            return Some(*id);
        }
        self.dynamic
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_abbrev
            .get(abbrev)
            .copied()
    }

    /// Like [`Registry::lookup`], and registers `tracee.args.<event>.<arg>` (and
    /// `tracee.args.<event>.detected_from.<arg>`) names on first use, so that filters on
    /// arguments work before any data has shown them. `ty` is used only when registering.
    pub fn resolve_typed(&self, abbrev: &str, ty: FieldType) -> Option<FieldId> {
        if let Some(id) = self.lookup(abbrev) {
            return Some(id);
        }
        if !is_arg_field_name(abbrev) {
            return None;
        }
        let mut dynamic = self.dynamic.write().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = dynamic.by_abbrev.get(abbrev) {
            return Some(*id);
        }
        if dynamic.defs.len() >= MAX_DYNAMIC {
            return None;
        }
        let id = FieldId(DYNAMIC | dynamic.defs.len() as u32);
        let arg = abbrev.rsplit('.').next().unwrap_or(abbrev).to_string();
        dynamic.defs.push(Arc::new(FieldDef {
            abbrev: Cow::Owned(abbrev.to_string()),
            name: Cow::Owned(arg),
            ty,
            display: Display::Dec,
            strings: &[],
            blurb: Cow::Borrowed("Tracee event argument"),
            generated: false,
        }));
        dynamic.by_abbrev.insert(abbrev.to_string(), id);
        Some(id)
    }

    /// [`Registry::resolve_typed`] for a name whose type is not known yet.
    pub fn resolve(&self, abbrev: &str) -> Option<FieldId> {
        self.resolve_typed(abbrev, FieldType::Dynamic)
    }

    /// The declaration of `id`. Panics on an ID that no registry lookup returned.
    pub fn info(&self, id: FieldId) -> Info {
        self.get(id)
            .unwrap_or_else(|| panic!("unknown field id {:#x}", id.0))
    }

    /// The declaration of `id`, if it exists.
    pub fn get(&self, id: FieldId) -> Option<Info> {
        if id.is_dynamic() {
            let dynamic = self.dynamic.read().unwrap_or_else(|e| e.into_inner());
            return dynamic
                .defs
                .get((id.0 & !DYNAMIC) as usize)
                .cloned()
                .map(Info::Dynamic);
        }
        let table = self.tables.get((id.0 >> TABLE_SHIFT) as usize)?;
        table
            .get((id.0 & ((1 << TABLE_SHIFT) - 1)) as usize)
            .map(Info::Static)
    }

    /// Every static field, then every argument field registered so far.
    pub fn all(&self) -> Vec<(FieldId, Info)> {
        let mut out = Vec::new();
        for (base, table) in fields::tables() {
            for (i, def) in table.iter().enumerate() {
                out.push((FieldId(base + i as u32), Info::Static(def)));
            }
        }
        let dynamic = self.dynamic.read().unwrap_or_else(|e| e.into_inner());
        for (i, def) in dynamic.defs.iter().enumerate() {
            out.push((FieldId(DYNAMIC | i as u32), Info::Dynamic(def.clone())));
        }
        out
    }
}

/// True for `tracee.args.<event>.<arg>` and `tracee.args.<event>.detected_from.<arg>`, with
/// each part a valid name part.
pub fn is_arg_field_name(abbrev: &str) -> bool {
    let Some(rest) = abbrev.strip_prefix("tracee.args.") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('.').collect();
    let valid = |p: &&str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    match parts.as_slice() {
        [event, arg] => valid(event) && valid(arg),
        [event, "detected_from", arg] => valid(event) && valid(arg),
        _ => false,
    }
}

/// What filters and columns read values from: one dissected frame.
pub trait FieldSource {
    /// Calls `f` with each value of `field` in the frame, in order, until `f` returns true;
    /// returns whether it did. A field that is absent calls `f` never. Protocols and labels
    /// have the value [`FieldValue::None`].
    fn any_value(&self, field: FieldId, f: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool;
}

/// Parses an IPv4 or IPv6 address written as text (as Tracee writes them).
pub fn parse_ip(s: &str) -> Option<FieldValue<'static>> {
    if let Ok(v4) = s.parse::<Ipv4Addr>() {
        return Some(FieldValue::Ipv4(v4));
    }
    s.parse::<Ipv6Addr>().ok().map(FieldValue::Ipv6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_static_name_is_unique_and_resolves_to_itself() {
        let reg = registry();
        let mut seen = std::collections::HashSet::new();
        for (id, info) in reg.all() {
            assert!(
                seen.insert(info.abbrev.to_string()),
                "duplicate field {}",
                info.abbrev
            );
            assert_eq!(reg.lookup(&info.abbrev), Some(id), "{}", info.abbrev);
            assert!(!info.name.is_empty(), "{} has no display name", info.abbrev);
        }
    }

    #[test]
    fn argument_fields_register_on_first_use() {
        let reg = registry();
        assert_eq!(reg.lookup("tracee.args.openat.dirfd_test"), None);
        let id = reg
            .resolve_typed("tracee.args.openat.dirfd_test", FieldType::Int)
            .unwrap();
        assert!(id.is_dynamic());
        assert_eq!(reg.resolve("tracee.args.openat.dirfd_test"), Some(id));
        assert_eq!(reg.info(id).ty, FieldType::Int);
        assert!(reg.resolve("tracee.args.openat").is_none());
        assert!(reg.resolve("tracee.args.a.b.c").is_none());
        assert!(reg
            .resolve("tracee.args.sig.detected_from.pathname")
            .is_some());
        assert!(reg.resolve("nosuch.field").is_none());
    }

    #[test]
    fn argument_names_are_sanitized_like_traceeshark() {
        assert_eq!(sanitize_name("IP address"), "IP_address");
        assert_eq!(sanitize_name("Process lineage"), "Process_lineage");
        assert_eq!(sanitize_name("a(b)"), "a_b_");
        assert_eq!(sanitize_name("pathname"), "pathname");
        assert_eq!(sanitize_name(""), "_");
    }

    #[test]
    fn tracee_types_map_to_field_types() {
        assert_eq!(arg_field_type("const char*"), FieldType::String);
        assert_eq!(arg_field_type("dev_t"), FieldType::UInt);
        assert_eq!(arg_field_type("int"), FieldType::Int);
        assert_eq!(arg_field_type("float64"), FieldType::Double);
        assert_eq!(arg_field_type("trace.PktMeta"), FieldType::Dynamic);
    }
}
