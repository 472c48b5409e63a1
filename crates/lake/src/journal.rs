//! The lake's journal: events a receiver has acknowledged while their Parquet file is still
//! open, kept in a hidden log so that a receiver that dies keeps its promise.
//!
//! A lake file becomes visible only when complete (written, synced, renamed), minutes after its
//! first event arrived; a Fluent Forward sender forgets a chunk once it is acknowledged. So
//! `osprey receive -w lake:DIR` appends each event to its journal and hands the journal to the
//! operating system before acknowledging the chunk: a killed receiver loses nothing that was
//! acknowledged (a power loss can, as with the NDJSON output, which is not synced either). The
//! next writer that opens the lake writes the events of the journals whose owner is gone into
//! the lake, completes those files and deletes the journals. Delivery stays at least once: an
//! event whose file was complete before the crash, but whose journal segment was still needed
//! for other events, is written again.
//!
//! Layout: `DIR/.osprey-journal/<pid>-<nanos>/` (the leading dot hides it from Hive-style
//! readers), holding `lock` (locked by its writer for as long as it lives: a journal whose lock
//! can be taken has no writer) and segments `NNNNNNNN.ndjson` of the events' original lines. A
//! segment is deleted once every event in it is in a complete file.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The directory of the journals, in the lake's root.
pub const JOURNALS: &str = ".osprey-journal";

/// A segment is closed, and a new one started, past this size: closed segments are deleted as
/// the files holding their events complete.
const SEGMENT_BYTES: u64 = 64 << 20;

/// One writer's journal.
pub(crate) struct Journal {
    dir: PathBuf,
    /// Held locked while the journal is in use.
    _lock: File,
    current: BufWriter<File>,
    current_path: PathBuf,
    current_bytes: u64,
    /// True when the current segment holds an event.
    current_used: bool,
    /// Closed segments with the number of the last event each holds, oldest first.
    closed: VecDeque<(PathBuf, u64)>,
    segments: u64,
    /// The number of the last event appended.
    last: u64,
}

impl Journal {
    /// A new journal in the lake at `root`.
    pub(crate) fn create(root: &Path) -> io::Result<Journal> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = root
            .join(JOURNALS)
            .join(format!("{}-{now:020}", std::process::id()));
        fs::create_dir_all(&dir)?;
        let lock = File::create(dir.join("lock"))?;
        if !try_lock(&lock)? {
            return Err(io::Error::other("the new journal is locked already"));
        }
        let (current, current_path) = open_segment(&dir, 1)?;
        Ok(Journal {
            dir,
            _lock: lock,
            current,
            current_path,
            current_bytes: 0,
            current_used: false,
            closed: VecDeque::new(),
            segments: 1,
            last: 0,
        })
    }

    /// Appends an event's original line; `number` is the writer's number for it (increasing:
    /// see [`LakeWriter::oldest_open_write`](crate::LakeWriter::oldest_open_write)).
    pub(crate) fn append(&mut self, json: &[u8], number: u64) -> io::Result<()> {
        self.current.write_all(json)?;
        self.current.write_all(b"\n")?;
        self.current_bytes += json.len() as u64 + 1;
        self.current_used = true;
        self.last = number;
        Ok(())
    }

    /// Hands what was appended to the operating system (before an acknowledgment), and deletes
    /// the segments no longer needed: `oldest_open` is the number of the oldest event in a file
    /// not yet complete (`None` when every file is).
    pub(crate) fn commit(&mut self, oldest_open: Option<u64>) -> io::Result<()> {
        self.current.flush()?;
        let needed_from = oldest_open.unwrap_or(u64::MAX);
        let all_done = oldest_open.is_none() && self.current_used;
        if self.current_bytes >= SEGMENT_BYTES || all_done {
            self.segments += 1;
            let (next, path) = open_segment(&self.dir, self.segments)?;
            self.current = next;
            let old = std::mem::replace(&mut self.current_path, path);
            self.closed.push_back((old, self.last));
            self.current_bytes = 0;
            self.current_used = false;
        }
        while let Some((path, last)) = self.closed.front() {
            if *last >= needed_from {
                break;
            }
            fs::remove_file(path)?;
            self.closed.pop_front();
        }
        Ok(())
    }

    /// Deletes the journal: every event it holds is in a complete file.
    pub(crate) fn remove(self) -> io::Result<()> {
        let dir = self.dir.clone();
        drop(self);
        fs::remove_dir_all(dir)
    }
}

/// Takes an exclusive lock on `file` (`flock`, released by the kernel when the process ends
/// however it ends); false when another open file holds it.
fn try_lock(file: &File) -> io::Result<bool> {
    // SAFETY: flock on a descriptor `file` owns.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EWOULDBLOCK) => Ok(false),
        _ => Err(e),
    }
}

fn open_segment(dir: &Path, n: u64) -> io::Result<(BufWriter<File>, PathBuf)> {
    let path = dir.join(format!("{n:08}.ndjson"));
    let f = File::options().append(true).create_new(true).open(&path)?;
    Ok((BufWriter::with_capacity(1 << 16, f), path))
}

/// What [`recover`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// Journals of writers that were gone, written into the lake and deleted.
    pub journals: u64,
    /// Event lines they held, handed to `write`.
    pub events: u64,
}

