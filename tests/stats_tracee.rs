//! Traceeshark's statistics and the process model (issue 12, points 1, 2 and 4), on small
//! recordings built here so that every expectation can be worked out by hand: tree shapes,
//! counts, labels, each process-tree variant, global and per container, PID reuse, re-exec,
//! name changes, threads, orphans whose parent shows up later, and the PID formats.

use serde_json::{json, Value};

use crate::util::*;

const SEC: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SEC;

/// A process as its events describe it.
#[derive(Clone)]
struct P {
    host_pid: u64,
    pid: u64,
    host_ppid: u64,
    ppid: u64,
    start: u64,
    comm: &'static str,
    entity: Option<u64>,
    parent_entity: Option<u64>,
    container: Option<(&'static str, &'static str)>,
}

impl P {
    fn new(host_pid: u64, host_ppid: u64, comm: &'static str) -> P {
        P {
            host_pid,
            pid: host_pid,
            host_ppid,
            ppid: host_ppid,
            start: T0 + host_pid * 1000,
            comm,
            entity: Some(host_pid * 7919 + 13),
            parent_entity: None,
            container: None,
        }
    }

    /// An event of this process's main thread at `ts` (seconds after T0).
    fn ev(&self, ts: u64, name: &str, args: Value) -> Value {
        self.ev_thread(ts, name, args, self.host_pid, self.start, self.comm)
    }

    fn ev_thread(
        &self,
        ts: u64,
        name: &str,
        args: Value,
        host_tid: u64,
        thread_start: u64,
        comm: &str,
    ) -> Value {
        let (cid, cname) = self.container.unwrap_or(("", ""));
        let mut e = json!({
            "timestamp": T0 + ts * SEC,
            "threadStartTime": thread_start,
            "processorId": 0,
            "processId": self.pid,
            "cgroupId": 1,
            "threadId": self.pid + (host_tid - self.host_pid),
            "parentProcessId": self.ppid,
            "hostProcessId": self.host_pid,
            "hostThreadId": host_tid,
            "hostParentProcessId": self.host_ppid,
            "userId": 0,
            "mountNamespace": 1,
            "pidNamespace": 1,
            "processName": comm,
            "hostName": "h",
            "containerId": cid,
            "container": if cid.is_empty() { json!({}) } else { json!({"id": cid, "name": cname, "image": "nginx:1"}) },
            "kubernetes": {},
            "eventId": "1",
            "eventName": name,
            "matchedPolicies": [""],
            "argsNum": args.as_array().map_or(0, |a| a.len()),
            "returnValue": 0,
            "syscall": "",
            "stackAddresses": null,
            "contextFlags": {"containerStarted": false, "isCompat": false},
            "args": args,
        });
        if let Some(ent) = self.entity {
            e["processEntityId"] = json!(ent);
            e["threadEntityId"] = json!(ent + host_tid);
            e["parentEntityId"] = json!(self.parent_entity.unwrap_or(self.host_ppid * 7919 + 13));
        }
        e
    }

    fn fork(&self, ts: u64, child: &P, tid: u64) -> Value {
        self.ev(
            ts,
            "sched_process_fork",
            json!([
                {"name": "parent_tid", "type": "int", "value": self.host_pid},
                {"name": "parent_pid", "type": "int", "value": self.host_pid},
                {"name": "child_tid", "type": "int", "value": tid},
                {"name": "child_ns_tid", "type": "int", "value": child.pid + (tid - child.host_pid)},
                {"name": "child_pid", "type": "int", "value": child.host_pid},
                {"name": "child_ns_pid", "type": "int", "value": child.pid},
                {"name": "start_time", "type": "unsigned long", "value": if tid == child.host_pid { child.start } else { child.start + 5 }},
            ]),
        )
    }

    fn exec(&self, ts: u64, path: &str, argv: &[&str], comm: &'static str) -> Value {
        let mut e = self.ev(
            ts,
            "sched_process_exec",
            json!([
                {"name": "cmdpath", "type": "const char*", "value": path},
                {"name": "pathname", "type": "const char*", "value": path},
                {"name": "argv", "type": "const char**", "value": argv},
            ]),
        );
        e["processName"] = json!(comm);
        e
    }

    fn open(&self, ts: u64, path: &str, flags: Value) -> Value {
        self.ev(
            ts,
            "security_file_open",
            json!([
                {"name": "pathname", "type": "const char*", "value": path},
                {"name": "flags", "type": if flags.is_string() { "string" } else { "int" }, "value": flags},
                {"name": "syscall_pathname", "type": "const char*", "value": path},
            ]),
        )
    }

    fn write(&self, ts: u64, path: &str, bytes_b64: &str) -> Value {
        self.ev(
            ts,
            "magic_write",
            json!([
                {"name": "pathname", "type": "const char*", "value": path},
                {"name": "bytes", "type": "bytes", "value": bytes_b64},
                {"name": "dev", "type": "dev_t", "value": 1},
                {"name": "inode", "type": "unsigned long", "value": 2},
            ]),
        )
    }

    fn socket(&self, ts: u64, name: &str, addr: Value) -> Value {
        self.ev(
            ts,
            name,
            json!([
                {"name": "sockfd", "type": "int", "value": 3},
                {"name": "type", "type": "string", "value": "SOCK_STREAM"},
                {"name": if name.contains("bind") { "local_addr" } else { "remote_addr" }, "type": "struct sockaddr*", "value": addr},
            ]),
        )
    }

    fn exit(&self, ts: u64, code: i64) -> Value {
        self.ev(
            ts,
            "sched_process_exit",
            json!([
                {"name": "exit_code", "type": "long", "value": code},
                {"name": "signal_code", "type": "int", "value": 0},
                {"name": "process_group_exit", "type": "bool", "value": true},
            ]),
        )
    }

    fn signature(&self, ts: u64, name: &str, severity: i64) -> Value {
        let mut e = self.ev(ts, "suspicious_thing", json!([]));
        e["eventId"] = json!("6001");
        e["metadata"] = json!({"Version": "1", "Description": "d", "Tags": null,
            "Properties": {"Severity": severity, "signatureName": name, "signatureID": "TST-1"}});
        e
    }
}

