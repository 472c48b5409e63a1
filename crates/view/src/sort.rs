//! Sorted orders of the packet list: the frames of a view (or every frame) ordered by one
//! column, computed once per view, column and direction (O(n) cells rendered in parallel, one
//! stable O(n log n) sort) and cached.
//!
//! Cells compare as Wireshark's list does: empty cells first, then numbers by value, then text
//! by bytes; equal cells keep frame order (the sort is stable, in both directions).
//!
//! A text cell is kept once per distinct text (a column's cells repeat: event names, process
//! names, much of Info), and each frame holds only the rank of its text among them and its own
//! number (8 bytes), sorted in place, so a sort of a million frames holds a few bytes per
//! frame beside the distinct texts.

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

/// The frames' sort keys, kept per kind of cell, so that a text cell costs 8 bytes (its text's
/// number, then rank, and the frame) and the sort needs no buffer of its own: empty cells
/// first, then numbers by value, then texts by their rank in byte order.
#[derive(Default)]
struct Keys {
    empty: Vec<u32>,
    numbers: Vec<(f64, u32)>,
    texts: Vec<(u32, u32)>,
}

impl Keys {
    /// Adds frame `frame`'s cell (frames come in frame order).
    fn push(&mut self, texts: &mut Texts, cell: String, frame: u32) {
        if cell.is_empty() {
            self.empty.push(frame);
            return;
        }
        if let Ok(n) = cell.trim().parse::<f64>() {
            if n.is_finite() {
                self.numbers.push((n, frame));
                return;
            }
        }
        self.texts.push((texts.number(cell), frame));
    }

    /// The frames in order. Equal cells keep frame order in both directions: the frame number
    /// breaks ties, which makes an unstable sort (in place) give the stable order.
    fn order(self, rank: &[u32], descending: bool) -> Vec<u32> {
        let Keys {
            empty,
            mut numbers,
            mut texts,
        } = self;
        for t in &mut texts {
            t.0 = rank[t.0 as usize];
        }
        let by = |o: Ordering| if descending { o.reverse() } else { o };
        numbers.par_sort_unstable_by(|a, b| by(a.0.total_cmp(&b.0)).then(a.1.cmp(&b.1)));
        texts.par_sort_unstable_by(|a, b| by(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
        let mut order = Vec::with_capacity(empty.len() + numbers.len() + texts.len());
        let numbers = numbers.into_iter().map(|p| p.1);
        let texts = texts.into_iter().map(|p| p.1);
        if descending {
            order.extend(texts);
            order.extend(numbers);
            order.extend(empty);
        } else {
            order.extend(empty);
            order.extend(numbers);
            order.extend(texts);
        }
        order
    }
}

/// The distinct texts of a column's cells, each numbered once.
#[derive(Default)]
struct Texts {
    numbers: std::collections::HashMap<Box<str>, u32>,
}

impl Texts {
    /// The number of a text (kept only the first time it is met).
    fn number(&mut self, cell: String) -> u32 {
        if let Some(&n) = self.numbers.get(cell.as_str()) {
            return n;
        }
        let n = self.numbers.len() as u32;
        self.numbers.insert(cell.into_boxed_str(), n);
        n
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
    let mut keys = Keys::default();
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
                keys.push(&mut texts, cell, f);
            }
        }
    }
    let rank = texts.ranks();
    let order = keys.order(&rank, descending);
    drop(rank);
    // The keys and texts are gone: their memory goes back to the system, on a thread of its
    // own so that the first window does not wait for it.
    std::thread::spawn(crate::release_memory);
    Ok(order)
}
