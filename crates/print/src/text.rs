//! `-T text`: one summary line per frame, in the profile's columns.

use std::fmt::Write as _;

use osprey_dissect::Tree;

use crate::profile::{Column, Rgb};

/// Appends a header line with the column titles.
pub fn write_header(out: &mut Vec<u8>, columns: &[Column]) {
    let mut line = String::new();
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        pad(&mut line, &c.title, c);
    }
    out.extend_from_slice(line.trim_end().as_bytes());
    out.push(b'\n');
}

fn pad(line: &mut String, text: &str, c: &Column) {
    const SPACES: &str = "                                                                ";
    let len = if text.is_ascii() {
        text.len()
    } else {
        text.chars().count()
    };
    let mut fill = c.width.saturating_sub(len);
    if !c.right {
        line.push_str(text);
    }
    while fill > 0 {
        let n = fill.min(SPACES.len());
        line.push_str(&SPACES[..n]);
        fill -= n;
    }
    if c.right {
        line.push_str(text);
    }
}

/// Appends one summary line (with its newline). `color` is (foreground, background) for
/// terminal output.
pub fn write_line(
    out: &mut Vec<u8>,
    columns: &[Column],
    tree: &Tree<'_>,
    color: Option<(Rgb, Rgb)>,
) {
    if let Some((fg, bg)) = color {
        let _ = write!(
            out_writer(out),
            "\x1b[38;2;{};{};{}m\x1b[48;2;{};{};{}m",
            fg.0,
            fg.1,
            fg.2,
            bg.0,
            bg.1,
            bg.2
        );
    }
    let line_start = out.len();
    let mut cell = String::with_capacity(128);
    // Nearly every line is printable ASCII: written as it is, padded by byte length, and
    // checked once at the end. A line with anything else is written again, the careful way.
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        cell_text(&mut cell, c, tree);
        let fill = c.width.saturating_sub(cell.len());
        if c.right {
            out.resize(out.len() + fill, b' ');
            out.extend_from_slice(cell.as_bytes());
        } else {
            out.extend_from_slice(cell.as_bytes());
            out.resize(out.len() + fill, b' ');
        }
    }
    if !is_printable_ascii(&out[line_start..]) {
        out.truncate(line_start);
        write_cells_escaped(out, columns, tree, &mut cell);
    }
    while out.len() > line_start && out.last() == Some(&b' ') {
        out.pop();
    }
    if color.is_some() {
        out.extend_from_slice(b"\x1b[0m");
    }
    out.push(b'\n');
}

/// The text of column `c`: its values joined by commas.
fn cell_text(cell: &mut String, c: &Column, tree: &Tree<'_>) {
    cell.clear();
    for (j, v) in tree.values(c.field).enumerate() {
        if j > 0 {
            cell.push(',');
        }
        v.write_plain(&c.info, cell);
    }
}

/// The cells of a line holding control characters or non-ASCII text: controls escaped,
/// padding counted in characters.
fn write_cells_escaped(out: &mut Vec<u8>, columns: &[Column], tree: &Tree<'_>, cell: &mut String) {
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        cell_text(cell, c, tree);
        let cell_start = out.len();
        push_escaped(out, cell);
        let shown = String::from_utf8_lossy(&out[cell_start..]).chars().count();
        let fill = c.width.saturating_sub(shown);
        if c.right && fill > 0 {
            out.splice(cell_start..cell_start, std::iter::repeat_n(b' ', fill));
        } else {
            out.resize(out.len() + fill, b' ');
        }
    }
}

/// True when every byte is printable ASCII (0x20 to 0x7e); eight bytes per step.
fn is_printable_ascii(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut words = bytes.chunks_exact(8);
    let mut flags = 0u64;
    for w in words.by_ref() {
        let w = u64::from_le_bytes(w.try_into().expect("eight bytes"));
        // High bit of a byte: >= 0x80 itself; < 0x20 after subtracting 0x20 (a borrow only
        // starts at such a byte); 0x7f after adding one (a carry only starts at 0xff).
        flags |= w | w.wrapping_sub(0x20 * ONES) | w.wrapping_add(ONES);
    }
    flags & HIGHS == 0 && words.remainder().iter().all(|&b| (0x20..0x7f).contains(&b))
}

/// Appends text with control characters written as `\xNN`: text from a traced host never
/// breaks a line or sends terminal escapes.
pub fn push_escaped(out: &mut Vec<u8>, text: &str) {
    // Nearly every line is plain: copy it at once. C0, DEL and (UTF-8 encoded) C1 controls
    // take the slow path.
    // A fold, not `any`: without the early exit the compiler vectorises the scan.
    let special = text
        .bytes()
        .fold(false, |acc, b| acc | (b < 0x20) | (b == 0x7f) | (b == 0xc2));
    if !special {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out_writer(out), "\\x{:02x}", c as u32);
        } else {
            let mut b = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        }
    }
}

struct OutWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for OutWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

fn out_writer(out: &mut Vec<u8>) -> OutWriter<'_> {
    OutWriter(out)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use osprey_dissect::{Tree, Want};
    use osprey_field::fields::{frame, tracee};
    use osprey_field::FieldValue;

    use super::*;
    use crate::Profile;

    fn line(process_name: &str) -> String {
        let profile = Profile::from_toml(
            r#"
            name = "test"
            [[column]]
            title = "No."
            field = "frame.number"
            align = "right"
            width = 5
            [[column]]
            title = "Process"
            field = "tracee.processName"
            width = 8
            [[column]]
            title = "Event"
            field = "tracee.eventName"
            "#,
            "test",
        )
        .unwrap();
        let want = Want::all();
        let mut tree = Tree::new(&want);
        tree.add(frame::NUMBER, FieldValue::UInt(42));
        tree.add(
            tracee::PROCESS_NAME,
            FieldValue::Str(Cow::Borrowed(process_name)),
        );
        tree.add(tracee::EVENT_NAME, FieldValue::Str(Cow::Borrowed("openat")));
        let mut out = Vec::new();
        write_line(&mut out, &profile.columns, &tree, None);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn cells_are_padded_and_aligned() {
        assert_eq!(line("bash"), "   42 bash     openat\n");
        assert_eq!(line("a-long-name"), "   42 a-long-name openat\n");
    }

    #[test]
    fn controls_are_escaped_and_padding_counts_characters() {
        // A traced name never breaks the line or reaches the terminal as an escape sequence.
        assert_eq!(line("a\nb"), "   42 a\\x0ab   openat\n");
        assert_eq!(line("\x1b[2J"), "   42 \\x1b[2J  openat\n");
        assert_eq!(line("x\u{7f}"), "   42 x\\x7f    openat\n");
        assert_eq!(line("x\u{85}"), "   42 x\\x85    openat\n");
        // Non-ASCII text is padded by characters, not bytes.
        assert_eq!(line("café"), "   42 café     openat\n");
    }

    #[test]
    fn printable_ascii_is_recognised_at_every_position() {
        for len in 0..40 {
            let plain: Vec<u8> = (0..len).map(|i| b' ' + (i * 7 % 95) as u8).collect();
            assert!(is_printable_ascii(&plain), "{plain:?}");
            for at in 0..len {
                for bad in [0x00, 0x0a, 0x1f, 0x7f, 0x80, 0xc2, 0xff] {
                    let mut text = plain.clone();
                    text[at] = bad;
                    assert!(!is_printable_ascii(&text), "{bad:#x} at {at} of {len}");
                }
            }
        }
    }
}
