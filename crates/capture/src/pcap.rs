//! Packets of traced processes into Tracee-layout PcapNG files (formats.md §3): link type NULL
//! (a 4-byte host-order address family, then the IP packet), `if_name` `tracee`,
//! `opt_comment` `tracee packet capture`, nanosecond timestamps, and the packet context JSON in
//! `if_description`, with the keys of the split: `single` has `version` only, per container adds
//! `container`, `kubernetes`, `hostName`, per command adds `processName`, per process adds
//! `process`. Every split chosen gets every packet.
//!
//! A file holds one interface per distinct context (two commands whose names sanitise to the
//! same file name each keep their own context). On loopback a packet between two traced
//! sockets passes the sender's egress and the receiver's ingress hook: the second copy (same
//! bytes, opposite direction, within 10 ms) is dropped per file, as a capture on the interface
//! would show it once.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, BufWriter};

use osprey_pcapng::{option_code, Interface, PcapNgWriter, RawOption, LINKTYPE_NULL};

use crate::index::ProcessInfo;
use crate::name::{component, short_container};
use crate::options::{PcapSplit, Snaplen};
use crate::outdir::OutDir;

/// Address family written in the NULL header for IPv6: Darwin's 30, which Wireshark decodes
/// (Linux's 10, which Tracee writes, it does not).
pub const NULL_AF_INET6: u32 = 30;
/// ... and for IPv4.
pub const NULL_AF_INET: u32 = 2;

/// One packet, as the kernel copied it.
#[derive(Debug, Clone)]
pub struct Packet<'a> {
    /// ns since the epoch.
    pub ts: u64,
    /// Leaving (true) or arriving.
    pub egress: bool,
    /// Bytes from the IP header on (up to the kernel's copy limit).
    pub data: &'a [u8],
    /// Length on the wire.
    pub wire_len: u32,
}

struct PcapOut {
    rel: String,
    w: PcapNgWriter<BufWriter<File>>,
    ifaces: HashMap<String, u32>,
    packets: u64,
    bytes: u64,
    first: u64,
    last: u64,
    proc: ProcessInfo,
    recent: VecDeque<(u64, u64, bool)>,
}

/// What a finished pcap file holds, for the index.
#[derive(Debug, Clone)]
pub struct PcapSummary {
    /// Path relative to `out/`.
    pub rel: String,
    /// Packets written.
    pub packets: u64,
    /// Packet bytes written.
    pub bytes: u64,
    /// First packet.
    pub first: u64,
    /// Last packet.
    pub last: u64,
    /// The first packet's process.
    pub proc: ProcessInfo,
}

/// The pcap writer for every split of a run.
pub struct Pcaps {
    split: PcapSplit,
    snaplen: Snaplen,
    files: HashMap<String, PcapOut>,
    /// Packets dropped as loopback duplicates.
    pub duplicates: u64,
    /// Packets that could not be written (error creating a file).
    pub errors: u64,
}

