/*!
Statistics over dissected frames: the engine behind `osprey read -z` and the web UI's
statistics.

Views are named like tshark's taps ([`spec`]): Traceeshark's fourteen Tracee views (event
counts, file types and the process trees, each global or per container), a per-process view and
an event timeline, and Wireshark's conversations, endpoints, I/O statistics, protocol hierarchy
and DNS and HTTP trees, over packets and Tracee network events alike. Every view reads frames
only through the field registry of `osprey-field` — the same named fields filters and columns
read — and produces plain data ([`ViewResult`], serializable with serde) that [`text`] renders
as tshark does and JSON carries as it is.

The work is split in two, so that it runs in one pass over the input beside dissection:

- an [`Extractor`] (shared by the dissecting threads) says which fields the views need
  ([`Extractor::want`], to prime dissection with) and copies their values out of each frame's
  tree into [`Records`], evaluating the views' own filters on the way;
- a [`Collector`] (on the thread that sees frames in order) feeds the records to the views and
  the process model, and [`Collector::finish`] returns the results.

```
use osprey_stats::{Detail, Engine, ViewSpec, ViewResult};
use osprey_dissect::Preferences;

let specs = vec![ViewSpec::parse("tracee,event_counts").unwrap()];
let compile = |f: &str| osprey_filter::Filter::compile(f, &osprey_filter::Macros::new())
    .map_err(|e| e.to_string());
let (extractor, mut collector) =
    Engine::build(specs, &Preferences::default(), Detail::Text, &compile).unwrap();
let mut want = osprey_dissect::Want::none();
extractor.want(&mut want);
// ... dissect each frame with `want`, then `extractor.record(...)` into `Records`, and
// `collector.feed(&records)` in frame order ...
let results: Vec<ViewResult> = collector.finish().collect();
assert!(matches!(results[0], ViewResult::StatsTree(_)));
```
*/

#![deny(missing_docs)]

mod conv;
mod count;
mod dnshttp;
mod fields;
mod iostat;
mod phs;
pub mod process;
mod process_view;
mod record;
pub mod spec;
pub mod stats_tree;
pub mod text;
mod timeline;
mod tracee;

use osprey_dissect::{Preferences, Tree, Want};
use osprey_field::fields::{frame as fframe, icmp};
use osprey_field::hash::FastMap;
use osprey_field::FieldId;
use osprey_filter::Filter;
use osprey_source::Frame;
use serde::Serialize;

pub use conv::{Conversation, ConversationsResult, Endpoint, EndpointsResult};
pub use iostat::{IoColumnResult, IoStatResult};
pub use phs::{PhsNode, PhsResult};
pub use process::{ProcId, ProcessInfo, ProcessModel};
pub use process_view::ProcessReport;
pub use record::{FrameMeta, Rec, Records};
pub use spec::{SpecError, ViewKind, ViewSpec};
pub use stats_tree::{StatNode, StatsTreeResult};
pub use timeline::TimelineResult;

use record::FieldSet;

/// What a view produced.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ViewResult {
    /// A stats tree (Tracee views, DNS, HTTP).
    StatsTree(StatsTreeResult),
    /// Conversations.
    Conversations(ConversationsResult),
    /// Endpoints.
    Endpoints(EndpointsResult),
    /// I/O statistics.
    IoStat(IoStatResult),
    /// Protocol hierarchy.
    ProtocolHierarchy(PhsResult),
    /// One process and everything it did.
    Process(ProcessReport),
    /// Events per group per interval.
    Timeline(TimelineResult),
}

/// A view that cannot be set up.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    /// A malformed `-z` argument.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A view's filter or field does not compile.
    #[error("-z {arg}: {message}")]
    View {
        /// The `-z` argument.
        arg: String,
        /// What is wrong.
        message: String,
    },
}

