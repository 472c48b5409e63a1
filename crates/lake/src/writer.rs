//! Writing the lake: one open Parquet file per partition, written under a hidden temporary
//! name and renamed when complete, by an encoder thread beside the caller's.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arrow_array::RecordBatch;

use osprey_event::Event;
use osprey_print::FrameSink;
use osprey_source::{Frame, FrameKind};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::partition::partition_dir;
use crate::schema::{lake_schema, RowBuilders, EVENT_COLUMN};

/// When a partition's file is closed and a new one started.
#[derive(Debug, Clone)]
pub struct RollPolicy {
    /// Close a file once its encoded size reaches this many bytes.
    pub max_file_bytes: usize,
    /// Close a file this long after it was opened, so a slow stream becomes visible to
    /// queries within this time.
    pub max_file_age: Duration,
    /// Rows per row group: large enough that a group's min/max statistics let readers skip it.
    pub row_group_rows: usize,
    /// At most this many partitions have an open file; the least recently written is closed
    /// when another is needed (a file read out of time order would otherwise open one file per
    /// hour it spans).
    pub max_open_partitions: usize,
}

impl Default for RollPolicy {
    fn default() -> RollPolicy {
        RollPolicy {
            max_file_bytes: 256 << 20,
            max_file_age: Duration::from_secs(300),
            row_group_rows: 64 * 1024,
            max_open_partitions: 64,
        }
    }
}

/// Rows buffered before they are handed to the Parquet encoder.
const BATCH_ROWS: usize = 8 * 1024;

/// Batches on their way to the encoder thread at most: it holds the caller back when the
/// encoding falls behind, so memory stays bounded (a batch is about 8 MiB of events).
const QUEUED_BATCHES: usize = 4;

/// Writes events into a lake directory.
///
/// Rows are gathered per partition on the caller's thread (where the events are parsed) and
/// handed in batches to an encoder thread that owns the Parquet files: Arrow's and Parquet's
/// encoding (statistics, compression, the file writes) runs beside the parsing.
pub struct LakeWriter {
    policy: RollPolicy,
    /// Partitions with a file open in the encoder or rows gathering here.
    partitions: HashMap<PathBuf, Gathering>,
    /// Counts writes, to find the least recently written partition.
    writes: u64,
    jobs: SyncSender<Job>,
    encoder: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
}

/// A partition's rows not yet handed to the encoder.
struct Gathering {
    rows: RowBuilders,
    last_write: u64,
}

/// What the encoder thread tells the writer.
#[derive(Default)]
struct Shared {
    /// The first error of the encoder; every later call of the writer returns it.
    error: Mutex<Option<(io::ErrorKind, String)>>,
    /// Files completed (renamed to their visible name) so far.
    completed: Mutex<Vec<PathBuf>>,
}

/// Work for the encoder thread.
enum Job {
    /// Rows for a partition's file (opened if it has none).
    Write(PathBuf, RecordBatch),
    /// Completes a partition's file.
    Close(PathBuf),
    /// Completes the files older than the policy's age; answers when done.
    RollAged(SyncSender<()>),
    /// Completes every file; answers when done.
    Finish(SyncSender<()>),
}

impl LakeWriter {
    /// A writer into `root` (created if missing).
    pub fn create(root: &Path, policy: RollPolicy) -> io::Result<LakeWriter> {
        fs::create_dir_all(root)?;
        let (jobs, queue) = mpsc::sync_channel(QUEUED_BATCHES);
        let shared = Arc::new(Shared::default());
        let mut files = Files {
            root: root.to_path_buf(),
            policy: policy.clone(),
            open: HashMap::new(),
            shared: shared.clone(),
        };
        let encoder = std::thread::Builder::new()
            .name("osprey-lake-encoder".into())
            .spawn(move || files.run(queue))?;
        Ok(LakeWriter {
            policy,
            partitions: HashMap::new(),
            writes: 0,
            jobs,
            encoder: Some(encoder),
            shared,
        })
    }

