//! The operators and which field types each accepts: the one table of type rules (the
//! counterpart of Wireshark's per-`ftype` `cmp_*` slots), tested as a table in
//! `tests/filter/types.rs` and below.

use osprey_field::FieldType;

/// A relation between two values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Op {
    /// `==`, `eq`, `any_eq`: some value equals.
    Eq,
    /// `!=`, `ne`, `all_ne`: the field is present and no value equals (Wireshark 4).
    Ne,
    /// `===`, `all_eq`: the field is present and every value equals.
    AllEq,
    /// `!==`, `~=`, `any_ne`: some value differs.
    AnyNe,
    /// `<`, `lt`
    Lt,
    /// `<=`, `le`
    Le,
    /// `>`, `gt`
    Gt,
    /// `>=`, `ge`
    Ge,
    /// `contains`
    Contains,
    /// `matches` (regular expression, case-insensitive unless `(?-i)`)
    Matches,
    /// `in {...}` (some value is in the set)
    In,
}

/// What an operator needs of a type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Need {
    /// Equality.
    Equality,
    /// An order.
    Order,
    /// A byte or text sequence to search.
    Sequence,
    /// Text (or bytes) to run a regular expression over.
    Regex,
}

impl Op {
    /// The operator as written in messages.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::AllEq => "===",
            Op::AnyNe => "!==",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::Matches => "matches",
            Op::In => "in",
        }
    }

    /// What the operator needs of the operands' type.
    pub fn need(self) -> Need {
        match self {
            Op::Eq | Op::Ne | Op::AllEq | Op::AnyNe | Op::In => Need::Equality,
            Op::Lt | Op::Le | Op::Gt | Op::Ge => Need::Order,
            Op::Contains => Need::Sequence,
            Op::Matches => Need::Regex,
        }
    }

    /// The operator with its operands swapped (`80 < tcp.port` is `tcp.port > 80`), for
    /// operators where that means something.
    pub fn flipped(self) -> Option<Op> {
        Some(match self {
            Op::Lt => Op::Gt,
            Op::Le => Op::Ge,
            Op::Gt => Op::Lt,
            Op::Ge => Op::Le,
            Op::Eq | Op::Ne | Op::AllEq | Op::AnyNe => self,
            Op::Contains | Op::Matches | Op::In => return None,
        })
    }

    /// True when the operator applies to values of type `ty`. The rules follow Wireshark 4.0
    /// (`tshark -Y` accepts exactly these), except that protocols and labels accept nothing:
    /// Osprey keeps no bytes for a protocol, so only its presence can be tested.
    pub fn allowed(self, ty: FieldType) -> bool {
        use FieldType as T;
        match (self.need(), ty) {
            (_, T::Protocol | T::None) => false,
            (_, T::Dynamic) => true,
            (Need::Equality | Need::Order, _) => true,
            (Need::Sequence, T::String | T::Bytes | T::Ether) => true,
            (Need::Regex, T::String | T::Bytes | T::Ether) => true,
            (Need::Sequence | Need::Regex, _) => false,
        }
    }
}

/// True when a field of type `ty` can be sliced (`field[0:2]`) into bytes.
pub(crate) fn sliceable(ty: FieldType) -> bool {
    matches!(
        ty,
        FieldType::String
            | FieldType::Bytes
            | FieldType::Ether
            | FieldType::Ipv4
            | FieldType::Ipv6
            | FieldType::Dynamic
    )
}

/// The type's name in messages.
pub(crate) fn type_name(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Protocol => "protocol",
        FieldType::None => "label (no value)",
        FieldType::Bool => "boolean",
        FieldType::Int => "signed integer",
        FieldType::UInt => "unsigned integer",
        FieldType::Double => "floating point number",
        FieldType::String => "character string",
        FieldType::Bytes => "byte sequence",
        FieldType::AbsTime => "absolute time",
        FieldType::RelTime => "time offset",
        FieldType::Ipv4 => "IPv4 address",
        FieldType::Ipv6 => "IPv6 address",
        FieldType::Ether => "Ethernet address",
        FieldType::Dynamic => "event argument",
    }
}

/// The type's name with "a" or "an" in front.
pub(crate) fn a_type(ty: FieldType) -> String {
    let name = type_name(ty);
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u', 'I']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

/// True when values of types `a` and `b` can be compared with each other (field against field).
pub(crate) fn compatible(a: FieldType, b: FieldType) -> bool {
    use FieldType as T;
    let numeric = |t| matches!(t, T::Int | T::UInt | T::Double);
    let sequence = |t| matches!(t, T::String | T::Bytes | T::Ether);
    a == b
        || a == T::Dynamic
        || b == T::Dynamic
        || (numeric(a) && numeric(b))
        || (sequence(a) && sequence(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use FieldType as T;

    /// One row per type: does it take ==, <, contains, matches, and can it be sliced?
    #[test]
    fn type_rules_table() {
        let table = [
            (T::Protocol, [false, false, false, false, false]),
            (T::None, [false, false, false, false, false]),
            (T::Bool, [true, true, false, false, false]),
            (T::Int, [true, true, false, false, false]),
            (T::UInt, [true, true, false, false, false]),
            (T::Double, [true, true, false, false, false]),
            (T::String, [true, true, true, true, true]),
            (T::Bytes, [true, true, true, true, true]),
            (T::AbsTime, [true, true, false, false, false]),
            (T::RelTime, [true, true, false, false, false]),
            (T::Ipv4, [true, true, false, false, true]),
            (T::Ipv6, [true, true, false, false, true]),
            (T::Ether, [true, true, true, true, true]),
            (T::Dynamic, [true, true, true, true, true]),
        ];
        for (ty, [eq, lt, contains, matches, slice]) in table {
            assert_eq!(Op::Eq.allowed(ty), eq, "== on {ty:?}");
            assert_eq!(Op::Ne.allowed(ty), eq, "!= on {ty:?}");
            assert_eq!(Op::In.allowed(ty), eq, "in on {ty:?}");
            assert_eq!(Op::Lt.allowed(ty), lt, "< on {ty:?}");
            assert_eq!(Op::Ge.allowed(ty), lt, ">= on {ty:?}");
            assert_eq!(Op::Contains.allowed(ty), contains, "contains on {ty:?}");
            assert_eq!(Op::Matches.allowed(ty), matches, "matches on {ty:?}");
            assert_eq!(sliceable(ty), slice, "slice of {ty:?}");
        }
    }
}
