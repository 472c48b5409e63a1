//! Rules files: detections written as display filters plus metadata, in TOML.
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
//! Every error names the file, the line and the reason.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use osprey_field::{registry, FieldId};
use osprey_filter::{Filter, Macros};
use serde::Deserialize;
use toml::Spanned;

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    macros: BTreeMap<String, String>,
    #[serde(default)]
    rule: Vec<Spanned<RuleToml>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleToml {
    id: Spanned<String>,
    name: Spanned<String>,
    title: Option<String>,
    #[serde(default = "one")]
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

fn one() -> String {
    "1".to_string()
}

/// Reads a rules file's text. `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Vec<Rule>, RuleError> {
    let err = |span: Option<Range<usize>>, reason: String| RuleError {
        file: file.to_string(),
        line: span.map(|s| line_of(text, s.start)),
        reason,
    };
    let doc: FileToml = toml::from_str(text).map_err(|e| {
        let reason = e
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(": ");
        err(e.span(), reason)
    })?;
    let mut macros = Macros::new();
    for (name, body) in &doc.macros {
        macros.insert(name, body);
    }
    let mut rules = Vec::new();
    for r in doc.rule {
        let span = r.span();
        let r = r.into_inner();
        let id = r.id.get_ref().trim().to_string();
        if id.is_empty() {
            return Err(err(Some(r.id.span()), "empty rule id".into()));
        }
        if rules.iter().any(|x: &Rule| x.meta.id == id) {
            return Err(err(
                Some(r.id.span()),
                format!("rule {id} is defined twice"),
            ));
        }
        let name = r.name.get_ref().trim().to_string();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(err(
                Some(r.name.span()),
                format!("rule {id}: name must be one word (it is the finding's event name)"),
            ));
        }
        let severity = *r.severity.get_ref();
        if !(0..=4).contains(&severity) {
            return Err(err(
                Some(r.severity.span()),
                format!("rule {id}: severity {severity} is not in 0..4"),
            ));
        }
        let compile = |f: &Spanned<String>, what: &str| -> Result<Filter, RuleError> {
            Filter::compile(f.get_ref(), &macros).map_err(|e| {
                err(
                    Some(f.span()),
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
                    Some(e.span()),
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
                            Some(span.clone()),
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
                        Some(t.span()),
                        format!("rule {id}: a sequence needs a window, e.g. within = \"10s\""),
                    )
                })?;
                let within_ns = parse_duration(within.get_ref()).ok_or_else(|| {
                    err(
                        Some(within.span()),
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
                                Some(pair.span()),
                                format!(
                                    "rule {id}: \"{name}\" is neither a field nor a protocol name"
                                ),
                            )
                        })
                    };
                    same.push((field(a)?, field(b)?));
                }
                let scope = match r.scope.as_ref().map(|s| (s.get_ref().as_str(), s.span())) {
                    None | Some(("process", _)) => Scope::Process,
                    Some(("host", _)) => Scope::Host,
                    Some((other, span)) => {
                        return Err(err(
                            Some(span),
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
