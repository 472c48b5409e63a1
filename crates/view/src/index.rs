//! The index built in one pass when the view opens: where each frame's bytes are, its time,
//! kind, event name and coloring rule, in 32 bytes per frame.
//!
//! The bytes themselves go to a *store*: an unlinked temporary file that the pass appends every
//! frame's data to (JSON lines, packets), so that any frame can be read again with one `pread`
//! whatever its input was (gzip, standard input, a capture directory, several merged inputs).
//! Consecutive frames are consecutive in the store, so a window of rows is one read.
//! What a capture file says beyond the bytes (interface, raw timestamp, options) is kept in a
//! side table for the frames that have it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use osprey_dissect::{Decoded, FrameInfo, Preferences, Want};
use osprey_print::Profile;
use osprey_source::{Bytes, Captured, Diagnostics, Frame, FrameKind, Inputs, Location};
use osprey_stats::Records;
use rayon::prelude::*;

use crate::stats::PassViews;

/// One frame in the index. Frame number `n` is entry `n - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Entry {
    /// Offset of the frame's bytes in the store.
    pub off: u64,
    /// Nanoseconds since the Unix epoch.
    pub ts: u64,
    /// Length of the frame's bytes.
    pub len: u32,
    /// Index in the side table of capture details, or [`NO_AUX`].
    pub aux: u32,
    /// Interned event name (see [`Index::event_names`]); 0 for none.
    pub event: u16,
    /// Index of the input it came from.
    pub input: u16,
    /// 0 event, 1 packet, 2 artifact record.
    pub kind: u8,
    /// 1 + the index of the first coloring rule that matched; 0 for none.
    pub color: u8,
}

/// `Entry::aux` of a frame without capture details.
pub const NO_AUX: u32 = u32::MAX;

const _: () = assert!(std::mem::size_of::<Entry>() == 32);

fn kind_code(kind: FrameKind) -> u8 {
    match kind {
        FrameKind::Event => 0,
        FrameKind::Packet => 1,
        FrameKind::Artifact => 2,
    }
}

fn kind_of(code: u8) -> FrameKind {
    match code {
        1 => FrameKind::Packet,
        2 => FrameKind::Artifact,
        _ => FrameKind::Event,
    }
}

/// Frames read and classified at a time: large enough for the workers to share, small enough
/// that the first rows are there at once.
const BATCH: usize = 2048;

/// Frames of a batch a worker classifies (and records for the views) at a time.
const CLASSIFY_CHUNK: usize = 256;

/// Distinct event names kept (the rest count as "other", name index 0).
const MAX_EVENT_NAMES: usize = u16::MAX as usize - 1;

/// How far the index pass has come.
#[derive(Clone, Debug, serde::Serialize)]
pub struct IndexProgress {
    /// Frames indexed so far.
    pub frames: u64,
    /// True when the pass is over.
    pub done: bool,
    /// Bytes of the inputs read so far.
    pub bytes_read: u64,
    /// Their total size, when known (files, not streams).
    pub bytes_total: Option<u64>,
    /// Memory held by the index: entries, side table (bytes).
    pub index_bytes: u64,
    /// Bytes written to the store.
    pub store_bytes: u64,
    /// Milliseconds since the pass started (until it ended, once done).
    pub elapsed_ms: u64,
    /// Why reading stopped, if it failed.
    pub error: Option<String>,
}

/// The index of every frame of the inputs, growing while the pass runs.
pub struct Index {
    entries: RwLock<Vec<Entry>>,
    captured: RwLock<Vec<Captured>>,
    event_names: RwLock<Vec<String>>,
    arg_fields: RwLock<Vec<String>>,
    store: File,
    store_len: AtomicU64,
    names: Vec<String>,
    done: AtomicBool,
    /// True once a pass was started (a live index is fed once).
    fed: AtomicBool,
    error: Mutex<Option<String>>,
    bytes_read: Arc<Mutex<Arc<AtomicU64>>>,
    bytes_total: Option<u64>,
    started: Instant,
    elapsed_ms: AtomicU64,
    diag: Arc<Diagnostics>,
}

