/*!
Artifact capture for `osprey trace --capture ...`: everything about captured artifacts that
needs no kernel. The tracer (`osprey-trace`) turns the kernel's capture records into calls on a
[`Capturer`]; this crate turns them into files under `<dir>/out/`, an index, a profile and
pcaps (formats.md §3–5).

* [`options`]: the `--capture` grammar, validated before tracing starts ([`CaptureOptions`]).
* [`name`]: the one sanitiser for names built from traced data; [`outdir::OutDir`] creates files
  relative to open directory descriptors, exclusively, never through a symbolic link.
* [`Capturer`]: written files rebuilt at their offsets (sparse, any order, appends for streams,
  truncation, inode reuse never overwriting an earlier capture), executed binaries (deduplicated
  by identity and SHA-256), memory regions, module images, packets ([`pcap`]), the runtime
  [`profile`], the size budget, and the [`index`] (`out/artifacts.jsonl`, `out/written_files`).
  Every byte that could not be captured is recorded by range with its reason.
* [`profile::run`]: `osprey profile diff OLD NEW`.

```
use osprey_capture::{CaptureOptions, Capturer, FileId, WriteMeta};
let dir = tempfile::tempdir().unwrap();
let dir_opt = format!("dir:{}", dir.path().display());
let opts = CaptureOptions::parse(&["write", dir_opt.as_str()]).unwrap().unwrap();
let mut cap = Capturer::new(&opts).unwrap();
let id = FileId { dev: 8388609, ino: 42, gen: 7 };
cap.write_meta(id, WriteMeta { path: "/tmp/x".into(), ..WriteMeta::default() });
cap.write_data(id, 0, 6, b"world!", None);
cap.write_data(id, 0, 0, b"hello ", None);
let summary = cap.finish(&[]);
assert_eq!(summary.artifacts, 1);
let text = std::fs::read(dir.path().join("out/host/write.dev-8388609.inode-42")).unwrap();
assert_eq!(text, b"hello world!");
```
*/

#![deny(missing_docs)]

pub mod index;
pub mod name;
pub mod options;
pub mod outdir;
pub mod pcap;
pub mod profile;

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;

use sha2::{Digest, Sha256};

pub use index::{record_for, ArtifactRecord, LostRange, LostSet, ProcessInfo, ProcessRef};
pub use options::{CaptureOptions, OptionError, PcapSplit, Snaplen};
use outdir::OutDir;
pub use pcap::Packet;
use profile::Profile;

/// Identity of a written file: device (kernel encoding), inode and inode generation. A new
/// file that reuses an inode number has another generation, so it gets its own capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FileId {
    /// `s_dev` (major << 20 | minor).
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// `i_generation`.
    pub gen: u64,
}

/// What is known about a written file when it is first seen.
#[derive(Debug, Clone, Default)]
pub struct WriteMeta {
    /// ns since the epoch.
    pub ts: u64,
    /// Its path (as the kernel resolved it).
    pub path: String,
    /// Pipe, socket or character device: bytes are appended.
    pub stream: bool,
    /// The writer.
    pub proc: ProcessInfo,
    /// The syscall of the first write.
    pub syscall: String,
}

/// An executed binary.
#[derive(Debug, Clone, Default)]
pub struct ExecInfo {
    /// ns since the epoch.
    pub ts: u64,
    /// The resolved path of the binary (`memfd:name` for a memfd).
    pub path: String,
    /// Device (kernel encoding), inode and ctime (ns) of the binary.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// ctime, ns.
    pub ctime: u64,
    /// Size the kernel saw.
    pub size: u64,
    /// The process that executed it.
    pub proc: ProcessInfo,
}

/// A memory region or an `init_module` image arriving in chunks.
#[derive(Debug, Clone, Default)]
pub struct BlobMeta {
    /// ns since the epoch.
    pub ts: u64,
    /// Its total length.
    pub len: u64,
    /// The file mapped there (mem), or "".
    pub original_path: String,
    /// mem_prot_alert or init_module.
    pub event: String,
    /// The process.
    pub proc: ProcessInfo,
    /// A note for the index (addresses, protections, parameters).
    pub note: String,
}

/// Which kind of chunked artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlobKind {
    /// A memory region (`bin.pid-<pid>.ts-<ns>`).
    Mem,
    /// An `init_module` image (`module.pid-<pid>.<sha256>`).
    Module,
}

/// Key of a chunked artifact: its kind and the three identity words of its chunks.
pub type BlobKey = (BlobKind, [u64; 3]);

/// A `finit_module` file.
#[derive(Debug, Clone, Default)]
pub struct ModuleFileInfo {
    /// ns since the epoch.
    pub ts: u64,
    /// Path of the module file.
    pub path: String,
    /// Device (kernel encoding).
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// The process.
    pub proc: ProcessInfo,
    /// Parameters and flags.
    pub note: String,
}

