//! The compiled program and the machine that runs it (Wireshark's `gencode.c` and `dfvm.c`,
//! as a tree of typed nodes). Everything is prepared at compile time — literals typed, regular
//! expressions and substring searchers built, sets sorted — so that matching a frame does not
//! allocate, except in `lower()`, `upper()`, `string()` and multi-range slices.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use osprey_field::{FieldId, FieldSource, FieldValue, Info};

use crate::literal::Lit;
use crate::ops::Op;
use crate::parser::{Range, RangeEnd};

/// A compiled logical expression.
pub(crate) enum Node {
    /// The empty filter.
    True,
    /// A bare field or slice: present; a bitwise and: some value is non-zero.
    Test(Operand),
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
    Xor(Vec<Node>),
    /// Operand against a literal.
    CmpLit {
        lhs: Operand,
        op: Op,
        lit: Box<Lit>,
    },
    /// Operand against operand (`tcp.srcport < tcp.dstport`).
    CmpOperand {
        lhs: Operand,
        op: Op,
        rhs: Operand,
    },
    /// Some value is a member of the set.
    In {
        lhs: Operand,
        set: Box<Set>,
    },
}

/// Something that yields values.
pub(crate) enum Operand {
    Field(FieldId),
    Slice(Box<Operand>, Box<[Range]>),
    Func(Box<Func>),
    BitAnd(Box<Operand>, i128),
}

/// A function call.
pub(crate) enum Func {
    /// Length in bytes of each value.
    Len(Operand),
    /// How many values there are (no value when there are none).
    Count(Operand),
    /// Each text value in ASCII lower case.
    Lower(Operand),
    /// Each text value in ASCII upper case.
    Upper(Operand),
    /// Each value as `-T fields` prints it.
    String(Operand, Info),
    /// The largest value of all arguments.
    Max(Vec<Operand>),
    /// The smallest value of all arguments.
    Min(Vec<Operand>),
    /// Each number's absolute value.
    Abs(Operand),
}

/// The members of an `in` set.
pub(crate) struct Set {
    /// Text members sorted, for a binary search (text fields with plain string members).
    pub sorted_text: Option<Vec<Box<[u8]>>>,
    pub items: Vec<SetItem>,
}

// Values stay inline: sets are mostly values, scanned in order.
#[allow(clippy::large_enum_variant)]
pub(crate) enum SetItem {
    Value(Lit),
    Range(Box<Lit>, Box<Lit>),
    Operand(Operand),
}

type Visit<'v> = dyn FnMut(&FieldValue<'_>) -> bool + 'v;

impl Operand {
    /// Calls `f` with each value until it returns true; returns whether it did.
    pub fn each(&self, src: &dyn FieldSource, f: &mut Visit<'_>) -> bool {
        match self {
            Operand::Field(id) => src.any_value(*id, f),
            Operand::Slice(inner, ranges) => inner.each(src, &mut |v| slice(v, ranges, f)),
            Operand::BitAnd(inner, mask) => {
                inner.each(src, &mut |v| match int_of(v).or_else(|| bytes_as_int(v)) {
                    Some(i) => match v {
                        FieldValue::Int(_) => f(&FieldValue::Int((i & mask) as i64)),
                        _ => f(&FieldValue::UInt((i & mask) as u64)),
                    },
                    None => false,
                })
            }
            Operand::Func(func) => func.each(src, f),
        }
    }

    /// Every field this operand reads.
    pub fn fields(&self, out: &mut Vec<FieldId>) {
        match self {
            Operand::Field(id) => out.push(*id),
            Operand::Slice(inner, _) | Operand::BitAnd(inner, _) => inner.fields(out),
            Operand::Func(func) => match &**func {
                Func::Len(o)
                | Func::Count(o)
                | Func::Lower(o)
                | Func::Upper(o)
                | Func::String(o, _)
                | Func::Abs(o) => o.fields(out),
                Func::Max(os) | Func::Min(os) => os.iter().for_each(|o| o.fields(out)),
            },
        }
    }
}