/// Where [`recover`] writes the journals' events.
pub(crate) trait Replay {
    /// Takes one event line.
    fn line(&mut self, json: &[u8]) -> io::Result<()>;
    /// Makes every line taken durable (completes the files).
    fn complete(&mut self) -> io::Result<()>;
}

/// Hands every event line of the journals whose writer is gone (their lock is free) to `to`,
/// oldest segment first, has it complete them, then deletes those journals. Journals of live
/// writers are left alone.
pub(crate) fn recover(root: &Path, to: &mut impl Replay) -> io::Result<Recovered> {
    let mut found = Recovered::default();
    let entries = match fs::read_dir(root.join(JOURNALS)) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e),
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    // The locks of the journals taken, held until they are deleted.
    let mut taken = Vec::new();
    for dir in dirs {
        let lock = match File::options()
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join("lock"))
        {
            Ok(l) => l,
            Err(_) => continue,
        };
        if !try_lock(&lock)? {
            continue;
        }
        let mut segments: Vec<PathBuf> = fs::read_dir(&dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "ndjson"))
            .collect();
        segments.sort();
        for segment in segments {
            let mut lines = BufReader::new(File::open(&segment)?);
            let mut line = Vec::new();
            loop {
                line.clear();
                if lines.read_until(b'\n', &mut line)? == 0 {
                    break;
                }
                // A line cut by the crash was never acknowledged: it is not an event.
                if line.last() != Some(&b'\n') {
                    break;
                }
                line.pop();
                to.line(&line)?;
                found.events += 1;
            }
        }
        found.journals += 1;
        taken.push((dir, lock));
    }
    if taken.is_empty() {
        return Ok(found);
    }
    to.complete()?;
    for (dir, lock) in taken {
        fs::remove_dir_all(&dir)?;
        drop(lock);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(j: &Journal) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&j.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".ndjson"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn segments_go_once_every_event_in_them_is_in_a_complete_file() {
        let root = tempfile::tempdir().unwrap();
        let mut j = Journal::create(root.path()).unwrap();
        for i in 0..3 {
            j.append(format!("{{\"n\":{i}}}").as_bytes(), i + 1)
                .unwrap();
        }
        // Events 1..3 are in an open file: the segment stays, its lines on disk.
        j.commit(Some(1)).unwrap();
        assert_eq!(segments(&j), ["00000001.ndjson"]);
        let text = fs::read_to_string(j.dir.join("00000001.ndjson")).unwrap();
        assert_eq!(text, "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n");
        // Every file complete: the segment is closed and deleted, a new one started.
        j.commit(None).unwrap();
        assert_eq!(segments(&j), ["00000002.ndjson"]);
        j.append(b"{\"n\":3}", 4).unwrap();
        j.append(b"{\"n\":4}", 5).unwrap();
        j.commit(None).unwrap();
        assert_eq!(segments(&j), ["00000003.ndjson"]);
        // Event 6 is in a file still open when its segment is closed by size: kept until then.
        j.append(b"{\"n\":5}", 6).unwrap();
        j.current_bytes = SEGMENT_BYTES;
        j.commit(Some(6)).unwrap();
        assert_eq!(segments(&j), ["00000003.ndjson", "00000004.ndjson"]);
        j.append(b"{\"n\":6}", 7).unwrap();
        j.commit(Some(7)).unwrap();
        assert_eq!(segments(&j), ["00000004.ndjson"]);
        let dir = j.dir.clone();
        j.remove().unwrap();
        assert!(!dir.exists());
    }

    #[test]
    fn the_journals_of_writers_gone_are_replayed_once_and_live_ones_left_alone() {
        let root = tempfile::tempdir().unwrap();
        // A writer that died: its lock is free, a line was cut by the crash.
        let dead = root.path().join(JOURNALS).join("1-1");
        fs::create_dir_all(&dead).unwrap();
        fs::write(dead.join("lock"), b"").unwrap();
        fs::write(dead.join("00000001.ndjson"), b"a\nb\n").unwrap();
        fs::write(dead.join("00000002.ndjson"), b"c\nd-cut").unwrap();
        // A live writer (this test holds its lock).
        let mut live = Journal::create(root.path()).unwrap();
        live.append(b"live", 1).unwrap();
        live.commit(Some(1)).unwrap();
        let mut to = Lines::default();
        let r = recover(root.path(), &mut to).unwrap();
        assert_eq!(to.lines, ["a", "b", "c"]);
        assert!(to.completed);
        assert_eq!(
            r,
            Recovered {
                journals: 1,
                events: 3
            }
        );
        assert!(!dead.exists());
        assert!(live.dir.exists());
        // Nothing left to recover: nothing to complete.
        let mut to = Lines::default();
        let r = recover(root.path(), &mut to).unwrap();
        assert_eq!(r, Recovered::default());
        assert!(!to.completed);
    }

    #[derive(Default)]
    struct Lines {
        lines: Vec<String>,
        completed: bool,
    }

    impl Replay for Lines {
        fn line(&mut self, json: &[u8]) -> io::Result<()> {
            self.lines.push(String::from_utf8(json.to_vec()).unwrap());
            Ok(())
        }

        fn complete(&mut self) -> io::Result<()> {
            self.completed = true;
            Ok(())
        }
    }
}
