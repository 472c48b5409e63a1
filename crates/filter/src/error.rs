//! Compile errors with the place in the filter text they are about.

use std::fmt;

/// Why a filter did not compile, and where.
///
/// `position` and `length` are byte offsets into the text given to
/// [`Filter::compile`](crate::Filter::compile) — the text as the user typed it, before macros
/// were expanded. An error inside a macro's expansion points at the `${...}` reference.
/// `length` may be 0 (an error at the end of the text, "expected a value after ...").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// Byte offset of the start of the offending text.
    pub position: usize,
    /// Length in bytes of the offending text (0 for "at the end").
    pub length: usize,
    /// What is wrong, in one line.
    pub message: String,
}

impl FilterError {
    pub(crate) fn new(span: Span, message: impl Into<String>) -> FilterError {
        FilterError {
            position: span.start,
            length: span.end.saturating_sub(span.start),
            message: message.into(),
        }
    }

    /// The filter text with the error's place underlined, as tshark shows it:
    ///
    /// ```text
    /// tcp.port == 99999999999999999999999
    ///             ^~~~~~~~~~~~~~~~~~~~~~~
    /// ```
    ///
    /// Two lines, without a trailing newline. Control characters in the text are shown as
    /// spaces so the caret stays aligned; columns count characters, not bytes.
    pub fn render(&self, text: &str) -> String {
        let clean: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let pos = floor_boundary(text, self.position.min(text.len()));
        let end = floor_boundary(text, (self.position + self.length).min(text.len()));
        let col = text[..pos].chars().count();
        let width = text[pos..end.max(pos)].chars().count();
        let mut out = clean;
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', col));
        out.push('^');
        if width > 1 {
            out.extend(std::iter::repeat_n('~', width - 1));
        }
        out
    }
}

/// A form that compiles but that Wireshark deprecates or warns about (the filter bar turns
/// yellow): where it is, as for [`FilterError`], and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterWarning {
    /// Byte offset of the start of the text it is about, in the text as given.
    pub position: usize,
    /// Length in bytes of that text.
    pub length: usize,
    /// What is deprecated and what to write instead, in one line.
    pub message: String,
}

impl FilterWarning {
    pub(crate) fn new(span: Span, message: impl Into<String>) -> FilterWarning {
        FilterWarning {
            position: span.start,
            length: span.end.saturating_sub(span.start),
            message: message.into(),
        }
    }
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FilterError {}

/// A byte range of the text being compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, FilterError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_caret_under_the_place() {
        let e = FilterError {
            position: 4,
            length: 3,
            message: "x".into(),
        };
        assert_eq!(e.render("tcp and"), "tcp and\n    ^~~");
        let e = FilterError {
            position: 7,
            length: 0,
            message: "x".into(),
        };
        assert_eq!(e.render("tcp and"), "tcp and\n       ^");
        let e = FilterError {
            position: 8,
            length: 1,
            message: "x".into(),
        };
        assert_eq!(e.render("\"é\" == x"), "\"é\" == x\n       ^");
    }
}
