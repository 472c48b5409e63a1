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
        }
    }

    fn refill(&mut self, input: usize) {
        if let Some(frame) = self.readers[input].next_frame(&self.diag) {
            self.queue.push(Reverse((frame.ts, input as u32)));
            self.heads[input] = Some(frame);
        }
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
        let Reverse((_, input)) = self.queue.pop()?;
        let mut frame = self.heads[input as usize].take()?;
        self.refill(input as usize);
        frame.number = self.next_number;
        self.next_number += 1;
        Some(frame)
    }
}
