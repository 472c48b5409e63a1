//! JSON lines: Tracee events, or the records of an artifact index.
//!
//! The reader only frames lines and finds each record's timestamp; the full parse happens later,
//! in parallel, where the record is used. Lines that are plainly not records (not an object, cut
//! off, a Tracee log line) are dealt with here.

use std::io::BufRead;

use crate::diagnostics::{Diagnostics, Location};
use crate::{Frame, FrameKind};

/// The longest line accepted. A longer one is skipped without being held in memory.
pub(crate) const MAX_LINE: usize = 64 << 20;

pub(crate) struct JsonLines<R> {
    reader: R,
    input: u32,
    /// What every line of this input is: events or artifact records.
    kind: FrameKind,
    line_no: u64,
    buf: Vec<u8>,
    done: bool,
    /// An artifact index, read whole and sorted by time (see [`JsonLines::next_frame`]).
    sorted: Option<std::vec::IntoIter<Frame>>,
}

enum Line {
    Ok,
    TooLong(usize),
    Eof,
}

impl<R: BufRead> JsonLines<R> {
    pub(crate) fn new(reader: R, input: u32, kind: FrameKind) -> Self {
        JsonLines {
            reader,
            input,
            kind,
            line_no: 0,
            buf: Vec::with_capacity(4096),
            done: false,
            sorted: None,
        }
    }

    /// Reads the next line into `buf` (without its `\n`), up to [`MAX_LINE`] bytes.
    fn read_line(&mut self) -> std::io::Result<Line> {
        self.buf.clear();
        let mut total = 0usize;
        let mut saw_any = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok(if !saw_any {
                    Line::Eof
                } else if total > MAX_LINE {
                    Line::TooLong(total)
                } else {
                    Line::Ok
                });
            }
            saw_any = true;
            let (chunk, found) = match memchr::memchr(b'\n', available) {
                Some(i) => (&available[..i], Some(i + 1)),
                None => (available, None),
            };
            total += chunk.len();
            if total <= MAX_LINE {
                self.buf.extend_from_slice(chunk);
            }
            let consumed = found.unwrap_or(available.len());
            self.reader.consume(consumed);
            if found.is_some() {
                return Ok(if total > MAX_LINE {
                    Line::TooLong(total)
                } else {
                    Line::Ok
                });
            }
        }
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
            // The common case: the whole line is already in the reader's buffer. It is examined
            // there and copied once, into its frame.
            let buffered = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return self.read_failed(e, diag),
            };
            if let Some(end) = memchr::memchr(b'\n', buffered) {
                self.line_no += 1;
                let frame = record(&buffered[..end], self.input, self.kind, self.line_no, diag);
                self.reader.consume(end + 1);
                match frame {
                    Some(frame) => return Some(frame),
                    None => continue,
                }
            }
            let line = match self.read_line() {
                Ok(l) => l,
                Err(e) => return self.read_failed(e, diag),
            };
            self.line_no += 1;
            match line {
                Line::Eof => {
                    self.done = true;
                    return None;
                }
                Line::TooLong(len) => {
                    diag.damaged(
                        self.input,
                        Location::Line(self.line_no),
                        format!(
                            "line of {len} bytes is longer than the {} MiB limit",
                            MAX_LINE >> 20
                        ),
                    );
                    continue;
                }
                Line::Ok => {}
            }
            let frame = record(&self.buf, self.input, self.kind, self.line_no, diag);
            if frame.is_some() {
                return frame;
            }
        }
        None
    }
}

/// The frame of line `line_no` of input `input`, whose bytes (without the `\n`) are `line`;
/// `None` when the line is blank, a Tracee log line, or damaged (reported).
fn record(
    line: &[u8],
    input: u32,
    kind: FrameKind,
    line_no: u64,
    diag: &Diagnostics,
) -> Option<Frame> {
    let location = Location::Line(line_no);
    let mut text = trim(line);
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
        data: text.to_vec(),
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
        reader: impl BufRead,
        kind: FrameKind,
    ) -> (Vec<Frame>, Vec<String>, Diagnostics) {
        let problems = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = problems.clone();
        let diag = Diagnostics::new(100, move |p| sink.lock().unwrap().push(p.to_string()));
        diag.register(0, "t.json");
        let mut r = JsonLines::new(reader, 0, kind);
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
        assert_eq!(frames[0].data, b"{\"timestamp\":5,\"eventName\":\"a\"}");
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
        // Lines wholly in the reader's buffer are framed in place; the others are gathered
        // from several reads. Every buffer size gives the same frames and the same reports.
        let input = "\u{feff}{\"timestamp\":5,\"eventName\":\"a\"}\r\n\n   \n{\"level\":\"info\",\"msg\":\"x\"}\ngarbage\n{\"timestamp\":6,\"eventName\":\n{\"timestamp\":7,\"eventName\":\"b\"}\n{\"timestamp\":8,\"eventName\":\"c\"}";
        let (whole, whole_problems, whole_diag) = frames(input);
        assert_eq!(whole.len(), 3);
        for capacity in 1..input.len() + 2 {
            let reader = std::io::BufReader::with_capacity(capacity, input.as_bytes());
            let (frames, problems, diag) = frames_through(reader, FrameKind::Event);
            assert_eq!(frames, whole, "buffer of {capacity}");
            assert_eq!(problems, whole_problems, "buffer of {capacity}");
            assert_eq!(diag.stats(), whole_diag.stats(), "buffer of {capacity}");
        }
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
