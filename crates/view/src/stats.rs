//! Statistics windows' computations: `osprey-stats` views (the engine of `osprey read -z`, so
//! a window shows the counts the CLI prints) run over the index, cached by views and filter,
//! cancellable, with progress.
//!
//! The Statistics windows' own views of a recording ([`WINDOW_VIEWS`]) are counted by the
//! index pass itself ([`StatsRuns::start_in_index_pass`], [`PassViews`]): the pass decodes and
//! dissects every frame for the coloring rules already, so recording the views' fields from the
//! same dissection costs a fraction of a pass of their own, and the windows are ready about
//! when the index is (`BENCHMARKS.md`).
//!
//! Other runs read the frames back from the store in chunks, extract the views' fields on every
//! CPU (dissecting only what the views and the filter read, the byte prefilter first when the
//! views allow it), and feed the records to the collector in frame order, as `osprey read`
//! does with its batches. Runs asked for together (`/api/stats/prepare`: the UI asks for every
//! window once the index is complete, which for a stream or a live capture the index pass did
//! not count) share one pass: the cost is the pass over the frames, not the views.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use osprey_dissect::{Preferences, Tree, Want};
use osprey_filter::{Filter, Macros, Prefilter};
use osprey_source::{Frame, FrameKind};
use osprey_stats::{Collector, Extractor, Records, ViewResult};
use rayon::prelude::*;
use serde::Serialize;

use crate::index::Index;
use crate::job::{self, Job};

/// Runs kept; the least recently asked for goes first. Room for a prepared batch of every
/// Statistics window and the runs a user starts after it.
const CACHED: usize = 48;

/// One computation of a set of views under a display filter.
pub struct StatsRun {
    /// Its number (`/api/stats/{id}`).
    pub id: u64,
    /// The `-z` arguments, in order.
    pub views: Vec<String>,
    /// The display filter narrowing every view ('' for none).
    pub filter: String,
    /// Frames the run covers: the index's length when it started (a run computed during the
    /// index pass: the frames indexed so far).
    frames: AtomicU64,
    /// True when it is computed during the index pass, from the pass's own dissection.
    in_index_pass: bool,
    /// True when the index was still growing (a live capture) when the run started.
    partial: bool,
    /// The pass computing it, shared by the runs started together.
    job: Arc<Job>,
    /// True when other runs share its pass: a window letting go of it does not stop it.
    shared: bool,
    results: Mutex<Option<Arc<Vec<ViewOutput>>>>,
}

/// One view's result. It serializes as the data and the text `osprey read -z` prints for it
/// (`{"result": ..., "text": "..."}`); the text is rendered when asked for, not kept: a
/// process tree's is tens of megabytes for a million events, and most windows never copy it.
pub struct ViewOutput {
    /// The view's data, as `-z ... -T json` gives it.
    pub result: ViewResult,
}

impl ViewOutput {
    /// The view as tshark-like text.
    pub fn text(&self) -> String {
        let mut text = String::new();
        osprey_stats::text::render(&self.result, &mut text);
        text
    }
}

impl Serialize for ViewOutput {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("ViewOutput", 2)?;
        out.serialize_field("result", &self.result)?;
        out.serialize_field("text", &self.text())?;
        out.end()
    }
}

/// Where a run is.
#[derive(Clone, Debug, Serialize)]
pub struct StatsState {
    /// The run's number.
    pub id: u64,
    /// The `-z` arguments.
    pub views: Vec<String>,
    /// The display filter.
    pub filter: String,
    /// Frames looked at so far.
    pub scanned: u64,
    /// Frames the run covers.
    pub frames: u64,
    /// True when the run covers only the frames a growing capture had when it started.
    pub partial: bool,
    /// True when it is computed during the index pass (the Statistics windows' views of a
    /// recording), from the frames as they are indexed.
    pub in_index_pass: bool,
    /// True when the results are ready.
    pub done: bool,
    /// True when it was cancelled first.
    pub cancelled: bool,
    /// Milliseconds it took (so far).
    pub elapsed_ms: u64,
    /// A read error that stopped it.
    pub error: Option<String>,
}

impl StatsRun {
    /// Where it is.
    pub fn state(&self) -> StatsState {
        StatsState {
            id: self.id,
            views: self.views.clone(),
            filter: self.filter.clone(),
            scanned: self.job.scanned(),
            frames: self.frames.load(Ordering::Acquire),
            partial: self.partial,
            in_index_pass: self.in_index_pass,
            done: self.job.is_done(),
            cancelled: self.job.is_cancelled(),
            elapsed_ms: self.job.elapsed_ms(),
            error: self.job.error(),
        }
    }

