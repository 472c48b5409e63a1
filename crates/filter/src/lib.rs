/*!
Display filters: Wireshark's display filter language, compiled against Osprey's field registry
and run on dissected frames, so that Wireshark and Traceeshark filters carry over.

A filter is compiled once with [`Filter::compile`] and then tested against each frame with
[`Filter::matches`]. Compilation runs in stages, as Wireshark's `epan/dfilter` does:
macro expansion (`${name}`, see [`Macros`]), a scanner that knows no field names, a parser, a
semantic check that resolves names in the registry of `osprey-field`, type-checks every
operator and parses every literal into the field's type, and code generation into a program
whose matching does not allocate in the common case. Errors carry the byte range of the text
they are about ([`FilterError`], with [`FilterError::render`] for a caret line).

[`Filter::fields`] lists the fields the filter reads, so dissection can skip the rest, and
[`Filter::event_prefilter`] gives a byte-level [`Prefilter`] for raw Tracee JSON lines that
rejects most non-matching events before they are parsed. [`Filter::constraint`] gives, for
one field, a [`Constraint`] every matching frame meets (a range or a set of texts), with which
a store can skip data by value (the Parquet lake prunes partitions and row groups).

```
use osprey_field::{fields::tracee, FieldId, FieldSource, FieldValue};
use osprey_filter::{Filter, Macros};

// A frame with one event name.
struct Event(&'static str);
impl FieldSource for Event {
    fn any_value(&self, field: FieldId, f: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
        match field {
            tracee::TRACEE => f(&FieldValue::None),
            tracee::EVENT_NAME => f(&FieldValue::Str(self.0.into())),
            _ => false,
        }
    }
}

let mut macros = Macros::new();
macros.insert("exec", r#"tracee.eventName in {"sched_process_exec", "execve"}"#);
let filter = Filter::compile("tracee and ${exec}", &macros).unwrap();
assert!(filter.matches(&Event("execve")));
assert!(!filter.matches(&Event("openat")));
assert!(filter.fields().contains(&tracee::EVENT_NAME));
assert!(!filter.event_prefilter().may_match(br#"{"eventName":"openat","args":[]}"#));

let err = Filter::compile("tracee.eventName ==", &macros).unwrap_err();
assert_eq!(err.to_string(), r#"expected a value after "==""#);
assert_eq!((err.position, err.length), (19, 0));
```

# Language

Wireshark 4.0 semantics (checked against `tshark -Y` 4.0.17):

- Fields and protocols alone test presence: `tcp`, `tracee`, `tracee.args.magic_write.pathname`.
  A leading dot (`.tcp`) forces a name to be a field.
- Comparisons `==` `!=` `<` `>` `<=` `>=` (and `eq ne lt gt le ge`), `===` (`all_eq`),
  `!==` (`~=`, `any_ne`), `any_eq`, `all_ne`, `contains`, `matches` (regular expression of the
  `regex` crate, case-insensitive unless the pattern starts `(?-i)`, as in Wireshark),
  `in {a, b, c..d}` and `not in {...}`.
- A field with several values matches `==` when any value does; `!=` means the field is
  present and no value equals; `===` that it is present and all values equal; `!==` that some
  value differs. An absent field makes every comparison false.
- `and or xor not` and `&& || ^^ !`, with `not` binding tightest, then `and`, `xor`, `or`;
  parentheses.
- Literals: strings with C escapes (`\x41`, `\101`, `\n`, `\"`, `\\`), raw strings `r"\d+"`,
  character constants `'a'`, integers (decimal, `0x` hex, `0` octal), floats, booleans
  (`true`/`false` in any case, `1`/`0`), IPv4/IPv6 addresses and networks (`10.0.0.0/8`,
  `fe80::/10`), Ethernet addresses and byte strings (`aa:bb:cc`, `aa-bb-cc`, `aabb.ccdd`),
  absolute times (`"Jan 1, 2024 00:00:00"`, `"2024-01-01 12:00:00"`, `2024-01-01T12:00:00Z`,
  taken as UTC), time offsets in seconds (`1.5`), value names of integer fields
  (`tracee.args.ptrace.request == PTRACE_ATTACH`), and unquoted words where a string is
  expected (`http.request.method == GET`).
- Slices `f[i:len]`, `f[i-j]`, `f[i]`, `f[i:]`, `f[:len]`, `f[-2:]`, `f[0:2,4]` on strings,
  bytes and addresses; `field & mask` on integers.
- Functions `len`, `count`, `lower`, `upper`, `string`, `max`, `min`, `abs`.
- Argument fields (`tracee.args.<event>.<arg>`) compile before any data shows them; their
  values are compared by each value's own type (`80` equals the integer 80 and the text "80").

Forms Wireshark deprecates or warns about compile, with [`Filter::warnings`] saying where and
why (the web UI's filter bar turns yellow): `~=` (now `!==`), `!=` on a field holding both a
source and a destination value (`ip.addr`, `tcp.port`: true only when neither equals, which
Wireshark 3.x flagged as "may have unexpected results"), and a value name written without
quotes (`ip.proto == TCP`; Wireshark 4.2 asks for `"TCP"`).

Deliberate differences from tshark 4.0, each more lenient or an error where Osprey cannot
follow: set members may also be separated by spaces (Wireshark 3); `xor`/`^^` exist
(Wireshark 4.2); a literal may stand on the left (`80 == tcp.port`); an unquoted number
compared with a string field also matches a value that is the same number
(`tracee.sockaddr.sin_port < 1024`), and an unquoted network (`10.0.0.0/8`) matches a string
value holding an address in it; `"Jan 1, 2024 00:00:00"` is UTC, not local time; protocols
can only be tested for presence (no protocol bytes are kept, so `tcp[0:2]`, `len(tcp)` and
`tcp contains ...` are errors); `len()` of an integer field is an error; regular expressions
use the `regex` crate's syntax (no look-around or backreferences); host names are not
resolved (`ip.addr == localhost` is an error, as in tshark without name resolution);
arithmetic (`+ - * /`) is not supported.
*/

