//! Rules files: detections written as display filters plus metadata, in TOML or YAML.
//!
//! The format is chosen by the file's name: `.yaml` and `.yml` (any case) are YAML, anything
//! else TOML (the bundled catalogue, `-R rules.toml`). Both formats have the same keys: a
//! `macros` table/mapping and a `rule` array of tables / sequence of mappings.
//!
//! ```toml
//! [macros]                      # optional: ${name} in the filters below
//! write_open = 'tracee.args.security_file_open.flags & 3'
//!
//! [[rule]]
//! id = "TRC-102"                # Tracee's signature ID, or your own
//! name = "anti_debugging"       # the finding's eventName
//! title = "Anti-Debugging detected"   # signatureName (default: name)
//! version = "1"
//! description = "A process used anti-debugging techniques to block a debugger."
//! severity = 1                  # 0..3, 4 = critical
//! category = "defense-evasion"
//! technique = "Debugger Evasion"
//! external_id = "T1622"         # MITRE ATT&CK ID
//! mitre_id = "attack-pattern--..."    # optional
//! events = ["ptrace"]           # the events the rule reads (enabled by `osprey trace`)
//! filter = 'tracee.args.ptrace.request_name == "PTRACE_TRACEME"'
//!
//! # optional: a second step by the same process (or, with scope = "host", by any) within a
//! # time window; `same` pairs a field of the first step with one of the second that must be
//! # equal
//! then = 'tracee.eventName == "sched_process_exec"'
//! within = "10s"
//! same = [["tracee.args.magic_write.pathname", "tracee.args.sched_process_exec.pathname"]]
//! scope = "process"
//! ```
//!
//! The same rule in YAML:
//!
//! ```yaml
//! rule:
//!   - id: TRC-102
//!     name: anti_debugging
//!     severity: 1
//!     events: [ptrace]
//!     filter: tracee.args.ptrace.request_name == "PTRACE_TRACEME"
//! ```
//!
//! Every error names the file, the line and the reason: for a value that is wrong (a filter
//! that does not compile, a severity out of range, ...) the line of that value, for a rule that
//! lacks a key a line of that rule. YAML is read under limits (size, depth, node count; no
//! anchors, aliases or merge keys, since `macros` are the way to reuse text), so a hostile
//! file is refused before it costs time or memory.

use std::collections::BTreeMap;
use std::fmt;

use osprey_field::{registry, FieldId};
use osprey_filter::{Filter, Macros};

/// A rules file that cannot be used: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RuleError {
    /// The file (or the name the text was given under).
    pub file: String,
    /// 1-based line, when the problem has a place.
    pub line: Option<usize>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

/// Where a sequence rule keeps its first steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Both steps by the same process (host PID).
    Process,
    /// Both steps anywhere on the host.
    Host,
}

/// The second step of a sequence rule.
#[derive(Debug)]
pub struct Then {
    /// The second step's filter.
    pub filter: Filter,
    /// The window after the first step, in nanoseconds.
    pub within_ns: u64,
    /// Field pairs (first step, second step) whose values must be equal.
    pub same: Vec<(FieldId, FieldId)>,
    /// Where both steps must happen.
    pub scope: Scope,
}

/// The metadata of a signature, as its findings carry it (formats.md §1.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// Signature ID, e.g. `TRC-102`.
    pub id: String,
    /// Event name of its findings, e.g. `anti_debugging`.
    pub name: String,
    /// `signatureName`, e.g. `Anti-Debugging detected`.
    pub title: String,
    /// Version.
    pub version: String,
    /// Description.
    pub description: String,
    /// Severity 0..3 (4 = critical).
    pub severity: i64,
    /// Category (`defense-evasion`, ...).
    pub category: String,
    /// MITRE ATT&CK technique name.
    pub technique: String,
    /// MITRE ATT&CK technique ID (`T1622`), empty when none.
    pub external_id: String,
    /// MITRE ATT&CK pattern ID (`attack-pattern--...`), empty when none.
    pub mitre_id: String,
    /// The events the signature reads.
    pub events: Vec<String>,
}

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// Its metadata.
    pub meta: Meta,
    /// The (first step's) filter.
    pub filter: Filter,
    /// The second step, for sequence rules.
    pub then: Option<Then>,
    /// The file the rule came from.
    pub origin: String,
}

/// A value and the 1-based line it is written on.
struct At<T> {
    value: T,
    line: usize,
}

