//! Wireshark's stats trees (`epan/stats_tree.c`), the engine behind `-z dns,tree`,
//! `-z http,tree` and Traceeshark's statistics: named nodes under named parents, each with a
//! count, optionally an average/min/max of values added to it, and the busiest 100 ms window
//! ("burst") of its ticks.
//!
//! [`StatsTree`] is built tick by tick as tshark's stats tree is; [`StatsTree::finish`] turns it
//! into plain [`StatNode`]s (children sorted as tshark sorts them: by count, then by name, both
//! descending), which the text renderer prints in tshark's layout and JSON serializes as they
//! are.

use serde::Serialize;

use osprey_field::hash::FastMap;

/// Burst windows: tshark's defaults (`statistics.st_burst_resolution`, `st_burst_windowlen`).
const BURST_RESOLUTION_MS: f64 = 5.0;
const BURST_WINDOW_MS: f64 = 100.0;

/// One node of a finished stats tree.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatNode {
    /// The node's name (the text shown).
    pub name: String,
    /// Its count.
    pub count: u64,
    /// The events counted on the node itself, when that differs from `count` (process trees
    /// count a process's own events and those of its descendants).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own: Option<u64>,
    /// Average, minimum and maximum of the values added, for nodes that take values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Box<Values>>,
    /// Count per millisecond of the view's elapsed time, when any time elapsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Percentage of the parent's count; `None` when the parent counted nothing. Nodes at the
    /// top are 100%.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    /// The busiest 100 ms window, for nodes whose ticks are timed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst: Option<Burst>,
    /// Details of a process node (process trees), shared with the other nodes and trees that
    /// show the process.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shared_process"
    )]
    pub process: Option<std::sync::Arc<crate::process::ProcessInfo>>,
    /// A display filter selecting the frames the node counts, where the view knows one (the
    /// UI's row click; combined with the view's own filter by whoever applies it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Child nodes, in display order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<StatNode>,
}

fn shared_process<S: serde::Serializer>(
    p: &Option<std::sync::Arc<crate::process::ProcessInfo>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    p.as_deref().serialize(s)
}

impl StatNode {
    /// A node with a name and a count and nothing else.
    pub fn new(name: impl Into<String>, count: u64) -> StatNode {
        StatNode {
            name: name.into(),
            count,
            own: None,
            values: None,
            rate: None,
            percent: None,
            burst: None,
            process: None,
            filter: None,
            children: Vec::new(),
        }
    }

    /// The child named `name`, if any.
    pub fn child(&self, name: &str) -> Option<&StatNode> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// Average, minimum and maximum of the values a node took.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Values {
    /// Average; `None` when no value was added.
    pub average: Option<f64>,
    /// Smallest value.
    pub min: Option<Number>,
    /// Largest value.
    pub max: Option<Number>,
}

/// An integer or floating-point statistic.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Number {
    /// Integer values.
    Int(i64),
    /// Floating-point values (times in milliseconds).
    Float(f64),
}

/// The busiest burst window of a node.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Burst {
    /// Ticks per millisecond in the busiest 100 ms window; `None` when nothing was ticked.
    pub rate: Option<f64>,
    /// When that window started, in seconds since the first frame.
    pub start: Option<f64>,
}

/// A finished stats tree: a view's title, its first column's heading and its top nodes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatsTreeResult {
    /// The `-z` argument.
    pub view: String,
    /// The title tshark prints (`DNS`, `HTTP/Packet Counter`, `Tracee/Event Counts/Global`).
    pub title: String,
    /// The heading of the name column (`Topic / Item`, `Event Name`, `Process`...).
    pub first_column: String,
    /// The view's own filter, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Milliseconds from the first to the last frame counted.
    pub elapsed_ms: f64,
    /// The top nodes.
    pub nodes: Vec<StatNode>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    no: f64,
    count: u64,
    start: f64,
}

/// tshark's burst bookkeeping: counts per 5 ms bucket over a sliding 100 ms window.
#[derive(Clone, Debug, Default)]
struct BurstCalc {
    buckets: std::collections::VecDeque<Bucket>,
    bcount: u64,
    max_burst: u64,
    burst_time: f64,
}

