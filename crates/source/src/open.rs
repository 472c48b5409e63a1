//! Opening inputs: files, standard input and capture directories, recognised by content.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;
use osprey_pcapng::CaptureReader;

use crate::diagnostics::{Diagnostics, Location};
use crate::json_lines::JsonLines;
use crate::merge::{FrameReader, Frames};
use crate::FrameKind;

/// Buffer size per input. Small enough that a capture directory with a thousand per-process
/// pcaps stays within memory, large enough for full read speed.
const BUFFER: usize = 64 << 10;

/// What an input holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    /// Tracee JSON events, one per line (any generation).
    TraceeJson,
    /// Osprey's artifact index (`out/artifacts.jsonl`), one record per line.
    ArtifactIndex,
    /// PcapNG: events on USER0 interfaces, packets, or both.
    PcapNg,
    /// Classic pcap.
    Pcap,
}

impl std::fmt::Display for ContentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ContentKind::TraceeJson => "Tracee JSON",
            ContentKind::ArtifactIndex => "Osprey artifact index",
            ContentKind::PcapNg => "PcapNG",
            ContentKind::Pcap => "pcap",
        })
    }
}

/// Why an input could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file could not be opened or read.
    #[error("{name}: {source}")]
    Io {
        /// The input's name.
        name: String,
        /// The error.
        source: io::Error,
    },
    /// The content is not a format this reader knows.
    #[error("{name}: {reason}")]
    Unrecognized {
        /// The input's name.
        name: String,
        /// What was found instead.
        reason: String,
    },
    /// A directory without any event or packet file in it.
    #[error("{0}: no Tracee event file or packet capture found (looked in the directory, its out/ and out/pcap/)")]
    EmptyDirectory(String),
}

/// An opened input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The name used in messages: the path as given, or "standard input".
    pub name: String,
    /// What it holds.
    pub kind: ContentKind,
    /// True when it was gzip-compressed.
    pub gzip: bool,
    /// Its size on disk, when known (not for standard input).
    pub size: Option<u64>,
}

/// Recognises a format from the first bytes of an input (after decompression).
/// Returns `None` for anything that is not a recording. JSON is reported as
/// [`ContentKind::TraceeJson`]: telling an artifact index from events takes its first line
/// ([`json_kind`]).
pub fn sniff(head: &[u8]) -> Option<ContentKind> {
    match osprey_pcapng::sniff(head) {
        Some(osprey_pcapng::Format::PcapNg) => return Some(ContentKind::PcapNg),
        Some(osprey_pcapng::Format::Pcap) => return Some(ContentKind::Pcap),
        None => {}
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Some(ContentKind::TraceeJson),
        _ => None,
    }
}

/// What a JSON input holds, from its first line: an artifact index when that line is an
/// artifact record, events otherwise.
pub fn json_kind(first_line: &[u8]) -> ContentKind {
    let line = first_line
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(first_line);
    if osprey_event::artifact::is_artifact_line(line.trim_ascii()) {
        ContentKind::ArtifactIndex
    } else {
        ContentKind::TraceeJson
    }
}

fn describe_unknown(head: &[u8]) -> String {
    let what = if head.is_empty() {
        return "empty input, nothing to read".into();
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        "zstd-compressed data (decompress it first, or recompress with gzip)"
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        "xz-compressed data (decompress it first, or recompress with gzip)"
    } else if head.starts_with(b"BZh") {
        "bzip2-compressed data (decompress it first, or recompress with gzip)"
    } else if head.starts_with(b"\x7fELF") {
        "an ELF binary"
    } else if head.first() == Some(&b'[') {
        "a JSON array (expected Tracee JSON, one event object per line)"
    } else {
        let shown: String = head
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ");
        return format!("not a recording Osprey can read (Tracee JSON, PcapNG, pcap, or gzip of one); it starts with {shown}");
    };
    format!("not a recording Osprey can read: {what}")
}

/// Counts bytes as they are read, for the progress bar.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

type Stream = Box<dyn BufRead + Send>;

/// Opens the raw stream of a path (or standard input for `-`), decompresses gzip, and returns it
/// with its first bytes examined.
fn open_stream(
    path: Option<&Path>,
    name: &str,
    count: Arc<AtomicU64>,
) -> Result<(Stream, bool, Vec<u8>), OpenError> {
    let io_err = |source| OpenError::Io {
        name: name.to_string(),
        source,
    };
    let raw: Box<dyn Read + Send> = match path {
        Some(p) => Box::new(File::open(p).map_err(io_err)?),
        None => Box::new(io::stdin()),
    };
    wrap_stream(raw, name, count)
}

