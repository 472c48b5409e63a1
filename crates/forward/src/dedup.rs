//! Dropping the duplicates an at-least-once resend brings.
//!
//! A sender resends the chunks that were in flight when a connection broke, and a chunk the
//! receiver had taken but whose ack was lost arrives twice. Osprey's sender gives each event
//! an id `<run>-<sequence>` (a random run id, then 0, 1, 2...), so a receiver remembers, per
//! run, which of the last [`RUN_WINDOW`] sequence numbers it has taken: a bitmap, not a set
//! of strings, because at half a million events a second hashing and storing every id cost
//! the receiver a third of its time. Ids of another form (another sender's) are remembered as
//! strings, the last [`OTHER_WINDOW`] of them.

use std::collections::{HashMap, HashSet, VecDeque};

/// Sequence numbers remembered per run: a resend repeats at most the sender's window of
/// chunks (4 × 4096 events by default), so this covers it many times over.
pub const RUN_WINDOW: u64 = 1 << 17;
/// Runs remembered at once (16 KiB each); the one seen least recently is forgotten first.
pub const MAX_RUNS: usize = 1024;
/// Ids of other forms remembered.
pub const OTHER_WINDOW: usize = 1 << 18;

/// Which ids were already taken.
#[derive(Default)]
pub struct Dedup {
    runs: HashMap<String, RunWindow>,
    /// Bumped at each id, to find the run seen least recently.
    clock: u64,
    others: HashSet<String>,
    others_order: VecDeque<String>,
}

/// One run's taken sequence numbers in `(top - RUN_WINDOW, top]`, bit `seq % RUN_WINDOW`.
struct RunWindow {
    top: u64,
    bits: Vec<u64>,
    last_seen: u64,
}

impl RunWindow {
    fn new(seq: u64, now: u64) -> RunWindow {
        let mut w = RunWindow {
            top: seq,
            bits: vec![0; (RUN_WINDOW / 64) as usize],
            last_seen: now,
        };
        w.set(seq);
        w
    }

    fn slot(seq: u64) -> (usize, u64) {
        let i = seq % RUN_WINDOW;
        ((i / 64) as usize, 1 << (i % 64))
    }

    fn set(&mut self, seq: u64) {
        let (word, bit) = Self::slot(seq);
        self.bits[word] |= bit;
    }

    /// Takes `seq`: false when it was taken before. A number older than the window is
    /// forgotten, so taken again (as a string set forgets its oldest ids).
    fn take(&mut self, seq: u64) -> bool {
        if seq > self.top {
            if seq - self.top >= RUN_WINDOW {
                self.bits.fill(0);
            } else {
                for s in self.top + 1..seq {
                    let (word, bit) = Self::slot(s);
                    self.bits[word] &= !bit;
                }
            }
            self.top = seq;
            self.set(seq);
            return true;
        }
        if self.top - seq >= RUN_WINDOW {
            return true;
        }
        let (word, bit) = Self::slot(seq);
        let fresh = self.bits[word] & bit == 0;
        self.bits[word] |= bit;
        fresh
    }
}

/// `<run>-<sequence>` as Osprey's sender writes it.
fn split_id(id: &str) -> Option<(&str, u64)> {
    let (run, seq) = id.rsplit_once('-')?;
    if run.is_empty() || seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((run, seq.parse().ok()?))
}

impl Dedup {
    /// Takes an id: false when it was taken before (a duplicate to drop).
    pub fn take(&mut self, id: &str) -> bool {
        self.clock += 1;
        match split_id(id) {
            Some((run, seq)) => self.take_seq(run, seq),
            None => self.take_other(id),
        }
    }

    fn take_seq(&mut self, run: &str, seq: u64) -> bool {
        if let Some(w) = self.runs.get_mut(run) {
            w.last_seen = self.clock;
            return w.take(seq);
        }
        if self.runs.len() >= MAX_RUNS {
            let oldest = self
                .runs
                .iter()
                .min_by_key(|(_, w)| w.last_seen)
                .map(|(r, _)| r.clone());
            if let Some(r) = oldest {
                self.runs.remove(&r);
            }
        }
        self.runs
            .insert(run.to_string(), RunWindow::new(seq, self.clock));
        true
    }

    fn take_other(&mut self, id: &str) -> bool {
        if self.others.contains(id) {
            return false;
        }
        self.others.insert(id.to_string());
        self.others_order.push_back(id.to_string());
        if self.others_order.len() > OTHER_WINDOW {
            if let Some(old) = self.others_order.pop_front() {
                self.others.remove(&old);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resent_sequence_is_dropped_in_any_order() {
        let mut d = Dedup::default();
        for s in 0..10_000u64 {
            assert!(d.take(&format!("ab12-{s}")));
        }
        // a resend of chunks still in the window, out of order
        for s in (5_000..10_000u64).rev() {
            assert!(!d.take(&format!("ab12-{s}")), "{s}");
        }
        // a gap, then the numbers inside it arrive late: each taken once
        assert!(d.take("ab12-10100"));
        for s in 10_000..10_100u64 {
            assert!(d.take(&format!("ab12-{s}")), "{s}");
            assert!(!d.take(&format!("ab12-{s}")), "{s} again");
        }
        // another run with the same numbers is another sender
        assert!(d.take("cd34-5000"));
    }

    #[test]
    fn a_jump_past_the_window_forgets_what_it_leaves_behind() {
        let mut d = Dedup::default();
        assert!(d.take("r-7"));
        let far = 7 + RUN_WINDOW;
        assert!(d.take(&format!("r-{far}")));
        // 7 is out of the window now: forgotten, taken again; its slot was cleared
        assert!(d.take("r-7"));
        assert!(!d.take(&format!("r-{far}")));
        // a number whose slot was used by 7 before the jump is not mistaken for taken
        assert!(d.take(&format!("r-{}", far + 1)));
        assert!(d.take(&format!("r-{}", 7 + 2 * RUN_WINDOW)));
        assert!(!d.take(&format!("r-{}", 7 + 2 * RUN_WINDOW)));
    }

    #[test]
    fn ids_of_other_forms_are_remembered_as_strings() {
        let mut d = Dedup::default();
        for id in ["x", "x-", "-3", "a-b", "a-+3", "a-99999999999999999999999"] {
            assert!(d.take(id), "{id}");
            assert!(!d.take(id), "{id} again");
        }
    }

    #[test]
    fn the_run_seen_least_recently_is_forgotten_first() {
        let mut d = Dedup::default();
        for r in 0..MAX_RUNS {
            assert!(d.take(&format!("run{r}-0")));
        }
        assert!(!d.take("run0-0")); // run0 is now the most recent
        assert!(d.take("new-0")); // forgets run1
        assert_eq!(d.runs.len(), MAX_RUNS);
        assert!(!d.take("run0-0"));
        assert!(d.take("run1-0"));
    }
}
