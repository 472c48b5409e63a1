/*!
Detections over Tracee events: Tracee's signatures (signatures.md) and rules written as display
filters, each finding an event in Tracee's finding layout (formats.md §1.4), so that every tool
that reads Tracee's own findings (Traceeshark, `osprey read`'s coloring, `-z tracee,event_counts`,
the process tree) reads Osprey's alike.

- A [`Detector`] is built from a [`Config`]: the bundled signatures ([`catalogue`]), user rules
  files ([`rules::parse`]) and a [`Selection`]. [`Detector::events`] names the events it reads
  (`osprey trace` enables them); [`Detector::on_event`] takes each event in order and returns
  the findings it triggers.
- The simple signatures are data: `rules/tracee.toml`, a display filter (the same language and
  field names as `osprey read -Y`, compiled by `osprey-filter` against `osprey-field`'s
  registry, evaluated on the tree `osprey-dissect` builds) plus metadata. A rule may have a
  second step (`then`) by the same process within a window, with fields that must be equal
  between the steps. Rules are indexed by the events they read, so an event no rule reads is
  never dissected.
- The stateful ones are Rust ([`native`]), with bounded per-process state forgotten when the
  process exits (`sched_process_exit`).
- The same events give the same findings live (`osprey trace`) and replayed (`osprey detect`).

```
use osprey_detect::{Config, Detector};

let mut detector = Detector::new(&Config::default()).unwrap();
assert!(detector.events().iter().any(|e| e == "ptrace"));
let line = br#"{"timestamp":1,"processId":7,"hostProcessId":7,"processName":"a.out","eventId":"101","eventName":"ptrace","args":[{"name":"request","type":"long","value":0},{"name":"pid","type":"pid_t","value":0}]}"#;
let event = osprey_event::parse_event(line).unwrap();
let findings = detector.on_event(&event);
assert_eq!(findings.len(), 1);
assert_eq!(findings[0].event_name, "anti_debugging");
```
*/

#![deny(missing_docs)]

pub mod finding;
pub mod native;
pub mod rules;
mod state;

use std::collections::HashMap;

use osprey_dissect::{Preferences, Tree, Want};
use osprey_event::Event;
use osprey_field::hash::FastMap;
use osprey_field::{FieldSource, FieldValue};
use osprey_filter::Prefilter;

pub use rules::{Meta, Rule, RuleError};
pub use state::ProcMap;

use native::Native;

/// The bundled rules file of Tracee's simple signatures.
pub const TRACEE_RULES: &str = include_str!("../rules/tracee.toml");

/// Event IDs of findings: built-in signatures get `6000 +` the number after `TRC-10`
/// (`TRC-102` is 6002, `TRC-1022` is 6022), user rules `6100 +` their position.
const FIRST_USER_ID: i64 = 6100;

/// How a signature of the catalogue is implemented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A display-filter rule (bundled or from a rules file).
    Rule,
    /// Rust code with per-process state.
    Native,
}

/// One signature of the catalogue.
#[derive(Debug, Clone)]
pub struct Signature {
    /// Its metadata.
    pub meta: Meta,
    /// The event ID of its findings.
    pub event_id: i64,
    /// How it is implemented.
    pub kind: Kind,
    /// Where it is defined (`built-in`, or a rules file).
    pub origin: String,
}

#[allow(clippy::too_many_arguments)]
fn meta(
    id: &str,
    name: &str,
    title: &str,
    severity: i64,
    category: &str,
    technique: &str,
    external_id: &str,
    mitre_id: &str,
    description: &str,
    events: &[&str],
) -> Meta {
    Meta {
        id: id.into(),
        name: name.into(),
        title: title.into(),
        version: "1".into(),
        description: description.into(),
        severity,
        category: category.into(),
        technique: technique.into(),
        external_id: external_id.into(),
        mitre_id: mitre_id.into(),
        events: events.iter().map(|e| e.to_string()).collect(),
    }
}

