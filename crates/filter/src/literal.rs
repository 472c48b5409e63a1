//! Literals: text as written in a filter, parsed once at compile time into the typed forms the
//! compared field needs (Wireshark's per-`ftype` `val_from_literal`/`val_from_string`).
//!
//! A literal compared with a field of a fixed type holds exactly that type's form, and a
//! literal that does not parse is a compile error. A literal compared with an argument field
//! whose type is decided by each value ([`FieldType::Dynamic`]) holds every form it parses as,
//! and the comparison picks the form matching each value.

use std::net::{Ipv4Addr, Ipv6Addr};

use memchr::memmem::Finder;

/// A compiled literal.
#[derive(Clone, Debug, Default)]
pub(crate) struct Lit {
    /// The text: a quoted string's bytes, or the word as written.
    pub text: Box<[u8]>,
    /// As an integer (also the value of a value-table name such as `PTRACE_ATTACH`).
    pub int: Option<i128>,
    /// As a floating point number.
    pub float: Option<f64>,
    /// As a boolean.
    pub boolean: Option<bool>,
    /// As an IPv4 address or network: (address, mask).
    pub ipv4: Option<(u32, u32)>,
    /// As an IPv6 address or network: (address, mask).
    pub ipv6: Option<(u128, u128)>,
    /// As an Ethernet address.
    pub ether: Option<[u8; 6]>,
    /// As bytes (`aa:bb:cc`; a quoted string's bytes for byte fields).
    pub bytes: Option<Box<[u8]>>,
    /// As an absolute time, nanoseconds since the epoch.
    pub abs: Option<i128>,
    /// As a time offset, nanoseconds.
    pub rel: Option<i128>,
    /// An unquoted number compared with text: a string value that is itself a number is
    /// compared as a number (`tracee.sockaddr.sin_port < 1024` on Traceeshark's string ports).
    pub numeric_text: bool,
    /// For `contains` on text.
    pub find_text: Option<Box<Finder<'static>>>,
    /// For `contains` on bytes.
    pub find_bytes: Option<Box<Finder<'static>>>,
    /// For `matches`.
    pub regex: Option<Box<regex::bytes::Regex>>,
}

impl Lit {
    /// A literal with only its text.
    pub fn text(text: &[u8]) -> Lit {
        Lit {
            text: text.into(),
            ..Lit::default()
        }
    }

    /// Prepares `contains`: searches text values for the text and byte values for the bytes.
    pub fn prepare_contains(&mut self) {
        if !self.text.is_empty() {
            self.find_text = Some(Box::new(Finder::new(&self.text).into_owned()));
        }
        let bytes = self.bytes.as_deref().unwrap_or(&self.text);
        if !bytes.is_empty() {
            self.find_bytes = Some(Box::new(Finder::new(bytes).into_owned()));
        }
    }
}

/// Why an integer did not parse.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum IntError {
    NotANumber,
    Overflow,
}

/// Parses an integer as Wireshark does (C's `strtoll` with base 0): decimal, `0x` hex, a
/// leading `0` for octal, with an optional sign. The magnitude must fit 64 bits.
pub(crate) fn parse_int(s: &str) -> Result<i128, IntError> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) =
        if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, h)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(IntError::NotANumber);
    }
    let mut v: i128 = 0;
    for c in digits.chars() {
        v = v * radix as i128 + c.to_digit(radix).unwrap_or(0) as i128;
        if v > u64::MAX as i128 {
            return Err(IntError::Overflow);
        }
    }
    Ok(if neg { -v } else { v })
}

/// Parses a floating point number: an integer as above, or decimal with optional fraction and
/// exponent (`1.5`, `2e3`). No `inf` or `nan`.
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    if let Ok(i) = parse_int(s) {
        return Some(i as f64);
    }
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if body.is_empty()
        || !body
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'.')
    {
        return None;
    }
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Parses a boolean: `true`/`false` in any case, or an integer (non-zero is true).
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        parse_int(s).ok().map(|i| i != 0)
    }
}

