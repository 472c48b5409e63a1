//! A byte-level test on raw Tracee JSON event lines that rejects lines a filter certainly does
//! not match, so the reader can skip parsing them (performance.md: searching the key bytes runs
//! at millions of lines per second, a typed parse at a fraction of that).
//!
//! # Contract
//!
//! [`Prefilter::may_match`] is conservative: it returns `false` only when the event on that line
//! certainly does not match the filter; `true` means "parse it and run the filter". It is
//! derived from the filter's structure, as a condition every matching line must satisfy:
//!
//! - A line holding a backslash may match: JSON escapes make byte comparison unsound.
//! - The event name of a line is the value after its one top-level `"eventName":"` key.
//!   When that key occurs more than once or not at all (v1beta1 events name the event
//!   `"name"`), or sits inside a nested object, the name is unknown and every test on it
//!   passes.
//! - `tracee.eventName == "X"` (also `===`, and `in {"X", "Y"}`): the name is one of those;
//!   `tracee.eventName != "X"`: it is none of them; `tracee.eventName contains "x"`: the line
//!   contains `x`.
//! - Any test on an argument field `tracee.args.<event>.<arg>` (or
//!   `tracee.args.<event>.detected_from.<arg>`) needs that argument, so the event name,
//!   with Traceeshark's name sanitizing, is `<event>`.
//! - On fields whose value Osprey copies verbatim from a JSON string of the line
//!   (`tracee.processName`, `tracee.executable.path`, `tracee.container.*`, `tracee.syscall`,
//!   ... see `VERBATIM`): `== "x"` (non-empty) needs `"x"` in the line, and `contains "x"`
//!   needs `x`.
//! - On argument fields: `contains "x"` and `== "x"` (when `x` can only be text, not a number,
//!   boolean, address, time or byte string) need `x` in the line, unless the line has an
//!   argument of byte type (whose base64 text may decode to `x`). Needles with characters an
//!   argument's rendering may add (space, `{}[]()=,:`) are not used. This relies on the event
//!   dissector's rule that argument text values are the line's JSON strings verbatim (derived
//!   values get fields of their own).
//! - `tracee.isSignature == true` needs what makes an event a signature
//!   (`Event::is_signature`): a name that is unknown or starts with `sig_`, a `metadata` (v1beta1:
//!   `threat`) key, or an event ID that may lie in 6000–6999. A line whose name is known is not
//!   v1beta1, so its ID is its `"eventId"`: the ID is out of range when every `"eventId"` key's
//!   value starts with a digit other than 6, a minus sign or a letter.
//! - The protocol `tracee` (and `frame`) is present on every event line, so `not tracee` is
//!   false for every event line.
//! - `matches` on those same fields (verbatim and argument fields): every match of a pattern
//!   starts with one of its literal prefixes (regex-syntax's extractor, on the pattern as
//!   `matches` compiles it), so when they are few and none is empty the line holds one of
//!   them, under the rules of `contains` above. A case-insensitive pattern gives each case of
//!   its letters; one without a usable prefix gives "may match".
//! - `and` and `or` combine these soundly; `not` of anything not known for certain, `xor`,
//!   ordering and every other field give "may match".
//!
//! A reader that already knows a line's event name ([`Prefilter::event_name`]) can test its lines
//! with [`Prefilter::for_event`], which settles every test on the name once.

use aho_corasick::AhoCorasick;
use memchr::memmem::Finder;
use osprey_field::fields::{frame, tracee as t};
use osprey_field::{registry, FieldId};

use crate::literal::Lit;
use crate::ops::Op;
use crate::program::{Func, Node, Operand, SetItem};

/// Static fields whose values are JSON strings of the event line, copied verbatim.
const VERBATIM: &[FieldId] = &[
    t::PROCESS_NAME,
    t::EXECUTABLE_PATH,
    t::HOST_NAME,
    t::CONTAINER_ID,
    t::CONTAINER_NAME,
    t::CONTAINER_IMAGE,
    t::CONTAINER_IMAGE_DIGEST,
    t::POD_NAME,
    t::POD_NAMESPACE,
    t::POD_UID,
    t::SYSCALL,
    t::MATCHED_POLICIES,
    t::METADATA_DESCRIPTION,
    t::METADATA_SIGNATURE_NAME,
];

