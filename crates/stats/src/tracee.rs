//! Traceeshark's statistics (analyzer.md §10): event counts, file types and the process trees,
//! each global or per container.

use osprey_dissect::prefs::PidFormat;
use osprey_field::fields::tracee as t;

use crate::process::{Parent, ProcId, ProcessModel};
use crate::spec::{TreeVariant, ViewKind, ViewSpec};
use crate::stats_tree::{self, StatNode, StatsTree, StatsTreeResult, ROOT};
use crate::{Cx, Rec, Setup, Span, View, ViewResult};
use osprey_field::hash::FastMap;

/// The top node of an event in a per-container view: its container, or `Host`.
fn container_node(tree: &mut StatsTree, rec: &Rec<'_>) -> usize {
    match rec.str(t::CONTAINER_COL).filter(|c| !c.is_empty()) {
        Some(label) => tree.tick(label, ROOT),
        None => {
            let host = tree.keyed(ROOT, HOST, "Host");
            tree.keep_on_top(host);
            tree.tick_id(host);
            host
        }
    }
}

fn title(view: &str, per_container: bool) -> String {
    format!(
        "Tracee/{view}/{}",
        if per_container {
            "Per Container"
        } else {
            "Global"
        }
    )
}

/// The severity node of a signature.
fn severity_name(rec: &Rec<'_>) -> String {
    match rec.int(t::METADATA_SEVERITY) {
        Some(n) => format!("Severity {n}"),
        None => "Other Severities".to_string(),
    }
}

/// Keys of the `Events` and `Signatures` nodes (beyond any event name's number).
const EVENTS: u64 = 1 << 32;
const SIGNATURES: u64 = (1 << 32) + 1;
/// Key of the `Host` node of per-container views.
const HOST: u64 = (1 << 32) + 2;

/// `Events / <name>` and `Signatures / Severity N / <name>`.
pub(crate) struct EventCounts {
    spec: ViewSpec,
    per_container: bool,
    bit: Option<u8>,
    tree: StatsTree,
}

impl EventCounts {
    pub(crate) fn new(
        spec: &ViewSpec,
        per_container: bool,
        bit: Option<u8>,
        s: &mut Setup<'_>,
    ) -> EventCounts {
        for f in [
            t::TRACEE,
            t::EVENT_NAME,
            t::IS_SIGNATURE,
            t::METADATA_SEVERITY,
            t::CONTAINER_COL,
        ] {
            s.read(f);
        }
        s.number_event_names();
        EventCounts {
            spec: spec.clone(),
            per_container,
            bit,
            tree: StatsTree::new(),
        }
    }
}

impl View for EventCounts {
    fn observe(&mut self, rec: &Rec<'_>, cx: &Cx<'_>) {
        if !rec.is_event() || !rec.counts(self.bit) {
            return;
        }
        let name = rec.event_name().unwrap_or("");
        let st = &mut self.tree;
        st.set_time(cx.rel_ms);
        let top = if self.per_container {
            container_node(st, rec)
        } else {
            ROOT
        };
        let parent = if rec.bool(t::IS_SIGNATURE).unwrap_or(false) {
            let sigs = st.keyed(top, SIGNATURES, "Signatures");
            st.tick_id(sigs);
            st.tick(&severity_name(rec), sigs)
        } else {
            let events = st.keyed(top, EVENTS, "Events");
            st.tick_id(events);
            events
        };
        let node = match cx.name_id {
            Some(id) => st.keyed(parent, u64::from(id), name),
            None => st.node(name, parent),
        };
        st.tick_id(node);
    }

    fn finish(&mut self, _: Option<&ProcessModel>, _: &Span) -> ViewResult {
        ViewResult::StatsTree(StatsTreeResult {
            view: self.spec.text.clone(),
            title: title("Event Counts", self.per_container),
            first_column: "Event Name".into(),
            filter: self.spec.filter.clone(),
            elapsed_ms: self.tree.elapsed_ms(),
            nodes: self.tree.finish(),
        })
    }
}