fn fnv(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in data {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The context JSON for a split level: 0 single, 1 container, 2 command, 3 process.
pub fn context_json(level: u8, p: &ProcessInfo) -> String {
    let mut s = String::from("{\"version\":\"1.0\"");
    if level >= 1 {
        s.push_str(&format!(
            ",\"container\":{{\"id\":{},\"name\":\"\",\"image\":\"\",\"imageDigest\":\"\"}},\
             \"kubernetes\":{{\"podName\":\"\",\"podNamespace\":\"\",\"podUID\":\"\",\"podSandbox\":false}},\
             \"hostName\":{}",
            js(&p.container_id),
            js(&p.host_name)
        ));
    }
    if level >= 2 {
        s.push_str(&format!(",\"processName\":{}", js(&p.comm)));
    }
    if level >= 3 {
        s.push_str(&format!(
            ",\"process\":{{\"threadStartTime\":{},\"processId\":{},\"cgroupId\":{},\"threadId\":{},\
             \"parentProcessId\":{},\"hostProcessId\":{},\"hostThreadId\":{},\"hostParentProcessId\":{},\
             \"userId\":{},\"mountNamespace\":{},\"pidNamespace\":{},\"executable\":{}}}",
            p.thread_start_time,
            p.pid,
            p.cgroup_id,
            p.tid,
            p.ppid,
            p.host_pid,
            p.host_tid,
            p.host_ppid,
            p.uid,
            p.mnt_ns,
            p.pid_ns,
            js(&p.executable)
        ));
    }
    s.push('}');
    s
}

fn interface(context: &str) -> Interface {
    Interface {
        link_type: LINKTYPE_NULL,
        snaplen: 0xFFFF_FFFF,
        options: vec![
            RawOption::string(option_code::IF_NAME, "tracee"),
            RawOption::string(option_code::COMMENT, "tracee packet capture"),
            RawOption {
                code: option_code::IF_TSRESOL,
                value: vec![9],
            },
            RawOption::string(option_code::IF_DESCRIPTION, context),
        ],
    }
}

impl Pcaps {
    /// Writers for `split`, cutting packets by `snaplen`.
    pub fn new(split: PcapSplit, snaplen: Snaplen) -> Pcaps {
        Pcaps {
            split,
            snaplen,
            files: HashMap::new(),
            duplicates: 0,
            errors: 0,
        }
    }

    /// Where a packet of `p` goes for each chosen split: (dirs, file name, context level).
    fn targets(&self, p: &ProcessInfo) -> Vec<(Vec<String>, String, u8)> {
        let mut t = Vec::new();
        let cid = short_container(&p.container_id);
        let comm = component(p.comm.as_bytes());
        if self.split.single {
            t.push((vec!["pcap".into()], "single.pcap".into(), 0));
        }
        if self.split.per_container {
            t.push((
                vec!["pcap".into(), "containers".into()],
                format!("{cid}.pcap"),
                1,
            ));
        }
        if self.split.per_command {
            t.push((
                vec!["pcap".into(), "commands".into(), cid.clone()],
                format!("{comm}.pcap"),
                2,
            ));
        }
        if self.split.per_process {
            let name =
                component(format!("{}_{}_{}", p.comm, p.host_tid, p.thread_start_time).as_bytes());
            t.push((
                vec!["pcap".into(), "processes".into(), cid],
                format!("{name}.pcap"),
                3,
            ));
        }
        t
    }

    /// Writes one packet of process `p` into every split file. Returns the bytes written.
    pub fn packet(&mut self, out: &mut OutDir, p: &ProcessInfo, pkt: &Packet) -> io::Result<u64> {
        let keep = self.snaplen.cut(pkt.data);
        let data = &pkt.data[..keep];
        let family = match data.first().map(|b| b >> 4) {
            Some(6) => NULL_AF_INET6,
            _ => NULL_AF_INET,
        };
        let mut frame = Vec::with_capacity(keep + 4);
        frame.extend_from_slice(&family.to_ne_bytes());
        frame.extend_from_slice(data);
        let hash = fnv(pkt.data);
        let mut written = 0;
        for (dirs, name, level) in self.targets(p) {
            let key = format!("{}/{}", dirs.join("/"), name);
            if !self.files.contains_key(&key) {
                let d: Vec<&str> = dirs.iter().map(String::as_str).collect();
                let (f, rel) = match out.create(&d, &name) {
                    Ok(x) => x,
                    Err(e) => {
                        self.errors += 1;
                        return Err(e);
                    }
                };
                let w = PcapNgWriter::new(BufWriter::with_capacity(1 << 16, f), "osprey")?;
                self.files.insert(
                    key.clone(),
                    PcapOut {
                        rel,
                        w,
                        ifaces: HashMap::new(),
                        packets: 0,
                        bytes: 0,
                        first: pkt.ts,
                        last: pkt.ts,
                        proc: p.clone(),
                        recent: VecDeque::new(),
                    },
                );
            }
            let Some(f) = self.files.get_mut(&key) else {
                continue;
            };
            // loopback: the same packet seen leaving one traced socket and reaching another
            if f.recent.iter().any(|&(h, ts, eg)| {
                h == hash && eg != pkt.egress && pkt.ts.abs_diff(ts) < 10_000_000
            }) {
                self.duplicates += 1;
                f.recent.retain(|&(h, _, _)| h != hash);
                continue;
            }
            f.recent.push_back((hash, pkt.ts, pkt.egress));
            if f.recent.len() > 64 {
                f.recent.pop_front();
            }
            let ctx = context_json(level, p);
            let iface = match f.ifaces.get(&ctx) {
                Some(i) => *i,
                None => {
                    let i = f.w.add_interface(&interface(&ctx))?;
                    f.ifaces.insert(ctx, i);
                    i
                }
            };
            f.w.write_packet(iface, pkt.ts, &frame, pkt.wire_len.saturating_add(4), &[])?;
            f.packets += 1;
            f.bytes += frame.len() as u64;
            f.last = pkt.ts;
            written += frame.len() as u64 + 32;
        }
        Ok(written)
    }

    /// Flushes every file.
    pub fn flush(&mut self) -> io::Result<()> {
        for f in self.files.values_mut() {
            f.w.flush()?;
        }
        Ok(())
    }

    /// Closes every file and says what each holds.
    pub fn finish(self) -> Vec<(PcapSummary, io::Result<()>)> {
        let mut v: Vec<_> = self
            .files
            .into_values()
            .map(|f| {
                let r = f.w.into_inner().map(|_| ());
                (
                    PcapSummary {
                        rel: f.rel,
                        packets: f.packets,
                        bytes: f.bytes,
                        first: f.first,
                        last: f.last,
                        proc: f.proc,
                    },
                    r,
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.rel.cmp(&b.0.rel));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp4(payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x45u8, 0, 0, 0, 0, 0, 0, 0, 64, 17];
        p.resize(20, 0);
        p.extend_from_slice(&[0x30, 0x39, 0, 53, 0, 0, 0, 0]);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn splits_contexts_and_loopback_duplicates() {
        let tmp = tempfile::tempdir().unwrap();
        let mut out = OutDir::prepare(tmp.path(), false).unwrap();
        let split = PcapSplit {
            single: true,
            per_process: true,
            per_container: true,
            per_command: true,
        };
        let mut pc = Pcaps::new(split, Snaplen::Bytes(30));
        let p = ProcessInfo {
            host_pid: 10,
            host_tid: 11,
            comm: "../ev/il".into(),
            thread_start_time: 99,
            executable: "/bin/x".into(),
            ..ProcessInfo::default()
        };
        let data = udp4(&[7u8; 100]);
        let pkt = Packet {
            ts: 1_000,
            egress: true,
            data: &data,
            wire_len: data.len() as u32,
        };
        pc.packet(&mut out, &p, &pkt).unwrap();
        // the same bytes arriving on loopback: dropped
        let dup = Packet {
            egress: false,
            ts: 2_000,
            ..pkt.clone()
        };
        pc.packet(&mut out, &p, &dup).unwrap();
        assert_eq!(pc.duplicates, 4);
        let done = pc.finish();
        let rels: Vec<&str> = done.iter().map(|d| d.0.rel.as_str()).collect();
        assert_eq!(
            rels,
            vec![
                "pcap/commands/host/___ev_il.pcap",
                "pcap/containers/host.pcap",
                "pcap/processes/host/___ev_il_11_99.pcap",
                "pcap/single.pcap"
            ]
        );
        for (s, r) in &done {
            r.as_ref().unwrap();
            assert_eq!(s.packets, 1, "{}", s.rel);
            let bytes = std::fs::read(tmp.path().join("out").join(&s.rel)).unwrap();
            let mut rd = osprey_pcapng::CaptureReader::new(&bytes[..]).unwrap();
            match rd.next() {
                osprey_pcapng::Next::Packet(pk) => {
                    assert_eq!(pk.data.len(), 4 + 30, "snaplen honoured");
                    assert_eq!(&pk.data[..4], &2u32.to_ne_bytes());
                    let iface = &rd.interfaces()[pk.interface];
                    assert_eq!(iface.link_type, LINKTYPE_NULL);
                    assert_eq!(iface.name(), Some("tracee"));
                    let ctx: serde_json::Value =
                        serde_json::from_str(iface.description().unwrap()).unwrap();
                    assert_eq!(ctx["version"], "1.0");
                    let level = if s.rel.contains("single") {
                        0
                    } else if s.rel.contains("containers") {
                        1
                    } else if s.rel.contains("commands") {
                        2
                    } else {
                        3
                    };
                    assert_eq!(ctx.get("container").is_some(), level >= 1, "{}", s.rel);
                    assert_eq!(ctx.get("processName").is_some(), level >= 2);
                    assert_eq!(ctx.get("process").is_some(), level >= 3);
                    if level >= 3 {
                        assert_eq!(ctx["process"]["hostThreadId"], 11);
                        assert_eq!(ctx["process"]["executable"], "/bin/x");
                    }
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
