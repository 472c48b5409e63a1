//! Constraints on one field that a filter implies, for stores that can skip data by value
//! (the Parquet lake prunes partitions and row groups with them).
//!
//! # Contract
//!
//! [`Filter::constraint`](crate::Filter::constraint) gives, for a field, a condition that the
//! field's value meets in every frame the filter matches; `None` means the filter says
//! nothing certain about it. The condition is necessary, not sufficient: whatever it lets
//! through still goes through the filter. It is derived from the compiled program, so literals
//! are read as the filter reads them (absolute times are UTC, `frame.time_epoch` takes seconds):
//!
//! - `f == v`, `f === v`, `f in {v, w, a..b}` on a plain field (no slice, function or mask):
//!   the value is one of those, or in those ranges; `<`, `<=`, `>`, `>=` give half-open
//!   ranges. For integer and absolute time fields a range (the hull of a set's members), for
//!   text fields a set of exact texts. A text literal that the comparison may also read as a
//!   number or an address (an unquoted `80` against text) gives nothing: it matches more than
//!   its text.
//! - `a and b`: both hold, so the intersection; `a or b`: one holds, so the union, and nothing
//!   when either side says nothing.
//! - `not`, `xor`, `!=`, `!==`, `contains`, `matches`, comparisons of two fields, presence
//!   tests and every other field give nothing.
//!
//! The intersection through `and` assumes that the field has at most one value per frame, as
//! the context fields of a Tracee event do (for a field with several values, `f == 1 and f == 2`
//! can match). Callers use constraints only on such fields.

use osprey_field::{registry, FieldId, FieldType};

use crate::literal::Lit;
use crate::ops::Op;
use crate::program::{Node, Operand, Set, SetItem};

/// A condition on one field's value that every matching frame meets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Constraint {
    /// The value lies in `lo..=hi`: integers, or absolute times in nanoseconds since the epoch
    /// (UTC). `i128::MIN`/`i128::MAX` stand for no bound; `lo > hi` means no value can match.
    Range {
        /// The smallest value that may match.
        lo: i128,
        /// The largest value that may match.
        hi: i128,
    },
    /// The value is exactly one of these texts (sorted, no duplicates); empty means no value
    /// can match.
    OneOf(Vec<Box<[u8]>>),
}

impl Constraint {
    /// True when some value in `min..=max` may meet the constraint (for a [`Constraint::OneOf`],
    /// true). Used with column statistics and partition bounds.
    pub fn admits_range(&self, min: i128, max: i128) -> bool {
        match self {
            Constraint::Range { lo, hi } => min.max(*lo) <= max.min(*hi),
            Constraint::OneOf(_) => true,
        }
    }

    /// True when some text between `min` and `max` (byte order, inclusive; `None` is no
    /// bound) may meet the constraint (for a [`Constraint::Range`], true).
    pub fn admits_text_range(&self, min: Option<&[u8]>, max: Option<&[u8]>) -> bool {
        match self {
            Constraint::Range { .. } => true,
            Constraint::OneOf(values) => values
                .iter()
                .any(|v| min.is_none_or(|m| m <= &v[..]) && max.is_none_or(|m| &v[..] <= m)),
        }
    }

    /// True when `text` may meet the constraint.
    pub fn admits_text(&self, text: &[u8]) -> bool {
        self.admits_text_range(Some(text), Some(text))
    }

    /// Both hold.
    fn intersect(self, other: Constraint) -> Option<Constraint> {
        Some(match (self, other) {
            (Constraint::Range { lo: a, hi: b }, Constraint::Range { lo: c, hi: d }) => {
                Constraint::Range {
                    lo: a.max(c),
                    hi: b.min(d),
                }
            }
            (Constraint::OneOf(a), Constraint::OneOf(b)) => {
                Constraint::OneOf(a.into_iter().filter(|v| b.contains(v)).collect())
            }
            // One field has one kind; keep either rather than guess.
            (a, _) => a,
        })
    }

