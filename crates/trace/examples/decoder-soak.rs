//! Soak benchmark of the decoder (`bench/tracer/decoder-soak.sh` runs it): hours of a busy
//! host compressed into minutes, to show that late events are as complete as early ones and
//! that memory stays bounded.
//!
//! `decoder-soak [PROCESSES]` (default 2,000,000) feeds the decoder synthetic records, as the
//! ring buffer would, with a fake `/proc` tree kept like the kernel keeps the real one. Every
//! process has its own PID (PIDs are reused only after 4 million) and start time, and runs an
//! executable of its own: half exec it (the exec record names it), one in eight is forked by
//! the process before it (and inherits its executable), the rest are first seen running (only
//! `/proc/<pid>/exe` names it). Four processes in five share a container with up to three
//! others; the rest run on the host. Each process opens four files of its own, three in four
//! exits are traced (as when `sched_process_exit` is not selected, the rest go unseen). A
//! hundred daemons open files throughout the run.
//!
//! Every event is checked against what its process runs and where: executable path and
//! container ID. Every 10% of the run it prints the memory in use (RSS) and what the
//! decoder's caches hold. It exits 1 when an event was incomplete or wrong, or when memory
//! grew in the second half of the run beyond a fixed allowance.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Instant;

use osprey_bpf::consts::*;
use osprey_bpf::record::RecordBuilder;
use osprey_bpf::RecordHdr;
use osprey_trace::catalog::catalog;
use osprey_trace::decode::Decoder;
use osprey_trace::proc_context::{Limits, ProcContext};
use osprey_trace::scope::Scope;

const DAEMONS: u32 = 100;
const OPENS: u64 = 4;

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn hdr(kind: u16, id: u32, pid: u32, start: u64, cgroup: u64, ts: u64) -> RecordHdr {
    let mut h = RecordHdr {
        kind,
        event_id: id,
        syscall: 257,
        pid,
        tid: pid,
        ns_pid: pid,
        ns_tid: pid,
        leader_start_time: start,
        start_time: start,
        cgroup_id: cgroup,
        ts,
        ..RecordHdr::default()
    };
    for (i, b) in b"worker".iter().enumerate() {
        h.comm[i] = *b as i8;
    }
    for (i, b) in b"soak-host".iter().enumerate() {
        h.uts_name[i] = *b as i8;
    }
    h
}

/// What a process's events must say.
struct Expect {
    exe: String,
    container: String,
}

/// The cgroup of process `i`: its ID, path, and container ID.
fn cgroup_of(i: u64) -> (u64, String, String) {
    if i % 5 == 4 {
        return (
            1,
            "/user.slice/user-0.slice/session-1.scope".into(),
            String::new(),
        );
    }
    let c = i / 4;
    let id = format!("{:064x}", 0x5eed_0000_0000u64 + c);
    (
        1_000_000 + c,
        format!("/system.slice/docker-{id}.scope"),
        id,
    )
}

struct Proc {
    root: std::path::PathBuf,
}

impl Proc {
    fn spawn(&self, pid: u32, exe: Option<&str>, cgroup: &str) {
        let dir = self.root.join(pid.to_string());
        std::fs::create_dir(&dir).expect("creating a fake /proc entry");
        if let Some(exe) = exe {
            symlink(exe, dir.join("exe")).expect("linking exe");
        }
        std::fs::write(dir.join("cgroup"), format!("0::{cgroup}\n")).expect("writing cgroup");
    }

    fn reap(&self, pid: u32) {
        let _ = std::fs::remove_dir_all(self.root.join(pid.to_string()));
    }
}

#[derive(Default)]
struct Tally {
    events: u64,
    wrong: u64,
}

