//! Writing the lake: one open Parquet file per partition, written under a hidden temporary
//! name and renamed when complete.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use osprey_event::Event;
use osprey_field::hash::FastMap;
use osprey_print::{FrameSink, PrepareEvent, Prepared};
use osprey_source::{Frame, FrameKind};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::journal::{self, Journal, Recovered};
use crate::partition::partition_dir;
use crate::schema::{lake_schema, Row, RowBuilders, EVENT_COLUMN, TIMESTAMP_COLUMN};
use crate::shards::ShardedWriter;

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
    /// hour it spans). Well above the hosts a receiver serves: events of hosts in turn need one
    /// open file per host, and a partition closed for another reopens as a new file.
    pub max_open_partitions: usize,
    /// Bytes the open files may hold in memory together (rows not yet encoded, and encoded row
    /// groups not yet written); past it, the file holding the most ends its row group early.
    pub memory_budget: usize,
}

impl Default for RollPolicy {
    fn default() -> RollPolicy {
        RollPolicy {
            max_file_bytes: 256 << 20,
            max_file_age: Duration::from_secs(300),
            row_group_rows: 64 * 1024,
            max_open_partitions: 1024,
            memory_budget: 256 << 20,
        }
    }
}

/// Rows written at a time by the Parquet encoder, and so about the rows of an `event` page.
const PAGE_ROWS: usize = 8;

/// Writes between two checks of the memory the open files hold.
const MEMORY_CHECK_WRITES: u64 = 4096;

/// Rows buffered before they are handed to the Parquet encoder.
const BATCH_ROWS: usize = 8 * 1024;

/// A partition: the hour (since the epoch, UTC) and the host of its events. Files are looked
/// up by it rather than by their directory, which would be formatted for every event.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Partition {
    hour: u64,
    host: Box<str>,
}

impl Partition {
    fn of(row: &Row) -> Partition {
        Partition {
            hour: row.timestamp / HOUR_NS,
            host: row.host_name.clone(),
        }
    }

    fn dir(&self) -> PathBuf {
        partition_dir(self.hour * HOUR_NS, &self.host)
    }
}

const HOUR_NS: u64 = 3_600_000_000_000;

/// A Parquet file being written in one partition.
struct OpenFile {
    writer: ArrowWriter<File>,
    temp_path: PathBuf,
    final_path: PathBuf,
    rows: RowBuilders,
    opened: Instant,
    last_write: u64,
    /// The number of the first of the writer's writes (1 = its first) that went to the file.
    first_write: u64,
    /// Bytes of the rows not yet handed to the encoder.
    buffered: usize,
}

/// Writes events into a lake directory.
pub struct LakeWriter {
    root: PathBuf,
    policy: RollPolicy,
    open: FastMap<Partition, OpenFile>,
    /// The number of the last write (1 = the first, unless the caller numbers them), to find
    /// the least recently written partition and the oldest event in an open file.
    writes: u64,
    /// Writes since the last check of the memory the open files hold.
    unchecked: u64,
    /// Files completed (renamed to their visible name) so far.
    completed: Vec<PathBuf>,
}

impl LakeWriter {
    /// A writer into `root` (created if missing).
    pub fn create(root: &Path, policy: RollPolicy) -> io::Result<LakeWriter> {
        fs::create_dir_all(root)?;
        Ok(LakeWriter {
            root: root.to_path_buf(),
            policy,
            open: FastMap::default(),
            writes: 0,
            unchecked: 0,
            completed: Vec::new(),
        })
    }

    /// Writes one event: `json` its original bytes (without the line end), `event` what they
    /// parse to.
    pub fn write(&mut self, json: &[u8], event: &Event) -> io::Result<()> {
        self.write_row(json, &Row::of(event))
    }

    /// Writes one event: `json` its original bytes (without the line end), `row` its columns'
    /// values.
    pub fn write_row(&mut self, json: &[u8], row: &Row) -> io::Result<()> {
        self.write_numbered(json, row, self.writes + 1)
    }

