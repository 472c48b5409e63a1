//! From ring-buffer records to Tracee events: the context (PIDs in both namespaces, times on
//! the epoch clock, executable, container), then each argument rendered by its Tracee type.
//!
//! Everything here treats the record as hostile: missing arguments get Tracee's zero value,
//! strings are converted lossily, and nothing panics on odd bytes.
//!
//! An event's per-process strings (executable, container ID, command and host names) are
//! borrowed, not copied: from the [`ProcContext`]'s cache and from the record, for as long as
//! the event is handed to the caller. Building an event allocates nothing for them.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use base64::Engine;
use osprey_bpf::consts::*;
use osprey_bpf::record::{RawArg, Record};
use osprey_bpf::RecordHdr;
use osprey_event::{Arg, Container, ContextFlags, Event, Value};

use crate::catalog::{catalog, ids, syscall_name, ArgDef, EventDef, Source};
use crate::net;
use crate::proc_context::ProcContext;
use crate::scope::{Scope, UserScope};

const ID_SLOTS: usize = 4096;

/// The per-process strings of one record's events, which the events borrow.
struct Names {
    exe: Option<Arc<str>>,
    container: Option<Arc<str>>,
    comm: [u8; 16],
    host: [u8; 16],
}

/// The text of a NUL-padded fixed array (`comm`, the UTS name), borrowed when it is UTF-8.
fn fixed_text(b: &[u8]) -> Cow<'_, str> {
    let n = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..n])
}

/// Turns records into events, with a [`ProcContext`] for what the records do not carry.
pub struct Decoder {
    boot_to_epoch: i128,
    selected: Vec<bool>,
    by_id: Vec<Option<&'static EventDef>>,
    by_nr: Vec<Option<&'static EventDef>>,
    procs: ProcContext,
    scope: Arc<UserScope>,
    /// Records that could not be decoded (counted, reported at exit).
    pub bad_records: u64,
}

impl Decoder {
    /// A decoder emitting the events named in `selected`, with userspace scope `scope`.
    pub fn new(selected: &[String], scope: Scope) -> Decoder {
        Decoder::with_scope(selected, Arc::new(UserScope::new(scope)))
    }

    /// Like [`Decoder::new`], with a userspace scope shared with the capture thread.
    pub fn with_scope(selected: &[String], scope: Arc<UserScope>) -> Decoder {
        let cat = catalog();
        let mut by_id = vec![None; ID_SLOTS];
        let mut by_nr = vec![None; ID_SLOTS];
        for e in cat.events() {
            let slot = e.id as usize;
            if slot >= ID_SLOTS {
                continue;
            }
            match e.source {
                Source::Syscall { .. } => by_nr[slot] = Some(e),
                _ => by_id[slot] = Some(e),
            }
        }
        let mut sel = vec![false; ID_SLOTS];
        for e in selected.iter().filter_map(|n| cat.get(n)) {
            if let Some(slot) = sel.get_mut(e.id as usize) {
                *slot = true;
            }
        }
        Decoder {
            boot_to_epoch: osprey_bpf::boot_to_epoch_ns(),
            selected: sel,
            by_id,
            by_nr,
            procs: ProcContext::default(),
            scope,
            bad_records: 0,
        }
    }

    /// Takes processes' executables and containers from `procs` (another `/proc` root, other
    /// cache limits) instead of the default.
    pub fn with_proc_context(mut self, procs: ProcContext) -> Decoder {
        self.procs = procs;
        self
    }

    /// The process context and its caches.
    pub fn proc_context(&self) -> &ProcContext {
        &self.procs
    }

    /// Marks a process as followed (its descendants join it).
    pub fn follow(&mut self, pid: u32) {
        self.scope.follow(pid, 0);
    }

    /// The userspace scope (shared with the capture thread).
    pub fn user_scope(&self) -> &Arc<UserScope> {
        &self.scope
    }

    fn epoch(&self, boot_ns: u64) -> u64 {
        if boot_ns == 0 {
            return 0;
        }
        (boot_ns as i128 + self.boot_to_epoch).max(0) as u64
    }

