//! Field values and how they are shown.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::{Display, FieldDef};

/// One value of a field in one frame. Strings and bytes borrow from the frame when they can.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue<'a> {
    /// No value: protocols and labels.
    None,
    /// Boolean.
    Bool(bool),
    /// Signed integer.
    Int(i64),
    /// Unsigned integer.
    UInt(u64),
    /// Floating point.
    Double(f64),
    /// Text.
    Str(Cow<'a, str>),
    /// Bytes.
    Bytes(Cow<'a, [u8]>),
    /// Nanoseconds since the epoch.
    AbsTime(u64),
    /// Nanoseconds, signed.
    RelTime(i64),
    /// IPv4 address.
    Ipv4(Ipv4Addr),
    /// IPv6 address.
    Ipv6(Ipv6Addr),
    /// Ethernet address.
    Ether([u8; 6]),
}

impl FieldValue<'_> {
    /// A copy that owns its data.
    pub fn into_owned(self) -> FieldValue<'static> {
        match self {
            FieldValue::Str(s) => FieldValue::Str(Cow::Owned(s.into_owned())),
            FieldValue::Bytes(b) => FieldValue::Bytes(Cow::Owned(b.into_owned())),
            FieldValue::None => FieldValue::None,
            FieldValue::Bool(b) => FieldValue::Bool(b),
            FieldValue::Int(i) => FieldValue::Int(i),
            FieldValue::UInt(u) => FieldValue::UInt(u),
            FieldValue::Double(d) => FieldValue::Double(d),
            FieldValue::AbsTime(t) => FieldValue::AbsTime(t),
            FieldValue::RelTime(t) => FieldValue::RelTime(t),
            FieldValue::Ipv4(a) => FieldValue::Ipv4(a),
            FieldValue::Ipv6(a) => FieldValue::Ipv6(a),
            FieldValue::Ether(e) => FieldValue::Ether(e),
        }
    }

    /// The value as `tshark -T fields` prints it: booleans 1/0, integers per the field's
    /// display, bytes as bare hex, absolute times in Wireshark's date form.
    pub fn write_plain(&self, def: &FieldDef, out: &mut String) {
        match self {
            FieldValue::None => {}
            FieldValue::Bool(b) => out.push(if *b { '1' } else { '0' }),
            // Decimal (nearly every value) without the 128-bit path.
            FieldValue::Int(i) if def.display == Display::Dec => {
                out.push_str(itoa::Buffer::new().format(*i))
            }
            FieldValue::UInt(u) if def.display == Display::Dec => {
                out.push_str(itoa::Buffer::new().format(*u))
            }
            FieldValue::Int(i) => write_int(out, *i as i128, def.display),
            FieldValue::UInt(u) => write_int(out, *u as i128, def.display),
            FieldValue::Double(d) => {
                let _ = write!(out, "{d}");
            }
            FieldValue::Str(s) => out.push_str(s),
            FieldValue::Bytes(b) => {
                for byte in b.iter() {
                    let _ = write!(out, "{byte:02x}");
                }
            }
            FieldValue::AbsTime(ns) if def.display == Display::Epoch => {
                out.push_str(&osprey_event::time::format_epoch(*ns))
            }
            FieldValue::AbsTime(ns) => out.push_str(&osprey_event::time::format_wireshark(*ns)),
            FieldValue::RelTime(ns) => {
                // `{sign}{secs}.{nanos:09}`, without the formatting machinery: the Time column
                // prints one per line.
                if *ns < 0 {
                    out.push('-');
                }
                let abs = ns.unsigned_abs();
                out.push_str(itoa::Buffer::new().format(abs / 1_000_000_000));
                out.push('.');
                let mut frac = itoa::Buffer::new();
                let frac = frac.format(abs % 1_000_000_000);
                out.push_str(&"000000000"[frac.len()..]);
                out.push_str(frac);
            }
            FieldValue::Ipv4(a) => {
                let _ = write!(out, "{a}");
            }
            FieldValue::Ipv6(a) => {
                let _ = write!(out, "{a}");
            }
            FieldValue::Ether(e) => {
                let _ = write!(
                    out,
                    "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                    e[0], e[1], e[2], e[3], e[4], e[5]
                );
            }
        }
    }

    /// The value as the detail tree shows it: like [`FieldValue::write_plain`], with value names
    /// (`9 (SIGKILL)`), bytes separated by colons, and strings quoted when they contain spaces
    /// at their ends or are empty.
    pub fn write_display(&self, def: &FieldDef, out: &mut String) {
        match self {
            FieldValue::Int(_) | FieldValue::UInt(_) => {
                self.write_plain(def, out);
                let n = match self {
                    FieldValue::Int(i) => Some(*i),
                    FieldValue::UInt(u) => i64::try_from(*u).ok(),
                    _ => None,
                };
                if let Some(name) = n.and_then(|n| def.value_name(n)) {
                    let _ = write!(out, " ({name})");
                }
            }
            FieldValue::Bytes(b) => {
                for (i, byte) in b.iter().enumerate() {
                    if i > 0 {
                        out.push(':');
                    }
                    let _ = write!(out, "{byte:02x}");
                }
            }
            FieldValue::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
            FieldValue::Str(s) if s.is_empty() => out.push_str("\"\""),
            _ => self.write_plain(def, out),
        }
    }
}