impl BurstCalc {
    /// `update_burst_calc`: `now` is the tick's time in ms since the first frame, `current`
    /// its bucket ([`bucket`]).
    fn update(&mut self, now: f64, current: f64, value: u64) {
        match self.buckets.back_mut() {
            // The usual tick: in the latest bucket.
            Some(b) if b.no == current => {
                b.count += value;
                if b.start > now {
                    b.start = now;
                }
                self.bcount += value;
            }
            _ => self.place(current, now, value),
        }
        if self.bcount > self.max_burst {
            self.max_burst = self.bcount;
            self.burst_time = self.buckets.front().map_or(now, |b| b.start);
        }
    }

    /// A tick in bucket `current` that is not the latest one.
    fn place(&mut self, current: f64, now: f64, value: u64) {
        let window = BURST_WINDOW_MS / BURST_RESOLUTION_MS;
        // tshark starts each list with a dummy bucket numbered 0.
        if self.buckets.is_empty() {
            self.buckets.push_back(Bucket {
                no: 0.0,
                count: 0,
                start: 0.0,
            });
        }
        let tail = self.buckets.back().map_or(0.0, |b| b.no);
        let head = self.buckets.front().map_or(0.0, |b| b.no);
        if current > tail {
            self.buckets.push_back(Bucket {
                no: current,
                count: value,
                start: now,
            });
            self.bcount += value;
            while let Some(h) = self.buckets.front() {
                if current >= h.no + window {
                    self.bcount -= h.count;
                    self.buckets.pop_front();
                } else {
                    break;
                }
            }
        } else if current < head {
            if current + window > tail {
                self.buckets.push_front(Bucket {
                    no: current,
                    count: value,
                    start: now,
                });
                self.bcount += value;
            }
        } else {
            let pos = self.buckets.iter().rposition(|b| b.no <= current);
            match pos {
                Some(i) if self.buckets[i].no == current => {
                    let b = &mut self.buckets[i];
                    b.count += value;
                    if b.start > now {
                        b.start = now;
                    }
                }
                Some(i) => self.buckets.insert(
                    i + 1,
                    Bucket {
                        no: current,
                        count: value,
                        start: now,
                    },
                ),
                None => self.buckets.push_front(Bucket {
                    no: current,
                    count: value,
                    start: now,
                }),
            }
            self.bcount += value;
        }
    }

    fn result(&self) -> Burst {
        if self.max_burst == 0 {
            Burst {
                rate: None,
                start: None,
            }
        } else {
            Burst {
                rate: Some(self.max_burst as f64 / BURST_WINDOW_MS),
                start: Some(self.burst_time / 1000.0),
            }
        }
    }
}

/// The burst bucket of a time in ms since the first frame.
fn bucket(now: f64) -> f64 {
    (now / BURST_RESOLUTION_MS).floor()
}

#[derive(Clone, Debug)]
struct Node {
    name: String,
    children: Vec<usize>,
    counter: u64,
    total_int: i64,
    total_float: f64,
    min: Option<Number>,
    max: Option<Number>,
    average: bool,
    top: bool,
    burst: BurstCalc,
    filter: Option<Box<str>>,
}

/// A stats tree being built, tick by tick.
#[derive(Clone, Debug)]
pub struct StatsTree {
    nodes: Vec<Node>,
    /// Each node's children by name (looked up with a borrowed name: no allocation per tick).
    by_name: Vec<FastMap<Box<str>, usize>>,
    /// Nodes a view also finds by a number of its own under their parent ([`StatsTree::keyed`]).
    by_key: FastMap<(usize, u64), usize>,
    start: Option<f64>,
    now: f64,
    /// `now`'s burst bucket, computed once per frame rather than once per tick.
    now_bucket: f64,
}

/// The root's id: top nodes are its children.
pub const ROOT: usize = 0;

impl Default for StatsTree {
    fn default() -> Self {
        StatsTree::new()
    }
}

impl Node {
    /// A node with nothing counted yet.
    fn named(name: String) -> Node {
        Node {
            name,
            children: Vec::new(),
            counter: 0,
            total_int: 0,
            total_float: 0.0,
            min: None,
            max: None,
            average: false,
            top: false,
            burst: BurstCalc::default(),
            filter: None,
        }
    }
}