    /// Decodes one record into zero or more events (packets may give several), each handed to
    /// `emit`.
    pub fn decode(&mut self, data: &[u8], mut emit: impl FnMut(&Event<'_>)) {
        let rec = match Record::parse(data) {
            Ok(r) => r,
            Err(_) => {
                self.bad_records += 1;
                return;
            }
        };
        let hdr = rec.hdr;
        // bookkeeping that happens whether or not the event is shown
        match hdr.kind {
            REC_EXEC => {
                let exe = rec
                    .arg(1)
                    .and_then(RawArg::bytes)
                    .map(String::from_utf8_lossy);
                self.procs
                    .exec(hdr.pid, hdr.leader_start_time, exe.as_deref());
            }
            REC_FORK => {
                let child = rec.int(7).unwrap_or(0) as u32;
                let child_start = rec.int(9).unwrap_or(0);
                if self.scope.follows() {
                    let parent_allowed = self.user_scope_allows(&hdr);
                    self.scope.fork(parent_allowed, hdr.pid, child, child_start);
                }
                if child != hdr.pid {
                    self.procs
                        .fork(hdr.pid, hdr.leader_start_time, child, child_start);
                }
            }
            _ => {}
        }
        if hdr.kind == REC_PACKET {
            self.decode_packet(&rec, emit);
            return;
        }
        let table = if hdr.kind == REC_SYSCALL {
            &self.by_nr
        } else {
            &self.by_id
        };
        let Some(def) = table.get(hdr.event_id as usize).copied().flatten() else {
            self.bad_records += 1;
            return;
        };
        let shown = self.is_selected(def.id) && self.user_scope_allows(&hdr);
        if hdr.kind == REC_EXIT && rec.int(2).unwrap_or(0) != 0 {
            // the whole process is gone
            self.scope.exit(hdr.pid, hdr.ts);
            self.procs.exit(hdr.pid);
        }
        if !shown {
            return;
        }
        let names = self.names(&hdr);
        let mut ev = self.context(&hdr, &names);
        ev.event_id = def.id;
        ev.event_name = Cow::Borrowed(def.name.as_str());
        ev.return_value = match hdr.kind {
            REC_EXEC | REC_FORK | REC_EXIT | REC_MEM_ALERT | REC_MPROTECT => 0,
            _ => hdr.ret,
        };
        ev.args = if hdr.kind == REC_UNLINK {
            unlink_args(def, &rec)
        } else {
            def.args
                .iter()
                .map(|a| render_arg(a, rec.arg(a.index), self.boot_to_epoch))
                .collect()
        };
        ev.args_num = ev.args.len() as i64;
        emit(&ev);
    }

    fn is_selected(&self, id: i64) -> bool {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.selected.get(i))
            .copied()
            .unwrap_or(false)
    }

    fn user_scope_allows(&mut self, hdr: &RecordHdr) -> bool {
        self.scope.allows(hdr, &mut self.procs)
    }

    fn names(&mut self, hdr: &RecordHdr) -> Names {
        Names {
            exe: self.procs.executable(hdr.pid, hdr.leader_start_time),
            container: self.procs.container_id(hdr.pid, hdr.cgroup_id),
            comm: hdr.comm.map(|c| c as u8),
            host: hdr.uts_name.map(|c| c as u8),
        }
    }

