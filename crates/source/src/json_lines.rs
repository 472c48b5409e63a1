//! JSON lines: Tracee events, or the records of an artifact index.
//!
//! The reader only frames lines and finds each record's timestamp; the full parse happens later,
//! in parallel, where the record is used. Lines that are plainly not records (not an object, cut
//! off, a Tracee log line) are dealt with here.
//!
//! Input is read in chunks ([`CHUNK`] bytes from a file, smaller from a stream that brings
//! little at a time), and each frame's data is a slice of its chunk (a [`Bytes`]): a line is
//! not copied (only the one a chunk ends in the middle of is carried over to the next), and a
//! frame costs no allocation of its own. A chunk goes back to a small pool of spares when the
//! last frame cut from it is dropped.

use std::io::Read;
use std::sync::Mutex;

use bytes::Bytes;

use crate::diagnostics::{Diagnostics, Location};
use crate::{Frame, FrameKind};

/// The longest line accepted. A longer one is skipped without being held in memory.
pub(crate) const MAX_LINE: usize = 64 << 20;

/// Bytes read at a time. Larger than the 64 KiB of the `BufReader` underneath, so reads go
/// straight from the file into the chunk.
const CHUNK: usize = 256 << 10;

/// The smallest chunk: what a slow stream (a pipe delivering a line at a time) reads into, so
/// that its frames do not each hold a mostly empty [`CHUNK`].
const MIN_CHUNK: usize = 4 << 10;

/// Chunks kept for reuse, for every input together: about as many as the frames queued in
/// `osprey read`'s pipeline hold (up to 64 batches of 256 frames of about 1 KB), and a bound
/// (24 MiB) on what the pool keeps.
const SPARE_CHUNKS: usize = 96;

/// Spare chunks, all [`CHUNK`] bytes long and initialised: reading into one costs neither an
/// allocation nor zeroing.
static SPARE: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// The owner of a chunk's bytes behind the frames' `Bytes`: when the last of them is dropped
/// (on whichever thread), the buffer goes back to [`SPARE`].
struct Chunk(Vec<u8>);

impl AsRef<[u8]> for Chunk {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        if self.0.len() == CHUNK {
            let mut spare = SPARE.lock().unwrap_or_else(|e| e.into_inner());
            if spare.len() < SPARE_CHUNKS {
                spare.push(std::mem::take(&mut self.0));
            }
        }
    }
}

/// A buffer of `size` initialised bytes: a spare chunk when the size is [`CHUNK`]'s.
fn buffer(size: usize) -> Vec<u8> {
    if size == CHUNK {
        if let Some(spare) = SPARE.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return spare;
        }
    }
    vec![0; size]
}

pub(crate) struct JsonLines<R> {
    reader: R,
    input: u32,
    /// What every line of this input is: events or artifact records.
    kind: FrameKind,
    line_no: u64,
    /// The bytes read last: `chunk[start..filled]` is not framed yet and has no `\n` before
    /// `scanned`.
    chunk: Bytes,
    start: usize,
    scanned: usize,
    filled: usize,
    /// The length so far of an over-long line being skipped.
    skipping: Option<usize>,
    /// The reader has ended.
    eof: bool,
    /// The last read brought less than asked for: the input is a stream (a pipe) that may
    /// have nothing more yet.
    short_read: bool,
    /// Nothing more comes from this input (its end, or a read error).
    done: bool,
    /// The size of the next chunk: [`CHUNK`] while reads fill them, less when reads bring
    /// little (see [`JsonLines::refill`]).
    next_size: usize,
    chunk_size: usize,
    max_line: usize,
    /// An artifact index, read whole and sorted by time (see [`JsonLines::next_frame`]).
    sorted: Option<std::vec::IntoIter<Frame>>,
}

impl<R: Read> JsonLines<R> {
    pub(crate) fn new(reader: R, input: u32, kind: FrameKind) -> Self {
        Self::with_sizes(reader, input, kind, CHUNK, MAX_LINE)
    }