fn file(dir: &std::path::Path, name: &str, events: &[Value]) -> std::path::PathBuf {
    let lines: Vec<String> = events.iter().map(|e| e.to_string()).collect();
    json_file(dir, name, &lines)
}

/// The JSON results of `osprey read -q -r FILE ARGS... -T json`.
fn results(path: &std::path::Path, args: &[&str]) -> Vec<Value> {
    let mut a = vec!["read", "-q", "-r", path.to_str().unwrap(), "-T", "json"];
    a.extend(args);
    let out = osprey(&a);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

/// A tree as `name count` lines, indented by depth: what a test compares.
fn shape(nodes: &Value) -> Vec<String> {
    fn walk(n: &Value, depth: usize, out: &mut Vec<String>) {
        out.push(format!(
            "{}{} {}",
            "  ".repeat(depth),
            n["name"].as_str().unwrap(),
            n["count"]
        ));
        for c in n["children"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            walk(c, depth + 1, out);
        }
    }
    let mut out = Vec::new();
    for n in nodes.as_array().unwrap() {
        walk(n, 0, &mut out);
    }
    out
}

fn tree(path: &std::path::Path, z: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["-z", z];
    args.extend(extra);
    let r = results(path, &args);
    shape(&r[0]["nodes"])
}

/// bash (100, parent 1 never seen) forks 200, which execs three times (sh -> env -> python3),
/// renames itself, starts a thread and exits with 3; 200 forks 300, which connects, binds,
/// writes a script and triggers a signature. A container process (800, PID 1 inside) is
/// started from the host's bash and starts 801.
fn scenario() -> Vec<Value> {
    let bash = P::new(100, 1, "bash");
    let mut p200 = P::new(200, 100, "bash");
    p200.parent_entity = bash.entity;
    let mut p300 = P::new(300, 200, "python3");
    p300.parent_entity = p200.entity;
    let mut nginx = P::new(800, 100, "nginx");
    nginx.pid = 1;
    nginx.ppid = 0;
    nginx.container = Some((
        "c0ffee000000000000000000000000000000000000000000000000000000c0de",
        "web",
    ));
    let mut worker = P::new(801, 800, "nginx");
    worker.pid = 2;
    worker.ppid = 1;
    worker.container = nginx.container;
    let renamed = P {
        comm: "worker",
        ..p200.clone()
    };
    vec![
        bash.open(1, "/etc/passwd", json!("O_RDONLY")),
        bash.fork(2, &p200, 200),
        p200.exec(3, "/bin/sh", &["sh", "-c", "./run"], "sh"),
        p200.exec(
            4,
            "/usr/bin/env",
            &["/usr/bin/env", "python3", "app.py"],
            "env",
        ),
        p200.exec(5, "/usr/bin/python3", &["python3", "app.py"], "python3"),
        renamed.open(6, "/tmp/out", json!("O_WRONLY|O_CREAT")),
        // A thread of 200 (its own name, its own start): still process 200.
        renamed.fork(7, &p200, 201),
        renamed.ev_thread(
            8,
            "security_file_open",
            json!([
                {"name": "pathname", "type": "const char*", "value": "/var/db"},
                {"name": "flags", "type": "int", "value": 2},
            ]),
            201,
            p200.start + 5,
            "worker-thr",
        ),
        renamed.fork(9, &p300, 300),
        p300.socket(
            10,
            "security_socket_connect",
            json!({"sa_family": "AF_INET", "sin_addr": "10.0.0.1", "sin_port": "443"}),
        ),
        p300.socket(
            11,
            "security_socket_bind",
            json!({"sa_family": "AF_INET", "sin_addr": "0.0.0.0", "sin_port": "8080"}),
        ),
        p300.socket(
            12,
            "security_socket_connect",
            json!({"sa_family": "AF_UNIX", "sun_path": "/var/run/nscd/socket"}),
        ),
        p300.write(13, "/tmp/x.sh", "IyEvYmluL3NoCg=="),
        p300.signature(14, "Suspicious Thing", 2),
        renamed.exit(15, 3),
        bash.fork(16, &nginx, 800),
        nginx.exec(
            17,
            "/usr/sbin/nginx",
            &["nginx", "-g", "daemon off;"],
            "nginx",
        ),
        nginx.fork(18, &worker, 801),
        worker.open(19, "/etc/nginx/nginx.conf", json!("O_RDONLY")),
        worker.write(20, "/var/log/x.txt", "aGVsbG8="),
    ]
}

#[test]
fn process_trees_keep_every_exec_name_and_fork_parent() {
    let dir = tempdir();
    let path = file(dir.path(), "scenario.json", &scenario());
    // Standard: each process counts its events and its descendants'; the host's bash is
    // under PID 1 (never seen: its PID alone); the container's processes under bash too
    // (globally, parents cross containers).
    assert_eq!(
        tree(&path, "tracee,process_tree", &["-o", "tracee.pid_format:host"]),
        [
            "1 20",
            "  100 (bash) 20",
            "    200 (bash -> sh -> env -> python3 -> worker): /bin/sh: sh -c ./run -> /usr/bin/env python3 app.py -> /usr/bin/python3: python3 app.py 13",
            "      300 (worker -> python3) 5",
            "    800 (bash -> nginx): /usr/sbin/nginx: nginx -g daemon off; 4",
            "      801 (nginx) 2",
        ]
    );
    // The exit, the execs and the names are in the JSON too.
    let r = results(&path, &["-z", "tracee,process_tree"]);
    let p200 = &r[0]["nodes"][0]["children"][0]["children"][0];
    assert_eq!(p200["own"], 8);
    assert_eq!(p200["process"]["exit"]["code"], 3);
    assert_eq!(p200["process"]["execs"].as_array().unwrap().len(), 3);
    assert_eq!(p200["process"]["execs"][1]["pathname"], "/usr/bin/env");
    assert_eq!(
        p200["process"]["names"],
        json!(["bash", "sh", "env", "python3", "worker"])
    );
}

#[test]
fn pid_formats_change_labels() {
    let dir = tempdir();
    let path = file(dir.path(), "scenario.json", &scenario());
    let labels = |fmt: &str| -> Vec<String> {
        tree(
            &path,
            "tracee,process_tree",
            &["-o", &format!("tracee.pid_format:{fmt}")],
        )
        .into_iter()
        .filter(|l| l.contains("nginx"))
        .map(|l| l.trim().to_string())
        .collect()
    };
    assert_eq!(
        labels("container"),
        [
            "1 (bash -> nginx): /usr/sbin/nginx: nginx -g daemon off; 4",
            "2 (nginx) 2"
        ]
    );
    assert_eq!(
        labels("host"),
        [
            "800 (bash -> nginx): /usr/sbin/nginx: nginx -g daemon off; 4",
            "801 (nginx) 2"
        ]
    );
    assert_eq!(
        labels("both"),
        [
            "1 (800) (bash -> nginx): /usr/sbin/nginx: nginx -g daemon off; 4",
            "2 (801) (nginx) 2"
        ]
    );
}

#[test]
fn process_tree_variants_have_their_leaves() {
    let dir = tempdir();
    let path = file(dir.path(), "scenario.json", &scenario());
    let host = ["-o", "tracee.pid_format:host"];
    assert_eq!(
        tree(&path, "tracee,process_tree,opened_files", &host),
        [
            "1 4",
            "  100 (bash) 4",
            "    200 (bash -> sh -> env -> python3 -> worker): /bin/sh: sh -c ./run -> /usr/bin/env python3 app.py -> /usr/bin/python3: python3 app.py 2",
            "      (WO): /tmp/out 1",
            "      (RW): /var/db 1",
            "    800 (bash -> nginx): /usr/sbin/nginx: nginx -g daemon off; 1",
            "      801 (nginx) 1",
            "        (RO): /etc/nginx/nginx.conf 1",
            "    (RO): /etc/passwd 1",
        ]
    );
    assert_eq!(
        tree(&path, "tracee,process_tree,written_files", &host),
        [
            "1 2",
            "  100 (bash) 2",
            "    800 (bash -> nginx): /usr/sbin/nginx: nginx -g daemon off; 1",
            "      801 (nginx) 1",
            "        Unknown file type: /var/log/x.txt 1",
            "    200 (bash -> sh -> env -> python3 -> worker): /bin/sh: sh -c ./run -> /usr/bin/env python3 app.py -> /usr/bin/python3: python3 app.py 1",
            "      300 (worker -> python3) 1",
            "        Script file: /tmp/x.sh 1",
        ]
    );
    let network = tree(&path, "tracee,process_tree,network", &host);
    assert_eq!(
        network[3..],
        [
            "      300 (worker -> python3) 3",
            "        Connect to 10.0.0.1 port 443 1",
            "        Connect to /var/run/nscd/socket 1",
            "        Bind to 0.0.0.0 port 8080 1",
        ]
    );
    // The network preferences leave sockets out.
    let no_nscd = tree(
        &path,
        "tracee,process_tree,network",
        &[
            "-o",
            "tracee.pid_format:host",
            "-o",
            "exclude_nscd_socket=true",
        ],
    );
    assert_eq!(no_nscd[3], "      300 (worker -> python3) 2");
    let no_unix = tree(
        &path,
        "tracee,process_tree,network",
        &["-o", "include_unix_sockets=false"],
    );
    assert!(!no_unix.iter().any(|l| l.contains("nscd")), "{no_unix:?}");
    assert_eq!(
        tree(&path, "tracee,process_tree,signatures", &host)[3..],
        [
            "      300 (worker -> python3) 1",
            "        (Severity 2): Suspicious Thing 1"
        ]
    );
}

#[test]
fn views_in_one_run_are_what_each_gives_alone() {
    // Process trees of one variant and filter, global and per container, count once for both;
    // the same tree with another filter, or another variant, counts on its own. Whatever is
    // shared, each result is what that view gives alone, and results come in the order asked.
    let dir = tempdir();
    let path = file(dir.path(), "scenario.json", &scenario());
    let z = [
        "tracee,process_tree,container",
        "tracee,event_counts",
        "tracee,process_tree",
        "tracee,process_tree,container,tracee.hostProcessId != 801",
        "tracee,process_tree,opened_files",
        "tracee,process_tree,opened_files,container",
        "tracee,event_counts,container",
    ];
    let mut args = Vec::new();
    for v in z {
        args.extend(["-z", v]);
    }
    let together = results(&path, &args);
    assert_eq!(together.len(), z.len());
    for (v, r) in z.iter().zip(&together) {
        let alone = results(&path, &["-z", v]);
        assert_eq!(r, &alone[0], "{v}");
    }
    // Without 801's two events, the container counts 800's alone.
    let filtered = shape(&together[3]["nodes"]);
    assert_eq!(
        filtered[filtered.len() - 2..],
        [
            "c0ffee000000 2",
            "  1 (bash -> nginx): /usr/sbin/nginx: nginx -g daemon off; 2",
        ]
    );
    assert_eq!(
        shape(&together[0]["nodes"]).last().unwrap(),
        "    2 (nginx) 2"
    );
}

#[test]
fn per_container_trees_and_counts_split_at_containers() {
    let dir = tempdir();
    let path = file(dir.path(), "scenario.json", &scenario());
    let t = tree(
        &path,
        "tracee,process_tree,container",
        &["-o", "tracee.pid_format:host"],
    );
    assert_eq!(t[0], "Host 16");
    assert_eq!(t[1], "  1 16");
    let c = t.iter().position(|l| l == "c0ffee000000 4").unwrap();
    assert_eq!(
        t[c..],
        [
            "c0ffee000000 4",
            "  800 (bash -> nginx): /usr/sbin/nginx: nginx -g daemon off; 4",
            "    801 (nginx) 2",
        ]
    );
    // The container identifier preference names it.
    let named = tree(
        &path,
        "tracee,process_tree,container",
        &["-o", "container_identifier=name"],
    );
    assert!(named.contains(&"web 4".to_string()), "{named:?}");
    assert_eq!(
        tree(&path, "tracee,event_counts,container", &[]),
        [
            "Host 16",
            "  Events 15",
            "    sched_process_fork 4",
            "    security_file_open 3",
            "    sched_process_exec 3",
            "    security_socket_connect 2",
            "    security_socket_bind 1",
            "    sched_process_exit 1",
            "    magic_write 1",
            "  Signatures 1",
            "    Severity 2 1",
            "      suspicious_thing 1",
            "c0ffee000000 4",
            "  Events 4",
            "    security_file_open 1",
            "    sched_process_fork 1",
            "    sched_process_exec 1",
            "    magic_write 1",
        ]
    );
}

#[test]
fn event_counts_and_file_types() {
    let dir = tempdir();
    let path = file(dir.path(), "scenario.json", &scenario());
    assert_eq!(
        tree(&path, "tracee,event_counts", &[]),
        [
            "Events 19",
            "  sched_process_fork 5",
            "  security_file_open 4",
            "  sched_process_exec 4",
            "  security_socket_connect 2",
            "  magic_write 2",
            "  security_socket_bind 1",
            "  sched_process_exit 1",
            "Signatures 1",
            "  Severity 2 1",
            "    suspicious_thing 1",
        ]
    );
    assert_eq!(
        tree(&path, "tracee,file_types", &[]),
        [
            "Script 1",
            "  /tmp/x.sh 1",
            "Other Extensions 1",
            "  .txt 1",
            "    /var/log/x.txt 1",
        ]
    );
    assert_eq!(
        tree(&path, "tracee,file_types,container", &[]),
        [
            "Host 1",
            "  Script 1",
            "    /tmp/x.sh 1",
            "c0ffee000000 1",
            "  Other Extensions 1",
            "    .txt 1",
            "      /var/log/x.txt 1",
        ]
    );
}

#[test]
fn filters_narrow_counts_but_not_the_process_model() {
    let dir = tempdir();
    let path = file(dir.path(), "scenario.json", &scenario());
    // -Y keeps only file opens; the labels still come from the execs that -Y leaves out.
    let opens = tree(
        &path,
        "tracee,process_tree",
        &[
            "-o",
            "tracee.pid_format:host",
            "-Y",
            "tracee.eventName == \"security_file_open\"",
        ],
    );
    assert_eq!(
        opens,
        [
            "1 4",
            "  100 (bash) 4",
            "    200 (bash -> sh -> env -> python3 -> worker): /bin/sh: sh -c ./run -> /usr/bin/env python3 app.py -> /usr/bin/python3: python3 app.py 2",
            "    800 (bash -> nginx): /usr/sbin/nginx: nginx -g daemon off; 1",
            "      801 (nginx) 1",
        ]
    );
    // A view's own filter narrows that view only.
    let r = results(
        &path,
        &[
            "-z",
            "tracee,event_counts,tracee.processName == \"nginx\"",
            "-z",
            "tracee,event_counts",
        ],
    );
    // bash's fork of nginx is bash's; nginx's exec, fork, and its worker's open and write.
    assert_eq!(r[0]["nodes"][0]["count"], 4);
    assert_eq!(r[0]["filter"], "tracee.processName == \"nginx\"");
    assert_eq!(r[1]["nodes"][0]["count"], 19);
}

#[test]
fn reused_pids_are_different_processes() {
    let dir = tempdir();
    let init = P::new(50, 0, "init");
    let mut first = P::new(400, 50, "first");
    let mut second = P::new(400, 50, "second");
    second.start = first.start + 100 * SEC;
    second.entity = Some(999_001);
    first.entity = Some(999_000);
    let events = vec![
        init.ev(0, "getpid", json!([])),
        first.ev(1, "getpid", json!([])),
        first.exit(2, 0),
        second.ev(101, "getpid", json!([])),
        second.ev(102, "getpid", json!([])),
    ];
    let path = file(dir.path(), "reuse.json", &events);
    assert_eq!(
        tree(&path, "tracee,process_tree", &[]),
        ["50 (init) 5", "  400 (second) 2", "  400 (first) 2"]
    );
    // The per-process view reports both, oldest first.
    let r = results(&path, &["-z", "tracee,process,400"]);
    let procs = r[0]["processes"].as_array().unwrap();
    assert_eq!(procs.len(), 2);
    assert_eq!(procs[0]["process"]["names"], json!(["first"]));
    assert_eq!(procs[0]["process"]["exit"]["code"], 0);
    assert_eq!(procs[1]["process"]["names"], json!(["second"]));
    assert!(procs[1]["process"].get("exit").is_none());
    // By entity ID, only that one.
    let r = results(&path, &["-z", "tracee,process,999001"]);
    assert_eq!(r[0]["processes"].as_array().unwrap().len(), 1);
}

#[test]
fn orphans_are_attached_when_their_parent_shows_up_later() {
    let dir = tempdir();
    let parent = P::new(600, 1, "sshd");
    let mut child = P::new(650, 600, "bash");
    child.start = parent.start + 10 * SEC;
    let events = vec![
        child.ev(20, "getpid", json!([])),
        child.ev(21, "getpid", json!([])),
        parent.ev(30, "getpid", json!([])),
    ];
    let path = file(dir.path(), "orphan.json", &events);
    assert_eq!(
        tree(&path, "tracee,process_tree", &[]),
        ["1 3", "  600 (sshd) 3", "    650 (bash) 2"]
    );
    // Without entity IDs, by host PID and start time.
    let mut parent = parent;
    parent.entity = None;
    child.entity = None;
    let events = vec![
        child.ev(20, "getpid", json!([])),
        child.ev(21, "getpid", json!([])),
        parent.ev(30, "getpid", json!([])),
    ];
    let path = file(dir.path(), "orphan-legacy.json", &events);
    assert_eq!(
        tree(&path, "tracee,process_tree", &[]),
        ["1 3", "  600 (sshd) 3", "    650 (bash) 2"]
    );
}

#[test]
fn without_entity_ids_processes_are_host_pid_and_start_time() {
    let dir = tempdir();
    let mut sh = P::new(700, 1, "sh");
    sh.entity = None;
    let mut reused = P::new(700, 1, "later");
    reused.entity = None;
    reused.start = sh.start + 50 * SEC;
    let events = vec![
        sh.ev(1, "getpid", json!([])),
        // A thread of 700: its own start time, the process's PID.
        sh.ev_thread(2, "getpid", json!([]), 701, sh.start + 3, "sh-thread"),
        reused.ev(60, "getpid", json!([])),
    ];
    let path = file(dir.path(), "legacy.json", &events);
    assert_eq!(
        tree(&path, "tracee,process_tree", &[]),
        ["1 3", "  700 (sh) 2", "  700 (later) 1"]
    );
}

#[test]
fn the_text_is_a_tshark_stats_tree() {
    let dir = tempdir();
    let path = file(dir.path(), "scenario.json", &scenario());
    let out = osprey(&[
        "read",
        "-q",
        "-r",
        path.to_str().unwrap(),
        "-z",
        "tracee,process_tree,signatures",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "");
    assert_eq!(lines[2], "Tracee/Process Tree/With Signatures/Global:");
    assert!(lines[3].starts_with("Process/Signature "));
    assert!(lines[3].contains("Count         Average       Min Val       Max Val       Rate (ms)     Percent       Burst Rate    Burst Start"));
    let leaf = lines
        .iter()
        .find(|l| l.contains("(Severity 2): Suspicious Thing"))
        .unwrap();
    assert!(
        leaf.starts_with("    (Severity 2): Suspicious Thing"),
        "{leaf}"
    );
    assert!(leaf.contains(" 1  "), "{leaf}");
    assert!(leaf.contains("100.00%"), "{leaf}");
    assert_eq!(
        lines.last().unwrap().chars().filter(|c| *c == '-').count(),
        lines[1].len()
    );
}

/// A text run leaves out what only JSON shows (each leaf's filter, each process's details),
/// and shows the same trees: every row's depth, name and count are the JSON's.
#[test]
fn text_shows_the_trees_json_gives() {
    let dir = tempdir();
    let path = file(dir.path(), "scenario.json", &scenario());
    for variant in [
        "",
        ",opened_files",
        ",written_files",
        ",network",
        ",signatures",
    ] {
        for scope in ["", ",container"] {
            let z = format!("tracee,process_tree{variant}{scope}");
            let json = shape(&results(&path, &["-z", &z])[0]["nodes"]);
            let out = osprey(&["read", "-q", "-r", path.to_str().unwrap(), "-z", &z]);
            assert!(out.status.success(), "{z}: {}", stderr(&out));
            let text = stdout(&out);
            let lines: Vec<&str> = text.lines().collect();
            // The heading's "Count" column starts where each row's count does.
            let width = lines[3].find("Count").expect("a heading") - 1;
            let rows: Vec<String> = lines[5..lines.len() - 1]
                .iter()
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let (name, rest) = l.split_at(width);
                    let depth = name.len() - name.trim_start().len();
                    let count = rest.split_whitespace().next().unwrap();
                    format!("{}{} {count}", "  ".repeat(depth), name.trim())
                })
                .collect();
            assert!(!rows.is_empty(), "{z}");
            assert_eq!(rows, json, "{z}");
        }
    }
}