fn main() -> std::process::ExitCode {
    let processes: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let base = if Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm")
    } else {
        tempfile::tempdir()
    }
    .expect("creating the fake /proc");
    let fake = Proc {
        root: base.path().to_path_buf(),
    };
    let cat = catalog();
    let exec_id = cat.get("sched_process_exec").expect("exec").id as u32;
    let fork_id = cat.get("sched_process_fork").expect("fork").id as u32;
    let exit_id = cat.get("sched_process_exit").expect("exit").id as u32;
    let mut d = Decoder::new(&["openat".to_string()], Scope::default())
        .with_proc_context(ProcContext::new(base.path().display().to_string()));

    let daemon_cg = cgroup_of(0);
    for k in 0..DAEMONS {
        fake.spawn(2 + k, Some(&format!("/usr/sbin/daemon-{k}")), &daemon_cg.1);
    }
    println!(
        "# {processes} processes, {} open events each, {DAEMONS} daemons; cache limits per generation: {:?}",
        OPENS,
        Limits::DEFAULT
    );
    println!("# progress  processes  events     incomplete  rss_MiB  cached_procs  cached_cgroups  cached_KiB  records/s");

    let mut ts = 1u64;
    let mut records = 0u64;
    let mut windows: Vec<Tally> = (0..10).map(|_| Tally::default()).collect();
    let mut rss_at = Vec::new();
    let mut inherited: Option<(u32, String)> = None;
    let started = Instant::now();
    let mut window_start = Instant::now();
    let mut window_records = 0u64;
    for i in 0..processes {
        let window = (i * 10 / processes) as usize;
        let pid = 300 + (i % 4_000_000) as u32;
        let start = 1_000_000 + i * 1000;
        let (cg_id, cg_path, container) = cgroup_of(i);
        let mut feed = |d: &mut Decoder, bytes: &[u8], want: Option<&Expect>| {
            records += 1;
            d.decode(bytes, |ev| {
                let t = &mut windows[window];
                t.events += 1;
                let ok = want.is_some_and(|w| {
                    ev.executable_path.as_deref() == Some(w.exe.as_str())
                        && ev.container.id == w.container
                });
                if !ok {
                    t.wrong += 1;
                }
            });
        };
        // how this process is known
        let exe = if let Some((child, exe)) = inherited.take().filter(|(c, _)| *c == pid) {
            fake.spawn(child, None, &cg_path);
            exe
        } else if i % 2 == 0 {
            let exe = format!("/opt/app-{}/bin/worker-{i}", i % 1000);
            fake.spawn(pid, None, &cg_path);
            let rec = RecordBuilder::new(hdr(REC_EXEC, exec_id, pid, start, cg_id, ts))
                .str(0, &exe)
                .str(1, &exe)
                .finish();
            feed(&mut d, &rec, None);
            exe
        } else {
            let exe = format!("/usr/lib/svc-{}/running-{i}", i % 1000);
            fake.spawn(pid, Some(&exe), &cg_path);
            exe
        };
        ts += 1;
        let want = Expect { exe, container };
        for k in 0..OPENS {
            let rec = RecordBuilder::new(hdr(REC_SYSCALL, 257, pid, start, cg_id, ts))
                .int(0, (-100i64) as u64)
                .str(1, &format!("/var/lib/app/{i}/file-{k}.dat"))
                .int(2, 0)
                .int(3, 0)
                .finish();
            feed(&mut d, &rec, Some(&want));
            ts += 1;
        }
        // one in eight processes forks the next one
        if (i + 1) % 8 == 1 && i + 1 < processes {
            let child = 300 + ((i + 1) % 4_000_000) as u32;
            let rec = RecordBuilder::new(hdr(REC_FORK, fork_id, pid, start, cg_id, ts))
                .int(7, child as u64)
                .int(9, start + 1000)
                .finish();
            feed(&mut d, &rec, None);
            inherited = Some((child, want.exe.clone()));
        }
        if i % 4 != 3 {
            let rec = RecordBuilder::new(hdr(REC_EXIT, exit_id, pid, start, cg_id, ts))
                .int(0, 0)
                .int(1, 0)
                .int(2, 1)
                .finish();
            feed(&mut d, &rec, None);
        }
        fake.reap(pid);
        // the daemons, all along
        if i % 1000 == 0 {
            for k in 0..DAEMONS {
                let rec = RecordBuilder::new(hdr(REC_SYSCALL, 257, 2 + k, 5, daemon_cg.0, ts))
                    .int(0, (-100i64) as u64)
                    .str(1, "/etc/daemon.conf")
                    .finish();
                let want = Expect {
                    exe: format!("/usr/sbin/daemon-{k}"),
                    container: daemon_cg.2.clone(),
                };
                feed(&mut d, &rec, Some(&want));
            }
        }
        if ((i + 1) * 10 / processes) as usize != window {
            let t = &windows[window];
            let rss = rss_kib();
            rss_at.push(rss);
            let s = d.proc_context().stats();
            let rate = (records - window_records) as f64 / window_start.elapsed().as_secs_f64();
            println!(
                "{:>9}%  {:>9}  {:>9}  {:>10}  {:>7.1}  {:>12}  {:>14}  {:>10}  {:>9.0}",
                (window + 1) * 10,
                i + 1,
                t.events,
                t.wrong,
                rss as f64 / 1024.0,
                s.processes,
                s.cgroups,
                s.bytes / 1024,
                rate
            );
            window_start = Instant::now();
            window_records = records;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let events: u64 = windows.iter().map(|t| t.events).sum();
    let wrong: u64 = windows.iter().map(|t| t.wrong).sum();
    println!(
        "# {records} records, {events} events in {secs:.1} s ({:.0} records/s, fake /proc included)",
        records as f64 / secs
    );
    let mut ok = true;
    if wrong > 0 || events == 0 {
        println!("FAIL: {wrong} of {events} events had a wrong or missing executable or container");
        ok = false;
    } else {
        println!(
            "ok: every event complete, the first 10% ({} events) as the last ({} events)",
            windows[0].events, windows[9].events
        );
    }
    // Memory is bounded when the second half adds nothing beyond an allowance for allocator
    // noise: the caches are full after the first generations turned over.
    let s = d.proc_context().stats();
    let (mid, end) = (
        rss_at.get(4).copied().unwrap_or(0),
        rss_at.last().copied().unwrap_or(0),
    );
    let allowance = 16 << 10; // KiB
    if end > mid + allowance {
        println!("FAIL: memory grew from {mid} KiB at 50% to {end} KiB at the end");
        ok = false;
    } else {
        println!("ok: memory {mid} KiB at 50%, {end} KiB at the end (allowance {allowance} KiB)");
    }
    let l = Limits::DEFAULT;
    if s.processes > 2 * l.entries || s.cgroups > 2 * l.entries || s.bytes > 4 * l.bytes {
        println!("FAIL: the caches hold more than their limits: {s:?}");
        ok = false;
    }
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
