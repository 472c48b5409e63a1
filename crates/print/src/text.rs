//! `-T text`: one summary line per frame, in the profile's columns.

use std::fmt::Write as _;

use osprey_dissect::Tree;
use osprey_field::FieldId;

use crate::profile::{Column, Rgb};

/// The summary line of a set of columns, prepared once for every line.
///
/// Each column shows the values of one field. A line finds them all in one pass over the tree's
/// items (each item's field looked up among the columns' fields), where looking for each column
/// in turn took a pass per column.
#[derive(Clone, Debug)]
pub struct Summary {
    columns: Vec<Column>,
    /// The columns' fields, in column order: a compact table to look items up in.
    fields: Vec<FieldId>,
    /// For each column, the first column with the same field (itself, nearly always).
    same_as: Vec<usize>,
}

/// Columns whose values one pass locates; any further ones (an unlikely profile) are looked
/// up field by field.
const LOCATED: usize = 64;

/// Where a line's column values are: per column, the index of the item with its first value,
/// and whether more values follow.
struct Located {
    first: [u32; LOCATED],
    several: u64,
}

impl Summary {
    /// The summary line of `columns`.
    pub fn new(columns: &[Column]) -> Summary {
        let fields: Vec<FieldId> = columns.iter().map(|c| c.field).collect();
        let same_as = fields
            .iter()
            .map(|f| fields.iter().position(|g| g == f).unwrap_or(0))
            .collect();
        Summary {
            columns: columns.to_vec(),
            fields,
            same_as,
        }
    }

    /// The columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Appends a header line with the column titles.
    pub fn write_header(&self, out: &mut Vec<u8>) {
        let mut line = String::new();
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                line.push(' ');
            }
            push_aligned(&mut line, &c.title, chars(&c.title), c);
        }
        out.extend_from_slice(line.trim_end_matches(' ').as_bytes());
        out.push(b'\n');
    }

    /// Appends one summary line (with its newline). `color` is (foreground, background) for
    /// terminal output.
    pub fn write_line(&self, out: &mut Vec<u8>, tree: &Tree<'_>, color: Option<(Rgb, Rgb)>) {
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
        let located = self.locate(tree);
        // Nearly every line is printable ASCII: written as it is, padded by byte length, and
        // checked once at the end. A line with anything else is written again, the careful way.
        let mut line = String::with_capacity(256);
        let mut cell = String::with_capacity(64);
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                line.push(' ');
            }
            // Lengths in bytes: the line is checked to be ASCII below.
            if c.right {
                cell.clear();
                self.cell(&mut cell, i, &located, tree);
                push_aligned(&mut line, &cell, cell.len(), c);
            } else {
                // written in place, without the copy
                let start = line.len();
                self.cell(&mut line, i, &located, tree);
                let fill = c.width.saturating_sub(line.len() - start);
                push_spaces(&mut line, fill);
            }
        }
        if !is_printable_ascii(line.as_bytes()) {
            line.clear();
            self.write_cells_escaped(&mut line, &located, tree);
        }
        out.extend_from_slice(line.trim_end_matches(' ').as_bytes());
        if color.is_some() {
            out.extend_from_slice(b"\x1b[0m");
        }
        out.push(b'\n');
    }

    /// The text of every column of a frame, unpadded and unescaped (values of a column with
    /// several joined by commas): for views that lay the cells out themselves.
    pub fn cells(&self, tree: &Tree<'_>) -> Vec<String> {
        let located = self.locate(tree);
        (0..self.columns.len())
            .map(|i| {
                let mut cell = String::new();
                self.cell(&mut cell, i, &located, tree);
                cell
            })
            .collect()
    }

    /// Finds where each column's values are, in one pass over the items.
    fn locate(&self, tree: &Tree<'_>) -> Located {
        let mut located = Located {
            first: [u32::MAX; LOCATED],
            several: 0,
        };
        for (at, item) in tree.items().iter().enumerate() {
            let Some(column) = self.fields.iter().position(|f| *f == item.field) else {
                continue;
            };
            if column >= LOCATED {
                continue;
            }
            if located.first[column] == u32::MAX {
                located.first[column] = at as u32;
            } else {
                located.several |= 1 << column;
            }
        }
        located
    }

    /// Appends the text of column `i`: its values joined by commas.
    fn cell(&self, line: &mut String, i: usize, located: &Located, tree: &Tree<'_>) {
        let c = &self.columns[i];
        let slot = self.same_as[i];
        if slot < LOCATED && located.several & (1 << slot) == 0 {
            if let Some(item) = tree.items().get(located.first[slot] as usize) {
                item.value.write_plain(&c.info, line);
            }
            return;
        }
        for (j, v) in tree.values(c.field).enumerate() {
            if j > 0 {
                line.push(',');
            }
            v.write_plain(&c.info, line);
        }
    }

    /// The cells of a line holding control characters or non-ASCII text: controls escaped,
    /// padding counted in characters.
    fn write_cells_escaped(&self, line: &mut String, located: &Located, tree: &Tree<'_>) {
        let mut cell = String::new();
        let mut escaped = Vec::new();
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                line.push(' ');
            }
            cell.clear();
            self.cell(&mut cell, i, located, tree);
            escaped.clear();
            push_escaped(&mut escaped, &cell);
            // Escaping turns text into text: the bytes stay UTF-8.
            let text = String::from_utf8_lossy(&escaped);
            push_aligned(line, &text, chars(&text), c);
        }
    }
}

