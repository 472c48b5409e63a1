//! The scanner: filter text to tokens. It knows no field names (Wireshark's `scanner.l`): a
//! word such as `tcp.port`, `10.0.0.0/8`, `aa:bb:cc` or `GET` is only a word until the
//! semantic check decides what it names.

use crate::error::{FilterError, Result, Span};
use crate::ops::Op;

/// One token.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `,`
    Comma,
    /// `..`
    DotDot,
    /// A slice body: the text between `[` and `]`, with the offset of its first byte.
    Slice(String, usize),
    /// A comparison operator.
    Cmp(Op),
    /// `contains`
    Contains,
    /// `matches`
    Matches,
    /// `in`
    In,
    /// `and`, `&&`
    And,
    /// `or`, `||`
    Or,
    /// `xor`, `^^`
    Xor,
    /// `not`, `!`
    Not,
    /// `&` (bitwise and)
    BitAnd,
    /// An unquoted word.
    Word(String),
    /// A double-quoted string, escapes resolved (may hold any bytes).
    Str(Vec<u8>),
    /// A character constant `'x'`.
    Char(u8),
    /// The end of the text.
    End,
}

impl Tok {
    /// How the token is named in messages.
    pub fn describe(&self, text: &str, span: Span) -> String {
        match self {
            Tok::End => "the end of the filter".into(),
            _ => format!("\"{}\"", &text[span.start..span.end]),
        }
    }
}

/// A token and where it is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

/// True for bytes an unquoted word is made of.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'/')
}

/// Splits `text` into tokens, ending with [`Tok::End`].
pub(crate) fn scan(text: &str) -> Result<Vec<Token>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let one = |tok: Tok| (tok, 1usize);
        let (tok, len) = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'(' => one(Tok::LParen),
            b')' => one(Tok::RParen),
            b'{' => one(Tok::LBrace),
            b'}' => one(Tok::RBrace),
            b',' => one(Tok::Comma),
            b'[' => {
                let Some(close) = text[i + 1..].find(']') else {
                    return Err(FilterError::new(
                        Span::new(i, i + 1),
                        "this \"[\" has no closing \"]\"",
                    ));
                };
                let body = &text[i + 1..i + 1 + close];
                (Tok::Slice(body.to_string(), i + 1), close + 2)
            }
            b']' => {
                return Err(FilterError::new(
                    Span::new(i, i + 1),
                    "\"]\" without an opening \"[\"",
                ))
            }
            b'=' if b.get(i + 1) == Some(&b'=') && b.get(i + 2) == Some(&b'=') => {
                (Tok::Cmp(Op::AllEq), 3)
            }
            b'=' if b.get(i + 1) == Some(&b'=') => (Tok::Cmp(Op::Eq), 2),
            b'=' => {
                return Err(FilterError::new(
                    Span::new(i, i + 1),
                    "\"=\" is not an operator; did you mean \"==\"?",
                ));
            }
            b'!' if b.get(i + 1) == Some(&b'=') && b.get(i + 2) == Some(&b'=') => {
                (Tok::Cmp(Op::AnyNe), 3)
            }
            b'!' if b.get(i + 1) == Some(&b'=') => (Tok::Cmp(Op::Ne), 2),
            b'!' => one(Tok::Not),
            b'~' if b.get(i + 1) == Some(&b'=') => (Tok::Cmp(Op::AnyNe), 2),
            b'<' if b.get(i + 1) == Some(&b'=') => (Tok::Cmp(Op::Le), 2),
            b'<' => one(Tok::Cmp(Op::Lt)),
            b'>' if b.get(i + 1) == Some(&b'=') => (Tok::Cmp(Op::Ge), 2),
            b'>' => one(Tok::Cmp(Op::Gt)),
            b'&' if b.get(i + 1) == Some(&b'&') => (Tok::And, 2),
            b'&' => one(Tok::BitAnd),
            b'|' if b.get(i + 1) == Some(&b'|') => (Tok::Or, 2),
            b'|' => {
                return Err(FilterError::new(
                    Span::new(i, i + 1),
                    "\"|\" is not an operator; did you mean \"||\"?",
                ))
            }
            b'^' if b.get(i + 1) == Some(&b'^') => (Tok::Xor, 2),
            b'^' => {
                return Err(FilterError::new(
                    Span::new(i, i + 1),
                    "\"^\" is not an operator; did you mean \"^^\"?",
                ))
            }
            b'"' => {
                let (bytes, end) = scan_string(text, i + 1, false)?;
                (Tok::Str(bytes), end - i)
            }
            b'r' | b'R' if b.get(i + 1) == Some(&b'"') => {
                let (bytes, end) = scan_string(text, i + 2, true)?;
                (Tok::Str(bytes), end - i)
            }
            b'\'' => {
                let (v, end) = scan_char(text, i)?;
                (Tok::Char(v), end - i)
            }
            b'.' if b.get(i + 1) == Some(&b'.') => (Tok::DotDot, 2),
            c if is_word_byte(c) => {
                let mut j = i;
                while j < b.len() && is_word_byte(b[j]) {
                    // `1..5`: a range, not one word.
                    if b[j] == b'.' && b.get(j + 1) == Some(&b'.') && j > i {
                        break;
                    }
                    j += 1;
                }
                let word = &text[i..j];
                let tok = match word {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "xor" => Tok::Xor,
                    "not" => Tok::Not,
                    "in" => Tok::In,
                    "contains" => Tok::Contains,
                    "matches" => Tok::Matches,
                    "eq" | "any_eq" => Tok::Cmp(Op::Eq),
                    "ne" | "all_ne" => Tok::Cmp(Op::Ne),
                    "all_eq" => Tok::Cmp(Op::AllEq),
                    "any_ne" => Tok::Cmp(Op::AnyNe),
                    "lt" => Tok::Cmp(Op::Lt),
                    "le" => Tok::Cmp(Op::Le),
                    "gt" => Tok::Cmp(Op::Gt),
                    "ge" => Tok::Cmp(Op::Ge),
                    _ => Tok::Word(word.to_string()),
                };
                (tok, j - i)
            }
            b'$' => {
                return Err(FilterError::new(
                    Span::new(i, i + 1),
                    "unexpected \"$\": a macro reference is written ${name}",
                ));
            }
            c if c >= 0x80 => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(FilterError::new(
                    Span::new(i, i + ch.len_utf8()),
                    format!("unexpected character \"{ch}\": text other than names and numbers must be in double quotes"),
                ));
            }
            c => {
                let what = if c.is_ascii_graphic() {
                    format!("\"{}\"", c as char)
                } else {
                    format!("0x{c:02x}")
                };
                return Err(FilterError::new(
                    Span::new(i, i + 1),
                    format!("unexpected character {what}"),
                ));
            }
        };
        i += len;
        out.push(Token {
            tok,
            span: Span::new(start, i),
        });
    }
    // The end is placed right after the last token, so that "expected a value after ..." at the
    // end of a macro's expansion points into that macro.
    let end = out.last().map_or(0, |t: &Token| t.span.end);
    out.push(Token {
        tok: Tok::End,
        span: Span::new(end, end),
    });
    Ok(out)
}