#[test]
fn a_long_span_keeps_a_million_intervals_and_says_what_is_left_out() {
    // Two events 1,999,999 s (23 days) apart (a clock gone wrong, or merged files) in 1 s
    // intervals: 1,999,999 rows, of which the first million are kept; the second event, in
    // an interval left out, is reported.
    let dir = tempdir();
    let p = P::new(100, 1, "bash");
    let events = vec![
        p.ev(1, "openat", json!([])),
        p.ev(1 + 1_999_999, "openat", json!([])),
    ];
    let path = file(dir.path(), "span.json", &events);
    let r = results(&path, &["-z", "io,stat,1", "-z", "tracee,timeline,1"]);
    assert_eq!(r[0]["starts_us"].as_array().unwrap().len(), 1_000_000);
    assert_eq!(r[0]["omitted_intervals"], 999_999);
    assert_eq!(r[0]["omitted_frames"], json!([1]));
    assert_eq!(r[0]["columns"][0]["cells"][0]["frames"], 1);
    assert_eq!(r[1]["omitted_intervals"], 999_999);
    assert_eq!(r[1]["omitted_frames"], 1);
    assert_eq!(r[1]["groups"][0]["counts"][0], 1);
    let out = osprey(&[
        "read",
        "-q",
        "-r",
        path.to_str().unwrap(),
        "-z",
        "io,stat,1",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.trim_end().ends_with(
            "999999 later intervals (1 frames) are not shown: a table keeps 1000000 intervals at most; choose a longer interval"
        ),
        "{}",
        &text[text.len().saturating_sub(300)..]
    );
    // Within the limit, nothing is said.
    let r = results(&path, &["-z", "io,stat,10"]);
    assert!(r[0].get("omitted_intervals").is_none());
    assert_eq!(r[0]["starts_us"].as_array().unwrap().len(), 200_000);
}

#[test]
fn timeline_counts_groups_per_interval() {
    let dir = tempdir();
    let path = file(dir.path(), "scenario.json", &scenario());
    let r = results(&path, &["-z", "tracee,timeline,10"]);
    let groups: Vec<(String, Vec<u64>)> = r[0]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap().to_string(),
                g["counts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_u64().unwrap())
                    .collect(),
            )
        })
        .collect();
    // Events 1 s apart, the first at 1 s: 10 s intervals of the 19 s hold events 1-10 and
    // 11-20 of the scenario.
    assert_eq!(
        groups,
        [
            ("Process".to_string(), vec![6, 4]),
            ("File".to_string(), vec![3, 3]),
            ("Network".to_string(), vec![1, 2]),
            ("Signatures".to_string(), vec![0, 1]),
        ]
    );
}

