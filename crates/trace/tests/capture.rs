//! End-to-end tests of `osprey trace --capture`: real BPF programs, real processes, and the
//! captured bytes compared with the real ones (SHA-256).
//!
//! Each test traces only a command it starts (`-- CMD`), so it sees its own process tree even
//! while other tests and other people's processes run. Without root the tests skip, unless
//! OSPREY_REQUIRE_BPF=1, which makes that a failure. No timing is asserted.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use serde_json::Value;
use sha2::{Digest, Sha256};

mod common;

use common::{bpf_available, Cli, PY};

struct Run {
    dir: tempfile::TempDir,
    status: i32,
    records: Vec<Value>,
    events: Vec<Value>,
}

impl Run {
    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }
    fn kind(&self, kind: &str) -> Vec<&Value> {
        self.records.iter().filter(|r| r["kind"] == kind).collect()
    }
    fn by_original(&self, path: &Path) -> &Value {
        let p = path.to_str().unwrap();
        let found: Vec<&Value> = self
            .records
            .iter()
            .filter(|r| r["original_path"] == p)
            .collect();
        assert_eq!(found.len(), 1, "one artifact for {p}: {:#?}", self.records);
        found[0]
    }
    fn bytes(&self, rec: &Value) -> Vec<u8> {
        std::fs::read(self.out().join(rec["path"].as_str().unwrap())).unwrap()
    }
}

/// Runs `cmd` under `osprey trace --capture dir:<tmp> OPTS...`.
fn capture(opts: &[&str], cmd: &[&str]) -> Run {
    capture_with(opts, &["--capture-buffer-size", "64"], cmd)
}

fn capture_with(opts: &[&str], extra: &[&str], cmd: &[&str]) -> Run {
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let dir_opt = format!("dir:{}", dir.path().display());
    let mut argv = vec![
        "trace",
        "-q",
        "-e",
        "sched_process_exit",
        "-o",
        "json:/dev/null",
        "--buffer-size",
        "16",
        "--capture",
        &dir_opt,
    ];
    for o in opts {
        argv.push("--capture");
        argv.push(o);
    }
    argv.extend_from_slice(extra);
    argv.push("--");
    argv.extend_from_slice(cmd);
    let cli = Cli::try_parse_from(argv).unwrap();
    let status = osprey_trace::run_status(cli.trace).unwrap();
    let out = dir.path().join("out");
    let records = read_lines(&out.join("artifacts.jsonl"));
    let events = read_lines(&out.join("events.json"));
    // every artifact path is inside out/ and hashes to what the index says
    let real_out = out.canonicalize().unwrap();
    for r in &records {
        let p = r["path"].as_str().unwrap();
        if p.is_empty() {
            // an artifact that could not be stored (budget): said so, with the lost range
            assert_eq!(r["complete"], false, "{r}");
            assert!(!r["lost"].as_array().unwrap().is_empty(), "{r}");
            continue;
        }
        let full = real_out.join(p).canonicalize().unwrap();
        assert!(full.starts_with(&real_out), "{p} escapes out/");
        let bytes = std::fs::read(&full).unwrap();
        assert_eq!(r["size"].as_u64(), Some(bytes.len() as u64), "{r}");
        if r["kind"] != "exec" || r["complete"] == true {
            assert_eq!(r["sha256"], sha(&bytes), "{r}");
        }
    }
    Run {
        dir,
        status,
        records,
        events,
    }
}