impl StatsTree {
    /// An empty tree.
    pub fn new() -> StatsTree {
        StatsTree {
            nodes: vec![Node::named(String::new())],
            by_name: vec![FastMap::default()],
            by_key: FastMap::default(),
            start: None,
            now: 0.0,
            now_bucket: 0.0,
        }
    }

    /// Sets the time of the frame being counted, in ms since the first frame of the run
    /// (tshark's `rel_ts`); the first call also starts the elapsed time.
    pub fn set_time(&mut self, now_ms: f64) {
        self.now = now_ms;
        self.now_bucket = bucket(now_ms);
        self.start.get_or_insert(now_ms);
    }

    /// The node `name` under `parent`, created (with no count) if it does not exist.
    pub fn node(&mut self, name: &str, parent: usize) -> usize {
        if let Some(id) = self.by_name[parent].get(name) {
            return *id;
        }
        let id = self.nodes.len();
        self.nodes.push(Node::named(name.to_string()));
        self.nodes[parent].children.push(id);
        self.by_name[parent].insert(name.into(), id);
        self.by_name.push(FastMap::default());
        id
    }

    /// The node `name` under `parent`, as [`StatsTree::node`], found by `key` (a number the
    /// caller gives each name, such as an event name's [`crate::Cx::name_id`]) rather than by
    /// its text: no string is hashed once the node exists.
    pub fn keyed(&mut self, parent: usize, key: u64, name: &str) -> usize {
        if let Some(&id) = self.by_key.get(&(parent, key)) {
            return id;
        }
        let id = self.node(name, parent);
        self.by_key.insert((parent, key), id);
        id
    }

    /// Keeps the node above its siblings whatever the counts (tshark's `ST_FLG_SORT_TOP`).
    pub fn keep_on_top(&mut self, id: usize) {
        self.nodes[id].top = true;
    }

    /// Counts one for node `name` under `parent` (tshark's `tick_stat_node`).
    pub fn tick(&mut self, name: &str, parent: usize) -> usize {
        let id = self.node(name, parent);
        self.tick_id(id);
        id
    }

    /// Counts one for node `id`.
    pub fn tick_id(&mut self, id: usize) {
        let (now, current) = (self.now, self.now_bucket);
        let n = &mut self.nodes[id];
        n.counter += 1;
        n.burst.update(now, current, 1);
    }

    /// Counts one for a pivot node and for its child `value` (tshark's `stats_tree_tick_pivot`);
    /// the child's id.
    pub fn tick_pivot(&mut self, pivot: usize, value: &str) -> usize {
        self.tick_id(pivot);
        self.tick(value, pivot)
    }

    /// Gives node `id` the display filter `filter()` selects its frames by, unless it has one
    /// (called on every tick, `filter` runs once).
    pub fn set_filter(&mut self, id: usize, filter: impl FnOnce() -> String) {
        let n = &mut self.nodes[id];
        if n.filter.is_none() {
            n.filter = Some(filter().into());
        }
    }

    /// Counts one for node `name` and adds an integer value to its average/min/max (tshark's
    /// `avg_stat_node_add_value_int`).
    pub fn add_int(&mut self, name: &str, parent: usize, value: i64) -> usize {
        let id = self.tick(name, parent);
        let n = &mut self.nodes[id];
        n.total_int += value;
        n.average = true;
        n.min = Some(match n.min {
            Some(Number::Int(m)) => Number::Int(m.min(value)),
            _ => Number::Int(value),
        });
        n.max = Some(match n.max {
            Some(Number::Int(m)) => Number::Int(m.max(value)),
            _ => Number::Int(value),
        });
        id
    }

    /// Like [`StatsTree::add_int`] for floating-point values (tshark keeps them as `float`).
    pub fn add_float(&mut self, name: &str, parent: usize, value: f32) -> usize {
        let id = self.tick(name, parent);
        let n = &mut self.nodes[id];
        n.total_float = (n.total_float as f32 + value) as f64;
        n.average = true;
        let v = value as f64;
        n.min = Some(match n.min {
            Some(Number::Float(m)) => Number::Float(m.min(v)),
            _ => Number::Float(v),
        });
        n.max = Some(match n.max {
            Some(Number::Float(m)) => Number::Float(m.max(v)),
            _ => Number::Float(v),
        });
        id
    }