/// Why bytes were lost, as the index says it.
pub mod reason {
    /// The kernel's capture ring buffer was full.
    pub const RING_FULL: &str = "ring buffer full";
    /// User memory could not be read (a page not resident).
    pub const UNREADABLE: &str = "unreadable";
    /// Beyond the per-artifact size cap.
    pub const TOO_BIG: &str = "too big";
    /// The size budget (`max-size=`) was spent.
    pub const BUDGET: &str = "budget";
    /// Lost, and not even reported one by one (the kernel kept only the span).
    pub const UNREPORTED: &str = "lost (span only)";
    /// Never arrived.
    pub const MISSING: &str = "not received";
    /// The artifact file could not be written.
    pub const WRITE_ERROR: &str = "write error";
    /// The kernel copied the bytes into a pipe or socket (splice, sendfile): never in memory
    /// the tracer can read, nor in a file to read back.
    pub const KERNEL_COPY: &str = "kernel copy to a stream";
    /// Another task took the CPU while the bytes were sent, on a kernel where a BPF program
    /// cannot keep its CPU (the whole write is reported, though some of it may have arrived).
    pub const PREEMPTED: &str = "preempted";
    /// The kernel copied the bytes into the file, and the file could not be read back.
    pub const NOT_READ_BACK: &str = "not readable back";
}

/// Totals of a run, for the exit summary.
#[derive(Debug, Clone, Default)]
pub struct CaptureSummary {
    /// Artifacts in the index.
    pub artifacts: u64,
    /// Written files captured.
    pub written_files: u64,
    /// Binaries captured (distinct).
    pub binaries: u64,
    /// Executions counted.
    pub executions: u64,
    /// Memory regions.
    pub regions: u64,
    /// Module images.
    pub modules: u64,
    /// Packets written.
    pub packets: u64,
    /// Bytes written into out/.
    pub bytes: u64,
    /// Bytes lost, all causes.
    pub lost_bytes: u64,
    /// Artifacts with lost ranges.
    pub incomplete: u64,
    /// True when the budget stopped capture.
    pub budget_hit: bool,
    /// Errors writing artifacts (each also reported).
    pub errors: u64,
    /// Where out/ is.
    pub out_dir: String,
}

struct WriteFile {
    rel: String,
    file: Option<File>,
    last_use: u64,
    size: u64,
    lost: LostSet,
    first: u64,
    last: u64,
    meta: WriteMeta,
}

struct Blob {
    rel: Option<String>,
    file: Option<File>,
    meta: Option<BlobMeta>,
    got: LostSet,
    lost: LostSet,
    first: u64,
    last: u64,
    proc_hint: ProcessInfo,
}

struct ExecSeen {
    hash: String,
}

/// The size budget of `out/`.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Most bytes.
    pub max: u64,
    /// Bytes used.
    pub used: u64,
    /// Spent: nothing more is captured.
    pub exhausted: bool,
}

impl Budget {
    /// Takes `n` bytes; false (and exhausted) when they do not fit.
    pub fn take(&mut self, n: u64) -> bool {
        if self.exhausted {
            return false;
        }
        if self.used.saturating_add(n) > self.max {
            self.exhausted = true;
            return false;
        }
        self.used += n;
        true
    }
}

const MAX_OPEN: usize = 512;

/// Everything captured in one run.
pub struct Capturer {
    opts: CaptureOptions,
    out: OutDir,
    index: index::Index,
    budget: Budget,
    writes: HashMap<FileId, WriteFile>,
    open_files: usize,
    tick: u64,
    blobs: HashMap<BlobKey, Blob>,
    execs: HashMap<(u64, u64, u64), ExecSeen>,
    by_hash: HashMap<String, String>,
    pcaps: Option<pcap::Pcaps>,
    profile: Profile,
    summary: CaptureSummary,
    messages: Vec<String>,
    budget_reported: bool,
}

/// Writes `data` at `offset` like `write_all_at`, but also says how many bytes reached the file
/// before an error stopped it, so that only those are charged to the budget.
fn write_at_counted(f: &File, data: &[u8], offset: u64) -> (u64, Option<io::Error>) {
    let mut done = 0;
    while done < data.len() {
        match f.write_at(&data[done..], offset + done as u64) {
            Ok(0) => return (done as u64, Some(io::ErrorKind::WriteZero.into())),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (done as u64, Some(e)),
        }
    }
    (done as u64, None)
}

fn hex_digest(h: Sha256) -> String {
    name::hex(&h.finalize())
}

/// SHA-256 of a whole file, read with pread.
pub fn sha256_file(f: &File) -> io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    loop {
        let n = f.read_at(&mut buf, off)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        off += n as u64;
    }
    Ok((hex_digest(h), off))
}