fn read_lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn sha(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn sha_file(p: &Path) -> String {
    sha(&std::fs::read(p).unwrap())
}

/// The kernel's dev_t encoding of a userspace `st_dev`.
fn kdev(st_dev: u64) -> u64 {
    let major = (st_dev >> 8) & 0xfff;
    let minor = (st_dev & 0xff) | ((st_dev >> 12) & 0xfff00);
    (major << 20) | minor
}

fn work_dir() -> tempfile::TempDir {
    // ext4 here (not tmpfs), so that inode numbers are reused as on a real disk
    tempfile::tempdir_in("/var/tmp").unwrap()
}

#[test]
fn written_files_are_rebuilt_byte_for_byte() {
    if !bpf_available() {
        return;
    }
    let w = work_dir();
    let d = w.path().canonicalize().unwrap();
    let code = format!(
        r#"
import os
d = {d:?}
# scattered offsets with write, pwrite, writev, pwritev; out of order, with holes filled later
fd = os.open(d + '/scattered', os.O_CREAT | os.O_WRONLY, 0o644)
for i in [7, 3, 9, 0, 5, 1, 8, 2, 6, 4]:
    block = bytes([(i * 31 + j) % 251 for j in range(3000)])
    if i % 4 == 0:
        os.lseek(fd, i * 3000, 0); os.write(fd, block)
    elif i % 4 == 1:
        os.pwrite(fd, block, i * 3000)
    elif i % 4 == 2:
        os.lseek(fd, i * 3000, 0); os.writev(fd, [block[:1000], block[1000:1001], block[1001:]])
    else:
        os.pwritev(fd, [block[:1500], block[1500:]], i * 3000)
os.close(fd)
# appends, from two descriptors
a = os.open(d + '/appended', os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
b = os.open(d + '/appended', os.O_WRONLY | os.O_APPEND)
for i in range(50):
    os.write(a if i % 2 else b, b'line %d\n' % i)
os.close(a); os.close(b)
# two files with the same name in different directories
for sub in ('x', 'y'):
    os.mkdir(d + '/' + sub)
    with open(d + '/' + sub + '/same.txt', 'w') as f:
        f.write('content of ' + sub * 100)
# a file rewritten shorter (O_TRUNC) and one cut with ftruncate
with open(d + '/rewritten', 'w') as f: f.write('a long first version ' * 40)
with open(d + '/rewritten', 'w') as f: f.write('short')
with open(d + '/cut', 'w') as f:
    f.write('0123456789' * 100); f.flush(); os.ftruncate(f.fileno(), 123)
"#
    );
    let run = capture(&["write"], &[PY, "-c", &code]);
    assert_eq!(run.status, 0);
    for name in [
        "scattered",
        "appended",
        "x/same.txt",
        "y/same.txt",
        "rewritten",
        "cut",
    ] {
        let real = d.join(name);
        let rec = run.by_original(&real);
        assert_eq!(rec["sha256"], sha_file(&real), "{name}: {rec}");
        assert_eq!(rec["complete"], true, "{name}");
        assert_eq!(rec["lost"], serde_json::json!([]));
        let meta = std::fs::metadata(&real).unwrap();
        assert_eq!(
            rec["path"],
            format!("host/write.dev-{}.inode-{}", kdev(meta.dev()), meta.ino()),
            "Tracee's name"
        );
        assert_eq!(rec["process"]["processName"], "python3");
        assert!(rec["first_seen"].as_u64() <= rec["last_seen"].as_u64());
    }
    // Tracee's written_files list
    let wf = std::fs::read_to_string(run.out().join("written_files")).unwrap();
    assert!(
        wf.contains(&format!(" {}\n", d.join("scattered").display())),
        "{wf}"
    );
}

#[test]
fn files_the_kernel_copies_into_are_read_back_whole() {
    if !bpf_available() {
        return;
    }
    // sendfile, copy_file_range and splice copy inside the kernel: the bytes are never in the
    // writer's memory, so the capture reads them back from the file; mixed with plain writes
    let w = work_dir();
    let d = w.path().canonicalize().unwrap();
    let code = format!(
        r#"
import os
d = {d:?}
src = d + '/source'
with open(src, 'wb') as f:
    f.write(bytes((i * 7) % 256 for i in range(300000)))
s = os.open(src, os.O_RDONLY)
# sendfile from the current position, then at an offset, after a plain write
o = os.open(d + '/sent', os.O_CREAT | os.O_WRONLY, 0o644)
os.write(o, b'header:')
os.sendfile(o, s, 0, 100000)
os.sendfile(o, s, 200000, 100000)
os.close(o)
# copy_file_range with an explicit destination offset, leaving a plain-written gap before it
o = os.open(d + '/ranged', os.O_CREAT | os.O_WRONLY, 0o644)
os.copy_file_range(s, o, 50000, 0, 1000)
os.pwrite(o, b'x' * 1000, 50000)
os.copy_file_range(s, o, 70000, 0, 51000)
os.close(o)
# splice from a pipe (the bytes came from this process, but through the pipe)
r, wp = os.pipe()
o = os.open(d + '/spliced', os.O_CREAT | os.O_WRONLY, 0o644)
for i in range(5):
    os.write(wp, b'chunk %d ' % i * 1000)
    os.splice(r, o, len(b'chunk %d ' % i * 1000))
os.close(o)
"#
    );
    let run = capture(&["write"], &[PY, "-c", &code]);
    assert_eq!(run.status, 0);
    for name in ["sent", "ranged", "spliced"] {
        let real = d.join(name);
        let rec = run.by_original(&real);
        assert_eq!(rec["sha256"], sha_file(&real), "{name}: {rec}");
        assert_eq!(rec["complete"], true, "{name}: {rec}");
        assert_eq!(rec["lost"], serde_json::json!([]), "{name}");
    }
}

#[test]
fn a_100_mb_file_is_captured_whole() {
    if !bpf_available() {
        return;
    }
    let w = work_dir();
    let f = w.path().canonicalize().unwrap().join("big");
    let code = format!(
        r#"
import hashlib, os
seed = b'osprey'
with open({f:?}, 'wb') as out:
    for i in range(100):
        seed = hashlib.sha256(seed).digest()
        out.write(seed * 32768)   # 1 MiB per write
"#,
        f = f.display().to_string()
    );
    let run = capture_with(
        &["write"],
        &["--capture-buffer-size", "256"],
        &[PY, "-c", &code],
    );
    assert_eq!(run.status, 0);
    let rec = run.by_original(&f);
    assert_eq!(rec["size"], 100 << 20);
    assert_eq!(rec["lost"], serde_json::json!([]), "{rec}");
    assert_eq!(rec["sha256"], sha_file(&f));
}

#[test]
fn inode_reuse_gets_a_new_capture() {
    if !bpf_available() {
        return;
    }
    let w = work_dir();
    let d = w.path().canonicalize().unwrap();
    // Every file written here is captured and then deleted; sooner or later the filesystem
    // gives a new file the inode of one of them. Which one is not ours to choose: the tracer
    // writes its artifacts, and the other tests their files, beside ours at the same time.
    let code = format!(
        r#"
import hashlib, json, os, time
d = {d:?}
deleted = {{}}
# ext4 without a journal holds back an inode deleted in the last 5 s while its inode table
# block is dirty: go on past that
deadline = time.monotonic() + 20
i = 0
while time.monotonic() < deadline:
    i += 1
    p = d + '/file%d' % i
    with open(p, 'w') as f: f.write('file %d, deleted later\n' % i * 10)
    ino = os.stat(p).st_ino
    if ino in deleted:
        json.dump({{'first': deleted[ino], 'reused': p}}, open(d + '/reuse.json', 'w'))
        break
    deleted[ino] = {{'path': p, 'sha': hashlib.sha256(open(p, 'rb').read()).hexdigest()}}
    os.unlink(p)
    time.sleep(0.002)
"#
    );
    let run = capture(&["write=/var/tmp/*"], &[PY, "-c", &code]);
    assert_eq!(run.status, 0);
    let reuse =
        std::fs::read_to_string(d.join("reuse.json")).expect("the filesystem reuses inode numbers");
    let reuse: serde_json::Value = serde_json::from_str(&reuse).unwrap();
    let first = run.by_original(Path::new(reuse["first"]["path"].as_str().unwrap()));
    assert_eq!(
        first["sha256"], reuse["first"]["sha"],
        "the deleted file's capture is intact"
    );
    let reused = Path::new(reuse["reused"].as_str().unwrap());
    let second = run.by_original(reused);
    assert_eq!(second["sha256"], sha_file(reused));
    assert_ne!(first["path"], second["path"], "never the same file");
    let base = first["path"].as_str().unwrap();
    assert!(
        second["path"].as_str().unwrap().starts_with(base),
        "{second}"
    );
}

#[test]
fn prefix_filters_capture_exactly_the_matching_files() {
    if !bpf_available() {
        return;
    }
    let w = work_dir();
    let d = w.path().canonicalize().unwrap();
    for sub in ["keep", "also", "skip"] {
        std::fs::create_dir(d.join(sub)).unwrap();
    }
    let keep = format!("write={}/keep/*", d.display());
    let also = format!("write={}/als*", d.display());
    let script = format!(
        "cd {d} && echo 1 > keep/a && echo 2 > keep/b && echo 3 > also/c && echo 4 > skip/d && echo 5 > keepnot",
        d = d.display()
    );
    let run = capture(&[&keep, &also], &["sh", "-c", &script]);
    assert_eq!(run.status, 0);
    let mut got: Vec<String> = run
        .kind("write")
        .iter()
        .map(|r| r["original_path"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    let want: Vec<String> = ["also/c", "keep/a", "keep/b"]
        .iter()
        .map(|p| d.join(p).display().to_string())
        .collect();
    assert_eq!(got, want);
}

fn cc(dir: &Path, name: &str, src: &str) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let bin = dir.join(name);
    let st = Command::new("cc")
        .args(["-O1", "-o"])
        .arg(&bin)
        .arg(&c)
        .status()
        .expect("cc (gcc) is needed for the capture tests");
    assert!(st.success());
    bin
}

#[test]
fn executed_binaries_deleted_and_memfd_are_captured() {
    if !bpf_available() {
        return;
    }
    let w = work_dir();
    let d = w.path().canonicalize().unwrap();
    // deletes itself at once, then exits
    let bin = cc(
        &d,
        "selfdel",
        r#"#include <unistd.h>
int main(int argc, char **argv) { char p[4096]; ssize_t n = readlink("/proc/self/exe", p, sizeof p - 1);
if (n > 0) { p[n] = 0; unlink(p); } return 0; }"#,
    );
    let want_selfdel = sha_file(&bin);
    let memfd_src = std::fs::canonicalize("/bin/true").unwrap();
    let code = format!(
        r#"
import os, subprocess
subprocess.run([{bin:?}], check=True)
assert not os.path.exists({bin:?})
fd = os.memfd_create('osprey-payload')
os.write(fd, open({src:?}, 'rb').read())
os.execv('/proc/self/fd/%d' % fd, ['payload'])
"#,
        bin = bin.display().to_string(),
        src = memfd_src.display().to_string()
    );
    let run = capture(&["exec"], &[PY, "-c", &code]);
    assert_eq!(run.status, 0);
    let execs = run.kind("exec");
    let deleted = run.by_original(&bin);
    assert_eq!(deleted["sha256"], want_selfdel, "{deleted}");
    assert_eq!(deleted["complete"], true);
    assert!(deleted["path"].as_str().unwrap().ends_with(".selfdel"));
    let memfd = execs
        .iter()
        .find(|r| r["original_path"] == "memfd:osprey-payload")
        .unwrap_or_else(|| panic!("no memfd exec in {execs:#?}"));
    assert_eq!(memfd["sha256"], sha_file(&memfd_src));
    // the copy's bytes, not only the hash
    assert_eq!(run.bytes(memfd), std::fs::read(&memfd_src).unwrap());
    // python was executed once and captured once
    let py: Vec<_> = execs
        .iter()
        .filter(|r| r["process"]["processName"] == "python3")
        .collect();
    assert_eq!(py.len(), 1, "{py:#?}");
    assert!(!run.events.is_empty());
    assert!(run
        .events
        .iter()
        .any(|e| e["eventName"] == "sched_process_exec"));
}

#[test]
fn a_region_going_from_wx_to_x_is_captured_exactly() {
    if !bpf_available() {
        return;
    }
    let w = work_dir();
    let d = w.path().canonicalize().unwrap();
    let bin = cc(
        &d,
        "unpack",
        r#"#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
int main(void) {
  size_t len = 3 * 4096;
  unsigned char *p = mmap(0, len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 1;
  for (size_t i = 0; i < len; i++) p[i] = (unsigned char)(i * 13 + 7);
  if (mprotect(p, len, PROT_EXEC)) return 2;
  printf("%p\n", (void *)p);
  return 0;
}"#,
    );
    let run = capture(&["mem"], &[bin.to_str().unwrap()]);
    assert_eq!(run.status, 0);
    let want: Vec<u8> = (0..3 * 4096usize).map(|i| (i * 13 + 7) as u8).collect();
    let mem = run.kind("mem");
    assert_eq!(mem.len(), 1, "{:#?}", run.records);
    assert_eq!(mem[0]["sha256"], sha(&want));
    assert_eq!(run.bytes(mem[0]), want);
    assert_eq!(mem[0]["complete"], true);
    assert_eq!(mem[0]["event"], "mem_prot_alert");
    let pid = mem[0]["process"]["hostProcessId"].as_u64().unwrap();
    let name = mem[0]["path"].as_str().unwrap();
    assert!(
        name.starts_with(&format!("host/bin.pid-{pid}.ts-")),
        "{name}"
    );
    // and the alert event beside it
    assert!(run
        .events
        .iter()
        .any(|e| e["eventName"] == "mem_prot_alert" && e["hostProcessId"].as_u64() == Some(pid)));
}

#[test]
fn module_images_are_captured_although_loading_fails() {
    if !bpf_available() {
        return;
    }
    let w = work_dir();
    let d = w.path().canonicalize().unwrap();
    let image: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 253) as u8).collect();
    let ko = d.join("test.ko");
    std::fs::write(&ko, &image).unwrap();
    let other = d.join("other.ko");
    std::fs::write(&other, b"\x7fELF another image").unwrap();
    let code = format!(
        r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
data = open({ko:?}, 'rb').read()
buf = ctypes.create_string_buffer(data, len(data))
r = libc.syscall(175, buf, ctypes.c_ulong(len(data)), b"debug=1")   # init_module
print('init_module', r, ctypes.get_errno())
fd = os.open({other:?}, os.O_RDONLY)
r = libc.syscall(313, fd, b"", 0)                                    # finit_module
print('finit_module', r, ctypes.get_errno())
"#,
        ko = ko.display().to_string(),
        other = other.display().to_string()
    );
    let run = capture(&["module"], &[PY, "-c", &code]);
    assert_eq!(run.status, 0);
    let mods = run.kind("module");
    assert_eq!(mods.len(), 2, "{:#?}", run.records);
    let init = mods.iter().find(|r| r["event"] == "init_module").unwrap();
    assert_eq!(init["sha256"], sha(&image));
    assert_eq!(run.bytes(init), image);
    let pid = init["process"]["hostProcessId"].as_u64().unwrap();
    assert_eq!(
        init["path"],
        format!("host/module.pid-{pid}.{}", sha(&image))
    );
    let fin = mods.iter().find(|r| r["event"] == "finit_module").unwrap();
    let meta = std::fs::metadata(&other).unwrap();
    assert_eq!(fin["original_path"], other.to_str().unwrap());
    assert_eq!(
        fin["path"],
        format!(
            "host/module.dev-{}.inode-{}.{}",
            kdev(meta.dev()),
            meta.ino(),
            sha_file(&other)
        )
    );
    assert!(run.events.iter().any(|e| e["eventName"] == "init_module"));
    assert!(run.events.iter().any(|e| e["eventName"] == "finit_module"));
}

#[test]
fn loopback_packets_of_the_traced_process_only() {
    if !bpf_available() {
        return;
    }
    let w = work_dir();
    let marker = w.path().join("noise-port");
    // an untraced process making its own loopback traffic all along
    let noise = Command::new(PY)
        .arg("-c")
        .arg(format!(
            r#"
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 0))
open({m:?}, 'w').write(str(s.getsockname()[1]))
end = time.time() + 60
while time.time() < end:
    s.sendto(b'untraced noise', s.getsockname()); s.recvfrom(100); time.sleep(0.002)
"#,
            m = marker.display().to_string()
        ))
        .spawn()
        .unwrap();
    while !marker.exists() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let noise_port = std::fs::read_to_string(&marker).unwrap();
    let code = r#"
import socket, struct, threading
# TCP
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()
c = socket.create_connection(srv.getsockname()); a, _ = srv.accept()
c.sendall(b'tcp hello'); a.recv(100); a.sendall(b'tcp reply'); c.recv(100)
c.close(); a.close()
# UDP over IPv4 and IPv6
for fam, host in ((socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')):
    u = socket.socket(fam, socket.SOCK_DGRAM); u.bind((host, 0))
    v = socket.socket(fam, socket.SOCK_DGRAM); v.sendto(b'udp hello', u.getsockname()); u.recvfrom(100)
# ICMP echo (raw socket)
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); r.settimeout(5)
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
hdr = struct.pack('!BBHHH', 8, 0, 0, 0x4242, 1) + b'osprey-ping!'
r.sendto(hdr[:2] + struct.pack('!H', csum(hdr)) + hdr[4:], ('127.0.0.1', 0)); r.recvfrom(200)
"#;
    let run = capture(
        &["net=lo", "pcap:per-process", "pcap:single"],
        &[PY, "-c", code],
    );
    let _ = Command::new("kill").arg(noise.id().to_string()).status();
    let mut noise = noise;
    let _ = noise.wait();
    assert_eq!(run.status, 0);
    let pcaps = run.kind("pcap");
    let per_process: Vec<&&Value> = pcaps
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .starts_with("pcap/processes/host/python3_")
        })
        .collect();
    assert_eq!(per_process.len(), 1, "{pcaps:#?}");
    let file = run.out().join(per_process[0]["path"].as_str().unwrap());
    let pid = per_process[0]["process"]["hostProcessId"].as_u64().unwrap();
    // read it back with the project's reader: link type NULL, context of the process
    let bytes = std::fs::read(&file).unwrap();
    let mut rd = osprey_pcapng::CaptureReader::new(&bytes[..]).unwrap();
    let (mut tcp, mut udp4, mut udp6, mut icmp) = (0, 0, 0, 0);
    loop {
        match rd.next() {
            osprey_pcapng::Next::Packet(p) => {
                let iface = &rd.interfaces()[p.interface];
                assert_eq!(iface.link_type, osprey_pcapng::LINKTYPE_NULL);
                let ctx: Value = serde_json::from_str(iface.description().unwrap()).unwrap();
                assert_eq!(ctx["version"], "1.0");
                assert_eq!(ctx["processName"], "python3");
                assert_eq!(ctx["process"]["hostProcessId"].as_u64(), Some(pid));
                let ip = &p.data[4..];
                let (proto, l3) = if ip[0] >> 4 == 4 {
                    (ip[9], (ip[0] & 15) as usize * 4)
                } else {
                    (ip[6], 40)
                };
                if proto == 17 {
                    let dport = u16::from_be_bytes([ip[l3 + 2], ip[l3 + 3]]).to_string();
                    let sport = u16::from_be_bytes([ip[l3], ip[l3 + 1]]).to_string();
                    assert!(
                        dport != noise_port && sport != noise_port,
                        "untraced packet"
                    );
                    if ip[0] >> 4 == 4 {
                        udp4 += 1
                    } else {
                        udp6 += 1
                    }
                }
                tcp += (proto == 6) as u32;
                icmp += (proto == 1) as u32;
            }
            osprey_pcapng::Next::Damage(d) => panic!("{d:?}"),
            osprey_pcapng::Next::End => break,
        }
    }
    assert!(tcp >= 6, "handshake, data, close: {tcp}");
    assert!(udp4 >= 1 && udp6 >= 1, "{udp4} {udp6}");
    assert!(icmp >= 2, "echo request and reply: {icmp}");
    // tshark reads it, and sees the context as the interface description (scripts/setup.sh
    // installs tshark; a missing one is a failure, not a skip)
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&file)
        .args([
            "-T",
            "fields",
            "-e",
            "frame.interface_description",
            "-e",
            "frame.protocols",
        ])
        .output()
        .expect("tshark (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().count() >= 9, "{text}");
    for line in text.lines() {
        assert!(line.contains("\"processName\":\"python3\""), "{line}");
    }
    assert!(
        text.contains("null:ip:tcp")
            && text.contains("null:ipv6:udp")
            && text.contains("null:ip:icmp"),
        "{text}"
    );
}

