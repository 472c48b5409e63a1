//! Display filter timings on stable Rust (`cargo bench -p osprey-filter`): compiling, matching
//! an in-memory frame, and the prefilter over the fixture event lines. Prints one line per case
//! with the time per operation; BENCHMARKS.md records a run.

use std::borrow::Cow;
use std::hint::black_box;
use std::time::{Duration, Instant};

use osprey_field::{registry, FieldId, FieldSource, FieldValue};
use osprey_filter::{Filter, Macros};

const IMPORTANT: &str = r#"tracee.isSignature == true or tracee.eventName in {"sched_process_exec", "magic_write", "process_vm_writev", "symbols_loaded", "security_bpf_prog", "bpf_attach", "kprobe_attach", "kallsyms_lookup_name", "init_module", "security_kernel_read_file", "hooked_syscall", "hooked_proc_fops", "hooked_seq_ops", "hidden_inodes", "call_usermodehelper", "hidden_kernel_module", "security_socket_bind", "net_packet_http_request", "net_packet_http_response", "net_packet_dns_request", "net_packet_dns_response", "container_create", "existing_container", "kill", "dirty_pipe_splice", "security_sb_mount", "mknod", "chroot", "memfd_create", "memfd_secret", "container_remove"} or (tracee.eventName == "security_socket_connect" and not tracee.sockaddr.sa_family == "AF_UNIX") or (tracee.eventName == "ptrace" and tracee.args.ptrace.request_name in {"PTRACE_TRACEME", "PTRACE_ATTACH", "PTRACE_POKETEXT", "PTRACE_POKEDATA", "PTRACE_POKEUSER"})"#;