#[test]
fn the_process_view_joins_what_a_process_did() {
    let dir = tempdir();
    let path = file(dir.path(), "scenario.json", &scenario());
    let r = results(
        &path,
        &["-z", "tracee,process,300", "-o", "tracee.pid_format:host"],
    );
    let p = &r[0]["processes"][0];
    assert_eq!(p["label"], "300 (worker -> python3)");
    assert_eq!(
        p["ancestors"],
        json!([
            "200 (bash -> sh -> env -> python3 -> worker): /bin/sh: sh -c ./run -> /usr/bin/env python3 app.py -> /usr/bin/python3: python3 app.py",
            "100 (bash)",
            "1"
        ])
    );
    let names = |k: &str| -> Vec<String> {
        p[k].as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names("connections"),
        [
            "Connect to 10.0.0.1 port 443",
            "Bind to 0.0.0.0 port 8080",
            "Connect to /var/run/nscd/socket"
        ]
    );
    assert_eq!(names("signatures"), ["(Severity 2): Suspicious Thing"]);
    assert_eq!(p["files_written"][0]["path"], "/tmp/x.sh");
    assert_eq!(p["files_written"][0]["file_type"], "Script");
    let r = results(
        &path,
        &["-z", "tracee,process,200", "-o", "tracee.pid_format:host"],
    );
    let p = &r[0]["processes"][0];
    assert_eq!(p["children"], json!(["300 (worker -> python3)"]));
    assert_eq!(p["execs"].as_array().unwrap().len(), 3);
    assert_eq!(
        names_of(&p["files_opened"]),
        ["(WO): /tmp/out", "(RW): /var/db"]
    );
    // Text as well.
    let out = osprey(&[
        "read",
        "-q",
        "-r",
        path.to_str().unwrap(),
        "-z",
        "tracee,process,200",
    ]);
    let text = stdout(&out);
    assert!(text.contains("Tracee Process: 200"), "{text}");
    assert!(text.contains("Exited: "), "{text}");
    assert!(text.contains("exit code 3"), "{text}");
}

