//! `-z tracee,process,PID_OR_ENTITY`: one process and everything it did, joined from its
//! events, the packets of its per-process capture and the artifacts captured from it: its
//! execs (with the SHA-256 of the captured binary), the files it opened and wrote (with the
//! SHA-256 of the captured file), its connections, the DNS names it resolved and their
//! answers, its packets by peer, and its signatures; with its parent, ancestors and children.
//!
//! The number is a host PID or a `processEntityId`; a PID the kernel reused is every process
//! that had it, each reported on its own.

use osprey_dissect::prefs::PidFormat;
use osprey_field::fields::{artifact as a, dns, ip, tracee as t};
use osprey_field::FieldValue;
use serde::Serialize;

use crate::conv::{flow, frame_bytes, Addr};
use crate::process::{Parent, ProcId, ProcessInfo, ProcessModel};
use crate::spec::{Layer, ProcessTarget, ViewSpec};
use crate::tracee::{open_mode, signature_leaf, socket_leaf};
use crate::{Cx, Rec, Setup, Span, View, ViewResult};
use osprey_field::hash::FastMap;

/// A name and how often it was seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Count {
    /// The name.
    pub name: String,
    /// How often.
    pub count: u64,
    /// First time, ns since the epoch.
    pub first: u64,
}

/// An artifact captured from the process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArtifactRef {
    /// `write`, `exec`, `mem`, `module`, `pcap`.
    pub kind: String,
    /// The file it came from.
    pub original_path: String,
    /// Where it is stored, under the capture's `out/`.
    pub stored_as: String,
    /// SHA-256 of what was stored.
    pub sha256: String,
    /// Bytes stored.
    pub size: u64,
    /// False when bytes were lost.
    pub complete: bool,
}

/// An exec, with the captured binary's hash when the capture has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExecDetail {
    /// When, ns since the epoch.
    pub time: u64,
    /// The executed file.
    pub pathname: String,
    /// Its command line.
    pub command_line: String,
    /// SHA-256 of the captured binary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// A file the process wrote (`magic_write`), with what was captured of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WrittenFile {
    /// The file.
    pub path: String,
    /// Its type from the written bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_type: Option<String>,
    /// Writes seen.
    pub count: u64,
    /// SHA-256 of each capture of it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sha256: Vec<String>,
}

/// A name the process resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// The name.
    pub name: String,
    /// Queries and responses seen.
    pub messages: u64,
    /// Addresses and names answered.
    pub answers: Vec<String>,
}

/// A peer of the process's packets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Peer {
    /// `TCP`, `UDP` or `IP`.
    pub protocol: String,
    /// Its address and port.
    pub address: String,
    /// Frames to or from it.
    pub frames: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// One process of the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProcessDetail {
    /// Its process-tree label.
    pub label: String,
    /// Its details.
    pub process: ProcessInfo,
    /// First and last event, ns since the epoch.
    pub first_seen: u64,
    /// See `first_seen`.
    pub last_seen: u64,
    /// Labels of its parent and the parent's ancestors, nearest first.
    pub ancestors: Vec<String>,
    /// Labels of the processes it started.
    pub children: Vec<String>,
    /// Its events by name, most frequent first.
    pub events: Vec<Count>,
    /// Its execs.
    pub execs: Vec<ExecDetail>,
    /// Files opened: `(RO|WO|RW): <path>`.
    pub files_opened: Vec<Count>,
    /// Files written.
    pub files_written: Vec<WrittenFile>,
    /// Connects, binds and accepts (`Connect to <addr> port <port>`).
    pub connections: Vec<Count>,
    /// DNS names resolved.
    pub dns: Vec<Resolved>,
    /// Frames of its own packet capture.
    pub packets: u64,
    /// Their bytes.
    pub packet_bytes: u64,
    /// Peers of its network traffic (its packets and its network events).
    pub peers: Vec<Peer>,
    /// Signatures it triggered: `(Severity N): <name>`.
    pub signatures: Vec<Count>,
    /// Artifacts captured from it.
    pub artifacts: Vec<ArtifactRef>,
}

/// `-z tracee,process,ID`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProcessReport {
    /// The `-z` argument.
    pub view: String,
    /// The view's filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The PID or entity ID asked for.
    pub target: u64,
    /// Every process that had it.
    pub processes: Vec<ProcessDetail>,
}

#[derive(Default)]
struct Counter(FastMap<String, (u64, u64)>);

impl Counter {
    fn add(&mut self, name: &str, ts: u64) {
        match self.0.get_mut(name) {
            Some(c) => c.0 += 1,
            None => {
                self.0.insert(name.to_string(), (1, ts));
            }
        }
    }