    /// The context of an event (everything but its name and arguments).
    fn context<'n>(&self, hdr: &RecordHdr, names: &'n Names) -> Event<'n> {
        let container = names.container.as_deref().unwrap_or("");
        Event {
            timestamp: self.epoch(hdr.ts),
            thread_start_time: self.epoch(hdr.start_time),
            processor_id: hdr.cpu as i64,
            process_id: hdr.ns_pid as i64,
            thread_id: hdr.ns_tid as i64,
            parent_process_id: hdr.ns_ppid as i64,
            host_process_id: hdr.pid as i64,
            host_thread_id: hdr.tid as i64,
            host_parent_process_id: hdr.ppid as i64,
            user_id: hdr.uid as i64,
            mount_namespace: hdr.mnt_ns as u64,
            pid_namespace: hdr.pid_ns as u64,
            cgroup_id: hdr.cgroup_id,
            process_name: fixed_text(&names.comm),
            executable_path: Some(Cow::Borrowed(names.exe.as_deref().unwrap_or(""))),
            host_name: fixed_text(&names.host),
            context_flags: ContextFlags {
                container_started: !container.is_empty(),
                is_compat: hdr.flags & 1 != 0,
            },
            container: Container {
                id: Cow::Borrowed(container),
                ..Container::default()
            },
            syscall: Cow::Borrowed(if hdr.syscall >= 0 {
                syscall_name(hdr.syscall as u32).unwrap_or("")
            } else {
                ""
            }),
            ..Event::default()
        }
    }

    fn decode_packet(&mut self, rec: &Record, mut emit: impl FnMut(&Event<'_>)) {
        let mut hdr = rec.hdr;
        // The socket hooks read the owner's whole context from its task; when they could not,
        // complete it from /proc (while the owner still exists).
        if hdr.flags & HDR_OWNER_CONTEXT == 0 {
            self.procs.complete(&mut hdr);
        }
        if !self.user_scope_allows(&hdr) {
            return;
        }
        let egress = rec.int(0).unwrap_or(0) != 0;
        let len = rec.int(2).unwrap_or(0) as u32;
        let Some(RawArg::Bytes(bytes)) = rec.arg(3) else {
            return;
        };
        let packets = net::decode(bytes, egress, len);
        let mut names = None;
        for (id, args) in packets {
            if !self.is_selected(id) {
                continue;
            }
            let Some(def) = self.by_id.get(id as usize).copied().flatten() else {
                continue;
            };
            let names = &*names.get_or_insert_with(|| self.names(&hdr));
            let mut ev = self.context(&hdr, names);
            ev.event_id = id;
            ev.event_name = Cow::Borrowed(def.name.as_str());
            ev.args = args
                .into_iter()
                .zip(def.args.iter())
                .map(|(value, a)| Arg {
                    name: Cow::Borrowed(a.name.as_str()),
                    ty: Cow::Borrowed(a.ty.as_str()),
                    value,
                })
                .collect();
            ev.args_num = ev.args.len() as i64;
            emit(&ev);
        }
    }
}

fn unlink_args(def: &'static EventDef, rec: &Record) -> Vec<Arg<'static>> {
    let given = rec.string(0).unwrap_or_default();
    let dir = rec.string(1).unwrap_or_default();
    let path = if given.starts_with('/') || dir.is_empty() {
        normalize(&given)
    } else {
        normalize(&format!("{dir}/{given}"))
    };
    let values = [
        Value::Str(Cow::Owned(path)),
        Value::Int(rec.int(2).unwrap_or(0) as i64),
        Value::Int(rec.int(3).unwrap_or(0) as u32 as i64),
        Value::Int(rec.int(4).unwrap_or(0) as i64),
    ];
    def.args
        .iter()
        .zip(values)
        .map(|(a, value)| Arg {
            name: Cow::Borrowed(a.name.as_str()),
            ty: Cow::Borrowed(a.ty.as_str()),
            value,
        })
        .collect()
}

/// Lexically normalizes an absolute path (`.`, `..`, repeated slashes).
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if path.starts_with('/') {
        format!("/{}", parts.join("/"))
    } else {
        parts.join("/")
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Splits NUL-separated strings (a trailing NUL does not make an empty last element).
pub fn split_strlist(b: &[u8]) -> Vec<String> {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    if b.is_empty() {
        return Vec::new();
    }
    b.split(|&c| c == 0).map(lossy).collect()
}

/// A raw `struct sockaddr` as Tracee writes it: an object of strings.
pub fn sockaddr_value(b: &[u8]) -> Value<'static> {
    let s = |k: &'static str, v: String| (Cow::Borrowed(k), Value::Str(Cow::Owned(v)));
    if b.len() < 2 {
        return Value::Object(vec![s("sa_family", "AF_UNSPEC".into())]);
    }
    let family = u16::from_ne_bytes([b[0], b[1]]);
    match family {
        2 if b.len() >= 8 => Value::Object(vec![
            s("sa_family", "AF_INET".into()),
            s(
                "sin_addr",
                Ipv4Addr::new(b[4], b[5], b[6], b[7]).to_string(),
            ),
            s("sin_port", u16::from_be_bytes([b[2], b[3]]).to_string()),
        ]),
        10 if b.len() >= 24 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[8..24]);
            let scope = b
                .get(24..28)
                .map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
                .unwrap_or(0);
            Value::Object(vec![
                s("sa_family", "AF_INET6".into()),
                s("sin6_addr", Ipv6Addr::from(a).to_string()),
                s("sin6_port", u16::from_be_bytes([b[2], b[3]]).to_string()),
                s(
                    "sin6_flowinfo",
                    u32::from_be_bytes([b[4], b[5], b[6], b[7]]).to_string(),
                ),
                s("sin6_scopeid", scope.to_string()),
            ])
        }
        1 => {
            let path = &b[2..];
            let text = if path.first() == Some(&0) {
                // abstract socket: Tracee and ss show it with a leading '@'
                let name = &path[1..];
                let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
                format!("@{}", lossy(&name[..end]))
            } else {
                let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
                lossy(&path[..end])
            };
            Value::Object(vec![s("sa_family", "AF_UNIX".into()), s("sun_path", text)])
        }
        other => Value::Object(vec![s("sa_family", family_name(other))]),
    }
}

