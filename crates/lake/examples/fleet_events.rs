//! A fleet's Tracee events on standard output, fast enough to stream a lake of a hundred million
//! events into `osprey read -r - -w lake:DIR` without storing their JSON (`bench/lake-fleet.sh`).
//!
//! The events are `bench/gen-corpus.py`'s kinds and shape (legacy Tracee JSON, compact, in
//! Tracee's key order, about 1 KB each), fewer of its kinds, on HOSTS hosts in turn
//! (`node-00` ..) evenly over DAYS days from 2023-11-14 22:13:20 UTC. As there, a twentieth of
//! the events are execs of short-lived processes whose command comes from their PID, so one exec
//! in sixteen is `curl` (0.31% of the events); a fifth of the events are in a container.
//!
//! usage: cargo run --release -p osprey-lake --example fleet_events -- EVENTS HOSTS DAYS [SEED]

use std::io::{self, Write};

const COMMS: [&str; 16] = [
    "bash",
    "sshd",
    "nginx",
    "python3",
    "curl",
    "systemd",
    "containerd",
    "node",
    "postgres",
    "cron",
    "dockerd",
    "ls",
    "cat",
    "make",
    "cc1",
    "ld",
];
const PATHS: [&str; 8] = [
    "/etc/passwd",
    "/etc/ld.so.cache",
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/proc/self/status",
    "/var/log/syslog",
    "/tmp/build/out.o",
    "/etc/nginx/nginx.conf",
    "/etc/ssl/certs/ca-certificates.crt",
];
const CONTAINER: &str = "ae95a93ce0c2f1b824ac4b205e4d1a3c8f724d663626c1ad23576efec64318de";
const DOMAINS: [&str; 4] = [
    "example.com",
    "api.github.com",
    "deb.debian.org",
    "evil.example.net",
];

/// The first event's time: 2023-11-14 22:13:20 UTC.
const T0: u64 = 1_700_000_000_000_000_000;

/// splitmix64: a fast generator whose sequence depends only on the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Lines being written: text and integers appended without the formatting machinery; where
/// the current event's `argsNum` goes, and its arguments so far.
struct Line(Vec<u8>, usize, u8);

impl Line {
    fn s(&mut self, text: &str) -> &mut Line {
        self.0.extend_from_slice(text.as_bytes());
        self
    }

    fn u(&mut self, mut n: u64) -> &mut Line {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.0.extend_from_slice(&digits[i..]);
        self
    }

    fn i(&mut self, n: i64) -> &mut Line {
        if n < 0 {
            self.s("-");
        }
        self.u(n.unsigned_abs())
    }

    fn arg(&mut self, name: &str, ty: &str, value: &str, first: bool) -> &mut Line {
        self.arg_with(name, ty, first, |l| {
            l.s(value);
        })
    }

    fn arg_u(&mut self, name: &str, ty: &str, value: u64, first: bool) -> &mut Line {
        self.arg_with(name, ty, first, |l| {
            l.u(value);
        })
    }