/// Where a frame is in the run, for the views.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cx<'m> {
    /// Milliseconds since the first frame (tshark's `rel_ts`, as stats trees use it).
    pub rel_ms: f64,
    /// Nanoseconds since the first frame.
    pub rel_ns: u64,
    /// The process of an event, when a view needs the process model.
    pub process: Option<ProcId>,
    /// The process model.
    pub model: Option<&'m ProcessModel>,
    /// A number for the event's name, the same for every event of that name in the run (when
    /// a view asked for names to be numbered, [`Setup::number_event_names`]).
    pub name_id: Option<u32>,
}

/// What a view does with frames.
pub(crate) trait View: Send {
    /// Takes in one frame (every frame, in order: a view checks [`Rec::counts`] itself).
    fn observe(&mut self, rec: &Rec<'_>, cx: &Cx<'_>);
    /// The result, once every frame was seen. `span` has the run's time span.
    fn finish(&mut self, model: Option<&ProcessModel>, span: &Span) -> ViewResult;
    /// Takes on `spec` too when it counts exactly what this view counts and differs only in
    /// how the result is laid out (a process tree global and per container): returns the
    /// number of its output.
    fn share(&mut self, _spec: &ViewSpec) -> Option<usize> {
        None
    }
    /// The result of output `output` (0 is the view's own spec, see [`View::share`]).
    fn finish_output(
        &mut self,
        output: usize,
        model: Option<&ProcessModel>,
        span: &Span,
    ) -> ViewResult {
        debug_assert_eq!(output, 0);
        self.finish(model, span)
    }
}

/// The run's time span: first and last frame (all frames read, as tshark's capture duration).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Span {
    /// Timestamp of the first frame.
    pub first: Option<u64>,
    /// Nanoseconds from the first to the last frame.
    pub duration_ns: u64,
}

/// What a view is given when it is built.
pub(crate) struct Setup<'a> {
    fields: FieldSet,
    filters: Vec<Filter>,
    prefs: &'a Preferences,
    detail: Detail,
    args: fields::Args,
    compile: &'a dyn Fn(&str) -> Result<Filter, String>,
    arg: &'a str,
    phs: bool,
    model: bool,
    names: bool,
}

impl Setup<'_> {
    /// Reads `field` (it is primed in dissection and recorded).
    pub(crate) fn read(&mut self, field: FieldId) {
        self.fields.insert(field);
    }

    /// Compiles a view filter; returns its bit.
    pub(crate) fn filter(&mut self, text: Option<&str>) -> Result<Option<u8>, StatsError> {
        let Some(text) = text else {
            return Ok(None);
        };
        if self.filters.len() >= 128 {
            return Err(StatsError::View {
                arg: self.arg.to_string(),
                message: "more than 128 view filters in one run".into(),
            });
        }
        let f = (self.compile)(text).map_err(|message| StatsError::View {
            arg: self.arg.to_string(),
            message,
        })?;
        for id in f.fields() {
            self.fields.insert(id);
        }
        self.filters.push(f);
        Ok(Some((self.filters.len() - 1) as u8))
    }

    /// A field named in a view's options, resolved in the registry.
    pub(crate) fn field(&mut self, name: &str) -> Result<FieldId, StatsError> {
        let id = osprey_field::registry()
            .resolve(name)
            .ok_or_else(|| StatsError::View {
                arg: self.arg.to_string(),
                message: format!("\"{name}\" is not a valid field (see osprey read -G fields)"),
            })?;
        self.read(id);
        Ok(id)
    }

    /// Has the collector number event names once per event ([`Cx::name_id`]), for views
    /// that look nodes up by name.
    pub(crate) fn number_event_names(&mut self) {
        self.names = true;
        self.read(osprey_field::fields::tracee::EVENT_NAME);
    }

    /// An error about this view.
    pub(crate) fn error(&self, message: String) -> StatsError {
        StatsError::View {
            arg: self.arg.to_string(),
            message,
        }
    }
}

