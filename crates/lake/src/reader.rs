//! Reading a lake back: its files found by the partition layout, their events merged in time
//! order and given out as NDJSON, the bytes `osprey read` reads from an event file.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampNanosecondType;
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::file::metadata::{
    PageIndexPolicy, ParquetMetaDataOptions, ParquetMetaDataReader, ParquetStatisticsPolicy,
};

use crate::partition::hour_start_ns;
use crate::query::LakeQuery;
use crate::rowfilter::row_filter;
use crate::schema::{EVENT_COLUMN, TIMESTAMP_COLUMN};

/// Rows decoded at a time from each file.
const READ_BATCH_ROWS: usize = 4096;

/// What a read of the lake skipped and read, for `osprey read --scan-stats` and tests. Hour
/// partitions are `dt=…/hour=…` directories, host partitions the `host=…` directories in the
/// hours read; a file is skipped when its statistics rule out every row group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LakeScan {
    /// Hour partitions skipped by the time constraint, never listed.
    pub hours_skipped: u64,
    /// Hour partitions listed.
    pub hours_read: u64,
    /// Host partitions skipped by the host constraint, never listed.
    pub hosts_skipped: u64,
    /// Host partitions whose files were opened.
    pub hosts_read: u64,
    /// Files whose footer ruled out every row group.
    pub files_skipped: u64,
    /// Files with row groups read.
    pub files_read: u64,
    /// Row groups skipped by their statistics.
    pub row_groups_skipped: u64,
    /// Row groups read.
    pub row_groups_read: u64,
    /// Rows decoded (every one goes through the display filter afterwards).
    pub rows_read: u64,
    /// Rows of the row groups read whose `event` was never decoded: a value in one of the
    /// query's columns rules them out (late materialization, `rowfilter`).
    pub rows_skipped: u64,
}

impl fmt::Display for LakeScan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "hour partitions {} read, {} skipped; host partitions {} read, {} skipped; \
             files {} read, {} skipped; row groups {} read, {} skipped; rows {} read, {} skipped by column values",
            self.hours_read,
            self.hours_skipped,
            self.hosts_read,
            self.hosts_skipped,
            self.files_read,
            self.files_skipped,
            self.row_groups_read,
            self.row_groups_skipped,
            self.rows_read,
            self.rows_skipped
        )
    }
}

/// The scan counters, shared by a reader and whoever reports them.
pub type ScanCounters = Arc<Mutex<LakeScan>>;

pub(crate) fn count(counters: &ScanCounters, update: impl FnOnce(&mut LakeScan)) {
    if let Ok(mut scan) = counters.lock() {
        update(&mut scan);
    }
}

/// Counts one more read, or one more skipped.
fn tally(read: bool, reads: &mut u64, skips: &mut u64) {
    if read {
        *reads += 1;
    } else {
        *skips += 1;
    }
}

/// The lake's visible `.parquet` files under `dt=*/hour=*/host=*/`, in hour then path order;
/// at most `limit`. Hidden files (the writers' temporaries) and symbolic links are skipped: a
/// lake may hold what hostile hosts sent.
pub(crate) fn lake_files(root: &Path, limit: usize) -> Vec<PathBuf> {
    let (all, counters) = (LakeQuery::all(), ScanCounters::default());
    hour_dirs(root, &all, &counters)
        .flat_map(|hour| host_dirs(&hour, &all, &counters))
        .flat_map(|host| data_files(&host))
        .take(limit)
        .collect()
}

/// The hour partitions (`dt=…/hour=…`) `query` may want, in time order; the others are
/// counted and never listed. A name that does not parse is kept: it may still hold wanted
/// events.
fn hour_dirs<'a>(
    root: &Path,
    query: &'a LakeQuery,
    counters: &'a ScanCounters,
) -> impl Iterator<Item = PathBuf> + 'a {
    subdirs(root, "dt=").into_iter().flat_map(move |dt| {
        subdirs(&dt, "hour=").into_iter().filter(move |hour| {
            let wanted = hour_start_ns(&file_name(&dt), &file_name(hour))
                .is_none_or(|s| query.admits_hour(s));
            count(counters, |c| {
                tally(wanted, &mut c.hours_read, &mut c.hours_skipped)
            });
            wanted
        })
    })
}