/// `magic_write` by file type (or extension), leaves the paths.
pub(crate) struct FileTypes {
    spec: ViewSpec,
    per_container: bool,
    bit: Option<u8>,
    pathname: osprey_field::FieldId,
    tree: StatsTree,
}

impl FileTypes {
    pub(crate) fn new(
        spec: &ViewSpec,
        per_container: bool,
        bit: Option<u8>,
        s: &mut Setup<'_>,
    ) -> FileTypes {
        let pathname = s.args.write_pathname;
        for f in [
            t::TRACEE,
            t::EVENT_NAME,
            t::MAGIC_WRITE_FILE_TYPE,
            t::CONTAINER_COL,
            pathname,
        ] {
            s.read(f);
        }
        FileTypes {
            spec: spec.clone(),
            per_container,
            bit,
            pathname,
            tree: StatsTree::new(),
        }
    }
}

/// The extension of a path's file name, with its dot (`.txt`), as Traceeshark groups unknown
/// types.
fn extension(path: &str) -> Option<&str> {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.rfind('.').map(|i| &base[i..])
}

impl View for FileTypes {
    fn observe(&mut self, rec: &Rec<'_>, cx: &Cx<'_>) {
        if !rec.is_event() || rec.event_name() != Some("magic_write") || !rec.counts(self.bit) {
            return;
        }
        let st = &mut self.tree;
        st.set_time(cx.rel_ms);
        let top = if self.per_container {
            container_node(st, rec)
        } else {
            ROOT
        };
        let path = rec.str(self.pathname);
        let node = match rec.str(t::MAGIC_WRITE_FILE_TYPE) {
            Some(ft) => st.tick(ft, top),
            None => match path.and_then(extension) {
                Some(ext) => {
                    let other = st.tick("Other Extensions", top);
                    st.tick(ext, other)
                }
                None => st.tick("Unknown", top),
            },
        };
        if let Some(p) = path {
            st.tick(p, node);
        }
    }

    fn finish(&mut self, _: Option<&ProcessModel>, _: &Span) -> ViewResult {
        ViewResult::StatsTree(StatsTreeResult {
            view: self.spec.text.clone(),
            title: title("File Types", self.per_container),
            first_column: "File Type".into(),
            filter: self.spec.filter.clone(),
            elapsed_ms: self.tree.elapsed_ms(),
            nodes: self.tree.finish(),
        })
    }
}

/// The access mode of `security_file_open` flags, as Traceeshark shows it.
pub(crate) fn open_mode(rec: &Rec<'_>, flags: osprey_field::FieldId) -> &'static str {
    if let Some(s) = rec.str(flags) {
        if s.contains("O_RDWR") {
            return "RW";
        }
        if s.contains("O_WRONLY") {
            return "WO";
        }
        if let Ok(n) = s.trim().parse::<i64>() {
            return mode_bits(n);
        }
        return "RO";
    }
    rec.int(flags).map_or("RO", mode_bits)
}

fn mode_bits(n: i64) -> &'static str {
    match n & 3 {
        1 => "WO",
        2 | 3 => "RW",
        _ => "RO",
    }
}

/// `Connect to <addr> port <port>`, `Bind to ...`, `Accept on ...` of a socket event, or `None`
/// when the preferences leave the address out of network statistics.
pub(crate) fn socket_leaf(rec: &Rec<'_>, prefs: &osprey_dissect::Preferences) -> Option<String> {
    let verb = match rec.event_name()? {
        "security_socket_connect" => "Connect to",
        "security_socket_bind" => "Bind to",
        "security_socket_accept" => "Accept on",
        _ => return None,
    };
    let family = rec.str(t::SOCKADDR_SA_FAMILY).unwrap_or("");
    let (addr, port) = match family {
        "AF_INET" => (rec.str(t::SOCKADDR_SIN_ADDR), rec.str(t::SOCKADDR_SIN_PORT)),
        "AF_INET6" => (
            rec.str(t::SOCKADDR_SIN6_ADDR),
            rec.str(t::SOCKADDR_SIN6_PORT),
        ),
        "AF_UNIX" => {
            let path = rec.str(t::SOCKADDR_SUN_PATH).unwrap_or("");
            if !prefs.include_unix_sockets
                || (prefs.exclude_nscd_socket && path == "/var/run/nscd/socket")
            {
                return None;
            }
            return Some(format!("{verb} {path}"));
        }
        _ => return None,
    };
    let addr = addr?;
    Some(match port {
        Some(p) => format!("{verb} {addr} port {p}"),
        None => format!("{verb} {addr}"),
    })
}

