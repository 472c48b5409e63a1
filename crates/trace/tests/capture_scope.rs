//! Artifacts follow `--scope`: with userspace scope filters (comm=, executable=, follow), only
//! the processes whose events are shown have their binaries, written files and packets
//! captured; the others' held execs are let go, and their binaries stay capturable later.
//!
//! Each test traces a command it starts (`-- sh -c ...`), so the kernel's part of the scope
//! is the command's process tree and the userspace part picks inside it. Without root the
//! tests skip, unless OSPREY_REQUIRE_BPF=1, which makes that a failure.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use serde_json::Value;

mod common;

use common::{bpf_available, Cli};

/// Writes `argv[1]` ("content of NAME"), sends `argv[3]` in a UDP datagram to 127.0.0.1 port
/// `argv[2]`, and with `argv[4]` forks a child that execs it with `argv[5..8]`.
const PROG: &str = r#"
#include <stdlib.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 4) return 2;
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 3;
    char buf[256];
    int n = snprintf(buf, sizeof buf, "content of %s\n", argv[3]);
    if (write(fd, buf, n) != n) return 4;
    close(fd);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[2]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (sendto(s, argv[3], strlen(argv[3]), 0, (struct sockaddr *)&a, sizeof a) < 0) return 5;
    close(s);
    if (argc >= 8) {
        pid_t c = fork();
        if (c == 0) {
            char *args[] = {argv[4], argv[5], argv[6], argv[7], NULL};
            execv(argv[4], args);
            _exit(6);
        }
        int st = 0;
        waitpid(c, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return 7;
    }
    return 0;
}
"#;

struct Work {
    dir: tempfile::TempDir,
    /// The program copied under three names: in scope, its child, out of scope.
    inside: PathBuf,
    kid: PathBuf,
    outside: PathBuf,
}

fn work() -> Work {
    // ext4 (not tmpfs); a fresh directory, so the binaries are new to the kernel's dedup
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let d = dir.path().canonicalize().unwrap();
    let c = d.join("prog.c");
    std::fs::write(&c, PROG).unwrap();
    let bin = d.join("prog");
    let st = Command::new("cc")
        .args(["-O1", "-o"])
        .arg(&bin)
        .arg(&c)
        .status()
        .expect("cc (gcc) is needed for the capture tests");
    assert!(st.success());
    // names unique to this run: comm is the first 15 bytes of the name
    let tag = std::process::id() % 100_000;
    let copy = |name: String| {
        let p = d.join(name);
        std::fs::copy(&bin, &p).unwrap();
        p
    };
    Work {
        inside: copy(format!("capin{tag}")),
        kid: copy(format!("capkid{tag}")),
        outside: copy(format!("capout{tag}")),
        dir,
    }
}

impl Work {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().canonicalize().unwrap().join(name)
    }

    /// The command: the in-scope program (whose child is `kid`), then the out-of-scope one
    /// under `timeout` (a task left stopped would make it fail), its status kept in `rc`.
    fn script(&self) -> String {
        let s = |p: &Path| p.display().to_string();
        format!(
            "{inside} {win} 9 in-payload-{tag} {kid} {wkid} 9 kid-payload-{tag} && \
             timeout 30 {outside} {wout} 9 out-payload-{tag}; echo $? > {rc}",
            inside = s(&self.inside),
            kid = s(&self.kid),
            outside = s(&self.outside),
            win = s(&self.path("in.txt")),
            wkid = s(&self.path("kid.txt")),
            wout = s(&self.path("out.txt")),
            rc = s(&self.path("rc")),
            tag = self.tag(),
        )
    }

    fn tag(&self) -> u32 {
        std::process::id() % 100_000
    }
}

struct Run {
    out: PathBuf,
    _dir: tempfile::TempDir,
    records: Vec<Value>,
    events: Vec<Value>,
}

