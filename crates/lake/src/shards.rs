//! Writing the lake on several threads: each event goes to the writer thread of its host, which
//! parses it and owns that host's partitions (a partition is one host's hour), so a partition's
//! file is never split between threads and its rows keep the order they came in.
//!
//! One thread is not enough: parsing, building the columns, compressing the `event` pages and
//! creating, syncing and renaming files took the one writing thread's whole time, while the
//! other CPU waited (BENCHMARKS.md, "Lake").

use std::hash::BuildHasher;
use std::io;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use bytes::Bytes;
use osprey_field::hash::{FastHash, FastMap};

use crate::writer::{LakeWriter, RollPolicy};

/// Events handed to a writer thread at a time.
const SHARD_BATCH: usize = 256;
/// Batches waiting for a writer thread, beyond which the caller waits.
const QUEUED_BATCHES: usize = 4;

/// Hosts given a writer thread in turn, as they are first seen; past this many (a hostile or
/// huge fleet), a host's thread is chosen by a hash of its name, without remembering it.
const ROUTED_HOSTS: usize = 1 << 16;

/// Writer threads, one per CPU, each with its own [`LakeWriter`] over the same lake.
pub(crate) struct ShardedWriter {
    shards: Vec<Shard>,
    /// Each host's thread: hosts in turn, so that eight hosts make four on each of two threads
    /// (a hash would as often put five on one).
    hosts: FastMap<Box<[u8]>, usize>,
    hash: FastHash,
}

struct Shard {
    batch: Vec<Bytes>,
    sender: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<io::Result<u64>>>,
}

enum Job {
    Write(Vec<Bytes>),
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

    /// Queues one event line (its original bytes) for its host's writer.
    pub(crate) fn write(&mut self, json: Bytes) -> io::Result<()> {
        let i = self.route(host_bytes(&json));
        let shard = &mut self.shards[i];
        shard.batch.push(json);
        if shard.batch.len() >= SHARD_BATCH {
            shard.send()?;
        }
        Ok(())
    }

    /// Writes what is queued, completes every file and stops the threads; the number of lines
    /// that were not events.
    pub(crate) fn finish(&mut self) -> io::Result<u64> {
        let mut first_error = None;
        for shard in &mut self.shards {
            let sent = shard.send().and_then(|()| shard.enqueue(Job::Finish));
            if let Err(e) = sent {
                first_error.get_or_insert(e);
            }
            shard.sender = None;
        }
        let mut left_out = 0;
        for shard in &mut self.shards {
            match shard.join() {
                Ok(n) => left_out += n,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(left_out), Err)
    }
}

impl ShardedWriter {
    fn route(&mut self, host: &[u8]) -> usize {
        if let Some(&i) = self.hosts.get(host) {
            return i;
        }
        let n = self.shards.len();
        if self.hosts.len() >= ROUTED_HOSTS {
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

    /// Waits for the thread; its count of lines that were not events, or its error.
    fn join(&mut self) -> io::Result<u64> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a lake writer thread panicked"))),
            None => Ok(0),
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

fn write_batches(mut writer: LakeWriter, jobs: Receiver<Job>) -> io::Result<u64> {
    let mut left_out = 0;
    for job in jobs {
        let batch = match job {
            Job::Write(batch) => batch,
            Job::Finish => {
                writer.finish()?;
                return Ok(left_out);
            }
        };
        for json in batch {
            match osprey_event::parse_event(&json) {
                Ok(event) => writer.write(&json, &event)?,
                Err(_) => left_out += 1,
            }
        }
    }
    Ok(left_out)
}

/// The bytes of the event's `hostName` value as written (escapes and all), found without
/// parsing: only a routing key. The writer thread parses the event and takes its partition
/// from what it parses to, so an event routed by a wrong guess (a key spelled otherwise, a
/// generation of Tracee's JSON without it: routed as the empty name) is still written where it
/// belongs; at worst its host's hour gets one more file.
fn host_bytes(json: &[u8]) -> &[u8] {
    const KEY: &[u8] = b"\"hostName\":";
    let Some(at) = memchr::memmem::find(json, KEY) else {
        return b"";
    };
    let rest = &json[at + KEY.len()..];
    let start = rest.iter().position(|b| !b.is_ascii_whitespace());
    let Some(value) = start.and_then(|s| rest[s..].strip_prefix(b"\"")) else {
        return b"";
    };
    let mut escaped = false;
    for (i, &b) in value.iter().enumerate() {
        match (escaped, b) {
            (false, b'"') => return &value[..i],
            (false, b'\\') => escaped = true,
            _ => escaped = false,
        }
    }
    b""
}

#[cfg(test)]
mod tests {
    use super::host_bytes;

    #[test]
    fn the_host_is_found_as_written_or_is_empty() {
        let cases: [(&[u8], &[u8]); 7] = [
            (br#"{"timestamp":1,"hostName":"node-3","x":1}"#, b"node-3"),
            (br#"{"hostName" : "a"}"#, b""),
            (br#"{"hostName": "a b"}"#, b"a b"),
            (br#"{"hostName":"q\"x","y":"z"}"#, br#"q\"x"#),
            (br#"{"hostName":"unterminated"#, b""),
            (br#"{"hostName":7}"#, b""),
            (br#"{"node":{"name":"n"}}"#, b""),
        ];
        for (json, host) in cases {
            assert_eq!(host_bytes(json), host, "{}", String::from_utf8_lossy(json));
        }
    }
}