fn names_of(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_process_view_joins_a_capture_directory() {
    let dir = tempdir();
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("pcap/processes/host")).unwrap();
    let parent = P::new(200, 1, "bash");
    let mut dropped = P::new(300, 200, "bash");
    dropped.entity = None;
    let mut dns = dropped.ev(
        5,
        "net_packet_dns_request",
        json!([
            {"name": "metadata", "type": "trace.PktMeta", "value": {"src_ip": "127.0.0.1", "dst_ip": "127.0.0.1", "src_port": 40000, "dst_port": 53, "protocol": 17, "packet_len": 60, "iface": "lo"}},
            {"name": "dns_questions", "type": "[]trace.DnsQueryData", "value": [{"query": "c2.example", "query_type": "A", "query_class": "IN"}]},
        ]),
    );
    dns["processName"] = json!("dropped");
    let events = [
        parent.fork(1, &dropped, 300),
        dropped.write(2, "/tmp/dropped", "f0VMRgIBAQ=="),
        dropped.exec(3, "/tmp/dropped", &["/tmp/dropped", "-x"], "dropped"),
        dns,
    ];
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    std::fs::write(out.join("events.json"), lines.join("\n") + "\n").unwrap();
    let artifact = |ts: u64, kind: &str, stored: &str, sha: &str| {
        json!({"timestamp": T0 + ts * SEC, "kind": kind, "path": stored, "size": 8, "sha256": sha,
            "original_path": "/tmp/dropped",
            "process": {"hostProcessId": 300, "hostThreadId": 300, "processId": 300, "threadId": 300,
                        "processName": "dropped", "executable": "/tmp/dropped", "userId": 0},
            "container_id": "", "first_seen": T0 + ts * SEC, "last_seen": T0 + ts * SEC,
            "lost": [], "complete": true, "event": kind})
        .to_string()
    };
    std::fs::write(
        out.join("artifacts.jsonl"),
        [
            artifact(2, "write", "host/write.dev-1.inode-2", "11aa"),
            artifact(3, "exec", "host/exec.3.dropped", "22bb"),
        ]
        .join("\n")
            + "\n",
    )
    .unwrap();
    // Its per-process capture: two DNS queries of its own.
    let context = json!({"version": "1.0", "container": {}, "kubernetes": {}, "hostName": "h",
        "processName": "dropped",
        "process": {"threadStartTime": dropped.start, "processId": 300, "cgroupId": 1, "threadId": 300,
                    "parentProcessId": 200, "hostProcessId": 300, "hostThreadId": 300,
                    "hostParentProcessId": 200, "userId": 0, "mountNamespace": 1, "pidNamespace": 1,
                    "executable": ""}})
    .to_string();
    let packets = [
        (
            T0 + 6 * SEC,
            null_udp_packet(40001, 53, &dns_query_bytes(1, "c2.example")),
        ),
        (
            T0 + 7 * SEC,
            null_udp_packet(40002, 53, &dns_query_bytes(2, "update.example")),
        ),
    ];
    std::fs::write(
        out.join(format!(
            "pcap/processes/host/dropped_300_{}.pcap",
            dropped.start
        )),
        pcapng_with_context(&[], &packets, &context),
    )
    .unwrap();

    let r = results(&out, &["-z", "tracee,process,300"]);
    let p = &r[0]["processes"][0];
    assert_eq!(r[0]["processes"].as_array().unwrap().len(), 1);
    assert_eq!(p["execs"][0]["pathname"], "/tmp/dropped");
    assert_eq!(
        p["execs"][0]["sha256"], "22bb",
        "the captured binary's hash"
    );
    assert_eq!(p["files_written"][0]["path"], "/tmp/dropped");
    assert_eq!(p["files_written"][0]["file_type"], "ELF");
    assert_eq!(p["files_written"][0]["sha256"], json!(["11aa"]));
    assert_eq!(p["artifacts"].as_array().unwrap().len(), 2);
    assert_eq!(p["packets"], 2);
    let dns: Vec<(String, u64)> = p["dns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["messages"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        dns,
        [
            ("c2.example".to_string(), 2),
            ("update.example".to_string(), 1)
        ],
        "the event's query and its own packets'"
    );
    assert_eq!(p["peers"][0]["address"], "127.0.0.1:53");
    assert_eq!(p["peers"][0]["frames"], 3);
    assert_eq!(p["process"]["names"], json!(["bash", "dropped"]));
}