/// A field's name in filters.
fn abbrev(field: osprey_field::FieldId) -> String {
    osprey_field::registry().info(field).abbrev.to_string()
}

/// `FIELD == "value"`, or for an empty value "the field is absent or empty" (what the leaves
/// show for an absent value).
fn text_is(field: osprey_field::FieldId, value: &str) -> String {
    let name = abbrev(field);
    if value.is_empty() {
        format!("!({name} != \"\")")
    } else {
        format!("{name} == {}", osprey_filter::string_literal(value))
    }
}

/// The filter of the events [`socket_leaf`] gives the same leaf as `rec`'s (when it gives one).
fn socket_filter(rec: &Rec<'_>) -> String {
    let event = rec.event_name().unwrap_or("");
    let family = rec.str(t::SOCKADDR_SA_FAMILY).unwrap_or("");
    let mut f = format!(
        "{} && {}",
        text_is(t::EVENT_NAME, event),
        text_is(t::SOCKADDR_SA_FAMILY, family)
    );
    let fields: &[osprey_field::FieldId] = match family {
        "AF_INET" => &[t::SOCKADDR_SIN_ADDR, t::SOCKADDR_SIN_PORT],
        "AF_INET6" => &[t::SOCKADDR_SIN6_ADDR, t::SOCKADDR_SIN6_PORT],
        _ => &[t::SOCKADDR_SUN_PATH],
    };
    for &field in fields {
        match rec.str(field) {
            Some(v) => f += &format!(" && {}", text_is(field, v)),
            None => f += &format!(" && !{}", abbrev(field)),
        }
    }
    f
}

/// The filter of the signatures [`signature_leaf`] gives the same leaf as `rec`'s.
fn signature_filter(rec: &Rec<'_>) -> String {
    let by_name = match rec
        .str(t::METADATA_SIGNATURE_NAME)
        .filter(|n| !n.is_empty())
    {
        Some(n) => text_is(t::METADATA_SIGNATURE_NAME, n),
        None => format!(
            "{} && {}",
            text_is(t::METADATA_SIGNATURE_NAME, ""),
            text_is(t::EVENT_NAME, rec.event_name().unwrap_or(""))
        ),
    };
    let severity = match rec.int(t::METADATA_SEVERITY) {
        Some(n) => format!("{} == {n}", abbrev(t::METADATA_SEVERITY)),
        None => format!("!{}", abbrev(t::METADATA_SEVERITY)),
    };
    format!(
        "{} == 1 && {by_name} && {severity}",
        abbrev(t::IS_SIGNATURE)
    )
}

/// The leaf a signature adds: `(Severity N): <signature name>`.
pub(crate) fn signature_leaf(rec: &Rec<'_>) -> String {
    let name = rec
        .str(t::METADATA_SIGNATURE_NAME)
        .filter(|n| !n.is_empty())
        .or_else(|| rec.event_name())
        .unwrap_or("");
    match rec.int(t::METADATA_SEVERITY) {
        Some(n) => format!("(Severity {n}): {name}"),
        None => format!("(Severity ?): {name}"),
    }
}

/// A leaf under a process: its count, and the filter of its events (with the process's;
/// `None` when the results leave filters out).
#[derive(Debug)]
struct Leaf {
    count: u64,
    filter: Option<String>,
}

/// The leaves of a tree's processes, by process: each a leaf text (an index of `texts`) and
/// its count.
struct GroupedLeaves {
    texts: Vec<Box<str>>,
    of: FastMap<ProcId, Vec<(u32, Leaf)>>,
}