impl<T> At<T> {
    fn get_ref(&self) -> &T {
        &self.value
    }
}

/// A rules file as read, TOML or YAML, before its rules are checked and compiled.
struct RawFile {
    macros: BTreeMap<String, String>,
    rule: Vec<At<RawRule>>,
}

struct RawRule {
    id: At<String>,
    name: At<String>,
    title: Option<String>,
    version: String,
    description: String,
    severity: At<i64>,
    category: String,
    technique: String,
    external_id: String,
    mitre_id: String,
    events: Vec<At<String>>,
    filter: At<String>,
    then: Option<At<String>>,
    within: Option<At<String>>,
    same: Vec<At<(String, String)>>,
    scope: Option<At<String>>,
}

/// A format's span-carrying wrapper: where its value is written.
trait Placed<T> {
    fn at(self, text: &str) -> At<T>;
}

impl<T> Placed<T> for toml::Spanned<T> {
    fn at(self, text: &str) -> At<T> {
        let line = line_of(text, self.span().start);
        At {
            value: self.into_inner(),
            line,
        }
    }
}

impl<T> Placed<T> for serde_saphyr::Spanned<T> {
    fn at(self, _text: &str) -> At<T> {
        At {
            line: usize::try_from(self.referenced.line()).unwrap_or(0),
            value: self.value,
        }
    }
}

/// The file's schema, once per format (the same fields, each format's own span wrapper).
macro_rules! schema {
    ($module:ident, $krate:ident) => {
        mod $module {
            use super::{At, Placed, RawFile, RawRule};
            use serde::Deserialize;
            use std::collections::BTreeMap;
            use $krate::Spanned;

            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            pub(super) struct File {
                #[serde(default)]
                macros: BTreeMap<String, String>,
                #[serde(default)]
                rule: Vec<Spanned<Rule>>,
            }

            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Rule {
                id: Spanned<String>,
                name: Spanned<String>,
                title: Option<String>,
                #[serde(default = "super::one")]
                version: String,
                #[serde(default)]
                description: String,
                severity: Spanned<i64>,
                #[serde(default)]
                category: String,
                #[serde(default)]
                technique: String,
                #[serde(default)]
                external_id: String,
                #[serde(default)]
                mitre_id: String,
                #[serde(default)]
                events: Vec<Spanned<String>>,
                filter: Spanned<String>,
                then: Option<Spanned<String>>,
                within: Option<Spanned<String>>,
                #[serde(default)]
                same: Vec<Spanned<(String, String)>>,
                scope: Option<Spanned<String>>,
            }

            impl File {
                pub(super) fn raw(self, text: &str) -> RawFile {
                    let rule = self
                        .rule
                        .into_iter()
                        .map(|r| {
                            let At { value: r, line } = r.at(text);
                            At {
                                line,
                                value: RawRule {
                                    id: r.id.at(text),
                                    name: r.name.at(text),
                                    title: r.title,
                                    version: r.version,
                                    description: r.description,
                                    severity: r.severity.at(text),
                                    category: r.category,
                                    technique: r.technique,
                                    external_id: r.external_id,
                                    mitre_id: r.mitre_id,
                                    events: r.events.into_iter().map(|e| e.at(text)).collect(),
                                    filter: r.filter.at(text),
                                    then: r.then.map(|t| t.at(text)),
                                    within: r.within.map(|t| t.at(text)),
                                    same: r.same.into_iter().map(|p| p.at(text)).collect(),
                                    scope: r.scope.map(|t| t.at(text)),
                                },
                            }
                        })
                        .collect();
                    RawFile {
                        macros: self.macros,
                        rule,
                    }
                }
            }
        }
    };
}

schema!(toml_schema, toml);
schema!(yaml_schema, serde_saphyr);

fn one() -> String {
    "1".to_string()
}

/// The format a rules file is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// TOML (`[[rule]]` tables).
    Toml,
    /// YAML (a `rule:` sequence of mappings).
    Yaml,
}

impl Format {
    /// By the file name: `.yaml` and `.yml` (any case) are YAML, anything else is TOML.
    pub fn of(file: &str) -> Format {
        let ext = std::path::Path::new(file)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("");
        if ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml") {
            Format::Yaml
        } else {
            Format::Toml
        }
    }
}

/// The largest YAML rules file read (the bundled catalogue is about 15 KiB).
pub const MAX_YAML_BYTES: usize = 4 << 20;