fn read_lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn capture(scope: &[&str], w: &Work) -> Run {
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let dir_opt = format!("dir:{}", dir.path().display());
    let script = w.script();
    let mut argv = vec![
        "trace",
        "-q",
        "-e",
        "sched_process_exit",
        "-o",
        "json:/dev/null",
        "--buffer-size",
        "16",
        "--capture-buffer-size",
        "64",
    ];
    for c in [
        "exec",
        "write",
        "net=lo",
        "pcap:per-process",
        "pcap:single",
        &dir_opt,
    ] {
        argv.push("--capture");
        argv.push(c);
    }
    for s in scope {
        argv.push("--scope");
        argv.push(s);
    }
    argv.extend_from_slice(&["--", "sh", "-c", &script]);
    let cli = Cli::try_parse_from(argv).unwrap();
    let status = osprey_trace::run_status(cli.trace).unwrap();
    assert_eq!(status, 0, "{script}");
    // the program out of scope ran to its end: its held exec was let go
    let rc = std::fs::read_to_string(w.path("rc")).unwrap();
    assert_eq!(rc.trim(), "0", "the out-of-scope program's status");
    for f in ["in.txt", "kid.txt", "out.txt"] {
        assert!(w.path(f).exists(), "{f} was not written");
    }
    let out = dir.path().join("out");
    Run {
        records: read_lines(&out.join("artifacts.jsonl")),
        events: read_lines(&out.join("events.json")),
        out,
        _dir: dir,
    }
}

impl Run {
    /// The original paths of the artifacts of one kind.
    fn originals(&self, kind: &str) -> HashSet<String> {
        self.records
            .iter()
            .filter(|r| r["kind"] == kind)
            .map(|r| r["original_path"].as_str().unwrap().to_string())
            .collect()
    }

    /// The names of the processes of the artifacts of one kind.
    fn comms(&self, kind: &str) -> HashSet<String> {
        self.records
            .iter()
            .filter(|r| r["kind"] == kind)
            .map(|r| r["process"]["processName"].as_str().unwrap().to_string())
            .collect()
    }

    /// The processes whose events were shown.
    fn shown_pids(&self) -> HashSet<u64> {
        self.events
            .iter()
            .map(|e| e["hostProcessId"].as_u64().unwrap())
            .collect()
    }

