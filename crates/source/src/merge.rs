//! Merging inputs in time order, the way `mergecap` does.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::BufRead;
use std::sync::Arc;

use osprey_pcapng::CaptureReader;

use crate::diagnostics::Diagnostics;
use crate::json_lines::JsonLines;
use crate::Frame;

pub(crate) enum FrameReader {
    Json(JsonLines<Box<dyn BufRead + Send>>),
    Capture {
        reader: CaptureReader<Box<dyn BufRead + Send>>,
        input: u32,
    },
}

/// The merged, numbered frames of all inputs.
///
/// Each input is read in its own order; at each step the input whose next frame has the
/// earliest timestamp goes first, ties going to the input named first. One input therefore
/// comes out in file order, as tshark shows it, and inputs that are each in time order come out
/// fully in time order.
pub struct Frames {
    readers: Vec<FrameReader>,
    heads: Vec<Option<Frame>>,
    queue: BinaryHeap<Reverse<(u64, u32)>>,
    next_number: u64,
    diag: Arc<Diagnostics>,
    started: bool,
    /// The input whose head frame went out last: its next frame is read when one is asked
    /// for, not before, so that a frame of a live stream goes out without waiting for the next.
    taken: Option<usize>,
}

impl Frames {
    pub(crate) fn new(readers: Vec<FrameReader>, diag: Arc<Diagnostics>) -> Self {
        let heads = readers.iter().map(|_| None).collect();
        Frames {
            readers,
            heads,
            queue: BinaryHeap::new(),
            next_number: 1,
            diag,
            started: false,
            taken: None,
        }
    }

    fn refill(&mut self, input: usize) {
        if let Some(frame) = self.readers[input].next_frame(&self.diag) {
            self.queue.push(Reverse((frame.ts, input as u32)));
            self.heads[input] = Some(frame);
        }
    }

    /// Up to `max` frames, fewer when the next one would have to wait for a stream (a pipe
    /// that has delivered everything it had so far): a live stream is shown as it comes rather
    /// than when `max` frames have gathered. Empty at the end.
    pub fn next_batch(&mut self, max: usize) -> Vec<Frame> {
        let mut batch = Vec::with_capacity(max);
        while batch.len() < max && (batch.is_empty() || self.ready()) {
            match self.next() {
                Some(frame) => batch.push(frame),
                None => break,
            }
        }
        batch
    }

    /// The frames in batches of up to `max` (see [`Frames::next_batch`]).
    pub fn batches(mut self, max: usize) -> impl Iterator<Item = Vec<Frame>> + Send {
        std::iter::from_fn(move || Some(self.next_batch(max)).filter(|b| !b.is_empty()))
    }

    /// True when the next frame can be had without waiting for more input from a stream.
    fn ready(&self) -> bool {
        self.taken.is_none_or(|input| self.readers[input].ready())
    }

    /// The diagnostics the inputs report to.
    pub fn diagnostics(&self) -> &Arc<Diagnostics> {
        &self.diag
    }
}

impl Iterator for Frames {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        if !self.started {
            self.started = true;
            for i in 0..self.readers.len() {
                self.refill(i);
            }
        }
        if let Some(input) = self.taken.take() {
            self.refill(input);
        }
        let Reverse((_, input)) = self.queue.pop()?;
        let mut frame = self.heads[input as usize].take()?;
        self.taken = Some(input as usize);
        frame.number = self.next_number;
        self.next_number += 1;
        Some(frame)
    }
}