    /// One of them holds.
    fn union(self, other: Constraint) -> Option<Constraint> {
        match (self, other) {
            (Constraint::Range { lo: a, hi: b }, Constraint::Range { lo: c, hi: d }) => {
                Some(Constraint::Range {
                    lo: a.min(c),
                    hi: b.max(d),
                })
            }
            (Constraint::OneOf(mut a), Constraint::OneOf(b)) => {
                a.extend(b);
                Some(Constraint::one_of(a))
            }
            _ => None,
        }
    }

    fn one_of(mut values: Vec<Box<[u8]>>) -> Constraint {
        values.sort();
        values.dedup();
        Constraint::OneOf(values)
    }

    fn point(v: i128) -> Constraint {
        Constraint::Range { lo: v, hi: v }
    }
}

/// How a field's literals are read for a constraint.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Integers: the literal's integer form.
    Integer,
    /// Absolute times: the literal's time form, nanoseconds since the epoch.
    Time,
    /// Text: the literal's exact text.
    Text,
}

/// The constraint the program `node` puts on `field`; `None` when it says nothing certain.
pub(crate) fn constraint(node: &Node, field: FieldId) -> Option<Constraint> {
    let kind = match registry().get(field)?.ty {
        FieldType::Int | FieldType::UInt => Kind::Integer,
        FieldType::AbsTime => Kind::Time,
        FieldType::String => Kind::Text,
        _ => return None,
    };
    derive(node, field, kind)
}

fn derive(node: &Node, field: FieldId, kind: Kind) -> Option<Constraint> {
    match node {
        Node::And(nodes) => nodes
            .iter()
            .filter_map(|n| derive(n, field, kind))
            .try_fold(None, |acc: Option<Constraint>, c| match acc {
                None => Some(Some(c)),
                Some(a) => a.intersect(c).map(Some),
            })
            .flatten(),
        Node::Or(nodes) => {
            let mut parts = nodes.iter().map(|n| derive(n, field, kind));
            let first = parts.next()??;
            parts.try_fold(first, |acc, c| acc.union(c?))
        }
        Node::CmpLit {
            lhs: Operand::Field(id),
            op,
            lit,
        } if *id == field => compare(*op, lit, kind),
        Node::In {
            lhs: Operand::Field(id),
            set,
        } if *id == field => members(set, kind),
        _ => None,
    }
}

/// The values `field OP lit` admits.
fn compare(op: Op, lit: &Lit, kind: Kind) -> Option<Constraint> {
    if kind == Kind::Text {
        return match op {
            Op::Eq | Op::AllEq => Some(Constraint::one_of(vec![exact_text(lit)?])),
            _ => None,
        };
    }
    let v = number(lit, kind)?;
    let (lo, hi) = match op {
        Op::Eq | Op::AllEq => (v, v),
        Op::Lt => (i128::MIN, v.saturating_sub(1)),
        Op::Le => (i128::MIN, v),
        Op::Gt => (v.saturating_add(1), i128::MAX),
        Op::Ge => (v, i128::MAX),
        _ => return None,
    };
    Some(Constraint::Range { lo, hi })
}

/// The values `field in {…}` admits: the members' texts, or the hull of the members' values.
fn members(set: &Set, kind: Kind) -> Option<Constraint> {
    if kind == Kind::Text {
        if let Some(sorted) = &set.sorted_text {
            return Some(Constraint::one_of(sorted.clone()));
        }
    }
    let mut items = set.items.iter().map(|item| match (item, kind) {
        (SetItem::Value(lit), Kind::Text) => Some(Constraint::one_of(vec![exact_text(lit)?])),
        (SetItem::Value(lit), _) => Some(Constraint::point(number(lit, kind)?)),
        (SetItem::Range(lo, hi), Kind::Integer | Kind::Time) => Some(Constraint::Range {
            lo: number(lo, kind)?,
            hi: number(hi, kind)?,
        }),
        _ => None,
    });
    let first = items.next()??;
    items.try_fold(first, |acc, c| acc.union(c?))
}

