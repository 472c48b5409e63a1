//! Sorted orders of the packet list: the frames of a view (or every frame) ordered by one
//! column, computed once per view, column and direction (O(n) cells rendered in parallel, one
//! stable O(n log n) sort) and cached.
//!
//! Cells compare as Wireshark's list does: empty cells first, then numbers by value, then text
//! by bytes; equal cells keep frame order (the sort is stable, in both directions).
//!
//! A text cell is kept once per distinct text (a column's cells repeat: event names, process
//! names, much of Info), and each frame holds only the rank of its text among them, so a sort
//! of a million frames holds a few bytes per frame beside the distinct texts.

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

/// What a frame is sorted by: a text as its number among the distinct texts, which becomes its
/// rank in byte order before the sort.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
enum Key {
    Empty,
    Number(f64),
    Text(u32),
}

fn compare(a: &Key, b: &Key) -> Ordering {
    match (a, b) {
        (Key::Number(x), Key::Number(y)) => x.total_cmp(y),
        (Key::Text(x), Key::Text(y)) => x.cmp(y),
        _ => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}

/// The distinct texts of a column's cells, each numbered once.
#[derive(Default)]
struct Texts {
    numbers: std::collections::HashMap<Box<str>, u32>,
}

impl Texts {
    /// The key of a cell (its text numbered, kept only the first time it is met).
    fn key(&mut self, cell: String) -> Key {
        if cell.is_empty() {
            return Key::Empty;
        }
        if let Ok(n) = cell.trim().parse::<f64>() {
            if n.is_finite() {
                return Key::Number(n);
            }
        }
        if let Some(&n) = self.numbers.get(cell.as_str()) {
            return Key::Text(n);
        }
        let n = self.numbers.len() as u32;
        self.numbers.insert(cell.into_boxed_str(), n);
        Key::Text(n)
    }

    /// For each text's number, its rank in byte order.
    fn ranks(self) -> Vec<u32> {
        let mut texts: Vec<(Box<str>, u32)> = self.numbers.into_iter().collect();
        texts.par_sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut rank = vec![0; texts.len()];
        for (r, (_, n)) in texts.iter().enumerate() {
            rank[*n as usize] = r as u32;
        }
        rank
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
    // Cells are rendered a round of chunks at a time, in parallel, and numbered between rounds:
    // only a round's cells are held at once beside the distinct texts.
    let round = CHUNK * rayon::current_num_threads().max(1) * 2;
    let mut texts = Texts::default();
    let mut pairs: Vec<(Key, u32)> = Vec::with_capacity(frames.len());
    for frames in frames.chunks(round) {
        let cells: Vec<std::io::Result<Vec<String>>> = frames
            .par_chunks(CHUNK)
            .map(|chunk| {
                let loaded = index.load(chunk)?;
                Ok(loaded
                    .iter()
                    .map(|l| {
                        let decoded = osprey_dissect::decode(&l.frame);
                        let info = index.info(l, first_ts);
                        let tree = osprey_dissect::dissect(&info, &decoded, prefs, &want);
                        summary.cells(&tree).pop().unwrap_or_default()
                    })
                    .collect())
            })
            .collect();
        let mut frame = frames.iter();
        for chunk in cells {
            for cell in chunk? {
                let f = *frame.next().expect("a cell per frame");
                pairs.push((texts.key(cell), f));
            }
        }
    }
    let rank = texts.ranks();
    for (key, _) in &mut pairs {
        if let Key::Text(n) = key {
            *n = rank[*n as usize];
        }
    }
    drop(rank);
    // Stable: equal cells stay in frame order, ascending or descending.
    if descending {
        pairs.par_sort_by(|a, b| compare(&b.0, &a.0));
    } else {
        pairs.par_sort_by(|a, b| compare(&a.0, &b.0));
    }
    let order = pairs.into_iter().map(|p| p.1).collect();
    // The keys and texts are gone: their memory goes back to the system, on a thread of its
    // own so that the first window does not wait for it.
    std::thread::spawn(crate::release_memory);
    Ok(order)
}