impl GroupedLeaves {
    /// Groups the leaves counted by (process, text) by process.
    fn of(ids: FastMap<Box<str>, u32>, counted: FastMap<(ProcId, u32), Leaf>) -> GroupedLeaves {
        let mut texts = vec![Box::<str>::default(); ids.len()];
        for (text, t) in ids {
            texts[t as usize] = text;
        }
        let mut of: FastMap<ProcId, Vec<(u32, Leaf)>> = FastMap::default();
        for ((pid, t), leaf) in counted {
            of.entry(pid).or_default().push((t, leaf));
        }
        GroupedLeaves { texts, of }
    }
}

/// Traceeshark's process trees, over the process model. The global and per-container forms
/// of one variant and filter count the same events: one view counts them for both
/// ([`View::share`]), each output laying the tree out its way.
pub(crate) struct ProcessTree {
    /// The specs shown, and whether each is per container.
    outputs: Vec<(ViewSpec, bool)>,
    variant: TreeVariant,
    bit: Option<u8>,
    pid_format: PidFormat,
    prefs: osprey_dissect::Preferences,
    detail: crate::Detail,
    args: crate::fields::Args,
    own: Vec<u64>,
    /// Each distinct leaf text once, however many processes show it: looking a text up in
    /// this small map stays in the cache, where a map per process did not.
    leaf_ids: FastMap<Box<str>, u32>,
    /// The leaves of each process, by process and leaf text.
    leaves: FastMap<(ProcId, u32), Leaf>,
    /// The same leaves grouped by process, once the events are all in.
    grouped: Option<GroupedLeaves>,
    first: Option<f64>,
    last: f64,
    leaf: String,
}

impl ProcessTree {
    pub(crate) fn new(
        spec: &ViewSpec,
        variant: TreeVariant,
        per_container: bool,
        bit: Option<u8>,
        s: &mut Setup<'_>,
    ) -> ProcessTree {
        let a = s.args;
        let fields: &[osprey_field::FieldId] = match variant {
            TreeVariant::Standard => &[],
            TreeVariant::OpenedFiles => &[a.open_pathname, a.open_syscall_pathname, a.open_flags],
            TreeVariant::WrittenFiles => &[a.write_pathname, t::MAGIC_WRITE_FILE_TYPE],
            TreeVariant::Network => &[
                t::SOCKADDR_SA_FAMILY,
                t::SOCKADDR_SIN_ADDR,
                t::SOCKADDR_SIN_PORT,
                t::SOCKADDR_SIN6_ADDR,
                t::SOCKADDR_SIN6_PORT,
                t::SOCKADDR_SUN_PATH,
            ],
            TreeVariant::Signatures => &[
                t::IS_SIGNATURE,
                t::METADATA_SEVERITY,
                t::METADATA_SIGNATURE_NAME,
            ],
        };
        for f in fields {
            s.read(*f);
        }
        ProcessTree {
            outputs: vec![(spec.clone(), per_container)],
            variant,
            bit,
            pid_format: s.prefs.pid_format,
            prefs: s.prefs.clone(),
            detail: s.detail,
            args: a,
            own: Vec::new(),
            leaf_ids: FastMap::default(),
            leaves: FastMap::default(),
            grouped: None,
            first: None,
            last: 0.0,
            leaf: String::new(),
        }
    }

    /// The leaf an event adds under its process, for the variants that have leaves; `None`
    /// when the event is not one this tree counts.
    fn leaf(&mut self, rec: &Rec<'_>) -> Option<bool> {
        use std::fmt::Write as _;
        let name = rec.event_name().unwrap_or("");
        self.leaf.clear();
        match self.variant {
            TreeVariant::Standard => return Some(false),
            TreeVariant::OpenedFiles => {
                if name != "security_file_open" {
                    return None;
                }
                let a = self.args;
                let path = rec
                    .str(a.open_pathname)
                    .filter(|p| !p.is_empty())
                    .or_else(|| rec.str(a.open_syscall_pathname))
                    .unwrap_or("");
                let _ = write!(self.leaf, "({}): {path}", open_mode(rec, a.open_flags));
            }
            TreeVariant::WrittenFiles => {
                if name != "magic_write" {
                    return None;
                }
                let path = rec.str(self.args.write_pathname).unwrap_or("");
                match rec.str(t::MAGIC_WRITE_FILE_TYPE) {
                    Some(ft) => {
                        let _ = write!(self.leaf, "{ft} file: {path}");
                    }
                    None => {
                        let _ = write!(self.leaf, "Unknown file type: {path}");
                    }
                }
            }
            TreeVariant::Network => {
                self.leaf = socket_leaf(rec, &self.prefs)?;
            }
            TreeVariant::Signatures => {
                if !rec.bool(t::IS_SIGNATURE).unwrap_or(false) {
                    return None;
                }
                self.leaf = signature_leaf(rec);
            }
        }
        Some(true)
    }
}