    /// Writes one event: `json` its original bytes (without the line end), `event` what they
    /// parse to.
    pub fn write(&mut self, json: &[u8], event: &Event) -> io::Result<()> {
        self.check()?;
        let dir = partition_dir(event.timestamp, &event.host_name);
        if !self.partitions.contains_key(&dir) {
            self.make_room()?;
            let rows = RowBuilders::new();
            self.partitions.insert(
                dir.clone(),
                Gathering {
                    rows,
                    last_write: 0,
                },
            );
        }
        self.writes += 1;
        let gathering = self.partitions.get_mut(&dir).expect("inserted above");
        gathering.rows.append(json, event);
        gathering.last_write = self.writes;
        // Sizes are known only for rows handed to the encoder, so the roll check goes with
        // each batch (never larger than a row group, so small row groups roll on time too).
        if gathering.rows.len() >= BATCH_ROWS.min(self.policy.row_group_rows) {
            self.hand_over(&dir)?;
        }
        Ok(())
    }

    /// Closes files older than the policy's age: for a long-running receiver, called between
    /// writes so a quiet partition still becomes visible.
    pub fn roll_aged(&mut self) -> io::Result<()> {
        self.hand_over_all()?;
        self.wait_for(Job::RollAged)
    }

    /// Completes every open file.
    pub fn finish(&mut self) -> io::Result<()> {
        self.hand_over_all()?;
        self.partitions.clear();
        self.wait_for(Job::Finish)
    }

    /// The files completed so far (visible in the lake), in the order they were completed.
    pub fn completed(&self) -> Vec<PathBuf> {
        lock(&self.shared.completed).clone()
    }

    /// Hands `dir`'s gathered rows to the encoder.
    fn hand_over(&mut self, dir: &Path) -> io::Result<()> {
        let Some(gathering) = self.partitions.get_mut(dir) else {
            return Ok(());
        };
        if gathering.rows.len() == 0 {
            return Ok(());
        }
        let batch = gathering.rows.finish().map_err(io::Error::other)?;
        self.send(Job::Write(dir.to_path_buf(), batch))
    }

    fn hand_over_all(&mut self) -> io::Result<()> {
        let mut dirs: Vec<PathBuf> = self.partitions.keys().cloned().collect();
        dirs.sort();
        for dir in dirs {
            self.hand_over(&dir)?;
        }
        Ok(())
    }

    fn make_room(&mut self) -> io::Result<()> {
        if self.partitions.len() < self.policy.max_open_partitions.max(1) {
            return Ok(());
        }
        let oldest = self
            .partitions
            .iter()
            .min_by_key(|(_, g)| g.last_write)
            .map(|(d, _)| d.clone());
        let Some(dir) = oldest else {
            return Ok(());
        };
        self.hand_over(&dir)?;
        self.partitions.remove(&dir);
        self.send(Job::Close(dir))
    }

    fn send(&self, job: Job) -> io::Result<()> {
        if self.jobs.send(job).is_err() {
            self.check()?;
            return Err(io::Error::other("the lake's encoder thread ended"));
        }
        Ok(())
    }

    /// Sends a job that answers, waits for the answer, and gives the encoder's error if any.
    fn wait_for(&self, job: fn(SyncSender<()>) -> Job) -> io::Result<()> {
        let (done, answer) = mpsc::sync_channel(1);
        self.send(job(done))?;
        let _ = answer.recv();
        self.check()
    }

    /// The encoder's first error, if it had one.
    fn check(&self) -> io::Result<()> {
        match &*lock(&self.shared.error) {
            Some((kind, message)) => Err(io::Error::new(*kind, message.clone())),
            None => Ok(()),
        }
    }
}

