//! Problems found while reading, counted per input and passed to one reporting function.

use std::fmt;
use std::sync::Mutex;

use crate::FrameKind;

/// Where in an input something was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A 1-based line number (JSON inputs).
    Line(u64),
    /// A byte offset in the decompressed stream (capture files).
    Offset(u64),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Offset(o) => write!(f, "offset {o}"),
        }
    }
}

/// A problem with an input: a damaged record that was skipped, or an input that could not be
/// read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The input's display name.
    pub input: String,
    /// Where, when it concerns one record.
    pub location: Option<Location>,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Some(loc) => write!(f, "{}: {loc}: {}", self.input, self.message),
            None => write!(f, "{}: {}", self.input, self.message),
        }
    }
}

/// What was read from one input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputStats {
    /// The input's display name.
    pub name: String,
    /// Events read.
    pub events: u64,
    /// Packets read.
    pub packets: u64,
    /// Artifact index records read.
    pub artifacts: u64,
    /// Tracee log lines (`{"level":...}`), which are not events, skipped.
    pub log_lines: u64,
    /// Damaged records skipped.
    pub damaged: u64,
    /// True when the input could not be read at all, or reading stopped early.
    pub unreadable: bool,
}

impl InputStats {
    fn of_kind(&mut self, kind: FrameKind) -> &mut u64 {
        match kind {
            FrameKind::Event => &mut self.events,
            FrameKind::Packet => &mut self.packets,
            FrameKind::Artifact => &mut self.artifacts,
        }
    }
}

type Sink = Box<dyn Fn(&Problem) + Send + Sync>;

/// Counts what was read and skipped per input, and reports problems as they are found.
pub struct Diagnostics {
    sink: Sink,
    inputs: Mutex<Vec<InputStats>>,
    /// Problems per input reported so far, so that a file full of garbage does not flood the
    /// terminal: past the limit they are counted, not reported.
    limit: u64,
}

impl Diagnostics {
    /// Reports each problem to `sink` (the first `limit` per input; the rest are only counted).
    pub fn new(limit: u64, sink: impl Fn(&Problem) + Send + Sync + 'static) -> Self {
        Diagnostics {
            sink: Box::new(sink),
            inputs: Mutex::new(Vec::new()),
            limit,
        }
    }

    /// Reports nothing, only counts.
    pub fn silent() -> Self {
        Diagnostics::new(0, |_| {})
    }

    fn with<T>(&self, input: u32, f: impl FnOnce(&mut InputStats) -> T) -> T {
        let mut inputs = self.inputs.lock().unwrap_or_else(|e| e.into_inner());
        let i = input as usize;
        if inputs.len() <= i {
            inputs.resize_with(i + 1, InputStats::default);
        }
        f(&mut inputs[i])
    }

    /// Registers input number `input` under `name`.
    pub fn register(&self, input: u32, name: &str) {
        self.with(input, |s| s.name = name.to_string());
    }

    /// A damaged record was skipped.
    pub fn damaged(&self, input: u32, location: Location, message: impl Into<String>) {
        let (name, count) = self.with(input, |s| {
            s.damaged += 1;
            (s.name.clone(), s.damaged)
        });
        self.emit(
            count,
            Problem {
                input: name,
                location: Some(location),
                message: message.into(),
            },
        );
    }

    /// The input could not be read (at all, or from some point on).
    pub fn unreadable(&self, input: u32, location: Option<Location>, message: impl Into<String>) {
        let (name, count) = self.with(input, |s| {
            s.unreadable = true;
            (s.name.clone(), s.damaged + 1)
        });
        self.emit(
            count.min(1),
            Problem {
                input: name,
                location,
                message: message.into(),
            },
        );
    }

    fn emit(&self, nth: u64, problem: Problem) {
        if nth <= self.limit {
            (self.sink)(&problem);
        }
        if nth == self.limit + 1 && self.limit > 0 {
            (self.sink)(&Problem {
                input: problem.input,
                location: None,
                message: "more problems in this input are counted but not shown".into(),
            });
        }
    }

    pub(crate) fn count(&self, input: u32, kind: FrameKind) {
        self.with(input, |s| *s.of_kind(kind) += 1);
    }

    pub(crate) fn count_log_line(&self, input: u32) {
        self.with(input, |s| s.log_lines += 1);
    }

    /// A frame that was counted as read turned out to be damaged when parsed later (for
    /// example a JSON line that is not valid JSON): move it from read to damaged.
    pub fn damaged_later(
        &self,
        input: u32,
        kind: FrameKind,
        location: Location,
        message: impl Into<String>,
    ) {
        self.with(input, |s| {
            let n = s.of_kind(kind);
            *n = n.saturating_sub(1);
        });
        self.damaged(input, location, message);
    }

    /// Per-input counts so far.
    pub fn stats(&self) -> Vec<InputStats> {
        self.inputs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// True when any record was skipped or any input could not be read.
    pub fn anything_skipped(&self) -> bool {
        self.stats().iter().any(|s| s.damaged > 0 || s.unreadable)
    }
}