/// Parses an IPv4 address or CIDR network (`10.0.0.0/8`) into (address, mask).
pub(crate) fn parse_ipv4(s: &str) -> Result<(u32, u32), String> {
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let Ok(a) = addr.parse::<Ipv4Addr>() else {
        return Err(format!("\"{s}\" is not a valid IPv4 address"));
    };
    let bits = match bits {
        None => 32,
        Some(b) => match b.parse::<u32>() {
            Ok(n) if n <= 32 && b.bytes().all(|c| c.is_ascii_digit()) => n,
            Ok(n) if b.bytes().all(|c| c.is_ascii_digit()) => {
                return Err(format!(
                    "the prefix length in \"{s}\" must be at most 32, not {n}"
                ));
            }
            _ => {
                return Err(format!(
                    "\"{s}\" is not a valid IPv4 network: \"/{b}\" is not a prefix length"
                ))
            }
        },
    };
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    Ok((u32::from(a), mask))
}

/// Parses an IPv6 address or network (`fe80::/10`) into (address, mask).
pub(crate) fn parse_ipv6(s: &str) -> Result<(u128, u128), String> {
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let Ok(a) = addr.parse::<Ipv6Addr>() else {
        return Err(format!("\"{s}\" is not a valid IPv6 address"));
    };
    let bits = match bits {
        None => 128,
        Some(b) => match b.parse::<u32>() {
            Ok(n) if n <= 128 && b.bytes().all(|c| c.is_ascii_digit()) => n,
            Ok(n) if b.bytes().all(|c| c.is_ascii_digit()) => {
                return Err(format!(
                    "the prefix length in \"{s}\" must be at most 128, not {n}"
                ));
            }
            _ => {
                return Err(format!(
                    "\"{s}\" is not a valid IPv6 network: \"/{b}\" is not a prefix length"
                ))
            }
        },
    };
    let mask = if bits == 0 {
        0
    } else {
        u128::MAX << (128 - bits)
    };
    Ok((u128::from(a), mask))
}

/// Parses a byte string: hex bytes separated by `:`, `-` or `.` (`aa:bb:cc`, `aa-bb`,
/// `aabb.ccdd`), or an even number of hex digits without separators (`aabbcc`), or one byte
/// written `0x41`.
pub(crate) fn parse_bytes(s: &str) -> Option<Vec<u8>> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if (1..=2).contains(&h.len()) {
            return u8::from_str_radix(h, 16).ok().map(|b| vec![b]);
        }
        return None;
    }
    let hex = |p: &str| -> Option<Vec<u8>> {
        if p.is_empty() || p.len() % 2 != 0 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        (0..p.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&p[i..i + 2], 16).ok())
            .collect()
    };
    if let Some(sep) = s.chars().find(|c| matches!(c, ':' | '-')) {
        let mut out = Vec::new();
        for part in s.split(sep) {
            if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(part, 16).ok()?);
        }
        return Some(out);
    }
    if s.contains('.') {
        let mut out = Vec::new();
        for part in s.split('.') {
            out.extend(hex(part)?);
        }
        return Some(out);
    }
    hex(s)
}

/// Parses an Ethernet address (six bytes, as [`parse_bytes`]).
pub(crate) fn parse_ether(s: &str) -> Result<[u8; 6], String> {
    match parse_bytes(s) {
        Some(b) if b.len() == 6 => Ok([b[0], b[1], b[2], b[3], b[4], b[5]]),
        Some(b) if b.len() < 6 => Err(format!(
            "\"{s}\" has too few bytes for an Ethernet address (6 needed, {} given)",
            b.len()
        )),
        Some(b) => Err(format!(
            "\"{s}\" has too many bytes for an Ethernet address (6 needed, {} given)",
            b.len()
        )),
        None => Err(format!(
            "\"{s}\" is not a valid Ethernet address (e.g. 00:1b:21:3a:4f:5c)"
        )),
    }
}