#![deny(missing_docs)]

mod error;
mod literal;
mod macros;
mod ops;
mod parser;
mod prefilter;
mod program;
mod pushdown;
mod scanner;
mod semcheck;

use std::fmt;

use osprey_field::{FieldId, FieldSource};

pub use error::{FilterError, FilterWarning};
pub use macros::Macros;
pub use prefilter::Prefilter;
pub use pushdown::Constraint;

use error::Span;
use program::Node;

/// `s` as a display-filter string literal: quoted, with `"` and `\\` escaped and control
/// characters as `\xNN`, so that `FIELD == <literal>` selects exactly the text `s`.
pub fn string_literal(s: &str) -> String {
    use std::fmt::Write as _;
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(q, "\\x{:02x}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// A compiled display filter: immutable, shareable between threads.
pub struct Filter {
    text: String,
    root: Node,
    fields: Vec<FieldId>,
    prefilter: Prefilter,
    warnings: Vec<FilterWarning>,
}

impl Filter {
    /// Compiles `text`, expanding macro references from `macros`. An empty (or blank) text
    /// gives a filter that matches every frame.
    pub fn compile(text: &str, macros: &Macros) -> Result<Filter, FilterError> {
        let expanded = macros::expand(text, macros)?;
        let relocate = |e: FilterError| -> FilterError {
            let span = Span::new(e.position, e.position + e.length);
            let mut message = e.message;
            if let Some(reference) = expanded.macro_at(span.start) {
                message = format!(
                    "{message} (in the expansion of {})",
                    &text[reference.start..reference.end]
                );
            }
            FilterError::new(expanded.map(span), message)
        };
        let tokens = scanner::scan(&expanded.text).map_err(relocate)?;
        let ast = parser::parse(&expanded.text, &tokens).map_err(relocate)?;
        let (root, warnings) = match ast {
            None => (Node::True, Vec::new()),
            Some(ast) => semcheck::check(&expanded.text, &ast).map_err(relocate)?,
        };
        // Placed in the text as given, like errors.
        let warnings = warnings
            .into_iter()
            .map(|w| {
                let placed = relocate(FilterError {
                    position: w.position,
                    length: w.length,
                    message: w.message,
                });
                FilterWarning {
                    position: placed.position,
                    length: placed.length,
                    message: placed.message,
                }
            })
            .collect();
        let mut fields = Vec::new();
        root.fields(&mut fields);
        fields.sort();
        fields.dedup();
        let prefilter = Prefilter::from_program(&root);
        Ok(Filter {
            text: text.to_string(),
            root,
            fields,
            prefilter,
            warnings,
        })
    }

    /// True when the frame matches.
    pub fn matches(&self, frame: &dyn FieldSource) -> bool {
        self.root.eval(frame)
    }

    /// Every field and protocol the filter reads (sorted, without duplicates): what a
    /// dissector must add for [`Filter::matches`] to be right.
    pub fn fields(&self) -> Vec<FieldId> {
        self.fields.clone()
    }

    /// The byte-level test for raw Tracee JSON event lines (see [`Prefilter`]).
    pub fn event_prefilter(&self) -> Prefilter {
        self.prefilter.clone()
    }

    /// A condition on `field`'s value that every frame the filter matches meets (see
    /// [`Constraint`]); `None` when the filter says nothing certain about the field. Meant
    /// for fields with at most one value per frame.
    pub fn constraint(&self, field: FieldId) -> Option<Constraint> {
        pushdown::constraint(&self.root, field)
    }

    /// The deprecated forms the filter uses (`~=`, `!=` on a source-or-destination field,
    /// value names without quotes), in the order met: it works, but Wireshark warns.
    pub fn warnings(&self) -> &[FilterWarning] {
        &self.warnings
    }

    /// The filter as given to [`Filter::compile`].
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True for the empty filter, which matches everything.
    pub fn is_empty(&self) -> bool {
        matches!(self.root, Node::True)
    }
}

impl fmt::Debug for Filter {
    /// The compiled program, as `dftest` would show it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("text", &self.text)
            .field("program", &self.root)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A string literal selects exactly its text, whatever characters it holds.
    #[test]
    fn string_literals_select_exactly_their_text() {
        use osprey_field::{fields::tracee, FieldValue};
        struct Name(&'static str);
        impl FieldSource for Name {
            fn any_value(
                &self,
                field: FieldId,
                f: &mut dyn FnMut(&FieldValue<'_>) -> bool,
            ) -> bool {
                field == tracee::PROCESS_NAME && f(&FieldValue::Str(self.0.into()))
            }
        }
        for text in [
            "plain",
            "a \"quoted\" \\ name",
            "tab\there\nand\x7f",
            "",
            "${x} é",
        ] {
            let filter = format!("tracee.processName == {}", string_literal(text));
            let f = Filter::compile(&filter, &Macros::new()).expect(&filter);
            assert!(f.matches(&Name(text)), "{filter}");
            assert!(!f.matches(&Name("other")), "{filter}");
        }
    }

    #[test]
    fn filters_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Filter>();
        check::<Prefilter>();
        check::<Macros>();
    }

    /// The warnings of `text`, as (the text they point at, a word of the message).
    fn warnings(text: &str, macros: &Macros) -> Vec<(String, String)> {
        let f = Filter::compile(text, macros).expect("compiles");
        f.warnings()
            .iter()
            .map(|w| {
                let at = text[w.position..w.position + w.length].to_string();
                (at, w.message.clone())
            })
            .collect()
    }

    #[test]
    fn deprecated_forms_compile_with_warnings_where_they_are() {
        let none = Macros::new();
        let w = warnings("tcp.port ~= 80", &none);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].0, "~=");
        assert!(w[0].1.contains("\"!==\""), "{w:?}");
        // The same test written as it is now: no warning.
        assert!(warnings("tcp.srcport !== 80", &none).is_empty());
        assert!(warnings("tcp.port any_ne 80", &none).is_empty());
        // != on a field with a source and a destination value.
        let w = warnings("ip.src == 10.0.0.1 and ip.addr != 10.0.0.2", &none);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].0, "!=");
        assert!(w[0].1.contains("ip.addr"), "{w:?}");
        let w = warnings("10.0.0.2 != ip.addr", &none);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(warnings("ip.src != 10.0.0.2", &none).is_empty());
        assert!(warnings("not ip.addr == 10.0.0.2", &none).is_empty());
        // A value name without quotes.
        let w = warnings("ip.proto == TCP", &none);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].0, "TCP");
        assert!(w[0].1.contains("\"TCP\""), "{w:?}");
        assert!(warnings("ip.proto == \"TCP\"", &none).is_empty());
        assert!(warnings("ip.proto == 6", &none).is_empty());
    }

    #[test]
    fn a_warning_in_a_macro_points_at_its_reference() {
        let mut macros = Macros::new();
        macros.insert("old", "tcp.port ~= 80");
        let text = "tcp and ${old}";
        let f = Filter::compile(text, &macros).unwrap();
        let w = &f.warnings()[0];
        assert_eq!(&text[w.position..w.position + w.length], "${old}");
        assert!(w.message.contains("in the expansion of ${old}"), "{w:?}");
    }
}