/// A frame read back from the store.
pub struct Loaded {
    /// The frame, as the reader made it (its location is not kept: [`Location::Offset`] of
    /// the store).
    pub frame: Frame,
    /// Timestamp of the frame before it in the file.
    pub prev_ts: Option<u64>,
}

impl Index {
    /// Opens the inputs and starts the pass on a thread of its own; the index is usable at
    /// once and grows as frames are read. `views`, if given, are fed every frame by the pass.
    pub fn open(
        files: &[String],
        profile: Arc<Profile>,
        prefs: Preferences,
        views: Option<PassViews>,
    ) -> Result<Arc<Index>, crate::Error> {
        if files == ["-"] {
            // A pipe may have nothing to say yet: it is recognised on the pass's thread, so
            // the server answers (and shows it growing) before its first bytes.
            let index = Index::live("standard input".into())?;
            index.start_pass_over(
                |diag| Inputs::open(&["-".to_string()], diag),
                profile,
                prefs,
                views,
            )?;
            return Ok(index);
        }
        let diag = Arc::new(Diagnostics::silent());
        let query = osprey_lake::LakeQuery::all();
        let inputs = osprey_lake::open_inputs(files, diag.clone(), query)?.inputs;
        let names: Vec<String> = inputs.files().iter().map(|f| f.name.clone()).collect();
        let (bytes_read, bytes_total) = inputs.progress();
        let index = Arc::new(Index::empty(names, bytes_read, bytes_total, diag)?);
        index.start_pass(move |_| Ok(inputs), profile, prefs, views)?;
        Ok(index)
    }

    /// An index of one live stream that is not there yet (a capture that starts later): empty
    /// and not done until [`Index::feed`] gives it the stream and the stream ends, or
    /// [`Index::fail`] says why there is none.
    pub fn live(name: String) -> Result<Arc<Index>, crate::Error> {
        let diag = Arc::new(Diagnostics::silent());
        let counter = Arc::new(AtomicU64::new(0));
        Ok(Arc::new(Index::empty(vec![name], counter, None, diag)?))
    }

    /// Starts the pass of a live index over `stream` (its first bytes are awaited on the
    /// pass's thread, so this returns at once). Only the first call feeds the index.
    pub fn feed(
        self: &Arc<Self>,
        stream: Box<dyn std::io::Read + Send>,
        profile: Arc<Profile>,
        prefs: Preferences,
    ) -> Result<(), crate::Error> {
        if self.fed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let name = self.names.first().cloned().unwrap_or_default();
        self.start_pass_over(
            move |diag| Inputs::open_reader(stream, name, diag),
            profile,
            prefs,
            None,
        )
    }

    /// Starts the pass over the inputs `open` opens on the pass's thread, counting their
    /// bytes in the status.
    fn start_pass_over(
        self: &Arc<Self>,
        open: impl FnOnce(Arc<Diagnostics>) -> Result<Inputs, osprey_source::OpenError> + Send + 'static,
        profile: Arc<Profile>,
        prefs: Preferences,
        views: Option<PassViews>,
    ) -> Result<(), crate::Error> {
        let bytes_read = self.bytes_read.clone();
        self.start_pass(
            move |diag| {
                let inputs = open(diag)?;
                let (counter, _) = inputs.progress();
                *bytes_read.lock().unwrap_or_else(|e| e.into_inner()) = counter;
                Ok(inputs)
            },
            profile,
            prefs,
            views,
        )
    }

    /// Ends a live index that will get no stream, with the reason.
    pub fn fail(&self, why: String) {
        self.fed.store(true, Ordering::Release);
        *self.error.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
        self.elapsed_ms
            .store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
        self.done.store(true, Ordering::Release);
    }

