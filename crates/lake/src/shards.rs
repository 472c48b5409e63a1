//! Writing the lake on several threads: each event goes to the writer thread of its host, which
//! owns that host's partitions (a partition is one host's hour), so a partition's file is never
//! split between threads and its rows keep the order they came in. Events come parsed, as
//! [`Row`]s made where they were parsed (`osprey read`'s workers, a receiver's thread), and
//! numbered in the order they came, so a receiver's journal can tell which are in complete files.
//!
//! One thread is not enough: building the columns, compressing the `event` pages and creating,
//! syncing and renaming files took the one writing thread's whole time, while the other CPU
//! waited (BENCHMARKS.md, "Lake").

use std::hash::BuildHasher;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::Bytes;
use osprey_field::hash::{FastHash, FastMap};

use crate::schema::Row;
use crate::writer::{LakeWriter, RollPolicy};

/// Events handed to a writer thread at a time.
const SHARD_BATCH: usize = 256;
/// Batches waiting for a writer thread, beyond which the caller waits.
const QUEUED_BATCHES: usize = 4;

/// Hosts given a writer thread in turn, as they are first seen; past this many (a hostile or
/// huge fleet), or for a name longer than a host name can be, a host's thread is chosen by a
/// hash of its name, without remembering it.
const ROUTED_HOSTS: usize = 1 << 16;
const ROUTED_NAME_BYTES: usize = 255;

/// Writer threads, one per CPU, each with its own [`LakeWriter`] over the same lake.
pub(crate) struct ShardedWriter {
    shards: Vec<Shard>,
    /// Each host's thread: hosts in turn, so that eight hosts make four on each of two threads
    /// (a hash would as often put five on one).
    hosts: FastMap<Box<str>, usize>,
    hash: FastHash,
    /// The number of the last event queued (the first is 1).
    queued: u64,
}

struct Shard {
    batch: Vec<Numbered>,
    sender: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<io::Result<()>>>,
    /// The number of the last event sent to the thread.
    sent: u64,
    progress: Arc<Progress>,
}

/// An event for a writer thread: its original bytes, its columns and its number.
type Numbered = (Bytes, Row, u64);

/// What a writer thread has done, for [`ShardedWriter::oldest_open_write`]; updated after each
/// batch, `oldest_open` before `written`.
struct Progress {
    /// The number of the last event the thread wrote (into a file complete or not).
    written: AtomicU64,
    /// The number of the oldest event in one of its files not yet complete; `u64::MAX` when
    /// every file is.
    oldest_open: AtomicU64,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            written: AtomicU64::new(0),
            oldest_open: AtomicU64::new(u64::MAX),
        }
    }
}

enum Job {
    Write(Vec<Numbered>),
    /// Close the files older than the roll policy allows.
    RollAged,
    /// Complete the files and stop. A thread whose queue closes without it stops at once,
    /// leaving its files hidden and incomplete, as one writer does when an error stops it.
    Finish,
}

impl ShardedWriter {
    /// `threads` writer threads into the lake at `root`, sharing `policy`'s limits (each gets
    /// its part of the open partitions and of the memory budget).
    pub(crate) fn start(root: &Path, policy: RollPolicy, threads: usize) -> io::Result<Self> {
        let threads = threads.max(1);
        let policy = RollPolicy {
            max_open_partitions: (policy.max_open_partitions / threads).max(1),
            memory_budget: policy.memory_budget / threads,
            ..policy
        };
        let mut shards = Vec::with_capacity(threads);
        for i in 0..threads {
            let writer = LakeWriter::create(root, policy.clone())?;
            let (sender, batches) = sync_channel(QUEUED_BATCHES);
            let progress = Arc::new(Progress::new());
            let shared = progress.clone();
            let thread = std::thread::Builder::new()
                .name(format!("lake-writer-{i}"))
                .spawn(move || write_batches(writer, batches, &shared))?;
            shards.push(Shard {
                batch: Vec::with_capacity(SHARD_BATCH),
                sender: Some(sender),
                thread: Some(thread),
                sent: 0,
                progress,
            });
        }
        Ok(ShardedWriter {
            shards,
            hosts: FastMap::default(),
            hash: FastHash::default(),
            queued: 0,
        })
    }

    /// Queues one event for its host's writer: `json` its original bytes, `row` its columns.
    /// Returns the event's number (1 for the first), as [`ShardedWriter::oldest_open_write`]
    /// counts.
    pub(crate) fn write(&mut self, json: Bytes, row: Row) -> io::Result<u64> {
        self.queued += 1;
        let number = self.queued;
        let i = self.route(&row.host_name);
        let shard = &mut self.shards[i];
        shard.batch.push((json, row, number));
        if shard.batch.len() >= SHARD_BATCH {
            shard.send()?;
        }
        Ok(number)
    }

    /// Hands every queued event to its thread and has each close its files older than the roll
    /// policy allows (a receiver between chunks: a quiet partition still becomes visible).
    pub(crate) fn roll_aged(&mut self) -> io::Result<()> {
        for shard in &mut self.shards {
            shard.send()?;
            shard.enqueue(Job::RollAged)?;
        }
        Ok(())
    }

    /// The number of the oldest event that may not be in a complete file yet: still queued, or
    /// in a file still open. `None` when every event queued is in a complete file.
    pub(crate) fn oldest_open_write(&self) -> Option<u64> {
        let oldest = self.shards.iter().map(|shard| {
            // `written` first: the `oldest_open` read after it is at least as recent.
            let written = shard.progress.written.load(Ordering::Acquire);
            let mut oldest = shard.progress.oldest_open.load(Ordering::Acquire);
            if written < shard.sent {
                // Some of what was sent is not written yet.
                oldest = oldest.min(written + 1);
            }
            match shard.batch.first() {
                Some(&(_, _, unsent)) => oldest.min(unsent),
                None => oldest,
            }
        });
        oldest.min().filter(|&n| n != u64::MAX)
    }