#[test]
fn malformed_z_arguments_say_what_is_wrong_and_the_valid_forms() {
    let dir = tempdir();
    let path = file(dir.path(), "scenario.json", &scenario());
    let p = path.to_str().unwrap();
    for (z, says) in [
        (
            "tracee,proces_tree",
            "unknown Tracee view \"tracee,proces_tree\"",
        ),
        (
            "tracee,timeline,soon",
            "tracee,timeline: \"soon\" is not an interval",
        ),
        ("conv,sctp", "unknown conv type \"sctp\""),
        (
            "io,stat,1,SUM(nosuch.field)",
            "\"nosuch.field\" is not a valid field",
        ),
        (
            "io,stat,1,SUM(tracee.processName)",
            "doesn't have integral values",
        ),
        ("conv,tcp,tcp.port ==", "display filter error"),
    ] {
        let out = osprey(&["read", "-q", "-r", p, "-z", z]);
        assert_eq!(out.status.code(), Some(2), "{z}");
        let err = stderr(&out);
        assert!(err.contains(&format!("-z {z}: ")), "{z}: {err}");
        assert!(err.contains(says), "{z}: {err}");
        if !says.contains("filter") && !says.contains("field") && !says.contains("integral") {
            assert!(err.contains("valid forms of -z"), "{z}: {err}");
        }
        assert!(stdout(&out).is_empty(), "{z}: nothing is printed");
    }
    let help = osprey(&["read", "-z", "help"]);
    assert!(help.status.success());
    assert!(stdout(&help).contains(
        "tracee,process_tree[,opened_files|written_files|network|signatures][,container][,FILTER]"
    ));
}