/// The signatures written in Rust, with their metadata.
fn natives() -> Vec<(Meta, Box<dyn Native>)> {
    let n = |m: Meta, imp: Box<dyn Native>| -> (Meta, Box<dyn Native>) {
        let mut m = m;
        m.events = imp.events().iter().map(|e| e.to_string()).collect();
        if imp.stateful() {
            m.events.push("sched_process_exit".into());
        }
        (m, imp)
    };
    vec![
        n(
            meta("TRC-101", "stdio_over_socket", "Process standard input/output over socket detected", 3,
                "execution", "Unix Shell", "T1059.004", "attack-pattern--a9d4b653-6915-42af-98b2-5758c4ceee56",
                "A process has its standard input/output redirected to a socket. This behavior is the base of a Reverse Shell attack, which is when an interactive shell being invoked from a target machine back to the attacker's machine, giving it interactive control over the target. Adversaries may use a Reverse Shell to retain control over a compromised target while bypassing security measures like network firewalls.",
                &[]),
            Box::<native::StdioOverSocket>::default(),
        ),
        n(
            meta("TRC-1013", "k8s_api_connection", "Kubernetes API server connection detected", 1,
                "discovery", "", "", "",
                "A connection to the kubernetes API server was detected. The K8S API server is the brain of your K8S cluster, adversaries may try and communicate with the K8S API server to gather information/credentials, or even run more containers and laterally expand their grip on your systems.",
                &[]),
            Box::<native::K8sApiConnection>::default(),
        ),
        n(
            meta("TRC-1016", "illegitimate_shell", "Web server spawned a shell", 2,
                "initial-access", "Exploit Public-Facing Application", "T1190", "attack-pattern--3f886f2a-874f-4333-b794-aa6075009b1c",
                "A web-server program on your server spawned a shell program. Shell is the linux command-line program, web servers usually don't run shell programs, so this alert might indicate an adversary is exploiting a web server program to gain command execution on the server.",
                &[]),
            Box::<native::IllegitimateShell>::default(),
        ),
        n(
            meta("TRC-1023", "proc_mem_access", "Process memory access detected", 3,
                "credential-access", "Proc Filesystem", "T1003.007", "attack-pattern--3120b9fa-23b8-4500-ae73-09494f607b7d",
                "Another process's memory was accessed by reading /proc/<pid>/mem. Adversaries may read another process's memory to steal credentials or secrets it holds.",
                &[]),
            Box::new(native::ProcMem { write: false }),
        ),
        n(
            meta("TRC-1024", "proc_mem_code_injection", "Code injection detected through /proc/<pid>/mem file", 3,
                "privilege-escalation", "Proc Memory", "T1055.009", "attack-pattern--d201d4cc-214d-4a74-a1ba-b3fa09fd4591",
                "Possible code injection into another process was detected. Code injection is an exploitation technique used to run malicious code, adversaries may use it in order to execute a malicious payload or to gain persistence.",
                &[]),
            Box::new(native::ProcMem { write: true }),
        ),
        n(
            meta("TRC-1025", "process_vm_write_inject", "Code injection detected using process_vm_writev syscall", 3,
                "privilege-escalation", "Process Injection", "T1055", "attack-pattern--43e7dc91-05b2-474c-b9ac-2ed4fe101f4d",
                "Possible code injection into another process was detected. Code injection is an exploitation technique used to run malicious code, adversaries may use it in order to execute a malicious payload or to gain persistence.",
                &[]),
            Box::new(native::ProcessVmWrite),
        ),
    ]
}

fn builtin_event_id(id: &str) -> i64 {
    id.strip_prefix("TRC-10")
        .and_then(|n| n.parse::<i64>().ok())
        .map_or(6099, |n| 6000 + n)
}

/// Every built-in signature (bundled rules and Rust), sorted by ID number.
pub fn catalogue() -> Vec<Signature> {
    let mut out = Vec::new();
    let rules = rules::parse("built-in rules", TRACEE_RULES).expect("the bundled rules compile");
    for r in rules {
        out.push(Signature {
            event_id: builtin_event_id(&r.meta.id),
            meta: r.meta,
            kind: Kind::Rule,
            origin: "built-in".into(),
        });
    }
    for (m, _) in natives() {
        out.push(Signature {
            event_id: builtin_event_id(&m.id),
            meta: m,
            kind: Kind::Native,
            origin: "built-in".into(),
        });
    }
    out.sort_by_key(|s| s.event_id);
    out
}

/// Which signatures run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Selection {
    /// Every signature (and every user rule).
    #[default]
    All,
    /// None.
    None,
    /// These, by ID (`TRC-102`) or event name (`anti_debugging`).
    List(Vec<String>),
}