impl Capturer {
    /// Prepares `<dir>/out` (clear-dir, creation, a write check) and opens the index.
    pub fn new(opts: &CaptureOptions) -> io::Result<Capturer> {
        let mut out = OutDir::prepare(&opts.dir, opts.clear_dir)?;
        let (artifacts, _) = out.create(&[], "artifacts.jsonl")?;
        let (written, _) = out.create(&[], "written_files")?;
        let max = match opts.max_size {
            Some(m) => m,
            None => out.free_bytes().map(|f| f / 2).unwrap_or(u64::MAX),
        };
        let summary = CaptureSummary {
            out_dir: out.path().display().to_string(),
            ..CaptureSummary::default()
        };
        Ok(Capturer {
            pcaps: opts
                .net
                .as_ref()
                .map(|_| pcap::Pcaps::new(opts.pcap, opts.snaplen)),
            opts: opts.clone(),
            out,
            index: index::Index::new(artifacts, written),
            budget: Budget {
                max,
                used: 0,
                exhausted: false,
            },
            writes: HashMap::new(),
            open_files: 0,
            tick: 0,
            blobs: HashMap::new(),
            execs: HashMap::new(),
            by_hash: HashMap::new(),
            profile: Profile::default(),
            summary,
            messages: Vec::new(),
            budget_reported: false,
        })
    }

    /// The resolved `out/` directory.
    pub fn out_path(&self) -> &std::path::Path {
        self.out.path()
    }

    /// Creates a new file directly in `out/` (e.g. `events.json`), never replacing one.
    pub fn create_file(&mut self, name: &str) -> io::Result<(File, String)> {
        self.out.create(&[], name)
    }

    /// The totals so far (what [`Capturer::finish`] completes).
    pub fn totals(&self) -> &CaptureSummary {
        &self.summary
    }

    /// The budget.
    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// Messages for the user since the last call (budget reached, artifact errors).
    pub fn take_messages(&mut self) -> Vec<String> {
        std::mem::take(&mut self.messages)
    }

    fn charge(&mut self, n: u64) -> bool {
        if self.budget.take(n) {
            self.summary.bytes += n;
            return true;
        }
        if !self.budget_reported {
            self.budget_reported = true;
            self.summary.budget_hit = true;
            self.messages.push(format!(
                "capture budget of {} reached: artifact capture stopped, tracing goes on \
                 (raise it with --capture max-size=SIZE)",
                human(self.budget.max)
            ));
        }
        false
    }

    /// Gives back bytes charged for a write that did not reach the file.
    fn refund(&mut self, n: u64) {
        self.budget.used = self.budget.used.saturating_sub(n);
        self.summary.bytes = self.summary.bytes.saturating_sub(n);
    }

    fn error(&mut self, what: String) {
        self.summary.errors += 1;
        if self.summary.errors <= 20 {
            self.messages.push(what);
        }
    }

    fn record(&mut self, r: ArtifactRecord) {
        self.summary.artifacts += 1;
        if !r.complete {
            self.summary.incomplete += 1;
        }
        if let Err(e) = self.index.record(&r) {
            self.error(format!("writing the artifact index: {e}"));
        }
    }

    // ---- written files ----

    fn write_entry(
        &mut self,
        id: FileId,
        meta: Option<&WriteMeta>,
        ts: u64,
    ) -> Option<&mut WriteFile> {
        if !self.writes.contains_key(&id) {
            let meta = meta.cloned().unwrap_or_default();
            let dir = name::container_dir(&meta.proc.container_id);
            let fname =
                name::component(format!("write.dev-{}.inode-{}", id.dev, id.ino).as_bytes());
            match self.out.create(&[&dir], &fname) {
                Ok((f, rel)) => {
                    self.open_files += 1;
                    self.summary.written_files += 1;
                    self.writes.insert(
                        id,
                        WriteFile {
                            rel,
                            file: Some(f),
                            last_use: self.tick,
                            size: 0,
                            lost: LostSet::default(),
                            first: if meta.ts != 0 { meta.ts } else { ts },
                            last: ts,
                            meta,
                        },
                    );
                }
                Err(e) => {
                    self.error(format!("creating the capture of {}: {e}", meta.path));
                    return None;
                }
            }
        }
        self.writes.get_mut(&id)
    }

    fn evict(&mut self) {
        while self.open_files > MAX_OPEN {
            let victim = self
                .writes
                .iter()
                .filter(|(_, w)| w.file.is_some())
                .min_by_key(|(_, w)| w.last_use)
                .map(|(id, _)| *id);
            let Some(id) = victim else { break };
            if let Some(w) = self.writes.get_mut(&id) {
                w.file = None;
            }
            self.open_files -= 1;
        }
    }