/// Scans a string body starting at `i` (after the opening quote); returns the bytes and the
/// index past the closing quote. Raw strings keep backslashes (`\"` still does not close them).
fn scan_string(text: &str, body: usize, raw: bool) -> Result<(Vec<u8>, usize)> {
    let b = text.as_bytes();
    let open = if raw { body - 2 } else { body - 1 };
    let mut out = Vec::new();
    let mut i = body;
    loop {
        let Some(&c) = b.get(i) else {
            return Err(FilterError::new(
                Span::new(open, b.len()),
                "this string has no closing quote (\")",
            ));
        };
        match c {
            b'"' => return Ok((out, i + 1)),
            b'\\' if raw => {
                out.push(b'\\');
                if let Some(&n) = b.get(i + 1) {
                    out.push(n);
                    i += 2;
                } else {
                    i += 1;
                }
            }
            b'\\' => {
                let (v, end) = escape(text, i)?;
                out.push(v);
                i = end;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
}

/// Resolves the escape starting at the backslash at `i`; returns the byte and the index after.
fn escape(text: &str, i: usize) -> Result<(u8, usize)> {
    let b = text.as_bytes();
    let Some(&c) = b.get(i + 1) else {
        return Err(FilterError::new(
            Span::new(i, i + 1),
            "a backslash at the end of the text escapes nothing",
        ));
    };
    let simple = match c {
        b'n' => Some(b'\n'),
        b't' => Some(b'\t'),
        b'r' => Some(b'\r'),
        b'a' => Some(0x07),
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        b'v' => Some(0x0b),
        b'\\' => Some(b'\\'),
        b'"' => Some(b'"'),
        b'\'' => Some(b'\''),
        _ => None,
    };
    if let Some(v) = simple {
        return Ok((v, i + 2));
    }
    if c == b'x' {
        let mut j = i + 2;
        let mut v: u32 = 0;
        while j < b.len() && j < i + 4 && b[j].is_ascii_hexdigit() {
            v = v * 16 + (b[j] as char).to_digit(16).unwrap_or(0);
            j += 1;
        }
        if j == i + 2 {
            return Err(FilterError::new(
                Span::new(i, i + 2),
                "\\x must be followed by one or two hex digits",
            ));
        }
        return Ok((v as u8, j));
    }
    if (b'0'..=b'7').contains(&c) {
        let mut j = i + 1;
        let mut v: u32 = 0;
        while j < b.len() && j < i + 4 && (b'0'..=b'7').contains(&b[j]) {
            v = v * 8 + (b[j] - b'0') as u32;
            j += 1;
        }
        if v > 0xff {
            return Err(FilterError::new(
                Span::new(i, j),
                format!("{} is not a valid octal escape (above \\377)", &text[i..j]),
            ));
        }
        return Ok((v as u8, j));
    }
    let ch = text[i + 1..].chars().next().unwrap_or('?');
    let len = 1 + ch.len_utf8();
    let hint = if ch.is_ascii_alphabetic() {
        format!(" (to pass a backslash to a regular expression write \"\\\\{ch}\" or a raw string r\"...\\{ch}...\")")
    } else {
        String::new()
    };
    Err(FilterError::new(
        Span::new(i, i + len),
        format!("\\{ch} is not a valid escape sequence{hint}"),
    ))
}

/// Scans a character constant at `i` (the opening `'`).
fn scan_char(text: &str, i: usize) -> Result<(u8, usize)> {
    let b = text.as_bytes();
    let (v, next) = match b.get(i + 1) {
        Some(b'\\') => escape(text, i + 1)?,
        Some(b'\'') | None => {
            return Err(FilterError::new(
                Span::new(i, (i + 2).min(b.len())),
                "empty or unclosed character constant",
            ));
        }
        Some(&c) if c < 0x80 => (c, i + 2),
        Some(_) => {
            let len = text[i + 1..].chars().next().map_or(1, char::len_utf8);
            return Err(FilterError::new(
                Span::new(i, i + 1 + len),
                "a character constant must be one ASCII character",
            ));
        }
    };
    if b.get(next) != Some(&b'\'') {
        return Err(FilterError::new(
            Span::new(i, next.min(b.len())),
            "a character constant must be one character between single quotes",
        ));
    }
    Ok((v, next + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        scan(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn words_operators_and_literals() {
        use Tok::*;
        assert_eq!(
            toks("ip.addr==10.0.0.0/8&&!tcp"),
            vec![
                Word("ip.addr".into()),
                Cmp(Op::Eq),
                Word("10.0.0.0/8".into()),
                And,
                Not,
                Word("tcp".into()),
                End
            ]
        );
        assert_eq!(
            toks("tcp.port in {1..5, 0x10}"),
            vec![
                Word("tcp.port".into()),
                In,
                LBrace,
                Word("1".into()),
                DotDot,
                Word("5".into()),
                Comma,
                Word("0x10".into()),
                RBrace,
                End
            ]
        );
        assert_eq!(
            toks(r#""a\x41\101\"\\""#),
            vec![Str(b"aAA\"\\".to_vec()), End]
        );
        assert_eq!(toks(r#"r"\d+\"""#), vec![Str(br#"\d+\""#.to_vec()), End]);
        assert_eq!(toks("'G' '\\n'"), vec![Char(b'G'), Char(b'\n'), End]);
        assert_eq!(
            toks("a[1:2]"),
            vec![Word("a".into()), Slice("1:2".into(), 2), End]
        );
        assert_eq!(
            toks("a !== b ~= c === d"),
            vec![
                Word("a".into()),
                Cmp(Op::AnyNe),
                Word("b".into()),
                Cmp(Op::AnyNe),
                Word("c".into()),
                Cmp(Op::AllEq),
                Word("d".into()),
                End
            ]
        );
    }

    #[test]
    fn errors_have_positions() {
        let e = scan("a == \"abc").unwrap_err();
        assert_eq!((e.position, e.length), (5, 4));
        let e = scan("a == \"\\q\"").unwrap_err();
        assert_eq!((e.position, e.length), (6, 2));
        let e = scan("a = 1").unwrap_err();
        assert_eq!(e.position, 2);
        let e = scan("a == é").unwrap_err();
        assert_eq!((e.position, e.length), (5, 2));
    }
}