impl Selection {
    /// `all`, `none`, or a comma-separated list of IDs and names.
    pub fn parse(text: &str) -> Selection {
        match text.trim() {
            "all" => Selection::All,
            "none" => Selection::None,
            list => Selection::List(
                list.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
            ),
        }
    }

    fn wants(&self, m: &Meta) -> bool {
        match self {
            Selection::All => true,
            Selection::None => false,
            Selection::List(l) => l
                .iter()
                .any(|w| w.eq_ignore_ascii_case(&m.id) || *w == m.name),
        }
    }
}

/// What a [`Detector`] runs.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Which signatures.
    pub selection: Selection,
    /// User rules files: (name for errors, text).
    pub rule_files: Vec<(String, String)>,
}

/// A compiled rule and the signature it reports as.
struct RuleRun {
    sig: usize,
    rule: Rule,
}

#[derive(Debug, Clone)]
struct Pending {
    ts: u64,
    keys: Vec<String>,
}

/// At most this many first steps wait per process and rule.
const PENDING_PER_PROCESS: usize = 32;

#[derive(Clone, Copy)]
enum Target {
    /// A rule without a second step (no state).
    Rule(usize),
    /// A sequence rule (pending first steps in the state).
    Sequence(usize),
    /// A Rust signature without state.
    Native(usize),
    /// A Rust signature with per-process state.
    StateNative(usize),
}

impl Target {
    fn stateful(self) -> bool {
        matches!(self, Target::Sequence(_) | Target::StateNative(_))
    }
}

/// What the stateless signatures found in one event, computed by [`Shared::check`] (on any
/// thread) and completed by [`Detector::finish`] (in event order).
#[derive(Debug, Default)]
pub struct Hits {
    /// (position among the event's signatures, finding data)
    found: Vec<(usize, native::Data)>,
    /// A stateful signature reads this event.
    needs_state: bool,
}

impl Hits {
    /// True when [`Detector::finish`] must see the event: something was found, or a stateful
    /// signature reads it.
    pub fn needs_event(&self) -> bool {
        self.needs_state || !self.found.is_empty()
    }
}

/// The part of a [`Detector`] that holds no state: compiled rules, the stateless Rust
/// signatures and the routing. It is `Sync`, so several threads can [`Shared::check`] events
/// while one thread [`Detector::finish`]es them in order.
pub struct Shared {
    sigs: Vec<Signature>,
    rules: Vec<RuleRun>,
    natives: Vec<(usize, Box<dyn Native>)>,
    by_event: HashMap<String, Vec<Target>>,
    every_event: Vec<Target>,
    want: Want,
    prefs: Preferences,
    events: Vec<String>,
    /// For each event name some signature reads, the byte test its raw JSON lines must pass
    /// for any signature to need the event (see [`Shared::may_need`]).
    line_tests: FastMap<Box<[u8]>, Prefilter>,
}

/// The per-process state of the stateful signatures.
struct State {
    /// Pending first steps of each sequence rule, per process (host PID; 0 for host scope),
    /// by rule index (`None` for rules without a second step).
    pending: Vec<Option<ProcMap<Vec<Pending>>>>,
    natives: Vec<(usize, Box<dyn Native>)>,
}

/// The detection engine: feed it events in time order, it returns findings.
pub struct Detector {
    shared: Shared,
    state: State,
    findings: u64,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("signatures", &self.shared.sigs.len())
            .field("events", &self.shared.events)
            .finish()
    }
}

/// A configuration that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A rules file is malformed.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// `--signatures` names something that does not exist.
    #[error("unknown signature {0:?} (osprey detect --list shows the catalogue)")]
    Unknown(String),
    /// A user rule reuses a built-in ID.
    #[error("{file}: rule {id} has the ID of a built-in signature")]
    Duplicate {
        /// The rules file.
        file: String,
        /// The ID.
        id: String,
    },
}