/// A frame of about 30 values, as a dissected security_file_open event would give.
struct Frame(Vec<(FieldId, FieldValue<'static>)>);

impl FieldSource for Frame {
    fn any_value(&self, field: FieldId, f: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
        self.0
            .iter()
            .filter(|(id, _)| *id == field)
            .any(|(_, v)| f(v))
    }
}

fn frame() -> Frame {
    let r = registry();
    let mut items = Vec::new();
    let mut add = |name: &str, v: FieldValue<'static>| items.push((r.resolve(name).unwrap(), v));
    add("frame", FieldValue::None);
    add("frame.number", FieldValue::UInt(7));
    add("frame.time", FieldValue::AbsTime(1_657_321_167_356_748_797));
    add("frame.time_relative", FieldValue::RelTime(1_500_000));
    add("tracee", FieldValue::None);
    add(
        "tracee.timestamp",
        FieldValue::AbsTime(1_657_321_167_356_748_797),
    );
    for (n, v) in [
        ("tracee.processId", 2578238),
        ("tracee.threadId", 2578238),
        ("tracee.parentProcessId", 2578237),
        ("tracee.hostProcessId", 2578238),
    ] {
        add(n, FieldValue::Int(v));
    }
    add("tracee.userId", FieldValue::UInt(1000));
    add("tracee.processName", FieldValue::Str(Cow::Borrowed("bash")));
    add("tracee.hostName", FieldValue::Str(Cow::Borrowed("fujitsu")));
    add("tracee.container.id", FieldValue::Str(Cow::Borrowed("")));
    add("tracee.isContainer", FieldValue::Bool(false));
    add("tracee.eventId", FieldValue::Int(722));
    add(
        "tracee.eventName",
        FieldValue::Str(Cow::Borrowed("security_file_open")),
    );
    add(
        "tracee.matchedPolicies",
        FieldValue::Str(Cow::Borrowed("default")),
    );
    add("tracee.argsNum", FieldValue::Int(6));
    add("tracee.isSignature", FieldValue::Bool(false));
    add("tracee.returnValue", FieldValue::Int(0));
    add("tracee.syscall", FieldValue::Str(Cow::Borrowed("openat")));
    add(
        "tracee.args.security_file_open.pathname",
        FieldValue::Str(Cow::Borrowed("/etc/ld.so.cache")),
    );
    add(
        "tracee.args.security_file_open.flags",
        FieldValue::Str(Cow::Borrowed("O_RDONLY|O_CLOEXEC")),
    );
    add(
        "tracee.args.security_file_open.dev",
        FieldValue::UInt(271581185),
    );
    add(
        "tracee.args.security_file_open.inode",
        FieldValue::UInt(1966101),
    );
    add(
        "tracee.args.security_file_open.syscall_pathname",
        FieldValue::Str(Cow::Borrowed("/etc/ld.so.cache")),
    );
    add("ip.addr", FieldValue::Ipv4([10, 1, 2, 3].into()));
    add("tcp.port", FieldValue::UInt(443));
    Frame(items)
}

/// Runs `f` repeatedly for about `budget` and returns the time per call.
fn time<F: FnMut()>(budget: Duration, mut f: F) -> Duration {
    let mut n = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        let took = start.elapsed();
        if took >= budget {
            return took / n as u32;
        }
        n = n.saturating_mul(if took < budget / 10 { 10 } else { 2 });
    }
}

fn main() {
    let budget = Duration::from_millis(if std::env::args().any(|a| a == "--quick") {
        50
    } else {
        500
    });
    let mut macros = Macros::new();
    macros.insert("important", IMPORTANT);

    println!("compile:");
    for text in [
        "tcp.port == 80",
        "tracee.args.security_file_open.pathname contains \"/etc/\"",
        "${important}",
    ] {
        let t = time(budget, || {
            black_box(Filter::compile(black_box(text), &macros).unwrap());
        });
        println!(
            "  {:>9.2} µs  {}",
            t.as_nanos() as f64 / 1000.0,
            short(text)
        );
    }

    println!("match (frame of {} values):", frame().0.len());
    let f = frame();
    for text in [
        "tracee.eventName == \"security_file_open\"",
        "tracee.eventName == \"sched_process_exec\"",
        "tracee.eventName in {\"a\", \"b\", \"c\", \"security_file_open\"}",
        "${important}",
        "tracee.args.security_file_open.pathname contains \"/etc/\"",
        "tracee.args.security_file_open.pathname matches \"^/etc/.*cache$\"",
        "tracee.args.security_file_open.dev == 271581185",
        "ip.addr == 10.0.0.0/8 and tcp.port in {80, 443}",
        "tracee.processId > 1000 and tracee.userId != 0 and not tracee.isContainer == true",
        "frame.time > \"2022-07-01\" and frame.time_relative < 1.5",
        "lower(tracee.processName) == \"bash\"",
    ] {
        let filter = Filter::compile(text, &macros).unwrap();
        let hit = filter.matches(&f);
        let t = time(budget, || {
            black_box(filter.matches(black_box(&f)));
        });
        println!(
            "  {:>9.1} ns  {:5}  {}",
            t.as_nanos() as f64,
            hit,
            short(text)
        );
    }

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tracee");
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for name in ["tracee-docs-v0.23.jsonl", "tracee-action-trace.jsonl"] {
        let data = std::fs::read(dir.join(name)).unwrap();
        lines.extend(
            data.split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec),
        );
    }
    let bytes: usize = lines.iter().map(Vec::len).sum();
    println!(
        "prefilter ({} fixture lines, {} bytes on average):",
        lines.len(),
        bytes / lines.len()
    );
    for text in [
        "tracee.eventName == \"security_file_open\"",
        "${important}",
        "tracee.args.security_file_open.pathname contains \"/etc/\"",
        "tracee.processName == \"bash\" and tracee.eventName != \"net_packet_dns\"",
    ] {
        let pre = Filter::compile(text, &macros).unwrap().event_prefilter();
        let kept = lines.iter().filter(|l| pre.may_match(l)).count();
        let t = time(budget, || {
            for l in &lines {
                black_box(pre.may_match(black_box(l)));
            }
        });
        let per_line = t.as_nanos() as f64 / lines.len() as f64;
        println!(
            "  {:>9.1} ns/line ({:.1} M lines/s), {kept:3} of {} kept  {}",
            per_line,
            1000.0 / per_line,
            lines.len(),
            short(text)
        );
    }
}

fn short(s: &str) -> String {
    if s.len() > 70 {
        format!("{}...", &s[..67])
    } else {
        s.to_string()
    }
}
