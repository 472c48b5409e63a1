//! Display filter macros (Wireshark's `dfilter_macros`): `${name}` and `${name:arg1;arg2}`.
//!
//! Expansion is textual and happens before scanning, as in Wireshark. A body refers to its
//! arguments as `$1`, `$2`, ...; bodies may use other macros. The expanded text remembers where
//! each piece came from, so that an error found later points into the text the user typed: at
//! the macro reference when the error lies inside an expansion.

use std::collections::BTreeMap;

use crate::error::{FilterError, Result, Span};

/// How deep macros may nest before expansion gives up (a cycle is reported sooner).
const MAX_DEPTH: usize = 16;
/// The longest text expansion may produce (guards against exponential bodies).
const MAX_EXPANDED: usize = 1 << 20;

/// Named filter fragments, e.g. the `important` macro of the Tracee profile.
///
/// ```
/// use osprey_filter::{Filter, Macros};
/// let mut macros = Macros::new();
/// macros.insert("exec", "tracee.eventName == \"sched_process_exec\"");
/// macros.insert("proc", "tracee.processName == \"$1\"");
/// assert!(Filter::compile("${exec} and ${proc:bash}", &macros).is_ok());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Macros {
    map: BTreeMap<String, String>,
}

impl Macros {
    /// No macros.
    pub fn new() -> Macros {
        Macros::default()
    }

    /// Defines (or redefines) macro `name` with `body`.
    pub fn insert(&mut self, name: impl Into<String>, body: impl Into<String>) -> &mut Macros {
        self.map.insert(name.into(), body.into());
        self
    }

    /// The body of macro `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// Every macro, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// True when no macro is defined.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Macros {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Macros {
        Macros {
            map: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

/// Where a piece of the expanded text came from.
#[derive(Clone, Copy, Debug)]
struct Segment {
    /// Start of the piece in the expanded text.
    out: usize,
    /// Start of the piece in the original text (for a direct copy) or the span of the macro
    /// reference that produced it.
    orig: Span,
    direct: bool,
}

/// Expanded text plus the way back to the original.
#[derive(Debug)]
pub(crate) struct Expanded {
    pub text: String,
    segments: Vec<Segment>,
    original_len: usize,
}

impl Expanded {
    /// The span of the original text that `span` of the expanded text came from.
    pub fn map(&self, span: Span) -> Span {
        if self.segments.is_empty() {
            return span;
        }
        let a = self.map_point(span.start, false);
        let b = self.map_point(span.end, true);
        a.to(b)
    }

    /// Maps one offset; `end` says the offset closes a range (so it belongs to the piece
    /// before it).
    fn map_point(&self, pos: usize, end: bool) -> Span {
        let probe = if end && pos > 0 { pos - 1 } else { pos };
        let i = match self.segments.binary_search_by(|s| s.out.cmp(&probe)) {
            Ok(i) => i,
            Err(0) => 0,
            Err(i) => i - 1,
        };
        let seg = self.segments[i];
        if seg.direct {
            let p = (seg.orig.start + (pos - seg.out)).min(self.original_len);
            Span::new(p, p)
        } else {
            seg.orig
        }
    }

    /// The macro reference whose expansion holds offset `pos` of the expanded text, if any.
    pub fn macro_at(&self, pos: usize) -> Option<Span> {
        if self.segments.is_empty() {
            return None;
        }
        let i = match self.segments.binary_search_by(|s| s.out.cmp(&pos)) {
            Ok(i) => i,
            Err(0) => 0,
            Err(i) => i - 1,
        };
        let seg = self.segments[i];
        (!seg.direct).then_some(seg.orig)
    }
}

/// Expands every macro reference in `text`.
pub(crate) fn expand(text: &str, macros: &Macros) -> Result<Expanded> {
    if !text.contains('$') {
        return Ok(Expanded {
            text: text.to_string(),
            segments: Vec::new(),
            original_len: text.len(),
        });
    }
    let mut out = String::with_capacity(text.len());
    let mut segments = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut copy_from = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' => {
                // Skip quoted text: a `$` inside a string is not a macro reference.
                i = skip_quoted(bytes, i);
            }
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                if copy_from < i {
                    segments.push(Segment {
                        out: out.len(),
                        orig: Span::new(copy_from, i),
                        direct: true,
                    });
                    out.push_str(&text[copy_from..i]);
                }
                let (reference, end) = parse_reference(text, i)?;
                let span = Span::new(i, end);
                let mut stack = Vec::new();
                let body = expand_reference(&reference, macros, span, &mut stack)?;
                segments.push(Segment {
                    out: out.len(),
                    orig: span,
                    direct: false,
                });
                // Keep the expansion a separate token sequence, as Wireshark's textual
                // substitution would when the reference is surrounded by spaces.
                out.push(' ');
                out.push_str(&body);
                out.push(' ');
                if out.len() > MAX_EXPANDED {
                    return Err(FilterError::new(
                        span,
                        "macro expansion is too large (over 1 MiB)",
                    ));
                }
                i = end;
                copy_from = end;
            }
            _ => i += 1,
        }
    }
    if segments.is_empty() {
        return Ok(Expanded {
            text: text.to_string(),
            segments,
            original_len: text.len(),
        });
    }
    if copy_from < text.len() {
        segments.push(Segment {
            out: out.len(),
            orig: Span::new(copy_from, text.len()),
            direct: true,
        });
        out.push_str(&text[copy_from..]);
    }
    // A final empty direct segment so that the end of the text maps to the end of the original.
    segments.push(Segment {
        out: out.len(),
        orig: Span::new(text.len(), text.len()),
        direct: true,
    });
    Ok(Expanded {
        text: out,
        segments,
        original_len: text.len(),
    })
}