/// Characters that a rendering of a complex argument (`{a = b, c = d}`, `[1, 2]`, a joined
/// argv) may put between verbatim parts.
const RENDER_BYTES: &[u8] = b" {}[]()=,:\"";

/// A fast, conservative test on raw JSON event lines; see the module documentation.
#[derive(Clone, Debug)]
pub struct Prefilter {
    root: Pre,
    /// The needles of every `Contains` and `ArgContains` test (with the marks of byte
    /// arguments, when there are `ArgContains` tests) in one searcher, when there are two or
    /// more: a line that holds none of them fails all those tests, which one pass finds out
    /// (most lines, where a test per needle would search the line once per needle).
    needles: Option<Needles>,
}

/// A search for several needles at once.
#[derive(Clone, Debug)]
enum Needles {
    /// SIMD (Teddy), for up to 64 needles on CPUs that have it.
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
}

impl Needles {
    fn new(needles: &[&[u8]]) -> Needles {
        let packed = aho_corasick::packed::Config::new()
            .builder()
            .extend(needles)
            .build();
        match packed {
            Some(p) => Needles::Packed(p),
            None => Needles::Automaton(AhoCorasick::new(needles).expect("a few short needles")),
        }
    }

    /// True when `line` holds any of the needles.
    fn any_in(&self, line: &[u8]) -> bool {
        match self {
            Needles::Packed(p) => p.find(line).is_some(),
            Needles::Automaton(a) => a.is_match(line),
        }
    }
}