/// Reads a rules file's text, as YAML when `file` ends in `.yaml` or `.yml`, else as TOML.
/// `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Vec<Rule>, RuleError> {
    parse_as(Format::of(file), file, text)
}

/// Reads a rules file's text in the given format. `file` names it in errors.
pub fn parse_as(format: Format, file: &str, text: &str) -> Result<Vec<Rule>, RuleError> {
    let raw = match format {
        Format::Toml => read_toml(file, text)?,
        Format::Yaml => read_yaml(file, text)?,
    };
    compile(file, raw)
}

fn read_toml(file: &str, text: &str) -> Result<RawFile, RuleError> {
    let doc: toml_schema::File = toml::from_str(text).map_err(|e| {
        let reason = e
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(": ");
        RuleError {
            file: file.to_string(),
            line: e.span().map(|s| line_of(text, s.start)),
            reason,
        }
    })?;
    Ok(doc.raw(text))
}

/// YAML's limits: a rules file is small and flat (5 levels deep), so anything beyond these is
/// hostile or a mistake, refused before it costs time or memory. Anchors and aliases are
/// refused altogether: rules have `macros` for reuse, and no alias means no expansion bomb.
fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_reader_input_bytes = Some(MAX_YAML_BYTES);
    budget.max_depth = 16;
    budget.flow_nesting_limit = 16;
    budget.max_documents = 1;
    budget.max_aliases = 0;
    budget.max_anchors = 0;
    budget.max_merge_keys = 0;
    budget.max_events = 200_000;
    budget.max_nodes = 100_000;
    budget.max_total_scalar_bytes = MAX_YAML_BYTES;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

fn read_yaml(file: &str, text: &str) -> Result<RawFile, RuleError> {
    let err = |line: Option<usize>, reason: String| RuleError {
        file: file.to_string(),
        line,
        reason,
    };
    if text.len() > MAX_YAML_BYTES {
        return Err(err(
            None,
            format!(
                "{} bytes is more than a YAML rules file may hold ({MAX_YAML_BYTES})",
                text.len()
            ),
        ));
    }
    let doc: Option<yaml_schema::File> = serde_saphyr::from_str_with_options(text, yaml_options())
        .map_err(|e| {
            let e = e.without_snippet();
            let location = e.location().filter(|l| l.line() > 0);
            let reason = match e {
                serde_saphyr::Error::Budget { breach, .. } => {
                    use serde_saphyr::budget::BudgetBreach as B;
                    match breach {
                        B::Aliases { .. } | B::Anchors { .. } | B::MergeKeys { .. } => {
                            "anchors, aliases and merge keys are not allowed in rules files (use macros)"
                                .to_string()
                        }
                        B::Depth { .. } => "nested too deeply for a rules file".to_string(),
                        B::Documents { .. } => {
                            "a rules file is one YAML document (no `---` between rules)".to_string()
                        }
                        other => format!("too large for a rules file ({other:?})"),
                    }
                }
                _ => {
                    // the message without the location suffix the crate adds
                    let text = e.to_string();
                    let suffix = location
                        .map(|l| format!(" at line {}, column {}", l.line(), l.column()))
                        .unwrap_or_default();
                    text.strip_suffix(suffix.as_str())
                        .unwrap_or(&text)
                        .trim()
                        .to_string()
                }
            };
            err(
                location.and_then(|l| usize::try_from(l.line()).ok()),
                reason,
            )
        })?;
    // an empty document is a file without rules, as an empty TOML file is
    Ok(match doc {
        Some(doc) => doc.raw(text),
        None => RawFile {
            macros: BTreeMap::new(),
            rule: Vec::new(),
        },
    })
}