    /// One argument of the event: `value` writes its JSON value.
    fn arg_with(
        &mut self,
        name: &str,
        ty: &str,
        first: bool,
        value: impl FnOnce(&mut Line),
    ) -> &mut Line {
        if !first {
            self.s(",");
        }
        self.2 += 1;
        self.s(r#"{"name":""#)
            .s(name)
            .s(r#"","type":""#)
            .s(ty)
            .s(r#"","value":"#);
        value(self);
        self.s("}")
    }
}

/// Where an event comes from: its time, host and process.
#[derive(Clone, Copy)]
struct Origin {
    ts: u64,
    host: u64,
    pid: u64,
    in_container: bool,
}

/// The Tracee context of an event (everything before `args`).
fn context(l: &mut Line, r: &mut Rng, at: &Origin, name: &str, id: u64, syscall: &str, ret: i64) {
    let Origin {
        ts,
        host,
        pid,
        in_container,
    } = *at;
    let comm = COMMS[(pid % 16) as usize];
    let ppid = if pid < 1000 {
        1
    } else {
        100 + (pid - 1000) % 300
    };
    let shift = if in_container { 100_000 } else { 0 };
    let host_pid = pid + shift;
    let host_ppid = if ppid == 1 { 1 } else { ppid + shift };
    // A process's start time and entity IDs stay the same from event to event.
    let start = |p: u64| T0 - (p * 7_919 + host * 104_729) % 1_000_000 * 1_000_000;
    let entity = |p: u64| (p * 2_654_435_761 + start(p)) % (1 << 32);
    l.s(r#"{"timestamp":"#)
        .u(ts)
        .s(r#","threadStartTime":"#)
        .u(start(host_pid))
        .s(r#","processorId":"#)
        .u(r.below(2))
        .s(r#","processId":"#)
        .u(pid)
        .s(r#","cgroupId":"#)
        .u(5000 + pid % 40)
        .s(r#","threadId":"#)
        .u(pid)
        .s(r#","parentProcessId":"#)
        .u(ppid)
        .s(r#","hostProcessId":"#)
        .u(host_pid)
        .s(r#","hostThreadId":"#)
        .u(host_pid)
        .s(r#","hostParentProcessId":"#)
        .u(host_ppid)
        .s(r#","userId":"#)
        .u([0, 0, 1000, 33][r.below(4) as usize])
        .s(r#","mountNamespace":"#)
        .u(4026531841 + if in_container { 10 } else { 0 })
        .s(r#","pidNamespace":"#)
        .u(4026531836 + if in_container { 10 } else { 0 })
        .s(r#","processName":""#)
        .s(comm)
        .s(r#"","executable":{"path":"/usr/bin/"#)
        .s(comm)
        .s(r#""},"hostName":"node-"#);
    if host < 10 {
        l.s("0");
    }
    l.u(host).s(r#"","containerId":""#);
    if in_container {
        l.s(CONTAINER)
            .s(r#"","container":{"id":""#)
            .s(CONTAINER)
            .s(r#"","name":"web","image":"nginx:1.25","imageDigest":"nginx@sha256:1"},"#);
    } else {
        l.s(r#"","container":{},"#);
    }
    l.s(r#""kubernetes":{},"eventId":""#)
        .u(id)
        .s(r#"","eventName":""#)
        .s(name)
        .s(r#"","matchedPolicies":["default"],"argsNum":"#);
    // Known once the arguments are written (`event`).
    (l.1, l.2) = (l.0.len(), 0);
    l.s(r#","returnValue":"#)
        .i(ret)
        .s(r#","syscall":""#)
        .s(syscall)
        .s(r#"","stackAddresses":null,"contextFlags":{"containerStarted":"#)
        .s(if in_container { "true" } else { "false" })
        .s(r#","isCompat":false},"threadEntityId":"#)
        .u(entity(host_pid))
        .s(r#","processEntityId":"#)
        .u(entity(host_pid))
        .s(r#","parentEntityId":"#)
        .u(entity(host_ppid))
        .s(r#","args":["#);
}

fn event(l: &mut Line, r: &mut Rng, ts: u64, host: u64) {
    let kind = r.below(100);
    // Most events come from 300 long-lived daemons, the rest from short-lived processes.
    let mut pid = if r.below(10) < 8 {
        100 + r.below(300)
    } else {
        1000 + r.below(10_000)
    };
    let cont = r.below(5) == 0;
    let at = |pid| Origin {
        ts,
        host,
        pid,
        in_container: cont,
    };
    let path = format!("\"{}\"", r.pick(&PATHS));
    match kind {
        0..=29 => {
            context(l, r, &at(pid), "security_file_open", 730, "openat", 0);
            let flags = r.pick(&["\"O_RDONLY|O_LARGEFILE\"", "\"O_WRONLY|O_CREAT|O_TRUNC\""]);
            l.arg("pathname", "const char*", &path, true)
                .arg("flags", "string", flags, false)
                .arg_u("dev", "dev_t", 271_581_185, false)
                .arg_u("inode", "unsigned long", r.below(10_000_000), false)
                .arg_u("ctime", "unsigned long", ts - 1_000_000_000_000, false)
                .arg("syscall_pathname", "const char*", &path, false);
        }
        30..=54 => {
            let (sc, id) =
                [("openat", 257), ("close", 3), ("read", 0), ("write", 1)][r.below(4) as usize];
            let ret = r.below(4100) as i64 - 2;
            context(l, r, &at(pid), sc, id, sc, ret);
            l.arg_u("fd", "int", 3 + r.below(60), true);
            if sc == "openat" {
                l.arg("pathname", "const char*", &path, false).arg(
                    "flags",
                    "string",
                    "\"O_RDONLY|O_CLOEXEC\"",
                    false,
                );
            } else {
                l.arg("buf", "void*", "\"0x7ffd4a3c1e20\"", false)
                    .arg_u("count", "size_t", 4096, false);
            }
        }
        55..=59 => {
            // Short-lived processes exec; daemons do not.
            pid = 1000 + r.below(10_000);
            context(l, r, &at(pid), "sched_process_exec", 710, "execve", 0);
            let comm = COMMS[(pid % 16) as usize];
            let bin = format!("\"/usr/bin/{comm}\"");
            let argv = format!("[\"{comm}\",\"-l\",\"/tmp\"]");
            l.arg("cmdpath", "const char*", &bin, true)
                .arg("pathname", "const char*", &bin, false)
                .arg_u("dev", "dev_t", 271_581_185, false)
                .arg_u("inode", "unsigned long", r.below(10_000_000), false)
                .arg_u("ctime", "unsigned long", ts - 10_000_000_000_000, false)
                .arg_u("inode_mode", "umode_t", 33261, false)
                .arg(
                    "interpreter_pathname",
                    "const char*",
                    "\"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\"",
                    false,
                )
                .arg("argv", "const char**", &argv, false)
                .arg("interp", "const char*", &bin, false)
                .arg("stdin_type", "string", "\"S_IFCHR\"", false)
                .arg("stdin_path", "char*", "\"/dev/pts/1\"", false)
                .arg_u("invoked_from_kernel", "int", 0, false)
                .arg(
                    "env",
                    "const char**",
                    r#"["PATH=/usr/bin:/bin","HOME=/root","LANG=C.UTF-8"]"#,
                    false,
                );
        }
        60..=64 => {
            pid = 100 + r.below(300);
            context(l, r, &at(pid), "sched_process_fork", 711, "clone", 0);
            let child = 1000 + (pid - 100) + 300 * r.below(34);
            for (i, name) in ["parent_tid", "parent_pid"].into_iter().enumerate() {
                l.arg_u(name, "int", pid, i == 0);
            }
            for name in ["child_tid", "child_ns_tid", "child_pid", "child_ns_pid"] {
                l.arg_u(name, "int", child, false);
            }
        }
        65..=69 => {
            pid = 1000 + r.below(10_000);
            context(l, r, &at(pid), "sched_process_exit", 712, "exit_group", 0);
            l.arg_u("exit_code", "long", 0, true)
                .arg("process_group_exit", "bool", "true", false);
        }
        70..=79 => {
            context(l, r, &at(pid), "security_socket_connect", 731, "connect", 0);
            let addr = format!(
                r#"{{"sa_family":"AF_INET","sin_port":"{}","sin_addr":"10.0.{}.{}"}}"#,
                [53, 80, 443, 5432][r.below(4) as usize],
                r.below(256),
                r.below(256)
            );
            l.arg_u("sockfd", "int", 3 + r.below(27), true)
                .arg("type", "string", "\"SOCK_STREAM\"", false)
                .arg("remote_addr", "struct sockaddr*", &addr, false);
        }
        80..=84 => {
            context(l, r, &at(pid), "net_packet_dns_request", 2007, "sendto", 0);
            let meta = format!(
                r#"{{"src_ip":"10.0.0.5","dst_ip":"10.0.0.2","src_port":{},"dst_port":53,"protocol":17,"packet_len":68,"iface":"eth0"}}"#,
                30000 + r.below(30000)
            );
            let query = format!(
                r#"[{{"query":"{}","query_type":"A","query_class":"IN"}}]"#,
                r.pick(&DOMAINS)
            );
            l.arg("metadata", "trace.PktMeta", &meta, true).arg(
                "dns_questions",
                "[]trace.DnsQueryData",
                &query,
                false,
            );
        }
        _ => {
            let sc = r.pick(&["getdents64", "newfstatat", "futex", "epoll_wait"]);
            let ret = r.below(100) as i64;
            context(l, r, &at(pid), sc, 217, sc, ret);
            l.arg_u("fd", "int", 3 + r.below(60), true).arg_u(
                "count",
                "unsigned int",
                32768,
                false,
            );
        }
    }
    l.s("]}\n");
    let count = l.2.to_string();
    l.0.splice(l.1..l.1, count.bytes());
}

fn main() -> io::Result<()> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse()
                .expect("EVENTS HOSTS DAYS [SEED] are whole numbers")
        })
        .collect();
    let (events, hosts, days) = match args[..] {
        [e, h, d, ..] if h > 0 && d > 0 => (e, h, d),
        _ => {
            eprintln!("usage: fleet_events EVENTS HOSTS DAYS [SEED]");
            std::process::exit(2);
        }
    };
    let mut rng = Rng(args.get(3).copied().unwrap_or(1));
    let span = days * 86_400 * 1_000_000_000;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut line = Line(Vec::with_capacity(1 << 20), 0, 0);
    for i in 0..events {
        let ts = T0 + (u128::from(span) * u128::from(i) / u128::from(events.max(1))) as u64;
        event(&mut line, &mut rng, ts, i % hosts);
        if line.0.len() >= 1 << 20 {
            out.write_all(&line.0)?;
            line.0.clear();
        }
    }
    out.write_all(&line.0)?;
    out.flush()
}
