//! Filtered views: the sorted frame numbers a display filter selects, computed in parallel,
//! cached by filter text, cancellable, with progress.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use osprey_dissect::{Preferences, Want};
use osprey_filter::{Filter, Prefilter};
use osprey_source::FrameKind;
use rayon::prelude::*;
use serde::Serialize;

use crate::index::Index;
use crate::job::{self, Job};

/// Views kept; the least recently asked for goes first.
const CACHED: usize = 16;

/// A filter's view of the frames.
pub struct View {
    /// The filter text, as given.
    pub text: String,
    frames: RwLock<Vec<u32>>,
    job: Job,
}

/// How far a view has come.
#[derive(Clone, Debug, Serialize)]
pub struct ViewState {
    /// The filter text.
    pub filter: String,
    /// Frames matched so far.
    pub matched: u64,
    /// Frames looked at so far.
    pub scanned: u64,
    /// Frames in the index now.
    pub total: u64,
    /// True when every frame has been looked at (and the index is complete).
    pub done: bool,
    /// True when it was cancelled before it was done.
    pub cancelled: bool,
    /// Milliseconds it took (so far).
    pub elapsed_ms: u64,
    /// A read error that stopped it.
    pub error: Option<String>,
}

impl View {
    /// Frames matched so far (0-based indexes into the index), sorted.
    pub fn with_frames<R>(&self, f: impl FnOnce(&[u32]) -> R) -> R {
        f(&self.frames.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// True when done.
    pub fn is_done(&self) -> bool {
        self.job.is_done()
    }

    /// Asks the computation to stop.
    pub fn cancel(&self) {
        self.job.cancel()
    }

    /// Where it is.
    pub fn state(&self, index: &Index) -> ViewState {
        ViewState {
            filter: self.text.clone(),
            matched: self.with_frames(|f| f.len() as u64),
            scanned: self.job.scanned(),
            total: index.len() as u64,
            done: self.job.is_done(),
            cancelled: self.job.is_cancelled(),
            elapsed_ms: self.job.elapsed_ms(),
            error: self.job.error(),
        }
    }
}

/// The views computed so far, by filter text.
pub struct Views {
    cache: Mutex<VecDeque<Arc<View>>>,
}

impl Default for Views {
    fn default() -> Self {
        Views {
            cache: Mutex::new(VecDeque::new()),
        }
    }
}

impl Views {
    /// The view of `text`, if it was made and not evicted.
    pub fn get(&self, text: &str) -> Option<Arc<View>> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let at = cache.iter().position(|v| v.text == text)?;
        let v = cache.remove(at)?;
        cache.push_front(v.clone());
        Some(v)
    }

    /// Cancels and forgets every view.
    pub fn clear(&self) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        for v in cache.drain(..) {
            v.cancel();
        }
    }

    /// Every view, most recent first.
    pub fn all(&self) -> Vec<Arc<View>> {
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// The view of `filter` (compiled from `text`): the cached one, unless it was cancelled,
    /// else a new one whose computation starts on a thread of its own.
    pub fn get_or_start(
        &self,
        text: &str,
        filter: Filter,
        index: Arc<Index>,
        prefs: Preferences,
    ) -> Arc<View> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = cache.iter().position(|v| v.text == text) {
            let v = cache.remove(at).expect("position is in range");
            if !v.job.is_cancelled() {
                cache.push_front(v.clone());
                return v;
            }
        }
        let view = Arc::new(View {
            text: text.to_string(),
            frames: RwLock::new(Vec::new()),
            job: Job::new(),
        });
        cache.push_front(view.clone());
        while cache.len() > CACHED {
            if let Some(old) = cache.pop_back() {
                old.cancel();
            }
        }
        job::spawn(
            "osprey-view-filter",
            view.clone(),
            |v| &v.job,
            move |v| compute(v, &filter, &index, &prefs),
        );
        view
    }
}

/// Runs the filter over every frame of the index (waiting for the index pass when it gets
/// ahead of it), appending matches in order.
fn compute(
    view: &View,
    filter: &Filter,
    index: &Index,
    prefs: &Preferences,
) -> std::io::Result<()> {
    let mut want = Want::none();
    osprey_print::want_fields(&mut want, filter.fields());
    let prefilter = filter.event_prefilter();
    let mut next = 0usize;
    loop {
        if view.job.is_cancelled() {
            return Ok(());
        }
        // Read `done` before the length: an index that is done has all its frames.
        let index_done = index.is_done();
        let len = index.len();
        if next >= len {
            if index_done {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let first_ts = index.first_ts().unwrap_or(0);
        let chunks = job::round(next, len);
        let round_end = chunks.last().map_or(next, |c| c.end);
        let results: Vec<std::io::Result<Vec<u32>>> = chunks
            .into_par_iter()
            .map(|range| {
                if view.job.is_cancelled() {
                    return Ok(Vec::new());
                }
                let n = range.len();
                let r = matching(index, range, filter, &prefilter, &want, prefs, first_ts);
                view.job.add_scanned(n);
                r
            })
            .collect();
        if view.job.is_cancelled() {
            return Ok(());
        }
        let mut frames = view.frames.write().unwrap_or_else(|e| e.into_inner());
        for r in results {
            frames.extend(r?);
        }
        next = round_end;
    }
}

/// The frames of `range` that match.
fn matching(
    index: &Index,
    range: std::ops::Range<usize>,
    filter: &Filter,
    prefilter: &Prefilter,
    want: &Want,
    prefs: &Preferences,
    first_ts: u64,
) -> std::io::Result<Vec<u32>> {
    let loaded = index.load_range(range)?;
    let mut out = Vec::new();
    for l in &loaded {
        // The byte test first: most events a filter rejects are never parsed.
        if l.frame.kind == FrameKind::Event && !prefilter.may_match(&l.frame.data) {
            continue;
        }
        let decoded = osprey_dissect::decode(&l.frame);
        let info = index.info(l, first_ts);
        let tree = osprey_dissect::dissect(&info, &decoded, prefs, want);
        if filter.matches(&tree) {
            out.push(l.frame.number as u32 - 1);
        }
    }
    Ok(out)
}