#[derive(Clone, Debug)]
enum Pre {
    /// Known for every line.
    Const(bool),
    /// The event name is one of these (sorted).
    NameIn(Vec<Box<[u8]>>),
    /// The event name is none of these (sorted).
    NameNotIn(Vec<Box<[u8]>>),
    /// The sanitized event name is this.
    ArgEvent(Box<[u8]>),
    /// The line contains these bytes.
    Contains(Finder<'static>),
    /// The line contains these bytes or has an argument of byte type.
    ArgContains(Finder<'static>),
    /// The event may be a signature.
    MaybeSignature,
    And(Vec<Pre>),
    Or(Vec<Pre>),
}

static KEY: std::sync::LazyLock<Finder<'static>> =
    std::sync::LazyLock::new(|| Finder::new(b"\"eventName\":\""));
static BYTES_TYPE: std::sync::LazyLock<Finder<'static>> =
    std::sync::LazyLock::new(|| Finder::new(b"\"bytes\""));
static BYTES_TYPE2: std::sync::LazyLock<Finder<'static>> =
    std::sync::LazyLock::new(|| Finder::new(b"[]byte"));
static SIGNATURE_KEYS: std::sync::LazyLock<[Finder<'static>; 2]> =
    std::sync::LazyLock::new(|| [Finder::new(b"\"metadata\""), Finder::new(b"\"threat\"")]);
static EVENT_ID_KEY: std::sync::LazyLock<Finder<'static>> =
    std::sync::LazyLock::new(|| Finder::new(b"\"eventId\""));

impl Prefilter {
    /// A prefilter that lets every line through.
    pub fn all() -> Prefilter {
        Prefilter::new(Pre::Const(true))
    }

    pub(crate) fn from_program(node: &Node) -> Prefilter {
        Prefilter::new(pre(node))
    }

    fn new(root: Pre) -> Prefilter {
        let mut needles: Vec<&[u8]> = Vec::new();
        let mut args = false;
        root.needles(&mut needles, &mut args);
        if args {
            needles.extend([BYTES_TYPE.needle(), BYTES_TYPE2.needle()]);
        }
        needles.sort_unstable();
        needles.dedup();
        let needles = (needles.len() >= 2).then(|| Needles::new(&needles));
        Prefilter { root, needles }
    }

    /// False only when the event on `json_line` (one Tracee JSON event, as read from the
    /// file) certainly does not match the filter.
    pub fn may_match(&self, json_line: &[u8]) -> bool {
        match &self.root {
            Pre::Const(b) => *b,
            root => {
                if memchr::memchr(b'\\', json_line).is_some() {
                    return true;
                }
                let mut line = Line {
                    bytes: json_line,
                    name: None,
                    no_needles: self.needles.as_ref().is_some_and(|n| !n.any_in(json_line)),
                    byte_args: None,
                };
                root.eval(&mut line)
            }
        }
    }

    /// The event name of a raw JSON event line as prefilters see it: the value of its one
    /// top-level `"eventName"` key, `None` when that is not known for certain (the key is
    /// absent, repeated or nested).
    pub fn event_name(json_line: &[u8]) -> Option<&[u8]> {
        event_name(json_line)
    }

    /// A prefilter that passes a line when any of `filters` does.
    pub fn any(filters: impl IntoIterator<Item = Prefilter>) -> Prefilter {
        Prefilter::new(or(filters.into_iter().map(|f| f.root).collect()))
    }

    /// This prefilter for lines whose [`Prefilter::event_name`] is `name`, with every test on the name
    /// settled: only for such lines.
    pub fn for_event(&self, name: &[u8]) -> Prefilter {
        Prefilter::new(self.root.for_event(name))
    }

    /// True when the prefilter passes every line (the filter gives it nothing to test), so
    /// callers can skip it.
    pub fn is_trivial(&self) -> bool {
        matches!(self.root, Pre::Const(true))
    }
}

struct Line<'a> {
    bytes: &'a [u8],
    /// The event name, once looked for: `Some(None)` when it is unknown.
    name: Option<Option<&'a [u8]>>,
    /// True when the line holds none of the prefilter's needles ([`Prefilter::needles`]).
    no_needles: bool,
    /// Whether the line has an argument of byte type, once looked for.
    byte_args: Option<bool>,
}

impl<'a> Line<'a> {
    fn name(&mut self) -> Option<&'a [u8]> {
        if let Some(n) = self.name {
            return n;
        }
        let n = event_name(self.bytes);
        self.name = Some(n);
        n
    }

    fn contains(&self, needle: &Finder<'_>) -> bool {
        !self.no_needles && needle.find(self.bytes).is_some()
    }

    fn has_byte_args(&mut self) -> bool {
        if self.no_needles {
            return false;
        }
        *self.byte_args.get_or_insert_with(|| {
            BYTES_TYPE.find(self.bytes).is_some() || BYTES_TYPE2.find(self.bytes).is_some()
        })
    }
}

/// The value of the line's one top-level `"eventName":"` key (the line has no backslash).
fn event_name(line: &[u8]) -> Option<&[u8]> {
    let key = &*KEY;
    let at = key.find(line)?;
    let start = at + key.needle().len();
    if key.find(&line[start..]).is_some() {
        return None;
    }
    if !top_level(&line[..at]) {
        return None;
    }
    let len = memchr::memchr(b'"', &line[start..])?;
    Some(&line[start..start + len])
}

/// True when the text before a key leaves it in the outermost object. Without backslashes,
/// quotes delimit strings exactly, so braces are counted outside strings.
fn top_level(prefix: &[u8]) -> bool {
    let first = match prefix.iter().position(|b| !b.is_ascii_whitespace()) {
        Some(i) if prefix[i] == b'{' => i,
        _ => return false,
    };
    // Braces outside strings, counted 64 bytes at a time: a Tracee line has dozens of strings
    // and a few objects before its event name, and a test per quote cost more than parsing.
    let mut depth = 1i64;
    let mut in_string = false;
    for chunk in prefix[first + 1..].chunks(64) {
        let mut block = [b' '; 64];
        block[..chunk.len()].copy_from_slice(chunk);
        let [quotes, opens, closes] = marks(&block);
        // Bit i: inside a string (an odd number of quotes up to i, after the blocks before).
        let inside = prefix_xor(quotes) ^ if in_string { !0 } else { 0 };
        depth +=
            i64::from((opens & !inside).count_ones()) - i64::from((closes & !inside).count_ones());
        in_string ^= quotes.count_ones() % 2 == 1;
    }
    depth == 1 && !in_string
}

/// Bit i set where `x` has an odd number of bits at or below i.
fn prefix_xor(mut x: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        x ^= x << shift;
    }
    x
}