fn family_name(f: u16) -> String {
    match f {
        0 => "AF_UNSPEC".into(),
        16 => "AF_NETLINK".into(),
        17 => "AF_PACKET".into(),
        40 => "AF_VSOCK".into(),
        other => other.to_string(),
    }
}

fn is_pointer(ty: &str) -> bool {
    ty.ends_with('*')
}

/// Renders one argument by its Tracee type; a missing value gets the type's zero value.
pub fn render_arg(def: &'static ArgDef, raw: Option<&RawArg>, boot_to_epoch: i128) -> Arg<'static> {
    let ty = def.ty.as_str();
    let value = match (ty, raw) {
        ("const char**" | "const char*const*" | "char**", Some(RawArg::StrList(b))) => {
            Value::Array(
                split_strlist(b)
                    .into_iter()
                    .map(|s| Value::Str(Cow::Owned(s)))
                    .collect(),
            )
        }
        ("const char**" | "const char*const*" | "char**", _) => Value::Array(Vec::new()),
        ("bytes", Some(r)) => Value::Str(Cow::Owned(
            base64::engine::general_purpose::STANDARD.encode(r.bytes().unwrap_or(&[])),
        )),
        ("bytes", None) => Value::Str(Cow::Borrowed("")),
        ("struct sockaddr*", Some(RawArg::Sockaddr(b))) => sockaddr_value(b),
        (_, Some(RawArg::Str(b))) => Value::Str(Cow::Owned(lossy(b))),
        (_, Some(RawArg::Bytes(b) | RawArg::StrList(b) | RawArg::Sockaddr(b))) => {
            Value::Str(Cow::Owned(lossy(b)))
        }
        ("const char*" | "char*", None) => Value::Str(Cow::Borrowed("")),
        ("bool", r) => Value::Bool(r.and_then(RawArg::int).unwrap_or(0) != 0),
        (t, r) if is_pointer(t) => Value::Str(Cow::Owned(format!(
            "0x{:x}",
            r.and_then(RawArg::int).unwrap_or(0)
        ))),
        (t, r) => {
            let v = r.and_then(RawArg::int).unwrap_or(0);
            if def.name.ends_with("start_time") {
                Value::Int((v as i128 + boot_to_epoch).clamp(0, i64::MAX as i128) as i64)
            } else {
                int_value(t, v)
            }
        }
    };
    Arg {
        name: Cow::Borrowed(def.name.as_str()),
        ty: Cow::Borrowed(def.ty.as_str()),
        value,
    }
}

fn int_value(ty: &str, v: u64) -> Value<'static> {
    match ty {
        "int" | "pid_t" | "clockid_t" | "key_t" | "mqd_t" | "timer_t" | "int32" | "s32" => {
            Value::Int(v as u32 as i32 as i64)
        }
        "long"
        | "off_t"
        | "loff_t"
        | "ssize_t"
        | "time_t"
        | "__kernel_old_time_t"
        | "s64"
        | "int64" => Value::Int(v as i64),
        "umode_t" | "u16" | "unsigned short" => Value::Int((v & 0xffff) as i64),
        "unsigned int" | "uid_t" | "gid_t" | "mode_t" | "dev_t" | "u32" | "qid_t" | "rwf_t"
        | "key_serial_t" | "unsigned" => Value::Int(v as u32 as i64),
        _ => {
            if v > i64::MAX as u64 {
                Value::UInt(v)
            } else {
                Value::Int(v as i64)
            }
        }
    }
}