impl Func {
    fn each(&self, src: &dyn FieldSource, f: &mut Visit<'_>) -> bool {
        match self {
            Func::Len(o) => o.each(src, &mut |v| match byte_len(v) {
                Some(n) => f(&FieldValue::UInt(n as u64)),
                None => false,
            }),
            Func::Count(o) => {
                let mut n = 0u64;
                o.each(src, &mut |_| {
                    n += 1;
                    false
                });
                n > 0 && f(&FieldValue::UInt(n))
            }
            Func::Lower(o) | Func::Upper(o) => {
                let upper = matches!(self, Func::Upper(_));
                o.each(src, &mut |v| match v {
                    FieldValue::Str(s) => {
                        let needs = if upper {
                            s.bytes().any(|b| b.is_ascii_lowercase())
                        } else {
                            s.bytes().any(|b| b.is_ascii_uppercase())
                        };
                        if !needs {
                            return f(v);
                        }
                        let c = if upper {
                            s.to_ascii_uppercase()
                        } else {
                            s.to_ascii_lowercase()
                        };
                        f(&FieldValue::Str(Cow::Owned(c)))
                    }
                    _ => false,
                })
            }
            Func::String(o, info) => o.each(src, &mut |v| {
                if matches!(v, FieldValue::Str(_)) {
                    return f(v);
                }
                let mut s = String::new();
                v.write_plain(info, &mut s);
                f(&FieldValue::Str(Cow::Owned(s)))
            }),
            Func::Max(os) | Func::Min(os) => {
                let want = if matches!(self, Func::Max(_)) {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
                let mut best: Option<FieldValue<'static>> = None;
                for o in os {
                    o.each(src, &mut |v| {
                        let better = match &best {
                            None => true,
                            Some(b) => compare_values(v, b) == Some(want),
                        };
                        if better && is_scalar(v) {
                            best = Some(v.clone().into_owned());
                        }
                        false
                    });
                }
                best.is_some_and(|b| f(&b))
            }
            Func::Abs(o) => o.each(src, &mut |v| match v {
                FieldValue::Int(i) => f(&FieldValue::Int(i.saturating_abs())),
                FieldValue::Double(d) => f(&FieldValue::Double(d.abs())),
                FieldValue::RelTime(t) => f(&FieldValue::RelTime(t.saturating_abs())),
                FieldValue::UInt(_) => f(v),
                _ => false,
            }),
        }
    }
}

fn is_scalar(v: &FieldValue<'_>) -> bool {
    !matches!(
        v,
        FieldValue::Str(_) | FieldValue::Bytes(_) | FieldValue::None
    )
}

/// The bytes of a value, for slices and `len()`; small values are copied into `buf`.
fn bytes_of<'b>(v: &'b FieldValue<'_>, buf: &'b mut [u8; 16]) -> Option<&'b [u8]> {
    match v {
        FieldValue::Str(s) => Some(s.as_bytes()),
        FieldValue::Bytes(b) => Some(b),
        FieldValue::Ether(e) => Some(e),
        FieldValue::Ipv4(a) => {
            buf[..4].copy_from_slice(&a.octets());
            Some(&buf[..4])
        }
        FieldValue::Ipv6(a) => {
            *buf = a.octets();
            Some(&buf[..])
        }
        _ => None,
    }
}

fn byte_len(v: &FieldValue<'_>) -> Option<usize> {
    let mut buf = [0u8; 16];
    bytes_of(v, &mut buf).map(<[u8]>::len)
}

/// The byte range `r` of a value `n` bytes long, if it lies within it.
fn resolve(r: &Range, n: usize) -> Option<std::ops::Range<usize>> {
    let n = n as i64;
    let start = if r.start < 0 { n + r.start } else { r.start };
    if start < 0 || start >= n {
        return None;
    }
    let end = match r.end {
        RangeEnd::Len(l) => start.checked_add(l)?,
        RangeEnd::Last(e) => {
            let e = if e < 0 { n + e } else { e };
            if e < start {
                return None;
            }
            e + 1
        }
        RangeEnd::ToEnd => n,
    };
    (end <= n).then_some(start as usize..end as usize)
}