    fn empty(
        names: Vec<String>,
        bytes_read: Arc<AtomicU64>,
        bytes_total: Option<u64>,
        diag: Arc<Diagnostics>,
    ) -> Result<Index, crate::Error> {
        let store = tempfile::tempfile().map_err(crate::Error::Store)?;
        Ok(Index {
            entries: RwLock::new(Vec::new()),
            captured: RwLock::new(Vec::new()),
            event_names: RwLock::new(vec![String::new()]),
            arg_fields: RwLock::new(Vec::new()),
            store,
            store_len: AtomicU64::new(0),
            names,
            done: AtomicBool::new(false),
            fed: AtomicBool::new(false),
            error: Mutex::new(None),
            bytes_read: Arc::new(Mutex::new(bytes_read)),
            bytes_total,
            started: Instant::now(),
            elapsed_ms: AtomicU64::new(0),
            diag,
        })
    }

    /// Runs the pass on a thread of its own over the inputs `open` gives (called on that
    /// thread, so a stream's first bytes do not hold the caller up).
    fn start_pass(
        self: &Arc<Self>,
        open: impl FnOnce(Arc<Diagnostics>) -> Result<Inputs, osprey_source::OpenError> + Send + 'static,
        profile: Arc<Profile>,
        prefs: Preferences,
        views: Option<PassViews>,
    ) -> Result<(), crate::Error> {
        let writer = self.store.try_clone().map_err(crate::Error::Store)?;
        let building = self.clone();
        std::thread::Builder::new()
            .name("osprey-view-index".into())
            .spawn(move || {
                let result = match open(building.diag.clone()) {
                    Ok(inputs) => building
                        .build(inputs, writer, &profile, &prefs, views)
                        .map_err(|e| format!("writing the frame store: {e}")),
                    Err(e) => Err(e.to_string()),
                };
                if let Err(why) = result {
                    *building.error.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
                }
                building.elapsed_ms.store(
                    building.started.elapsed().as_millis() as u64,
                    Ordering::Relaxed,
                );
                building.done.store(true, Ordering::Release);
            })
            .map_err(crate::Error::Store)?;
        Ok(())
    }

    /// The pass: frames are read in batches, classified in parallel (event name, coloring
    /// rule), appended to the store, and published.
    fn build(
        &self,
        inputs: Inputs,
        store: File,
        profile: &Profile,
        prefs: &Preferences,
        mut views: Option<PassViews>,
    ) -> std::io::Result<()> {
        let mut want = Want::none();
        profile.want_colors(&mut want);
        if let Some(v) = &views {
            v.want(&mut want);
        }
        let mut out = BufWriter::with_capacity(1 << 20, store);
        let mut off = 0u64;
        let mut first_ts = None;
        let mut prev_ts = None;
        let mut names_by_text: std::collections::HashMap<String, u16> = Default::default();
        for batch in inputs.frames().batches(BATCH) {
            let first = *first_ts.get_or_insert(batch[0].ts);
            if views.as_ref().is_some_and(|v| !v.wanted()) {
                views = None;
            }
            let (classes, records): (Vec<Vec<Class>>, Vec<Option<Records>>) = batch
                .par_chunks(CLASSIFY_CHUNK)
                .enumerate()
                .map(|(c, chunk)| {
                    let mut records = views.as_ref().map(|_| Records::new(first));
                    let classes = (chunk.iter().enumerate())
                        .map(|(j, f)| {
                            let i = c * CLASSIFY_CHUNK + j;
                            let prev = if i == 0 {
                                prev_ts
                            } else {
                                Some(batch[i - 1].ts)
                            };
                            let info = FrameInfo {
                                frame: f,
                                input_name: self.names.get(f.input as usize).map_or("", |n| n),
                                first_ts: first,
                                prev_ts: prev,
                            };
                            let record = views.as_ref().zip(records.as_mut());
                            classify(&info, profile, prefs, &want, record)
                        })
                        .collect();
                    (classes, records)
                })
                .unzip();
            let classes = classes.into_iter().flatten();
            prev_ts = batch.last().map(|f| f.ts);
            let mut entries = Vec::with_capacity(batch.len());
            let mut captured = Vec::new();
            let aux_base = self
                .captured
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .len();
            for (f, (color, name)) in batch.into_iter().zip(classes) {
                out.write_all(&f.data)?;
                let event = match name {
                    None => 0,
                    Some(n) => match names_by_text.get(&n) {
                        Some(&id) => id,
                        None if names_by_text.len() < MAX_EVENT_NAMES => {
                            let mut names =
                                self.event_names.write().unwrap_or_else(|e| e.into_inner());
                            let id = names.len() as u16;
                            names.push(n.clone());
                            names_by_text.insert(n, id);
                            self.note_arg_fields(&f);
                            id
                        }
                        None => 0,
                    },
                };
                let aux = match f.capture {
                    Some(c) => {
                        captured.push(*c);
                        (aux_base + captured.len() - 1) as u32
                    }
                    None => NO_AUX,
                };
                entries.push(Entry {
                    off,
                    ts: f.ts,
                    len: f.data.len() as u32,
                    aux,
                    event,
                    input: f.input.min(u16::MAX as u32) as u16,
                    kind: kind_code(f.kind),
                    color,
                });
                off += f.data.len() as u64;
            }
            // The bytes are in the file before the entries pointing at them are published.
            out.flush()?;
            self.store_len.store(off, Ordering::Release);
            if !captured.is_empty() {
                self.captured
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(captured);
            }
            let indexed = {
                let mut all = self.entries.write().unwrap_or_else(|e| e.into_inner());
                all.extend(entries);
                all.len() as u64
            };
            if let Some(v) = &views {
                v.send(records.into_iter().flatten().collect(), indexed);
            }
        }
        if let Some(v) = views {
            v.end();
        }
        Ok(())
    }