/// The index just past the quoted text starting at `i` (or the end of the text if unclosed;
/// the scanner reports that).
fn skip_quoted(bytes: &[u8], i: usize) -> usize {
    let quote = bytes[i];
    let mut j = i + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            c if c == quote => return j + 1,
            _ => j += 1,
        }
    }
    bytes.len()
}

struct Reference {
    name: String,
    args: Vec<String>,
}

/// Parses `${name}` or `${name:a;b}` starting at `start` (the `$`); returns it and the index
/// past the closing brace.
fn parse_reference(text: &str, start: usize) -> Result<(Reference, usize)> {
    let Some(close) = text[start..].find('}').map(|p| start + p) else {
        return Err(FilterError::new(
            Span::new(start, text.len()),
            "a macro reference \"${\" is missing its closing \"}\"",
        ));
    };
    let inner = &text[start + 2..close];
    let (name, args) = match inner.split_once(':') {
        Some((n, a)) => (n, a.split(';').map(str::to_string).collect()),
        None => (inner, Vec::new()),
    };
    let span = Span::new(start, close + 1);
    if name.is_empty() {
        return Err(FilterError::new(span, "expected a macro name after \"${\""));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    {
        return Err(FilterError::new(
            span,
            format!("\"{name}\" is not a valid macro name"),
        ));
    }
    Ok((
        Reference {
            name: name.to_string(),
            args,
        },
        close + 1,
    ))
}

/// Expands one reference (recursively); errors point at `span`, the outermost reference.
fn expand_reference(
    reference: &Reference,
    macros: &Macros,
    span: Span,
    stack: &mut Vec<String>,
) -> Result<String> {
    let Some(body) = macros.get(&reference.name) else {
        return Err(FilterError::new(
            span,
            format!("unknown macro \"{}\"", reference.name),
        ));
    };
    if stack.contains(&reference.name) || stack.len() >= MAX_DEPTH {
        stack.push(reference.name.clone());
        let chain = stack.join(" -> ");
        let why = if stack[..stack.len() - 1].contains(&reference.name) {
            "refers to itself"
        } else {
            "nests too deeply"
        };
        return Err(FilterError::new(
            span,
            format!("macro recursion: {chain} {why}"),
        ));
    }
    stack.push(reference.name.clone());
    let substituted = substitute_args(body, &reference.args, &reference.name, span)?;
    // Expand references inside the body.
    let bytes = substituted.as_bytes();
    let mut out = String::with_capacity(substituted.len());
    let mut i = 0;
    let mut copy_from = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' => i = skip_quoted(bytes, i),
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                out.push_str(&substituted[copy_from..i]);
                let (inner, end) = parse_reference(&substituted, i).map_err(|e| {
                    FilterError::new(
                        span,
                        format!(
                            "in the expansion of macro \"{}\": {}",
                            reference.name, e.message
                        ),
                    )
                })?;
                let body = expand_reference(&inner, macros, span, stack)?;
                out.push(' ');
                out.push_str(&body);
                out.push(' ');
                if out.len() > MAX_EXPANDED {
                    return Err(FilterError::new(
                        span,
                        "macro expansion is too large (over 1 MiB)",
                    ));
                }
                i = end;
                copy_from = end;
            }
            _ => i += 1,
        }
    }
    out.push_str(&substituted[copy_from..]);
    stack.pop();
    Ok(out)
}