/// Appends a cell, `len` characters long, padded to its column's width: spaces after it, or
/// before it when it is right-aligned.
fn push_aligned(line: &mut String, text: &str, len: usize, c: &Column) {
    let fill = c.width.saturating_sub(len);
    if c.right {
        push_spaces(line, fill);
        line.push_str(text);
    } else {
        line.push_str(text);
        push_spaces(line, fill);
    }
}

/// Appends `n` spaces. A cell needs a few: eight at a time as one constant store, then cut
/// back, costs less than a call to `memset` or `memcpy` for each.
fn push_spaces(line: &mut String, n: usize) {
    let end = line.len() + n;
    while line.len() < end {
        line.push_str("        ");
    }
    line.truncate(end);
}

/// The length of `text` in characters.
fn chars(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.chars().count()
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
        Summary::new(&profile.columns).write_line(&mut out, &tree, None);
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

    /// A profile of `columns` (title, field, right-aligned, width).
    fn summary(columns: &[(&str, &str, bool, usize)]) -> Summary {
        let mut toml = String::from("name = \"test\"\n");
        for (title, field, right, width) in columns {
            let align = if *right { "right" } else { "left" };
            toml += &format!(
                "[[column]]\ntitle = \"{title}\"\nfield = \"{field}\"\nalign = \"{align}\"\nwidth = {width}\n"
            );
        }
        Summary::new(&Profile::from_toml(&toml, "test").unwrap().columns)
    }

    #[test]
    fn columns_show_every_value_of_their_field_wherever_it_is() {
        let want = Want::all();
        let mut tree = Tree::new(&want);
        tree.add(tracee::EVENT_NAME, FieldValue::Str(Cow::Borrowed("openat")));
        tree.add(tracee::ARGS_NUM, FieldValue::Int(3));
        tree.add(frame::NUMBER, FieldValue::UInt(7));
        tree.add(tracee::ARGS_NUM, FieldValue::Int(4));
        let s = summary(&[
            ("No.", "frame.number", true, 4),
            ("Args", "tracee.argsNum", true, 6),
            ("Missing", "tracee.processName", false, 3),
            ("Event", "tracee.eventName", false, 8),
            ("Again", "frame.number", false, 0),
            ("Args again", "tracee.argsNum", false, 0),
        ]);
        let mut out = Vec::new();
        s.write_line(&mut out, &tree, None);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "   7    3,4     openat   7 3,4\n"
        );
        let mut header = Vec::new();
        s.write_header(&mut header);
        assert_eq!(
            String::from_utf8(header).unwrap(),
            " No.   Args Missing Event    Again Args again\n"
        );
    }

    #[test]
    fn a_profile_with_very_many_columns_shows_them_all() {
        let mut columns = vec![("Event", "tracee.eventName", false, 0); LOCATED + 6];
        columns[LOCATED + 3] = ("No.", "frame.number", true, 3);
        let want = Want::all();
        let mut tree = Tree::new(&want);
        tree.add(frame::NUMBER, FieldValue::UInt(7));
        tree.add(tracee::EVENT_NAME, FieldValue::Str(Cow::Borrowed("e")));
        let mut out = Vec::new();
        summary(&columns).write_line(&mut out, &tree, None);
        let cells: Vec<String> = String::from_utf8(out)
            .unwrap()
            .trim_end()
            .split(' ')
            .map(String::from)
            .collect();
        let mut expected = vec!["e".to_string(); LOCATED + 6];
        expected[LOCATED + 3] = String::new();
        expected.insert(LOCATED + 4, String::new());
        expected.insert(LOCATED + 5, "7".to_string());
        assert_eq!(cells, expected);
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
