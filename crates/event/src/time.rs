//! Timestamps: nanoseconds since the Unix epoch, RFC 3339 parsing (v1beta1 events) and the
//! UTC calendar form the views print.
//!
//! The calendar arithmetic is Howard Hinnant's days-from-civil algorithm; it is a dozen lines,
//! so no date crate is pulled in for it.

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses an RFC 3339 timestamp (`2024-11-24T12:00:00.123456789Z`, or with a `+hh:mm` offset)
/// into nanoseconds since the epoch. Returns `None` for anything else, and for times before 1970.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)? as u32, num(8..10)? as u32);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + (b[i] - b'0') as i64;
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..9 {
            nanos *= 10;
        }
    }
    let offset_secs = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let secs = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            if *sign == b'+' {
                secs
            } else {
                -secs
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_secs;
    let total = (secs as i128) * 1_000_000_000 + nanos as i128;
    u64::try_from(total).ok()
}

/// Formats nanoseconds since the epoch as RFC 3339 in UTC with nine fractional digits.
pub fn format_rfc3339(ns: u64) -> String {
    let (date, secs_of_day, nanos) = split(ns);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
        date.0,
        date.1,
        date.2,
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60,
        nanos
    )
}

/// Formats nanoseconds since the epoch the way Wireshark shows `frame.time`
/// (`Jul  8, 2022 22:59:27.356748797 UTC`).
pub fn format_wireshark(ns: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (date, secs_of_day, nanos) = split(ns);
    format!(
        "{} {:>2}, {} {:02}:{:02}:{:02}.{:09} UTC",
        MONTHS[(date.1 - 1) as usize],
        date.2,
        date.0,
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60,
        nanos
    )
}

/// Formats nanoseconds as `seconds.nanoseconds` (`frame.time_epoch`).
pub fn format_epoch(ns: u64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

fn split(ns: u64) -> ((i64, u32, u32), u64, u64) {
    let secs = ns / 1_000_000_000;
    let nanos = ns % 1_000_000_000;
    let days = (secs / 86_400) as i64;
    (civil_from_days(days), secs % 86_400, nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339_forms() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2024-11-24T13:20:00.123456789Z"),
            Some(1_732_454_400_123_456_789)
        );
        assert_eq!(
            parse_rfc3339("2024-11-24T15:20:00.5+02:00"),
            Some(1_732_454_400_500_000_000)
        );
        assert_eq!(parse_rfc3339("2024-11-24"), None);
        assert_eq!(parse_rfc3339("2024-13-24T13:20:00Z"), None);
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), None);
        assert_eq!(parse_rfc3339("2024-11-24T13:20:00.Z"), None);
    }

    #[test]
    fn formats_round_trip() {
        let ns = 1_657_321_167_356_748_797;
        assert_eq!(format_rfc3339(ns), "2022-07-08T22:59:27.356748797Z");
        assert_eq!(parse_rfc3339(&format_rfc3339(ns)), Some(ns));
        assert_eq!(format_wireshark(ns), "Jul  8, 2022 22:59:27.356748797 UTC");
        assert_eq!(format_epoch(ns), "1657321167.356748797");
    }

    #[test]
    fn civil_dates_agree_over_centuries() {
        for days in [-800_000i64, -1, 0, 59, 60, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