/// Replaces `$1`, `$2`, ... in `body` with the arguments.
fn substitute_args(body: &str, args: &[String], name: &str, span: Span) -> Result<String> {
    if !body.contains('$') {
        return Ok(body.to_string());
    }
    let bytes = body.as_bytes();
    let mut out = String::with_capacity(body.len());
    let mut i = 0;
    let mut copy_from = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            let n: usize = body[i + 1..j].parse().unwrap_or(usize::MAX);
            let Some(arg) = n.checked_sub(1).and_then(|k| args.get(k)) else {
                return Err(FilterError::new(
                    span,
                    format!(
                        "macro \"{name}\" uses ${n} but was given {} argument{}",
                        args.len(),
                        if args.len() == 1 { "" } else { "s" }
                    ),
                ));
            };
            out.push_str(&body[copy_from..i]);
            out.push_str(arg);
            if out.len() > MAX_EXPANDED {
                return Err(FilterError::new(
                    span,
                    "macro expansion is too large (over 1 MiB)",
                ));
            }
            i = j;
            copy_from = j;
        } else {
            i += 1;
        }
    }
    out.push_str(&body[copy_from..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn macros() -> Macros {
        [
            ("a", "tcp"),
            ("b", "${a} or udp"),
            ("p", "tcp.port == $1 or tcp.port == $2"),
            ("loop", "${loop}"),
            ("x", "${y}"),
            ("y", "${x}"),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn expands_nested_and_with_arguments() {
        let e = expand("${b} and ${p:80;443}", &macros()).unwrap();
        assert_eq!(
            e.text.split_whitespace().collect::<Vec<_>>().join(" "),
            "tcp or udp and tcp.port == 80 or tcp.port == 443"
        );
    }

    #[test]
    fn maps_positions_back() {
        let text = "${a} and foo";
        let e = expand(text, &macros()).unwrap();
        let foo = e.text.find("foo").unwrap();
        assert_eq!(e.map(Span::new(foo, foo + 3)), Span::new(9, 12));
        let tcp = e.text.find("tcp").unwrap();
        assert_eq!(e.map(Span::new(tcp, tcp + 3)), Span::new(0, 4));
        assert_eq!(
            e.map(Span::new(e.text.len(), e.text.len())),
            Span::new(12, 12)
        );
    }

    #[test]
    fn reports_unknown_recursive_and_bad_references() {
        let err = expand("tcp or ${nope}", &macros()).unwrap_err();
        assert_eq!((err.position, err.length), (7, 7));
        assert!(
            err.message.contains("unknown macro \"nope\""),
            "{}",
            err.message
        );
        let err = expand("${loop}", &macros()).unwrap_err();
        assert!(err.message.contains("loop -> loop"), "{}", err.message);
        let err = expand("${x}", &macros()).unwrap_err();
        assert!(err.message.contains("x -> y -> x"), "{}", err.message);
        let err = expand("${p:80}", &macros()).unwrap_err();
        assert!(
            err.message.contains("uses $2 but was given 1 argument"),
            "{}",
            err.message
        );
        let err = expand("tcp or ${a", &macros()).unwrap_err();
        assert_eq!(err.position, 7);
        assert!(expand("http.host == \"${a}\"", &macros())
            .unwrap()
            .text
            .contains("${a}"));
    }
}