    /// Notes the argument fields (`tracee.args.<event>.<arg>`) of the first event of a name,
    /// for the filter bar's completion.
    fn note_arg_fields(&self, frame: &Frame) {
        if let Decoded::Event { event, .. } = osprey_dissect::decode(frame) {
            let mut fields = self.arg_fields.write().unwrap_or_else(|e| e.into_inner());
            for a in &event.args {
                fields.push(format!("tracee.args.{}.{}", event.event_name, a.name));
            }
        }
    }

    /// The argument fields of the events seen (`tracee.args.<event>.<arg>`), from the first
    /// event of each name.
    pub fn arg_fields(&self) -> Vec<String> {
        self.arg_fields
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Frames indexed so far.
    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when no frame has been indexed (yet).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when the pass is over.
    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// The input names, by index.
    pub fn input_names(&self) -> &[String] {
        &self.names
    }

    /// The event names seen, by interned index (index 0 is the empty name).
    pub fn event_names(&self) -> Vec<String> {
        self.event_names
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The entry of frame `index` (0-based).
    pub fn entry(&self, index: usize) -> Option<Entry> {
        self.entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(index)
            .copied()
    }

    /// The entries of `range` (0-based), cut to what is indexed.
    pub fn entries(&self, range: std::ops::Range<usize>) -> Vec<Entry> {
        let e = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let end = range.end.min(e.len());
        let start = range.start.min(end);
        e[start..end].to_vec()
    }

    /// Timestamp of the first frame.
    pub fn first_ts(&self) -> Option<u64> {
        self.entry(0).map(|e| e.ts)
    }

    /// The progress of the pass, and the index's size.
    pub fn progress(&self) -> IndexProgress {
        let frames = self.len() as u64;
        let captured = self
            .captured
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len() as u64;
        let done = self.is_done();
        IndexProgress {
            frames,
            done,
            bytes_read: self
                .bytes_read
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .load(Ordering::Relaxed),
            bytes_total: self.bytes_total,
            index_bytes: frames * std::mem::size_of::<Entry>() as u64
                + captured * std::mem::size_of::<Captured>() as u64,
            store_bytes: self.store_len.load(Ordering::Acquire),
            elapsed_ms: if done {
                self.elapsed_ms.load(Ordering::Relaxed)
            } else {
                self.started.elapsed().as_millis() as u64
            },
            error: self.error.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }

    /// Damaged records and inputs reported while reading.
    pub fn diagnostics(&self) -> &Diagnostics {
        &self.diag
    }

    /// Reads the frames of `indexes` (0-based, ascending) back from the store, with one read
    /// per run of consecutive frames. Indexes past the end are left out.
    pub fn load(&self, indexes: &[u32]) -> std::io::Result<Vec<Loaded>> {
        let (entries, prev): (Vec<(u32, Entry)>, Vec<Option<u64>>) = {
            let all = self.entries.read().unwrap_or_else(|e| e.into_inner());
            indexes
                .iter()
                .filter_map(|&i| {
                    let e = *all.get(i as usize)?;
                    let prev = (i > 0).then(|| all[i as usize - 1].ts);
                    Some(((i, e), prev))
                })
                .unzip()
        };
        let captured = self.captured.read().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::with_capacity(entries.len());
        let mut run_start = 0;
        while run_start < entries.len() {
            // A run of frames adjacent in the store.
            let mut run_end = run_start + 1;
            while run_end < entries.len() {
                let (a, b) = (&entries[run_end - 1].1, &entries[run_end].1);
                if a.off + a.len as u64 != b.off || run_end - run_start >= 4096 {
                    break;
                }
                run_end += 1;
            }
            let first = entries[run_start].1;
            let last = entries[run_end - 1].1;
            let mut buf = vec![0u8; (last.off + last.len as u64 - first.off) as usize];
            self.store.read_exact_at(&mut buf, first.off)?;
            let buf = Bytes::from(buf);
            for k in run_start..run_end {
                let (i, e) = entries[k];
                let at = (e.off - first.off) as usize;
                out.push(Loaded {
                    frame: Frame {
                        number: i as u64 + 1,
                        ts: e.ts,
                        input: e.input as u32,
                        location: Location::Offset(e.off),
                        kind: kind_of(e.kind),
                        data: buf.slice(at..at + e.len as usize),
                        capture: captured.get(e.aux as usize).cloned().map(Box::new),
                    },
                    prev_ts: prev[k],
                });
            }
            run_start = run_end;
        }
        Ok(out)
    }

    /// Reads frames `range` (0-based) back from the store.
    pub fn load_range(&self, range: std::ops::Range<usize>) -> std::io::Result<Vec<Loaded>> {
        let indexes: Vec<u32> = (range.start as u32..range.end as u32).collect();
        self.load(&indexes)
    }

    /// The [`FrameInfo`] of a loaded frame.
    pub fn info<'a>(&'a self, loaded: &'a Loaded, first_ts: u64) -> FrameInfo<'a> {
        FrameInfo {
            frame: &loaded.frame,
            input_name: self
                .names
                .get(loaded.frame.input as usize)
                .map_or("", String::as_str),
            first_ts,
            prev_ts: loaded.prev_ts,
        }
    }
}

/// What the pass learns of a frame: its coloring rule (1 + index, 0 for none) and its event
/// name.
type Class = (u8, Option<String>);

/// The [`Class`] of a frame; with `record`, also records it for the Statistics windows' views
/// from the same dissection.
fn classify(
    info: &FrameInfo<'_>,
    profile: &Profile,
    prefs: &Preferences,
    want: &Want,
    record: Option<(&PassViews, &mut Records)>,
) -> Class {
    let frame = info.frame;
    let decoded = osprey_dissect::decode(frame);
    let name = match &decoded {
        Decoded::Event { event, .. } => Some(event.event_name.to_string()),
        _ => None,
    };
    let tree = osprey_dissect::dissect(info, &decoded, prefs, want);
    let color = profile
        .color_index(&tree)
        .and_then(|i| u8::try_from(i + 1).ok())
        .unwrap_or(0);
    if let Some((views, records)) = record {
        // A damaged event counts only by its time, as in a run of its own.
        let damaged = decoded.malformed().is_some() && frame.capture.is_none();
        views.record(frame, (!damaged).then_some(&tree), records);
    }
    (color, name)
}