impl Drop for LakeWriter {
    /// Without [`LakeWriter::finish`], the open files stay hidden temporaries (as after a
    /// crash); the encoder thread ends once it has seen the last job.
    fn drop(&mut self) {
        let (jobs, _) = mpsc::sync_channel(0);
        drop(std::mem::replace(&mut self.jobs, jobs));
        if let Some(encoder) = self.encoder.take() {
            let _ = encoder.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A Parquet file being written in one partition.
struct OpenFile {
    writer: ArrowWriter<File>,
    temp_path: PathBuf,
    final_path: PathBuf,
    opened: Instant,
}

/// The encoder thread's files: one open Parquet file per partition, written under a hidden
/// temporary name and renamed when complete.
struct Files {
    root: PathBuf,
    policy: RollPolicy,
    open: HashMap<PathBuf, OpenFile>,
    shared: Arc<Shared>,
}

impl Files {
    /// Does the jobs until the writer is gone. After an error it only answers, so that the
    /// writer sees the error rather than waiting.
    fn run(&mut self, queue: Receiver<Job>) {
        for job in queue {
            let failed = lock(&self.shared.error).is_some();
            let result = match job {
                Job::Write(_, _) | Job::Close(_) if failed => Ok(()),
                Job::Write(dir, batch) => self.write(dir, &batch),
                Job::Close(dir) => self.close(&dir),
                Job::RollAged(done) => {
                    let r = if failed { Ok(()) } else { self.roll_aged() };
                    let _ = done.send(());
                    r
                }
                Job::Finish(done) => {
                    let r = if failed { Ok(()) } else { self.finish() };
                    let _ = done.send(());
                    r
                }
            };
            if let Err(e) = result {
                lock(&self.shared.error).get_or_insert((e.kind(), e.to_string()));
            }
        }
    }

    fn write(&mut self, dir: PathBuf, batch: &RecordBatch) -> io::Result<()> {
        if !self.open.contains_key(&dir) {
            let file = self.open_file(&dir)?;
            self.open.insert(dir.clone(), file);
        }
        let file = self.open.get_mut(&dir).expect("opened above");
        file.writer.write(batch).map_err(io::Error::other)?;
        if self.should_roll(&dir) {
            self.close(&dir)?;
        }
        Ok(())
    }

    fn roll_aged(&mut self) -> io::Result<()> {
        let mut aged: Vec<PathBuf> = self
            .open
            .iter()
            .filter(|(_, f)| f.opened.elapsed() >= self.policy.max_file_age)
            .map(|(d, _)| d.clone())
            .collect();
        aged.sort();
        for dir in aged {
            self.close(&dir)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        let mut dirs: Vec<PathBuf> = self.open.keys().cloned().collect();
        dirs.sort();
        for dir in dirs {
            self.close(&dir)?;
        }
        Ok(())
    }

    fn should_roll(&self, dir: &Path) -> bool {
        let file = &self.open[dir];
        let size = file.writer.bytes_written() + file.writer.in_progress_size();
        size >= self.policy.max_file_bytes || file.opened.elapsed() >= self.policy.max_file_age
    }

    fn open_file(&self, dir: &Path) -> io::Result<OpenFile> {
        let full_dir = self.root.join(dir);
        fs::create_dir_all(&full_dir)?;
        let name = part_name();
        // The leading dot and the `.tmp` suffix hide the file from DuckDB, Hive, Spark and
        // `osprey read` until it is complete.
        let temp_path = full_dir.join(format!(".{name}.tmp"));
        let final_path = full_dir.join(&name);
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&temp_path)?;
        let writer = ArrowWriter::try_new(file, lake_schema(), Some(self.properties()))
            .map_err(io::Error::other)?;
        Ok(OpenFile {
            writer,
            temp_path,
            final_path,
            opened: Instant::now(),
        })
    }

    fn properties(&self) -> WriterProperties {
        let event = ColumnPath::from(EVENT_COLUMN);
        WriterProperties::builder()
            .set_created_by(format!("osprey {}", env!("CARGO_PKG_VERSION")))
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_size(self.policy.row_group_rows.max(1))
            .set_statistics_enabled(EnabledStatistics::Page)
            // The JSON column is read whole or not at all: min/max of it would only make the
            // footer larger, and its values are too varied for a dictionary.
            .set_column_statistics_enabled(event.clone(), EnabledStatistics::None)
            .set_column_dictionary_enabled(event, false)
            .build()
    }

    /// Completes `dir`'s file: writes its footer, syncs it, and only then gives it its
    /// visible name, so a crash leaves at most a hidden temporary file.
    fn close(&mut self, dir: &Path) -> io::Result<()> {
        let Some(mut file) = self.open.remove(dir) else {
            return Ok(());
        };
        file.writer.finish().map_err(io::Error::other)?;
        file.writer.inner_mut().flush()?;
        file.writer.inner_mut().sync_all()?;
        drop(file.writer);
        fs::rename(&file.temp_path, &file.final_path)?;
        if let Some(parent) = file.final_path.parent() {
            // The rename itself is durable once the directory is synced.
            File::open(parent)?.sync_all()?;
        }
        lock(&self.shared.completed).push(file.final_path);
        Ok(())
    }
}

/// A file name unique across writers into the same lake (several receivers, restarts): the
/// wall-clock time, the process ID and a per-process sequence number.
fn part_name() -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    format!("part-{now:020}-{}-{seq:06}.parquet", std::process::id())
}

/// `-w lake:DIR` for `osprey read` and `osprey receive`: events are parsed and written to the
/// lake; packets and artifact records have no place in it and are counted as left out.
///
/// Events are gathered and parsed a batch at a time on every CPU, then written in their order.
pub struct LakeSink {
    writer: LakeWriter,
    left_out: u64,
    /// The event lines of the batch being gathered, one after the other, and where each ends.
    lines: Vec<u8>,
    ends: Vec<usize>,
}

/// Event lines parsed together.
const PARSE_BATCH: usize = 4096;

impl LakeSink {
    /// A sink writing into the lake at `root` with the default roll policy.
    pub fn create(root: &Path) -> io::Result<LakeSink> {
        Ok(LakeSink {
            writer: LakeWriter::create(root, RollPolicy::default())?,
            left_out: 0,
            lines: Vec::new(),
            ends: Vec::with_capacity(PARSE_BATCH),
        })
    }

    /// Writes one event line; a line that is not an event is counted as left out.
    pub fn write_json(&mut self, json: &[u8]) -> io::Result<()> {
        self.lines.extend_from_slice(json);
        self.ends.push(self.lines.len());
        if self.ends.len() >= PARSE_BATCH {
            self.write_gathered()?;
        }
        Ok(())
    }

    /// Parses the gathered lines in parallel and writes them in order.
    fn write_gathered(&mut self) -> io::Result<()> {
        use rayon::prelude::*;
        let lines = &self.lines;
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        let spans: Vec<(usize, usize)> = starts.zip(self.ends.iter().copied()).collect();
        let parsed: Vec<_> = spans
            .par_iter()
            .map(|&(a, b)| osprey_event::parse_event(&lines[a..b]).ok())
            .collect();
        for (&(a, b), event) in spans.iter().zip(parsed) {
            match event {
                Some(event) => self.writer.write(&lines[a..b], &event)?,
                None => self.left_out += 1,
            }
        }
        self.lines.clear();
        self.ends.clear();
        Ok(())
    }

    /// Closes the files that have been open longer than the roll policy allows.
    pub fn roll_aged(&mut self) -> io::Result<()> {
        self.write_gathered()?;
        self.writer.roll_aged()
    }
}

impl FrameSink for LakeSink {
    fn write_frame(&mut self, frame: &Frame) -> io::Result<()> {
        if frame.kind != FrameKind::Event {
            self.left_out += 1;
            return Ok(());
        }
        self.write_json(&frame.data)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.write_gathered()?;
        self.writer.finish()
    }

    fn left_out(&self) -> u64 {
        self.left_out
    }
}