    /// [`LakeWriter::write_row`] with the caller's number for the event, greater than any
    /// before it: writer threads sharing a journal number events as one sequence.
    pub(crate) fn write_numbered(&mut self, json: &[u8], row: &Row, number: u64) -> io::Result<()> {
        self.writes = number;
        let partition = Partition::of(row);
        if !self.open.contains_key(&partition) {
            self.make_room()?;
            let file = self.open_file(&partition.dir())?;
            self.open.insert(partition.clone(), file);
        }
        let file = self.open.get_mut(&partition).expect("opened above");
        file.rows.append(json, row);
        file.buffered += json.len();
        file.last_write = number;
        // Sizes are known only for rows handed to the encoder, so the roll check goes with
        // each batch (never larger than a row group, so small row groups roll on time too).
        if file.rows.len() >= BATCH_ROWS.min(self.policy.row_group_rows) {
            flush_rows(file)?;
            if self.should_roll(&partition) {
                self.close(&partition)?;
            }
        }
        self.unchecked += 1;
        if self.unchecked == MEMORY_CHECK_WRITES {
            self.unchecked = 0;
            self.keep_to_budget()?;
        }
        Ok(())
    }

    /// Holds what the open files keep in memory under the policy's budget: over it, the file
    /// holding the most writes its rows and ends its row group early (it stays open, so many
    /// hosts at once make smaller row groups, not more files).
    fn keep_to_budget(&mut self) -> io::Result<()> {
        loop {
            let held = |f: &OpenFile| f.buffered + f.writer.in_progress_size();
            let total: usize = self.open.values().map(held).sum();
            let largest = self
                .open
                .iter()
                .max_by_key(|(_, f)| held(f))
                .filter(|(_, f)| held(f) > 0)
                .map(|(p, _)| p.clone());
            let (true, Some(partition)) = (total > self.policy.memory_budget, largest) else {
                return Ok(());
            };
            let file = self.open.get_mut(&partition).expect("a key of the map");
            let before = held(file);
            flush_rows(file)?;
            file.writer.flush().map_err(io::Error::other)?;
            if held(file) >= before {
                // Nothing more to let go of here: stop rather than pick the same file again.
                return Ok(());
            }
        }
    }

    /// Closes files older than the policy's age: for a long-running receiver, called between
    /// writes so a quiet partition still becomes visible.
    pub fn roll_aged(&mut self) -> io::Result<()> {
        let aged: Vec<Partition> = self
            .open
            .iter()
            .filter(|(_, f)| f.opened.elapsed() >= self.policy.max_file_age)
            .map(|(p, _)| p.clone())
            .collect();
        for partition in aged {
            self.close(&partition)?;
        }
        Ok(())
    }

    /// Completes every open file.
    pub fn finish(&mut self) -> io::Result<()> {
        let mut partitions: Vec<Partition> = self.open.keys().cloned().collect();
        partitions.sort();
        for partition in partitions {
            self.close(&partition)?;
        }
        Ok(())
    }

    /// The number of the oldest write (1 = the first) that is in a file not complete yet;
    /// `None` when every file is.
    pub fn oldest_open_write(&self) -> Option<u64> {
        self.open.values().map(|f| f.first_write).min()
    }

    /// The number of the last write (0 before the first).
    pub(crate) fn last_write(&self) -> u64 {
        self.writes
    }

    /// The files completed so far (visible in the lake), in the order they were completed.
    pub fn completed(&self) -> &[PathBuf] {
        &self.completed
    }

    fn should_roll(&self, partition: &Partition) -> bool {
        let file = &self.open[partition];
        let size = file.writer.bytes_written() + file.writer.in_progress_size();
        size >= self.policy.max_file_bytes || file.opened.elapsed() >= self.policy.max_file_age
    }