impl Detector {
    /// Builds the detector: the selected built-in signatures and the user rules.
    pub fn new(config: &Config) -> Result<Detector, ConfigError> {
        let mut user = Vec::new();
        for (file, text) in &config.rule_files {
            for r in rules::parse(file, text)? {
                user.push(r);
            }
        }
        let builtin_rules =
            rules::parse("built-in rules", TRACEE_RULES).expect("the bundled rules compile");
        let all_ids: Vec<(String, String)> = catalogue()
            .into_iter()
            .map(|s| (s.meta.id, s.meta.name))
            .collect();
        for r in &user {
            if all_ids.iter().any(|(id, _)| *id == r.meta.id) {
                return Err(ConfigError::Duplicate {
                    file: r.origin.clone(),
                    id: r.meta.id.clone(),
                });
            }
        }
        if let Selection::List(list) = &config.selection {
            for w in list {
                let known = all_ids
                    .iter()
                    .any(|(id, name)| w.eq_ignore_ascii_case(id) || w == name)
                    || user
                        .iter()
                        .any(|r| w.eq_ignore_ascii_case(&r.meta.id) || *w == r.meta.name);
                if !known {
                    return Err(ConfigError::Unknown(w.clone()));
                }
            }
        }
        let mut d = Shared {
            sigs: Vec::new(),
            rules: Vec::new(),
            natives: Vec::new(),
            by_event: HashMap::new(),
            every_event: Vec::new(),
            want: Want::none(),
            prefs: Preferences::default(),
            events: Vec::new(),
            line_tests: FastMap::default(),
        };
        let mut state = State {
            pending: Vec::new(),
            natives: Vec::new(),
        };
        let mut rules: Vec<(i64, Rule, String)> = builtin_rules
            .into_iter()
            .map(|r| (builtin_event_id(&r.meta.id), r, "built-in".to_string()))
            .collect();
        for (i, r) in user.into_iter().enumerate() {
            let origin = r.origin.clone();
            rules.push((FIRST_USER_ID + i as i64, r, origin));
        }
        for (event_id, rule, origin) in rules {
            if !config.selection.wants(&rule.meta) {
                continue;
            }
            for f in rule.filter.fields() {
                d.want.field(f);
            }
            if let Some(then) = &rule.then {
                for f in then.filter.fields() {
                    d.want.field(f);
                }
                for (a, b) in &then.same {
                    d.want.field(*a);
                    d.want.field(*b);
                }
            }
            let target = if rule.then.is_some() {
                state.pending.push(Some(ProcMap::new(4096)));
                Target::Sequence(d.rules.len())
            } else {
                state.pending.push(None);
                Target::Rule(d.rules.len())
            };
            d.route(&rule.meta.events, target);
            d.sigs.push(Signature {
                meta: rule.meta.clone(),
                event_id,
                kind: Kind::Rule,
                origin,
            });
            d.rules.push(RuleRun {
                sig: d.sigs.len() - 1,
                rule,
            });
        }
        for (m, imp) in natives() {
            if !config.selection.wants(&m) {
                continue;
            }
            let sig = d.sigs.len();
            let target = if imp.stateful() {
                Target::StateNative(state.natives.len())
            } else {
                Target::Native(d.natives.len())
            };
            d.route(&m.events, target);
            for e in imp.optional_events() {
                d.by_event.entry(e.to_string()).or_default().push(target);
            }
            if imp.stateful() {
                state.natives.push((sig, imp));
            } else {
                d.natives.push((sig, imp));
            }
            d.sigs.push(Signature {
                event_id: builtin_event_id(&m.id),
                meta: m,
                kind: Kind::Native,
                origin: "built-in".into(),
            });
        }
        d.events.sort();
        d.events.dedup();
        d.line_tests = d.line_tests();
        Ok(Detector {
            shared: d,
            state,
            findings: 0,
        })
    }

    /// The stateless part, to [`Shared::check`] events on other threads.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The signatures that run, with the event IDs of their findings.
    pub fn signatures(&self) -> &[Signature] {
        &self.shared.sigs
    }

    /// The events the signatures read (sorted): `osprey trace` enables them.
    pub fn events(&self) -> &[String] {
        &self.shared.events
    }

    /// True when no signature runs.
    pub fn is_empty(&self) -> bool {
        self.shared.sigs.is_empty()
    }

    /// Findings returned so far.
    pub fn findings(&self) -> u64 {
        self.findings
    }

