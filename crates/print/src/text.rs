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
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        cell.clear();
        for (j, v) in tree.values(c.field).enumerate() {
            if j > 0 {
                cell.push(',');
            }
            v.write_plain(&c.info, &mut cell);
        }
        // Straight into the line, escaped, and padded by the width it is shown with.
        let cell_start = out.len();
        push_escaped(out, &cell);
        let shown = &out[cell_start..];
        let len = if shown.is_ascii() {
            shown.len()
        } else {
            String::from_utf8_lossy(shown).chars().count()
        };
        let fill = c.width.saturating_sub(len);
        if c.right && fill > 0 {
            // shift the text right by the padding
            out.splice(cell_start..cell_start, std::iter::repeat_n(b' ', fill));
        } else {
            out.resize(out.len() + fill, b' ');
        }
    }
    while out.len() > line_start && out.last() == Some(&b' ') {
        out.pop();
    }
    if color.is_some() {
        out.extend_from_slice(b"\x1b[0m");
    }
    out.push(b'\n');
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