    fn write_file(&mut self, id: FileId) -> Option<(&mut WriteFile, &mut OutDir)> {
        self.tick += 1;
        let tick = self.tick;
        let needs_open = self.writes.get(&id).map(|w| w.file.is_none())?;
        if needs_open {
            let rel = self.writes.get(&id)?.rel.clone();
            match self.out.reopen(&rel) {
                Ok(f) => {
                    self.open_files += 1;
                    if let Some(w) = self.writes.get_mut(&id) {
                        w.file = Some(f);
                    }
                    self.evict();
                }
                Err(e) => {
                    self.error(format!("reopening {rel}: {e}"));
                    return None;
                }
            }
        }
        let w = self.writes.get_mut(&id)?;
        w.last_use = tick;
        Some((w, &mut self.out))
    }

    /// The path a written file had when first written to, if known.
    pub fn write_path(&self, id: FileId) -> Option<&str> {
        let path = &self.writes.get(&id)?.meta.path;
        (!path.is_empty()).then_some(path.as_str())
    }

    /// A file is written to for the first time through an open file.
    pub fn write_meta(&mut self, id: FileId, meta: WriteMeta) {
        let ts = meta.ts;
        if let Some(w) = self.writes.get_mut(&id) {
            if w.meta.path.is_empty() {
                let first = w.first;
                w.meta = meta;
                w.first = first;
            }
            return;
        }
        if self.write_entry(id, Some(&meta), ts).is_some() {
            self.evict();
        }
    }

    /// Bytes written at `offset`. `unknown` gives the writer and whether the file is a stream
    /// when its meta record was lost.
    pub fn write_data(
        &mut self,
        id: FileId,
        ts: u64,
        offset: u64,
        data: &[u8],
        unknown: Option<WriteMeta>,
    ) {
        if !self.writes.contains_key(&id) {
            let meta = unknown.unwrap_or_default();
            if self.write_entry(id, Some(&meta), ts).is_none() {
                return;
            }
            self.evict();
        }
        let len = data.len() as u64;
        if !self.charge(len) {
            if let Some(w) = self.writes.get_mut(&id) {
                w.lost.add(offset, offset + len, reason::BUDGET);
                w.size = w.size.max(offset + len);
                w.last = ts;
            }
            self.summary.lost_bytes += len;
            return;
        }
        let Some((w, _)) = self.write_file(id) else {
            self.refund(len);
            return;
        };
        let (written, err) = w
            .file
            .as_ref()
            .map(|f| write_at_counted(f, data, offset))
            .unwrap_or((len, None));
        w.last = ts;
        match err {
            None => {
                w.lost.remove(offset, offset + len);
                w.size = w.size.max(offset + len);
            }
            Some(e) => {
                w.lost.add(offset, offset + len, reason::WRITE_ERROR);
                let rel = w.rel.clone();
                self.refund(len - written);
                self.error(format!("writing {rel}: {e}"));
            }
        }
    }

    /// Bytes of a written file that could not be captured.
    pub fn write_lost(
        &mut self,
        id: FileId,
        ts: u64,
        offset: u64,
        len: u64,
        why: &'static str,
        unknown: Option<WriteMeta>,
    ) {
        if !self.writes.contains_key(&id) {
            let meta = unknown.unwrap_or_default();
            if self.write_entry(id, Some(&meta), ts).is_none() {
                return;
            }
            self.evict();
        }
        self.summary.lost_bytes += len;
        if let Some(w) = self.writes.get_mut(&id) {
            w.lost.add(offset, offset.saturating_add(len), why);
            w.size = w.size.max(offset.saturating_add(len));
            w.last = ts;
        }
    }

    /// A captured regular file was truncated (or opened with O_TRUNC) to `size`.
    pub fn write_truncate(&mut self, id: FileId, ts: u64, size: u64) {
        if !self.writes.contains_key(&id) {
            return;
        }
        let Some((w, _)) = self.write_file(id) else {
            return;
        };
        if let Some(f) = &w.file {
            let _ = f.set_len(size);
        }
        w.size = size;
        w.lost.truncate(size);
        w.last = ts;
    }

    // ---- executed binaries ----