/// The host partitions of `hour` that `query` may want, in path order; the others are counted.
fn host_dirs(hour: &Path, query: &LakeQuery, counters: &ScanCounters) -> Vec<PathBuf> {
    let mut hosts = subdirs(hour, "host=");
    hosts.retain(|host| {
        let wanted = file_name(host)
            .strip_prefix("host=")
            .is_none_or(|h| query.admits_host(h));
        count(counters, |c| {
            tally(wanted, &mut c.hosts_read, &mut c.hosts_skipped)
        });
        wanted
    });
    hosts
}

/// The visible `.parquet` files of a host partition, in path order.
fn data_files(host: &Path) -> Vec<PathBuf> {
    let mut files = entries(host);
    files.retain(|path| {
        let name = file_name(path);
        !name.starts_with('.') && name.ends_with(".parquet") && is_file(path)
    });
    files
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    paths
}

fn subdirs(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    entries(dir)
        .into_iter()
        .filter(|p| file_name(p).starts_with(prefix))
        .filter(|p| fs::symlink_metadata(p).is_ok_and(|m| m.is_dir()))
        .collect()
}

fn is_file(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One file being read: its current batch and the next row in it.
struct Cursor {
    reader: ParquetRecordBatchReader,
    batch: RecordBatch,
    row: usize,
    path: PathBuf,
    counters: ScanCounters,
}

/// Runs a step of the Parquet decoder, turning a panic into an error. Lake files may come
/// from anywhere; the decoder is meant to return errors on bad input, and this keeps one of
/// its bugs on a hostile file from ending the run.
fn guarded<T>(path: &Path, step: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step))
        .unwrap_or_else(|_| Err(lake_error(path, "the Parquet decoder failed")))
}

impl Cursor {
    /// Opens a file at its first row that `query` may want; `None` when there is none.
    fn open(
        path: PathBuf,
        query: &LakeQuery,
        counters: &ScanCounters,
    ) -> io::Result<Option<Cursor>> {
        guarded(&path.clone(), || {
            Cursor::open_unguarded(path, query, counters)
        })
    }