// ---- the real Tracee fixtures (counts worked out with Python over the raw JSON) ----

#[test]
fn fixtures_event_counts() {
    let docs = fixture(DOCS);
    assert_eq!(
        tree(&docs, "tracee,event_counts", &[]),
        [
            "Events 77",
            "  net_packet_dns 11",
            "  net_packet_tcp 10",
            "  net_packet_ipv6 6",
            "  net_packet_ipv4 6",
            "  net_packet_icmpv6 6",
            "  net_packet_icmp 6",
            "  net_packet_udp 5",
            "  net_packet_http 5",
            "  net_packet_http_response 4",
            "  net_packet_http_request 4",
            "  net_packet_dns_response 3",
            "  net_packet_dns_request 3",
            "  vfs_read 2",
            "  security_file_open 2",
            "  openat 1",
            "  execve 1",
            "  close 1",
            "  clone 1",
            "Signatures 1",
            "  Other Severities 1",
            "    mine 1",
        ]
    );
    let per_container = tree(&docs, "tracee,event_counts,container", &[]);
    assert_eq!(per_container[0], "Host 72");
    let c = per_container
        .iter()
        .position(|l| l == "95e88e281c4b 6")
        .unwrap();
    assert_eq!(
        per_container[c..],
        [
            "95e88e281c4b 6",
            "  Events 6",
            "    net_packet_http_response 3",
            "    net_packet_http 3",
        ]
    );
}

#[test]
fn fixtures_process_tree_and_dns() {
    let action = fixture(ACTION);
    assert_eq!(
        tree(&action, "tracee,process_tree", &[]),
        [
            "1 13",
            "  493 (systemd-resolve) 13",
            "78447 8",
            "  79275 (ping) 8",
            "18679 2",
            "  21607 (ls): /usr/bin/ls: ls --color=auto y 1",
            "  21497 (ls): /usr/bin/ls: ls --color=auto x 1",
            "9824 1",
            "  90623 (touch) 1",
        ]
    );
    // DNS statistics over the net_packet_dns events, through dns.* fields.
    let dns = tree(&action, "dns,tree", &[]);
    for line in [
        "Total Packets 21",
        "  Query/Response 21",
        "    Response 11",
        "    Query 10",
        "  Query Type 21",
        "    PTR (domain name PoinTeR) 10",
        "    AAAA (IPv6 Address) 6",
        "    A (Host Address) 5",
        "  Class 21",
        "    IN 21",
        "  Qname Len 10",
        "    4th Level or more 5",
        "    2nd Level 5",
    ] {
        assert!(dns.contains(&line.to_string()), "{line}: {dns:?}");
    }
    let r = results(&action, &["-z", "dns,tree"]);
    let qname = &r[0]["nodes"][2]["children"][0];
    assert_eq!(qname["name"], "Qname Len");
    assert_eq!(qname["values"]["average"], 16.5);
    // Conversations of the same events, by their addresses and ports (no length: 0 bytes).
    let r = results(&action, &["-z", "conv,udp"]);
    let convs: Vec<(String, u64, u64)> = r[0]["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                format!(
                    "{}:{} <-> {}:{}",
                    c["address_a"].as_str().unwrap(),
                    c["port_a"],
                    c["address_b"].as_str().unwrap(),
                    c["port_b"]
                ),
                c["frames_a_to_b"].as_u64().unwrap(),
                c["frames_b_to_a"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        convs,
        [
            ("127.0.0.1:39055 <-> 127.0.0.53:53".to_string(), 3, 4),
            ("127.0.0.1:43644 <-> 127.0.0.53:53".to_string(), 2, 2),
            ("127.0.0.1:41732 <-> 127.0.0.53:53".to_string(), 2, 2),
            ("10.0.2.15:34831 <-> 10.0.2.3:53".to_string(), 1, 1),
            ("10.0.2.15:33164 <-> 10.0.2.3:53".to_string(), 1, 1),
            ("10.0.2.15:53022 <-> 10.0.2.3:53".to_string(), 1, 1),
        ]
    );
}