    /// A reader with its own chunk size and line limit (for tests).
    fn with_sizes(
        reader: R,
        input: u32,
        kind: FrameKind,
        chunk_size: usize,
        max_line: usize,
    ) -> Self {
        JsonLines {
            reader,
            input,
            kind,
            line_no: 0,
            chunk: Bytes::new(),
            start: 0,
            scanned: 0,
            filled: 0,
            skipping: None,
            eof: false,
            short_read: false,
            done: false,
            next_size: chunk_size,
            chunk_size,
            max_line,
            sorted: None,
        }
    }

    /// Reads on into a new chunk, which starts with the unframed rest of the current one: until
    /// a read brings a line end, the buffer is full, or the input ends. A line that outgrows
    /// the buffer grows it, up to the limit; beyond, its bytes are only counted.
    ///
    /// A chunk lives as long as a frame cut from it, so its size follows what reads bring: a
    /// file fills whole chunks, a stream that delivers a line at a time gets small ones.
    fn refill(&mut self) -> std::io::Result<()> {
        let mut rest = &self.chunk[self.start..self.filled];
        if self.skipping.is_some() || rest.len() > self.max_line {
            *self.skipping.get_or_insert(0) += rest.len();
            rest = &[];
        }
        let carried = rest.len();
        let mut buf = buffer(self.next_size.max(rest.len() * 2).min(self.max_line + 1));
        buf[..rest.len()].copy_from_slice(rest);
        let mut filled = rest.len();
        let mut scanned = filled;
        let result = loop {
            if filled == buf.len() {
                // A line without an end fills the buffer.
                if self.skipping.is_some() || filled > self.max_line {
                    *self.skipping.get_or_insert(0) += filled;
                    filled = 0;
                    scanned = 0;
                } else {
                    buf.resize((buf.len() * 2).min(self.max_line + 1), 0);
                }
            }
            let asked = buf.len() - filled;
            match self.reader.read(&mut buf[filled..]) {
                Ok(0) => {
                    self.eof = true;
                    break Ok(());
                }
                Ok(n) => {
                    self.short_read = n < asked;
                    let line_end = memchr::memchr(b'\n', &buf[filled..filled + n]).is_some();
                    filled += n;
                    if line_end {
                        break Ok(());
                    }
                    scanned = filled;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        let read = filled.saturating_sub(carried);
        self.next_size = (read * 2).clamp(MIN_CHUNK.min(self.chunk_size), self.chunk_size);
        self.chunk = Bytes::from_owner(Chunk(buf));
        self.start = 0;
        self.scanned = scanned;
        self.filled = filled;
        result
    }

    /// True when the next frame can be had without waiting: a whole line is buffered, or
    /// reading on will not wait (a file, the end), as far as the last read tells.
    pub(crate) fn ready(&self) -> bool {
        self.done
            || self.eof
            || !self.short_read
            || self.kind == FrameKind::Artifact
            || memchr::memchr(b'\n', &self.chunk[self.scanned..self.filled]).is_some()
    }

    /// Stops reading this input after an I/O error, which is reported with the line it hit.
    fn read_failed(&mut self, e: std::io::Error, diag: &Diagnostics) -> Option<Frame> {
        self.done = true;
        diag.unreadable(
            self.input,
            Some(Location::Line(self.line_no + 1)),
            format!("read error: {e}"),
        );
        None
    }

    /// The next record, skipping (and reporting) what is not one.
    ///
    /// Events come in file order (Tracee writes them in time order, and the merge keeps each
    /// input's order). An artifact index does not: a written file's record is written when the
    /// run ends but carries the time the file was first written. So the index is read whole and
    /// sorted by time (stably) before its first record is returned; it holds one short line per
    /// artifact, far smaller than the events beside it.
    pub(crate) fn next_frame(&mut self, diag: &Diagnostics) -> Option<Frame> {
        if self.kind != FrameKind::Artifact {
            return self.next_in_file_order(diag);
        }
        if self.sorted.is_none() {
            let mut all = Vec::new();
            while let Some(frame) = self.next_in_file_order(diag) {
                all.push(frame);
            }
            all.sort_by_key(|f| f.ts);
            self.sorted = Some(all.into_iter());
        }
        self.sorted.as_mut().and_then(Iterator::next)
    }

    fn next_in_file_order(&mut self, diag: &Diagnostics) -> Option<Frame> {
        while !self.done {
            let found = memchr::memchr(b'\n', &self.chunk[self.scanned..self.filled])
                .map(|p| self.scanned + p);
            let end = match found {
                Some(end) => end,
                None if !self.eof => {
                    if let Err(e) = self.refill() {
                        return self.read_failed(e, diag);
                    }
                    continue;
                }
                // The input has ended: what is left is its last line, without a `\n`.
                None if self.start < self.filled || self.skipping.is_some() => self.filled,
                None => {
                    self.done = true;
                    return None;
                }
            };
            let start = self.start;
            self.start = (end + 1).min(self.filled);
            self.scanned = self.start;
            self.line_no += 1;
            let skipped = self.skipping.take();
            let len = skipped.unwrap_or(0) + end - start;
            if skipped.is_some() || len > self.max_line {
                diag.damaged(
                    self.input,
                    Location::Line(self.line_no),
                    match self.max_line % (1 << 20) {
                        0 => format!(
                            "line of {len} bytes is longer than the {} MiB limit",
                            self.max_line >> 20
                        ),
                        _ => format!(
                            "line of {len} bytes is longer than the {}-byte limit",
                            self.max_line
                        ),
                    },
                );
                continue;
            }
            let line = self.chunk.slice(start..end);
            if let Some(frame) = record(line, self.input, self.kind, self.line_no, diag) {
                return Some(frame);
            }
        }
        None
    }
}

/// The frame of line `line_no` of input `input`, whose bytes (without the `\n`) are `line`;
/// `None` when the line is blank, a Tracee log line, or damaged (reported).
fn record(
    line: Bytes,
    input: u32,
    kind: FrameKind,
    line_no: u64,
    diag: &Diagnostics,
) -> Option<Frame> {
    let location = Location::Line(line_no);
    let mut text = trim(&line);
    if line_no == 1 {
        text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    }
    if text.is_empty() {
        return None;
    }
    if osprey_event::is_log_line(text) {
        diag.count_log_line(input);
        return None;
    }
    if text[0] != b'{' {
        diag.damaged(
            input,
            location,
            format!("not a JSON object (starts with {})", describe_start(text)),
        );
        return None;
    }
    if *text.last().unwrap_or(&0) != b'}' {
        diag.damaged(
            input,
            location,
            "incomplete JSON object (the line is cut off)",
        );
        return None;
    }
    let ts = match kind {
        FrameKind::Artifact => osprey_event::artifact::peek_artifact_timestamp(text)
            .map_err(|e| format!("not an artifact record: {e}")),
        _ => osprey_event::peek_timestamp(text).map_err(|e| e.to_string()),
    };
    let ts = match ts {
        Ok(ts) => ts,
        Err(e) => {
            diag.damaged(input, location, e);
            return None;
        }
    };
    diag.count(input, kind);
    Some(Frame {
        number: 0,
        ts,
        input,
        location,
        kind,
        data: line.slice_ref(text),
        capture: None,
    })
}

/// Strips surrounding whitespace, including the `\r` of CRLF line ends.
fn trim(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &line[start..end.max(start)]
}

fn describe_start(text: &[u8]) -> String {
    let shown: String = String::from_utf8_lossy(&text[..text.len().min(16)])
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    format!("\"{shown}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &str) -> (Vec<Frame>, Vec<String>, Diagnostics) {
        frames_of(input, FrameKind::Event)
    }

    fn frames_of(input: &str, kind: FrameKind) -> (Vec<Frame>, Vec<String>, Diagnostics) {
        frames_through(input.as_bytes(), kind)
    }

    fn frames_through(
        reader: impl Read,
        kind: FrameKind,
    ) -> (Vec<Frame>, Vec<String>, Diagnostics) {
        frames_sized(reader, kind, CHUNK, MAX_LINE)
    }

    fn frames_sized(
        reader: impl Read,
        kind: FrameKind,
        chunk: usize,
        max_line: usize,
    ) -> (Vec<Frame>, Vec<String>, Diagnostics) {
        let problems = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = problems.clone();
        let diag = Diagnostics::new(100, move |p| sink.lock().unwrap().push(p.to_string()));
        diag.register(0, "t.json");
        let mut r = JsonLines::with_sizes(reader, 0, kind, chunk, max_line);
        let mut out = Vec::new();
        while let Some(f) = r.next_frame(&diag) {
            out.push(f);
        }
        let p = problems.lock().unwrap().clone();
        (out, p, diag)
    }

    #[test]
    fn frames_lines_and_skips_what_is_not_an_event() {
        let input = "{\"timestamp\":5,\"eventName\":\"a\"}\r\n\n   \n{\"level\":\"info\",\"msg\":\"x\"}\ngarbage\n{\"timestamp\":6,\"eventName\":\n{\"timestamp\":7,\"eventName\":\"b\"}";
        let (frames, problems, diag) = frames(input);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].data, b"{\"timestamp\":5,\"eventName\":\"a\"}"[..]);
        assert_eq!(frames[0].location, Location::Line(1));
        assert_eq!(frames[1].ts, 7);
        assert_eq!(frames[1].location, Location::Line(7));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with("t.json: line 5: not a JSON object"),
            "{problems:?}"
        );
        assert!(
            problems[1].starts_with("t.json: line 6: incomplete JSON object"),
            "{problems:?}"
        );
        let stats = &diag.stats()[0];
        assert_eq!((stats.events, stats.log_lines, stats.damaged), (2, 1, 2));
    }

