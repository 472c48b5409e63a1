//! End-to-end tests of `osprey trace`: real BPF programs, real processes, exact events.
//!
//! Each test runs a command under the tracer (`-- CMD`), so it sees only its own process tree
//! even while other tests and other people's processes run on the machine. Without root the
//! tests skip, unless OSPREY_REQUIRE_BPF=1, which makes that a failure.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use clap::Parser;
use serde_json::Value;

mod common;

use common::{bpf_available, Cli, PY};

/// Runs `cmd` under the tracer with `events` (and extra options); returns the exit status and
/// the events, each checked to parse with `osprey_event::parse_event` and against the schema.
fn trace(events: &str, extra: &[&str], cmd: &[&str]) -> (i32, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("events.json");
    let out_arg = format!("json:{}", out.display());
    // small rings: these tests run side by side, and produce few events (the storm test
    // passes the default size back)
    let mut argv = vec![
        "trace",
        "-q",
        "-e",
        events,
        "-o",
        &out_arg,
        "--buffer-size",
        "16",
    ];
    if extra.contains(&"--buffer-size") {
        argv.truncate(argv.len() - 2);
    }
    argv.extend_from_slice(extra);
    argv.push("--");
    argv.extend_from_slice(cmd);
    let cli = Cli::try_parse_from(argv).unwrap();
    let status = osprey_trace::run_status(cli.trace).unwrap();
    let text = std::fs::read(&out).unwrap();
    let mut evs = Vec::new();
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let ev = osprey_event::parse_event(line).unwrap_or_else(|e| {
            panic!(
                "osprey_event cannot read {}: {e:?}",
                String::from_utf8_lossy(line)
            )
        });
        assert!(!ev.event_name.is_empty());
        let v: Value = serde_json::from_slice(line).unwrap();
        check_legacy_layout(&v);
        evs.push(v);
    }
    (status, evs)
}

/// formats.md §1.1, checked with the JSON schema kept beside these tests.
fn check_legacy_layout(v: &Value) {
    use std::sync::OnceLock;
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let schema: Value =
            serde_json::from_str(include_str!("tracee-legacy-event.schema.json")).unwrap();
        jsonschema::validator_for(&schema).unwrap()
    });
    let errors: Vec<String> = validator
        .iter_errors(v)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "schema: {errors:?}\n{v}");
    assert_eq!(
        v["argsNum"].as_u64(),
        Some(v["args"].as_array().unwrap().len() as u64)
    );
}

fn named<'a>(evs: &'a [Value], name: &str) -> Vec<&'a Value> {
    evs.iter().filter(|e| e["eventName"] == name).collect()
}

fn arg<'a>(ev: &'a Value, name: &str) -> &'a Value {
    ev["args"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .map(|a| &a["value"])
        .unwrap_or_else(|| panic!("no argument {name} in {ev}"))
}

/// The kernel's `s_dev` encoding (major << 20 | minor) from a userspace `st_dev`.
fn kdev(st_dev: u64) -> u64 {
    let major = (st_dev >> 8) & 0xfff;
    let minor = (st_dev & 0xff) | ((st_dev >> 12) & 0xfff00);
    (major << 20) | minor
}