    /// The results, once done (none when cancelled or failed).
    pub fn results(&self) -> Option<Arc<Vec<ViewOutput>>> {
        self.results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Asks the computation to stop, unless other runs share its pass.
    pub fn cancel(&self) {
        if !self.shared {
            self.job.cancel()
        }
    }

    fn reusable(&self, index: &Index) -> bool {
        !self.job.is_cancelled()
            && self.job.error().is_none()
            // A run over part of a growing capture is redone once more frames came.
            && (!self.partial || self.frames.load(Ordering::Acquire) == index.len() as u64)
    }
}

/// The runs so far.
#[derive(Default)]
pub struct StatsRuns {
    runs: Mutex<VecDeque<Arc<StatsRun>>>,
    next_id: AtomicU64,
}

/// What runs are asked to compute under one display filter, checked and compiled.
pub struct StatsRequest {
    /// Each run's `-z` arguments.
    pub runs: Vec<Vec<String>>,
    /// The display filter text ('' for none).
    pub filter: String,
    /// The compiled display filter.
    pub compiled: Option<Filter>,
}

impl StatsRuns {
    /// The run of `id`, if kept.
    pub fn get(&self, id: u64) -> Option<Arc<StatsRun>> {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.iter().find(|r| r.id == id).cloned()
    }

    /// Stops and forgets every run (the preferences changed: labels would differ).
    pub fn clear(&self) {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        for r in runs.drain(..) {
            r.job.cancel();
        }
    }