fn slice(v: &FieldValue<'_>, ranges: &[Range], f: &mut Visit<'_>) -> bool {
    let mut buf = [0u8; 16];
    let Some(bytes) = bytes_of(v, &mut buf) else {
        return false;
    };
    if let [r] = ranges {
        return match resolve(r, bytes.len()) {
            Some(range) => f(&FieldValue::Bytes(Cow::Borrowed(&bytes[range]))),
            None => false,
        };
    }
    let mut out = Vec::new();
    for r in ranges {
        match resolve(r, bytes.len()) {
            Some(range) => out.extend_from_slice(&bytes[range]),
            None => return false,
        }
    }
    f(&FieldValue::Bytes(Cow::Owned(out)))
}

/// An integer value as i128.
fn int_of(v: &FieldValue<'_>) -> Option<i128> {
    match v {
        FieldValue::Int(i) => Some(*i as i128),
        FieldValue::UInt(u) => Some(*u as i128),
        FieldValue::Bool(b) => Some(*b as i128),
        _ => None,
    }
}

/// Up to eight bytes read as a big-endian integer, for `&` on byte fields and slices
/// (`eth.dst[0] & 1`).
fn bytes_as_int(v: &FieldValue<'_>) -> Option<i128> {
    let bytes: &[u8] = match v {
        FieldValue::Bytes(b) => b,
        FieldValue::Ether(e) => e,
        _ => return None,
    };
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    Some(bytes.iter().fold(0i128, |acc, b| (acc << 8) | *b as i128))
}