impl ProcessTree {
    /// The filter of the events that make the same leaf as `rec` (the process's own filter
    /// is added by whoever applies it).
    fn leaf_filter(&self, rec: &Rec<'_>) -> String {
        let a = self.args;
        match self.variant {
            TreeVariant::Standard => String::new(),
            TreeVariant::OpenedFiles => {
                let path = match rec.str(a.open_pathname).filter(|p| !p.is_empty()) {
                    Some(p) => text_is(a.open_pathname, p),
                    None => format!(
                        "{} && {}",
                        text_is(a.open_pathname, ""),
                        text_is(
                            a.open_syscall_pathname,
                            rec.str(a.open_syscall_pathname).unwrap_or("")
                        )
                    ),
                };
                let mut f = format!("{} && {path}", text_is(t::EVENT_NAME, "security_file_open"));
                // The access mode, when the flags are names (numeric flags: any mode).
                if let Some(flags) = rec
                    .str(a.open_flags)
                    .filter(|s| s.trim().parse::<i64>().is_err())
                {
                    let name = abbrev(a.open_flags);
                    let (rdwr, wronly) = (flags.contains("O_RDWR"), flags.contains("O_WRONLY"));
                    f += &match (rdwr, wronly) {
                        (true, _) => format!(" && {name} contains \"O_RDWR\""),
                        (false, true) => format!(" && {name} contains \"O_WRONLY\" && !({name} contains \"O_RDWR\")"),
                        (false, false) => format!(" && {name} && !({name} contains \"O_RDWR\") && !({name} contains \"O_WRONLY\")"),
                    };
                }
                f
            }
            TreeVariant::WrittenFiles => {
                let path = rec.str(a.write_pathname).unwrap_or("");
                let ft = match rec.str(t::MAGIC_WRITE_FILE_TYPE) {
                    Some(ft) => text_is(t::MAGIC_WRITE_FILE_TYPE, ft),
                    None => format!("!{}", abbrev(t::MAGIC_WRITE_FILE_TYPE)),
                };
                format!(
                    "{} && {} && {ft}",
                    text_is(t::EVENT_NAME, "magic_write"),
                    text_is(a.write_pathname, path)
                )
            }
            TreeVariant::Network => socket_filter(rec),
            TreeVariant::Signatures => signature_filter(rec),
        }
    }
}

impl View for ProcessTree {
    fn observe(&mut self, rec: &Rec<'_>, cx: &Cx<'_>) {
        let Some(pid) = cx.process else {
            return;
        };
        if !rec.counts(self.bit) {
            return;
        }
        let Some(has_leaf) = self.leaf(rec) else {
            return;
        };
        self.first.get_or_insert(cx.rel_ms);
        self.last = cx.rel_ms;
        let i = pid as usize;
        if self.own.len() <= i {
            self.own.resize(i + 1, 0);
        }
        self.own[i] += 1;
        if has_leaf {
            let text = match self.leaf_ids.get(self.leaf.as_str()) {
                Some(&t) => t,
                None => {
                    let t = self.leaf_ids.len() as u32;
                    self.leaf_ids.insert(self.leaf.as_str().into(), t);
                    t
                }
            };
            match self.leaves.get_mut(&(pid, text)) {
                Some(l) => l.count += 1,
                None => {
                    let filter =
                        (self.detail == crate::Detail::Full).then(|| self.leaf_filter(rec));
                    self.leaves.insert((pid, text), Leaf { count: 1, filter });
                }
            }
        }
    }