    fn make_room(&mut self) -> io::Result<()> {
        if self.open.len() < self.policy.max_open_partitions.max(1) {
            return Ok(());
        }
        let oldest = self
            .open
            .iter()
            .min_by_key(|(_, f)| f.last_write)
            .map(|(p, _)| p.clone());
        match oldest {
            Some(partition) => self.close(&partition),
            None => Ok(()),
        }
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
            rows: RowBuilders::new(),
            opened: Instant::now(),
            last_write: self.writes,
            first_write: self.writes,
            buffered: 0,
        })
    }

    fn properties(&self) -> WriterProperties {
        let event = ColumnPath::from(EVENT_COLUMN);
        let timestamp = ColumnPath::from(TIMESTAMP_COLUMN);
        WriterProperties::builder()
            .set_created_by(format!("osprey {}", env!("CARGO_PKG_VERSION")))
            // LZ4 (the raw block format every engine reads) decompresses about twice as fast as
            // Snappy at the same size here, and a selective query's cost is mostly the `event`
            // pages holding a kept row, decompressed whole.
            .set_compression(Compression::LZ4_RAW)
            .set_max_row_group_size(self.policy.row_group_rows.max(1))
            .set_statistics_enabled(EnabledStatistics::Page)
            // Pages of about 8 events (their JSON): a reader that kept a few rows of a row
            // group decompresses only the pages holding them (the offset index says where each
            // starts), and a selective query's cost is mostly those pages. The page limits are
            // checked once per write batch, so the batch is the page's grain.
            .set_write_batch_size(PAGE_ROWS)
            .set_data_page_size_limit(PAGE_ROWS * 1024)
            // The JSON column is read whole or not at all: min/max of it would only make the
            // footer larger, and its values are too varied for a dictionary.
            .set_column_statistics_enabled(event.clone(), EnabledStatistics::None)
            .set_column_dictionary_enabled(event, false)
            // Times, nearly all distinct and in order, as deltas: a dictionary of them would be
            // as large as the column, and compressing the deltas gains nothing. Every kept row
            // is read with its time (the merge's order), so this page is read by every query.
            .set_column_dictionary_enabled(timestamp.clone(), false)
            .set_column_encoding(timestamp.clone(), Encoding::DELTA_BINARY_PACKED)
            .set_column_compression(timestamp, Compression::UNCOMPRESSED)
            .build()
    }

    /// Completes `partition`'s file: writes the rest of its rows and the footer, syncs it, and only
    /// then gives it its visible name, so a crash leaves at most a hidden temporary file.
    fn close(&mut self, partition: &Partition) -> io::Result<()> {
        let Some(mut file) = self.open.remove(partition) else {
            return Ok(());
        };
        flush_rows(&mut file)?;
        file.writer.finish().map_err(io::Error::other)?;
        file.writer.inner_mut().flush()?;
        file.writer.inner_mut().sync_all()?;
        drop(file.writer);
        fs::rename(&file.temp_path, &file.final_path)?;
        if let Some(parent) = file.final_path.parent() {
            // The rename itself is durable once the directory is synced.
            File::open(parent)?.sync_all()?;
        }
        self.completed.push(file.final_path);
        Ok(())
    }
}