/// Where `block` holds a quote, an opening brace and a closing brace (bit i for byte i).
#[cfg(target_arch = "x86_64")]
fn marks(block: &[u8; 64]) -> [u64; 3] {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    let mut out = [0u64; 3];
    // SAFETY: SSE2 is part of x86_64; each load reads 16 bytes inside `block`.
    unsafe {
        let wanted = [b'"', b'{', b'}'].map(|b| _mm_set1_epi8(b as i8));
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
            for (o, w) in out.iter_mut().zip(&wanted) {
                let bits = _mm_movemask_epi8(_mm_cmpeq_epi8(v, *w)) as u16;
                *o |= u64::from(bits) << (16 * k);
            }
        }
    }
    out
}

#[cfg(not(target_arch = "x86_64"))]
fn marks(block: &[u8; 64]) -> [u64; 3] {
    let mut out = [0u64; 3];
    for (i, b) in block.iter().enumerate() {
        for (o, w) in out.iter_mut().zip([b'"', b'{', b'}']) {
            *o |= u64::from(*b == w) << i;
        }
    }
    out
}

/// True when some `"eventId"` key's value may be an ID of 6000–6999: its first character past
/// the colon, quote and spaces is not a digit other than 6, a minus sign or a letter (`"06001"`
/// and `"+6001"` are read as 6001).
fn maybe_signature_id(line: &[u8]) -> bool {
    let key = &*EVENT_ID_KEY;
    key.find_iter(line).any(|at| {
        let rest = &line[at + key.needle().len()..];
        let first = rest
            .iter()
            .find(|&&b| !(b.is_ascii_whitespace() || b == b':' || b == b'"'));
        !matches!(
            first,
            Some(b'1'..=b'5' | b'7'..=b'9' | b'-' | b'a'..=b'z' | b'A'..=b'Z')
        )
    })
}

/// Compares a name with an argument field's event part, sanitizing as argument names are.
fn sanitized_eq(name: &[u8], want: &[u8]) -> bool {
    name.len() == want.len()
        && name.iter().zip(want).all(|(&a, &b)| {
            let a = if a.is_ascii_alphanumeric() || a == b'_' || a == b'-' {
                a
            } else {
                b'_'
            };
            a == b
        })
}

impl Pre {
    fn eval(&self, line: &mut Line<'_>) -> bool {
        match self {
            Pre::Const(b) => *b,
            Pre::NameIn(set) => match line.name() {
                Some(n) => set.binary_search_by(|m| (**m).cmp(n)).is_ok(),
                None => true,
            },
            Pre::NameNotIn(set) => match line.name() {
                Some(n) => set.binary_search_by(|m| (**m).cmp(n)).is_err(),
                None => true,
            },
            Pre::ArgEvent(e) => match line.name() {
                Some(n) => sanitized_eq(n, e),
                None => true,
            },
            Pre::Contains(f) => line.contains(f),
            Pre::ArgContains(f) => line.contains(f) || line.has_byte_args(),
            Pre::MaybeSignature => {
                line.name().is_none_or(|n| n.starts_with(b"sig_"))
                    || SIGNATURE_KEYS.iter().any(|k| k.find(line.bytes).is_some())
                    || maybe_signature_id(line.bytes)
            }
            Pre::And(ps) => ps.iter().all(|p| p.eval(line)),
            Pre::Or(ps) => ps.iter().any(|p| p.eval(line)),
        }
    }
}

impl Pre {
    /// Adds the needles of its `Contains` and `ArgContains` tests to `out`; sets `args` when
    /// there are `ArgContains` tests.
    fn needles<'p>(&'p self, out: &mut Vec<&'p [u8]>, args: &mut bool) {
        match self {
            Pre::Contains(f) => out.push(f.needle()),
            Pre::ArgContains(f) => {
                out.push(f.needle());
                *args = true;
            }
            Pre::And(ps) | Pre::Or(ps) => ps.iter().for_each(|p| p.needles(out, args)),
            _ => {}
        }
    }

    /// [`Prefilter::for_event`].
    fn for_event(&self, name: &[u8]) -> Pre {
        let known = |p: &Pre| {
            p.eval(&mut Line {
                bytes: b"",
                name: Some(Some(name)),
                no_needles: false,
                byte_args: None,
            })
        };
        match self {
            Pre::NameIn(_) | Pre::NameNotIn(_) | Pre::ArgEvent(_) => Pre::Const(known(self)),
            Pre::MaybeSignature if known(self) => Pre::Const(true),
            Pre::And(ps) => and(ps.iter().map(|p| p.for_event(name)).collect()),
            Pre::Or(ps) => or(ps.iter().map(|p| p.for_event(name)).collect()),
            other => other.clone(),
        }
    }
}