/// The literal's value as the comparison reads it against an integer or time field.
fn number(lit: &Lit, kind: Kind) -> Option<i128> {
    match kind {
        Kind::Integer => lit.int,
        Kind::Time => lit.abs,
        Kind::Text => None,
    }
}

/// The literal's text when equality with a text value means exactly that text (no numeric or
/// address reading, see `program::equal`).
fn exact_text(lit: &Lit) -> Option<Box<[u8]>> {
    let exact = !lit.numeric_text && lit.ipv4.is_none() && lit.ipv6.is_none();
    exact.then(|| lit.text.clone())
}

#[cfg(test)]
mod tests {
    use osprey_field::fields::{frame, tracee as t};

    use super::Constraint;
    use crate::{Filter, Macros};

    fn constraint(text: &str, field: osprey_field::FieldId) -> Option<Constraint> {
        Filter::compile(text, &Macros::new())
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .constraint(field)
    }

    fn range(lo: i128, hi: i128) -> Option<Constraint> {
        Some(Constraint::Range { lo, hi })
    }

    fn one_of(values: &[&str]) -> Option<Constraint> {
        Some(Constraint::OneOf(
            values.iter().map(|v| v.as_bytes().into()).collect(),
        ))
    }

    const S: i128 = 1_000_000_000;
    /// 2026-12-06T07:00:00Z
    const T7: i128 = 1_796_540_400 * S;