    #[test]
    fn an_artifact_index_comes_out_in_time_order() {
        let input = "{\"timestamp\":30,\"kind\":\"write\"}\n{\"timestamp\":10,\"kind\":\"exec\"}\n{\"kind\":\"mem\"}\n{\"kind\":\"pcap\",\"timestamp\":20}\n{\"timestamp\":10,\"kind\":\"mem\"}";
        let (frames, problems, diag) = frames_of(input, FrameKind::Artifact);
        let order: Vec<(u64, Location)> = frames.iter().map(|f| (f.ts, f.location)).collect();
        assert_eq!(
            order,
            [
                (10, Location::Line(2)),
                (10, Location::Line(5)),
                (20, Location::Line(4)),
                (30, Location::Line(1))
            ]
        );
        assert!(frames.iter().all(|f| f.kind == FrameKind::Artifact));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("line 3: not an artifact record"),
            "{problems:?}"
        );
        assert_eq!(diag.stats()[0].artifacts, 4);
    }

    #[test]
    fn lines_split_across_reads_come_out_the_same() {
        // Lines are cut from the chunk they were read into; a line that a chunk ends in the
        // middle of is carried over to the next. Every read size and chunk size gives the same
        // frames and the same reports.
        let input = "\u{feff}{\"timestamp\":5,\"eventName\":\"a\"}\r\n\n   \n{\"level\":\"info\",\"msg\":\"x\"}\ngarbage\n{\"timestamp\":6,\"eventName\":\n{\"timestamp\":7,\"eventName\":\"b\"}\n{\"timestamp\":8,\"eventName\":\"c\"}";
        let (whole, whole_problems, whole_diag) = frames(input);
        assert_eq!(whole.len(), 3);
        for read_size in 1..input.len() + 2 {
            for chunk in [1, 2, 7, 40, 4096] {
                let reader = std::io::BufReader::with_capacity(read_size, input.as_bytes());
                let (frames, problems, diag) =
                    frames_sized(reader, FrameKind::Event, chunk, MAX_LINE);
                let at = format!("reads of {read_size}, chunks of {chunk}");
                assert_eq!(frames, whole, "{at}");
                assert_eq!(problems, whole_problems, "{at}");
                assert_eq!(diag.stats(), whole_diag.stats(), "{at}");
            }
        }
    }

    #[test]
    fn an_over_long_line_is_skipped_and_reported() {
        let short = "{\"timestamp\":1,\"eventName\":\"a\"}";
        let long = format!("{{\"timestamp\":2,\"eventName\":\"{}\"}}", "x".repeat(200));
        let inputs = [
            (format!("{short}\n{long}\n{long}\n{short}\n"), [2, 3]),
            // the last one without a line end
            (format!("{short}\n{long}\n{short}\n{long}"), [2, 4]),
        ];
        for (input, long_lines) in inputs {
            for (read_size, chunk) in [(1, 1), (7, 16), (64, 64), (100, 101), (1000, 4096)] {
                let reader = std::io::BufReader::with_capacity(read_size, input.as_bytes());
                let (frames, problems, diag) = frames_sized(reader, FrameKind::Event, chunk, 100);
                let at = format!("reads of {read_size}, chunks of {chunk}: {problems:?}");
                assert_eq!(frames.len(), 2, "{at}");
                assert!(frames.iter().all(|f| f.data == short.as_bytes()), "{at}");
                assert_eq!(problems.len(), 2, "{at}");
                for (p, line) in problems.iter().zip(long_lines) {
                    let says = format!(
                        "line {line}: line of {} bytes is longer than the 100-byte limit",
                        long.len()
                    );
                    assert!(p.contains(&says), "{at}");
                }
                assert_eq!(diag.stats()[0].damaged, 2, "{at}");
            }
        }
    }

    #[test]
    fn a_stream_that_brings_a_line_at_a_time_gets_small_chunks() {
        // A live pipe: every read returns one line. Each frame keeps its chunk alive, so a
        // full-size chunk per line would hold 256 KiB per frame.
        struct LineAtATime(Vec<String>);
        impl Read for LineAtATime {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let Some(line) = self.0.pop() else {
                    return Ok(0);
                };
                buf[..line.len()].copy_from_slice(line.as_bytes());
                Ok(line.len())
            }
        }
        let lines = (0..100)
            .map(|i| format!("{{\"timestamp\":{i},\"eventName\":\"e\"}}\n"))
            .rev()
            .collect();
        let diag = Diagnostics::silent();
        let mut r = JsonLines::new(LineAtATime(lines), 0, FrameKind::Event);
        let mut n = 0;
        while let Some(f) = r.next_frame(&diag) {
            assert_eq!(f.ts, n);
            n += 1;
            assert!(
                n == 1 || r.chunk.len() == MIN_CHUNK,
                "frame {n}: {}",
                r.chunk.len()
            );
        }
        assert_eq!(n, 100);
    }

    #[test]
    fn chunks_are_reused_once_their_frames_are_gone() {
        let line = format!(
            "{{\"timestamp\":1,\"eventName\":\"{}\"}}\n",
            "y".repeat(1000)
        );
        let input = line.repeat(3 * CHUNK / line.len());
        let (frames, problems, _) = frames(&input);
        assert_eq!(frames.len(), 3 * CHUNK / line.len(), "{problems:?}");
        assert!(frames.iter().all(|f| f.data == line.trim_end().as_bytes()));
        drop(frames);
        // Other tests read at the same time, so only the pool's bound is certain; but the
        // chunks of this input were all released.
        let spare = SPARE.lock().unwrap();
        assert!(!spare.is_empty() && spare.len() <= SPARE_CHUNKS);
        assert!(spare.iter().all(|c| c.len() == CHUNK));
    }

    #[test]
    fn a_read_error_stops_the_input_and_is_reported() {
        struct Broken;
        impl std::io::Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk on fire"))
            }
        }
        let lines =
            "{\"timestamp\":5,\"eventName\":\"a\"}\n{\"timestamp\":6,\"eventName\":\"b\"}\n";
        for capacity in [4, 64, 4096] {
            let reader = std::io::BufReader::with_capacity(
                capacity,
                std::io::Read::chain(lines.as_bytes(), Broken),
            );
            let (frames, problems, diag) = frames_through(reader, FrameKind::Event);
            assert_eq!(frames.len(), 2, "buffer of {capacity}");
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(
                problems[0].contains("line 3: read error: disk on fire"),
                "{problems:?}"
            );
            assert!(diag.stats()[0].unreadable);
        }
    }
}
