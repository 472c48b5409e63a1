//! Traceeshark's statistics (analyzer.md §10): event counts, file types and the process trees,
//! each global or per container.

use std::collections::HashMap;

use osprey_dissect::prefs::PidFormat;
use osprey_field::fields::tracee as t;

use crate::process::{Parent, ProcId, ProcessModel};
use crate::spec::{TreeVariant, ViewSpec};
use crate::stats_tree::{self, StatNode, StatsTree, StatsTreeResult, ROOT};
use crate::{Cx, Rec, Setup, Span, View, ViewResult};

/// The top node of an event in a per-container view: its container, or `Host`.
fn container_node(tree: &mut StatsTree, rec: &Rec<'_>) -> usize {
    match rec.str(t::CONTAINER_COL).filter(|c| !c.is_empty()) {
        Some(label) => tree.tick(label, ROOT),
        None => {
            let host = tree.tick("Host", ROOT);
            tree.keep_on_top(host);
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
        let name = rec.str(t::EVENT_NAME).unwrap_or("");
        let st = &mut self.tree;
        st.set_time(cx.rel_ms);
        let top = if self.per_container {
            container_node(st, rec)
        } else {
            ROOT
        };
        if rec.bool(t::IS_SIGNATURE).unwrap_or(false) {
            let sigs = st.tick("Signatures", top);
            let sev = st.tick(&severity_name(rec), sigs);
            st.tick(name, sev);
        } else {
            let events = st.tick("Events", top);
            st.tick(name, events);
        }
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
        if !rec.is_event() || rec.str(t::EVENT_NAME) != Some("magic_write") || !rec.counts(self.bit)
        {
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
    let verb = match rec.str(t::EVENT_NAME)? {
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

/// The leaf a signature adds: `(Severity N): <signature name>`.
pub(crate) fn signature_leaf(rec: &Rec<'_>) -> String {
    let name = rec
        .str(t::METADATA_SIGNATURE_NAME)
        .filter(|n| !n.is_empty())
        .or_else(|| rec.str(t::EVENT_NAME))
        .unwrap_or("");
    match rec.int(t::METADATA_SEVERITY) {
        Some(n) => format!("(Severity {n}): {name}"),
        None => format!("(Severity ?): {name}"),
    }
}

/// Traceeshark's process trees, over the process model.
pub(crate) struct ProcessTree {
    spec: ViewSpec,
    variant: TreeVariant,
    per_container: bool,
    bit: Option<u8>,
    pid_format: PidFormat,
    prefs: osprey_dissect::Preferences,
    args: crate::fields::Args,
    own: Vec<u64>,
    leaves: HashMap<ProcId, HashMap<String, u64>>,
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
            spec: spec.clone(),
            variant,
            per_container,
            bit,
            pid_format: s.prefs.pid_format,
            prefs: s.prefs.clone(),
            args: a,
            own: Vec::new(),
            leaves: HashMap::new(),
            first: None,
            last: 0.0,
            leaf: String::new(),
        }
    }

    /// The leaf an event adds under its process, for the variants that have leaves; `None`
    /// when the event is not one this tree counts.
    fn leaf(&mut self, rec: &Rec<'_>) -> Option<bool> {
        use std::fmt::Write as _;
        let name = rec.str(t::EVENT_NAME).unwrap_or("");
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
            let leaves = self.leaves.entry(pid).or_default();
            match leaves.get_mut(self.leaf.as_str()) {
                Some(n) => *n += 1,
                None => {
                    leaves.insert(self.leaf.clone(), 1);
                }
            }
        }
    }

    fn finish(&mut self, model: Option<&ProcessModel>, _: &Span) -> ViewResult {
        let model = model.expect("process trees run with the process model");
        let elapsed = self.first.map_or(0.0, |f| self.last - f);
        let nodes = build_tree(
            model,
            &self.own,
            &self.leaves,
            self.per_container,
            self.pid_format,
            elapsed,
        );
        let (menu, column) = match self.variant {
            TreeVariant::Standard => ("Standard", "Process"),
            TreeVariant::OpenedFiles => ("With Opened Files", "Process/File"),
            TreeVariant::WrittenFiles => ("With Written Files", "Process/File"),
            TreeVariant::Network => ("With Network", "Process/Network activity"),
            TreeVariant::Signatures => ("With Signatures", "Process/Signature"),
        };
        ViewResult::StatsTree(StatsTreeResult {
            view: self.spec.text.clone(),
            title: title(&format!("Process Tree/{menu}"), self.per_container),
            first_column: column.into(),
            filter: self.spec.filter.clone(),
            elapsed_ms: elapsed,
            nodes,
        })
    }
}

/// Levels of processes under one top node at most; a deeper chain continues from a new top
/// node. Deeper nesting is beyond any real process tree, and JSON readers limit nesting
/// (serde_json to 128 arrays and objects: 60 levels and the result's wrappers fit).
const MAX_DEPTH: usize = 60;

/// A node of a process tree being assembled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Proc(ProcId),
    /// A parent no event came from, by host PID and container group (with its namespace PID).
    Unseen(i64, u32, i64),
}

/// Assembles a process tree: the processes with a counted event and their ancestors (in the
/// per-container form, ancestors in the same container), each counting its own events plus
/// its descendants', with its leaves. Linear in the processes shown, and without recursion:
/// a recording may hold chains of thousands of processes.
fn build_tree(
    model: &ProcessModel,
    own: &[u64],
    leaves: &HashMap<ProcId, HashMap<String, u64>>,
    per_container: bool,
    format: PidFormat,
    elapsed: f64,
) -> Vec<StatNode> {
    let procs = model.processes();
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
    // Every node shown, with its parent, found by walking up from each counted process until
    // a node already known.
    let mut parent_of: HashMap<Key, Option<Key>> = HashMap::new();
    let mut group: HashMap<Key, u32> = HashMap::new();
    for (i, &n) in own.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let mut key = Key::Proc(i as ProcId);
        while !parent_of.contains_key(&key) {
            let Key::Proc(id) = key else {
                parent_of.insert(key, None);
                break;
            };
            let p = &procs[id as usize];
            let g = group_of(id);
            group.insert(key, g);
            let parent = match model.parent(id) {
                Parent::Known(pp) => {
                    let same = !per_container
                        || procs[pp as usize].container_id() == p.container_id();
                    same.then_some(Key::Proc(pp))
                }
                Parent::Unseen { host_pid, pid } => {
                    let k = Key::Unseen(host_pid, g, pid);
                    group.insert(k, g);
                    Some(k)
                }
                Parent::None => None,
            };
            parent_of.insert(key, parent);
            match parent {
                Some(pk) => key = pk,
                None => break,
            }
        }
    }
    // A parent link that leads back to where it started (hostile or inconsistent data) is
    // cut where the loop closes.
    let mut state: HashMap<Key, u8> = HashMap::with_capacity(parent_of.len());
    let keys: Vec<Key> = parent_of.keys().copied().collect();
    for k in keys {
        let mut path = Vec::new();
        let mut cur = k;
        loop {
            match state.get(&cur) {
                Some(2) => break,
                Some(1) => {
                    // `cur` is on the path being walked: the last step closed a loop.
                    if let Some(&last) = path.last() {
                        parent_of.insert(last, None);
                    }
                    break;
                }
                _ => {}
            }
            state.insert(cur, 1);
            path.push(cur);
            match parent_of.get(&cur).copied().flatten() {
                Some(p) => cur = p,
                None => break,
            }
        }
        for p in path {
            state.insert(p, 2);
        }
    }
    let mut children: HashMap<Option<Key>, Vec<Key>> = HashMap::new();
    for (k, p) in &parent_of {
        children.entry(*p).or_default().push(*k);
    }
    // Nodes in an order where children come before their parents (an iterative depth-first
    // walk from the roots, reversed). A chain deeper than MAX_DEPTH goes on from a new root:
    // the results nest, and nesting must stay bounded.
    let mut roots = children.get(&None).cloned().unwrap_or_default();
    let mut cut: std::collections::HashSet<Key> = std::collections::HashSet::new();
    let mut order = Vec::with_capacity(parent_of.len());
    let mut stack: Vec<(Key, usize)> = roots.iter().map(|r| (*r, 0)).collect();
    while let Some((k, depth)) = stack.pop() {
        order.push(k);
        for c in children.get(&Some(k)).map(Vec::as_slice).unwrap_or(&[]) {
            if depth + 1 >= MAX_DEPTH {
                cut.insert(*c);
                roots.push(*c);
                stack.push((*c, 0));
            } else {
                stack.push((*c, depth + 1));
            }
        }
    }
    let mut built: HashMap<Key, StatNode> = HashMap::with_capacity(order.len());
    for &k in order.iter().rev() {
        let (mut n, own_count) = match k {
            Key::Proc(id) => {
                let mut n = StatNode::new(model.label(id, format), 0);
                n.process = Some(model.info(id));
                (n, own.get(id as usize).copied().unwrap_or(0))
            }
            Key::Unseen(host_pid, _, pid) => {
                let mut n = StatNode::new(ProcessModel::unseen_label(host_pid, pid, format), 0);
                n.process = Some(crate::process::ProcessInfo::unseen(host_pid, pid));
                (n, 0)
            }
        };
        if let Key::Proc(id) = k {
            for (name, c) in leaves.get(&id).into_iter().flatten() {
                n.children.push(StatNode::new(name.clone(), *c));
            }
        }
        for c in children.get(&Some(k)).map(Vec::as_slice).unwrap_or(&[]) {
            if cut.contains(c) {
                continue;
            }
            if let Some(child) = built.remove(c) {
                n.children.push(child);
            }
        }
        n.own = Some(own_count);
        n.count = own_count
            + n.children
                .iter()
                .filter(|c| c.process.is_some())
                .map(|c| c.count)
                .sum::<u64>();
        finish_level(&mut n.children, Some(n.count), elapsed);
        built.insert(k, n);
    }
    let mut top: Vec<StatNode> = Vec::new();
    if per_container {
        let mut by_group: Vec<StatNode> = groups
            .iter()
            .map(|(id, label)| StatNode::new(if id.is_empty() { "Host" } else { *label }, 0))
            .collect();
        for r in roots {
            if let Some(n) = built.remove(&r) {
                let g = group.get(&r).copied().unwrap_or(0) as usize;
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
        for r in roots {
            if let Some(n) = built.remove(&r) {
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
