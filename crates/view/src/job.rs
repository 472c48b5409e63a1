//! A computation over the index on a thread of its own — a filter's view, a statistics run:
//! its progress (frames scanned), cancellation, the time it took and the error that stopped it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Rounds of chunks: frames a worker takes at a time (one read from the store each).
pub(crate) const CHUNK: usize = 4096;

/// A job's state, shared by its thread and the API.
pub(crate) struct Job {
    scanned: AtomicU64,
    done: AtomicBool,
    cancelled: AtomicBool,
    started: Instant,
    elapsed_ms: AtomicU64,
    error: Mutex<Option<String>>,
}

impl Job {
    /// A job starting now.
    pub(crate) fn new() -> Job {
        Job {
            scanned: AtomicU64::new(0),
            done: AtomicBool::new(false),
            cancelled: AtomicBool::new(false),
            started: Instant::now(),
            elapsed_ms: AtomicU64::new(0),
            error: Mutex::new(None),
        }
    }

    /// Frames looked at so far.
    pub(crate) fn scanned(&self) -> u64 {
        self.scanned.load(Ordering::Acquire)
    }

    /// Counts `n` more frames looked at.
    pub(crate) fn add_scanned(&self, n: usize) {
        self.scanned.fetch_add(n as u64, Ordering::AcqRel);
    }

    /// True once its thread ended.
    pub(crate) fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// True when it was asked to stop.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Asks it to stop (nothing when it is done).
    pub(crate) fn cancel(&self) {
        if !self.is_done() {
            self.cancelled.store(true, Ordering::Release);
        }
    }

    /// Milliseconds it took, or has taken so far.
    pub(crate) fn elapsed_ms(&self) -> u64 {
        if self.is_done() {
            self.elapsed_ms.load(Ordering::Relaxed)
        } else {
            self.started.elapsed().as_millis() as u64
        }
    }

    /// What stopped it, if something did.
    pub(crate) fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn end(&self, error: Option<String>) {
        if error.is_some() {
            *self.error.lock().unwrap_or_else(|e| e.into_inner()) = error;
        }
        self.elapsed_ms
            .store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
        self.done.store(true, Ordering::Release);
    }
}

/// The chunks of the next round over frames `next..len`: a few per worker, so that progress
/// and cancellation are seen between rounds.
pub(crate) fn round(next: usize, len: usize) -> Vec<std::ops::Range<usize>> {
    let end = len.min(next + CHUNK * rayon::current_num_threads().max(1) * 4);
    (next..end)
        .step_by(CHUNK)
        .map(|s| s..(s + CHUNK).min(end))
        .collect()
}

/// Runs `work` for `owner` on a thread named `name`; the job (`job(owner)`) is done when it
/// returns, with a read error as its error.
pub(crate) fn spawn<O: Send + Sync + 'static>(
    name: &str,
    owner: Arc<O>,
    job: fn(&O) -> &Job,
    work: impl FnOnce(&O) -> std::io::Result<()> + Send + 'static,
) {
    let running = owner.clone();
    let spawned = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let error = work(&running).err().map(|e| format!("reading frames: {e}"));
            job(&running).end(error);
            // Once the job is seen done: what it freed goes back to the system, off the path
            // of whoever waits for it.
            crate::release_memory();
        });
    if let Err(e) = spawned {
        job(&owner).end(Some(e.to_string()));
    }
}