    /// The current count of node `id`.
    pub fn count(&self, id: usize) -> u64 {
        self.nodes[id].counter
    }

    /// Milliseconds from the first to the last frame counted.
    pub fn elapsed_ms(&self) -> f64 {
        self.start.map_or(0.0, |s| self.now - s)
    }

    /// The finished nodes under the root: the root's children in the order they were created
    /// (as tshark prints them; nodes kept on top first), every other level sorted by count,
    /// then name, both descending.
    pub fn finish(&self) -> Vec<StatNode> {
        let elapsed = self.elapsed_ms();
        let mut top: Vec<usize> = self.nodes[ROOT].children.clone();
        top.sort_by_key(|&c| !self.nodes[c].top);
        top.into_iter()
            .map(|c| self.finish_node(c, None, elapsed))
            .collect()
    }

    fn finish_node(&self, id: usize, parent_count: Option<u64>, elapsed: f64) -> StatNode {
        let n = &self.nodes[id];
        let values = n
            .average
            .then(|| {
                if n.counter == 0 {
                    return Values {
                        average: None,
                        min: None,
                        max: None,
                    };
                }
                let average = match n.min {
                    Some(Number::Float(_)) => (n.total_float as f32 / n.counter as f32) as f64,
                    _ => (n.total_int as f32 / n.counter as f32) as f64,
                };
                Values {
                    average: Some(average),
                    min: n.min,
                    max: n.max,
                }
            })
            .map(Box::new);
        let mut children: Vec<usize> = n.children.clone();
        children.sort_by(|&a, &b| sort_order(&self.nodes[a], &self.nodes[b]));
        StatNode {
            name: n.name.clone(),
            count: n.counter,
            own: None,
            values,
            rate: rate(n.counter, elapsed),
            percent: percent(n.counter, parent_count),
            burst: Some(n.burst.result()),
            process: None,
            filter: n.filter.as_deref().map(str::to_string),
            children: children
                .into_iter()
                .map(|c| self.finish_node(c, Some(n.counter), elapsed))
                .collect(),
        }
    }
}

/// tshark's rate column: count per ms of elapsed time (`(float)counter / elapsed`).
pub fn rate(count: u64, elapsed_ms: f64) -> Option<f64> {
    (elapsed_ms != 0.0).then(|| (count as f32) as f64 / elapsed_ms)
}

/// tshark's percent column: of the parent's count; 100% at the top; nothing under a parent
/// that counted nothing.
pub fn percent(count: u64, parent: Option<u64>) -> Option<f64> {
    match parent {
        None => Some(100.0),
        Some(0) => None,
        Some(p) => Some(count as f64 * 100.0 / p as f64),
    }
}

/// tshark's default order of siblings: nodes kept on top first, then by count descending,
/// then by name descending (case-sensitive, as `strcmp`).
fn sort_order(a: &Node, b: &Node) -> std::cmp::Ordering {
    b.top
        .cmp(&a.top)
        .then(b.counter.cmp(&a.counter))
        .then_with(|| b.name.as_bytes().cmp(a.name.as_bytes()))
}