    fn by_count(&self) -> Vec<Count> {
        let mut v: Vec<Count> = self
            .0
            .iter()
            .map(|(n, (c, f))| Count {
                name: n.clone(),
                count: *c,
                first: *f,
            })
            .collect();
        v.sort_by(|x, y| y.count.cmp(&x.count).then(x.first.cmp(&y.first)));
        v
    }

    fn by_time(&self) -> Vec<Count> {
        let mut v = self.by_count();
        v.sort_by(|x, y| x.first.cmp(&y.first).then(x.name.cmp(&y.name)));
        v
    }
}

/// Writes to one file: its type, how many, the first.
#[derive(Clone, Default)]
struct Written {
    file_type: Option<String>,
    count: u64,
    first: u64,
}

#[derive(Default)]
struct Acc {
    events: Counter,
    opened: Counter,
    written: FastMap<String, Written>,
    connections: Counter,
    dns: Vec<Resolved>,
    peers: Vec<Peer>,
    signatures: Counter,
    packets: u64,
    packet_bytes: u64,
    artifacts: Vec<ArtifactRef>,
}

impl Acc {
    fn peer(&mut self, protocol: &str, address: String, bytes: u64) {
        match self
            .peers
            .iter_mut()
            .find(|p| p.protocol == protocol && p.address == address)
        {
            Some(p) => {
                p.frames += 1;
                p.bytes += bytes;
            }
            None => self.peers.push(Peer {
                protocol: protocol.to_string(),
                address,
                frames: 1,
                bytes,
            }),
        }
    }

    /// The DNS names a frame asks or answers.
    fn dns(&mut self, rec: &Rec<'_>) {
        if !rec.has(dns::DNS) {
            return;
        }
        let answers: Vec<String> = rec
            .values(dns::A)
            .chain(rec.values(dns::AAAA))
            .chain(rec.values(dns::CNAME))
            .map(|v| plain(&v))
            .collect();
        for name in rec.strs(dns::QRY_NAME) {
            let entry = match self.dns.iter().position(|r| r.name == name) {
                Some(i) => &mut self.dns[i],
                None => {
                    self.dns.push(Resolved {
                        name: name.to_string(),
                        messages: 0,
                        answers: Vec::new(),
                    });
                    self.dns.last_mut().expect("just pushed")
                }
            };
            entry.messages += 1;
            for a in &answers {
                if !entry.answers.contains(a) {
                    entry.answers.push(a.clone());
                }
            }
        }
    }

    /// The remote end of a frame's traffic: the destination of what the process sent.
    fn traffic(&mut self, rec: &Rec<'_>) {
        let bytes = frame_bytes(rec);
        for (layer, name) in [(Layer::Tcp, "TCP"), (Layer::Udp, "UDP")] {
            if let Some(f) = flow(rec, layer) {
                if f.src == f.dst && f.sport == f.dport && rec.is_event() {
                    return;
                }
                self.peer(name, endpoint(f.dst, f.dport), bytes);
                return;
            }
        }
        if let Some(f) = flow(rec, Layer::Ip).or_else(|| flow(rec, Layer::Ipv6)) {
            if !(f.src == f.dst && rec.is_event()) {
                self.peer("IP", f.dst.to_string(), bytes);
            }
        }
    }
}

fn endpoint(addr: Addr, port: u32) -> String {
    match addr {
        Addr::V6(_) => format!("[{addr}]:{port}"),
        _ => format!("{addr}:{port}"),
    }
}

fn plain(v: &FieldValue<'_>) -> String {
    match v {
        FieldValue::Str(s) => s.to_string(),
        FieldValue::Ipv4(a) => a.to_string(),
        FieldValue::Ipv6(a) => a.to_string(),
        other => format!("{other:?}"),
    }
}

/// A packet or artifact record of the target PID, attributed to a process at the end.
struct Pending {
    host_pid: i64,
    thread_start: Option<u64>,
    ts: u64,
    artifact: Option<ArtifactRef>,
    bytes: u64,
    peer: Option<(String, String)>,
    dns: Vec<(String, Vec<String>)>,
}

/// The per-process view.
pub(crate) struct ProcessView {
    spec: ViewSpec,
    target: u64,
    bit: Option<u8>,
    format: PidFormat,
    prefs: osprey_dissect::Preferences,
    args: crate::fields::Args,
    accs: FastMap<ProcId, Acc>,
    pending: Vec<Pending>,
}