    fn finish(&mut self, model: Option<&ProcessModel>, span: &Span) -> ViewResult {
        self.finish_output(0, model, span)
    }

    fn share(&mut self, spec: &ViewSpec) -> Option<usize> {
        let ViewKind::ProcessTree {
            variant,
            per_container,
        } = spec.kind
        else {
            return None;
        };
        if variant != self.variant || spec.filter != self.outputs[0].0.filter {
            return None;
        }
        self.outputs.push((spec.clone(), per_container));
        Some(self.outputs.len() - 1)
    }

    fn finish_output(
        &mut self,
        output: usize,
        model: Option<&ProcessModel>,
        _: &Span,
    ) -> ViewResult {
        let model = model.expect("process trees run with the process model");
        let elapsed = self.first.map_or(0.0, |f| self.last - f);
        let (pid_format, detail) = (self.pid_format, self.detail);
        let per_container = self.outputs[output].1;
        // Grouped by the first output finished, for them all.
        let leaves = self.grouped.get_or_insert_with(|| {
            GroupedLeaves::of(
                std::mem::take(&mut self.leaf_ids),
                std::mem::take(&mut self.leaves),
            )
        });
        let nodes = build_tree(
            model,
            &self.own,
            leaves,
            per_container,
            pid_format,
            detail,
            elapsed,
        );
        let (spec, per_container) = &self.outputs[output];
        let (menu, column) = match self.variant {
            TreeVariant::Standard => ("Standard", "Process"),
            TreeVariant::OpenedFiles => ("With Opened Files", "Process/File"),
            TreeVariant::WrittenFiles => ("With Written Files", "Process/File"),
            TreeVariant::Network => ("With Network", "Process/Network activity"),
            TreeVariant::Signatures => ("With Signatures", "Process/Signature"),
        };
        ViewResult::StatsTree(StatsTreeResult {
            view: spec.text.clone(),
            title: title(&format!("Process Tree/{menu}"), *per_container),
            first_column: column.into(),
            filter: spec.filter.clone(),
            elapsed_ms: elapsed,
            nodes,
        })
    }
}

/// Levels of processes under one top node at most; a deeper chain continues from a new top
/// node. Deeper nesting is beyond any real process tree, and JSON readers limit nesting
/// (serde_json to 128 arrays and objects: 60 levels and the result's wrappers fit).
const MAX_DEPTH: usize = 60;

/// No node (a root's parent).
const NIL: u32 = u32::MAX;