/// What results carry beyond what their text shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// What `-z` prints as text: names, counts, rates and bursts. Process trees then skip
    /// the display filter of each leaf and the details of each process, which a large
    /// recording has hundreds of thousands of and the text never shows.
    Text,
    /// Also every node's display filter and every process node's details, where the view
    /// knows them (JSON, the web UI).
    Full,
}

/// Builds the extractor and the collector for a set of views.
pub struct Engine;

impl Engine {
    /// Sets up `specs` (in the order given, which is the order of the results). `compile`
    /// compiles the views' filters with the run's macros.
    pub fn build(
        specs: Vec<ViewSpec>,
        prefs: &Preferences,
        detail: Detail,
        compile: &dyn Fn(&str) -> Result<Filter, String>,
    ) -> Result<(Extractor, Collector), StatsError> {
        let mut setup = Setup {
            fields: FieldSet::default(),
            filters: Vec::new(),
            prefs,
            detail,
            args: fields::Args::resolve(),
            compile,
            arg: "",
            phs: false,
            model: false,
            names: false,
        };
        // ICMP's subtree is skipped when recording (the quoted packet of an error is not the
        // frame's own), so it must be in the tree.
        setup.read(icmp::ICMP);
        setup.read(icmp::ICMPV6);
        let mut views: Vec<Box<dyn View>> = Vec::new();
        // Which view and which of its outputs each spec's result comes from.
        let mut outputs = Vec::with_capacity(specs.len());
        for spec in &specs {
            if let Some(o) = views
                .iter_mut()
                .enumerate()
                .find_map(|(i, v)| Some((i, v.share(spec)?)))
            {
                outputs.push(o);
                continue;
            }
            setup.arg = &spec.text;
            views.push(build_view(spec, &mut setup)?);
            outputs.push((views.len() - 1, 0));
        }
        let model = setup.model.then(|| {
            for f in ProcessModel::fields(&setup.args) {
                setup.fields.insert(f);
            }
            ProcessModel::new(setup.args)
        });
        let extractor = Extractor {
            slots: std::sync::Arc::new(setup.fields.slots()),
            fields: setup.fields,
            protocols: setup.phs.then(record::protocol_fields),
            filters: setup.filters,
            needs_every_event: model.is_some(),
        };
        Ok((
            extractor,
            Collector {
                names: setup.names.then(FastMap::default),
                views,
                outputs,
                model,
                span: Span::default(),
                last: 0,
            },
        ))
    }
}

fn build_view(spec: &ViewSpec, s: &mut Setup<'_>) -> Result<Box<dyn View>, StatsError> {
    let filter = spec.filter.as_deref();
    Ok(match &spec.kind {
        ViewKind::EventCounts { per_container } => Box::new(tracee::EventCounts::new(
            spec,
            *per_container,
            s.filter(filter)?,
            s,
        )),
        ViewKind::FileTypes { per_container } => Box::new(tracee::FileTypes::new(
            spec,
            *per_container,
            s.filter(filter)?,
            s,
        )),
        ViewKind::ProcessTree {
            variant,
            per_container,
        } => {
            s.model = true;
            let bit = s.filter(filter)?;
            Box::new(tracee::ProcessTree::new(
                spec,
                *variant,
                *per_container,
                bit,
                s,
            ))
        }
        ViewKind::Process(target) => {
            s.model = true;
            let bit = s.filter(filter)?;
            Box::new(process_view::ProcessView::new(spec, *target, bit, s))
        }
        ViewKind::Timeline(interval) => {
            let bit = s.filter(filter)?;
            Box::new(timeline::Timeline::new(spec, *interval, bit, s))
        }
        ViewKind::Conversations(layer) | ViewKind::Endpoints(layer) => {
            let bit = s.filter(filter)?;
            let endpoints = matches!(spec.kind, ViewKind::Endpoints(_));
            Box::new(conv::Conv::new(spec, *layer, endpoints, bit, s))
        }
        ViewKind::IoStat { interval, columns } => {
            Box::new(iostat::IoStat::new(spec, *interval, columns, s)?)
        }
        ViewKind::ProtocolHierarchy => {
            s.phs = true;
            s.read(fframe::FRAME);
            let bit = s.filter(filter)?;
            Box::new(phs::Phs::new(spec, bit))
        }
        ViewKind::DnsTree => {
            let bit = s.filter(filter)?;
            Box::new(dnshttp::DnsTree::new(spec, bit, s))
        }
        ViewKind::HttpTree => {
            let bit = s.filter(filter)?;
            Box::new(dnshttp::HttpTree::new(spec, bit, s))
        }
        ViewKind::Count(field) => {
            let bit = s.filter(filter)?;
            Box::new(count::Count::new(spec, field, bit, s)?)
        }
    })
}