impl ProcessView {
    pub(crate) fn new(
        spec: &ViewSpec,
        target: ProcessTarget,
        bit: Option<u8>,
        s: &mut Setup<'_>,
    ) -> ProcessView {
        let args = s.args;
        for f in [
            t::EVENT_NAME,
            t::IS_SIGNATURE,
            t::METADATA_SEVERITY,
            t::METADATA_SIGNATURE_NAME,
            t::HOST_PROCESS_ID,
            t::THREAD_START_TIME,
            t::MAGIC_WRITE_FILE_TYPE,
            t::SOCKADDR_SA_FAMILY,
            t::SOCKADDR_SIN_ADDR,
            t::SOCKADDR_SIN_PORT,
            t::SOCKADDR_SIN6_ADDR,
            t::SOCKADDR_SIN6_PORT,
            t::SOCKADDR_SUN_PATH,
            args.open_pathname,
            args.open_syscall_pathname,
            args.open_flags,
            args.write_pathname,
            a::ARTIFACT,
            a::KIND,
            a::PATH,
            a::SIZE,
            a::SHA256,
            a::ORIGINAL_PATH,
            a::COMPLETE,
            dns::DNS,
            dns::QRY_NAME,
            dns::A,
            dns::AAAA,
            dns::CNAME,
            ip::SRC,
            ip::DST,
            ip::IPV6_SRC,
            ip::IPV6_DST,
            ip::LEN,
            ip::IPV6_PLEN,
            osprey_field::fields::tcp::SRCPORT,
            osprey_field::fields::tcp::DSTPORT,
            osprey_field::fields::udp::SRCPORT,
            osprey_field::fields::udp::DSTPORT,
        ] {
            s.read(f);
        }
        ProcessView {
            spec: spec.clone(),
            target: target.0,
            bit,
            format: s.prefs.pid_format,
            prefs: s.prefs.clone(),
            args,
            accs: FastMap::default(),
            pending: Vec::new(),
        }
    }

    fn matches(&self, model: &ProcessModel, id: ProcId) -> bool {
        let p = model.get(id);
        p.host_pid as u64 == self.target || p.entity == Some(self.target)
    }
}

fn time_of(rec: &Rec<'_>, field: osprey_field::FieldId) -> Option<u64> {
    match rec.first(field)? {
        FieldValue::AbsTime(t) => Some(t),
        FieldValue::UInt(u) => Some(u),
        _ => None,
    }
}

impl View for ProcessView {
    fn observe(&mut self, rec: &Rec<'_>, cx: &Cx<'_>) {
        if !rec.counts(self.bit) {
            return;
        }
        let ts = rec.meta.ts;
        if rec.is_event() {
            let (Some(id), Some(model)) = (cx.process, cx.model) else {
                return;
            };
            if !self.matches(model, id) {
                return;
            }
            let name = rec.event_name().unwrap_or("");
            let args = self.args;
            let acc = self.accs.entry(id).or_default();
            acc.events.add(name, ts);
            if rec.bool(t::IS_SIGNATURE).unwrap_or(false) {
                acc.signatures.add(&signature_leaf(rec), ts);
            }
            match name {
                "security_file_open" => {
                    let path = rec
                        .str(args.open_pathname)
                        .filter(|p| !p.is_empty())
                        .or_else(|| rec.str(args.open_syscall_pathname))
                        .unwrap_or("");
                    let leaf = format!("({}): {path}", open_mode(rec, args.open_flags));
                    acc.opened.add(&leaf, ts);
                }
                "magic_write" => {
                    let path = rec.str(args.write_pathname).unwrap_or("").to_string();
                    let ft = rec.str(t::MAGIC_WRITE_FILE_TYPE).map(str::to_string);
                    let e = acc.written.entry(path).or_insert(Written {
                        file_type: ft,
                        count: 0,
                        first: ts,
                    });
                    e.count += 1;
                }
                _ => {}
            }
            if let Some(leaf) = socket_leaf(rec, &self.prefs) {
                acc.connections.add(&leaf, ts);
            }
            acc.dns(rec);
            acc.traffic(rec);
            return;
        }
        // A packet of a per-process capture, or an artifact record, of the target PID.
        let Some(host_pid) = rec.int(t::HOST_PROCESS_ID) else {
            return;
        };
        let artifact = rec.has(a::ARTIFACT).then(|| ArtifactRef {
            kind: rec.str(a::KIND).unwrap_or("").to_string(),
            original_path: rec.str(a::ORIGINAL_PATH).unwrap_or("").to_string(),
            stored_as: rec.str(a::PATH).unwrap_or("").to_string(),
            sha256: rec.str(a::SHA256).unwrap_or("").to_string(),
            size: rec.uint(a::SIZE).unwrap_or(0),
            complete: rec.bool(a::COMPLETE).unwrap_or(true),
        });
        let mut scratch = Acc::default();
        if artifact.is_none() {
            scratch.dns(rec);
            scratch.traffic(rec);
        }
        self.pending.push(Pending {
            host_pid,
            thread_start: time_of(rec, t::THREAD_START_TIME),
            ts,
            artifact,
            bytes: rec.meta.len,
            peer: scratch.peers.pop().map(|p| (p.protocol, p.address)),
            dns: scratch
                .dns
                .into_iter()
                .map(|r| (r.name, r.answers))
                .collect(),
        });
    }