    fn open_unguarded(
        path: PathBuf,
        query: &LakeQuery,
        counters: &ScanCounters,
    ) -> io::Result<Option<Cursor>> {
        let file = PositionedFile::open(&path, query.may_scatter())?;
        let metadata =
            reader_metadata(&file, !query.is_empty()).map_err(|e| lake_error(&path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata);
        let groups = query.row_groups(builder.metadata());
        let skipped = builder.metadata().num_row_groups() - groups.len();
        count(counters, |c| {
            c.row_groups_read += groups.len() as u64;
            c.row_groups_skipped += skipped as u64;
            tally(!groups.is_empty(), &mut c.files_read, &mut c.files_skipped);
        });
        if groups.is_empty() {
            return Ok(None);
        }
        let schema = builder.parquet_schema();
        let column = |name: &str| {
            (0..schema.num_columns())
                .find(|&i| schema.column(i).path().string() == name)
                .ok_or_else(|| lake_error(&path, format!("no column `{name}`")))
        };
        let mask =
            ProjectionMask::leaves(schema, [column(TIMESTAMP_COLUMN)?, column(EVENT_COLUMN)?]);
        let filter = row_filter(query, builder.metadata(), counters);
        let mut builder = builder.with_row_groups(groups).with_projection(mask);
        if let Some(filter) = filter {
            builder = builder.with_row_filter(filter);
        }
        let reader = builder
            .with_batch_size(READ_BATCH_ROWS)
            .build()
            .map_err(|e| lake_error(&path, e))?;
        let mut cursor = Cursor {
            reader,
            batch: RecordBatch::new_empty(Arc::new(arrow_schema::Schema::empty())),
            row: 0,
            path,
            counters: counters.clone(),
        };
        Ok(cursor.next_batch()?.then_some(cursor))
    }

    /// Loads the next non-empty batch; false at the end of the file.
    fn next_batch(&mut self) -> io::Result<bool> {
        let path = self.path.clone();
        guarded(&path, || self.next_batch_unguarded())
    }

    fn next_batch_unguarded(&mut self) -> io::Result<bool> {
        for batch in self.reader.by_ref() {
            let batch = batch.map_err(|e| lake_error(&self.path, e))?;
            check_batch(&batch).map_err(|e| lake_error(&self.path, e))?;
            count(&self.counters, |c| c.rows_read += batch.num_rows() as u64);
            if batch.num_rows() > 0 {
                self.batch = batch;
                self.row = 0;
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn timestamp(&self) -> i64 {
        let ts = self
            .batch
            .column(0)
            .as_primitive::<TimestampNanosecondType>();
        if ts.is_null(self.row) {
            0
        } else {
            ts.value(self.row)
        }
    }

    fn event(&self) -> &[u8] {
        self.batch.column(1).as_binary::<i32>().value(self.row)
    }
}

/// A file's metadata for reading. When a query may drop rows (`filtering`), with its offset
/// index, so that the pages of the `event` column holding no row the row filter kept are
/// skipped unread (it says where each page starts); a full read needs none. The column index
/// (each page's statistics) is never read: pruning goes by row group, and a file's pages are
/// too small for their statistics to rule out more than its row filter does. And with
/// its text columns read as dictionaries, so that the row filter tests each distinct value
/// once rather than every row's copy of it.
fn reader_metadata(
    file: &PositionedFile,
    filtering: bool,
) -> parquet::errors::Result<ArrowReaderMetadata> {
    // The metadata is read here, so the options' own page-index setting (for loading) is moot.
    let options = ArrowReaderOptions::new();
    let metadata = Arc::new(
        ParquetMetaDataReader::new()
            // Which encodings each column's pages use is not needed to read them.
            .with_metadata_options(Some(
                ParquetMetaDataOptions::new()
                    .with_encoding_stats_policy(ParquetStatisticsPolicy::SkipAll),
            ))
            .with_column_index_policy(PageIndexPolicy::Skip)
            .with_offset_index_policy(PageIndexPolicy::from(filtering))
            .parse_and_finish(file)?,
    );
    // A file of the lake's schema is read with the schema made once, rather than one decoded
    // from the file's Arrow metadata and converted (a fleet-wide query opens thousands).
    let read_schema = lake_read_schema();
    if let Ok(m) =
        ArrowReaderMetadata::try_new(metadata.clone(), options.clone().with_schema(read_schema))
    {
        return Ok(m);
    }
    // A foreign file: its own schema, with the text columns as dictionaries if it can be
    // read so, else as it is.
    let plain = ArrowReaderMetadata::try_new(metadata.clone(), options.clone())?;
    let schema = Arc::new(arrow_schema::Schema::new_with_metadata(
        dictionary_texts(plain.schema().fields()),
        plain.schema().metadata().clone(),
    ));
    Ok(ArrowReaderMetadata::try_new(metadata, options.with_schema(schema)).unwrap_or(plain))
}

/// The lake's schema with its text columns as dictionaries.
fn lake_read_schema() -> arrow_schema::SchemaRef {
    static SCHEMA: std::sync::OnceLock<arrow_schema::SchemaRef> = std::sync::OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(arrow_schema::Schema::new(dictionary_texts(
                crate::schema::lake_schema().fields(),
            )))
        })
        .clone()
}

fn dictionary_texts(fields: &arrow_schema::Fields) -> Vec<arrow_schema::FieldRef> {
    fields
        .iter()
        .map(|f| match f.data_type() {
            arrow_schema::DataType::Utf8 => Arc::new(f.as_ref().clone().with_data_type(
                arrow_schema::DataType::Dictionary(
                    Box::new(arrow_schema::DataType::Int32),
                    Box::new(arrow_schema::DataType::Utf8),
                ),
            )),
            _ => f.clone(),
        })
        .collect()
}

/// A lake file read with positioned reads (`pread`). The parquet crate's reader of a `File`
/// duplicates the descriptor, seeks and closes the duplicate for every range it reads (the
/// footer, the page index, each column chunk and page), and asks the file's size each time: a
/// fleet-wide query reads ranges of tens of thousands of files, and those system calls were
/// most of its system time.
#[derive(Clone)]
struct PositionedFile {
    file: Arc<File>,
    len: u64,
}

impl PositionedFile {
    /// Opens `path`; `scattered` when only scattered parts of it are likely to be read (a
    /// query's columns, and pages here and there), which the kernel is then told so that it
    /// reads no further ahead than asked: read-ahead would fetch the unwanted pages around
    /// each wanted one and push parts of the lake later queries want out of the page cache.
    /// Not otherwise: the reader reads a run of pages one page at a time, which read-ahead
    /// turns into a few large reads (a host's events read cold without it took twice as long).
    fn open(path: &Path, scattered: bool) -> io::Result<PositionedFile> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        if scattered {
            use std::os::fd::AsRawFd;
            // Only advice: a failure changes nothing but speed.
            // SAFETY: the descriptor is open and ours for the call.
            unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_RANDOM) };
        }
        Ok(PositionedFile {
            file: Arc::new(file),
            len,
        })
    }
}