/// A decimal number written as text (for string values compared with unquoted numbers).
fn number_in_text(s: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(s).ok()?.trim();
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.'))
    {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Writes an integer in decimal into `buf`.
fn decimal(v: i128, buf: &mut [u8; 48]) -> &[u8] {
    let mut i = buf.len();
    let neg = v < 0;
    let mut u = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

fn ip_in_text(s: &[u8]) -> Option<FieldValue<'static>> {
    osprey_field::parse_ip(std::str::from_utf8(s).ok()?.trim())
}

/// Equality of a value and a literal.
pub(crate) fn equal(v: &FieldValue<'_>, lit: &Lit) -> bool {
    match v {
        FieldValue::Str(s) => {
            let s = s.as_bytes();
            if *s == *lit.text {
                return true;
            }
            if lit.numeric_text {
                if let (Some(a), Some(b)) = (number_in_text(s), lit.float) {
                    return a == b;
                }
            }
            if lit.ipv4.is_some() || lit.ipv6.is_some() {
                if let Some(ip) = ip_in_text(s) {
                    return equal(&ip, lit);
                }
            }
            false
        }
        FieldValue::Bytes(b) => **b == *lit.bytes.as_deref().unwrap_or(&lit.text),
        FieldValue::Int(_) | FieldValue::UInt(_) => {
            let i = int_of(v).unwrap_or(0);
            if let Some(l) = lit.int {
                i == l
            } else if let Some(f) = lit.float {
                i as f64 == f
            } else {
                let mut buf = [0u8; 48];
                decimal(i, &mut buf) == &*lit.text
            }
        }
        _ => order(v, lit) == Some(Ordering::Equal),
    }
}

/// The order of a value against a literal; `None` when they cannot be compared.
pub(crate) fn order(v: &FieldValue<'_>, lit: &Lit) -> Option<Ordering> {
    match v {
        FieldValue::None => None,
        FieldValue::Bool(b) => lit.boolean.map(|l| b.cmp(&l)),
        FieldValue::Int(_) | FieldValue::UInt(_) => {
            let i = int_of(v)?;
            match (lit.int, lit.float) {
                (Some(l), _) => Some(i.cmp(&l)),
                (None, Some(f)) => (i as f64).partial_cmp(&f),
                _ => None,
            }
        }
        FieldValue::Double(d) => lit.float.and_then(|f| d.partial_cmp(&f)),
        FieldValue::Str(s) => {
            let s = s.as_bytes();
            if lit.numeric_text {
                if let (Some(a), Some(b)) = (number_in_text(s), lit.float) {
                    return a.partial_cmp(&b);
                }
            }
            if lit.ipv4.is_some() || lit.ipv6.is_some() {
                if let Some(ip) = ip_in_text(s) {
                    return order(&ip, lit);
                }
            }
            Some(s.cmp(&lit.text))
        }
        FieldValue::Bytes(b) => Some(b.as_ref().cmp(lit.bytes.as_deref().unwrap_or(&lit.text))),
        FieldValue::AbsTime(t) => lit.abs.map(|l| (*t as i128).cmp(&l)),
        FieldValue::RelTime(t) => lit.rel.map(|l| (*t as i128).cmp(&l)),
        FieldValue::Ipv4(a) => lit
            .ipv4
            .map(|(l, mask)| (u32::from(*a) & mask).cmp(&(l & mask))),
        FieldValue::Ipv6(a) => lit
            .ipv6
            .map(|(l, mask)| (u128::from(*a) & mask).cmp(&(l & mask))),
        FieldValue::Ether(e) => match (&lit.ether, &lit.bytes) {
            (Some(l), _) => Some(e.cmp(l)),
            (None, Some(b)) => Some(e[..].cmp(b)),
            _ => None,
        },
    }
}

fn contains(v: &FieldValue<'_>, lit: &Lit) -> bool {
    match v {
        FieldValue::Str(s) => lit
            .find_text
            .as_ref()
            .is_some_and(|f| f.find(s.as_bytes()).is_some()),
        FieldValue::Bytes(b) => lit.find_bytes.as_ref().is_some_and(|f| f.find(b).is_some()),
        FieldValue::Ether(e) => lit.find_bytes.as_ref().is_some_and(|f| f.find(e).is_some()),
        _ => false,
    }
}

fn regex_match(v: &FieldValue<'_>, lit: &Lit) -> bool {
    let Some(re) = &lit.regex else { return false };
    match v {
        FieldValue::Str(s) => re.is_match(s.as_bytes()),
        FieldValue::Bytes(b) => re.is_match(b),
        FieldValue::Ether(e) => re.is_match(e),
        _ => false,
    }
}

fn test_lit(v: &FieldValue<'_>, op: Op, lit: &Lit) -> bool {
    match op {
        Op::Eq | Op::Ne | Op::AllEq | Op::In => equal(v, lit),
        Op::AnyNe => !equal(v, lit),
        Op::Lt => order(v, lit) == Some(Ordering::Less),
        Op::Le => matches!(order(v, lit), Some(Ordering::Less | Ordering::Equal)),
        Op::Gt => order(v, lit) == Some(Ordering::Greater),
        Op::Ge => matches!(order(v, lit), Some(Ordering::Greater | Ordering::Equal)),
        Op::Contains => contains(v, lit),
        Op::Matches => regex_match(v, lit),
    }
}

/// The order of two values (field against field).
pub(crate) fn compare_values(a: &FieldValue<'_>, b: &FieldValue<'_>) -> Option<Ordering> {
    use FieldValue as V;
    let num = |v: &FieldValue<'_>| -> Option<f64> {
        match v {
            V::Int(i) => Some(*i as f64),
            V::UInt(u) => Some(*u as f64),
            V::Double(d) => Some(*d),
            V::Str(s) => number_in_text(s.as_bytes()),
            _ => None,
        }
    };
    match (a, b) {
        (V::Int(_) | V::UInt(_), V::Int(_) | V::UInt(_)) => Some(int_of(a)?.cmp(&int_of(b)?)),
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(y)),
        (V::Str(x), V::Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (V::Str(_) | V::Bytes(_) | V::Ether(_), V::Str(_) | V::Bytes(_) | V::Ether(_)) => {
            let (mut ba, mut bb) = ([0u8; 16], [0u8; 16]);
            Some(bytes_of(a, &mut ba)?.cmp(bytes_of(b, &mut bb)?))
        }
        (V::Ipv4(x), V::Ipv4(y)) => Some(x.cmp(y)),
        (V::Ipv6(x), V::Ipv6(y)) => Some(x.cmp(y)),
        (V::AbsTime(x), V::AbsTime(y)) => Some(x.cmp(y)),
        (V::RelTime(x), V::RelTime(y)) => Some(x.cmp(y)),
        (
            V::Double(_) | V::Int(_) | V::UInt(_) | V::Str(_),
            V::Double(_) | V::Int(_) | V::UInt(_) | V::Str(_),
        ) => num(a)?.partial_cmp(&num(b)?),
        _ => None,
    }
}

fn test_values(a: &FieldValue<'_>, op: Op, b: &FieldValue<'_>) -> bool {
    match op {
        Op::Eq | Op::Ne | Op::AllEq | Op::In => compare_values(a, b) == Some(Ordering::Equal),
        Op::AnyNe => compare_values(a, b) != Some(Ordering::Equal),
        Op::Lt => compare_values(a, b) == Some(Ordering::Less),
        Op::Le => matches!(compare_values(a, b), Some(Ordering::Less | Ordering::Equal)),
        Op::Gt => compare_values(a, b) == Some(Ordering::Greater),
        Op::Ge => matches!(
            compare_values(a, b),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        Op::Contains => {
            let (mut ba, mut bb) = ([0u8; 16], [0u8; 16]);
            match (bytes_of(a, &mut ba), bytes_of(b, &mut bb)) {
                (Some(h), Some(n)) if !n.is_empty() => memchr::memmem::find(h, n).is_some(),
                _ => false,
            }
        }
        Op::Matches => false,
    }
}

impl Set {
    fn contains(&self, v: &FieldValue<'_>, src: &dyn FieldSource) -> bool {
        if let (Some(sorted), FieldValue::Str(s)) = (&self.sorted_text, v) {
            return sorted.binary_search_by(|m| (**m).cmp(s.as_bytes())).is_ok();
        }
        self.items.iter().any(|item| match item {
            SetItem::Value(lit) => equal(v, lit),
            SetItem::Range(lo, hi) => {
                matches!(order(v, lo), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(order(v, hi), Some(Ordering::Less | Ordering::Equal))
            }
            SetItem::Operand(o) => {
                o.each(src, &mut |w| compare_values(v, w) == Some(Ordering::Equal))
            }
        })
    }
}

impl Node {
    /// Runs the program on one frame.
    pub fn eval(&self, src: &dyn FieldSource) -> bool {
        match self {
            Node::True => true,
            Node::Test(Operand::BitAnd(..)) => {
                let Node::Test(o) = self else { return false };
                o.each(src, &mut |v| int_of(v).is_some_and(|i| i != 0))
            }
            Node::Test(o) => o.each(src, &mut |_| true),
            Node::Not(n) => !n.eval(src),
            Node::And(ns) => ns.iter().all(|n| n.eval(src)),
            Node::Or(ns) => ns.iter().any(|n| n.eval(src)),
            Node::Xor(ns) => ns.iter().fold(false, |acc, n| acc ^ n.eval(src)),
            Node::CmpLit { lhs, op, lit } => match op {
                // The field is present and no value equals.
                Op::Ne => {
                    let mut present = false;
                    let any = lhs.each(src, &mut |v| {
                        present = true;
                        equal(v, lit)
                    });
                    present && !any
                }
                // The field is present and every value equals.
                Op::AllEq => {
                    let mut present = false;
                    let differs = lhs.each(src, &mut |v| {
                        present = true;
                        !equal(v, lit)
                    });
                    present && !differs
                }
                _ => lhs.each(src, &mut |v| test_lit(v, *op, lit)),
            },
            Node::CmpOperand { lhs, op, rhs } => match op {
                Op::Ne | Op::AllEq => {
                    let (mut l, mut r) = (false, false);
                    let want_equal = *op == Op::AllEq;
                    let found = lhs.each(src, &mut |a| {
                        l = true;
                        rhs.each(src, &mut |b| {
                            r = true;
                            let eq = compare_values(a, b) == Some(Ordering::Equal);
                            if want_equal {
                                !eq
                            } else {
                                eq
                            }
                        })
                    });
                    l && r && !found
                }
                _ => lhs.each(src, &mut |a| rhs.each(src, &mut |b| test_values(a, *op, b))),
            },
            Node::In { lhs, set } => lhs.each(src, &mut |v| set.contains(v, src)),
        }
    }

    /// Every field the program reads.
    pub fn fields(&self, out: &mut Vec<FieldId>) {
        match self {
            Node::True => {}
            Node::Test(o) => o.fields(out),
            Node::Not(n) => n.fields(out),
            Node::And(ns) | Node::Or(ns) | Node::Xor(ns) => ns.iter().for_each(|n| n.fields(out)),
            Node::CmpLit { lhs, .. } => lhs.fields(out),
            Node::CmpOperand { lhs, rhs, .. } => {
                lhs.fields(out);
                rhs.fields(out);
            }
            Node::In { lhs, set } => {
                lhs.fields(out);
                for item in &set.items {
                    if let SetItem::Operand(o) = item {
                        o.fields(out);
                    }
                }
            }
        }
    }
}

// The program as dftest would print it (for `{:?}` on a `Filter`).

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::True => write!(f, "TRUE"),
            Node::Test(o) => write!(f, "{o:?}"),
            Node::Not(n) => write!(f, "NOT({n:?})"),
            Node::And(ns) => list(f, "AND", ns),
            Node::Or(ns) => list(f, "OR", ns),
            Node::Xor(ns) => list(f, "XOR", ns),
            Node::CmpLit { lhs, op, lit } => write!(
                f,
                "{lhs:?} {} {:?}",
                op.symbol(),
                String::from_utf8_lossy(&lit.text)
            ),
            Node::CmpOperand { lhs, op, rhs } => write!(f, "{lhs:?} {} {rhs:?}", op.symbol()),
            Node::In { lhs, set } => write!(f, "{lhs:?} in <set of {}>", set.items.len()),
        }
    }
}