#[test]
fn deep_chains_and_parent_loops_stay_bounded() {
    let dir = tempdir();
    // 600 processes, each the parent of the next.
    let procs: Vec<P> = (0..600u64)
        .map(|i| {
            let mut p = P::new(1000 + i, if i == 0 { 1 } else { 999 + i }, "sh");
            p.start = T0 + i;
            p
        })
        .collect();
    let events: Vec<Value> = procs
        .iter()
        .enumerate()
        .map(|(i, p)| p.ev(i as u64 / 100, "getpid", json!([])))
        .collect();
    let path = file(dir.path(), "chain.json", &events);
    let r = results(&path, &["-z", "tracee,process_tree"]);
    let tops = r[0]["nodes"].as_array().unwrap();
    // The unseen PID 1 and 59 levels under it, then chains of 60 from new top nodes.
    let mut heads: Vec<(String, u64)> = tops
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_string(),
                n["count"].as_u64().unwrap(),
            )
        })
        .collect();
    heads.sort();
    let mut expected = vec![("1".to_string(), 59)];
    for i in 0..9 {
        expected.push((format!("{} (sh)", 1059 + 60 * i), 60));
    }
    expected.push(("1599 (sh)".to_string(), 1));
    expected.sort();
    assert_eq!(heads, expected);
    fn depth(n: &Value) -> usize {
        1 + n["children"]
            .as_array()
            .map_or(0, |c| c.iter().map(depth).max().unwrap_or(0))
    }
    assert_eq!(tops.iter().map(depth).max(), Some(60));
    let lines = shape(&r[0]["nodes"]).len();
    assert_eq!(lines, 601);

    // Two processes naming each other as parent.
    let mut a = P::new(2000, 2001, "a");
    let mut b = P::new(2001, 2000, "b");
    a.parent_entity = b.entity;
    b.parent_entity = a.entity;
    let path = file(
        dir.path(),
        "loop.json",
        &[a.ev(1, "getpid", json!([])), b.ev(2, "getpid", json!([]))],
    );
    let t = tree(&path, "tracee,process_tree", &[]);
    assert_eq!(t.len(), 2, "{t:?}");
    assert!(t[0].ends_with(" 2") && t[1].starts_with("  "), "{t:?}");
}

#[test]
fn count_gives_a_fields_values_by_frames() {
    let dir = tempdir();
    let path = file(dir.path(), "scenario.json", &scenario());
    // every event's process name, sorted by count then name, under a node counting the frames
    // that have the field; the view's filter narrows it
    let all = tree(&path, "count,tracee.processName", &[]);
    let mut by_hand: std::collections::BTreeMap<String, u64> = Default::default();
    for e in scenario() {
        *by_hand
            .entry(e["processName"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let total: u64 = by_hand.values().sum();
    let mut want: Vec<(String, u64)> = by_hand.into_iter().collect();
    want.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    let mut expected = vec![format!("tracee.processName {total}")];
    expected.extend(want.iter().map(|(n, c)| format!("  {n} {c}")));
    assert_eq!(all, expected);

    let narrowed = tree(
        &path,
        "count,tracee.eventName,tracee.processName == \"bash\"",
        &[],
    );
    let bash = scenario()
        .iter()
        .filter(|e| e["processName"] == "bash")
        .count();
    assert_eq!(narrowed[0], format!("tracee.eventName {bash}"));
    // the same counts as -Y with the display filter and the field
    let out = osprey(&[
        "read",
        "-q",
        "-r",
        path.to_str().unwrap(),
        "-z",
        "count,nosuch.field",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("count,nosuch.field") && stderr(&out).contains("not a valid field"),
        "{}",
        stderr(&out)
    );
}

/// Frames of `path` that `filter` selects (`osprey read -Y`, one line each).
fn selected(path: &std::path::Path, filter: &str) -> usize {
    let out = osprey(&["read", "-r", path.to_str().unwrap(), "-Y", filter]);
    assert!(out.status.success(), "{filter}: {}", stderr(&out));
    out.stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count()
}

/// Every node given a filter, with the filter of the process above it (the UI's row click):
/// `(name, filter, count)`.
fn node_filters(nodes: &Value) -> Vec<(String, String, u64)> {
    fn walk(n: &Value, proc: Option<String>, out: &mut Vec<(String, String, u64)>) {
        let p = &n["process"];
        let proc = if p.is_object() {
            Some(match p["entity_id"].as_u64() {
                Some(id) => format!("tracee.processEntityId == {id}"),
                None => format!("tracee.hostProcessId == {}", p["host_pid"]),
            })
        } else {
            proc
        };
        if let Some(f) = n["filter"].as_str() {
            let f = match &proc {
                Some(p) => format!("{p} && ({f})"),
                None => f.to_string(),
            };
            let name = n["name"].as_str().unwrap().to_string();
            out.push((name, f, n["count"].as_u64().unwrap()));
        }
        for c in n["children"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            walk(c, proc.clone(), out);
        }
    }
    let mut out = Vec::new();
    for n in nodes.as_array().unwrap() {
        walk(n, None, &mut out);
    }
    out
}

/// The filter a view gives a node (a process-tree leaf, a DNS tree bucket) selects exactly the
/// frames the node counts: a click on the row shows them, no more, no fewer.
#[test]
fn node_filters_select_what_the_node_counts() {
    let dir = tempdir();
    let scenario = file(dir.path(), "scenario.json", &scenario());
    let mut checked = 0;
    for (path, view) in [
        (scenario.clone(), "tracee,process_tree,opened_files"),
        (
            scenario.clone(),
            "tracee,process_tree,written_files,container",
        ),
        (scenario.clone(), "tracee,process_tree,network"),
        (scenario.clone(), "tracee,process_tree,signatures"),
        (fixture(DOCS), "tracee,process_tree,signatures"),
        (fixture(ACTION), "tracee,process_tree,opened_files"),
        (fixture(DOCS), "dns,tree"),
        (fixture(ACTION), "dns,tree"),
    ] {
        let r = results(&path, &["-z", view]);
        let nodes = node_filters(&r[0]["nodes"]);
        for (name, filter, count) in nodes {
            assert_eq!(
                selected(&path, &filter) as u64,
                count,
                "{}: {view}: {name}: {filter}",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked} nodes checked");
}