/// Parses a time offset in seconds (`1.5`, `-2`, `0.000001`) into nanoseconds.
pub(crate) fn parse_rel_time(s: &str) -> Option<i128> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 9
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if body.ends_with('.') {
        return None;
    }
    let secs: i128 = int.parse().ok().filter(|v: &i128| *v < 1i128 << 64)?;
    let mut nanos: i128 = 0;
    for (i, b) in frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .enumerate()
    {
        let _ = i;
        nanos = nanos * 10 + (b - b'0') as i128;
    }
    let v = secs * 1_000_000_000 + nanos;
    Some(if neg { -v } else { v })
}

/// The message for an absolute time that does not parse.
pub(crate) fn abs_time_error(s: &str) -> String {
    format!(
        "\"{s}\" is not a valid absolute time; examples: \"Nov 12, 1999 08:55:44.123\", \"2011-07-04 12:34:56\", \"2011-07-04T12:34:56Z\""
    )
}

/// Parses an absolute time in the forms tshark 4.0 accepts, taken as UTC: `Jan 1, 2024
/// 00:00:00[.frac][ UTC]` (month names in any case) and ISO 8601 `2024-01-01`,
/// `2024-01-01 00:00[:00[.frac]]`, `2024-01-01T00:00:00[.frac][Z|+hh:mm]`. Returns nanoseconds
/// since the epoch (negative before 1970).
pub(crate) fn parse_abs_time(s: &str) -> Option<i128> {
    let s = s.trim();
    let s = s.strip_suffix(" UTC").map(str::trim_end).unwrap_or(s);
    if s.len() >= 10 && s.as_bytes().get(4) == Some(&b'-') {
        parse_iso(s)
    } else {
        parse_month_form(s)
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn parse_month_form(s: &str) -> Option<i128> {
    let mut parts = s.split_whitespace();
    let mon = parts.next()?;
    let month = MONTHS.iter().position(|m| mon.eq_ignore_ascii_case(m))? as u32 + 1;
    let day = parts.next()?.strip_suffix(',')?;
    let year = parts.next()?;
    let time = parts.next()?;
    if parts.next().is_some() || day.is_empty() || day.len() > 2 || year.len() != 4 {
        return None;
    }
    let day: u32 = digits(day)?;
    let year: i64 = digits(year)?;
    let (h, m, sec, nanos) = parse_clock(time, true)?;
    civil(year, month, day, h, m, sec, nanos, 0)
}

fn parse_iso(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    if b[7] != b'-' {
        return None;
    }
    let year: i64 = digits(&s[0..4])?;
    let month: u32 = digits(&s[5..7])?;
    let day: u32 = digits(&s[8..10])?;
    let rest = &s[10..];
    if rest.is_empty() {
        return civil(year, month, day, 0, 0, 0, 0, 0);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    // Split off a zone: Z, +hh:mm, -hh:mm, +hhmm.
    let (clock, offset) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let zone = &rest[i + 1..];
        let (zh, zm) = match zone.split_once(':') {
            Some((h, m)) => (h, m),
            None if zone.len() == 4 => (&zone[..2], &zone[2..]),
            None => return None,
        };
        let secs = digits::<i64>(zh)? * 3600 + digits::<i64>(zm)? * 60;
        (
            &rest[..i],
            if &rest[i..i + 1] == "+" { secs } else { -secs },
        )
    } else {
        (rest, 0)
    };
    let (h, m, sec, nanos) = parse_clock(clock, false)?;
    civil(year, month, day, h, m, sec, nanos, offset)
}

/// `HH:MM:SS[.frac]`, or `HH:MM` when seconds are optional.
fn parse_clock(s: &str, need_seconds: bool) -> Option<(i64, i64, i64, i64)> {
    let (hms, frac) = match s.split_once('.') {
        Some((a, f)) => (a, Some(f)),
        None => (s, None),
    };
    let mut it = hms.split(':');
    let h: i64 = digits(it.next()?)?;
    let m: i64 = digits(it.next()?)?;
    let sec: i64 = match it.next() {
        Some(x) => digits(x)?,
        None if need_seconds || frac.is_some() => return None,
        None => 0,
    };
    if it.next().is_some() || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let nanos = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            let mut v: i64 = f.parse().ok()?;
            for _ in f.len()..9 {
                v *= 10;
            }
            v
        }
        Some(_) => return None,
    };
    Some((h, m, sec, nanos))
}

fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[allow(clippy::too_many_arguments)]
fn civil(
    year: i64,
    month: u32,
    day: u32,
    h: i64,
    m: i64,
    s: i64,
    nanos: i64,
    offset: i64,
) -> Option<i128> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Howard Hinnant's days-from-civil; days past the month's end roll over as mktime does.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + m * 60 + s - offset;
    Some(secs as i128 * 1_000_000_000 + nanos as i128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(parse_int("80"), Ok(80));
        assert_eq!(parse_int("0x50"), Ok(80));
        assert_eq!(parse_int("0120"), Ok(80));
        assert_eq!(parse_int("-1"), Ok(-1));
        assert_eq!(parse_int("0"), Ok(0));
        assert_eq!(parse_int("08"), Err(IntError::NotANumber));
        assert_eq!(parse_int("0x"), Err(IntError::NotANumber));
        assert_eq!(parse_int("1_000"), Err(IntError::NotANumber));
        assert_eq!(parse_int("18446744073709551615"), Ok(u64::MAX as i128));
        assert_eq!(parse_int("18446744073709551616"), Err(IntError::Overflow));
    }

    #[test]
    fn times() {
        let t = parse_abs_time("Jan 1, 2024 00:00:00").unwrap();
        assert_eq!(t, 1_704_067_200_000_000_000);
        assert_eq!(
            parse_abs_time("jan  1, 2024 00:00:00.5 UTC"),
            Some(t + 500_000_000)
        );
        assert_eq!(parse_abs_time("2024-01-01"), Some(t));
        assert_eq!(parse_abs_time("2024-01-01 00:00"), Some(t));
        assert_eq!(parse_abs_time("2024-01-01T01:00:00+01:00"), Some(t));
        assert_eq!(
            parse_abs_time("2024-01-01T00:00:00.000000001Z"),
            Some(t + 1)
        );
        assert_eq!(parse_abs_time("1969-12-31"), Some(-86_400_000_000_000));
        for bad in [
            "Jan 1, 2024",
            "January 1, 2024 00:00:00",
            "2024-13-01",
            "Jan 1, 2024 25:00:00",
            "Jan 1, 2024 00:00:00 EST",
            "x",
            "Jan 1, 2024 00:00:00.1234567891",
        ] {
            assert_eq!(parse_abs_time(bad), None, "{bad}");
        }
        assert_eq!(parse_rel_time("1.5"), Some(1_500_000_000));
        assert_eq!(parse_rel_time("-0.000000001"), Some(-1));
        assert_eq!(parse_rel_time("1e-3"), None);
        assert_eq!(parse_rel_time("5."), None);
    }

    #[test]
    fn addresses_and_bytes() {
        assert_eq!(parse_ipv4("10.0.0.0/8"), Ok((0x0a00_0000, 0xff00_0000)));
        assert!(parse_ipv4("10.0.0.0/33")
            .unwrap_err()
            .contains("at most 32"));
        assert!(parse_ipv4("1.2.3").is_err());
        assert_eq!(
            parse_ipv6("fe80::/10").map(|(_, m)| m.leading_ones()),
            Ok(10)
        );
        assert!(parse_ipv6("::1/129").is_err());
        assert_eq!(parse_bytes("aa:bb:cc"), Some(vec![0xaa, 0xbb, 0xcc]));
        assert_eq!(parse_bytes("aabb.ccdd"), Some(vec![0xaa, 0xbb, 0xcc, 0xdd]));
        assert_eq!(parse_bytes("0x47"), Some(vec![0x47]));
        assert_eq!(parse_bytes("abc"), None);
        assert_eq!(
            parse_ether("00-11-22-33-44-55"),
            Ok([0, 0x11, 0x22, 0x33, 0x44, 0x55])
        );
        assert!(parse_ether("00:11:22:33:44")
            .unwrap_err()
            .contains("too few"));
        assert!(parse_ether("00:11:22:33:44:55:66")
            .unwrap_err()
            .contains("too many"));
    }
}
