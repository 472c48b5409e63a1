//! Sorted orders of the packet list: the frames of a view (or every frame) ordered by one
//! column, computed once per view, column and direction (O(n) cells rendered in parallel, one
//! stable O(n log n) sort) and cached.
//!
//! Cells compare as Wireshark's list does: empty cells first, then numbers by value, then text
//! by bytes; equal cells keep frame order (the sort is stable, in both directions).

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

use osprey_dissect::Want;
use osprey_print::profile::Column;
use osprey_print::text::Summary;
use rayon::prelude::*;

use crate::index::Index;

/// Orders kept; the least recently asked for goes first.
const CACHED: usize = 8;

/// Frames rendered at a time by a worker.
const CHUNK: usize = 4096;

/// What a frame is sorted by.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Key {
    Empty,
    Number(f64),
    Text(String),
}

fn key_of(cell: String) -> Key {
    if cell.is_empty() {
        return Key::Empty;
    }
    match cell.trim().parse::<f64>() {
        Ok(n) if n.is_finite() => Key::Number(n),
        _ => Key::Text(cell),
    }
}

fn compare(a: &Key, b: &Key) -> Ordering {
    match (a, b) {
        (Key::Number(x), Key::Number(y)) => x.total_cmp(y),
        (Key::Text(x), Key::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        _ => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}

/// One cached order.
struct Sorted {
    key: String,
    order: OnceLock<Result<Arc<Vec<u32>>, String>>,
}

/// The cached orders.
#[derive(Default)]
pub struct Sorts {
    cache: Mutex<VecDeque<Arc<Sorted>>>,
}

impl Sorts {
    /// The frames of `frames` (0-based indexes, in frame order) sorted by column `column` of
    /// `columns` (`descending` or not), from the cache under `key` or computed now. The caller
    /// passes the frames of a complete view: an order is never recomputed for the same key.
    #[allow(clippy::too_many_arguments)]
    pub fn order(
        &self,
        key: String,
        index: &Index,
        frames: impl FnOnce() -> Vec<u32>,
        columns: &[Column],
        column: usize,
        descending: bool,
        prefs: &osprey_dissect::Preferences,
    ) -> Result<Arc<Vec<u32>>, String> {
        let slot = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            match cache.iter().position(|s| s.key == key) {
                Some(at) => {
                    let s = cache.remove(at).expect("in range");
                    cache.push_front(s.clone());
                    s
                }
                None => {
                    let s = Arc::new(Sorted {
                        key,
                        order: OnceLock::new(),
                    });
                    cache.push_front(s.clone());
                    cache.truncate(CACHED);
                    s
                }
            }
        };
        // Computed once: a second client asking meanwhile waits for the first.
        slot.order
            .get_or_init(|| {
                sort(index, frames(), columns, column, descending, prefs)
                    .map(Arc::new)
                    .map_err(|e| format!("reading frames: {e}"))
            })
            .clone()
    }
}

fn sort(
    index: &Index,
    mut frames: Vec<u32>,
    columns: &[Column],
    column: usize,
    descending: bool,
    prefs: &osprey_dissect::Preferences,
) -> std::io::Result<Vec<u32>> {
    let abbrev = &*columns[column].info.abbrev;
    if abbrev == "frame.number" {
        // Already in frame order.
        if descending {
            frames.reverse();
        }
        return Ok(frames);
    }
    if abbrev.starts_with("frame.time") && abbrev != "frame.time_delta_displayed" {
        // Every time format orders like the timestamp (deltas to the previous frame aside).
        if !abbrev.starts_with("frame.time_delta") {
            let entries = frames
                .iter()
                .map(|&f| index.entry(f as usize).map_or(0, |e| e.ts))
                .collect::<Vec<u64>>();
            let mut pairs: Vec<(u64, u32)> = entries.into_iter().zip(frames).collect();
            if descending {
                pairs.sort_by_key(|p| std::cmp::Reverse(p.0));
            } else {
                pairs.sort_by_key(|p| p.0);
            }
            return Ok(pairs.into_iter().map(|p| p.1).collect());
        }
    }
    let summary = Summary::new(&columns[column..=column]);
    let mut want = Want::none();
    want.columns();
    osprey_print::want_fields(&mut want, [columns[column].field]);
    let first_ts = index.first_ts().unwrap_or(0);
    let keys: Vec<std::io::Result<Vec<Key>>> = frames
        .par_chunks(CHUNK)
        .map(|chunk| {
            let loaded = index.load(chunk)?;
            Ok(loaded
                .iter()
                .map(|l| {
                    let decoded = osprey_dissect::decode(&l.frame);
                    let info = index.info(l, first_ts);
                    let tree = osprey_dissect::dissect(&info, &decoded, prefs, &want);
                    key_of(summary.cells(&tree).pop().unwrap_or_default())
                })
                .collect())
        })
        .collect();
    let mut pairs = Vec::with_capacity(frames.len());
    let mut at = 0;
    for k in keys {
        for key in k? {
            pairs.push((key, frames[at]));
            at += 1;
        }
    }
    // Stable: equal cells stay in frame order, ascending or descending.
    if descending {
        pairs.par_sort_by(|a, b| compare(&b.0, &a.0));
    } else {
        pairs.par_sort_by(|a, b| compare(&a.0, &b.0));
    }
    let order = pairs.into_iter().map(|p| p.1).collect();
    // The keys (a rendered cell per frame) are gone: their memory goes back to the system, on
    // a thread of its own so that the first window does not wait for it.
    std::thread::spawn(crate::release_memory);
    Ok(order)
}