fn list(f: &mut fmt::Formatter<'_>, name: &str, ns: &[Node]) -> fmt::Result {
    write!(f, "{name}(")?;
    for (i, n) in ns.iter().enumerate() {
        if i > 0 {
            write!(f, ", ")?;
        }
        write!(f, "{n:?}")?;
    }
    write!(f, ")")
}

impl fmt::Debug for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Field(id) => match osprey_field::registry().get(*id) {
                Some(info) => write!(f, "{}", info.abbrev),
                None => write!(f, "field#{:x}", id.0),
            },
            Operand::Slice(o, r) => write!(f, "{o:?}{r:?}"),
            Operand::BitAnd(o, m) => write!(f, "{o:?} & {m:#x}"),
            Operand::Func(func) => match &**func {
                Func::Len(o) => write!(f, "len({o:?})"),
                Func::Count(o) => write!(f, "count({o:?})"),
                Func::Lower(o) => write!(f, "lower({o:?})"),
                Func::Upper(o) => write!(f, "upper({o:?})"),
                Func::String(o, _) => write!(f, "string({o:?})"),
                Func::Abs(o) => write!(f, "abs({o:?})"),
                Func::Max(os) => write!(f, "max({os:?})"),
                Func::Min(os) => write!(f, "min({os:?})"),
            },
        }
    }
}
