//! The parser: tokens to a syntax tree (Wireshark's `grammar.lemon`). Precedence, loosest
//! first: `or`, `xor`, `and`, `not`; then relations (`==`, `contains`, `in`, ...), then `&`
//! (bitwise and), then slices and function calls.

use crate::error::{FilterError, Result, Span};
use crate::ops::Op;
use crate::scanner::{Tok, Token};

/// A logical expression.
#[derive(Clone, Debug)]
pub(crate) enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Xor(Vec<Expr>),
    Not(Box<Expr>),
    /// A bare field, protocol, slice or bitwise-and: a presence (or non-zero) test.
    Test(Term),
    Cmp {
        lhs: Term,
        op: Op,
        op_span: Span,
        rhs: Term,
    },
    In {
        lhs: Term,
        negated: bool,
        op_span: Span,
        set: Vec<SetElem>,
    },
}

/// An operand.
#[derive(Clone, Debug)]
pub(crate) struct Term {
    pub kind: TermKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub(crate) enum TermKind {
    /// An unquoted word: a field name or a literal, decided by the semantic check.
    Word(String),
    /// `.name`: certainly a field.
    Field(String),
    /// A quoted string (escapes resolved).
    Str(Vec<u8>),
    /// A character constant.
    Char(u8),
    /// `term[ranges]`
    Slice(Box<Term>, Vec<Range>),
    /// `name(args)`
    Call {
        name: String,
        name_span: Span,
        args: Vec<Term>,
    },
    /// `term & term`
    BitAnd(Box<Term>, Box<Term>),
}

/// One element of a set: a value or a range `lo..hi`.
#[derive(Clone, Debug)]
pub(crate) struct SetElem {
    pub lo: Term,
    pub hi: Option<Term>,
}

/// One range of a slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Range {
    /// First byte; negative counts from the end (-1 is the last byte).
    pub start: i64,
    pub end: RangeEnd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RangeEnd {
    /// `start:len`, or `[i]` (length 1).
    Len(i64),
    /// `start-end`, inclusive.
    Last(i64),
    /// `start:` to the end.
    ToEnd,
}

/// Parses the tokens of a whole filter; `None` for an empty filter.
pub(crate) fn parse(text: &str, tokens: &[Token]) -> Result<Option<Expr>> {
    let mut p = Parser {
        text,
        tokens,
        pos: 0,
        depth: 0,
    };
    if p.peek() == &Tok::End {
        return Ok(None);
    }
    let e = p.or()?;
    match p.peek() {
        Tok::End => Ok(Some(e)),
        Tok::RParen => Err(FilterError::new(p.span(), "\")\" has no matching \"(\"")),
        Tok::RBrace => Err(FilterError::new(p.span(), "\"}\" has no matching \"{\"")),
        _ => Err(p.unexpected_after_expr(&e)),
    }
}

/// Nesting (parentheses, `not`, function calls) deeper than this is refused: the parser
/// recurses, and 64 levels stay well within a 2 MiB thread stack even in debug builds.
const MAX_DEPTH: usize = 64;
/// At most this many slices (`a[0][1]`) or bitwise ands (`a & 1 & 2`) in a row.
const MAX_CHAIN: usize = 16;

struct Parser<'a> {
    text: &'a str,
    tokens: &'a [Token],
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &'a Tok {
        &self.tokens[self.pos.min(self.tokens.len() - 1)].tok
    }

    fn peek2(&self) -> &'a Tok {
        &self.tokens[(self.pos + 1).min(self.tokens.len() - 1)].tok
    }

    fn span(&self) -> Span {
        self.tokens[self.pos.min(self.tokens.len() - 1)].span
    }

    fn prev_span(&self) -> Span {
        self.tokens[self.pos.saturating_sub(1)].span
    }

    fn bump(&mut self) -> Span {
        let s = self.span();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        s
    }

    fn found(&self) -> String {
        let t = &self.tokens[self.pos.min(self.tokens.len() - 1)];
        match t.tok {
            Tok::End => String::new(),
            _ => format!(", found {}", t.tok.describe(self.text, t.span)),
        }
    }

    fn prev_text(&self) -> &'a str {
        let s = self.prev_span();
        &self.text[s.start..s.end]
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::new(self.span(), "the filter nests too deeply"));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr> {
        self.enter()?;
        let e = self.or_chain();
        self.depth -= 1;
        e
    }

    fn or_chain(&mut self) -> Result<Expr> {
        self.chain(&Tok::Or, Self::xor, Expr::Or)
    }

    fn xor(&mut self) -> Result<Expr> {
        self.chain(&Tok::Xor, Self::and, Expr::Xor)
    }

    fn and(&mut self) -> Result<Expr> {
        self.chain(&Tok::And, Self::not, Expr::And)
    }

    /// Operands joined by `op` (one precedence level): a single operand as it is, several as
    /// one `join` node.
    fn chain(
        &mut self,
        op: &Tok,
        operand: fn(&mut Self) -> Result<Expr>,
        join: fn(Vec<Expr>) -> Expr,
    ) -> Result<Expr> {
        let first = operand(self)?;
        if self.peek() != op {
            return Ok(first);
        }
        let mut all = vec![first];
        while self.peek() == op {
            self.bump();
            all.push(operand(self)?);
        }
        Ok(join(all))
    }

    fn not(&mut self) -> Result<Expr> {
        if self.peek() == &Tok::Not {
            self.bump();
            self.enter()?;
            let e = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr> {
        if self.peek() == &Tok::LParen {
            let open = self.bump();
            let e = self.or()?;
            if self.peek() != &Tok::RParen {
                if self.peek() == &Tok::End {
                    return Err(FilterError::new(
                        open,
                        "this \"(\" is never closed: expected \")\"",
                    ));
                }
                return Err(self.unexpected_after_expr(&e));
            }
            self.bump();
            return Ok(e);
        }
        self.relation()
    }

    fn relation(&mut self) -> Result<Expr> {
        let lhs = self.term("a field or \"(\"")?;
        match self.peek().clone() {
            Tok::Cmp(op) => {
                let op_span = self.bump();
                let rhs = self.term_after()?;
                Ok(Expr::Cmp {
                    lhs,
                    op,
                    op_span,
                    rhs,
                })
            }
            Tok::Contains | Tok::Matches => {
                let op = if self.peek() == &Tok::Contains {
                    Op::Contains
                } else {
                    Op::Matches
                };
                let op_span = self.bump();
                let rhs = self.term_after()?;
                Ok(Expr::Cmp {
                    lhs,
                    op,
                    op_span,
                    rhs,
                })
            }
            Tok::In => {
                let op_span = self.bump();
                let set = self.set()?;
                Ok(Expr::In {
                    lhs,
                    negated: false,
                    op_span,
                    set,
                })
            }
            Tok::Not if self.peek2() == &Tok::In => {
                let start = self.bump();
                let op_span = start.to(self.bump());
                let set = self.set()?;
                Ok(Expr::In {
                    lhs,
                    negated: true,
                    op_span,
                    set,
                })
            }
            _ => Ok(Expr::Test(lhs)),
        }
    }

    /// The value after an operator: "expected a value after ..." when missing.
    fn term_after(&mut self) -> Result<Term> {
        let after = format!("a value after \"{}\"", self.prev_text());
        self.term(&after)
    }

    fn set(&mut self) -> Result<Vec<SetElem>> {
        if self.peek() != &Tok::LBrace {
            return Err(FilterError::new(
                self.span(),
                format!(
                    "expected \"{{\" to open a set after \"{}\"{}",
                    self.prev_text(),
                    self.found()
                ),
            ));
        }
        let open = self.bump();
        let mut elems = Vec::new();
        loop {
            match self.peek() {
                Tok::RBrace if elems.is_empty() => {
                    return Err(FilterError::new(
                        open.to(self.span()),
                        "empty set: expected a value after \"{\"",
                    ));
                }
                Tok::End => {
                    return Err(FilterError::new(
                        open,
                        "this \"{\" is never closed: expected \"}\"",
                    ))
                }
                _ => {}
            }
            let after = if elems.is_empty() {
                "a value after \"{\"".to_string()
            } else {
                format!("a value after \"{}\"", self.prev_text())
            };
            let lo = self.term(&after)?;
            let hi = if self.peek() == &Tok::DotDot {
                self.bump();
                Some(self.term("a value after \"..\"")?)
            } else {
                None
            };
            elems.push(SetElem { lo, hi });
            match self.peek() {
                Tok::Comma => {
                    self.bump();
                    if self.peek() == &Tok::RBrace {
                        return Err(FilterError::new(
                            self.span(),
                            "expected a value after \",\", found \"}\"",
                        ));
                    }
                }
                Tok::RBrace => {
                    self.bump();
                    return Ok(elems);
                }
                Tok::End => {
                    return Err(FilterError::new(
                        open,
                        "this \"{\" is never closed: expected \"}\"",
                    ))
                }
                Tok::DotDot => {
                    return Err(FilterError::new(
                        self.span(),
                        "a range has two ends: expected \",\" or \"}\" after it",
                    ));
                }
                // Wireshark before 4.0 separated set members with spaces; accept that too.
                _ => {}
            }
        }
    }

    /// A term: an atom, optionally `& atom`.
    fn term(&mut self, expected: &str) -> Result<Term> {
        let mut t = self.atom(expected)?;
        let mut n = 0;
        while self.peek() == &Tok::BitAnd {
            n += 1;
            if n > MAX_CHAIN {
                return Err(FilterError::new(self.span(), "too many \"&\" in a row"));
            }
            self.bump();
            let r = self.atom("a value after \"&\"")?;
            let span = t.span.to(r.span);
            t = Term {
                kind: TermKind::BitAnd(Box::new(t), Box::new(r)),
                span,
            };
        }
        Ok(t)
    }

    fn atom(&mut self, expected: &str) -> Result<Term> {
        let span = self.span();
        let mut t = match self.peek().clone() {
            Tok::Word(w) => {
                self.bump();
                if self.peek() == &Tok::LParen {
                    self.call(w, span)?
                } else if let Some(name) = w.strip_prefix('.') {
                    Term {
                        kind: TermKind::Field(name.to_string()),
                        span,
                    }
                } else {
                    Term {
                        kind: TermKind::Word(w),
                        span,
                    }
                }
            }
            Tok::Str(s) => {
                self.bump();
                Term {
                    kind: TermKind::Str(s),
                    span,
                }
            }
            Tok::Char(c) => {
                self.bump();
                Term {
                    kind: TermKind::Char(c),
                    span,
                }
            }
            Tok::End => return Err(FilterError::new(span, format!("expected {expected}"))),
            _ => {
                return Err(FilterError::new(
                    span,
                    format!("expected {expected}{}", self.found()),
                ))
            }
        };
        let mut n = 0;
        while let Tok::Slice(body, offset) = self.peek().clone() {
            n += 1;
            if n > MAX_CHAIN {
                return Err(FilterError::new(self.span(), "too many slices in a row"));
            }
            let slice_span = self.bump();
            let ranges = parse_ranges(&body, offset)?;
            let span = t.span.to(slice_span);
            t = Term {
                kind: TermKind::Slice(Box::new(t), ranges),
                span,
            };
        }
        Ok(t)
    }

    fn call(&mut self, name: String, name_span: Span) -> Result<Term> {
        let open = self.bump();
        self.enter()?;
        let mut args = Vec::new();
        if self.peek() == &Tok::RParen {
            let close = self.bump();
            self.depth -= 1;
            return Ok(Term {
                kind: TermKind::Call {
                    name,
                    name_span,
                    args,
                },
                span: name_span.to(close),
            });
        }
        loop {
            let expected = if args.is_empty() {
                format!("an argument or \")\" after \"{name}(\"")
            } else {
                "an argument after \",\"".to_string()
            };
            args.push(self.term(&expected)?);
            match self.peek() {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RParen => {
                    let close = self.bump();
                    self.depth -= 1;
                    return Ok(Term {
                        kind: TermKind::Call {
                            name,
                            name_span,
                            args,
                        },
                        span: name_span.to(close),
                    });
                }
                Tok::End => {
                    return Err(FilterError::new(
                        open,
                        format!("this \"(\" of {name}() is never closed: expected \")\""),
                    ))
                }
                _ => {
                    return Err(FilterError::new(
                        self.span(),
                        format!(
                            "expected \",\" or \")\" in the arguments of {name}(){}",
                            self.found()
                        ),
                    ));
                }
            }
        }
    }

    /// The error for a token that cannot follow a complete expression.
    fn unexpected_after_expr(&self, e: &Expr) -> FilterError {
        let what = self.tokens[self.pos].tok.describe(self.text, self.span());
        let hint = match e {
            Expr::Test(t)
                if matches!(
                    t.kind,
                    TermKind::Word(_) | TermKind::Field(_) | TermKind::Slice(..)
                ) =>
            {
                let name = &self.text[t.span.start..t.span.end];
                format!("expected an operator such as \"==\" or \"contains\", or \"and\"/\"or\", after \"{name}\"")
            }
            _ => "expected \"and\", \"or\", \")\" or the end of the filter".to_string(),
        };
        FilterError::new(self.span(), format!("{what} was unexpected here: {hint}"))
    }
}

/// Parses a slice body (`0:2`, `1-3`, `-1`, `2:`, `:4`, `0:2,5`); `offset` is the position of
/// the body in the text.
fn parse_ranges(body: &str, offset: usize) -> Result<Vec<Range>> {
    let mut out = Vec::new();
    let mut at = 0;
    for part in body.split(',') {
        let lead = part.len() - part.trim_start().len();
        let item = part.trim();
        let span = Span::new(offset + at + lead, offset + at + lead + item.len());
        at += part.len() + 1;
        let bad =
            |why: &str| FilterError::new(span, format!("\"{item}\" is not a valid range{why}"));
        if item.is_empty() {
            return Err(FilterError::new(
                span,
                "empty slice: expected a range such as [0:2], [1-3] or [4]",
            ));
        }
        let num = |s: &str| -> Option<i64> {
            let digits = s.strip_prefix('-').unwrap_or(s);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        let range = if let Some((a, b)) = item.split_once(':') {
            let start = if a.trim().is_empty() {
                0
            } else {
                num(a.trim()).ok_or_else(|| bad(""))?
            };
            if b.trim().is_empty() {
                Range {
                    start,
                    end: RangeEnd::ToEnd,
                }
            } else {
                let len = num(b.trim()).ok_or_else(|| bad(""))?;
                if len <= 0 {
                    return Err(bad(&format!(": the length {len} is not positive")));
                }
                Range {
                    start,
                    end: RangeEnd::Len(len),
                }
            }
        } else if let Some(i) = item.get(1..).and_then(|rest| rest.find('-')).map(|i| i + 1) {
            let (a, b) = (&item[..i], &item[i + 1..]);
            let start = num(a.trim()).ok_or_else(|| bad(""))?;
            let last = num(b.trim()).ok_or_else(|| bad(""))?;
            if (start >= 0) == (last >= 0) && last < start {
                return Err(bad(&format!(": {start} is after {last}")));
            }
            Range {
                start,
                end: RangeEnd::Last(last),
            }
        } else {
            Range {
                start: num(item).ok_or_else(|| bad(""))?,
                end: RangeEnd::Len(1),
            }
        };
        out.push(range);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_ranges() {
        let r = |s| parse_ranges(s, 0).unwrap();
        assert_eq!(
            r("0:2"),
            vec![Range {
                start: 0,
                end: RangeEnd::Len(2)
            }]
        );
        assert_eq!(
            r("1-3"),
            vec![Range {
                start: 1,
                end: RangeEnd::Last(3)
            }]
        );
        assert_eq!(
            r("-1"),
            vec![Range {
                start: -1,
                end: RangeEnd::Len(1)
            }]
        );
        assert_eq!(
            r("-2:"),
            vec![Range {
                start: -2,
                end: RangeEnd::ToEnd
            }]
        );
        assert_eq!(
            r(":4"),
            vec![Range {
                start: 0,
                end: RangeEnd::Len(4)
            }]
        );
        assert_eq!(
            r(" 0 , 2:1"),
            vec![
                Range {
                    start: 0,
                    end: RangeEnd::Len(1)
                },
                Range {
                    start: 2,
                    end: RangeEnd::Len(1)
                }
            ]
        );
        for bad in ["1:x", "0:0", "2-1", "", "a", "0:2:3", "1,"] {
            assert!(parse_ranges(bad, 0).is_err(), "{bad}");
        }
        let e = parse_ranges("0, 1:x", 10).unwrap_err();
        assert_eq!((e.position, e.length), (13, 3));
    }
}
