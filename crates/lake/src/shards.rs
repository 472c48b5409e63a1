//! Writing the lake on several threads: each event goes to the writer thread of its host, which
//! owns that host's partitions (a partition is one host's hour), so a partition's file is never
//! split between threads and its rows keep the order they came in. Events come parsed, as
//! [`Row`]s made where they were parsed (`osprey read`'s workers).
//!
//! One thread is not enough: building the columns, compressing the `event` pages and creating,
//! syncing and renaming files took the one writing thread's whole time, while the other CPU
//! waited (BENCHMARKS.md, "Lake").

use std::hash::BuildHasher;
use std::io;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
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
}

struct Shard {
    batch: Vec<(Bytes, Row)>,
    sender: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

enum Job {
    Write(Vec<(Bytes, Row)>),
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
            let thread = std::thread::Builder::new()
                .name(format!("lake-writer-{i}"))
                .spawn(move || write_batches(writer, batches))?;
            shards.push(Shard {
                batch: Vec::with_capacity(SHARD_BATCH),
                sender: Some(sender),
                thread: Some(thread),
            });
        }
        Ok(ShardedWriter {
            shards,
            hosts: FastMap::default(),
            hash: FastHash::default(),
        })
    }

    /// Queues one event for its host's writer: `json` its original bytes, `row` its columns.
    pub(crate) fn write(&mut self, json: Bytes, row: Row) -> io::Result<()> {
        let i = self.route(&row.host_name);
        let shard = &mut self.shards[i];
        shard.batch.push((json, row));
        if shard.batch.len() >= SHARD_BATCH {
            shard.send()?;
        }
        Ok(())
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
        self.enqueue(Job::Write(batch))
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

fn write_batches(mut writer: LakeWriter, jobs: Receiver<Job>) -> io::Result<()> {
    for job in jobs {
        match job {
            Job::Write(batch) => {
                for (json, row) in batch {
                    writer.write_row(&json, &row)?;
                }
            }
            Job::Finish => return writer.finish(),
        }
    }
    Ok(())
}