    /// Writes what is queued, completes every file and stops the threads.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        let mut first_error = None;
        for shard in &mut self.shards {
            let sent = shard.send().and_then(|()| shard.enqueue(Job::Finish));
            if let Err(e) = sent {
                first_error.get_or_insert(e);
            }
            shard.sender = None;
        }
        for shard in &mut self.shards {
            if let Err(e) = shard.join() {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn route(&mut self, host: &str) -> usize {
        if let Some(&i) = self.hosts.get(host) {
            return i;
        }
        let n = self.shards.len();
        if self.hosts.len() >= ROUTED_HOSTS || host.len() > ROUTED_NAME_BYTES {
            return (self.hash.hash_one(host) % n as u64) as usize;
        }
        let i = self.hosts.len() % n;
        self.hosts.insert(host.into(), i);
        i
    }
}

impl Shard {
    fn send(&mut self) -> io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(SHARD_BATCH));
        let last = batch.last().map_or(self.sent, |&(_, _, number)| number);
        self.enqueue(Job::Write(batch))?;
        self.sent = last;
        Ok(())
    }

    fn enqueue(&mut self, job: Job) -> io::Result<()> {
        let Some(sender) = &self.sender else {
            return Err(io::Error::other("the lake writer has stopped"));
        };
        if sender.send(job).is_ok() {
            return Ok(());
        }
        // The thread stopped on an error: that error is the one to report.
        self.sender = None;
        Err(self
            .join()
            .err()
            .unwrap_or_else(|| io::Error::other("the lake writer has stopped")))
    }

    /// Waits for the thread; its error if it stopped on one.
    fn join(&mut self) -> io::Result<()> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a lake writer thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for ShardedWriter {
    fn drop(&mut self) {
        // Not finished (an error elsewhere): the threads stop when their queues close, and
        // are waited for, so that none writes on behind the caller's back.
        for shard in &mut self.shards {
            shard.sender = None;
        }
        for shard in &mut self.shards {
            let _ = shard.join();
        }
    }
}

fn write_batches(
    mut writer: LakeWriter,
    jobs: Receiver<Job>,
    progress: &Progress,
) -> io::Result<()> {
    for job in jobs {
        let finished = matches!(job, Job::Finish);
        match job {
            Job::Write(batch) => {
                for (json, row, number) in batch {
                    writer.write_numbered(&json, &row, number)?;
                }
            }
            Job::RollAged => writer.roll_aged()?,
            Job::Finish => writer.finish()?,
        }
        let oldest_open = writer.oldest_open_write().unwrap_or(u64::MAX);
        progress.oldest_open.store(oldest_open, Ordering::Release);
        progress
            .written
            .store(writer.last_write(), Ordering::Release);
        if finished {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn row(host: &str, hour: u64) -> Row {
        let line = format!(
            r#"{{"timestamp":{},"hostName":"{host}","eventName":"x","eventId":"1"}}"#,
            hour * 3_600_000_000_000
        );
        Row::of(&osprey_event::parse_event(line.as_bytes()).unwrap())
    }

    /// Waits (up to a minute, for a loaded machine) until every sent event is written.
    fn settle(shards: &ShardedWriter) {
        let start = Instant::now();
        while shards
            .shards
            .iter()
            .any(|s| s.progress.written.load(Ordering::Acquire) < s.sent)
        {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "writer threads stuck"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn the_oldest_open_write_follows_files_on_every_thread() {
        let dir = tempfile::tempdir().unwrap();
        let mut shards = ShardedWriter::start(dir.path(), RollPolicy::default(), 3).unwrap();
        assert_eq!(shards.oldest_open_write(), None, "nothing written");
        for i in 0..30 {
            let number = shards
                .write(Bytes::from_static(b"{}"), row(&format!("h{}", i % 5), 1))
                .unwrap();
            assert_eq!(number, i + 1);
        }
        // Queued in this writer's batches, not sent: not in a complete file.
        assert_eq!(shards.oldest_open_write(), Some(1));
        shards.roll_aged().unwrap();
        settle(&shards);
        // Written into files still open (the roll age is minutes).
        assert_eq!(shards.oldest_open_write(), Some(1));
        shards.finish().unwrap();
        assert_eq!(shards.oldest_open_write(), None, "every file complete");
    }

    #[test]
    fn events_in_complete_files_are_no_longer_open() {
        let dir = tempfile::tempdir().unwrap();
        // Every row ends its row group and, the file being over its size, the file.
        let policy = RollPolicy {
            max_file_bytes: 1,
            row_group_rows: 1,
            ..RollPolicy::default()
        };
        let mut shards = ShardedWriter::start(dir.path(), policy, 2).unwrap();
        for i in 0..20 {
            shards
                .write(Bytes::from_static(b"{}"), row(&format!("h{}", i % 4), 1))
                .unwrap();
        }
        shards.roll_aged().unwrap();
        settle(&shards);
        assert_eq!(shards.oldest_open_write(), None);
        // One more, held in a batch: it alone is open.
        shards
            .write(Bytes::from_static(b"{}"), row("h9", 2))
            .unwrap();
        assert_eq!(shards.oldest_open_write(), Some(21));
        shards.finish().unwrap();
    }
}