fn flush_rows(file: &mut OpenFile) -> io::Result<()> {
    if file.rows.len() == 0 {
        return Ok(());
    }
    file.buffered = 0;
    let batch = file.rows.finish().map_err(io::Error::other)?;
    file.writer.write(&batch).map_err(io::Error::other)
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
pub struct LakeSink {
    /// Writer threads by host (`shards.rs`).
    shards: ShardedWriter,
    /// A receiver's journal of the events not yet in a complete file (it acknowledges what it
    /// was given); `None` for `osprey read`, and once finished: every event is in a complete
    /// file.
    journal: Option<Journal>,
    left_out: u64,
}

impl LakeSink {
    /// A sink writing into the lake at `root` with the default roll policy, on a writer thread
    /// per CPU.
    pub fn create(root: &Path) -> io::Result<LakeSink> {
        Ok(LakeSink {
            shards: writer_threads(root)?,
            journal: None,
            left_out: 0,
        })
    }

    /// A sink for a receiver that acknowledges what it is given (`osprey receive -w lake:`):
    /// each event also goes to a journal, which [`LakeSink::commit`] hands to the operating
    /// system before the acknowledgment, so that a killed receiver loses nothing acknowledged
    /// (`journal.rs`). The journals of receivers that died are written into the lake first.
    pub fn create_journaled(root: &Path) -> io::Result<(LakeSink, Recovered)> {
        let mut recovering = LakeWriter::create(root, RollPolicy::default())?;
        let recovered = journal::recover(root, &mut recovering)?;
        let journal = Journal::create(root)?;
        let sink = LakeSink {
            shards: writer_threads(root)?,
            journal: Some(journal),
            left_out: 0,
        };
        Ok((sink, recovered))
    }

    /// Writes one event line; a line that is not an event is counted as left out.
    pub fn write_json(&mut self, json: &[u8]) -> io::Result<()> {
        self.write_event(Bytes::copy_from_slice(json), row_of(json))
    }

    /// Before an acknowledgment: closes the files open longer than the roll policy allows,
    /// hands the journal's new lines to the operating system and lets go of its segments whose
    /// events are all in complete files.
    pub fn commit(&mut self) -> io::Result<()> {
        let Some(journal) = &mut self.journal else {
            return Ok(());
        };
        self.shards.roll_aged()?;
        journal.commit(self.shards.oldest_open_write())
    }

    /// Writes `json`, whose columns are `row` (`None`: not an event, left out), and journals it
    /// for a receiver.
    fn write_event(&mut self, json: Bytes, row: Option<Row>) -> io::Result<()> {
        let Some(row) = row else {
            self.left_out += 1;
            return Ok(());
        };
        let number = self.shards.write(json.clone(), row)?;
        match &mut self.journal {
            Some(journal) => journal.append(&json, number),
            None => Ok(()),
        }
    }
}

/// The columns of an event line; `None` when it is not an event.
fn row_of(json: &[u8]) -> Option<Row> {
    osprey_event::parse_event(json)
        .ok()
        .map(|event| Row::of(&event))
}

/// Writer threads into the lake at `root`, one per CPU, with the default roll policy.
fn writer_threads(root: &Path) -> io::Result<ShardedWriter> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    ShardedWriter::start(root, RollPolicy::default(), threads)
}

impl journal::Replay for LakeWriter {
    fn line(&mut self, json: &[u8]) -> io::Result<()> {
        // The journal holds only lines that parsed as events when they were written.
        match osprey_event::parse_event(json) {
            Ok(event) => self.write(json, &event),
            Err(_) => Ok(()),
        }
    }

    fn complete(&mut self) -> io::Result<()> {
        self.finish()
    }
}

impl FrameSink for LakeSink {
    fn write_frame(&mut self, frame: &Frame) -> io::Result<()> {
        if frame.kind != FrameKind::Event {
            self.left_out += 1;
            return Ok(());
        }
        // The frame's bytes are shared, not copied, with the writer thread.
        self.write_event(frame.data.clone(), row_of(&frame.data))
    }

    fn prepare_events(&self) -> Option<PrepareEvent> {
        Some(|event| Box::new(Row::of(event)))
    }

    fn write_prepared(&mut self, frame: &Frame, prepared: Option<Prepared>) -> io::Result<()> {
        match prepared.and_then(|p| p.downcast::<Row>().ok()) {
            Some(row) if frame.kind == FrameKind::Event => {
                self.write_event(frame.data.clone(), Some(*row))
            }
            _ => self.write_frame(frame),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        self.shards.finish()?;
        match self.journal.take() {
            // Every event is in a complete file now.
            Some(journal) => journal.remove(),
            None => Ok(()),
        }
    }

    fn left_out(&self) -> u64 {
        self.left_out
    }
}
