//! Partition directories: `dt=YYYY-MM-DD/hour=HH/host=HOST`, from an event's time and host.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The host name as one safe path component: every byte outside `[A-Za-z0-9._-]` is
/// percent-encoded, and `.`/`..` (which would name the directory itself or its parent) and
/// the empty name are encoded as well. Host names come from the traced machines, which may be
/// hostile: no name can add a level to the layout or leave the lake's directory.
pub fn encode_host(host: &str) -> String {
    let mut out = String::with_capacity(host.len());
    for &b in host.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    match out.as_str() {
        // `%2E` is what a `.` would be if it were encoded; the empty name gets a marker of its
        // own, which no real name encodes to (`%` is always followed by two hex digits).
        "." => "%2E".into(),
        ".." => "%2E%2E".into(),
        "" => "%".into(),
        _ if out.len() > MAX_ENCODED_HOST => shortened(out, host),
        _ => out,
    }
}

/// The longest encoded host name kept whole: with `host=`, a directory name stays under the
/// 255 bytes filesystems allow. A hostile (or broken) node's name of any length would otherwise
/// make its partition's directory impossible to create and stop the write.
const MAX_ENCODED_HOST: usize = 200;

/// A long name's encoding cut short, with a hash of the whole name after a `~` (which no
/// encoding holds: it would be `%7E`), so that long names sharing a beginning keep partitions of
/// their own. The exact name is in the `host_name` column.
fn shortened(mut encoded: String, host: &str) -> String {
    let mut cut = MAX_ENCODED_HOST - 17;
    // Not inside a `%XX`.
    if let Some(p) = encoded[cut - 2..cut].rfind('%') {
        cut = cut - 2 + p;
    }
    encoded.truncate(cut);
    // FNV-1a: the same in every run and every build, as the lake's layout must be.
    let hash = host.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let _ = write!(encoded, "~{hash:016x}");
    encoded
}

/// The partition directory (relative to the lake) of an event at `timestamp_ns` (UTC) on
/// `host`.
pub fn partition_dir(timestamp_ns: u64, host: &str) -> PathBuf {
    let (date, hour) = utc_date_hour(timestamp_ns);
    PathBuf::from(format!("dt={date}"))
        .join(format!("hour={hour:02}"))
        .join(format!("host={}", encode_host(host)))
}

/// `YYYY-MM-DD` and the hour of a UTC time given in nanoseconds since the epoch.
fn utc_date_hour(timestamp_ns: u64) -> (String, u64) {
    let secs = timestamp_ns / 1_000_000_000;
    let days = (secs / 86_400) as i64;
    let hour = (secs % 86_400) / 3_600;
    let (y, m, d) = civil_from_days(days);
    (format!("{y:04}-{m:02}-{d:02}"), hour)
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The start (nanoseconds since the epoch, UTC) of the hour a partition's directories name:
/// `dt=YYYY-MM-DD` and `hour=HH`, as [`partition_dir`] writes them; `None` for anything else.
pub(crate) fn hour_start_ns(dt: &str, hour: &str) -> Option<i128> {
    let date = dt.strip_prefix("dt=")?;
    let hour: i128 = two_digits(hour.strip_prefix("hour=")?).filter(|&h| h < 24)?;
    let (y, rest) = date.split_once('-')?;
    let (m, d) = rest.split_once('-')?;
    if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, two_digits(m)?, two_digits(d)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    // A date that does not exist (`02-31`) is not one partition_dir writes.
    if civil_from_days(days) != (y, m, d) {
        return None;
    }
    Some((i128::from(days) * 24 + hour) * 3_600_000_000_000)
}

fn two_digits<T: TryFrom<u32>>(s: &str) -> Option<T> {
    match s.as_bytes() {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            T::try_from(u32::from(a - b'0') * 10 + u32::from(b - b'0')).ok()
        }
        _ => None,
    }
}

/// Howard Hinnant's civil-to-days algorithm, the inverse of [`civil_from_days`].
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// True when `dir` is a lake: it has `dt=*/hour=*/host=*/` directories holding `.parquet`
/// files. Only the first such file is looked for.
pub fn is_lake(dir: &Path) -> bool {
    !crate::reader::lake_files(dir, 1).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_host_names_stay_one_component() {
        for (host, want) in [
            ("node-3", "node-3"),
            ("web.example.com", "web.example.com"),
            ("..", "%2E%2E"),
            (".", "%2E"),
            ("", "%"),
            ("../../etc", "..%2F..%2Fetc"),
            ("a/b", "a%2Fb"),
            ("a=b c", "a%3Db%20c"),
            ("percent%", "percent%25"),
            ("nul\0", "nul%00"),
            ("ünï", "%C3%BCn%C3%AF"),
        ] {
            let got = encode_host(host);
            assert_eq!(got, want, "{host:?}");
            assert!(!got.contains('/') && got != "." && got != "..");
            let dir = partition_dir(0, host);
            assert_eq!(dir.components().count(), 3, "{host:?}: {dir:?}");
        }
    }

    #[test]
    fn long_host_names_are_cut_short_and_stay_apart() {
        let long = |tail: &str| format!("{}{tail}", "é".repeat(200));
        let (a, b) = (encode_host(&long("a")), encode_host(&long("b")));
        for e in [&a, &b] {
            assert!(e.len() <= MAX_ENCODED_HOST, "{e}");
            assert!(format!("host={e}").len() < 255);
            let (kept, hash) = e.rsplit_once('~').unwrap();
            assert_eq!(hash.len(), 16);
            // Whole `%XX` triples: never cut inside one.
            assert!(kept.starts_with("%C3%A9") && kept.len() % 3 == 0, "{kept}");
        }
        assert_ne!(a, b);
        assert_eq!(a, encode_host(&long("a")), "the same in every run");
        // Up to the limit, a name is encoded whole.
        let fits = "x".repeat(MAX_ENCODED_HOST);
        assert_eq!(encode_host(&fits), fits);
    }

    #[test]
    fn partitions_by_utc_date_and_hour() {
        // 2026-12-06T07:59:59.999999999Z
        let ts = 1_796_543_999_999_999_999u64;
        assert_eq!(
            partition_dir(ts, "node-3"),
            PathBuf::from("dt=2026-12-06/hour=07/host=node-3")
        );
        assert_eq!(
            partition_dir(0, "h"),
            PathBuf::from("dt=1970-01-01/hour=00/host=h")
        );
        // 2024-02-29T23:00:00Z, a leap day
        assert_eq!(
            partition_dir(1_709_247_600_000_000_000, "h"),
            PathBuf::from("dt=2024-02-29/hour=23/host=h")
        );
        // The hour a partition names starts where its events are.
        for t in [ts, 0, 1_709_247_600_000_000_000, u64::MAX] {
            let dir = partition_dir(t, "h");
            let parts: Vec<String> = dir
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let start = hour_start_ns(&parts[0], &parts[1]).unwrap();
            assert!(start <= i128::from(t) && i128::from(t) < start + 3_600_000_000_000);
        }
        for (dt, hour) in [
            ("dt=2026-02-30", "hour=00"),
            ("dt=2026-12-06", "hour=24"),
            ("dt=2026-12-06", "hour=7"),
            ("dt=26-12-06", "hour=07"),
            ("dt=2026-12-06x", "hour=07"),
            ("date=2026-12-06", "hour=07"),
        ] {
            assert_eq!(hour_start_ns(dt, hour), None, "{dt}/{hour}");
        }
        // The largest timestamp does not panic.
        let far = partition_dir(u64::MAX, "h");
        assert!(far.to_str().unwrap().starts_with("dt=2554-07-21/hour=23"));
    }
}
