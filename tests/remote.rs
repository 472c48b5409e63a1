//! `osprey trace --remote` against a real OpenSSH server on loopback: an sshd started here on
//! a free port with a host key and an authorized key generated for the test (needs root, for
//! the tracer and for sshd; Debian's openssh-server from scripts/setup.sh).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Sshd {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(path: &Path) {
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen (scripts/setup.sh installs openssh-client)");
    assert!(st.success());
}

fn sshd() -> Option<Sshd> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !Path::new("/usr/sbin/sshd").exists() {
        if std::env::var("OSPREY_REQUIRE_BPF").as_deref() == Ok("1") {
            panic!("OSPREY_REQUIRE_BPF=1 but not root or no /usr/sbin/sshd");
        }
        eprintln!("skipping: needs root and /usr/sbin/sshd");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keygen(&d.join("host"));
    keygen(&d.join("user"));
    std::fs::copy(d.join("user.pub"), d.join("authorized_keys")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = d.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {h}\nAuthorizedKeysFile {a}\n\
             PermitRootLogin prohibit-password\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile {p}\n\
             Subsystem sftp internal-sftp\n",
            h = d.join("host").display(),
            a = d.join("authorized_keys").display(),
            p = d.join("sshd.pid").display()
        ),
    )
    .unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(&config)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // known_hosts with the server's key
    let host_pub = std::fs::read_to_string(d.join("host.pub")).unwrap();
    let mut kh = std::fs::File::create(d.join("known_hosts")).unwrap();
    writeln!(kh, "[127.0.0.1]:{port} {}", host_pub.trim()).unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Sshd { child, port, dir })
}

fn path(s: &Sshd, name: &str) -> PathBuf {
    s.dir.path().join(name)
}