impl parquet::file::reader::Length for PositionedFile {
    fn len(&self) -> u64 {
        self.len
    }
}

impl parquet::file::reader::ChunkReader for PositionedFile {
    type T = io::BufReader<PositionedRead>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(io::BufReader::new(PositionedRead {
            file: self.file.clone(),
            at: start,
        }))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        use std::os::unix::fs::FileExt;
        // A damaged footer may name any range: never allocate past the end of the file.
        if start.saturating_add(length as u64) > self.len {
            return Err(parquet::errors::ParquetError::EOF(format!(
                "{length} bytes at {start} are past the end of the file ({} bytes)",
                self.len
            )));
        }
        let mut buffer = vec![0; length];
        self.file.read_exact_at(&mut buffer, start)?;
        Ok(buffer.into())
    }
}

/// Reads a lake file from a position on, by positioned reads.
struct PositionedRead {
    file: Arc<File>,
    at: u64,
}

impl Read for PositionedRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// The projected columns have the lake's types: anything else is a foreign or damaged file,
/// reported rather than cast (and never a panic in the accessors above).
fn check_batch(batch: &RecordBatch) -> Result<(), String> {
    use arrow_schema::{DataType, TimeUnit};
    let ok = batch.num_columns() == 2
        && matches!(
            batch.column(0).data_type(),
            DataType::Timestamp(TimeUnit::Nanosecond, _)
        )
        && batch.column(1).data_type() == &DataType::Binary;
    if ok {
        Ok(())
    } else {
        Err(format!(
            "columns `{TIMESTAMP_COLUMN}`/`{EVENT_COLUMN}` are not Timestamp(ns)/Binary"
        ))
    }
}

fn lake_error(path: &Path, e: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {e}", path.display()),
    )
}

/// The events of a lake as NDJSON (`Read`), merged in time order like `mergecap`: each file
/// keeps its order, the earliest next event goes first (ties in path order). Hours are read
/// one after another, since a file holds only its hour's events: the next hour's files are
/// listed and opened ([`Opener`]) while this hour's are merged, and only those two hours' files
/// are open at a time.
pub struct LakeReader {
    opener: Opener,
    counters: ScanCounters,
    /// Told of each file that cannot be read (from the start or from some point on), which is
    /// then skipped: damage in one file never stops the others.
    on_damage: Box<dyn FnMut(String) + Send>,
    cursors: Vec<Option<Cursor>>,
    heap: BinaryHeap<Reverse<(i64, usize)>>,
    out: Vec<u8>,
    out_pos: usize,
}

impl LakeReader {
    /// A reader of every event in the lake at `root`.
    pub fn open(root: &Path) -> io::Result<LakeReader> {
        LakeReader::open_query(root, LakeQuery::all())
    }