/// A thread that sends one datagram and ends at once is gone from /proc before its packet is
/// written out: its context (namespaced IDs, thread start time) comes from the kernel, read
/// when it used the socket, and agrees with its events.
#[test]
fn a_short_lived_threads_packets_keep_its_context() {
    if !bpf_available() {
        return;
    }
    let w = work_dir();
    let tid_file = w.path().join("tid");
    let code = format!(
        r#"
import socket, threading, time
def send():
    open({t:?}, 'w').write(str(threading.get_native_id()))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b'short-lived', ('127.0.0.1', 9))
t = threading.Thread(target=send); t.start(); t.join()
time.sleep(0.5)
"#,
        t = tid_file.display().to_string()
    );
    let run = capture_with(
        &["net=lo", "pcap:per-process"],
        &[
            "-e",
            "sched_process_exit,socket",
            "--capture-buffer-size",
            "64",
        ],
        &[PY, "-c", &code],
    );
    assert_eq!(run.status, 0);
    let tid: u64 = std::fs::read_to_string(&tid_file).unwrap().parse().unwrap();
    let pcap = run
        .kind("pcap")
        .into_iter()
        .find(|r| r["process"]["hostThreadId"].as_u64() == Some(tid))
        .unwrap_or_else(|| panic!("no pcap of thread {tid}: {:#?}", run.records));
    let name = pcap["path"].as_str().unwrap().rsplit('/').next().unwrap();
    let start: u64 = name
        .trim_end_matches(".pcap")
        .rsplit('_')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(start, 0, "{name}: thread start time unknown");
    // the same start time as the thread's own events
    let event_start = run
        .events
        .iter()
        .find(|e| e["hostThreadId"].as_u64() == Some(tid))
        .map(|e| e["threadStartTime"].as_u64().unwrap())
        .unwrap_or_else(|| panic!("no event of thread {tid}"));
    assert_eq!(start, event_start, "{name}");
    let bytes = run.bytes(pcap);
    let mut rd = osprey_pcapng::CaptureReader::new(&bytes[..]).unwrap();
    let osprey_pcapng::Next::Packet(p) = rd.next() else {
        panic!("no packet in {name}");
    };
    let ctx: Value =
        serde_json::from_str(rd.interfaces()[p.interface].description().unwrap()).unwrap();
    assert_eq!(ctx["process"]["threadId"].as_u64(), Some(tid), "{ctx}");
    assert_eq!(
        ctx["process"]["threadStartTime"].as_u64(),
        Some(start),
        "{ctx}"
    );
    assert_ne!(ctx["process"]["pidNamespace"].as_u64(), Some(0), "{ctx}");
}