    /// Every artifact is of a process whose events are shown, and every file is in the index.
    fn check_consistent(&self) {
        let shown = self.shown_pids();
        let mut files = HashSet::new();
        for r in &self.records {
            if r["kind"] == "pcap" && r["process"]["hostProcessId"] == 0 {
                // pcap:single has no one process
            } else if r["kind"] != "profile" {
                let pid = r["process"]["hostProcessId"].as_u64().unwrap();
                assert!(shown.contains(&pid), "no event of the process of {r}");
            }
            let p = r["path"].as_str().unwrap();
            if !p.is_empty() {
                files.insert(p.to_string());
            }
        }
        // nothing stored that the index does not list (but what the capture always writes)
        let mut stack = vec![self.out.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let rel = p.strip_prefix(&self.out).unwrap().display().to_string();
                if ["events.json", "artifacts.jsonl", "written_files"].contains(&rel.as_str()) {
                    continue;
                }
                assert!(files.contains(&rel), "{rel} is not in the index");
            }
        }
    }

    fn single_pcap(&self) -> Vec<u8> {
        std::fs::read(self.out.join("pcap/single.pcap")).unwrap_or_default()
    }

    fn per_process_pcaps(&self) -> Vec<String> {
        let d = self.out.join("pcap/processes/host");
        std::fs::read_dir(d)
            .map(|r| {
                r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

fn set(items: &[&Path]) -> HashSet<String> {
    items.iter().map(|p| p.display().to_string()).collect()
}

#[test]
fn comm_scope_captures_only_that_commands_artifacts() {
    if !bpf_available() {
        return;
    }
    let w = work();
    let comm = name(&w.inside);
    let run = capture(&[&format!("comm={comm}")], &w);
    // sh, timeout, the child and the program out of scope ran binaries too: not captured
    assert_eq!(
        run.originals("exec"),
        set(&[&w.inside]),
        "{:#?}",
        run.records
    );
    assert_eq!(run.originals("write"), set(&[&w.path("in.txt")]));
    assert_eq!(run.comms("pcap").len(), 1, "{:#?}", run.records);
    let pcaps = run.per_process_pcaps();
    assert!(
        pcaps.len() == 1 && pcaps[0].starts_with(&format!("{comm}_")),
        "{pcaps:?}"
    );
    let single = run.single_pcap();
    assert!(contains(&single, &format!("in-payload-{}", w.tag())));
    assert!(!contains(&single, &format!("out-payload-{}", w.tag())));
    assert!(!contains(&single, &format!("kid-payload-{}", w.tag())));
    run.check_consistent();
}

#[test]
fn follow_captures_the_descendants_artifacts_too() {
    if !bpf_available() {
        return;
    }
    let w = work();
    let comm = name(&w.inside);
    let run = capture(&[&format!("comm={comm}"), "follow"], &w);
    assert_eq!(
        run.originals("exec"),
        set(&[&w.inside, &w.kid]),
        "{:#?}",
        run.records
    );
    assert_eq!(
        run.originals("write"),
        set(&[&w.path("in.txt"), &w.path("kid.txt")])
    );
    let mut pcaps = run.per_process_pcaps();
    pcaps.sort();
    assert_eq!(pcaps.len(), 2, "{pcaps:?}");
    assert!(pcaps[0].starts_with(&format!("{comm}_")), "{pcaps:?}");
    assert!(
        pcaps[1].starts_with(&format!("{}_", name(&w.kid))),
        "{pcaps:?}"
    );
    let single = run.single_pcap();
    assert!(contains(&single, &format!("in-payload-{}", w.tag())));
    assert!(contains(&single, &format!("kid-payload-{}", w.tag())));
    assert!(!contains(&single, &format!("out-payload-{}", w.tag())));
    run.check_consistent();
}

#[test]
fn executable_scope_captures_only_that_binarys_artifacts() {
    if !bpf_available() {
        return;
    }
    let w = work();
    let run = capture(&[&format!("executable={}", w.inside.display())], &w);
    assert_eq!(
        run.originals("exec"),
        set(&[&w.inside]),
        "{:#?}",
        run.records
    );
    assert_eq!(run.originals("write"), set(&[&w.path("in.txt")]));
    let pcaps = run.per_process_pcaps();
    assert!(
        pcaps.len() == 1 && pcaps[0].starts_with(&format!("{}_", name(&w.inside))),
        "{pcaps:?}"
    );
    run.check_consistent();
}

/// A binary whose first exec was out of scope (held, let go, not captured) is captured at a
/// later exec in scope: the kernel forgot it.
#[test]
fn a_binary_skipped_out_of_scope_is_captured_when_run_in_scope() {
    if !bpf_available() {
        return;
    }
    let w = work();
    let comm = name(&w.inside);
    // the same binary, run first by a process out of scope, then in scope (follow: the
    // in-scope program's child runs it)
    let shared = w.path("capshared");
    std::fs::copy(&w.kid, &shared).unwrap();
    let s = |p: &Path| p.display().to_string();
    let script = format!(
        "{shared} {a} 9 first-{t} && {inside} {b} 9 in-{t} {shared} {c} 9 second-{t}",
        shared = s(&shared),
        inside = s(&w.inside),
        a = s(&w.path("a.txt")),
        b = s(&w.path("b.txt")),
        c = s(&w.path("c.txt")),
        t = w.tag(),
    );
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let dir_opt = format!("dir:{}", dir.path().display());
    let scope = format!("comm={comm}");
    let argv = vec![
        "trace",
        "-q",
        "-e",
        "sched_process_exit",
        "-o",
        "json:/dev/null",
        "--capture",
        "exec",
        "--capture",
        &dir_opt,
        "--scope",
        &scope,
        "--scope",
        "follow",
        "--",
        "sh",
        "-c",
        &script,
    ];
    let cli = Cli::try_parse_from(argv).unwrap();
    assert_eq!(osprey_trace::run_status(cli.trace).unwrap(), 0);
    let records = read_lines(&dir.path().join("out/artifacts.jsonl"));
    let execs: Vec<&Value> = records.iter().filter(|r| r["kind"] == "exec").collect();
    let of_shared: Vec<&&Value> = execs
        .iter()
        .filter(|r| r["original_path"] == s(&shared))
        .collect();
    assert_eq!(of_shared.len(), 1, "{execs:#?}");
    let r = of_shared[0];
    assert_eq!(r["complete"], true, "{r}");
    assert!(!r["path"].as_str().unwrap().is_empty(), "{r}");
    // the copy is of the in-scope run: the child of the in-scope program
    let stored = std::fs::read(dir.path().join("out").join(r["path"].as_str().unwrap())).unwrap();
    assert_eq!(stored, std::fs::read(&shared).unwrap());
}