    /// An exec. `copy` is the open binary when the task was held for it (its first exec), or
    /// the reason it could not be opened; `None` for an exec the kernel did not hold (already
    /// captured).
    pub fn exec(&mut self, info: &ExecInfo, copy: Option<io::Result<File>>) {
        self.summary.executions += 1;
        let key = (info.dev, info.ino, info.ctime);
        let cdir = name::container_dir(&info.proc.container_id);
        let base = name::basename(&info.path);
        let pkey = Profile::key(&cdir, &base, info.ctime);
        if let Some(seen) = self.execs.get(&key) {
            let h = seen.hash.clone();
            self.profile.record(pkey, &h);
            return;
        }
        let Some(copy) = copy else {
            // held by an earlier run of the kernel side or lost: count it without a hash
            self.profile.record(pkey, "");
            return;
        };
        let mut rec = ArtifactRecord {
            original_path: info.path.clone(),
            ..record_for("exec", "sched_process_exec", &info.proc, info.ts, info.ts)
        };
        let mut src = match copy {
            Ok(f) => f,
            Err(e) => {
                rec.note = Some(format!("binary could not be opened: {e}"));
                self.profile.record(pkey, "");
                self.record(rec);
                return;
            }
        };
        let store = self.opts.exec && !self.budget.exhausted;
        let fname = name::component(format!("exec.{}.{}", info.ts, base).as_bytes());
        let dst = if store {
            match self.out.create(&[&cdir], &fname) {
                Ok((f, rel)) => Some((f, rel)),
                Err(e) => {
                    self.error(format!("creating the copy of {}: {e}", info.path));
                    None
                }
            }
        } else {
            None
        };
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        let mut stored = 0u64;
        let mut cut = false;
        let mut err: Option<String> = None;
        loop {
            let n = match src.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    err = Some(format!("reading the binary: {e}"));
                    break;
                }
            };
            h.update(&buf[..n]);
            if let Some((f, _)) = dst.as_ref() {
                if !cut && self.charge(n as u64) {
                    let (written, write_err) = write_at_counted(f, &buf[..n], stored);
                    stored += written;
                    if let Some(e) = write_err {
                        self.refund(n as u64 - written);
                        self.error(format!("writing the copy of {}: {e}", info.path));
                        err = Some(format!("writing the copy: {e}"));
                        cut = true;
                    }
                } else {
                    cut = true;
                }
            }
            total += n as u64;
        }
        let hash = hex_digest(h);
        self.execs.insert(key, ExecSeen { hash: hash.clone() });
        self.profile.record(pkey, &hash);
        if !self.opts.exec {
            return;
        }
        rec.sha256 = hash.clone();
        rec.size = stored;
        if cut {
            rec.lost.push(LostRange {
                start: stored,
                end: total,
                reason: if self.budget.exhausted {
                    reason::BUDGET.into()
                } else {
                    reason::WRITE_ERROR.into()
                },
            });
            self.summary.lost_bytes += total - stored;
        }
        rec.note = err;
        if dst.is_none() {
            rec.lost.push(LostRange {
                start: 0,
                end: total,
                reason: if self.budget.exhausted {
                    reason::BUDGET.into()
                } else {
                    reason::WRITE_ERROR.into()
                },
            });
            self.summary.lost_bytes += total;
            rec.note.get_or_insert_with(|| {
                "not stored (no copy was made); sha256 is of the binary".into()
            });
        }
        rec.complete = !cut && rec.note.is_none() && dst.is_some();
        match dst {
            Some((_, rel)) if !cut => {
                if let Some(existing) = self.by_hash.get(&hash).cloned() {
                    // the same bytes under another name or ctime: keep one copy
                    let _ = self.out.remove(&rel);
                    self.refund(stored);
                    rec.path = existing.clone();
                    rec.note = Some(format!("same content as {existing}"));
                } else {
                    self.by_hash.insert(hash, rel.clone());
                    rec.path = rel;
                    self.summary.binaries += 1;
                }
            }
            Some((_, rel)) => rec.path = rel,
            None => {}
        }
        self.record(rec);
    }

    // ---- memory regions and init_module images ----

    fn blob(&mut self, key: BlobKey, proc_hint: Option<&ProcessInfo>, ts: u64) -> &mut Blob {
        self.blobs.entry(key).or_insert_with(|| Blob {
            rel: None,
            file: None,
            meta: None,
            got: LostSet::default(),
            lost: LostSet::default(),
            first: ts,
            last: ts,
            proc_hint: proc_hint.cloned().unwrap_or_default(),
        })
    }

    fn blob_file(&mut self, key: BlobKey) -> Option<()> {
        let b = self.blobs.get(&key)?;
        if b.file.is_some() || b.rel.is_some() {
            return Some(());
        }
        let proc = b
            .meta
            .as_ref()
            .map(|m| m.proc.clone())
            .unwrap_or_else(|| b.proc_hint.clone());
        let ts = b.meta.as_ref().map(|m| m.ts).unwrap_or(b.first);
        let cdir = name::container_dir(&proc.container_id);
        let fname = match key.0 {
            BlobKind::Mem => format!("bin.pid-{}.ts-{}", proc.host_pid, ts),
            BlobKind::Module => format!("module.pid-{}.ts-{}.partial", proc.host_pid, ts),
        };
        let fname = name::component(fname.as_bytes());
        match self.out.create(&[&cdir], &fname) {
            Ok((f, rel)) => {
                let b = self.blobs.get_mut(&key)?;
                b.file = Some(f);
                b.rel = Some(rel);
                Some(())
            }
            Err(e) => {
                self.error(format!("creating {fname}: {e}"));
                None
            }
        }
    }

    /// The start of a memory region or module image (its chunks follow).
    pub fn blob_meta(&mut self, key: BlobKey, meta: BlobMeta) {
        let ts = meta.ts;
        let b = self.blob(key, Some(&meta.proc), ts);
        b.first = b.first.min(ts);
        b.meta = Some(meta);
        self.blob_maybe_done(key);
    }

    /// Bytes of a region or image.
    pub fn blob_data(
        &mut self,
        key: BlobKey,
        ts: u64,
        offset: u64,
        data: &[u8],
        proc: &ProcessInfo,
    ) {
        let len = data.len() as u64;
        self.blob(key, Some(proc), ts).last = ts;
        if !self.charge(len) {
            self.blob_lost(key, ts, offset, len, reason::BUDGET, proc);
            return;
        }
        if self.blob_file(key).is_none() {
            self.refund(len);
            return;
        }
        let Some(b) = self.blobs.get_mut(&key) else {
            return;
        };
        let (written, err) = b
            .file
            .as_ref()
            .map(|f| write_at_counted(f, data, offset))
            .unwrap_or((len, None));
        match err {
            None => b.got.add(offset, offset + len, "got"),
            Some(e) => {
                b.lost.add(offset, offset + len, reason::WRITE_ERROR);
                self.refund(len - written);
                self.error(format!("writing a captured region: {e}"));
            }
        }
        self.blob_maybe_done(key);
    }

    /// Bytes of a region or image that could not be captured.
    pub fn blob_lost(
        &mut self,
        key: BlobKey,
        ts: u64,
        offset: u64,
        len: u64,
        why: &'static str,
        proc: &ProcessInfo,
    ) {
        self.summary.lost_bytes += len;
        let b = self.blob(key, Some(proc), ts);
        b.last = ts;
        b.lost.add(offset, offset.saturating_add(len), why);
        b.got.add(offset, offset.saturating_add(len), "got");
        self.blob_maybe_done(key);
    }

    fn blob_maybe_done(&mut self, key: BlobKey) {
        let done = self
            .blobs
            .get(&key)
            .and_then(|b| b.meta.as_ref().map(|m| b.got.bytes() >= m.len))
            .unwrap_or(false);
        if done {
            self.blob_finish(key);
        }
    }

    fn blob_finish(&mut self, key: BlobKey) {
        if self.blob_file(key).is_none() {
            self.blobs.remove(&key);
            return;
        }
        let Some(mut b) = self.blobs.remove(&key) else {
            return;
        };
        let meta = b.meta.take().unwrap_or_else(|| BlobMeta {
            ts: b.first,
            proc: b.proc_hint.clone(),
            event: match key.0 {
                BlobKind::Mem => "mem_prot_alert".into(),
                BlobKind::Module => "init_module".into(),
            },
            note: "its description was lost; only its chunks arrived".into(),
            ..BlobMeta::default()
        });
        // whatever never arrived is lost too
        let len = meta.len.max(b.got.bytes());
        let mut gaps = LostSet::default();
        gaps.add(0, len, reason::MISSING);
        for r in b.got.to_vec() {
            gaps.remove(r.start, r.end);
        }
        for r in gaps.to_vec() {
            b.lost.add(r.start, r.end, reason::MISSING);
            self.summary.lost_bytes += r.end - r.start;
        }
        let Some(file) = b.file.take() else { return };
        if file.metadata().map(|m| m.len()).unwrap_or(0) < len {
            let _ = file.set_len(len);
        }
        let (hash, size) = match sha256_file(&file) {
            Ok(x) => x,
            Err(e) => {
                self.error(format!("hashing a captured region: {e}"));
                (String::new(), 0)
            }
        };
        drop(file);
        let mut rel = b.rel.take().unwrap_or_default();
        let mut note = if meta.note.is_empty() {
            None
        } else {
            Some(meta.note.clone())
        };
        if key.0 == BlobKind::Module {
            self.summary.modules += 1;
            if let Some(existing) = self.by_hash.get(&hash).cloned() {
                let _ = self.out.remove(&rel);
                note = Some(format!("same image as {existing}"));
                rel = existing;
            } else {
                let final_name = name::component(
                    format!("module.pid-{}.{}", meta.proc.host_pid, hash).as_bytes(),
                );
                match self.out.rename(&rel, &final_name) {
                    Ok(r) => rel = r,
                    Err(e) => self.error(format!("naming {rel}: {e}")),
                }
                self.by_hash.insert(hash.clone(), rel.clone());
            }
        } else {
            self.summary.regions += 1;
        }
        let kind = if key.0 == BlobKind::Mem {
            "mem"
        } else {
            "module"
        };
        self.record(ArtifactRecord {
            timestamp: meta.ts,
            path: rel,
            size,
            sha256: hash,
            original_path: meta.original_path.clone(),
            complete: b.lost.is_empty(),
            lost: b.lost.to_vec(),
            note,
            ..record_for(
                kind,
                &meta.event,
                &meta.proc,
                meta.ts.min(b.first),
                b.last.max(meta.ts),
            )
        });
    }

    /// A module file (`finit_module`), read through the caller's open descriptor.
    pub fn module_file(&mut self, info: &ModuleFileInfo, src: io::Result<File>) {
        let cdir = name::container_dir(&info.proc.container_id);
        let mut rec = ArtifactRecord {
            original_path: info.path.clone(),
            note: (!info.note.is_empty()).then(|| info.note.clone()),
            ..record_for("module", "finit_module", &info.proc, info.ts, info.ts)
        };
        let mut src = match src {
            Ok(f) => f,
            Err(e) => {
                rec.note = Some(format!("module file could not be opened: {e}"));
                self.record(rec);
                return;
            }
        };
        let tmp = name::component(
            format!("module.dev-{}.inode-{}.partial", info.dev, info.ino).as_bytes(),
        );
        let (dst, rel) = match self.out.create(&[&cdir], &tmp) {
            Ok(x) => x,
            Err(e) => {
                self.error(format!("creating the copy of {}: {e}", info.path));
                rec.note = Some(format!("copy could not be created: {e}"));
                self.record(rec);
                return;
            }
        };
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let (mut total, mut stored) = (0u64, 0u64);
        // why the copy stopped before the end: the budget, or a write error (the rest is still
        // read, for the hash of the whole file)
        let mut cut: Option<&'static str> = None;
        let mut read_failed = false;
        loop {
            let n = match src.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    rec.note = Some(format!("reading the module file: {e}"));
                    read_failed = true;
                    break;
                }
            };
            h.update(&buf[..n]);
            if cut.is_none() {
                if self.charge(n as u64) {
                    let (written, err) = write_at_counted(&dst, &buf[..n], stored);
                    stored += written;
                    if let Some(e) = err {
                        self.refund(n as u64 - written);
                        self.error(format!("writing the copy of {}: {e}", info.path));
                        rec.note = Some(format!("writing the copy: {e}"));
                        cut = Some(reason::WRITE_ERROR);
                    }
                } else {
                    cut = Some(reason::BUDGET);
                }
            }
            total += n as u64;
        }
        drop(dst);
        let hash = hex_digest(h);
        self.summary.modules += 1;
        rec.sha256 = hash.clone();
        rec.size = stored;
        if let Some(why) = cut {
            rec.lost.push(LostRange {
                start: stored,
                end: total,
                reason: why.into(),
            });
            self.summary.lost_bytes += total - stored;
        }
        rec.complete = cut.is_none() && !read_failed;
        if let (Some(existing), true) = (self.by_hash.get(&hash).cloned(), rec.complete) {
            let _ = self.out.remove(&rel);
            rec.path = existing.clone();
            rec.note = Some(format!("same image as {existing}"));
        } else {
            let final_name = name::component(
                format!("module.dev-{}.inode-{}.{}", info.dev, info.ino, hash).as_bytes(),
            );
            rec.path = match self.out.rename(&rel, &final_name) {
                Ok(r) => r,
                Err(_) => rel,
            };
            if rec.complete {
                self.by_hash.insert(hash, rec.path.clone());
            }
        }
        self.record(rec);
    }

    // ---- packets ----

    /// A packet of a traced process.
    pub fn packet(&mut self, proc: &ProcessInfo, pkt: &Packet) {
        if self.pcaps.is_none() {
            return;
        }
        let est = (pkt.data.len() as u64 + 36) * 4;
        if self.budget.exhausted || self.budget.used.saturating_add(est) > self.budget.max {
            self.charge(est);
            return;
        }
        let Some(p) = self.pcaps.as_mut() else { return };
        match p.packet(&mut self.out, proc, pkt) {
            Ok(n) => {
                self.summary.packets += 1;
                self.charge(n);
            }
            Err(e) => self.error(format!("writing a packet capture: {e}")),
        }
    }

    /// Pushes buffered index lines and packets to disk (called after each drain).
    pub fn flush(&mut self) {
        if let Err(e) = self.index.flush() {
            self.error(format!("writing the artifact index: {e}"));
        }
        if let Some(p) = self.pcaps.as_mut() {
            if let Err(e) = p.flush() {
                self.error(format!("writing a packet capture: {e}"));
            }
        }
    }

    /// Completes every artifact: hashes of the written files, the pcaps, the profile, the
    /// index. `aggregated` are losses the kernel could only report by span:
    /// (kind, identity, start, end).
    pub fn finish(mut self, aggregated: &[(u16, [u64; 3], u64, u64)]) -> CaptureSummary {
        for &(what, id, start, end) in aggregated {
            let len = end.saturating_sub(start);
            match what {
                1 => {
                    let fid = FileId {
                        dev: id[0],
                        ino: id[1],
                        gen: id[2],
                    };
                    self.write_lost(fid, 0, start, len, reason::UNREPORTED, None);
                }
                2 => self.blob_lost(
                    (BlobKind::Mem, id),
                    0,
                    start,
                    len,
                    reason::UNREPORTED,
                    &ProcessInfo::default(),
                ),
                3 => self.blob_lost(
                    (BlobKind::Module, id),
                    0,
                    start,
                    len,
                    reason::UNREPORTED,
                    &ProcessInfo::default(),
                ),
                _ => self.summary.lost_bytes += len,
            }
        }
        // regions and images still waiting for chunks
        let keys: Vec<BlobKey> = self.blobs.keys().copied().collect();
        for k in keys {
            self.blob_finish(k);
        }
        // written files
        let mut writes: Vec<(FileId, WriteFile)> = self.writes.drain().collect();
        writes.sort_by(|a, b| a.1.first.cmp(&b.1.first).then(a.1.rel.cmp(&b.1.rel)));
        for (_, mut w) in writes {
            let f = match w.file.take() {
                Some(f) => Ok(f),
                None => self.out.reopen(&w.rel),
            };
            let (hash, size) = match f {
                Ok(f) => {
                    if f.metadata().map(|m| m.len()).unwrap_or(0) < w.size {
                        let _ = f.set_len(w.size);
                    }
                    // hashed here, after the run, not on the capture thread's hot path
                    sha256_file(&f).unwrap_or_default()
                }
                Err(e) => {
                    self.error(format!("reopening {}: {e}", w.rel));
                    (String::new(), 0)
                }
            };
            let event = if w.meta.syscall.is_empty() {
                "write".to_string()
            } else {
                w.meta.syscall.clone()
            };
            let note = if w.meta.path.is_empty() {
                Some("the file's path was not received".to_string())
            } else {
                None
            };
            self.record(ArtifactRecord {
                path: w.rel.clone(),
                size,
                sha256: hash,
                original_path: w.meta.path.clone(),
                complete: w.lost.is_empty(),
                lost: w.lost.to_vec(),
                note,
                ..record_for("write", &event, &w.meta.proc, w.first, w.last)
            });
        }
        // packet captures
        if let Some(p) = self.pcaps.take() {
            let dups = p.duplicates;
            for (s, r) in p.finish() {
                if let Err(e) = r {
                    self.error(format!("closing {}: {e}", s.rel));
                }
                let file = self.out.reopen(&s.rel);
                let (hash, size) = file.and_then(|f| sha256_file(&f)).unwrap_or_default();
                self.record(ArtifactRecord {
                    path: s.rel,
                    size,
                    sha256: hash,
                    complete: !self.summary.budget_hit,
                    note: Some(format!(
                        "{} packets ({} loopback duplicates dropped in all files)",
                        s.packets, dups
                    )),
                    ..record_for("pcap", "net_packet", &s.proc, s.first, s.last)
                });
            }
        }
        // the profile
        if self.opts.profile {
            let json = self.profile.to_json();
            match self.out.create(&[], "tracee.profile") {
                Ok((mut f, rel)) => {
                    if let Err(e) = f.write_all(&json) {
                        self.error(format!("writing {rel}: {e}"));
                    }
                    let ts = now_ns();
                    self.record(ArtifactRecord {
                        path: rel,
                        size: json.len() as u64,
                        sha256: name::hex(&Sha256::digest(&json)),
                        complete: true,
                        note: Some(format!("{} binaries", self.profile.entries.len())),
                        ..record_for(
                            "profile",
                            "sched_process_exec",
                            &ProcessInfo::default(),
                            ts,
                            ts,
                        )
                    });
                }
                Err(e) => self.error(format!("creating tracee.profile: {e}")),
            }
        }
        if let Err(e) = self.index.flush() {
            self.error(format!("writing the artifact index: {e}"));
        }
        self.summary
    }
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// `1.5 GiB`-style sizes.
pub fn human(n: u64) -> String {
    if n == u64::MAX {
        return "unlimited".into();
    }
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

#[cfg(test)]
mod tests;