    /// Looks at one event (events must come in time order, as a recording or the tracer gives
    /// them) and returns the findings it triggers. Findings themselves are never input.
    /// The same as [`Shared::check`] followed by [`Detector::finish`].
    pub fn on_event(&mut self, ev: &Event<'_>) -> Vec<Event<'static>> {
        match self.shared.check(ev) {
            Some(hits) => self.finish(ev, hits),
            None => Vec::new(),
        }
    }

    /// Completes [`Shared::check`]'s `hits` for `ev`: runs the stateful signatures (events must
    /// come in time order) and builds the findings, in the order of the signatures.
    pub fn finish(&mut self, ev: &Event<'_>, hits: Hits) -> Vec<Event<'static>> {
        let (shared, mut finisher) = self.split();
        finisher.finish(shared, ev, hits)
    }

    /// The stateless part (for [`Shared::check`] on worker threads) and the stateful one (for
    /// [`Finisher::finish`] in event order), borrowed at once.
    pub fn split(&mut self) -> (&Shared, Finisher<'_>) {
        (
            &self.shared,
            Finisher {
                state: &mut self.state,
                findings: &mut self.findings,
            },
        )
    }
}

/// The stateful half of a [`Detector`] (see [`Detector::split`]).
pub struct Finisher<'d> {
    state: &'d mut State,
    findings: &'d mut u64,
}

impl Finisher<'_> {
    /// [`Detector::finish`]; `shared` is the other half of the same [`Detector::split`].
    pub fn finish(&mut self, shared: &Shared, ev: &Event<'_>, hits: Hits) -> Vec<Event<'static>> {
        let mut out = Vec::new();
        if !hits.needs_event() {
            return out;
        }
        let state = &mut *self.state;
        let mut found = hits.found.into_iter().peekable();
        let mut tree: Option<Tree<'_>> = None;
        for (pos, t) in shared.targets(ev).enumerate() {
            let mut take = |sig: usize| match found.peek() {
                Some((p, _)) if *p == pos => found.next().map(|(_, d)| (sig, d)),
                _ => None,
            };
            let hit: Option<(usize, native::Data)> = match t {
                Target::Rule(i) => take(shared.rules[i].sig),
                Target::Native(i) => take(shared.natives[i].0),
                Target::StateNative(i) => {
                    let (sig, imp) = &mut state.natives[i];
                    imp.on_event(ev).map(|d| (*sig, d))
                }
                Target::Sequence(i) => {
                    let tree = tree.get_or_insert_with(|| shared.dissect(ev));
                    let run = &shared.rules[i];
                    let pending = state.pending[i].as_mut().expect("a sequence rule's state");
                    run_sequence(run, pending, ev, tree).then(|| (run.sig, Vec::new()))
                }
            };
            if let Some((sig, data)) = hit {
                let s = &shared.sigs[sig];
                out.push(finding::build(&s.meta, s.event_id, ev, data));
            }
        }
        if ev.event_name == "sched_process_exit" && process_exited(ev) {
            let pid = ev.host_process_id;
            for (_, imp) in state.natives.iter_mut() {
                imp.forget(pid);
            }
            for p in state.pending.iter_mut().flatten() {
                p.remove(pid);
            }
        }
        *self.findings += out.len() as u64;
        out
    }
}

impl Shared {
    fn route(&mut self, events: &[String], target: Target) {
        if events.is_empty() {
            self.every_event.push(target);
            return;
        }
        for e in events {
            self.events.push(e.clone());
            self.by_event.entry(e.clone()).or_default().push(target);
        }
    }

    /// The byte test of the lines of each event name some signature reads: a line passes when
    /// a stateless signature that reads its event may fire on it (its filter's prefilter, or
    /// a Rust signature's [`Native::necessary`] one), or a stateful one reads it at all.
    fn line_tests(&self) -> FastMap<Box<[u8]>, Prefilter> {
        let test = |t: &Target| match *t {
            Target::Rule(i) => self.rules[i].rule.filter.event_prefilter(),
            Target::Native(i) => self.natives[i]
                .1
                .necessary()
                .map_or_else(Prefilter::all, |f| {
                    osprey_filter::Filter::compile(f, &osprey_filter::Macros::new())
                        .expect("a Rust signature's necessary filter compiles")
                        .event_prefilter()
                }),
            Target::Sequence(_) | Target::StateNative(_) => Prefilter::all(),
        };
        let mut tests: FastMap<Box<[u8]>, Prefilter> = self
            .by_event
            .iter()
            .map(|(name, targets)| {
                let name = name.as_bytes();
                (
                    name.into(),
                    Prefilter::any(targets.iter().map(test)).for_event(name),
                )
            })
            .collect();
        // Every process exit ends the state of the stateful signatures (`Finisher::finish`).
        tests.insert(b"sched_process_exit"[..].into(), Prefilter::all());
        tests
    }