#[test]
fn hostile_names_stay_inside_out() {
    if !bpf_available() {
        return;
    }
    let w = work_dir();
    let d = w.path().canonicalize().unwrap();
    let long = "n".repeat(250);
    let code = format!(
        r#"
import ctypes, os, socket
libc = ctypes.CDLL(None)
libc.prctl(15, b"../../e/v\nil")   # PR_SET_NAME: a comm with slashes, dots and a newline
d = {d:?}
os.mkdir(d + '/..weird\ndir')
with open(d + '/..weird\ndir/' + {long:?}, 'w') as f: f.write('hostile')
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1', 0))
u.sendto(b'x', u.getsockname()); u.recvfrom(10)
"#
    );
    let run = capture(&["write", "net=lo", "pcap:per-command"], &[PY, "-c", &code]);
    assert_eq!(run.status, 0);
    let hostile = run
        .kind("write")
        .into_iter()
        .find(|r| r["original_path"].as_str().unwrap().contains("weird"))
        .expect("the hostile file");
    assert_eq!(run.bytes(hostile), b"hostile");
    let pcap = run.kind("pcap");
    assert_eq!(pcap.len(), 1);
    let p = pcap[0]["path"].as_str().unwrap();
    assert!(
        p.starts_with("pcap/commands/host/") && !p.contains(".."),
        "{p}"
    );
    // nothing but out/ in the capture directory, nothing new next to the work files
    let names: Vec<String> = std::fs::read_dir(run.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["out"]);
    // written_files keeps one line per file
    let wf = std::fs::read_to_string(run.out().join("written_files")).unwrap();
    assert!(wf.lines().all(|l| l.starts_with("host/write.dev-")), "{wf}");
}