#[test]
fn trace_runs_on_the_remote_host_and_streams_events_back() {
    let Some(s) = sshd() else { return };
    let out = path(&s, "events.json");
    let r = Command::new(env!("CARGO_BIN_EXE_osprey"))
        .args([
            "trace",
            "--remote",
            &format!("ssh://root@127.0.0.1:{}", s.port),
        ])
        .arg("--identity")
        .arg(path(&s, "user"))
        .arg("--known-hosts")
        .arg(path(&s, "known_hosts"))
        .args(["--remote-osprey", env!("CARGO_BIN_EXE_osprey")])
        .args(["-e", "sched_process_exec", "-o"])
        .arg(format!("json:{}", out.display()))
        .args(["--capture", "exec", "--capture"])
        .arg(format!("dir:{}", path(&s, "remote-out").display()))
        .arg("--remote-copy")
        .arg(path(&s, "copies"))
        .args(["--", "/bin/sh", "-c", "echo 'remote osprey' >/dev/null"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{err}");
    let events = std::fs::read_to_string(&out).unwrap();
    assert!(events.lines().count() >= 1, "{err}");
    assert!(events.contains("sched_process_exec"), "{events}");
    assert!(
        events.contains("remote osprey"),
        "the command line, quoted through the remote shell: {events}"
    );
    assert!(
        err.contains("remote: "),
        "the remote tracer's log is shown: {err}"
    );
    // the remote output directory came back (its out/events.json holds the same events)
    let copies: Vec<_> = std::fs::read_dir(path(&s, "copies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(copies.len(), 1, "{err}");
    assert!(copies[0]
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("127.0.0.1-"));
    let copied = std::fs::read_to_string(copies[0].join("out/events.json")).unwrap();
    assert_eq!(copied, events, "{err}");
    // every line parses as an event
    for l in events.lines() {
        serde_json::from_str::<serde_json::Value>(l).unwrap();
    }
}

#[test]
fn an_unknown_host_key_is_refused() {
    let Some(s) = sshd() else { return };
    let empty = path(&s, "empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let r = Command::new(env!("CARGO_BIN_EXE_osprey"))
        .args([
            "trace",
            "--remote",
            &format!("ssh://root@127.0.0.1:{}", s.port),
        ])
        .arg("--identity")
        .arg(path(&s, "user"))
        .arg("--known-hosts")
        .arg(&empty)
        .args(["--", "/bin/true"])
        .output()
        .unwrap();
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("not in") && err.contains("ssh-keyscan"),
        "{err}"
    );
}

#[test]
fn ctrl_c_stops_the_remote_tracer_and_nothing_stays_running() {
    let Some(s) = sshd() else { return };
    let out = path(&s, "host.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_osprey"))
        .args([
            "trace",
            "--remote",
            &format!("ssh://root@127.0.0.1:{}", s.port),
        ])
        .arg("--identity")
        .arg(path(&s, "user"))
        .arg("--known-hosts")
        .arg(path(&s, "known_hosts"))
        .args(["--remote-osprey", env!("CARGO_BIN_EXE_osprey")])
        .args(["-e", "sched_process_exec", "-o"])
        .arg(format!("json:{}", out.display()))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "osprey --remote did not stop"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("stopping the remote tracer"), "{err}");
    // the remote tracer (a child of this test's sshd) is gone
    std::thread::sleep(Duration::from_millis(500));
    let ps = Command::new("pgrep")
        .args([
            "-f",
            &format!(
                "{} trace -o json -e sched_process_exec$",
                env!("CARGO_BIN_EXE_osprey")
            ),
        ])
        .output()
        .unwrap();
    assert!(
        ps.stdout.is_empty(),
        "left running: {}",
        String::from_utf8_lossy(&ps.stdout)
    );
}

/// An ssh-agent of the test's own, on a socket in its directory, holding `key`.
struct Agent {
    child: Child,
    sock: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent(s: &Sshd, key: &Path) -> Agent {
    let sock = path(s, "agent.sock");
    let child = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(Stdio::null())
        .spawn()
        .expect("ssh-agent (scripts/setup.sh installs openssh-client)");
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let added = Command::new("ssh-add")
        .arg("-q")
        .arg(key)
        .env("SSH_AUTH_SOCK", &sock)
        .status()
        .unwrap();
    assert!(added.success());
    Agent { child, sock }
}

#[test]
fn the_users_ssh_agent_authenticates_when_no_key_file_does() {
    let Some(s) = sshd() else { return };
    // a home without ~/.ssh: the agent is the only way in
    let home = path(&s, "home");
    std::fs::create_dir_all(&home).unwrap();
    let trace = |agent: Option<&Agent>| {
        let out = path(&s, "agent-events.json");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_osprey"));
        cmd.args([
            "trace",
            "--remote",
            &format!("ssh://root@127.0.0.1:{}", s.port),
        ])
        .arg("--known-hosts")
        .arg(path(&s, "known_hosts"))
        .args(["--remote-osprey", env!("CARGO_BIN_EXE_osprey")])
        .args(["-e", "sched_process_exec", "-o"])
        .arg(format!("json:{}", out.display()))
        .args(["--", "/bin/true"])
        .env("HOME", &home)
        .env_remove("SSH_AUTH_SOCK");
        if let Some(a) = agent {
            cmd.env("SSH_AUTH_SOCK", &a.sock);
        }
        let r = cmd.output().unwrap();
        let events = std::fs::read_to_string(&out).unwrap_or_default();
        (r, events)
    };
    let (r, _) = trace(None);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(!r.status.success());
    assert!(err.contains("refused every key tried"), "{err}");
    let a = agent(&s, &path(&s, "user"));
    let (r, events) = trace(Some(&a));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{err}");
    assert!(events.contains("sched_process_exec"), "{err}");
}

#[test]
fn view_live_ssh_follows_the_remote_tracer_and_stop_ends_it() {
    let Some(s) = sshd() else { return };
    // Processes of this name are the traced workload.
    let workload = path(&s, "osprvssh");
    std::fs::copy("/bin/true", &workload).unwrap();
    let url = format!("ssh://root@127.0.0.1:{}", s.port);
    let identity = path(&s, "user").display().to_string();
    let known = path(&s, "known_hosts").display().to_string();
    let (_view, http, token) = crate::util::view_live(&[
        &url,
        "--",
        "--identity",
        &identity,
        "--known-hosts",
        &known,
        "--remote-osprey",
        env!("CARGO_BIN_EXE_osprey"),
        "-e",
        "sched_process_exec",
        "--scope",
        "comm=osprvssh",
    ]);
    let token = token.as_str();
    let start = std::time::Instant::now();
    loop {
        Command::new(&workload).status().unwrap();
        let st = crate::util::view_api(http, token, "GET", "/api/status");
        if st["index"]["frames"].as_u64().unwrap() >= 3 {
            break;
        }
        let live = crate::util::view_api(http, token, "GET", "/api/live");
        assert_eq!(live["state"]["phase"], "running", "{live}");
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no events: {live}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The workload's execs (and the findings of the signatures the tracer runs on them).
    let rows = crate::util::view_api(http, token, "GET", "/api/rows?limit=1000");
    let rows = rows["rows"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["cells"][6] == "osprvssh"), "{rows:?}");
    assert!(
        rows.iter().any(|r| r["cells"][8] == "sched_process_exec"),
        "{rows:?}"
    );
    let log = crate::util::view_api(http, token, "GET", "/api/live/log");
    assert!(log.to_string().contains("--remote"), "{log}");
    crate::util::view_api(http, token, "POST", "/api/live/stop");
    crate::util::wait_view(http, token, "/api/live", |v| v["state"]["phase"] == "ended");
    let live = crate::util::view_api(http, token, "GET", "/api/live");
    assert_eq!(live["state"]["exit"], 0, "{live}");
    crate::util::wait_view(http, token, "/api/status", |v| v["index"]["done"] == true);
    // The remote tracer's own log (its stderr over the channel) is in the capture's log.
    let log = crate::util::view_api(http, token, "GET", "/api/live/log");
    assert!(
        log["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().starts_with("remote: ")),
        "{log}"
    );
    // The remote tracer (under this test's sshd) is gone too.
    std::thread::sleep(Duration::from_millis(500));
    let ps = Command::new("pgrep")
        .args(["-f", "trace -o json .*comm=osprvssh"])
        .output()
        .unwrap();
    assert!(
        ps.stdout.is_empty(),
        "left running: {}",
        String::from_utf8_lossy(&ps.stdout)
    );
}

/// `osprey trace --remote` to the test's sshd, with its key and known_hosts and this osprey.
fn remote_trace(s: &Sshd) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_osprey"));
    c.args([
        "trace",
        "--remote",
        &format!("ssh://root@127.0.0.1:{}", s.port),
    ])
    .arg("--identity")
    .arg(path(s, "user"))
    .arg("--known-hosts")
    .arg(path(s, "known_hosts"))
    .args(["--remote-osprey", env!("CARGO_BIN_EXE_osprey")]);
    c
}

/// Every path under `dir` (not following links), relative, with its metadata.
fn walk(dir: &Path) -> Vec<(PathBuf, std::fs::Metadata)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                todo.push(p.clone());
            }
            out.push((p.strip_prefix(dir).unwrap().to_path_buf(), m));
        }
    }
    out
}