/// Checks and compiles the rules of a file that was read.
fn compile(file: &str, doc: RawFile) -> Result<Vec<Rule>, RuleError> {
    let err = |line: usize, reason: String| RuleError {
        file: file.to_string(),
        line: (line > 0).then_some(line),
        reason,
    };
    let mut macros = Macros::new();
    for (name, body) in &doc.macros {
        macros.insert(name, body);
    }
    let mut rules = Vec::new();
    for r in doc.rule {
        let rule_line = r.line;
        let r = r.value;
        let id = r.id.get_ref().trim().to_string();
        if id.is_empty() {
            return Err(err(r.id.line, "empty rule id".into()));
        }
        if rules.iter().any(|x: &Rule| x.meta.id == id) {
            return Err(err(r.id.line, format!("rule {id} is defined twice")));
        }
        let name = r.name.get_ref().trim().to_string();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(err(
                r.name.line,
                format!("rule {id}: name must be one word (it is the finding's event name)"),
            ));
        }
        let severity = *r.severity.get_ref();
        if !(0..=4).contains(&severity) {
            return Err(err(
                r.severity.line,
                format!("rule {id}: severity {severity} is not in 0..4"),
            ));
        }
        let compile = |f: &At<String>, what: &str| -> Result<Filter, RuleError> {
            Filter::compile(f.get_ref(), &macros).map_err(|e| {
                err(
                    f.line,
                    format!(
                        "rule {id}: bad {what}: {e} (at character {} of {:?})",
                        e.position + 1,
                        f.get_ref()
                    ),
                )
            })
        };
        let filter = compile(&r.filter, "filter")?;
        let mut events = Vec::new();
        for e in &r.events {
            let ev = e.get_ref().trim();
            if ev.is_empty() || !ev.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(err(
                    e.line,
                    format!("rule {id}: {ev:?} is not an event name"),
                ));
            }
            events.push(ev.to_string());
        }
        let then = match &r.then {
            None => {
                for (key, present) in [
                    ("within", r.within.is_some()),
                    ("same", !r.same.is_empty()),
                    ("scope", r.scope.is_some()),
                ] {
                    if present {
                        return Err(err(
                            rule_line,
                            format!("rule {id}: `{key}` needs a second step (`then`)"),
                        ));
                    }
                }
                None
            }
            Some(t) => {
                let filter = compile(t, "`then` filter")?;
                let within = r.within.as_ref().ok_or_else(|| {
                    err(
                        t.line,
                        format!("rule {id}: a sequence needs a window, e.g. within = \"10s\""),
                    )
                })?;
                let within_ns = parse_duration(within.get_ref()).ok_or_else(|| {
                    err(
                        within.line,
                        format!(
                            "rule {id}: within = {:?} is not a duration (e.g. \"500ms\", \"10s\", \"2m\")",
                            within.get_ref()
                        ),
                    )
                })?;
                let mut same = Vec::new();
                for pair in &r.same {
                    let (a, b) = pair.get_ref();
                    let field = |name: &str| {
                        registry().resolve(name).ok_or_else(|| {
                            err(
                                pair.line,
                                format!(
                                    "rule {id}: \"{name}\" is neither a field nor a protocol name"
                                ),
                            )
                        })
                    };
                    same.push((field(a)?, field(b)?));
                }
                let scope = match r.scope.as_ref().map(|s| (s.get_ref().as_str(), s.line)) {
                    None | Some(("process", _)) => Scope::Process,
                    Some(("host", _)) => Scope::Host,
                    Some((other, line)) => {
                        return Err(err(
                            line,
                            format!("rule {id}: scope {other:?} is not \"process\" or \"host\""),
                        ))
                    }
                };
                Some(Then {
                    filter,
                    within_ns,
                    same,
                    scope,
                })
            }
        };
        rules.push(Rule {
            meta: Meta {
                title: r.title.unwrap_or_else(|| name.clone()),
                id,
                name,
                version: r.version,
                description: r.description,
                severity,
                category: r.category,
                technique: r.technique,
                external_id: r.external_id,
                mitre_id: r.mitre_id,
                events,
            },
            filter,
            then,
            origin: file.to_string(),
        });
    }
    Ok(rules)
}

/// `500ms`, `10s`, `2m`, `1h` (a bare number is seconds) in nanoseconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let scale = match unit.trim() {
        "ns" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "" | "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        _ => return None,
    };
    let ns = n * scale;
    (ns.is_finite() && ns > 0.0 && ns < u64::MAX as f64).then_some(ns as u64)
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[macros]
exec = 'tracee.eventName == "sched_process_exec"'