/// The dissecting side: what to dissect, and recording it. Shared by the worker threads.
pub struct Extractor {
    fields: FieldSet,
    slots: std::sync::Arc<record::Slots>,
    protocols: Option<FieldSet>,
    filters: Vec<Filter>,
    needs_every_event: bool,
}

impl Extractor {
    /// Adds the fields the views read to `want`.
    pub fn want(&self, want: &mut Want) {
        for id in self.fields.iter() {
            want.field(id);
        }
        if let Some(p) = &self.protocols {
            for id in p.iter() {
                want.field(id);
            }
        }
    }

    /// True when every event must be dissected whatever the display filter (the process model
    /// needs the forks, execs and names of events the views do not count), so a byte
    /// prefilter must not skip any.
    pub fn needs_every_event(&self) -> bool {
        self.needs_every_event
    }

    /// Records a dissected frame; `passes` says whether it passed the run's display filter.
    pub fn record(&self, frame: &Frame, tree: &Tree<'_>, passes: bool, out: &mut Records) {
        let mut bits = 0u128;
        if passes {
            for (i, f) in self.filters.iter().enumerate() {
                if f.matches(tree) {
                    bits |= 1 << i;
                }
            }
        }
        let len = frame
            .capture
            .as_ref()
            .map_or(frame.data.len() as u64, |c| c.orig_len as u64);
        out.record(
            frame.number,
            frame.ts,
            len,
            frame.kind,
            passes,
            bits,
            tree,
            &self.slots,
            self.protocols.as_ref(),
        );
    }

    /// Records a frame that was not dissected (a prefilter rejected it, or it is damaged):
    /// only its time counts.
    pub fn skip(&self, frame: &Frame, out: &mut Records) {
        let len = frame
            .capture
            .as_ref()
            .map_or(frame.data.len() as u64, |c| c.orig_len as u64);
        out.skipped(frame.number, frame.ts, len, frame.kind);
    }
}

/// The in-order side: the views and the process model.
pub struct Collector {
    /// Event names by number, when a view wants them numbered.
    names: Option<FastMap<Box<str>, u32>>,
    views: Vec<Box<dyn View>>,
    outputs: Vec<(usize, usize)>,
    model: Option<ProcessModel>,
    span: Span,
    last: u64,
}

/// Writes results as one JSON array (pretty-printed, with a final newline), each result as it
/// comes: a run's results need not be held all at once.
pub fn write_json(
    out: &mut impl std::io::Write,
    results: impl IntoIterator<Item = ViewResult>,
) -> std::io::Result<()> {
    use serde::Serializer as _;
    serde_json::Serializer::pretty(&mut *out).collect_seq(results)?;
    out.write_all(b"\n")
}

/// The results of a run, in the order of the views, each computed when it is asked for.
pub struct Results {
    views: Vec<Box<dyn View>>,
    outputs: std::vec::IntoIter<(usize, usize)>,
    model: Option<ProcessModel>,
    span: Span,
}

