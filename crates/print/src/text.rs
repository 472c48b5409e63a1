//! `-T text`: one summary line per frame.

use std::fmt::Write as _;

use crate::summary::Summary;

/// Appends one summary line (with its newline) in the default column layout: No., Time
/// (seconds since the first frame), Protocol, Container, PPID, PID, Process Name, Rval, Event,
/// Syscall, Source → Destination, Info.
pub fn write_line(out: &mut Vec<u8>, number: u64, relative_ns: i128, s: &Summary) {
    let mut line = String::with_capacity(160);
    let _ = write!(line, "{number:>5} {} ", relative_seconds(relative_ns));
    let _ = write!(
        line,
        "{:<10} {:<12} {:>7} {:>7} {:<15} {:>5} {:<24} {:<10}",
        s.protocol,
        s.container,
        s.ppid,
        s.pid,
        s.process_name,
        s.rval,
        s.event,
        s.syscall
    );
    if !s.source.is_empty() || !s.destination.is_empty() {
        let _ = write!(line, " {} → {}", s.source, s.destination);
    }
    if !s.info.is_empty() {
        line.push(' ');
        line.push_str(&s.info);
    }
    // Text from a traced host may hold control characters; a summary line never breaks.
    for c in line.chars() {
        if c.is_control() {
            out.extend_from_slice(format!("\\x{:02x}", c as u32).as_bytes());
        } else {
            let mut b = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        }
    }
    out.push(b'\n');
}

/// Seconds with nine decimals, negative when a frame is earlier than the first.
pub fn relative_seconds(ns: i128) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let abs = ns.unsigned_abs();
    format!("{sign}{}.{:09}", abs / 1_000_000_000, abs % 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_break_a_line() {
        let mut out = Vec::new();
        let s = Summary { info: "a\nb\x1b[31m".into(), ..Summary::default() };
        write_line(&mut out, 1, 0, &s);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches('\n').count(), 1);
        assert!(text.contains("a\\x0ab\\x1b[31m"), "{text}");
    }

    #[test]
    fn relative_time_has_nanoseconds() {
        assert_eq!(relative_seconds(1_500_000_001), "1.500000001");
        assert_eq!(relative_seconds(-5), "-0.000000005");
    }
}