fn and(ps: Vec<Pre>) -> Pre {
    let mut out = Vec::new();
    for p in ps {
        match p {
            Pre::Const(true) => {}
            Pre::Const(false) => return Pre::Const(false),
            Pre::And(inner) => out.extend(inner),
            p => out.push(p),
        }
    }
    match out.len() {
        0 => Pre::Const(true),
        1 => out.pop().unwrap_or(Pre::Const(true)),
        _ => Pre::And(out),
    }
}

fn or(ps: Vec<Pre>) -> Pre {
    let mut out = Vec::new();
    for p in ps {
        match p {
            Pre::Const(false) => {}
            Pre::Const(true) => return Pre::Const(true),
            Pre::Or(inner) => out.extend(inner),
            p => out.push(p),
        }
    }
    match out.len() {
        0 => Pre::Const(false),
        1 => out.pop().unwrap_or(Pre::Const(false)),
        _ => Pre::Or(out),
    }
}

/// `Some(b)` when the node is `b` for every event line.
fn certain(node: &Node) -> Option<bool> {
    match node {
        Node::True => Some(true),
        Node::Test(Operand::Field(id)) if *id == t::TRACEE || *id == frame::FRAME => Some(true),
        Node::Not(n) => certain(n).map(|b| !b),
        Node::And(ns) => {
            let cs: Vec<_> = ns.iter().map(certain).collect();
            if cs.contains(&Some(false)) {
                Some(false)
            } else if cs.iter().all(|c| *c == Some(true)) {
                Some(true)
            } else {
                None
            }
        }
        Node::Or(ns) => {
            let cs: Vec<_> = ns.iter().map(certain).collect();
            if cs.contains(&Some(true)) {
                Some(true)
            } else if cs.iter().all(|c| *c == Some(false)) {
                Some(false)
            } else {
                None
            }
        }
        Node::Xor(ns) => ns
            .iter()
            .try_fold(false, |acc, n| certain(n).map(|b| acc ^ b)),
        _ => None,
    }
}

/// A condition every event line on which `node` is true satisfies.
fn pre(node: &Node) -> Pre {
    if let Some(b) = certain(node) {
        return Pre::Const(b);
    }
    match node {
        Node::True => Pre::Const(true),
        Node::Test(o) => present(o),
        Node::Not(_) | Node::Xor(_) => Pre::Const(true),
        Node::And(ns) => and(ns.iter().map(pre).collect()),
        Node::Or(ns) => or(ns.iter().map(pre).collect()),
        Node::CmpOperand { lhs, rhs, .. } => and(vec![present(lhs), present(rhs)]),
        Node::CmpLit { lhs, op, lit } => and(vec![
            present(lhs),
            value_pre(lhs, *op, std::slice::from_ref(&**lit)),
        ]),
        Node::In { lhs, set } => {
            let lits: Option<Vec<Lit>> = set
                .items
                .iter()
                .map(|i| {
                    if let SetItem::Value(l) = i {
                        Some(l.clone())
                    } else {
                        None
                    }
                })
                .collect();
            let value = match lits {
                Some(lits) => value_pre(lhs, Op::In, &lits),
                None => Pre::Const(true),
            };
            and(vec![present(lhs), value])
        }
    }
}

/// What must hold for the operand to yield any value.
fn present(o: &Operand) -> Pre {
    match o {
        Operand::Field(id) => match arg_event(*id) {
            Some(e) => Pre::ArgEvent(e.into()),
            None => Pre::Const(true),
        },
        Operand::Slice(inner, _) | Operand::BitAnd(inner, _) => present(inner),
        Operand::Func(f) => match &**f {
            Func::Len(o)
            | Func::Count(o)
            | Func::Lower(o)
            | Func::Upper(o)
            | Func::String(o, _)
            | Func::Abs(o) => present(o),
            Func::Max(os) | Func::Min(os) => or(os.iter().map(present).collect()),
        },
    }
}