#[test]
fn the_budget_stops_capture_and_tracing_goes_on() {
    if !bpf_available() {
        return;
    }
    let w = work_dir();
    let f = w.path().canonicalize().unwrap().join("big");
    let script = format!(
        "head -c 4194304 /dev/zero > {f}; /bin/true",
        f = f.display()
    );
    let run = capture(&["write", "max-size=1m", "exec"], &["sh", "-c", &script]);
    assert_eq!(run.status, 0);
    let rec = run.by_original(&f);
    assert_eq!(rec["complete"], false);
    let lost = rec["lost"].as_array().unwrap();
    assert!(lost.iter().any(|l| l["reason"] == "budget"), "{rec}");
    assert!(rec["size"].as_u64().unwrap() <= 4 << 20);
    // events kept coming after the budget was spent
    assert!(run
        .events
        .iter()
        .any(|e| e["eventName"] == "sched_process_exit" && e["processName"] == "sh"));
}

#[test]
fn bad_options_and_an_unwritable_dir_are_refused_before_tracing() {
    for (opts, needle) in [
        (&["bogus"][..], "--capture bogus"),
        (
            &["write=/a*", "write=/b*", "write=/c*", "write=/d*"],
            "--capture write=/d*",
        ),
        (&["net="], "--capture net="),
        (
            &["exec", "dir:/proc/osprey-unwritable"],
            "--capture dir:/proc/osprey-unwritable",
        ),
    ] {
        let mut argv = vec!["trace", "-q"];
        for o in opts {
            argv.push("--capture");
            argv.push(o);
        }
        argv.extend_from_slice(&["--", "true"]);
        let cli = Cli::try_parse_from(argv).unwrap();
        let e = format!("{:#}", osprey_trace::run_status(cli.trace).unwrap_err());
        if !osprey_bpf::have_privileges() && needle.contains("unwritable") {
            continue; // refused for lack of root first
        }
        assert!(e.contains(needle), "{e}");
    }
}