fn write_int(out: &mut String, v: i128, display: Display) {
    match display {
        Display::Dec => out.push_str(itoa::Buffer::new().format(v)),
        Display::Hex(digits) => {
            if v < 0 {
                let _ = write!(out, "-0x{:0width$x}", -v, width = digits as usize);
            } else {
                let _ = write!(out, "0x{:0width$x}", v, width = digits as usize);
            }
        }
        Display::Oct => {
            let _ = write!(out, "0{v:o}");
        }
        Display::Epoch => out.push_str(itoa::Buffer::new().format(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FieldDef, FieldType};

    #[test]
    fn prints_like_tshark_fields() {
        let hex = FieldDef::new("t.flags", "Flags", FieldType::UInt).hex(4);
        let mut s = String::new();
        FieldValue::UInt(2).write_plain(&hex, &mut s);
        assert_eq!(s, "0x0002");
        let plain = FieldDef::new("t.x", "X", FieldType::Bool);
        s.clear();
        FieldValue::Bool(true).write_plain(&plain, &mut s);
        assert_eq!(s, "1");
        s.clear();
        FieldValue::Bytes(Cow::Borrowed(&[0x02, 0x04, 0xff])).write_plain(&plain, &mut s);
        assert_eq!(s, "0204ff");
        s.clear();
        FieldValue::AbsTime(1_795_256_630_017_640_964).write_plain(&plain, &mut s);
        assert_eq!(s, "Nov 21, 2026 10:23:50.017640964 UTC");
        s.clear();
        FieldValue::Ether([0, 0x1b, 0, 0, 0, 0xff]).write_plain(&plain, &mut s);
        assert_eq!(s, "00:1b:00:00:00:ff");
        for (ns, text) in [
            (3_000, "0.000003000"),
            (0, "0.000000000"),
            (-1_500_000_000, "-1.500000000"),
            (12_000_000_001, "12.000000001"),
            (i64::MIN, "-9223372036.854775808"),
        ] {
            s.clear();
            FieldValue::RelTime(ns).write_plain(&plain, &mut s);
            assert_eq!(s, text);
        }
        let int = FieldDef::new("t.i", "I", FieldType::Int);
        for (v, text) in [(i64::MIN, "-9223372036854775808"), (-1, "-1"), (42, "42")] {
            s.clear();
            FieldValue::Int(v).write_plain(&int, &mut s);
            assert_eq!(s, text);
        }
        s.clear();
        FieldValue::UInt(u64::MAX).write_plain(&int, &mut s);
        assert_eq!(s, "18446744073709551615");
    }

    #[test]
    fn display_names_values() {
        static SIGNALS: &[(i64, &str)] = &[(9, "SIGKILL")];
        let def = FieldDef::new("t.sig", "Signal", FieldType::Int).strings(SIGNALS);
        let mut s = String::new();
        FieldValue::Int(9).write_display(&def, &mut s);
        assert_eq!(s, "9 (SIGKILL)");
    }
}