/// The event part of an argument field's name.
fn arg_event(id: FieldId) -> Option<Vec<u8>> {
    let info = registry().get(id)?;
    if !osprey_field::is_arg_field_name(&info.abbrev) {
        return None;
    }
    let rest = info.abbrev.strip_prefix("tracee.args.")?;
    Some(rest.split('.').next()?.as_bytes().to_vec())
}

/// True for a literal that compares as text and nothing else.
fn plain_text(l: &Lit) -> bool {
    !l.numeric_text && l.ipv4.is_none() && l.ipv6.is_none()
}

/// True for a literal that, against an argument field, can only equal a text value.
fn text_only(l: &Lit) -> bool {
    plain_text(l)
        && l.int.is_none()
        && l.float.is_none()
        && l.boolean.is_none()
        && l.ether.is_none()
        && l.bytes.is_none()
        && l.abs.is_none()
        && l.rel.is_none()
}

/// The most needles a pattern may give (a case-insensitive word gives one per case of its
/// letters).
const MAX_REGEX_NEEDLES: usize = 16;

/// Needles one of which every match of `pattern` starts with: its literal prefixes, when there
/// are few and none is empty. The pattern is read as `matches` compiles it (case-insensitive
/// unless it says otherwise).
fn regex_needles(pattern: &[u8]) -> Option<Vec<Vec<u8>>> {
    let pattern = std::str::from_utf8(pattern).ok()?;
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(true)
        .utf8(false)
        .nest_limit(64)
        .build()
        .parse(pattern)
        .ok()?;
    let prefixes = regex_syntax::hir::literal::Extractor::new().extract(&hir);
    let needles = prefixes.literals()?;
    if needles.is_empty()
        || needles.len() > MAX_REGEX_NEEDLES
        || needles.iter().any(|n| n.as_bytes().is_empty())
    {
        return None;
    }
    Some(needles.iter().map(|n| n.as_bytes().to_vec()).collect())
}

/// The needles of `matches` patterns: one of them is in every value any pattern matches.
fn patterns_needles(patterns: &[Lit]) -> Option<Vec<Vec<u8>>> {
    let mut needles = Vec::new();
    for p in patterns {
        needles.extend(regex_needles(&p.text)?);
    }
    Some(needles)
}

fn needle_ok(text: &[u8]) -> bool {
    !text.is_empty() && !text.iter().any(|b| RENDER_BYTES.contains(b) || *b < 0x20)
}