impl Results {
    /// The process model of the run, when a view needed one.
    pub fn model(&self) -> Option<&ProcessModel> {
        self.model.as_ref()
    }
}

impl Iterator for Results {
    type Item = ViewResult;

    fn next(&mut self) -> Option<ViewResult> {
        let (v, o) = self.outputs.next()?;
        Some(self.views[v].finish_output(o, self.model.as_ref(), &self.span))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.outputs.size_hint()
    }
}

impl ExactSizeIterator for Results {}

impl Results {
    /// The same results in the same order, finished on `threads` threads at once (the
    /// outputs of one view one after the other), so that while one result is written the next
    /// ones are being finished. At most `threads` finished results wait to be taken.
    pub fn on_threads(self, threads: usize) -> Finished {
        let len = self.outputs.len();
        let shared = std::sync::Arc::new(Finishing {
            views: self.views.into_iter().map(std::sync::Mutex::new).collect(),
            outputs: self.outputs.collect(),
            model: self.model,
            span: self.span,
            taken: std::sync::atomic::AtomicUsize::new(0),
        });
        let (tx, rx) = std::sync::mpsc::sync_channel(0);
        let workers = (0..threads.max(1))
            .map(|_| {
                let (shared, tx) = (shared.clone(), tx.clone());
                std::thread::spawn(move || shared.finish_each(&tx))
            })
            .collect();
        Finished {
            results: rx,
            workers,
            early: FastMap::default(),
            next: 0,
            len,
        }
    }
}

/// What the threads of [`Results::on_threads`] share.
struct Finishing {
    views: Vec<std::sync::Mutex<Box<dyn View>>>,
    outputs: Vec<(usize, usize)>,
    model: Option<ProcessModel>,
    span: Span,
    /// How many outputs threads have taken.
    taken: std::sync::atomic::AtomicUsize,
}

impl Finishing {
    /// Finishes the next output no thread has taken, until none is left (or nobody takes the
    /// results any more), sending each with its position.
    fn finish_each(&self, tx: &std::sync::mpsc::SyncSender<(usize, ViewResult)>) {
        loop {
            let i = self
                .taken
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&(v, o)) = self.outputs.get(i) else {
                return;
            };
            let mut view = self.views[v]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let result = view.finish_output(o, self.model.as_ref(), &self.span);
            drop(view);
            if tx.send((i, result)).is_err() {
                return;
            }
        }
    }
}

/// The results of [`Results::on_threads`], in the order of the views.
pub struct Finished {
    results: std::sync::mpsc::Receiver<(usize, ViewResult)>,
    workers: Vec<std::thread::JoinHandle<()>>,
    /// Results finished before the ones ahead of them.
    early: FastMap<usize, ViewResult>,
    next: usize,
    len: usize,
}

impl Iterator for Finished {
    type Item = ViewResult;

    fn next(&mut self) -> Option<ViewResult> {
        if self.next >= self.len {
            return None;
        }
        loop {
            if let Some(r) = self.early.remove(&self.next) {
                self.next += 1;
                return Some(r);
            }
            match self.results.recv() {
                Ok((i, r)) => {
                    self.early.insert(i, r);
                }
                Err(_) => {
                    // Every thread ended before all results came: one of them panicked.
                    for w in self.workers.drain(..) {
                        if let Err(panic) = w.join() {
                            std::panic::resume_unwind(panic);
                        }
                    }
                    return None;
                }
            }
        }
    }
}

impl Collector {
    /// Feeds a batch of records, in frame order.
    pub fn feed(&mut self, records: &Records) {
        self.feed_range(records, 0..records.len());
    }