#[test]
fn profile_diff_names_the_changed_command() {
    if !bpf_available() {
        return;
    }
    let w = work_dir();
    let d = w.path().canonicalize().unwrap();
    let script = |second: &str| {
        format!(
            "/bin/true; /bin/true; {second} > /dev/null; cat /dev/null > {d}/x",
            d = d.display()
        )
    };
    let a = capture(&["profile"], &["sh", "-c", &script("/bin/ls")]);
    let b = capture(&["profile"], &["sh", "-c", &script("/bin/date")]);
    let c = capture(&["profile"], &["sh", "-c", &script("/bin/ls")]);
    let load = |r: &Run| {
        osprey_capture::profile::Profile::parse(
            &std::fs::read(r.out().join("tracee.profile")).unwrap(),
        )
        .unwrap()
    };
    let (pa, pb, pc) = (load(&a), load(&b), load(&c));
    let t = pa
        .entries
        .iter()
        .find(|(k, _)| k.starts_with("host/exec.true:"))
        .unwrap()
        .1;
    assert_eq!(t.times, 2);
    assert_eq!(
        t.file_hash,
        sha_file(&std::fs::canonicalize("/bin/true").unwrap())
    );
    let d1 = osprey_capture::profile::diff(&pa, &pb);
    let mut text = Vec::new();
    assert!(
        osprey_capture::profile::report(&d1, &mut text).unwrap(),
        "must fail"
    );
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("new      host/exec.date"), "{text}");
    assert!(text.contains("removed  host/exec.ls"), "{text}");
    // the same script twice: nothing new (ctimes and hashes the same, run counts equal)
    let d2 = osprey_capture::profile::diff(&pa, &pc);
    assert!(!d2.iter().any(|c| c.fails()), "{d2:?}");
}