    /// A reader of the events in the lake at `root` that `query` may want, in time order:
    /// partitions and row groups it rules out are not read (see [`LakeReader::scan`]). The
    /// events read are all those meeting the query, and some that do not.
    pub fn open_query(root: &Path, query: LakeQuery) -> io::Result<LakeReader> {
        if lake_files(root, 1).is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no dt=*/hour=*/host=*/*.parquet files", root.display()),
            ));
        }
        let counters = ScanCounters::default();
        Ok(LakeReader {
            opener: Opener::start(root.to_path_buf(), query, counters.clone())?,
            counters,
            on_damage: Box::new(|_| {}),
            cursors: Vec::new(),
            heap: BinaryHeap::new(),
            out: Vec::with_capacity(1 << 16),
            out_pos: 0,
        })
    }

    /// The counters of what this reader skipped and read so far, shared: they keep counting
    /// as the reader reads.
    pub fn scan(&self) -> ScanCounters {
        self.counters.clone()
    }

    /// Calls `report` with a message (naming the file) for each file that is skipped because
    /// it cannot be read.
    pub fn on_damage(mut self, report: impl FnMut(String) + Send + 'static) -> LakeReader {
        self.on_damage = Box::new(report);
        self
    }

    /// Takes the next hour's opened files; false when every hour has been read.
    fn next_hour(&mut self) -> bool {
        let Some(opened) = self.opener.next_hour() else {
            return false;
        };
        self.cursors.clear();
        for opened in opened {
            match opened {
                Ok(Some(cursor)) => {
                    self.heap
                        .push(Reverse((cursor.timestamp(), self.cursors.len())));
                    self.cursors.push(Some(cursor));
                }
                Ok(None) => {}
                Err(e) => (self.on_damage)(format!("{e}; file skipped")),
            }
        }
        true
    }

    /// Appends the next event and its line end to `out`; false at the end of the lake.
    fn next_event(&mut self) -> bool {
        while self.heap.is_empty() {
            if !self.next_hour() {
                return false;
            }
        }
        let Reverse((_, i)) = self.heap.pop().expect("not empty");
        let cursor = self.cursors[i].as_mut().expect("in the heap");
        self.out.extend_from_slice(cursor.event());
        self.out.push(b'\n');
        cursor.row += 1;
        let more = if cursor.row < cursor.batch.num_rows() {
            Ok(true)
        } else {
            cursor.next_batch()
        };
        match more {
            Ok(true) => self.heap.push(Reverse((cursor.timestamp(), i))),
            Ok(false) => self.cursors[i] = None,
            Err(e) => {
                (self.on_damage)(format!("{e}; the rest of the file skipped"));
                self.cursors[i] = None;
            }
        }
        true
    }
}

/// An hour's files, each opened at its first wanted row ([`Cursor::open`]) or the error that
/// stopped it, in path order.
type OpenedHour = Vec<io::Result<Option<Cursor>>>;

/// The thread that lists the lake's hours in time order and opens each hour's files, one hour
/// ahead of the merge. Opening is most of a selective query's work (the footer, the offset
/// index, the row filter over the name columns, the kept rows: a fleet's files are small), so
/// the merge of an hour and the opening of the next share the CPUs instead of taking turns.
struct Opener {
    hours: Option<mpsc::Receiver<OpenedHour>>,
    /// Set when the reader is dropped before the end: the thread stops at its next file.
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Opener {
    fn start(root: PathBuf, query: LakeQuery, counters: ScanCounters) -> io::Result<Opener> {
        // One hour waiting beside the one being opened: a second would only hold more files open.
        let (send, hours) = mpsc::sync_channel(1);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("lake-open".into())
            .spawn(move || {
                // Threads made once for the whole read: two spawned for each hour, each ending
                // while its allocator heap still held the open files' buffers (freed later on
                // the merging thread), cost 7% of a fleet-wide query's time (BENCHMARKS.md).
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("lake-open-{i}"))
                    .build();
                for hour in hour_dirs(&root, &query, &counters) {
                    let hosts = host_dirs(&hour, &query, &counters);
                    let opened = match &pool {
                        Ok(pool) => {
                            pool.install(|| open_files(&hosts, &query, &counters, &stopped))
                        }
                        Err(_) => open_files(&hosts, &query, &counters, &stopped),
                    };
                    if stopped.load(Ordering::Relaxed) || send.send(opened).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Opener {
            hours: Some(hours),
            stop,
            thread: Some(thread),
        })
    }

    /// The next hour's files; `None` after the last. A panic of the thread is raised here.
    fn next_hour(&mut self) -> Option<OpenedHour> {
        if let Ok(hour) = self.hours.as_ref()?.recv() {
            return Some(hour);
        }
        self.hours = None;
        if let Some(Err(panic)) = self.thread.take().map(|t| t.join()) {
            std::panic::resume_unwind(panic);
        }
        None
    }
}

impl Drop for Opener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Dropping the receiver wakes the thread if it waits to send.
        self.hours = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Lists and opens the files of `hosts` (an hour's host partitions), in their order: each
/// host's on whichever thread of the current rayon pool is free (the global pool outside one).
/// Stops opening, leaving the rest out, when `stop` is set.
fn open_files(
    hosts: &[PathBuf],
    query: &LakeQuery,
    counters: &ScanCounters,
    stop: &AtomicBool,
) -> OpenedHour {
    use rayon::prelude::*;
    let opened: Vec<OpenedHour> = hosts
        .par_iter()
        .map(|host| {
            if stop.load(Ordering::Relaxed) {
                return Vec::new();
            }
            data_files(host)
                .into_iter()
                .map(|path| Cursor::open(path, query, counters))
                .collect()
        })
        .collect();
    opened.into_iter().flatten().collect()
}

impl Read for LakeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
            while self.out.len() < (1 << 16) && self.next_event() {}
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event of host `node-1` at `timestamp`.
    fn event_at(timestamp: u64) -> Vec<u8> {
        format!(r#"{{"timestamp":{timestamp},"threadStartTime":1,"processorId":0,"processId":7,"cgroupId":1,"threadId":7,"parentProcessId":1,"hostProcessId":7,"hostThreadId":7,"hostParentProcessId":1,"userId":0,"mountNamespace":1,"pidNamespace":1,"processName":"curl","hostName":"node-1","containerId":"","containerImage":"","containerName":"","podName":"","podNamespace":"","podUID":"","eventId":"257","eventName":"openat","argsNum":0,"returnValue":0,"stackAddresses":null,"syscall":"openat","contextFlags":{{"containerStarted":false,"isCompat":false}},"args":[]}}"#).into_bytes()
    }

    #[test]
    fn a_reader_dropped_early_stops_opening_the_hours_ahead() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer =
            crate::LakeWriter::create(dir.path(), crate::RollPolicy::default()).unwrap();
        // Six hours of 100 events, each hour more than a read's 64 KiB: the first read takes
        // only the first hour's events, and the opener runs ahead.
        let hour = 3_600_000_000_000;
        for h in 0..6 {
            for t in 1..=100 {
                let line = event_at(1_796_540_400_000_000_000 + h * hour + t);
                writer
                    .write(&line, &osprey_event::parse_event(&line).unwrap())
                    .unwrap();
            }
        }
        writer.finish().unwrap();
        let mut reader = LakeReader::open(dir.path()).unwrap();
        let first = event_at(1_796_540_400_000_000_001);
        let mut buf = vec![0; first.len() + 1];
        reader.read_exact(&mut buf).unwrap();
        assert_eq!(&buf[..first.len()], &first[..]);
        // The thread has opened at most the hour after the one taken and the one after that,
        // which it waits to hand over; dropping the reader must end it.
        let scan = reader.scan();
        drop(reader);
        let scan = *scan.lock().unwrap();
        assert!(scan.files_read <= 3, "{scan}");
        // Read to the end, every hour comes in time order.
        let mut all = String::new();
        LakeReader::open(dir.path())
            .unwrap()
            .read_to_string(&mut all)
            .unwrap();
        let times: Vec<u64> = all.lines().map(|l| l[13..32].parse().unwrap()).collect();
        assert_eq!(times.len(), 600);
        assert!(times.is_sorted());
    }

    #[test]
    fn lake_files_are_read_with_the_schema_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let line = br#"{"timestamp":1796540400000000000,"threadStartTime":1,"processorId":0,"processId":7,"cgroupId":1,"threadId":7,"parentProcessId":1,"hostProcessId":7,"hostThreadId":7,"hostParentProcessId":1,"userId":0,"mountNamespace":1,"pidNamespace":1,"processName":"curl","hostName":"node-1","containerId":"","containerImage":"","containerName":"","podName":"","podNamespace":"","podUID":"","eventId":"257","eventName":"openat","argsNum":0,"returnValue":0,"stackAddresses":null,"syscall":"openat","contextFlags":{"containerStarted":false,"isCompat":false},"args":[]}"#;
        let mut writer =
            crate::LakeWriter::create(dir.path(), crate::RollPolicy::default()).unwrap();
        writer
            .write(line, &osprey_event::parse_event(line).unwrap())
            .unwrap();
        writer.finish().unwrap();
        let file = PositionedFile::open(&writer.completed()[0], false).unwrap();
        for filtering in [false, true] {
            let m = reader_metadata(&file, filtering).unwrap();
            assert!(Arc::ptr_eq(m.schema(), &lake_read_schema()));
            assert_eq!(m.metadata().offset_index().is_some(), filtering);
        }
    }
}