/// The marker event written for lost records when `--lost-markers` is on.
pub fn lost_marker(ts: u64, cause: &'static str, cpu: usize, count: u64) -> Event<'static> {
    Event {
        timestamp: ts,
        processor_id: cpu as i64,
        event_id: ids::LOST_EVENTS,
        event_name: Cow::Borrowed("lost_events"),
        executable_path: Some(Cow::Borrowed("")),
        args: vec![
            Arg {
                name: Cow::Borrowed("lost"),
                ty: Cow::Borrowed("u64"),
                value: Value::Int(count as i64),
            },
            Arg {
                name: Cow::Borrowed("cause"),
                ty: Cow::Borrowed("const char*"),
                value: Value::Str(Cow::Borrowed(cause)),
            },
        ],
        args_num: 2,
        ..Event::default()
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use osprey_bpf::record::RecordBuilder;

    fn hdr(kind: u16, id: u32) -> RecordHdr {
        let mut h = RecordHdr::default();
        h.kind = kind;
        h.event_id = id;
        h.syscall = 257;
        h.pid = 4242;
        h.tid = 4243;
        h.ns_pid = 1;
        h.ns_tid = 2;
        h.ts = 1_000;
        h.ret = 3;
        for (i, b) in b"cat".iter().enumerate() {
            h.comm[i] = *b as i8;
        }
        h
    }

    /// A decoder reading a `/proc` that does not exist.
    fn decoder(events: &[&str]) -> Decoder {
        let selected: Vec<String> = events.iter().map(|e| e.to_string()).collect();
        Decoder::new(&selected, Scope::default())
            .with_proc_context(ProcContext::new("/nonexistent"))
    }

    /// Decodes `bytes`, checks each event with `check`, and returns how many there were.
    fn decode_each(d: &mut Decoder, bytes: &[u8], mut check: impl FnMut(&Event<'_>)) -> usize {
        let mut n = 0;
        d.decode(bytes, |ev| {
            n += 1;
            check(ev);
        });
        n
    }

    #[test]
    fn syscall_record_decodes_with_tracee_names_and_types() {
        let mut d = decoder(&["openat"]);
        let bytes = RecordBuilder::new(hdr(REC_SYSCALL, 257))
            .int(0, (-100i64) as u64)
            .str(1, "/etc/passwd")
            .int(2, 0o2000001)
            .int(3, 0o644)
            .finish();
        let n = decode_each(&mut d, &bytes, |ev| {
            assert_eq!(ev.event_name, "openat");
            assert_eq!(ev.event_id, 257);
            assert_eq!(ev.syscall, "openat");
            assert_eq!(ev.return_value, 3);
            assert_eq!(ev.process_name, "cat");
            assert_eq!((ev.host_process_id, ev.process_id), (4242, 1));
            assert_eq!(ev.arg("dirfd").unwrap().value, Value::Int(-100));
            assert_eq!(ev.arg("dirfd").unwrap().ty, "int");
            assert_eq!(
                ev.arg("pathname").unwrap().value.as_str(),
                Some("/etc/passwd")
            );
            assert_eq!(ev.arg("mode").unwrap().value, Value::Int(0o644));
            // and it round-trips through the reader
            let mut json = Vec::new();
            ev.write_legacy_json(&mut json);
            let back = osprey_event::parse_event(&json).unwrap();
            assert_eq!(
                back.arg("pathname").unwrap().value.as_str(),
                Some("/etc/passwd")
            );
        });
        assert_eq!(n, 1);
    }

    #[test]
    fn unselected_and_garbage_records_produce_nothing() {
        let mut d = decoder(&["connect"]);
        let bytes = RecordBuilder::new(hdr(REC_SYSCALL, 257)).finish();
        assert_eq!(decode_each(&mut d, &bytes, |_| {}), 0);
        for junk in [&b""[..], &b"\x01\x02\x03"[..], &[0xffu8; 300][..]] {
            assert_eq!(decode_each(&mut d, junk, |_| {}), 0);
        }
        assert!(d.bad_records >= 2);
    }

    #[test]
    fn missing_arguments_get_zero_values_and_invalid_utf8_is_lossy() {
        let mut d = decoder(&["security_file_open"]);
        let bytes = RecordBuilder::new(hdr(REC_FILE_OPEN, 730))
            .blob(0, ARG_STR, b"/tmp/\xff\xfe")
            .finish();
        let n = decode_each(&mut d, &bytes, |ev| {
            assert_eq!(ev.args.len(), 6);
            assert_eq!(
                ev.arg("pathname").unwrap().value.as_str(),
                Some("/tmp/\u{fffd}\u{fffd}")
            );
            assert_eq!(ev.arg("inode").unwrap().value, Value::Int(0));
            assert_eq!(ev.arg("syscall_pathname").unwrap().value.as_str(), Some(""));
        });
        assert_eq!(n, 1);
    }

    /// The old interner stopped interning at its budget and cached `None` from then on: every
    /// later process had an empty executable and container ID.
    #[test]
    fn events_stay_complete_when_a_tiny_cache_is_exceeded_many_times_over() {
        use crate::proc_context::tests::{container, FakeProc};
        use crate::proc_context::Limits;
        let fake = FakeProc::new();
        let limits = Limits {
            entries: 4,
            bytes: 128,
        };
        let mut d =
            decoder(&["openat"]).with_proc_context(ProcContext::with_limits(fake.root(), limits));
        let exec_id = catalog().get("sched_process_exec").unwrap().id as u32;
        let fork_id = catalog().get("sched_process_fork").unwrap().id as u32;
        let exit_id = catalog().get("sched_process_exit").unwrap().id as u32;
        let mut parent: Option<(u32, u64, String)> = None;
        for n in 0..3000u64 {
            let (pid, start, cgroup) = (100 + (n % 64) as u32, n + 1, n);
            let mut h = hdr(REC_SYSCALL, 257);
            (h.pid, h.leader_start_time, h.cgroup_id) = (pid, start, cgroup);
            let cid = container(n);
            // one process in three execs, one is forked by the last one (when it lives), the
            // rest are only in /proc; /proc's executable is stale where a record says better
            let exe = match (n % 3, &parent) {
                (1, _) => {
                    let exe = format!("/usr/libexec/tool-{n}");
                    fake.process(pid, "/stale", &format!("/docker/{cid}"));
                    let mut e = h;
                    (e.kind, e.event_id) = (REC_EXEC, exec_id);
                    d.decode(&RecordBuilder::new(e).str(1, &exe).finish(), |_| {});
                    exe
                }
                (0, _) | (_, None) => {
                    let exe = format!("/opt/app-{n}/bin/server-{n}");
                    fake.process(pid, &exe, &format!("/docker/{cid}"));
                    exe
                }
                (_, Some((ppid, pstart, pexe))) => {
                    fake.process(pid, "/stale", &format!("/docker/{cid}"));
                    let mut f = hdr(REC_FORK, fork_id);
                    (f.pid, f.leader_start_time) = (*ppid, *pstart);
                    let fork = RecordBuilder::new(f)
                        .int(7, pid as u64)
                        .int(9, start)
                        .finish();
                    d.decode(&fork, |_| {});
                    pexe.clone()
                }
            };
            let open = RecordBuilder::new(h)
                .str(1, &format!("/var/lib/data/{n}/file"))
                .finish();
            let seen = decode_each(&mut d, &open, |ev| {
                assert_eq!(ev.executable_path.as_deref(), Some(exe.as_str()), "{n}");
                assert_eq!(ev.container.id, cid, "{n}");
                assert_eq!(ev.process_name, "cat");
            });
            assert_eq!(seen, 1);
            if n % 5 == 0 {
                let mut x = h;
                (x.kind, x.event_id) = (REC_EXIT, exit_id);
                d.decode(&RecordBuilder::new(x).int(2, 1).finish(), |_| {});
                parent = None;
            } else {
                parent = Some((pid, start, exe));
            }
            let s = d.proc_context().stats();
            assert!(s.processes <= 2 * limits.entries && s.cgroups <= 2 * limits.entries);
            assert!(s.bytes <= 4 * limits.bytes, "{s:?}");
        }
    }

    #[test]
    fn sockaddrs_of_each_family() {
        let mut v4 = vec![2u8, 0, 0x1f, 0x90, 127, 0, 0, 1];
        v4.extend_from_slice(&[0; 8]);
        assert_eq!(
            sockaddr_value(&v4),
            Value::Object(vec![
                ("sa_family".into(), Value::Str("AF_INET".into())),
                ("sin_addr".into(), Value::Str("127.0.0.1".into())),
                ("sin_port".into(), Value::Str("8080".into())),
            ])
        );
        let mut v6 = vec![10u8, 0, 0, 53, 0, 0, 0, 0];
        v6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        v6.extend_from_slice(&[0; 4]);
        let o = sockaddr_value(&v6);
        assert_eq!(o.get("sin6_addr").unwrap().as_str(), Some("::1"));
        assert_eq!(o.get("sin6_port").unwrap().as_str(), Some("53"));
        let mut un = vec![1u8, 0];
        un.extend_from_slice(b"/run/x.sock\0garbage");
        assert_eq!(
            sockaddr_value(&un).get("sun_path").unwrap().as_str(),
            Some("/run/x.sock")
        );
        let abs = [1u8, 0, 0, b'a', b'b'];
        assert_eq!(
            sockaddr_value(&abs).get("sun_path").unwrap().as_str(),
            Some("@ab")
        );
        // short and odd inputs never panic
        for n in 0..v6.len() {
            let _ = sockaddr_value(&v6[..n]);
            let _ = sockaddr_value(&v4[..n.min(v4.len())]);
        }
    }

    #[test]
    fn strlists_and_paths() {
        assert_eq!(split_strlist(b"ls\0-l\0"), vec!["ls", "-l"]);
        assert_eq!(split_strlist(b""), Vec::<String>::new());
        assert_eq!(split_strlist(b"a\0\0b"), vec!["a", "", "b"]);
        assert_eq!(normalize("/tmp/./a/../b//c"), "/tmp/b/c");
        assert_eq!(normalize("/.."), "/");
    }

    #[test]
    fn unlink_joins_relative_paths_with_the_directory() {
        let def = catalog().get("security_inode_unlink").unwrap();
        let bytes = RecordBuilder::new(hdr(REC_UNLINK, 731))
            .str(0, "sub/../f.txt")
            .str(1, "/tmp/work")
            .int(2, 77)
            .int(3, 0x800001)
            .int(4, 123)
            .finish();
        let rec = Record::parse(&bytes).unwrap();
        let args = unlink_args(def, &rec);
        assert_eq!(args[0].value.as_str(), Some("/tmp/work/f.txt"));
        assert_eq!(args[1].value, Value::Int(77));
        assert_eq!(args[2].value, Value::Int(0x800001));
    }

    #[test]
    fn integer_types_are_sign_and_width_correct() {
        let a = |ty: &str, v: u64| {
            let def: &'static ArgDef = Box::leak(Box::new(ArgDef {
                name: "x".into(),
                ty: ty.into(),
                index: 0,
            }));
            render_arg(def, Some(&RawArg::Int(v)), 0).value
        };
        assert_eq!(a("int", u64::MAX), Value::Int(-1));
        assert_eq!(a("pid_t", 0xffff_ffff), Value::Int(-1));
        assert_eq!(a("uid_t", 0xffff_ffff), Value::Int(4294967295));
        assert_eq!(a("long", (-5i64) as u64), Value::Int(-5));
        assert_eq!(a("unsigned long", u64::MAX), Value::UInt(u64::MAX));
        assert_eq!(a("void*", 0x1000), Value::Str("0x1000".into()));
        assert_eq!(a("bool", 1), Value::Bool(true));
    }
}