fn names(dir: &Path) -> std::collections::BTreeSet<std::ffi::OsString> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect()
}

/// The folders `HOST-UNIXTIME` made under `dir`.
fn copies_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn the_copy_at_stop_comes_over_sftp_with_hostile_names_kept_inside() {
    use std::os::unix::fs::PermissionsExt;
    let Some(s) = sshd() else { return };
    let remote = path(&s, "remote-out");
    // Planted in the remote output directory beside the capture's out/ (which the tracer
    // keeps): nested directories, names a shell or a naive copier would mistake, a big
    // file, a setuid one, and links and a FIFO that must not be followed or read.
    std::fs::create_dir_all(remote.join("nested/a/b")).unwrap();
    std::fs::write(remote.join("nested/a/b/deep.txt"), "deep\n").unwrap();
    let hostile = [
        "line\nbreak",
        " spaced name ",
        "-rf",
        "--help",
        "x; rm -rf ~",
        "\\back\\slash",
        "é\u{202e}txt.exe",
        "..hidden",
        "\rosprey: --remote: copy done {}",
    ];
    for (i, n) in hostile.iter().enumerate() {
        std::fs::write(remote.join("nested").join(n), format!("content {i}\n")).unwrap();
    }
    let big: Vec<u8> = (0..3 * 1024 * 1024 + 17u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(remote.join("big.bin"), &big).unwrap();
    std::fs::write(remote.join("tool"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(remote.join("tool"), std::fs::Permissions::from_mode(0o4750)).unwrap();
    let outside = path(&s, "outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "SECRET-OUTSIDE").unwrap();
    std::os::unix::fs::symlink(&outside, remote.join("link-dir")).unwrap();
    std::os::unix::fs::symlink(
        outside.join("secret.txt"),
        remote.join("nested/a/link-file"),
    )
    .unwrap();
    std::os::unix::fs::symlink("../../outside", remote.join("relative-link")).unwrap();
    // a skipped entry is named in the log: escaped, it cannot pass for a line of its own
    std::os::unix::fs::symlink(
        "../../outside",
        remote.join("\nosprey: --remote: copy done {\"path\":\"forged\"}"),
    )
    .unwrap();
    let fifo = std::ffi::CString::new(remote.join("fifo").to_str().unwrap()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let before = names(s.dir.path());

    let out = path(&s, "sftp-events.json");
    let copies = path(&s, "copies");
    let r = remote_trace(&s)
        .args(["-e", "sched_process_exec", "-o"])
        .arg(format!("json:{}", out.display()))
        .args(["--capture", "exec", "--capture"])
        .arg(format!("dir:{}", remote.display()))
        .arg("--remote-copy")
        .arg(&copies)
        .args(["--", "/bin/true"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{err}");
    assert!(err.contains("(SFTP)") && err.contains("copy done"), "{err}");

    let made = copies_in(&copies);
    assert_eq!(made.len(), 1, "{err}");
    let c = &made[0];
    assert!(c
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("127.0.0.1-"));
    assert_eq!(
        std::fs::read_to_string(c.join("nested/a/b/deep.txt")).unwrap(),
        "deep\n"
    );
    for (i, n) in hostile.iter().enumerate() {
        let got = std::fs::read_to_string(c.join("nested").join(n))
            .unwrap_or_else(|e| panic!("{n:?}: {e}\n{err}"));
        assert_eq!(got, format!("content {i}\n"), "{n:?}");
    }
    assert!(
        std::fs::read(c.join("big.bin")).unwrap() == big,
        "big.bin differs"
    );
    let mode = std::fs::metadata(c.join("tool"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o750, "setuid dropped, the rest kept");
    // the capture's own output came too
    let events = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        std::fs::read_to_string(c.join("out/events.json")).unwrap(),
        events
    );
    // links and the FIFO: not there, said so; nothing of what they point to anywhere
    for gone in ["link-dir", "nested/a/link-file", "relative-link", "fifo"] {
        assert!(
            std::fs::symlink_metadata(c.join(gone)).is_err(),
            "{gone} was copied"
        );
    }
    assert!(
        err.contains("skipped \"link-dir\": a symbolic link (not followed)"),
        "{err}"
    );
    assert!(err.contains("skipped \"fifo\": a FIFO"), "{err}");
    for (p, m) in walk(&copies) {
        assert!(m.is_dir() || m.is_file(), "{p:?} is neither");
        if m.is_file() {
            let data = std::fs::read(copies.join(&p)).unwrap();
            assert!(
                !String::from_utf8_lossy(&data).contains("SECRET-OUTSIDE"),
                "{p:?} holds what a link pointed to"
            );
        }
    }
    // nothing beside the destination: the test's directory holds only what the run named
    let new: Vec<_> = names(s.dir.path()).difference(&before).cloned().collect();
    assert_eq!(new, ["copies", "sftp-events.json"], "{err}");
    // a name that looks like the report line did not make one
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("osprey: --remote: copy done"))
            .count(),
        1,
        "{err}"
    );
}

#[test]
fn a_copy_without_a_remote_directory_fails_and_the_trace_still_succeeds() {
    let Some(s) = sshd() else { return };
    let out = path(&s, "nodir-events.json");
    let copies = path(&s, "copies");
    // no --capture: nothing to copy
    let r = remote_trace(&s)
        .args(["-e", "sched_process_exec", "-o"])
        .arg(format!("json:{}", out.display()))
        .arg("--remote-copy")
        .arg(&copies)
        .args(["--", "/bin/true"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{err}");
    assert!(
        err.contains("copy failed: nothing to copy without --capture"),
        "{err}"
    );
    assert!(copies_in(&copies).is_empty());
}

#[test]
fn sigusr1_copies_the_output_directory_while_the_trace_goes_on() {
    use std::io::BufRead;
    let Some(s) = sshd() else { return };
    let remote = path(&s, "od-out");
    let out = path(&s, "od-events.json");
    let copies = path(&s, "copies");
    // Processes of this name are the traced workload.
    let workload = path(&s, "osprusr1");
    std::fs::copy("/bin/true", &workload).unwrap();
    let mut child = remote_trace(&s)
        .args(["-e", "sched_process_exec", "--scope", "comm=osprusr1", "-o"])
        .arg(format!("json:{}", out.display()))
        .args(["--capture", "profile", "--capture"])
        .arg(format!("dir:{}", remote.display()))
        .arg("--remote-copy")
        .arg(&copies)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let log = log.clone();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(err).lines() {
                let l = l.unwrap_or_default();
                let mut g = log.lock().unwrap();
                g.push_str(&l);
                g.push('\n');
            }
        })
    };
    let log_text = || log.lock().unwrap().clone();
    let events = || {
        std::fs::read_to_string(&out)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let wait = |what: &str, ok: &dyn Fn() -> bool| {
        let start = std::time::Instant::now();
        while !ok() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{what}: {}",
                log_text()
            );
            Command::new(&workload).status().unwrap();
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    // The remote tracer runs: its events arrive.
    wait("no events", &|| events() >= 1);
    std::fs::write(remote.join("planted.txt"), "planted during the trace\n").unwrap();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGUSR1) };
    wait("no copy", &|| log_text().contains("copy done"));
    assert!(child.try_wait().unwrap().is_none(), "{}", log_text());
    let made = copies_in(&copies);
    assert_eq!(made.len(), 1, "{}", log_text());
    assert_eq!(
        std::fs::read_to_string(made[0].join("planted.txt")).unwrap(),
        "planted during the trace\n"
    );
    assert!(made[0].join("out").is_dir());
    assert!(log_text().contains(&format!("\"path\":\"{}\"", made[0].display())));
    // The trace goes on: more events after the copy.
    let n = events();
    wait("no events after the copy", &|| events() > n);
    assert!(child.try_wait().unwrap().is_none());
    // SAFETY: as above.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    reader.join().unwrap();
    assert!(status.success(), "{}", log_text());
    // and the copy at stop is one more folder
    assert_eq!(copies_in(&copies).len(), 2, "{}", log_text());
}

#[test]
fn view_live_ssh_fetch_output_copies_the_remote_directory_while_it_runs() {
    let Some(s) = sshd() else { return };
    let workload = path(&s, "osprfetch");
    std::fs::copy("/bin/true", &workload).unwrap();
    let remote = path(&s, "fetch-out");
    let copies = path(&s, "fetched");
    let url = format!("ssh://root@127.0.0.1:{}", s.port);
    let identity = path(&s, "user").display().to_string();
    let known = path(&s, "known_hosts").display().to_string();
    let dir = format!("dir:{}", remote.display());
    let copies_arg = copies.display().to_string();
    let (_view, http, token) = crate::util::view_live(&[
        &url,
        "--",
        "--identity",
        &identity,
        "--known-hosts",
        &known,
        "--remote-osprey",
        env!("CARGO_BIN_EXE_osprey"),
        "-e",
        "sched_process_exec",
        "--scope",
        "comm=osprfetch",
        "--capture",
        "profile",
        "--capture",
        &dir,
        "--remote-copy",
        &copies_arg,
    ]);
    let token = token.as_str();
    let start = std::time::Instant::now();
    loop {
        Command::new(&workload).status().unwrap();
        let st = crate::util::view_api(http, token, "GET", "/api/status");
        if st["index"]["frames"].as_u64().unwrap() >= 1 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no events");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::fs::write(remote.join("note.txt"), "fetched\n").unwrap();
    let st = crate::util::view_api(http, token, "POST", "/api/live/copy-output");
    assert_eq!(st["copying"], true, "{st}");
    crate::util::wait_view(http, token, "/api/live", |v| {
        v["state"]["copies"].as_array().map(Vec::len) == Some(1)
    });
    let live = crate::util::view_api(http, token, "GET", "/api/live");
    assert_eq!(
        live["state"]["phase"], "running",
        "the capture goes on: {live}"
    );
    assert_eq!(live["state"]["copying"], false);
    let folder = PathBuf::from(live["state"]["copies"][0]["path"].as_str().unwrap());
    assert_eq!(folder.parent().unwrap(), copies, "{live}");
    assert_eq!(
        std::fs::read_to_string(folder.join("note.txt")).unwrap(),
        "fetched\n"
    );
    assert!(live["state"]["copies"][0]["files"].as_u64().unwrap() >= 1);
    // Events still come after the copy.
    let before = crate::util::view_api(http, token, "GET", "/api/status")["index"]["frames"]
        .as_u64()
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        Command::new(&workload).status().unwrap();
        let st = crate::util::view_api(http, token, "GET", "/api/status");
        if st["index"]["frames"].as_u64().unwrap() > before {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no events after the copy"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    crate::util::view_api(http, token, "POST", "/api/live/stop");
    crate::util::wait_view(http, token, "/api/live", |v| v["state"]["phase"] == "ended");
    // --remote-copy: one more copy at stop.
    let live = crate::util::view_api(http, token, "GET", "/api/live");
    assert_eq!(live["state"]["exit"], 0, "{live}");
    assert_eq!(
        live["state"]["copies"].as_array().unwrap().len(),
        2,
        "{live}"
    );
    assert_eq!(copies_in(&copies).len(), 2);
}
