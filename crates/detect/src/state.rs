//! Bounded per-process state: what the stateful detections remember about a process, keyed by
//! host PID, forgotten when the process exits, and bounded in entries however many processes
//! a run sees (two generations: when the current one is full, the older is dropped).

use std::collections::HashMap;

/// A map from host PID to `V` holding at most about `2 * cap` entries.
#[derive(Debug)]
pub struct ProcMap<V> {
    cap: usize,
    cur: HashMap<i64, V>,
    old: HashMap<i64, V>,
}

impl<V> ProcMap<V> {
    /// A map whose generations hold `cap` entries each.
    pub fn new(cap: usize) -> ProcMap<V> {
        ProcMap {
            cap: cap.max(1),
            cur: HashMap::new(),
            old: HashMap::new(),
        }
    }

    /// The entry of `pid`, if it is remembered (an entry of the older generation moves to the
    /// current one).
    pub fn get_mut(&mut self, pid: i64) -> Option<&mut V> {
        if !self.cur.contains_key(&pid) {
            let v = self.old.remove(&pid)?;
            self.insert(pid, v);
        }
        self.cur.get_mut(&pid)
    }

    /// The entry of `pid`, without moving it.
    pub fn get(&self, pid: i64) -> Option<&V> {
        self.cur.get(&pid).or_else(|| self.old.get(&pid))
    }

    /// The entry of `pid`, made with `make` when there is none.
    pub fn entry(&mut self, pid: i64, make: impl FnOnce() -> V) -> &mut V {
        if self.get_mut(pid).is_none() {
            self.insert(pid, make());
        }
        self.cur.get_mut(&pid).expect("just inserted")
    }

    /// Remembers `v` for `pid`.
    pub fn insert(&mut self, pid: i64, v: V) {
        if self.cur.len() >= self.cap && !self.cur.contains_key(&pid) {
            self.old = std::mem::take(&mut self.cur);
        }
        self.old.remove(&pid);
        self.cur.insert(pid, v);
    }

    /// Forgets `pid`.
    pub fn remove(&mut self, pid: i64) -> Option<V> {
        self.cur.remove(&pid).or_else(|| self.old.remove(&pid))
    }

    /// Number of processes remembered.
    pub fn len(&self) -> usize {
        self.cur.len() + self.old.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_forgetting() {
        let mut m = ProcMap::new(4);
        for pid in 0..100 {
            m.insert(pid, pid * 2);
            assert!(m.len() <= 8);
        }
        assert_eq!(m.get(99), Some(&198));
        assert_eq!(m.get(0), None);
        assert_eq!(m.remove(99), Some(198));
        assert_eq!(m.get(99), None);
        *m.entry(7, || 1) += 1;
        assert_eq!(m.get(7), Some(&2));
    }
}