/// Buffers a raw stream, counting its bytes, decompresses gzip, and returns it with its first
/// bytes examined.
fn wrap_stream(
    raw: Box<dyn Read + Send>,
    name: &str,
    count: Arc<AtomicU64>,
) -> Result<(Stream, bool, Vec<u8>), OpenError> {
    let io_err = |source| OpenError::Io {
        name: name.to_string(),
        source,
    };
    let mut stream: Stream = Box::new(BufReader::with_capacity(
        BUFFER,
        Counting { inner: raw, count },
    ));
    let mut gzip = false;
    // Twice at most: a gzip of a gzip is unwrapped once more.
    for _ in 0..3 {
        let head = fill_head(&mut stream).map_err(io_err)?;
        if head.starts_with(&[0x1f, 0x8b]) {
            gzip = true;
            stream = Box::new(BufReader::with_capacity(
                BUFFER,
                MultiGzDecoder::new(stream),
            ));
            continue;
        }
        return Ok((stream, gzip, head));
    }
    Err(OpenError::Unrecognized {
        name: name.to_string(),
        reason: "gzip nested more than twice".into(),
    })
}

/// The first bytes of a stream, without consuming them: 64 bytes, or fewer when the stream
/// ends first or already holds a whole JSON line (a live stream of short events must not wait
/// for the next one to be recognised).
fn fill_head(stream: &mut Stream) -> io::Result<Vec<u8>> {
    let head = stream.fill_buf()?;
    if head.len() >= 64 || head.is_empty() || is_json_line(head) {
        return Ok(head[..head.len().min(64)].to_vec());
    }
    // A short first read: peek further by reading into a side buffer and chaining it back.
    let mut first = Vec::with_capacity(64);
    let mut piece = [0u8; 64];
    while first.len() < 64 && !is_json_line(&first) {
        match stream.read(&mut piece[..64 - first.len()]) {
            Ok(0) => break,
            Ok(n) => first.extend_from_slice(&piece[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let rest = std::mem::replace(stream, Box::new(io::empty()));
    *stream = Box::new(BufReader::with_capacity(
        BUFFER,
        io::Cursor::new(first.clone()).chain(rest),
    ));
    Ok(first)
}

/// True when `head` starts (after a byte-order mark and whitespace) with `{` and holds a
/// line end: JSON, whatever follows.
fn is_json_line(head: &[u8]) -> bool {
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') && text.contains(&b'\n')
}

/// The longest first line [`peek_first_line`] looks at: artifact records are far shorter, so a
/// longer line is taken for an event without holding it.
const PEEK_LINE: u64 = 1 << 20;

/// The first line of a stream (up to [`PEEK_LINE`] bytes), without consuming it.
fn peek_first_line(stream: &mut Stream) -> io::Result<Vec<u8>> {
    let buffered = stream.fill_buf()?;
    if let Some(end) = memchr::memchr(b'\n', buffered) {
        return Ok(buffered[..end].to_vec());
    }
    let mut first = Vec::new();
    stream
        .by_ref()
        .take(PEEK_LINE)
        .read_until(b'\n', &mut first)?;
    let rest = std::mem::replace(stream, Box::new(io::empty()));
    *stream = Box::new(BufReader::with_capacity(
        BUFFER,
        io::Cursor::new(first.clone()).chain(rest),
    ));
    if first.last() == Some(&b'\n') {
        first.pop();
    }
    Ok(first)
}

/// The inputs of one run, opened and recognised.
pub struct Inputs {
    files: Vec<InputFile>,
    readers: Vec<FrameReader>,
    bytes_read: Arc<AtomicU64>,
    diag: Arc<Diagnostics>,
}

impl Inputs {
    /// Opens every input (`-` is standard input; a directory opens as the recordings in it).
    /// An input that cannot be opened or is not a recording is an error: nothing is read.
    pub fn open(specs: &[String], diag: Arc<Diagnostics>) -> Result<Inputs, OpenError> {
        let mut inputs = Inputs::none(diag);
        for spec in specs {
            if spec == "-" {
                inputs.add(None, "standard input".into())?;
                continue;
            }
            let path = PathBuf::from(spec);
            if path.is_dir() {
                let found = recordings_in(&path);
                if found.is_empty() {
                    return Err(OpenError::EmptyDirectory(spec.clone()));
                }
                for file in found {
                    let name = file.display().to_string();
                    inputs.add(Some(file), name)?;
                }
            } else {
                inputs.add(Some(path), spec.clone())?;
            }
        }
        Ok(inputs)
    }

    /// One input read from `reader` (a live stream: a tracer's standard output, a pipe),
    /// recognised by content like a file. Waits for the stream's first bytes.
    pub fn open_reader(
        reader: Box<dyn Read + Send>,
        name: String,
        diag: Arc<Diagnostics>,
    ) -> Result<Inputs, OpenError> {
        let mut inputs = Inputs::none(diag);
        let opened = wrap_stream(reader, &name, inputs.bytes_read.clone())?;
        inputs.add_opened(opened, None, name)?;
        Ok(inputs)
    }

    /// One input of Tracee JSON events from `reader` (a lake's events as NDJSON), taken as
    /// events even when there are none: a lake query that nothing in the lake matches reads
    /// no event, where an empty file or stream is an error. Otherwise as
    /// [`Inputs::open_reader`].
    pub fn open_events(
        reader: Box<dyn Read + Send>,
        name: String,
        diag: Arc<Diagnostics>,
    ) -> Result<Inputs, OpenError> {
        let mut inputs = Inputs::none(diag);
        let (stream, gzip, head) = wrap_stream(reader, &name, inputs.bytes_read.clone())?;
        if head.is_empty() {
            inputs.push(stream, gzip, None, name, ContentKind::TraceeJson)?;
        } else {
            inputs.add_opened((stream, gzip, head), None, name)?;
        }
        Ok(inputs)
    }

    /// No input yet.
    fn none(diag: Arc<Diagnostics>) -> Inputs {
        Inputs {
            files: Vec::new(),
            readers: Vec::new(),
            bytes_read: Arc::new(AtomicU64::new(0)),
            diag,
        }
    }

    fn add(&mut self, path: Option<PathBuf>, name: String) -> Result<(), OpenError> {
        let opened = open_stream(path.as_deref(), &name, self.bytes_read.clone())?;
        self.add_opened(opened, path, name)
    }

    fn add_opened(
        &mut self,
        (stream, gzip, head): (Stream, bool, Vec<u8>),
        path: Option<PathBuf>,
        name: String,
    ) -> Result<(), OpenError> {
        let kind = sniff(&head).ok_or_else(|| OpenError::Unrecognized {
            name: name.clone(),
            reason: describe_unknown(&head),
        })?;
        let mut stream = stream;
        let kind = match kind {
            ContentKind::TraceeJson => json_kind(&peek_first_line(&mut stream).map_err(
                |source| OpenError::Io {
                    name: name.clone(),
                    source,
                },
            )?),
            other => other,
        };
        self.push(stream, gzip, path, name, kind)
    }

    /// Adds an input whose content is known to be `kind`.
    fn push(
        &mut self,
        stream: Stream,
        gzip: bool,
        path: Option<PathBuf>,
        name: String,
        kind: ContentKind,
    ) -> Result<(), OpenError> {
        let input = self.files.len() as u32;
        self.diag.register(input, &name);
        let reader = match kind {
            ContentKind::TraceeJson => {
                FrameReader::Json(JsonLines::new(stream, input, FrameKind::Event))
            }
            ContentKind::ArtifactIndex => {
                FrameReader::Json(JsonLines::new(stream, input, FrameKind::Artifact))
            }
            ContentKind::PcapNg | ContentKind::Pcap => match CaptureReader::new(stream) {
                Ok(r) => FrameReader::Capture { reader: r, input },
                Err(d) => {
                    return Err(OpenError::Unrecognized {
                        name,
                        reason: format!("offset {}: {}", d.offset, d.message),
                    });
                }
            },
        };
        let size = path
            .as_ref()
            .and_then(|p| p.metadata().ok())
            .map(|m| m.len());
        self.files.push(InputFile {
            name,
            kind,
            gzip,
            size,
        });
        self.readers.push(reader);
        Ok(())
    }

    /// The opened inputs, in order.
    pub fn files(&self) -> &[InputFile] {
        &self.files
    }

    /// Bytes read so far across inputs (compressed size for gzip), and the total when every
    /// input's size is known: for progress display.
    pub fn progress(&self) -> (Arc<AtomicU64>, Option<u64>) {
        let total = self.files.iter().map(|f| f.size).sum::<Option<u64>>();
        (self.bytes_read.clone(), total)
    }

    /// The frames of every input, merged in time order and numbered.
    pub fn frames(self) -> Frames {
        Frames::new(self.readers, self.diag)
    }
}

/// Event files and packet captures in a capture directory: the files directly in `dir` and
/// `dir/out`, and every capture under `out/pcap/` (or `pcap/` when `dir` is the `out` directory
/// itself). Only regular files whose content is a recording or the artifact index are taken;
/// artifacts themselves (written files, binaries, memory dumps) and the profile are left out.
/// Symbolic links are not followed: a capture directory comes from a traced, possibly hostile,
/// host.
fn recordings_in(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let out = dir.join("out");
    for root in [dir.to_path_buf(), out.clone()] {
        for file in regular_files(&root, 0) {
            if is_recording(&file, true) {
                found.push(file);
            }
        }
        for file in regular_files(&root.join("pcap"), 4) {
            if is_recording(&file, false) {
                found.push(file);
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

fn regular_files(dir: &Path, depth: usize) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        if meta.is_file() {
            files.push(entry.path());
        } else if meta.is_dir() && depth > 0 {
            files.extend(regular_files(&entry.path(), depth - 1));
        }
    }
    files.sort();
    files
}

/// True for a capture file, or (when `events_only_json`) a JSON file whose first line is a
/// Tracee event, a log line or an artifact record — so that the profile and other JSON are
/// left out.
fn is_recording(path: &Path, events_only_json: bool) -> bool {
    let name = path.display().to_string();
    let Ok((mut stream, _, head)) = open_stream(Some(path), &name, Arc::new(AtomicU64::new(0)))
    else {
        return false;
    };
    match sniff(&head) {
        Some(ContentKind::PcapNg | ContentKind::Pcap) => true,
        Some(ContentKind::TraceeJson | ContentKind::ArtifactIndex) => {
            let mut first = Vec::new();
            let _ = stream
                .by_ref()
                .take(crate::json_lines::MAX_LINE as u64)
                .read_until(b'\n', &mut first);
            let line = first.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&first);
            let line = line.trim_ascii();
            !events_only_json
                || osprey_event::is_log_line(line)
                || osprey_event::parse_event(line).is_ok()
                || osprey_event::artifact::is_artifact_line(line)
        }
        None => false,
    }
}

impl FrameReader {
    /// True when the next frame can be had without waiting for a stream. Capture files are
    /// read block by block through their own buffer and always count as ready.
    pub(crate) fn ready(&self) -> bool {
        match self {
            FrameReader::Json(lines) => lines.ready(),
            FrameReader::Capture { .. } => true,
        }
    }

    pub(crate) fn next_frame(&mut self, diag: &Diagnostics) -> Option<crate::Frame> {
        match self {
            FrameReader::Json(lines) => lines.next_frame(diag),
            FrameReader::Capture { reader, input } => loop {
                match reader.next() {
                    osprey_pcapng::Next::Packet(p) => {
                        let interface = reader.interfaces()[p.interface].clone();
                        let kind = if interface.is_tracee_events() {
                            FrameKind::Event
                        } else if interface.is_osprey_artifacts() {
                            FrameKind::Artifact
                        } else {
                            FrameKind::Packet
                        };
                        diag.count(*input, kind);
                        return Some(crate::Frame {
                            number: 0,
                            ts: interface.ts_to_ns(p.ts_raw),
                            input: *input,
                            location: Location::Offset(p.offset),
                            kind,
                            data: p.data,
                            capture: Some(Box::new(crate::Captured {
                                interface,
                                ts_raw: p.ts_raw,
                                orig_len: p.orig_len,
                                options: p.options,
                            })),
                        });
                    }
                    osprey_pcapng::Next::Damage(d) => {
                        diag.damaged(*input, Location::Offset(d.offset), d.message)
                    }
                    osprey_pcapng::Next::End => return None,
                }
            },
        }
    }
}