#[test]
fn exec_reports_argv_env_file_identity_and_prev_comm() {
    if !bpf_available() {
        return;
    }
    let (status, evs) = trace(
        "sched_process_exec,execve",
        &[],
        &["env", "-i", "OSPREY_T=42", "/bin/echo", "a b", "c"],
    );
    assert_eq!(status, 0);
    let exec = named(&evs, "sched_process_exec")
        .into_iter()
        .find(|e| e["processName"] == "echo")
        .expect("exec of echo");
    let echo = std::fs::canonicalize("/bin/echo").unwrap();
    let meta = std::fs::metadata(&echo).unwrap();
    assert_eq!(arg(exec, "cmdpath"), "/bin/echo");
    assert_eq!(arg(exec, "pathname"), echo.to_str().unwrap());
    assert_eq!(
        arg(exec, "argv"),
        &serde_json::json!(["/bin/echo", "a b", "c"])
    );
    assert_eq!(arg(exec, "env"), &serde_json::json!(["OSPREY_T=42"]));
    assert_eq!(arg(exec, "prev_comm"), "env");
    assert_eq!(arg(exec, "inode").as_u64(), Some(meta.ino()));
    assert_eq!(arg(exec, "dev").as_u64(), Some(kdev(meta.dev())));
    assert_eq!(
        arg(exec, "ctime").as_u64(),
        Some(meta.ctime() as u64 * 1_000_000_000 + meta.ctime_nsec() as u64)
    );
    assert_eq!(arg(exec, "inode_mode").as_u64(), Some(meta.mode() as u64));
    let interp = arg(exec, "interpreter_pathname").as_str().unwrap();
    assert!(interp.contains("ld-linux"), "{interp}");
    let interp_meta = std::fs::metadata(interp).unwrap();
    assert_eq!(
        arg(exec, "interpreter_inode").as_u64(),
        Some(interp_meta.ino())
    );
    assert_eq!(exec["syscall"], "execve");
    assert_eq!(exec["executable"]["path"], echo.to_str().unwrap());
    // the execve syscall event of the same exec, emitted at sys_enter
    let execve = named(&evs, "execve")
        .into_iter()
        .find(|e| arg(e, "pathname") == "/bin/echo")
        .expect("execve of /bin/echo");
    assert_eq!(
        arg(execve, "argv"),
        &serde_json::json!(["/bin/echo", "a b", "c"])
    );
    assert_eq!(arg(execve, "envp"), &serde_json::json!(["OSPREY_T=42"]));
    assert_eq!(execve["hostProcessId"], exec["hostProcessId"]);
}

#[test]
fn exit_code_of_the_command_is_returned_and_exit_event_has_it() {
    if !bpf_available() {
        return;
    }
    let (status, evs) = trace("sched_process_exit", &[], &["sh", "-c", "exit 7"]);
    assert_eq!(status, 7);
    let exit = named(&evs, "sched_process_exit");
    assert_eq!(exit.len(), 1, "{evs:?}");
    assert_eq!(arg(exit[0], "exit_code"), 7);
    assert_eq!(arg(exit[0], "signal_code"), 0);
    assert_eq!(arg(exit[0], "process_group_exit"), true);
    let (status, _) = trace("sched_process_exit", &[], &["sh", "-c", "kill -KILL $$"]);
    assert_eq!(status, 128 + 9);
}

#[test]
fn fork_chain_links_parents_and_children_and_pids_match_proc() {
    if !bpf_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("ids");
    // every shell of the chain records what /proc says about it
    let script = format!(
        "sh -c 'sh -c \"grep -E \\\"^(Pid|PPid|NStgid|NSpid):\\\" /proc/self/status > {f}.3; readlink /proc/self/ns/mnt /proc/self/ns/pid >> {f}.3\"'",
        f = f.display()
    );
    let (status, evs) = trace(
        "sched_process_fork,sched_process_exec",
        &[],
        &["sh", "-c", &script],
    );
    assert_eq!(status, 0);
    let forks = named(&evs, "sched_process_fork");
    let execs = named(&evs, "sched_process_exec");
    assert!(forks.len() >= 3, "{forks:?}");
    // every fork's child is a process that then execs, and its parent fields are the forker
    for fork in &forks {
        let child = arg(fork, "child_pid").as_i64().unwrap();
        assert_eq!(arg(fork, "parent_pid"), &fork["hostProcessId"]);
        assert_eq!(arg(fork, "parent_tid"), &fork["hostThreadId"]);
        assert!(
            arg(fork, "start_time").as_u64().unwrap() >= fork["threadStartTime"].as_u64().unwrap()
        );
        let exec = execs
            .iter()
            .find(|e| e["hostProcessId"].as_i64() == Some(child))
            .unwrap_or_else(|| panic!("child {child} never execed"));
        assert_eq!(exec["hostParentProcessId"], fork["hostProcessId"]);
        assert_eq!(exec["threadStartTime"], *arg(fork, "start_time"));
    }
    // the grep process: its context against what it read in /proc about itself
    let text = std::fs::read_to_string(format!("{}.3", f.display())).unwrap();
    let field = |k: &str| -> i64 {
        text.lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.split_whitespace().last())
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    let grep = execs
        .iter()
        .find(|e| e["hostProcessId"].as_i64() == Some(field("Pid:")))
        .expect("exec of grep");
    assert_eq!(grep["processName"], "grep");
    assert_eq!(grep["hostParentProcessId"].as_i64(), Some(field("PPid:")));
    assert_eq!(grep["processId"].as_i64(), Some(field("NStgid:")));
    assert_eq!(grep["threadId"].as_i64(), Some(field("NSpid:")));
    let ns = |kind: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{kind}:[")))
            .and_then(|v| v.trim_end_matches(']').parse().ok())
            .unwrap()
    };
    assert_eq!(grep["mountNamespace"].as_u64(), Some(ns("mnt")));
    assert_eq!(grep["pidNamespace"].as_u64(), Some(ns("pid")));
}