    fn finish(&mut self, model: Option<&ProcessModel>, _: &Span) -> ViewResult {
        let model = model.expect("the per-process view runs with the process model");
        for p in std::mem::take(&mut self.pending) {
            let Some(id) = model.find(p.host_pid, p.thread_start, p.ts) else {
                continue;
            };
            if !self.matches(model, id) {
                continue;
            }
            let acc = self.accs.entry(id).or_default();
            match p.artifact {
                Some(art) => acc.artifacts.push(art),
                None => {
                    acc.packets += 1;
                    acc.packet_bytes += p.bytes;
                    if let Some((proto, addr)) = p.peer {
                        acc.peer(&proto, addr, p.bytes);
                    }
                    for (name, answers) in p.dns {
                        match acc.dns.iter_mut().find(|r| r.name == name) {
                            Some(r) => {
                                r.messages += 1;
                                for a in answers {
                                    if !r.answers.contains(&a) {
                                        r.answers.push(a);
                                    }
                                }
                            }
                            None => acc.dns.push(Resolved {
                                name,
                                messages: 1,
                                answers,
                            }),
                        }
                    }
                }
            }
        }
        // Every process of the target, also one whose events all fell outside the filter.
        let mut ids: Vec<ProcId> = (0..model.processes().len() as ProcId)
            .filter(|&id| self.matches(model, id))
            .collect();
        ids.sort_by_key(|&id| {
            let p = model.get(id);
            (p.start.unwrap_or(p.first_seen), p.first_seen)
        });
        let processes = ids.into_iter().map(|id| self.detail(model, id)).collect();
        ViewResult::Process(ProcessReport {
            view: self.spec.text.clone(),
            filter: self.spec.filter.clone(),
            target: self.target,
            processes,
        })
    }
}

impl ProcessView {
    fn detail(&mut self, model: &ProcessModel, id: ProcId) -> ProcessDetail {
        let acc = self.accs.remove(&id).unwrap_or_default();
        let p = model.get(id);
        let mut ancestors = Vec::new();
        let mut cur = id;
        for _ in 0..model.processes().len() {
            match model.parent(cur) {
                Parent::Known(pp) if pp != id => {
                    ancestors.push(model.label(pp, self.format));
                    cur = pp;
                }
                Parent::Unseen { host_pid, pid } => {
                    ancestors.push(ProcessModel::unseen_label(host_pid, pid, self.format));
                    break;
                }
                _ => break,
            }
        }
        let children = (0..model.processes().len() as ProcId)
            .filter(|&c| model.parent(c) == Parent::Known(id))
            .map(|c| model.label(c, self.format))
            .collect();
        let sha_of = |kind: &str, path: &str| -> Vec<String> {
            acc.artifacts
                .iter()
                .filter(|a| a.kind == kind && a.original_path == path && !a.sha256.is_empty())
                .map(|a| a.sha256.clone())
                .collect()
        };
        let execs = p
            .execs
            .iter()
            .map(|e| ExecDetail {
                time: e.time,
                pathname: e.pathname.clone(),
                command_line: e.command_line.clone(),
                sha256: sha_of("exec", &e.pathname).into_iter().next(),
            })
            .collect();
        let mut written: Vec<(&String, &Written)> = acc.written.iter().collect();
        written.sort_by(|x, y| x.1.first.cmp(&y.1.first).then(x.0.cmp(y.0)));
        let files_written = written
            .into_iter()
            .map(|(path, w)| WrittenFile {
                sha256: sha_of("write", path),
                path: path.clone(),
                file_type: w.file_type.clone(),
                count: w.count,
            })
            .collect();
        let mut peers = acc.peers.clone();
        peers.sort_by_key(|p| std::cmp::Reverse(p.frames));
        ProcessDetail {
            label: model.label(id, self.format),
            process: model.info(id),
            first_seen: p.first_seen,
            last_seen: p.last_seen,
            ancestors,
            children,
            events: acc.events.by_count(),
            execs,
            files_opened: acc.opened.by_time(),
            files_written,
            connections: acc.connections.by_time(),
            dns: acc.dns.clone(),
            packets: acc.packets,
            packet_bytes: acc.packet_bytes,
            peers,
            signatures: acc.signatures.by_time(),
            artifacts: acc.artifacts.clone(),
        }
    }
}
