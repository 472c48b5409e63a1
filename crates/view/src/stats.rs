//! Statistics windows' computations: `osprey-stats` views (the engine of `osprey read -z`, so
//! a window shows the counts the CLI prints) run over the index, cached by views and filter,
//! cancellable, with progress.
//!
//! Runs asked for together (`/api/stats/prepare`: the UI asks for every Statistics window once
//! the index is complete) share one pass: the cost is the pass over the frames, not the views.
//! A window asking for a view such a pass computes waits for the pass: the 22 views of the
//! Statistics windows together cost about 1.6 times one view alone (`BENCHMARKS.md`), and a
//! run of its own would compete with the pass for the same CPUs.
//!
//! A run reads the frames back from the store in chunks, extracts the views' fields on every
//! CPU (dissecting only what the views and the filter read, the byte prefilter first when the
//! views allow it), and feeds the records to the collector in frame order, as `osprey read`
//! does with its batches.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use osprey_dissect::{Preferences, Want};
use osprey_filter::{Filter, Prefilter};
use osprey_source::FrameKind;
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
    /// Frames the run covers: the index's length when it started.
    frames: u64,
    /// True when the index was still growing (a live capture) when the run started.
    partial: bool,
    /// The pass computing it, shared by the runs started together.
    job: Arc<Job>,
    /// True when other runs share its pass: a window letting go of it does not stop it.
    shared: bool,
    results: Mutex<Option<Arc<Vec<ViewOutput>>>>,
}

/// One view's result: the data, and the text `osprey read -z` prints for it.
#[derive(Serialize)]
pub struct ViewOutput {
    /// The view's data, as `-z ... -T json` gives it.
    pub result: ViewResult,
    /// The view as tshark-like text.
    pub text: String,
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
            frames: self.frames,
            partial: self.partial,
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
            && (!self.partial || self.frames == index.len() as u64)
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
            let started: Vec<Arc<StatsRun>> = missing
                .iter()
                .map(|views| {
                    Arc::new(StatsRun {
                        id: self.next_id.fetch_add(1, Ordering::Relaxed) + 1,
                        views: views.clone(),
                        filter: request.filter.clone(),
                        frames,
                        partial: !index.is_done(),
                        job: job.clone(),
                        shared: missing.len() > 1,
                        results: Mutex::new(None),
                    })
                })
                .collect();
            let mut new = started.iter();
            for slot in out.iter_mut().filter(|s| s.is_none()) {
                *slot = new.next().cloned();
            }
            for r in &started {
                runs.push_front(r.clone());
            }
            while runs.len() > CACHED {
                if let Some(old) = runs.pop_back() {
                    old.cancel();
                }
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
                        first.frames as usize,
                        extractor,
                        collector,
                        filter.as_ref(),
                        &index,
                        &prefs,
                    )?;
                    if let Some(results) = results {
                        let mut results = results.into_iter();
                        for r in runs.iter() {
                            let own: Vec<ViewOutput> =
                                results.by_ref().take(r.views.len()).collect();
                            *r.results.lock().unwrap_or_else(|e| e.into_inner()) =
                                Some(Arc::new(own));
                        }
                    }
                    Ok(())
                },
            );
        }
        Ok(out.into_iter().flatten().collect())
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
    let mut out = Vec::new();
    for result in collector.finish() {
        let mut text = String::new();
        osprey_stats::text::render(&result, &mut text);
        out.push(ViewOutput { result, text });
    }
    Ok(Some(out))
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