#[test]
fn a_traced_servers_accepted_connections_are_its_packets() {
    if !bpf_available() {
        return;
    }
    let w = work_dir();
    let port_file = w.path().join("port");
    // the client is not traced: only the server's side of the conversation is captured
    let client = Command::new(PY)
        .arg("-c")
        .arg(format!(
            r#"
import os, socket, time
p = {p:?}
end = time.time() + 60
while not os.path.exists(p) or not open(p).read().strip():
    time.sleep(0.01)
    if time.time() > end: raise SystemExit(1)
c = socket.create_connection(('127.0.0.1', int(open(p).read())))
c.sendall(b'hello from an untraced client'); print(c.recv(100)); c.close()
"#,
            p = port_file.display().to_string()
        ))
        .spawn()
        .unwrap();
    let server = format!(
        r#"
import socket
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()
open({p:?}, 'w').write(str(s.getsockname()[1]))
a, _ = s.accept(); a.recv(100); a.sendall(b'reply from the traced server'); a.recv(100); a.close()
"#,
        p = port_file.display().to_string()
    );
    let run = capture(&["net=lo", "pcap:per-process"], &[PY, "-c", &server]);
    let mut client = client;
    assert!(client.wait().unwrap().success());
    assert_eq!(run.status, 0);
    let pcaps = run.kind("pcap");
    assert_eq!(pcaps.len(), 1, "{pcaps:#?}");
    let bytes = std::fs::read(run.out().join(pcaps[0]["path"].as_str().unwrap())).unwrap();
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    // pcap-snaplen default keeps 96 bytes after the IP header: both payloads fit
    assert!(has(b"reply from the traced server"), "the server's reply");
    assert!(
        has(b"hello from an untraced client"),
        "what the server received"
    );
}