    #[test]
    fn text_equality_and_sets() {
        let host = t::HOST_NAME;
        assert_eq!(
            constraint(r#"tracee.hostName == "a""#, host),
            one_of(&["a"])
        );
        assert_eq!(
            constraint(r#"tracee.hostName === "a""#, host),
            one_of(&["a"])
        );
        assert_eq!(
            constraint(r#"tracee.hostName in {"b" "a" "b"}"#, host),
            one_of(&["a", "b"])
        );
        assert_eq!(
            constraint(r#"tracee.hostName == "a" or tracee.hostName == "c""#, host),
            one_of(&["a", "c"])
        );
        assert_eq!(
            constraint(
                r#"tracee.hostName in {"a", "b"} and tracee.hostName in {"b", "c"}"#,
                host
            ),
            one_of(&["b"])
        );
        // Contradictory: nothing can match.
        assert_eq!(
            constraint(r#"tracee.hostName == "a" and tracee.hostName == "b""#, host),
            one_of(&[])
        );
    }

    #[test]
    fn what_says_nothing() {
        let host = t::HOST_NAME;
        for text in [
            "",
            "tracee",
            "tracee.hostName",
            r#"tracee.hostName != "a""#,
            r#"tracee.hostName !== "a""#,
            r#"not tracee.hostName == "a""#,
            r#"!(tracee.hostName == "a")"#,
            r#"tracee.hostName contains "a""#,
            r#"tracee.hostName matches "^a$""#,
            r#"tracee.hostName not in {"a"}"#,
            r#"tracee.hostName == "a" xor tracee.eventName == "x""#,
            r#"tracee.hostName == "a" or tracee.eventName == "x""#,
            r#"tracee.hostName == tracee.processName"#,
            r#"lower(tracee.hostName) == "a""#,
            r#"tracee.hostName[0:1] == "a""#,
            r#"tracee.hostName > "a""#,
            // An unquoted number also matches "80.0" and "080".
            "tracee.hostName == 80",
            r#"tracee.eventName == "a""#,
        ] {
            assert_eq!(constraint(text, host), None, "{text}");
        }
    }

    #[test]
    fn and_keeps_what_one_side_says() {
        assert_eq!(
            constraint(
                r#"tracee.hostName == "a" and tracee.eventName contains "x""#,
                t::HOST_NAME
            ),
            one_of(&["a"])
        );
        assert_eq!(
            constraint(
                r#"(tracee.hostName == "a" and tracee.processId == 5) or (tracee.hostName == "b" and not tracee.processId == 6)"#,
                t::HOST_NAME
            ),
            one_of(&["a", "b"])
        );
        assert_eq!(
            constraint(
                r#"(tracee.hostName == "a" and tracee.processId == 5) or (tracee.hostName == "b" and not tracee.processId == 6)"#,
                t::PROCESS_ID
            ),
            None
        );
    }

    #[test]
    fn integer_ranges() {
        let pid = t::PROCESS_ID;
        assert_eq!(constraint("tracee.processId == 5", pid), range(5, 5));
        assert_eq!(constraint("tracee.processId < 5", pid), range(i128::MIN, 4));
        assert_eq!(
            constraint("tracee.processId <= 5", pid),
            range(i128::MIN, 5)
        );
        assert_eq!(constraint("tracee.processId > 5", pid), range(6, i128::MAX));
        assert_eq!(constraint("5 < tracee.processId", pid), range(6, i128::MAX));
        assert_eq!(
            constraint("tracee.processId ge 0x10", pid),
            range(16, i128::MAX)
        );
        assert_eq!(
            constraint("tracee.processId > 5 and tracee.processId <= 9", pid),
            range(6, 9)
        );
        assert_eq!(
            constraint("tracee.processId in {3, 20..30, 7}", pid),
            range(3, 30)
        );
        assert_eq!(
            constraint("tracee.processId == 1 or tracee.processId in {8..9}", pid),
            range(1, 9)
        );
        assert_eq!(constraint("tracee.processId != 5", pid), None);
        assert_eq!(constraint("tracee.processId & 4", pid), None);
    }

    #[test]
    fn times_are_utc_nanoseconds() {
        for field in [frame::TIME, t::TIMESTAMP] {
            let name = osprey_field::registry().info(field).abbrev.clone();
            assert_eq!(
                constraint(&format!(r#"{name} >= "2026-12-06 07:00:00""#), field),
                range(T7, i128::MAX),
                "{name}"
            );
            assert_eq!(
                constraint(
                    &format!(
                        r#"{name} >= "2026-12-06T07:00:00Z" and {name} < "Dec 6, 2026 08:00:00""#
                    ),
                    field
                ),
                range(T7, T7 + 3600 * S - 1),
                "{name}"
            );
        }
        // frame.time_epoch takes seconds, fractions too.
        assert_eq!(
            constraint("frame.time_epoch >= 1796540400.5", frame::TIME_EPOCH),
            range(T7 + S / 2, i128::MAX)
        );
        assert_eq!(
            constraint(
                "frame.time_epoch in {1796540400..1796544000}",
                frame::TIME_EPOCH
            ),
            range(T7, T7 + 3600 * S)
        );
        // Each time field is its own: frame.time says nothing about tracee.timestamp.
        assert_eq!(
            constraint(r#"frame.time >= "2026-12-06 07:00:00""#, t::TIMESTAMP),
            None
        );
    }

    #[test]
    fn admits() {
        let r = Constraint::Range { lo: 10, hi: 20 };
        assert!(r.admits_range(0, 10) && r.admits_range(20, 30) && r.admits_range(12, 13));
        assert!(!r.admits_range(0, 9) && !r.admits_range(21, 30));
        let s = one_of(&["b", "d"]).unwrap();
        assert!(s.admits_text(b"b") && !s.admits_text(b"c"));
        assert!(s.admits_text_range(Some(b"a"), Some(b"b")));
        assert!(s.admits_text_range(Some(b"c"), None));
        assert!(!s.admits_text_range(Some(b"e"), None));
        assert!(!s.admits_text_range(Some(b"bb"), Some(b"cz")));
        assert!(!one_of(&[]).unwrap().admits_text_range(None, None));
    }
}