    /// False when no signature needs the event of this raw JSON line: none reads its event, or
    /// none can fire on it and no stateful one reads it. A reader skips such lines before it
    /// parses them; [`Shared::check`] of the parsed event would find nothing.
    pub fn may_need(&self, json_line: &[u8]) -> bool {
        if !self.every_event.is_empty() {
            return true;
        }
        match Prefilter::event_name(json_line) {
            // A name with an escape is not the name in `by_event`'s spelling.
            Some(name) if !name.contains(&b'\\') => self
                .line_tests
                .get(name)
                .is_some_and(|t| t.may_match(json_line)),
            _ => true,
        }
    }

    /// The signatures that read `ev`, in a fixed order.
    fn targets<'s>(&'s self, ev: &Event<'_>) -> impl Iterator<Item = Target> + 's {
        self.by_event
            .get(ev.event_name.as_ref())
            .into_iter()
            .flatten()
            .chain(self.every_event.iter())
            .copied()
    }

    fn dissect<'a>(&'a self, ev: &'a Event<'a>) -> Tree<'a> {
        let mut tree = Tree::new(&self.want);
        osprey_dissect::event::dissect(ev, None, &self.prefs, &mut tree);
        tree
    }

    /// Runs the signatures that need no state on `ev` (any thread, any order); `None` when no
    /// signature reads it, so [`Detector::finish`] need not see it.
    pub fn check(&self, ev: &Event<'_>) -> Option<Hits> {
        if ev.is_signature() || self.sigs.is_empty() {
            return None;
        }
        let exit = ev.event_name == "sched_process_exit";
        let mut hits = Hits {
            needs_state: exit,
            ..Hits::default()
        };
        let mut any = exit;
        let mut tree: Option<Tree<'_>> = None;
        for (pos, t) in self.targets(ev).enumerate() {
            any = true;
            if t.stateful() {
                hits.needs_state = true;
                continue;
            }
            let data = match t {
                Target::Rule(i) => {
                    let tree = tree.get_or_insert_with(|| self.dissect(ev));
                    self.rules[i].rule.filter.matches(tree).then(Vec::new)
                }
                Target::Native(i) => self.natives[i].1.check(ev),
                Target::Sequence(_) | Target::StateNative(_) => None,
            };
            if let Some(d) = data {
                hits.found.push((pos, d));
            }
        }
        any.then_some(hits)
    }
}

/// True when a `sched_process_exit` ends the whole process, not one thread.
fn process_exited(ev: &Event<'_>) -> bool {
    match ev.arg("process_group_exit").map(|a| &a.value) {
        Some(v) => v.as_bool().unwrap_or(false),
        None => ev.host_thread_id == ev.host_process_id,
    }
}

/// A value as the key of a sequence's equality test.
fn key_text(v: &FieldValue<'_>) -> String {
    match v {
        FieldValue::Str(s) => s.to_string(),
        FieldValue::Int(i) => i.to_string(),
        FieldValue::UInt(u) => u.to_string(),
        FieldValue::Bool(b) => b.to_string(),
        FieldValue::AbsTime(t) => t.to_string(),
        other => format!("{other:?}"),
    }
}

fn first_text(tree: &Tree<'_>, field: osprey_field::FieldId) -> Option<String> {
    let mut out = None;
    tree.any_value(field, &mut |v| {
        out = Some(key_text(v));
        true
    });
    out
}

/// Runs a sequence rule on one event; true when its second step completes a first.
fn run_sequence(
    run: &RuleRun,
    pending_by_process: &mut ProcMap<Vec<Pending>>,
    ev: &Event<'_>,
    tree: &Tree<'_>,
) -> bool {
    let Some(then) = &run.rule.then else {
        return false;
    };
    let key = match then.scope {
        rules::Scope::Process => ev.host_process_id,
        rules::Scope::Host => 0,
    };
    let ts = ev.timestamp;
    let mut fired = false;
    if then.filter.matches(tree) {
        let keys: Option<Vec<String>> = then
            .same
            .iter()
            .map(|(_, b)| first_text(tree, *b))
            .collect();
        if let (Some(keys), Some(pending)) = (keys, pending_by_process.get_mut(key)) {
            pending.retain(|p| ts.saturating_sub(p.ts) <= then.within_ns);
            if let Some(i) = pending.iter().position(|p| p.ts <= ts && p.keys == keys) {
                pending.remove(i);
                fired = true;
            }
        }
    }
    if !fired && run.rule.filter.matches(tree) {
        let keys: Option<Vec<String>> = then
            .same
            .iter()
            .map(|(a, _)| first_text(tree, *a))
            .collect();
        if let Some(keys) = keys {
            let within = then.within_ns;
            let pending = pending_by_process.entry(key, Vec::new);
            pending.retain(|p| ts.saturating_sub(p.ts) <= within && p.keys != keys);
            if pending.len() >= PENDING_PER_PROCESS {
                pending.remove(0);
            }
            pending.push(Pending { ts, keys });
        }
    }
    fired
}