#[test]
fn new_pid_and_mount_namespace_reports_namespace_and_host_pids() {
    if !bpf_available() {
        return;
    }
    assert!(
        Path::new("/usr/bin/unshare").exists(),
        "unshare(1) is needed (util-linux; scripts/setup.sh installs it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("ns");
    let inner = format!(
        "grep -E '^(NStgid|NSpid):' /proc/self/status > {f}; readlink /proc/self/ns/pid /proc/self/ns/mnt >> {f}",
        f = f.display()
    );
    let (status, evs) = trace(
        "sched_process_exec",
        &[],
        &["unshare", "--pid", "--mount", "--fork", "sh", "-c", &inner],
    );
    assert_eq!(status, 0);
    let text = std::fs::read_to_string(&f).unwrap();
    let nstgid: Vec<i64> = text
        .lines()
        .find_map(|l| l.strip_prefix("NStgid:"))
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(nstgid.len(), 2, "{text}");
    let grep = named(&evs, "sched_process_exec")
        .into_iter()
        .find(|e| e["processName"] == "grep")
        .expect("exec of grep");
    assert_eq!(grep["hostProcessId"].as_i64(), Some(nstgid[0]));
    assert_eq!(grep["processId"].as_i64(), Some(nstgid[1]));
    assert_ne!(grep["processId"], grep["hostProcessId"]);
    let sh = named(&evs, "sched_process_exec")
        .into_iter()
        .find(|e| e["processName"] == "sh")
        .expect("exec of sh");
    assert_eq!(
        sh["processId"], 1,
        "the shell is PID 1 of the new namespace"
    );
    assert_eq!(
        sh["parentProcessId"], 0,
        "its parent is outside the namespace"
    );
    let own_pid_ns = std::fs::read_link("/proc/self/ns/pid").unwrap();
    let inum = |p: &str| -> u64 {
        p.split('[')
            .nth(1)
            .unwrap()
            .trim_end_matches(']')
            .parse()
            .unwrap()
    };
    let pid_ns = text.lines().find(|l| l.starts_with("pid:")).unwrap();
    let mnt_ns = text.lines().find(|l| l.starts_with("mnt:")).unwrap();
    assert_eq!(grep["pidNamespace"].as_u64(), Some(inum(pid_ns)));
    assert_eq!(grep["mountNamespace"].as_u64(), Some(inum(mnt_ns)));
    assert_ne!(Some(inum(pid_ns)), Some(inum(own_pid_ns.to_str().unwrap())));
}

#[test]
fn file_open_magic_write_and_unlink() {
    if !bpf_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().canonicalize().unwrap();
    let script = format!(
        "cd {d} && printf 'ELF!' > f1 && printf x >> f1 && cat ./f1 > /dev/null && stat -c %i f1 > ino && rm f1",
        d = d.display()
    );
    let (status, evs) = trace(
        "security_file_open,magic_write,security_inode_unlink,openat,unlinkat",
        &[],
        &["sh", "-c", &script],
    );
    assert_eq!(status, 0);
    let f1 = d.join("f1");
    let f1s = f1.to_str().unwrap();
    let ino: u64 = std::fs::read_to_string(d.join("ino"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let dev = kdev(std::fs::metadata(&d).unwrap().dev());
    // `cat ./f1`: resolved pathname and the path as given
    let open = named(&evs, "security_file_open")
        .into_iter()
        .find(|e| e["processName"] == "cat" && arg(e, "pathname") == f1s)
        .expect("cat opening f1");
    assert_eq!(arg(open, "syscall_pathname"), "./f1");
    assert_eq!(arg(open, "inode").as_u64(), Some(ino));
    assert_eq!(arg(open, "dev").as_u64(), Some(dev));
    assert_eq!(open["syscall"], "openat");
    assert_eq!(arg(open, "flags").as_i64().unwrap() & 3, 0, "O_RDONLY");
    // the first write (offset 0) is a magic_write; the append (offset 4) is not
    let mw: Vec<_> = named(&evs, "magic_write")
        .into_iter()
        .filter(|e| arg(e, "pathname") == f1s)
        .collect();
    assert_eq!(mw.len(), 1, "{mw:?}");
    assert_eq!(arg(mw[0], "bytes"), "RUxGIQ==", "base64 of ELF!");
    assert_eq!(arg(mw[0], "inode").as_u64(), Some(ino));
    assert_eq!(mw[0]["returnValue"], 4);
    // rm f1
    let un = named(&evs, "security_inode_unlink");
    assert_eq!(un.len(), 1, "{un:?}");
    assert_eq!(arg(un[0], "pathname"), f1s);
    assert_eq!(arg(un[0], "inode").as_u64(), Some(ino));
    assert_eq!(arg(un[0], "dev").as_u64(), Some(dev));
    assert!(arg(un[0], "ctime").as_u64().unwrap() > 0);
    assert_eq!(un[0]["processName"], "rm");
    // the syscall events decode their arguments too
    let openat = named(&evs, "openat")
        .into_iter()
        .find(|e| e["processName"] == "cat" && arg(e, "pathname") == "./f1")
        .expect("openat of ./f1");
    assert_eq!(arg(openat, "dirfd"), -100);
    let unlinkat = named(&evs, "unlinkat");
    assert_eq!(arg(unlinkat[0], "pathname"), "f1");
}

#[test]
fn sockets_connect_bind_accept_over_ipv4_ipv6_and_unix() {
    if !bpf_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("u.sock");
    let ports = dir.path().join("ports");
    let code = format!(
        r#"
import socket
out = []
for fam, host in ((socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')):
    s = socket.socket(fam); s.bind((host, 0)); s.listen()
    c = socket.socket(fam); c.connect(s.getsockname()); a, _ = s.accept()
    out.append(str(s.getsockname()[1]))
u = socket.socket(socket.AF_UNIX); u.bind('{sock}'); u.listen()
cu = socket.socket(socket.AF_UNIX); cu.connect('{sock}'); au, _ = u.accept()
open('{ports}', 'w').write(' '.join(out))
"#,
        sock = sock.display(),
        ports = ports.display()
    );
    let (status, evs) = trace(
        "security_socket_connect,security_socket_bind,security_socket_accept,connect",
        &[],
        &[PY, "-c", &code],
    );
    assert_eq!(status, 0);
    let p: Vec<String> = std::fs::read_to_string(&ports)
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let sock = sock.to_str().unwrap();
    let connects = named(&evs, "security_socket_connect");
    let binds = named(&evs, "security_socket_bind");
    let accepts = named(&evs, "security_socket_accept");
    let has = |evs: &[&Value], argname: &str, want: Value| {
        assert!(
            evs.iter().any(|e| *arg(e, argname) == want),
            "{argname} {want} not in {evs:?}"
        )
    };
    use serde_json::json;
    has(
        &connects,
        "remote_addr",
        json!({"sa_family": "AF_INET", "sin_addr": "127.0.0.1", "sin_port": p[0]}),
    );
    has(
        &connects,
        "remote_addr",
        json!({"sa_family": "AF_INET6", "sin6_addr": "::1", "sin6_port": p[1], "sin6_flowinfo": "0", "sin6_scopeid": "0"}),
    );
    has(
        &connects,
        "remote_addr",
        json!({"sa_family": "AF_UNIX", "sun_path": sock}),
    );
    has(
        &binds,
        "local_addr",
        json!({"sa_family": "AF_INET", "sin_addr": "127.0.0.1", "sin_port": "0"}),
    );
    has(
        &binds,
        "local_addr",
        json!({"sa_family": "AF_UNIX", "sun_path": sock}),
    );
    has(
        &accepts,
        "local_addr",
        json!({"sa_family": "AF_INET", "sin_addr": "127.0.0.1", "sin_port": p[0]}),
    );
    has(
        &accepts,
        "local_addr",
        json!({"sa_family": "AF_INET6", "sin6_addr": "::1", "sin6_port": p[1], "sin6_flowinfo": "0", "sin6_scopeid": "0"}),
    );
    has(
        &accepts,
        "local_addr",
        json!({"sa_family": "AF_UNIX", "sun_path": sock}),
    );
    for c in &connects {
        assert_eq!(arg(c, "type"), 1, "SOCK_STREAM");
        assert_eq!(c["returnValue"], 0);
    }
    // the plain connect syscall event decodes its sockaddr too
    let sys = named(&evs, "connect");
    assert!(sys.iter().any(|e| arg(e, "addr")["sin_port"] == p[0]));
}

#[test]
fn ptrace_mprotect_wx_to_x_memfd_exec_and_kill() {
    if !bpf_available() {
        return;
    }
    let code = r#"
import ctypes, mmap, os, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
pid = os.fork()
if pid == 0:
    libc.ptrace(0, 0, 0, 0)   # PTRACE_TRACEME
    os._exit(0)
os.waitpid(pid, 0)
m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
assert libc.mprotect(ctypes.c_void_p(addr), 4096, mmap.PROT_READ | mmap.PROT_EXEC) == 0
print(hex(addr), flush=True)
child = os.fork()
if child == 0:
    time.sleep(30)
    os._exit(0)
os.kill(child, signal.SIGTERM)
os.waitpid(child, 0)
fd = os.memfd_create('osprey-memfd')
os.write(fd, open('/bin/true', 'rb').read())
os.execv('/proc/self/fd/%d' % fd, ['memfd-true'])
"#;
    let (status, evs) = trace(
        "ptrace,security_file_mprotect,mem_prot_alert,memfd_create,sched_process_exec,kill",
        &[],
        &[PY, "-c", code],
    );
    assert_eq!(status, 0);
    let pt = named(&evs, "ptrace");
    assert!(
        pt.iter()
            .any(|e| arg(e, "request") == 0 && e["returnValue"] == 0),
        "{pt:?}"
    );
    // mmap RWX: alert 1; mprotect RWX -> RX: alert 4 and security_file_mprotect
    let alerts = named(&evs, "mem_prot_alert");
    let a4 = alerts
        .iter()
        .find(|e| arg(e, "alert") == 4)
        .expect("alert 4");
    assert_eq!(arg(a4, "prot"), 5);
    assert_eq!(arg(a4, "prev_prot"), 7);
    assert_eq!(arg(a4, "len"), 4096);
    let addr = arg(a4, "addr").as_str().unwrap().to_string();
    assert!(alerts
        .iter()
        .any(|e| arg(e, "alert") == 1 && arg(e, "addr") == addr.as_str() && arg(e, "prot") == 7));
    let mp = named(&evs, "security_file_mprotect");
    assert!(mp.iter().any(|e| arg(e, "addr") == addr.as_str()
        && arg(e, "prot") == 5
        && arg(e, "prev_prot") == 7));
    // kill
    let kill = named(&evs, "kill");
    assert_eq!(kill.len(), 1, "{kill:?}");
    assert_eq!(arg(kill[0], "sig"), 15);
    assert!(arg(kill[0], "pid").as_i64().unwrap() > 0);
    // memfd_create + exec of the memfd
    let mc = named(&evs, "memfd_create");
    assert_eq!(arg(mc[0], "name"), "osprey-memfd");
    assert_eq!(arg(mc[0], "flags"), 1, "MFD_CLOEXEC");
    let exec = named(&evs, "sched_process_exec")
        .into_iter()
        .find(|e| arg(e, "pathname") == "memfd:osprey-memfd")
        .unwrap_or_else(|| {
            panic!(
                "no exec of the memfd in {:?}",
                named(&evs, "sched_process_exec")
            )
        });
    assert!(arg(exec, "cmdpath")
        .as_str()
        .unwrap()
        .starts_with("/proc/self/fd/"));
    assert_eq!(arg(exec, "argv"), &serde_json::json!(["memfd-true"]));
}

#[test]
fn dns_query_to_a_local_resolver() {
    if !bpf_available() {
        return;
    }
    let code = r#"
import socket, struct, threading
import random
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# a resolver on port 53 (what DNS parsing keys on): 127.0.0.1 if free, else another loopback address
for host in ['127.0.0.1'] + ['127.%d.%d.%d' % (random.randint(1, 254), random.randint(1, 254), random.randint(1, 254)) for _ in range(20)]:
    try:
        srv.bind((host, 53)); break
    except OSError:
        pass
def serve():
    q, peer = srv.recvfrom(512)
    ident = q[:2]; question = q[12:]
    ans = b'\xc0\x0c' + struct.pack('>HHIH', 1, 1, 60, 4) + bytes([10, 1, 2, 3])
    srv.sendto(ident + b'\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00' + question + ans, peer)
t = threading.Thread(target=serve); t.start()
name = b''.join(bytes([len(p)]) + p for p in b'osprey-test.example'.split(b'.')) + b'\x00'
query = b'\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00' + name + b'\x00\x01\x00\x01'
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.settimeout(5)
c.sendto(query, srv.getsockname()); print(len(c.recvfrom(512)[0])); t.join()
"#;
    let (status, evs) = trace(
        "net_packet_dns_request,net_packet_dns_response,net_packet_dns",
        &[],
        &[PY, "-c", code],
    );
    assert_eq!(status, 0);
    let reqs = named(&evs, "net_packet_dns_request");
    assert!(!reqs.is_empty(), "no DNS request in {evs:?}");
    let q = &arg(reqs[0], "dns_questions")[0];
    assert_eq!(q["query"], "osprey-test.example");
    assert_eq!(q["query_type"], "A");
    assert_eq!(q["query_class"], "IN");
    let meta = arg(reqs[0], "metadata");
    assert_eq!(meta["protocol"], 17);
    assert!(meta["dst_ip"].as_str().unwrap().starts_with("127."));
    assert_eq!(meta["dst_port"], 53);
    assert_eq!(reqs[0]["processName"], "python3");
    let resps = named(&evs, "net_packet_dns_response");
    assert!(!resps.is_empty());
    let r = &arg(resps[0], "dns_response")[0];
    assert_eq!(r["query_data"]["query"], "osprey-test.example");
    assert_eq!(r["dns_answer"][0]["answer"], "10.1.2.3");
    assert_eq!(r["dns_answer"][0]["ttl"], 60);
    let full = named(&evs, "net_packet_dns");
    assert!(full.iter().any(|e| arg(e, "proto_dns")["ID"] == 0x1234));
}

#[test]
fn http_request_and_response_to_a_local_server() {
    if !bpf_available() {
        return;
    }
    let code = r#"
import http.server, threading, urllib.request
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'osprey'
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
srv = http.server.HTTPServer(('127.0.0.1', 0), H)
t = threading.Thread(target=srv.handle_request); t.start()
port = srv.server_address[1]
print(urllib.request.urlopen('http://127.0.0.1:%d/osprey-test?x=1' % port, timeout=5).read())
t.join()
"#;
    let (status, evs) = trace(
        "net_packet_http_request,net_packet_http_response,net_packet_http",
        &[],
        &[PY, "-c", code],
    );
    assert_eq!(status, 0);
    let reqs = named(&evs, "net_packet_http_request");
    assert!(!reqs.is_empty(), "no HTTP request in {evs:?}");
    let r = arg(reqs[0], "http_request");
    assert_eq!(r["method"], "GET");
    assert_eq!(r["uri_path"], "/osprey-test?x=1");
    assert_eq!(r["protocol"], "HTTP/1.1");
    assert!(r["host"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(arg(reqs[0], "metadata")["protocol"], 6);
    let resps = named(&evs, "net_packet_http_response");
    assert!(!resps.is_empty());
    let r = arg(resps[0], "http_response");
    assert_eq!(r["status_code"], 200);
    assert_eq!(r["content_length"], 6);
    assert!(named(&evs, "net_packet_http")
        .iter()
        .any(|e| arg(e, "proto_http")["direction"] == "request"));
}

#[test]
fn scope_comm_filter_and_pcapng_output() {
    if !bpf_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("e.pcapng");
    let pcap_arg = format!("pcapng:{}", pcap.display());
    let (status, evs) = trace(
        "sched_process_exec",
        &["--scope", "comm!=sh", "-o", &pcap_arg],
        &["sh", "-c", "/bin/true; /bin/echo x > /dev/null"],
    );
    assert_eq!(status, 0);
    let comms: Vec<&str> = evs
        .iter()
        .map(|e| e["processName"].as_str().unwrap())
        .collect();
    assert!(
        comms.contains(&"true") && comms.contains(&"echo"),
        "{comms:?}"
    );
    assert!(!comms.contains(&"sh"), "{comms:?}");
    // the same events in the PcapNG file, as Traceeshark expects them
    let bytes = std::fs::read(&pcap).unwrap();
    let mut r = osprey_pcapng::CaptureReader::new(&bytes[..]).unwrap();
    let mut n = 0;
    loop {
        match r.next() {
            osprey_pcapng::Next::Packet(p) => {
                let iface = &r.interfaces()[p.interface];
                assert!(iface.is_tracee_events());
                let ev: Value = serde_json::from_slice(&p.data).unwrap();
                assert_eq!(iface.ts_to_ns(p.ts_raw), ev["timestamp"].as_u64().unwrap());
                assert_eq!(ev, evs[n]);
                n += 1;
            }
            osprey_pcapng::Next::Damage(d) => panic!("{d:?}"),
            osprey_pcapng::Next::End => break,
        }
    }
    assert_eq!(n, evs.len());
}

#[test]
fn syscall_storm_loses_nothing() {
    if !bpf_available() {
        return;
    }
    // 50k getppid calls: every one is delivered, none lost (no timing is asserted)
    let code = "import os\nfor _ in range(50000): os.getppid()\n";
    let (status, evs) = trace("getppid", &["--buffer-size", "256"], &[PY, "-c", code]);
    assert_eq!(status, 0);
    assert!(evs.len() >= 50_000, "{}", evs.len());
    assert!(named(&evs, "lost_events").is_empty());
}

#[test]
fn packets_and_syscalls_at_full_rate_together_keep_every_record_intact() {
    if !bpf_available() {
        return;
    }
    // Packet programs run in softirq and may interrupt a syscall's program on the same CPU:
    // each kind of context builds its record in its own buffer. Both at full rate at once, every
    // record must still be exactly what was done: each openat its own path, each DNS query its
    // own ID and name.
    let code = r#"
import os, socket, random, threading
N = 3000
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for host in ['127.0.0.1'] + ['127.%d.%d.%d' % (random.randint(1, 254), random.randint(1, 254), random.randint(1, 254)) for _ in range(20)]:
    try:
        srv.bind((host, 53)); break
    except OSError:
        pass
def flood():
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(N):
        name = b''.join(bytes([len(p)]) + p for p in (b'q%d' % i, b'osprey', b'test')) + b'\x00'
        c.sendto(i.to_bytes(2, 'big') + b'\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00' + name + b'\x00\x01\x00\x01', srv.getsockname())
t = threading.Thread(target=flood); t.start()
for i in range(N):
    try:
        os.open('/nonexistent-osprey-race/%d' % i, os.O_RDONLY)
    except OSError:
        pass
t.join()
"#;
    let (status, evs) = trace(
        "openat,net_packet_dns_request",
        &["--buffer-size", "256"],
        &[PY, "-c", code],
    );
    assert_eq!(status, 0);
    assert!(named(&evs, "lost_events").is_empty(), "events were lost");
    let mut opened = std::collections::BTreeSet::new();
    for e in named(&evs, "openat") {
        let path = arg(e, "pathname").as_str().unwrap();
        if let Some(i) = path.strip_prefix("/nonexistent-osprey-race/") {
            assert!(opened.insert(i.parse::<u32>().unwrap()), "twice: {path}");
        } else {
            assert!(
                path.starts_with('/') || !path.contains('\u{fffd}'),
                "damaged: {e}"
            );
        }
    }
    assert_eq!(
        opened,
        (0..3000).collect(),
        "openat records damaged or missing"
    );
    // on loopback each query is seen leaving and arriving
    let mut queried = std::collections::BTreeMap::<u32, u32>::new();
    for e in named(&evs, "net_packet_dns_request") {
        let q = &arg(e, "dns_questions")[0];
        let name = q["query"].as_str().unwrap();
        let i: u32 = name
            .strip_prefix('q')
            .and_then(|s| s.strip_suffix(".osprey.test"))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("damaged DNS record: {e}"));
        *queried.entry(i).or_default() += 1;
    }
    assert_eq!(
        queried,
        (0..3000).map(|i| (i, 2)).collect(),
        "packet records damaged or missing"
    );
}