    /// Feeds records `range` of a batch (a run that stops partway through a batch, `-c`).
    pub fn feed_range(&mut self, records: &Records, range: std::ops::Range<usize>) {
        for rec in records.iter().skip(range.start).take(range.len()) {
            let first = *self.span.first.get_or_insert(records.first_ts);
            let ts = rec.meta.ts;
            self.last = self.last.max(ts);
            self.span.duration_ns = self.last.saturating_sub(first);
            if !rec.meta.dissected {
                continue;
            }
            let process = self.model.as_mut().and_then(|m| m.observe(&rec));
            let rel_ns = ts.saturating_sub(first);
            let name_id = match (&mut self.names, rec.event_name()) {
                (Some(names), Some(name)) if rec.is_event() => Some(match names.get(name) {
                    Some(&id) => id,
                    None => {
                        let id = names.len() as u32;
                        names.insert(name.into(), id);
                        id
                    }
                }),
                _ => None,
            };
            let cx = Cx {
                rel_ms: rel_ns as f64 / 1_000_000.0,
                rel_ns,
                process,
                model: self.model.as_ref(),
                name_id,
            };
            for v in &mut self.views {
                v.observe(&rec, &cx);
            }
        }
    }

    /// The results, in the order of the views: an iterator that finishes one view at a time
    /// (so that a caller can print each and let it go before the next).
    pub fn finish(self) -> Results {
        Results {
            views: self.views,
            outputs: self.outputs.into_iter(),
            model: self.model,
            span: self.span,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use osprey_field::fields::{dns, ip, tracee as t};

    fn build(z: &[&str]) -> (Extractor, Collector) {
        let specs = z.iter().map(|s| ViewSpec::parse(s).unwrap()).collect();
        let compile =
            |f: &str| Filter::compile(f, &osprey_filter::Macros::new()).map_err(|e| e.to_string());
        Engine::build(specs, &Preferences::default(), Detail::Full, &compile).unwrap()
    }

    #[test]
    fn trees_that_count_alike_count_once() {
        let (_, c) = build(&[
            "tracee,process_tree",
            "tracee,event_counts",
            "tracee,process_tree,container",
            "tracee,process_tree,container,frame.len > 1",
            "tracee,process_tree,network,container",
            "tracee,process_tree,network",
        ]);
        assert_eq!(c.views.len(), 4);
        assert_eq!(c.outputs, [(0, 0), (1, 0), (0, 1), (2, 0), (3, 0), (3, 1)]);
        assert_eq!(c.finish().count(), 6);
    }

    #[test]
    fn results_finished_on_threads_come_in_order() {
        let z = [
            "tracee,process_tree",
            "tracee,event_counts",
            "tracee,process_tree,container",
            "tracee,file_types",
            "tracee,process_tree,network,container",
            "tracee,process_tree,network",
        ];
        let one: Vec<ViewResult> = build(&z).1.finish().collect();
        for threads in [1, 2, 3, 8] {
            let many: Vec<ViewResult> = build(&z).1.finish().on_threads(threads).collect();
            assert_eq!(many, one, "{threads} threads");
        }
    }

    #[test]
    fn dissection_is_primed_with_the_views_fields_only() {
        let (x, _) = build(&["tracee,event_counts"]);
        let mut want = Want::none();
        x.want(&mut want);
        assert!(want.has(t::EVENT_NAME) && want.has(t::IS_SIGNATURE));
        assert!(!want.has(ip::SRC), "event counts read no addresses");
        assert!(!want.is_all() && !want.columns);
        assert!(!x.needs_every_event());

        let (x, _) = build(&[
            "tracee,process_tree,opened_files",
            "conv,ip,dns.qry.name == \"x\"",
        ]);
        let mut want = Want::none();
        x.want(&mut want);
        assert!(want.has(t::HOST_PROCESS_ID) && want.has(t::PROCESS_ENTITY_ID));
        assert!(want.wants_args_of("security_file_open"));
        assert!(want.wants_args_of("sched_process_fork"));
        assert!(want.has(ip::SRC), "conversations read addresses");
        assert!(want.has(dns::QRY_NAME), "and a view's filter its fields");
        assert!(x.needs_every_event(), "the process model sees every event");
    }
}