/// The condition a value comparison puts on the line (the field's presence aside).
fn value_pre(lhs: &Operand, op: Op, lits: &[Lit]) -> Pre {
    let Operand::Field(id) = lhs else {
        return Pre::Const(true);
    };
    let id = *id;
    if id == t::IS_SIGNATURE {
        let only_true = !lits.is_empty() && lits.iter().all(|l| l.boolean == Some(true));
        return match op {
            Op::Eq | Op::AllEq | Op::In if only_true => Pre::MaybeSignature,
            _ => Pre::Const(true),
        };
    }
    if id == t::EVENT_NAME {
        if !lits.iter().all(plain_text) {
            return Pre::Const(true);
        }
        let mut names: Vec<Box<[u8]>> = lits.iter().map(|l| l.text.clone()).collect();
        names.sort();
        names.dedup();
        return match op {
            Op::Eq | Op::AllEq | Op::In => Pre::NameIn(names),
            Op::Ne => Pre::NameNotIn(names),
            Op::Contains => match lits {
                [l] if !l.text.is_empty() => Pre::Contains(Finder::new(&l.text).into_owned()),
                _ => Pre::Const(true),
            },
            _ => Pre::Const(true),
        };
    }
    if VERBATIM.contains(&id) {
        return match op {
            Op::Eq | Op::AllEq | Op::In
                if lits.iter().all(|l| plain_text(l) && !l.text.is_empty()) =>
            {
                or(lits
                    .iter()
                    .map(|l| {
                        let mut quoted = Vec::with_capacity(l.text.len() + 2);
                        quoted.push(b'"');
                        quoted.extend_from_slice(&l.text);
                        quoted.push(b'"');
                        Pre::Contains(Finder::new(&quoted).into_owned())
                    })
                    .collect())
            }
            Op::Contains => match lits {
                [l] if !l.text.is_empty() => Pre::Contains(Finder::new(&l.text).into_owned()),
                _ => Pre::Const(true),
            },
            Op::Matches => match patterns_needles(lits) {
                Some(needles) => or(needles
                    .iter()
                    .map(|n| Pre::Contains(Finder::new(n).into_owned()))
                    .collect()),
                None => Pre::Const(true),
            },
            _ => Pre::Const(true),
        };
    }
    if id.is_dynamic() {
        let usable = |l: &Lit| needle_ok(&l.text);
        return match op {
            Op::Contains => match lits {
                [l] if usable(l) => Pre::ArgContains(Finder::new(&l.text).into_owned()),
                _ => Pre::Const(true),
            },
            Op::Eq | Op::AllEq | Op::In if lits.iter().all(|l| text_only(l) && usable(l)) => {
                or(lits
                    .iter()
                    .map(|l| Pre::ArgContains(Finder::new(&l.text).into_owned()))
                    .collect())
            }
            Op::Matches => match patterns_needles(lits) {
                Some(needles) if needles.iter().all(|n| needle_ok(n)) => or(needles
                    .iter()
                    .map(|n| Pre::ArgContains(Finder::new(n).into_owned()))
                    .collect()),
                _ => Pre::Const(true),
            },
            _ => Pre::Const(true),
        };
    }
    Pre::Const(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_name_is_the_one_top_level_key() {
        assert_eq!(
            event_name(br#"{"a":1,"eventName":"open","b":2}"#),
            Some(&b"open"[..])
        );
        assert_eq!(
            event_name(br#"{"a":{"x":"}"},"eventName":"open"}"#),
            Some(&b"open"[..])
        );
        assert_eq!(event_name(br#"{"a":{"eventName":"open"}}"#), None);
        assert_eq!(
            event_name(br#"{"eventName":"a","x":{"eventName":"b"}}"#),
            None
        );
        assert_eq!(event_name(br#"{"name":"open"}"#), None);
        assert_eq!(
            event_name(br#"{"a":"{","eventName":"open"}"#),
            Some(&b"open"[..])
        );
    }

    #[test]
    fn nesting_is_counted_across_blocks() {
        // The plain count: every quote toggles a string, braces outside strings nest.
        fn reference(prefix: &[u8]) -> bool {
            let Some(i) = prefix.iter().position(|b| !b.is_ascii_whitespace()) else {
                return false;
            };
            if prefix[i] != b'{' {
                return false;
            }
            let (mut depth, mut in_string) = (1i64, false);
            for &b in &prefix[i + 1..] {
                match b {
                    b'"' => in_string = !in_string,
                    b'{' if !in_string => depth += 1,
                    b'}' if !in_string => depth -= 1,
                    _ => {}
                }
            }
            depth == 1 && !in_string
        }
        let pieces: [&[u8]; 8] = [
            b"\"a\":1,",
            b"\"b\":{\"c\":2},",
            b"\"{\",",
            b"\"}}\":",
            b"{",
            b"}",
            b"\"",
            b"  ",
        ];
        let mut seed = 7u64;
        for _ in 0..20_000 {
            let mut prefix = b" {".to_vec();
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let n = (seed >> 33) % 60;
            for k in 0..n {
                let pick = (seed >> (k % 29)) as usize ^ k as usize;
                prefix.extend_from_slice(pieces[pick % pieces.len()]);
            }
            assert_eq!(
                top_level(&prefix),
                reference(&prefix),
                "{}",
                String::from_utf8_lossy(&prefix)
            );
        }
    }

    #[test]
    fn sanitizing_compare() {
        assert!(sanitized_eq(b"foo bar", b"foo_bar"));
        assert!(!sanitized_eq(b"foo", b"foo_bar"));
    }
}