/// Assembles a process tree: the processes with a counted event and their ancestors (in the
/// per-container form, ancestors in the same container), each counting its own events plus
/// its descendants', with its leaves. Linear in the processes shown, and without recursion:
/// a recording may hold chains of thousands of processes.
///
/// Nodes are numbered: processes by [`ProcId`], then the parents no event came from (by host
/// PID, container group and namespace PID), so that the bookkeeping is in plain vectors.
fn build_tree(
    model: &ProcessModel,
    own: &[u64],
    leaves: &GroupedLeaves,
    per_container: bool,
    format: PidFormat,
    detail: crate::Detail,
    elapsed: f64,
) -> Vec<StatNode> {
    let procs = model.processes();
    let np = procs.len();
    // Container groups, by container ID ("" = the host), with their labels.
    let mut groups: Vec<(&str, &str)> = Vec::new();
    let mut group_of = |id: ProcId| -> u32 {
        if !per_container {
            return 0;
        }
        let (id, label) = procs[id as usize]
            .container
            .as_ref()
            .map_or(("", ""), |(c, l)| (c.as_str(), l.as_str()));
        match groups.iter().position(|(g, _)| *g == id) {
            Some(i) => i as u32,
            None => {
                groups.push((id, label));
                (groups.len() - 1) as u32
            }
        }
    };
    let mut unseen: FastMap<(i64, u32, i64), u32> = FastMap::default();
    let mut unseen_keys: Vec<(i64, u32, i64)> = Vec::new();
    // Every node shown, with its parent and group, found by walking up from each counted
    // process until a node already shown.
    let mut parent: Vec<u32> = vec![NIL; np];
    let mut shown: Vec<bool> = vec![false; np];
    let mut group: Vec<u32> = vec![0; np];
    let mut nodes: Vec<u32> = Vec::new();
    for (i, &n) in own.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let mut node = i as u32;
        while !shown[node as usize] {
            shown[node as usize] = true;
            nodes.push(node);
            if node as usize >= np {
                break;
            }
            let id = node as ProcId;
            let g = group_of(id);
            group[node as usize] = g;
            let p = match model.parent(id) {
                Parent::Known(pp) => {
                    let same = !per_container
                        || procs[pp as usize].container_id() == procs[id as usize].container_id();
                    if same {
                        pp
                    } else {
                        NIL
                    }
                }
                Parent::Unseen { host_pid, pid } => {
                    let key = (host_pid, g, pid);
                    *unseen.entry(key).or_insert_with(|| {
                        unseen_keys.push(key);
                        parent.push(NIL);
                        shown.push(false);
                        group.push(g);
                        (np + unseen_keys.len() - 1) as u32
                    })
                }
                Parent::None => NIL,
            };
            parent[node as usize] = p;
            if p == NIL {
                break;
            }
            node = p;
        }
    }
    // A parent link that leads back to where it started (hostile or inconsistent data) is
    // cut where the loop closes.
    let mut state = vec![0u8; parent.len()];
    let mut path = Vec::new();
    for &start in &nodes {
        path.clear();
        let mut cur = start;
        loop {
            match state[cur as usize] {
                2 => break,
                1 => {
                    // `cur` is on the path being walked: the last step closed a loop.
                    if let Some(&last) = path.last() {
                        parent[last as usize] = NIL;
                    }
                    break;
                }
                _ => {}
            }
            state[cur as usize] = 1;
            path.push(cur);
            match parent[cur as usize] {
                NIL => break,
                p => cur = p,
            }
        }
        for &p in &path {
            state[p as usize] = 2;
        }
    }
    // Children of each node, as ranges of one vector.
    let mut first = vec![0u32; parent.len() + 1];
    for &n in &nodes {
        if let Some(p) = parent.get(n as usize).filter(|p| **p != NIL) {
            first[*p as usize + 1] += 1;
        }
    }
    for i in 1..first.len() {
        first[i] += first[i - 1];
    }
    let mut fill = first.clone();
    let mut kids = vec![0u32; first[parent.len()] as usize];
    let mut roots: Vec<u32> = Vec::new();
    for &n in &nodes {
        match parent[n as usize] {
            NIL => roots.push(n),
            p => {
                kids[fill[p as usize] as usize] = n;
                fill[p as usize] += 1;
            }
        }
    }
    let children = |n: u32| &kids[first[n as usize] as usize..first[n as usize + 1] as usize];
    // Nodes in an order where children come before their parents (an iterative depth-first
    // walk from the roots, reversed). A chain deeper than MAX_DEPTH goes on from a new root:
    // the results nest, and nesting must stay bounded.
    let mut cut = vec![false; parent.len()];
    let mut order = Vec::with_capacity(nodes.len());
    let mut stack: Vec<(u32, usize)> = roots.iter().map(|r| (*r, 0)).collect();
    while let Some((n, depth)) = stack.pop() {
        order.push(n);
        for &c in children(n) {
            if depth + 1 >= MAX_DEPTH {
                cut[c as usize] = true;
                roots.push(c);
                stack.push((c, 0));
            } else {
                stack.push((c, depth + 1));
            }
        }
    }
    // Each finished node waits for its parent at its place in `order` (a vector of the nodes
    // shown, not of every process).
    let mut place = vec![NIL; parent.len()];
    for (i, &k) in order.iter().enumerate() {
        place[k as usize] = i as u32;
    }
    let mut built: Vec<Option<StatNode>> =
        std::iter::repeat_with(|| None).take(order.len()).collect();
    let take = |built: &mut Vec<Option<StatNode>>, k: u32| {
        built
            .get_mut(place[k as usize] as usize)
            .and_then(Option::take)
    };
    for (at, &k) in order.iter().enumerate().rev() {
        let (mut n, own_count) = if (k as usize) < np {
            let id = k as ProcId;
            let mut n = StatNode::new(model.label(id, format), 0);
            n.process = (detail == crate::Detail::Full).then(|| model.shared_info(id));
            let own_leaves = leaves.of.get(&id);
            n.children = Vec::with_capacity(own_leaves.map_or(0, |l| l.len()) + children(k).len());
            for (text, leaf) in own_leaves.into_iter().flatten() {
                let mut child = StatNode::new(&*leaves.texts[*text as usize], leaf.count);
                child.filter = leaf.filter.clone();
                n.children.push(child);
            }
            (n, own.get(id as usize).copied().unwrap_or(0))
        } else {
            let (host_pid, _, pid) = unseen_keys[k as usize - np];
            let mut n = StatNode::new(ProcessModel::unseen_label(host_pid, pid, format), 0);
            n.process = (detail == crate::Detail::Full)
                .then(|| std::sync::Arc::new(crate::process::ProcessInfo::unseen(host_pid, pid)));
            (n, 0)
        };
        let mut sum = own_count;
        for &c in children(k) {
            if cut[c as usize] {
                continue;
            }
            if let Some(child) = take(&mut built, c) {
                sum += child.count;
                n.children.push(child);
            }
        }
        n.own = Some(own_count);
        n.count = sum;
        finish_level(&mut n.children, Some(n.count), elapsed);
        built[at] = Some(n);
    }
    let mut top: Vec<StatNode> = Vec::new();
    if per_container {
        let mut by_group: Vec<StatNode> = groups
            .iter()
            .map(|(id, label)| StatNode::new(if id.is_empty() { "Host" } else { *label }, 0))
            .collect();
        let mut per_group = vec![0usize; groups.len()];
        for &r in &roots {
            per_group[group[r as usize] as usize] += 1;
        }
        for (g, n) in by_group.iter_mut().zip(per_group) {
            g.children.reserve_exact(n);
        }
        for r in roots {
            if let Some(n) = take(&mut built, r) {
                let g = group[r as usize] as usize;
                by_group[g].count += n.count;
                by_group[g].children.push(n);
            }
        }
        for g in &mut by_group {
            let count = g.count;
            finish_level(&mut g.children, Some(count), elapsed);
        }
        // The host on top, as Traceeshark keeps it; containers by count.
        let host = groups
            .iter()
            .position(|(id, _)| id.is_empty())
            .map(|i| by_group.remove(i));
        finish_level(&mut by_group, None, elapsed);
        if let Some(mut h) = host {
            finish_level(std::slice::from_mut(&mut h), None, elapsed);
            by_group.insert(0, h);
        }
        top = by_group;
    } else {
        top.reserve_exact(roots.len());
        for r in roots {
            if let Some(n) = take(&mut built, r) {
                top.push(n);
            }
        }
        finish_level(&mut top, None, elapsed);
    }
    top
}

/// Percentages, rates and the order of one level, once its parent's count is known.
fn finish_level(nodes: &mut [StatNode], parent: Option<u64>, elapsed: f64) {
    for n in nodes.iter_mut() {
        n.percent = stats_tree::percent(n.count, parent);
        n.rate = stats_tree::rate(n.count, elapsed);
    }
    stats_tree::sort_nodes(nodes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_of_the_file_name() {
        assert_eq!(extension("/tmp/a.b/c.txt"), Some(".txt"));
        assert_eq!(extension("/tmp/a.b/c"), None);
        assert_eq!(extension("/root/.bashrc"), Some(".bashrc"));
    }

    #[test]
    fn open_modes_from_names_or_numbers() {
        assert_eq!(mode_bits(0), "RO");
        assert_eq!(mode_bits(0o101), "WO");
        assert_eq!(mode_bits(0o2), "RW");
    }
}