impl Config {
    /// The configuration of `--signatures SELECTION` and `-R FILE`s: reads the rules files
    /// (an unreadable one is an error naming it).
    pub fn load(
        selection: Option<&str>,
        rule_files: &[std::path::PathBuf],
    ) -> Result<Config, ConfigError> {
        let mut files = Vec::new();
        for path in rule_files {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| RuleError {
                file: name.clone(),
                line: None,
                reason: format!("cannot read the rules file: {e}"),
            })?;
            files.push((name, text));
        }
        Ok(Config {
            selection: selection.map(Selection::parse).unwrap_or_default(),
            rule_files: files,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stateless_half_is_shared_between_threads() {
        fn check<T: Send + Sync>() {}
        check::<Shared>();
        check::<Hits>();
        check::<Detector>();
    }

    fn open_line(path: &str, flags: i64) -> String {
        format!(
            r#"{{"timestamp":1,"processId":7,"hostProcessId":7,"processName":"sh","eventId":"711","eventName":"security_file_open","args":[{{"name":"pathname","type":"const char*","value":"{path}"}},{{"name":"flags","type":"int","value":{flags}}}]}}"#
        )
    }

    #[test]
    fn lines_no_signature_needs_are_skipped_unparsed() {
        let d = Detector::new(&Config::default()).unwrap();
        let s = d.shared();
        assert!(!s.may_need(open_line("/etc/passwd", 0).as_bytes()));
        assert!(!s.may_need(open_line("/var/log/syslog", 1).as_bytes()));
        assert!(s.may_need(open_line("/etc/crontab", 1).as_bytes()));
        assert!(s.may_need(open_line("/proc/42/mem", 0).as_bytes()));
        assert!(
            s.may_need(open_line("/etc/pass\\u0077d", 0).as_bytes()),
            "escapes"
        );
        assert!(!s.may_need(br#"{"eventName":"getpid","args":[]}"#));
        assert!(s.may_need(br#"{"eventName":"sched_process_exit","args":[]}"#));
        assert!(s.may_need(br#"{"eventName":"sched_process_exec","args":[]}"#));
        assert!(s.may_need(br#"{"name":"security_file_open"}"#), "v1beta1");
    }

    #[test]
    fn a_skipped_line_has_no_findings() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tracee");
        let d = Detector::new(&Config::default()).unwrap();
        let s = d.shared();
        let mut lines: Vec<String> = [
            "/etc/crontab",
            "/etc/cron.d/x",
            "/etc/sudoers.d/a",
            "/etc/rc3.d/S1",
            "/usr/lib/ld-linux.so.2",
            "/tmp/notify_on_release",
            "/proc/1/mem",
            "/proc/kcore",
            "/etc/passwd",
        ]
        .iter()
        .flat_map(|p| [open_line(p, 0), open_line(p, 2)])
        .collect();
        for f in ["tracee-docs-v0.23.jsonl", "tracee-action-trace.jsonl"] {
            let text = std::fs::read_to_string(dir.join(f)).unwrap();
            lines.extend(text.lines().map(str::to_string));
        }
        let mut skipped = 0;
        for line in &lines {
            let Ok(ev) = osprey_event::parse_event(line.as_bytes()) else {
                continue;
            };
            let hits = s.check(&ev).filter(|h| h.needs_event());
            if !s.may_need(line.as_bytes()) {
                skipped += 1;
                assert!(hits.is_none(), "skipped a line a signature needs: {line}");
            }
        }
        assert!(skipped > 10, "{skipped} skipped");
    }
}
