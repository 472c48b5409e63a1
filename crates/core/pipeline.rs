//! The ordered parallel pipeline behind `osprey read`: one thread reads and merges frames into
//! batches (cut short where a live stream waits, see `Frames::next_batch`), worker threads
//! render batches independently, and the calling thread consumes the results strictly in frame
//! order.
//!
//! There is no barrier between batches: a worker takes the next batch as soon as it is done,
//! and results that finish early wait in a small reorder buffer. Channels are bounded, so
//! memory stays proportional to a few batches whatever the input size.

use std::collections::BTreeMap;

use osprey_source::Frame;

/// Frames per batch. Small enough that a batch of 1 KB events (256 KB) is still in the cache
/// when a worker parses it, which measured ~10% less CPU than 2048-frame batches.
pub const BATCH: usize = 256;

/// Batches that may wait in each channel, per worker. Deep enough that the reader, which
/// shares the CPUs with the workers, reads in long bursts when the scheduler gets to it rather
/// than a batch at a time: with 2 per worker the workers sat idle 5% of the time waiting for
/// it, and the run took 8% longer (BENCHMARKS.md). At 256 KB a batch of 1 KB events, both
/// channels together hold up to 16 MB per two workers.
const QUEUED_PER_WORKER: usize = 16;

/// A run of consecutive frames.
pub struct Batch {
    /// Position of the batch in the stream.
    pub seq: u64,
    /// The frames, in order.
    pub frames: Vec<Frame>,
    /// Timestamp of the stream's first frame (`frame.time_relative`'s reference).
    pub first_ts: u64,
    /// Timestamp of the frame before this batch (`frame.time_delta` of its first frame).
    pub prev_ts: Option<u64>,
}

impl Batch {
    /// The timestamp of the frame before frame `i` of this batch.
    pub fn prev_ts(&self, i: usize) -> Option<u64> {
        if i == 0 {
            self.prev_ts
        } else {
            Some(self.frames[i - 1].ts)
        }
    }
}

/// Reads `batches` (of frames in order, at most [`BATCH`] each), renders them with `render` on
/// `workers` threads, and calls `consume` with each batch and its results in order until it
/// returns false or the batches run out.
///
/// The reader runs on a thread of its own that is not waited for: when `consume` stops early,
/// the run ends at once even if the reader is blocked on a live stream with nothing more to
/// say (`-c N` on a pipe); it ends with the process, or at its next batch.
pub fn run<R, F, C>(
    batches: impl Iterator<Item = Vec<Frame>> + Send + 'static,
    workers: usize,
    render: F,
    mut consume: C,
) where
    R: Send,
    F: Fn(&Batch) -> R + Sync,
    C: FnMut(Batch, R) -> bool,
{
    let workers = workers.max(1);
    let (work_tx, work_rx) = crossbeam_channel::bounded::<Batch>(workers * QUEUED_PER_WORKER);
    let (done_tx, done_rx) = crossbeam_channel::bounded::<(Batch, R)>(workers * QUEUED_PER_WORKER);
    std::thread::spawn(move || {
        let mut first_ts = None;
        let mut prev_ts = None;
        for (seq, batch) in (0..).zip(batches.filter(|b| !b.is_empty())) {
            let first = *first_ts.get_or_insert(batch[0].ts);
            let last = batch.last().map(|f| f.ts);
            let b = Batch {
                seq,
                frames: batch,
                first_ts: first,
                prev_ts,
            };
            if work_tx.send(b).is_err() {
                return; // the consumer stopped early
            }
            prev_ts = last;
        }
    });
    // Never sent on: dropping it tells waiting workers to stop (the reader may never close the
    // work channel, see above).
    let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let work_rx = work_rx.clone();
            let stop_rx = stop_rx.clone();
            let done_tx = done_tx.clone();
            let render = &render;
            scope.spawn(move || loop {
                let batch = crossbeam_channel::select! {
                    recv(work_rx) -> batch => batch,
                    recv(stop_rx) -> _ => return,
                };
                let Ok(batch) = batch else {
                    return; // the reader is done
                };
                let result = render(&batch);
                if done_tx.send((batch, result)).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        drop(work_rx);
        let mut pending: BTreeMap<u64, (Batch, R)> = BTreeMap::new();
        let mut next = 0;
        'results: for (batch, result) in done_rx.iter() {
            pending.insert(batch.seq, (batch, result));
            while let Some((batch, result)) = pending.remove(&next) {
                next += 1;
                if !consume(batch, result) {
                    break 'results;
                }
            }
        }
        // Workers stop: waiting ones at once, busy ones when their result cannot be sent; the
        // reader when its next batch cannot be.
        drop(stop_tx);
        drop(done_rx);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u64) -> Frame {
        Frame {
            number: n,
            ts: n * 10,
            input: 0,
            location: osprey_source::Location::Line(n),
            kind: osprey_source::FrameKind::Event,
            data: Default::default(),
            capture: None,
        }
    }

    #[test]
    fn results_come_back_in_order_with_their_time_references() {
        let frames: Vec<Frame> = (1..=10_000).map(frame).collect();
        // batches of every size up to BATCH, as a stream delivers them
        let mut sizes = (1..=BATCH).cycle();
        let mut rest = frames.into_iter().peekable();
        let batches = std::iter::from_fn(move || {
            rest.peek()?;
            Some(
                rest.by_ref()
                    .take(sizes.next().unwrap())
                    .collect::<Vec<_>>(),
            )
        });
        let mut seen = Vec::new();
        run(
            batches,
            3,
            |b: &Batch| {
                // Make later batches finish first now and then.
                if b.seq % 3 == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                b.frames
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (f.number, b.prev_ts(i), b.first_ts))
                    .collect::<Vec<_>>()
            },
            |_, r| {
                seen.extend(r);
                true
            },
        );
        assert_eq!(seen.len(), 10_000);
        for (i, (n, prev, first)) in seen.iter().enumerate() {
            assert_eq!(*n, i as u64 + 1);
            assert_eq!(*prev, (i > 0).then(|| i as u64 * 10));
            assert_eq!(*first, 10);
        }
    }

    #[test]
    fn the_consumer_can_stop_early() {
        let mut batches = 0;
        run(
            (0..400).map(|b| (b * 256 + 1..=b * 256 + 256).map(frame).collect()),
            2,
            |b: &Batch| b.frames.len(),
            |_, _| {
                batches += 1;
                batches < 3
            },
        );
        assert_eq!(batches, 3);
    }
}