/// Sorts finished nodes as tshark sorts a level: by count, then name, both descending (nodes
/// alike keep their order). The order is found on indices and then applied by swaps, so that
/// a level of a hundred thousand processes is neither copied nor given a scratch buffer of
/// nodes.
pub fn sort_nodes(nodes: &mut [StatNode]) {
    if nodes.len() < 2 {
        return;
    }
    let mut order: Vec<u32> = (0..nodes.len() as u32).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&nodes[a as usize], &nodes[b as usize]);
        b.count
            .cmp(&a.count)
            .then_with(|| b.name.as_bytes().cmp(a.name.as_bytes()))
    });
    // Position i takes the node at order[i]: each cycle of the permutation by swaps.
    const DONE: u32 = u32::MAX;
    for i in 0..nodes.len() {
        let mut j = i;
        while order[j] != DONE {
            let k = order[j] as usize;
            order[j] = DONE;
            if k == i {
                break;
            }
            nodes.swap(j, k);
            j = k;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_sort_by_count_then_name_keeping_equals_in_order() {
        let mut nodes: Vec<StatNode> = [(3, "b"), (5, "a"), (3, "c"), (5, "a"), (1, "z"), (3, "b")]
            .iter()
            .enumerate()
            .map(|(i, (c, n))| {
                let mut node = StatNode::new(*n, *c);
                node.own = Some(i as u64);
                node
            })
            .collect();
        sort_nodes(&mut nodes);
        let got: Vec<(u64, &str, u64)> = nodes
            .iter()
            .map(|n| (n.count, n.name.as_str(), n.own.unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                (5, "a", 1),
                (5, "a", 3),
                (3, "c", 2),
                (3, "b", 0),
                (3, "b", 5),
                (1, "z", 4)
            ]
        );
        // Any permutation comes out the same.
        for rot in 0..7 {
            let mut v: Vec<StatNode> = (0..7u64)
                .map(|i| StatNode::new(format!("n{}", (i + rot) % 7), (i * 3 + rot) % 4))
                .collect();
            let mut want = v.clone();
            want.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| b.name.cmp(&a.name)));
            sort_nodes(&mut v);
            assert_eq!(v, want);
        }
    }

    #[test]
    fn pivots_count_the_parent_and_the_value() {
        let mut st = StatsTree::new();
        let total = st.node("Total", ROOT);
        let pivot = st.node("Kinds", total);
        for (t, kind) in [(0.0, "b"), (10.0, "a"), (20.0, "b")] {
            st.set_time(t);
            st.tick("Total", ROOT);
            st.tick_pivot(pivot, kind);
        }
        let nodes = st.finish();
        assert_eq!(nodes.len(), 1);
        let kinds = nodes[0].child("Kinds").unwrap();
        assert_eq!(kinds.count, 3);
        let names: Vec<(&str, u64)> = kinds
            .children
            .iter()
            .map(|c| (c.name.as_str(), c.count))
            .collect();
        assert_eq!(names, [("b", 2), ("a", 1)]);
        assert_eq!(kinds.children[0].percent, Some(200.0 / 3.0));
        assert_eq!(st.elapsed_ms(), 20.0);
        assert_eq!(nodes[0].rate, Some(3.0 / 20.0));
    }

    #[test]
    fn averages_and_extremes_of_values() {
        let mut st = StatsTree::new();
        st.set_time(0.0);
        for v in [29, 11, 40] {
            st.add_int("Payload size", ROOT, v);
        }
        st.node("Empty", ROOT);
        let nodes = st.finish();
        let v = nodes[0].values.as_ref().unwrap();
        assert_eq!(v.average, Some((80.0f32 / 3.0f32) as f64));
        assert_eq!(
            (v.min, v.max),
            (Some(Number::Int(11)), Some(Number::Int(40)))
        );
        assert_eq!(nodes[1].count, 0);
        assert_eq!(nodes[1].values, None);
        assert_eq!(nodes[1].burst.unwrap().rate, None);
    }

    #[test]
    fn bursts_are_the_busiest_100ms_window() {
        let mut st = StatsTree::new();
        // 3 ticks within 100 ms from 1000 ms, then 2 more at 1500 ms.
        for t in [1000.0, 1010.0, 1099.0, 1500.0, 1501.0] {
            st.set_time(t);
            st.tick("x", ROOT);
        }
        let b = st.finish()[0].burst.unwrap();
        assert_eq!(b.rate, Some(0.03));
        assert_eq!(b.start, Some(1.0));
    }

    #[test]
    fn siblings_sort_by_count_then_name_descending_with_top_nodes_first() {
        let mut st = StatsTree::new();
        let p = st.node("p", ROOT);
        for name in ["Query Type", "opcodes", "rcode", "Class", "Query/Response"] {
            st.tick(name, p);
        }
        let host = st.node("Host", p);
        st.keep_on_top(host);
        let nodes = st.finish();
        let order: Vec<&str> = nodes[0].children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            order,
            [
                "Host",
                "rcode",
                "opcodes",
                "Query/Response",
                "Query Type",
                "Class"
            ]
        );
    }
}