    /// For each of the request's runs, the run of the same views and filter if one is kept and
    /// still good; the others are started together, one pass on a thread of their own, with
    /// the engine `engine` sets up for their views (in order).
    pub fn get_or_start(
        &self,
        request: StatsRequest,
        index: Arc<Index>,
        prefs: Preferences,
        engine: impl FnOnce(&[Vec<String>]) -> Result<(Extractor, Collector), String>,
    ) -> Result<Vec<Arc<StatsRun>>, String> {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<Option<Arc<StatsRun>>> = Vec::with_capacity(request.runs.len());
        for views in &request.runs {
            let kept = runs.iter().position(|r| {
                &r.views == views && r.filter == request.filter && r.reusable(&index)
            });
            out.push(kept.map(|at| {
                let r = runs.remove(at).expect("position is in range");
                runs.push_front(r.clone());
                r
            }));
        }
        let missing: Vec<Vec<String>> = (request.runs.iter().zip(&out))
            .filter(|(_, kept)| kept.is_none())
            .map(|(views, _)| views.clone())
            .collect();
        if !missing.is_empty() {
            let (extractor, collector) = engine(&missing)?;
            let job = Arc::new(Job::new());
            let frames = index.len() as u64;
            let started = self.register(
                &mut runs,
                &missing,
                &request.filter,
                (frames, !index.is_done(), false),
                &job,
            );
            let mut new = started.iter();
            for slot in out.iter_mut().filter(|s| s.is_none()) {
                *slot = new.next().cloned();
            }
            let filter = request.compiled;
            job::spawn(
                "osprey-view-stats",
                Arc::new(started),
                |runs| &*runs[0].job,
                move |runs| {
                    let first = &runs[0];
                    let results = compute(
                        &first.job,
                        first.frames.load(Ordering::Acquire) as usize,
                        extractor,
                        collector,
                        filter.as_ref(),
                        &index,
                        &prefs,
                    )?;
                    if let Some(results) = results {
                        set_results(runs, results);
                    }
                    Ok(())
                },
            );
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// New runs of `views` (one per list) under `filter`, sharing `job`, kept first; `scope`
    /// is (frames covered, partial, computed in the index pass).
    fn register(
        &self,
        runs: &mut VecDeque<Arc<StatsRun>>,
        views: &[Vec<String>],
        filter: &str,
        (frames, partial, in_index_pass): (u64, bool, bool),
        job: &Arc<Job>,
    ) -> Vec<Arc<StatsRun>> {
        let started: Vec<Arc<StatsRun>> = views
            .iter()
            .map(|own| {
                Arc::new(StatsRun {
                    id: self.next_id.fetch_add(1, Ordering::Relaxed) + 1,
                    views: own.clone(),
                    filter: filter.to_string(),
                    frames: AtomicU64::new(frames),
                    partial,
                    in_index_pass,
                    job: job.clone(),
                    shared: views.len() > 1,
                    results: Mutex::new(None),
                })
            })
            .collect();
        for r in &started {
            runs.push_front(r.clone());
        }
        while runs.len() > CACHED {
            if let Some(old) = runs.pop_back() {
                old.cancel();
            }
        }
        started
    }

    /// Starts the runs of the Statistics windows' views ([`WINDOW_VIEWS`], no filter) to be
    /// fed by the index pass: the pass decodes and dissects every frame already, so the views
    /// cost only their own fields and counting, and the windows open at once when the index
    /// is complete instead of waiting for a pass of their own.
    pub(crate) fn start_in_index_pass(
        &self,
        prefs: &Preferences,
        macros: &Macros,
    ) -> Result<PassViews, String> {
        let views: Vec<Vec<String>> = WINDOW_VIEWS.iter().map(|v| vec![v.to_string()]).collect();
        let (extractor, collector) = engine(&views, prefs, macros)?;
        let job = Arc::new(Job::new());
        let started = {
            let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
            self.register(&mut runs, &views, "", (0, false, true), &job)
        };
        let (rounds, fed) = std::sync::mpsc::sync_channel::<PassRound>(2);
        let started = Arc::new(started);
        job::spawn(
            "osprey-view-stats-feed",
            started.clone(),
            |runs| &*runs[0].job,
            move |runs| feed_from_index_pass(runs, collector, fed),
        );
        Ok(PassViews {
            extractor,
            rounds,
            runs: started,
        })
    }
}

/// The views of the Statistics windows, each a run of its own (the windows' tabs, in menu
/// order). The UI opens a window on the run of its view; these are computed during the index
/// pass of a recording.
pub const WINDOW_VIEWS: &[&str] = &[
    "tracee,event_counts",
    "tracee,event_counts,container",
    "tracee,file_types",
    "tracee,process_tree",
    "tracee,process_tree,container",
    "tracee,process_tree,opened_files",
    "tracee,process_tree,opened_files,container",
    "tracee,process_tree,written_files",
    "tracee,process_tree,written_files,container",
    "tracee,process_tree,network",
    "tracee,process_tree,network,container",
    "tracee,process_tree,signatures",
    "tracee,process_tree,signatures,container",
    "conv,ip",
    "conv,tcp",
    "conv,udp",
    "endpoints,ip",
    "endpoints,tcp",
    "endpoints,udp",
    "io,phs",
    "dns,tree",
    "http,tree",
];

/// The engine of the views of `runs` (in order), their own filters compiled with `macros`.
pub(crate) fn engine(
    runs: &[Vec<String>],
    prefs: &Preferences,
    macros: &Macros,
) -> Result<(Extractor, Collector), String> {
    let specs = runs
        .iter()
        .flatten()
        .map(|v| osprey_stats::ViewSpec::parse(v))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let compile_view = |text: &str| Filter::compile(text, macros).map_err(|e| e.to_string());
    osprey_stats::Engine::build(specs, prefs, osprey_stats::Detail::Full, &compile_view)
        .map_err(|e| e.to_string())
}

/// What the index pass sends the views: a batch's records in frame order with the number of
/// frames indexed after it, or the end of the pass. (A pass that stops otherwise drops its
/// sender: the runs then fail.)
enum PassRound {
    Batch(Vec<Records>, u64),
    End,
}

/// The index pass's side of the runs [`StatsRuns::start_in_index_pass`] started: it records
/// each frame it dissects and sends each batch's records; a thread of their own feeds them to
/// the views in frame order and finishes the runs when the pass ends.
pub struct PassViews {
    extractor: Extractor,
    rounds: std::sync::mpsc::SyncSender<PassRound>,
    runs: Arc<Vec<Arc<StatsRun>>>,
}

impl PassViews {
    /// Adds what the views read to what the pass dissects.
    pub(crate) fn want(&self, want: &mut Want) {
        self.extractor.want(want);
    }

    /// True while the runs are wanted (their job was not cancelled, as a change of
    /// preferences does).
    pub(crate) fn wanted(&self) -> bool {
        !self.runs[0].job.is_cancelled()
    }

    /// Records a frame the pass decoded (`tree` is `None` for a damaged event, of which only
    /// the time counts, as in a run of its own).
    pub(crate) fn record(&self, frame: &Frame, tree: Option<&Tree<'_>>, out: &mut Records) {
        match tree {
            Some(tree) => self.extractor.record(frame, tree, true, out),
            None => self.extractor.skip(frame, out),
        }
    }

    /// Sends a batch's records (in frame order); `indexed` frames are in the index after it.
    pub(crate) fn send(&self, batch: Vec<Records>, indexed: u64) {
        let _ = self.rounds.send(PassRound::Batch(batch, indexed));
    }

    /// The pass read every frame: the runs are finished.
    pub(crate) fn end(self) {
        let _ = self.rounds.send(PassRound::End);
    }
}

/// The feeding thread of the runs computed in the index pass.
fn feed_from_index_pass(
    runs: &[Arc<StatsRun>],
    mut collector: Collector,
    rounds: std::sync::mpsc::Receiver<PassRound>,
) -> std::io::Result<()> {
    let job = &runs[0].job;
    loop {
        match rounds.recv() {
            Ok(PassRound::Batch(batch, indexed)) => {
                if job.is_cancelled() {
                    // Nobody wants them: let the pass go on without waiting for us.
                    drop(rounds);
                    return Ok(());
                }
                for r in &batch {
                    collector.feed(r);
                    job.add_scanned(r.len());
                }
                for r in runs {
                    r.frames.store(indexed, Ordering::Release);
                }
            }
            Ok(PassRound::End) => break,
            Err(_) => return Err(std::io::Error::other("the index pass stopped")),
        }
    }
    set_results(runs, finish(collector));
    Ok(())
}

/// The views' results, in order, finished on every CPU (a process tree of many processes
/// takes a while).
fn finish(collector: Collector) -> Vec<ViewOutput> {
    collector
        .finish()
        .on_threads(rayon::current_num_threads())
        .map(|result| ViewOutput { result })
        .collect()
}

/// Gives each run its views' results, from `results` in the runs' order.
fn set_results(runs: &[Arc<StatsRun>], results: Vec<ViewOutput>) {
    let mut results = results.into_iter();
    for r in runs {
        let own: Vec<ViewOutput> = results.by_ref().take(r.views.len()).collect();
        *r.results.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(own));
    }
}

/// Runs the views over the first `len` frames; `None` when cancelled.
fn compute(
    job: &Job,
    len: usize,
    extractor: Extractor,
    collector: Collector,
    filter: Option<&Filter>,
    index: &Index,
    prefs: &Preferences,
) -> std::io::Result<Option<Vec<ViewOutput>>> {
    let mut want = Want::none();
    extractor.want(&mut want);
    if let Some(f) = filter {
        osprey_print::want_fields(&mut want, f.fields());
    }
    // The process model needs every fork, exec and name: no event may be skipped unparsed then.
    let prefilter = filter
        .filter(|_| !extractor.needs_every_event())
        .map(Filter::event_prefilter);
    let first_ts = index.first_ts().unwrap_or(0);
    // The collector is fed in frame order on a thread of its own while the next round is
    // extracted: feeding is serial, and done between rounds it left a CPU idle.
    let (rounds, fed) = std::sync::mpsc::sync_channel::<Vec<Records>>(1);
    let feeder = std::thread::Builder::new()
        .name("osprey-view-stats-feed".into())
        .spawn(move || {
            let mut collector = collector;
            for round in fed {
                for r in &round {
                    collector.feed(r);
                }
            }
            collector
        })?;
    let mut next = 0usize;
    let mut failed = None;
    while next < len && !job.is_cancelled() {
        let chunks = job::round(next, len);
        let round_end = chunks.last().map_or(len, |c| c.end);
        let records: std::io::Result<Vec<Records>> = chunks
            .into_par_iter()
            .map(|range| {
                let n = range.len();
                let r = extract(
                    index,
                    range,
                    &extractor,
                    filter,
                    prefilter.as_ref(),
                    &want,
                    prefs,
                    first_ts,
                );
                job.add_scanned(n);
                r
            })
            .collect();
        match records {
            Ok(round) => {
                if rounds.send(round).is_err() {
                    break;
                }
            }
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
        next = round_end;
    }
    drop(rounds);
    let collector = feeder
        .join()
        .map_err(|_| std::io::Error::other("the statistics collector panicked"))?;
    if let Some(e) = failed {
        return Err(e);
    }
    if job.is_cancelled() {
        return Ok(None);
    }
    Ok(Some(finish(collector)))
}

/// The records of frames `range`.
#[allow(clippy::too_many_arguments)]
fn extract(
    index: &Index,
    range: std::ops::Range<usize>,
    extractor: &Extractor,
    filter: Option<&Filter>,
    prefilter: Option<&Prefilter>,
    want: &Want,
    prefs: &Preferences,
    first_ts: u64,
) -> std::io::Result<Records> {
    let loaded = index.load_range(range)?;
    let mut records = Records::new(first_ts);
    for l in &loaded {
        let frame = &l.frame;
        if frame.kind == FrameKind::Event && prefilter.is_some_and(|p| !p.may_match(&frame.data)) {
            extractor.skip(frame, &mut records);
            continue;
        }
        let decoded = osprey_dissect::decode(frame);
        if decoded.malformed().is_some() && frame.capture.is_none() {
            extractor.skip(frame, &mut records);
            continue;
        }
        let info = index.info(l, first_ts);
        let tree = osprey_dissect::dissect(&info, &decoded, prefs, want);
        let passes = filter.is_none_or(|f| f.matches(&tree));
        extractor.record(frame, &tree, passes, &mut records);
    }
    Ok(records)
}