[[rule]]
id = "X-1"
name = "write_then_exec"
severity = 2
events = ["magic_write", "sched_process_exec"]
filter = 'tracee.eventName == "magic_write"'
then = '${exec}'
within = "10s"
same = [["tracee.args.magic_write.pathname", "tracee.args.sched_process_exec.pathname"]]
"#;

    #[test]
    fn a_sequence_rule_compiles() {
        let rules = parse("good.toml", GOOD).unwrap();
        assert_eq!(rules.len(), 1);
        let r = &rules[0];
        assert_eq!(r.meta.title, "write_then_exec");
        assert_eq!(r.meta.version, "1");
        let then = r.then.as_ref().unwrap();
        assert_eq!(then.within_ns, 10_000_000_000);
        assert_eq!(then.scope, Scope::Process);
        assert_eq!(then.same.len(), 1);
    }

    fn error(text: &str) -> String {
        parse("r.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_reason() {
        // TOML syntax
        assert_eq!(
            error("[[rule]]\nid = \"A\"\nname = \n"),
            "r.toml:3: invalid string: expected `\"`, `'`"
        );
        // a bad filter: its line, the position in it and the filter's own message
        let e = error(
            "[[rule]]\nid = \"A\"\nname = \"a\"\nseverity = 1\nfilter = 'tracee.eventName =='\n",
        );
        assert_eq!(
            e,
            "r.toml:5: rule A: bad filter: expected a value after \"==\" (at character 20 of \"tracee.eventName ==\")"
        );
        // an unknown field name in a filter
        let e =
            error("[[rule]]\nid = \"A\"\nname = \"a\"\nseverity = 1\n\nfilter = 'nosuch.field'\n");
        assert!(e.starts_with("r.toml:6: rule A: bad filter: "), "{e}");
        assert!(e.contains("nosuch.field"), "{e}");
        // a missing key: the rule's line
        let e = error("x = 1\n[[rule]]\nid = \"A\"\nname = \"a\"\nfilter = 'tracee'\n");
        assert!(e.starts_with("r.toml:1: unknown field `x`"), "{e}");
        let e = error("[[rule]]\nid = \"A\"\nname = \"a\"\nfilter = 'tracee'\n");
        assert!(e.starts_with("r.toml:1: missing field `severity`"), "{e}");
        // out of range and bad values
        assert_eq!(
            error("[[rule]]\nid = \"A\"\nname = \"a\"\nseverity = 9\nfilter = 'tracee'\n"),
            "r.toml:4: rule A: severity 9 is not in 0..4"
        );
        assert_eq!(
            error("[[rule]]\nid = \"A\"\nname = \"a b\"\nseverity = 1\nfilter = 'tracee'\n"),
            "r.toml:3: rule A: name must be one word (it is the finding's event name)"
        );
        assert_eq!(
            error("[[rule]]\nid = \"A\"\nname = \"a\"\nseverity = 1\nfilter = 'tracee'\nthen = 'tracee'\nwithin = \"soon\"\n"),
            "r.toml:7: rule A: within = \"soon\" is not a duration (e.g. \"500ms\", \"10s\", \"2m\")"
        );
        assert_eq!(
            error("[[rule]]\nid = \"A\"\nname = \"a\"\nseverity = 1\nfilter = 'tracee'\nthen = 'tracee'\n"),
            "r.toml:6: rule A: a sequence needs a window, e.g. within = \"10s\""
        );
        assert!(error("[[rule]]\nid = \"A\"\nname = \"a\"\nseverity = 1\nfilter = 'tracee'\nwithin = \"1s\"\n")
            .ends_with("rule A: `within` needs a second step (`then`)"));
        assert_eq!(
            error("[[rule]]\nid = \"A\"\nname = \"a\"\nseverity = 1\nfilter = 'tracee'\nevents = [\"a b\"]\n"),
            "r.toml:6: rule A: \"a b\" is not an event name"
        );
        let twice = "[[rule]]\nid = \"A\"\nname = \"a\"\nseverity = 1\nfilter = 'tracee'\n";
        assert_eq!(
            error(&format!("{twice}{twice}")),
            "r.toml:7: rule A is defined twice"
        );
    }

    fn yaml_error(text: &str) -> String {
        parse("r.yaml", text).unwrap_err().to_string()
    }

    const GOOD_YAML: &str = r#"
macros:
  exec: 'tracee.eventName == "sched_process_exec"'

rule:
  - id: X-1
    name: write_then_exec
    severity: 2
    events: [magic_write, sched_process_exec]
    filter: 'tracee.eventName == "magic_write"'
    then: '${exec}'
    within: 10s
    same:
      - [tracee.args.magic_write.pathname, tracee.args.sched_process_exec.pathname]
"#;

    #[test]
    fn the_format_is_chosen_by_the_extension() {
        assert_eq!(Format::of("a.yaml"), Format::Yaml);
        assert_eq!(Format::of("dir.d/A.YML"), Format::Yaml);
        assert_eq!(Format::of("a.toml"), Format::Toml);
        assert_eq!(Format::of("rules"), Format::Toml);
        assert_eq!(Format::of("built-in rules"), Format::Toml);
        assert_eq!(Format::of("yaml"), Format::Toml);
        // YAML text in a .toml file is read as TOML, and fails as TOML
        assert!(parse("r.toml", GOOD_YAML).is_err());
    }

    #[test]
    fn a_yaml_rule_is_the_toml_rule() {
        let yaml = parse("good.yaml", GOOD_YAML).unwrap();
        let toml = parse("good.toml", GOOD).unwrap();
        assert_eq!(yaml.len(), 1);
        let (y, t) = (&yaml[0], &toml[0]);
        assert_eq!(y.meta, t.meta);
        let (yt, tt) = (y.then.as_ref().unwrap(), t.then.as_ref().unwrap());
        assert_eq!(yt.within_ns, tt.within_ns);
        assert_eq!(yt.same, tt.same);
        assert_eq!(yt.scope, tt.scope);
        assert_eq!(y.origin, "good.yaml");
        // an empty file, or one of comments, has no rules (as an empty TOML file)
        assert!(parse("e.yaml", "").unwrap().is_empty());
        assert!(parse("e.yaml", "# nothing yet\n").unwrap().is_empty());
        assert!(parse("e.yaml", "rule: []\n").unwrap().is_empty());
    }

    /// The bundled catalogue written out as YAML (strings as JSON strings, which YAML reads
    /// as double-quoted scalars) reads back as the same rules.
    #[test]
    fn the_built_in_rules_read_back_from_yaml() {
        #[derive(serde::Deserialize)]
        struct Doc {
            macros: BTreeMap<String, String>,
            rule: Vec<BTreeMap<String, toml::Value>>,
        }
        let doc: Doc = toml::from_str(crate::TRACEE_RULES).unwrap();
        let q = |s: &str| serde_json::to_string(s).unwrap();
        let value = |v: &toml::Value| match v {
            toml::Value::String(s) => q(s),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Array(a) => format!(
                "[{}]",
                a.iter()
                    .map(|x| match x {
                        toml::Value::String(s) => q(s),
                        toml::Value::Array(p) => format!(
                            "[{}]",
                            p.iter()
                                .map(|s| q(s.as_str().unwrap()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        other => panic!("{other:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => panic!("{other:?}"),
        };
        let mut yaml = String::from("# the built-in rules\nmacros:\n");
        for (k, v) in &doc.macros {
            yaml.push_str(&format!("  {k}: {}\n", q(v)));
        }
        yaml.push_str("rule:\n");
        for r in &doc.rule {
            let mut first = true;
            for (k, v) in r {
                let lead = if first { "  - " } else { "    " };
                first = false;
                yaml.push_str(&format!("{lead}{k}: {}\n", value(v)));
            }
        }
        let from_yaml = parse("tracee.yaml", &yaml).unwrap();
        let from_toml = parse("built-in rules", crate::TRACEE_RULES).unwrap();
        assert_eq!(from_yaml.len(), from_toml.len());
        assert!(from_toml.len() >= 20);
        for (y, t) in from_yaml.iter().zip(&from_toml) {
            assert_eq!(y.meta, t.meta);
            assert_eq!(y.then.is_some(), t.then.is_some());
        }
        // the same filters: the same verdicts on the bundled test recordings
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tracee");
        let mut text = std::fs::read_to_string(dir.join("tracee-action-trace.jsonl")).unwrap();
        for (path, flags) in [
            ("/etc/crontab", 1),
            ("/etc/sudoers", 2),
            ("/etc/shadow", 0),
            ("/proc/kcore", 0),
        ] {
            text.push_str(&format!(
                r#"{{"timestamp":1,"processId":7,"hostProcessId":7,"processName":"sh","eventId":"711","eventName":"security_file_open","args":[{{"name":"pathname","type":"const char*","value":"{path}"}},{{"name":"flags","type":"int","value":{flags}}}]}}"#
            ));
            text.push('\n');
        }
        let want = osprey_dissect::Want::all();
        let prefs = osprey_dissect::Preferences::default();
        let mut matched = 0;
        for line in text.lines() {
            let Ok(ev) = osprey_event::parse_event(line.as_bytes()) else {
                continue;
            };
            let mut tree = osprey_dissect::Tree::new(&want);
            osprey_dissect::event::dissect(&ev, None, &prefs, &mut tree);
            for (y, t) in from_yaml.iter().zip(&from_toml) {
                let (a, b) = (y.filter.matches(&tree), t.filter.matches(&tree));
                assert_eq!(a, b, "{}", t.meta.id);
                matched += usize::from(a);
            }
        }
        assert!(matched > 0);
    }

    #[test]
    fn yaml_errors_name_the_file_the_line_and_the_reason() {
        // YAML syntax
        assert_eq!(
            yaml_error("rule:\n  - id: A\n    name: \"a\n"),
            "r.yaml:4: invalid indentation in multiline quoted scalar"
        );
        // a bad filter: its line, the position in it and the filter's own message
        assert_eq!(
            yaml_error("rule:\n  - id: A\n    name: a\n    severity: 1\n    filter: 'tracee.eventName =='\n"),
            "r.yaml:5: rule A: bad filter: expected a value after \"==\" (at character 20 of \"tracee.eventName ==\")"
        );
        // a block scalar: the line its text starts on
        let e = yaml_error(
            "rule:\n  - id: A\n    name: a\n    severity: 1\n    filter: |\n      nosuch.field\n",
        );
        assert!(e.starts_with("r.yaml:6: rule A: bad filter: "), "{e}");
        assert!(e.contains("nosuch.field"), "{e}");
        // the second rule's line, not the first's
        let two = "rule:\n  - id: A\n    name: a\n    severity: 1\n    filter: tracee\n  - id: B\n    name: b\n    severity: 7\n    filter: tracee\n";
        assert_eq!(
            yaml_error(two),
            "r.yaml:8: rule B: severity 7 is not in 0..4"
        );
        // unknown and missing keys, bad types
        assert_eq!(
            yaml_error("x: 1\nrule: []\n"),
            "r.yaml:1: unknown field `x`, expected one of macros, rule"
        );
        let e = yaml_error(
            "rule:\n  - id: A\n    name: a\n    severity: 1\n    filter: tracee\n    bogus: 2\n",
        );
        assert!(e.starts_with("r.yaml:6: unknown field `bogus`"), "{e}");
        let e = yaml_error("rule:\n  - id: A\n    name: a\n    filter: tracee\n");
        assert!(e.starts_with("r.yaml:"), "{e}");
        assert!(e.ends_with("missing field `severity`"), "{e}");
        let line: usize = e.split(':').nth(1).unwrap().parse().unwrap();
        assert!((2..=4).contains(&line), "within the rule: {e}");
        assert_eq!(
            yaml_error("rule:\n  - id: A\n    name: a\n    severity: high\n    filter: tracee\n"),
            "r.yaml:4: invalid i64"
        );
        assert_eq!(
            yaml_error("rule:\n  - id: A\n    name: a b\n    severity: 1\n    filter: tracee\n"),
            "r.yaml:3: rule A: name must be one word (it is the finding's event name)"
        );
        assert_eq!(
            yaml_error("rule:\n  - id: A\n    name: a\n    severity: 1\n    filter: tracee\n    then: tracee\n    within: soon\n"),
            "r.yaml:7: rule A: within = \"soon\" is not a duration (e.g. \"500ms\", \"10s\", \"2m\")"
        );
        assert_eq!(
            yaml_error("rule:\n  - id: A\n    name: a\n    severity: 1\n    filter: tracee\n    then: tracee\n"),
            "r.yaml:6: rule A: a sequence needs a window, e.g. within = \"10s\""
        );
        assert_eq!(
            yaml_error("rule:\n  - id: A\n    name: a\n    severity: 1\n    filter: tracee\n    within: 1s\n"),
            "r.yaml:2: rule A: `within` needs a second step (`then`)"
        );
        assert_eq!(
            yaml_error("rule:\n  - id: A\n    name: a\n    severity: 1\n    filter: tracee\n    events:\n      - ok\n      - a b\n"),
            "r.yaml:8: rule A: \"a b\" is not an event name"
        );
        assert_eq!(
            yaml_error("rule:\n  - id: A\n    name: a\n    severity: 1\n    filter: tracee\n    then: tracee\n    within: 1s\n    scope: world\n"),
            "r.yaml:8: rule A: scope \"world\" is not \"process\" or \"host\""
        );
        assert_eq!(
            yaml_error("rule:\n  - id: A\n    name: a\n    severity: 1\n    filter: tracee\n    then: tracee\n    within: 1s\n    same:\n      - [tracee.args.magic_write.pathname, no.such]\n"),
            "r.yaml:9: rule A: \"no.such\" is neither a field nor a protocol name"
        );
        let twice = "  - id: A\n    name: a\n    severity: 1\n    filter: tracee\n";
        assert_eq!(
            yaml_error(&format!("rule:\n{twice}{twice}")),
            "r.yaml:6: rule A is defined twice"
        );
        let e = yaml_error(
            "rule:\n  - id: A\n    id: B\n    name: a\n    severity: 1\n    filter: tracee\n",
        );
        assert!(e.starts_with("r.yaml:3: duplicate mapping key: id"), "{e}");
        // a second document
        assert_eq!(
            yaml_error("rule: []\n---\nrule: []\n"),
            "r.yaml:2: a rules file is one YAML document (no `---` between rules)"
        );
        // the wrong shape altogether
        assert!(yaml_error("- a\n- b\n").starts_with("r.yaml:1: "));
        assert!(yaml_error("just text\n").starts_with("r.yaml:1: "));
    }

    /// Hostile YAML is refused quickly, without a panic and without building what it
    /// describes.
    #[test]
    fn hostile_yaml_is_bounded() {
        let started = std::time::Instant::now();
        // billion laughs: anchors and aliases are refused at the first anchor
        let lol = ["\"lol\""; 9].join(",");
        let mut laughs = format!("rule:\n  - &a0 [{lol}]\n");
        for i in 1..10 {
            let prev = i - 1;
            let refs = vec![format!("*a{prev}"); 9].join(",");
            laughs.push_str(&format!("  - &a{i} [{refs}]\n"));
        }
        assert_eq!(
            yaml_error(&laughs),
            "r.yaml:2: anchors, aliases and merge keys are not allowed in rules files (use macros)"
        );
        let alias = "macros:\n  m: &m tracee\nrule:\n  - id: A\n    name: a\n    severity: 1\n    filter: *m\n";
        assert_eq!(
            yaml_error(alias),
            "r.yaml:2: anchors, aliases and merge keys are not allowed in rules files (use macros)"
        );
        assert!(yaml_error("rule:\n  - <<: *x\n").starts_with("r.yaml:2: "));
        // deep nesting, flow and block
        for deep in [
            format!("rule: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
            format!("rule: {}{}\n", "{a: ".repeat(50_000), "}".repeat(50_000)),
            (0..1_000)
                .map(|i| format!("{}- \n", "  ".repeat(i)))
                .collect::<String>(),
            (0..1_000)
                .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
                .collect::<String>(),
        ] {
            let e = parse("r.yaml", &deep).unwrap_err();
            assert!(e.line.is_some(), "{e}");
        }
        // huge scalars and files
        let huge = format!(
            "rule:\n  - id: A\n    name: a\n    severity: 1\n    filter: '{}'\n",
            "x".repeat(MAX_YAML_BYTES)
        );
        assert!(
            yaml_error(&huge).starts_with("r.yaml: "),
            "{}",
            &yaml_error(&huge)[..100]
        );
        let big_key = format!("{}: 1\n", "k".repeat(1 << 20));
        assert!(parse("r.yaml", &big_key).is_err());
        // many small nodes
        let wide = format!("rule:\n  - id: A\n    name: a\n    severity: 1\n    filter: tracee\n    events: [{}]\n", vec!["e"; 300_000].join(","));
        assert!(parse("r.yaml", &wide).is_err());
        // odd bytes
        for text in [
            "\u{feff}rule: []\n",
            "rule: !!binary aGk=\n",
            "rule: [\0]\n",
            "%YAML 9.9\n---\n",
            "? [a]\n: b\n",
            "rule: !custom {}\n",
            "\t- x\n",
        ] {
            let _ = parse("r.yaml", text);
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Some(10_000_000_000));
        assert_eq!(parse_duration("500ms"), Some(500_000_000));
        assert_eq!(parse_duration("2m"), Some(120_000_000_000));
        assert_eq!(parse_duration("1.5"), Some(1_500_000_000));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("x"), None);
    }
}
