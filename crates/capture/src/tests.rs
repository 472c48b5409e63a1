//! Unit tests of the capturer: reconstruction, inode reuse, budget, deduplication, the index.

use super::*;
use serde_json::Value;

struct Run {
    dir: tempfile::TempDir,
    cap: Option<Capturer>,
}

fn run(extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let d = format!("dir:{}", dir.path().display());
    let mut v = vec![d.as_str()];
    v.extend_from_slice(extra);
    let opts = CaptureOptions::parse(&v).unwrap().unwrap();
    let cap = Capturer::new(&opts).unwrap();
    Run {
        dir,
        cap: Some(cap),
    }
}

impl Run {
    fn cap(&mut self) -> &mut Capturer {
        self.cap.as_mut().unwrap()
    }
    fn finish(&mut self) -> (CaptureSummary, Vec<Value>) {
        let s = self.cap.take().unwrap().finish(&[]);
        (s, index(self.dir.path()))
    }
    fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join("out").join(rel)).unwrap()
    }
}

/// The records of `<dir>/out/artifacts.jsonl`.
fn index(dir: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("out/artifacts.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn sha(b: &[u8]) -> String {
    name::hex(&Sha256::digest(b))
}

fn meta(path: &str) -> WriteMeta {
    WriteMeta {
        ts: 10,
        path: path.into(),
        proc: ProcessInfo {
            host_pid: 42,
            comm: "writer".into(),
            ..ProcessInfo::default()
        },
        syscall: "pwrite64".into(),
        ..WriteMeta::default()
    }
}

#[test]
fn sparse_reconstruction_in_any_order_matches_the_file() {
    let mut r = run(&["write"]);
    let id = FileId {
        dev: 8,
        ino: 100,
        gen: 1,
    };
    r.cap().write_meta(id, meta("/tmp/scattered"));
    // a 1 MiB file written as 4 KiB chunks in a scrambled order
    let content: Vec<u8> = (0..1u32 << 20).map(|i| (i * 7 + i / 4096) as u8).collect();
    let mut order: Vec<usize> = (0..256).collect();
    for i in 0..order.len() {
        let j = (i * 131 + 17) % order.len();
        order.swap(i, j);
    }
    for (n, &c) in order.iter().enumerate() {
        let off = c * 4096;
        r.cap().write_data(
            id,
            20 + n as u64,
            off as u64,
            &content[off..off + 4096],
            None,
        );
    }
    let (s, recs) = r.finish();
    assert_eq!(s.written_files, 1);
    let rec = &recs[0];
    assert_eq!(rec["kind"], "write");
    assert_eq!(rec["path"], "host/write.dev-8.inode-100");
    assert_eq!(rec["original_path"], "/tmp/scattered");
    assert_eq!(rec["size"], 1 << 20);
    assert_eq!(rec["sha256"], sha(&content));
    assert_eq!(rec["complete"], true);
    assert_eq!(rec["event"], "pwrite64");
    assert_eq!(rec["process"]["hostProcessId"], 42);
    assert_eq!(rec["first_seen"], 10);
    assert_eq!(rec["last_seen"], 20 + 255);
    assert_eq!(r.read("host/write.dev-8.inode-100"), content);
    let written = std::fs::read_to_string(r.dir.path().join("out/written_files")).unwrap();
    assert_eq!(written, "host/write.dev-8.inode-100 /tmp/scattered\n");
}

#[test]
fn holes_lost_ranges_truncation_and_streams() {
    let mut r = run(&["write"]);
    let id = FileId {
        dev: 8,
        ino: 5,
        gen: 0,
    };
    r.cap().write_meta(id, meta("/tmp/f"));
    r.cap().write_data(id, 1, 0, b"aaaa", None);
    r.cap().write_lost(id, 2, 4, 4, reason::RING_FULL, None);
    r.cap().write_data(id, 3, 8, b"cccc", None);
    // a second file: rewritten after a truncation
    let t = FileId {
        dev: 8,
        ino: 6,
        gen: 0,
    };
    r.cap().write_meta(t, meta("/tmp/t"));
    r.cap().write_data(t, 1, 0, b"a long first version", None);
    r.cap().write_truncate(t, 2, 0);
    r.cap().write_data(t, 3, 0, b"short", None);
    // a pipe: offsets count bytes written
    let p = FileId {
        dev: 13,
        ino: 77,
        gen: 0,
    };
    r.cap().write_meta(
        p,
        WriteMeta {
            stream: true,
            ..meta("pipe:[77]")
        },
    );
    r.cap().write_data(p, 1, 0, b"one ", None);
    r.cap().write_data(p, 2, 4, b"two", None);
    let (s, recs) = r.finish();
    let by = |path: &str| {
        recs.iter()
            .find(|v| v["original_path"] == path)
            .unwrap()
            .clone()
    };
    let f = by("/tmp/f");
    assert_eq!(f["complete"], false);
    assert_eq!(
        f["lost"],
        serde_json::json!([{"start":4,"end":8,"reason":"ring buffer full"}])
    );
    assert_eq!(r.read("host/write.dev-8.inode-5"), b"aaaa\0\0\0\0cccc");
    assert_eq!(by("/tmp/t")["sha256"], sha(b"short"));
    assert_eq!(r.read("host/write.dev-8.inode-6"), b"short");
    assert_eq!(r.read("host/write.dev-13.inode-77"), b"one two");
    assert_eq!(s.incomplete, 1);
    assert_eq!(s.lost_bytes, 4);
}

#[test]
fn inode_reuse_never_overwrites_an_earlier_capture() {
    let mut r = run(&["write"]);
    let first = FileId {
        dev: 8,
        ino: 9,
        gen: 111,
    };
    let second = FileId {
        dev: 8,
        ino: 9,
        gen: 222,
    };
    r.cap().write_meta(first, meta("/tmp/old"));
    r.cap().write_data(first, 1, 0, b"old contents", None);
    r.cap().write_meta(second, meta("/tmp/new"));
    r.cap().write_data(second, 2, 0, b"new", None);
    let (_, recs) = r.finish();
    assert_eq!(recs.len(), 2);
    assert_eq!(r.read("host/write.dev-8.inode-9"), b"old contents");
    assert_eq!(r.read("host/write.dev-8.inode-9.1"), b"new");
    let new = recs
        .iter()
        .find(|v| v["original_path"] == "/tmp/new")
        .unwrap();
    assert_eq!(new["path"], "host/write.dev-8.inode-9.1");
}

#[test]
fn hostile_container_and_paths_stay_under_out() {
    let mut r = run(&["write", "exec"]);
    let id = FileId {
        dev: 1,
        ino: 2,
        gen: 3,
    };
    let mut m = meta("/etc/../../x\nnewline");
    m.proc.container_id = "../../../../tmp/evil\0".into();
    r.cap().write_meta(id, m);
    r.cap().write_data(id, 1, 0, b"x", None);
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("b");
    std::fs::write(&bin, b"#!binary").unwrap();
    let info = ExecInfo {
        ts: 5,
        path: format!("/x/{}", "../".repeat(2000)),
        dev: 1,
        ino: 2,
        ctime: 3,
        proc: ProcessInfo {
            container_id: "/".into(),
            comm: "\n".into(),
            ..ProcessInfo::default()
        },
        ..ExecInfo::default()
    };
    r.cap().exec(&info, Some(File::open(&bin)));
    let (_, recs) = r.finish();
    let out = r.dir.path().join("out").canonicalize().unwrap();
    for rec in &recs {
        let p = rec["path"].as_str().unwrap();
        let full = out.join(p).canonicalize().unwrap();
        assert!(full.starts_with(&out), "{p}");
        assert!(!p.contains(".."), "{p}");
    }
    // nothing escaped next to out/
    let mut entries: Vec<String> = std::fs::read_dir(r.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, vec!["out"]);
}

#[test]
fn the_budget_stops_capture_and_says_so() {
    let mut r = run(&["write", "max-size=10"]);
    let id = FileId {
        dev: 8,
        ino: 1,
        gen: 0,
    };
    r.cap().write_meta(id, meta("/tmp/big"));
    r.cap().write_data(id, 1, 0, b"12345678", None);
    r.cap().write_data(id, 2, 8, b"abcdefgh", None);
    r.cap().write_data(id, 3, 16, b"xy", None);
    let msgs = r.cap().take_messages();
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(msgs[0].contains("budget"), "{msgs:?}");
    assert!(r.cap().budget().exhausted);
    let (s, recs) = r.finish();
    assert!(s.budget_hit);
    assert_eq!(
        recs[0]["lost"],
        serde_json::json!([{"start":8,"end":18,"reason":"budget"}])
    );
    assert_eq!(r.read("host/write.dev-8.inode-1").len(), 18);
}

#[test]
fn binaries_once_per_identity_and_content_and_the_profile() {
    let mut r = run(&["exec", "profile"]);
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    std::fs::write(&a, vec![0x7fu8; 3 << 20]).unwrap();
    let info = ExecInfo {
        ts: 100,
        path: "/usr/bin/tool".into(),
        dev: 8,
        ino: 1,
        ctime: 77,
        ..ExecInfo::default()
    };
    r.cap().exec(&info, Some(File::open(&a)));
    r.cap().exec(
        &ExecInfo {
            ts: 101,
            ..info.clone()
        },
        None,
    ); // not held: counted
       // the same bytes under another path: no second copy
    let again = ExecInfo {
        ts: 102,
        path: "/opt/copy-of-tool".into(),
        ino: 2,
        ..info.clone()
    };
    r.cap().exec(&again, Some(File::open(&a)));
    // a binary that could not be opened is still in the index, incomplete
    let gone = ExecInfo {
        ts: 103,
        ino: 3,
        path: "/tmp/gone".into(),
        ..info.clone()
    };
    r.cap()
        .exec(&gone, Some(Err(io::Error::from_raw_os_error(libc::ESRCH))));
    let (s, recs) = r.finish();
    assert_eq!(s.binaries, 1);
    assert_eq!(s.executions, 4);
    let execs: Vec<&Value> = recs.iter().filter(|v| v["kind"] == "exec").collect();
    assert_eq!(execs.len(), 3);
    assert_eq!(execs[0]["path"], "host/exec.100.tool");
    assert_eq!(execs[0]["sha256"], sha(&vec![0x7fu8; 3 << 20]));
    assert_eq!(execs[0]["complete"], true);
    assert_eq!(execs[1]["path"], "host/exec.100.tool");
    assert!(execs[1]["note"].as_str().unwrap().contains("same content"));
    assert_eq!(execs[2]["complete"], false);
    assert!(!r.dir.path().join("out/host/exec.102.copy-of-tool").exists());
    let prof = Profile::parse(&r.read("tracee.profile")).unwrap();
    assert_eq!(prof.entries["host/exec.tool:77"].times, 2);
    assert_eq!(
        prof.entries["host/exec.copy-of-tool:77"].file_hash,
        prof.entries["host/exec.tool:77"].file_hash
    );
    assert!(recs.iter().any(|v| v["kind"] == "profile"));
}

#[test]
fn regions_and_module_images_from_chunks() {
    let mut r = run(&["mem", "module"]);
    let proc = ProcessInfo {
        host_pid: 9,
        ..ProcessInfo::default()
    };
    let key = (BlobKind::Mem, [9, 1000, 0x7000]);
    r.cap().blob_meta(
        key,
        BlobMeta {
            ts: 5,
            len: 8192,
            event: "mem_prot_alert".into(),
            proc: proc.clone(),
            ..BlobMeta::default()
        },
    );
    r.cap().blob_data(key, 6, 4096, &[2u8; 4096], &proc);
    r.cap().blob_data(key, 6, 0, &[1u8; 4096], &proc);
    // an image with an unreadable page, finished at the end
    let mk = (BlobKind::Module, [9, 2000, 0]);
    r.cap().blob_meta(
        mk,
        BlobMeta {
            ts: 7,
            len: 100,
            event: "init_module".into(),
            proc: proc.clone(),
            ..BlobMeta::default()
        },
    );
    r.cap().blob_data(mk, 8, 0, b"\x7fELF module bytes", &proc);
    let (s, recs) = r.finish();
    assert_eq!((s.regions, s.modules), (1, 1));
    let mem = recs.iter().find(|v| v["kind"] == "mem").unwrap();
    assert_eq!(mem["path"], "host/bin.pid-9.ts-5");
    let mut want = vec![1u8; 4096];
    want.extend_from_slice(&[2u8; 4096]);
    assert_eq!(mem["sha256"], sha(&want));
    assert_eq!(mem["complete"], true);
    let m = recs.iter().find(|v| v["kind"] == "module").unwrap();
    assert_eq!(m["complete"], false);
    assert_eq!(m["lost"][0]["start"], 17);
    assert_eq!(m["lost"][0]["end"], 100);
    let path = m["path"].as_str().unwrap();
    assert!(path.starts_with("host/module.pid-9."), "{path}");
    assert!(path.ends_with(m["sha256"].as_str().unwrap()));
}

#[test]
fn finit_module_files_are_named_by_their_hash_once() {
    let mut r = run(&["module"]);
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("m.ko");
    std::fs::write(&f, b"module image").unwrap();
    let info = ModuleFileInfo {
        ts: 1,
        path: "/lib/modules/m.ko".into(),
        dev: 8,
        ino: 44,
        ..ModuleFileInfo::default()
    };
    r.cap().module_file(&info, File::open(&f));
    r.cap().module_file(
        &ModuleFileInfo {
            ts: 2,
            ..info.clone()
        },
        File::open(&f),
    );
    let (_, recs) = r.finish();
    let h = sha(b"module image");
    assert_eq!(recs[0]["path"], format!("host/module.dev-8.inode-44.{h}"));
    assert_eq!(recs[1]["path"], recs[0]["path"]);
    assert_eq!(r.read(recs[0]["path"].as_str().unwrap()), b"module image");
}

/// Runs `f` on a thread in a mount namespace of its own, with a tmpfs of `size` bytes mounted
/// on `at`: nothing outside the thread sees it, and it goes with the thread, so that `at` can
/// be removed afterwards. Needs root: without it the test is skipped, unless
/// OSPREY_REQUIRE_BPF=1 (as in CI) forbids that.
fn on_tiny_tmpfs(at: &std::path::Path, size: u64, f: impl FnOnce() + Send) {
    use std::ffi::CString;
    let target = CString::new(at.as_os_str().as_encoded_bytes()).unwrap();
    let opts = CString::new(format!("size={size}")).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: unshare and mount take valid NUL-terminated strings or null where
            // allowed; they only change this thread's mount namespace.
            let mounted = unsafe {
                libc::unshare(libc::CLONE_NEWNS) == 0
                    && libc::mount(
                        std::ptr::null(),
                        c"/".as_ptr(),
                        std::ptr::null(),
                        libc::MS_REC | libc::MS_PRIVATE,
                        std::ptr::null(),
                    ) == 0
                    && libc::mount(
                        c"tmpfs".as_ptr(),
                        target.as_ptr(),
                        c"tmpfs".as_ptr(),
                        0,
                        opts.as_ptr().cast(),
                    ) == 0
            };
            if !mounted {
                let e = io::Error::last_os_error();
                if std::env::var("OSPREY_REQUIRE_BPF").as_deref() == Ok("1") {
                    panic!("cannot mount a tmpfs ({e}); OSPREY_REQUIRE_BPF=1 forbids skipping");
                }
                eprintln!("skipping: cannot mount a tmpfs ({e}); this test needs root");
                return;
            }
            f();
        });
    });
}

#[test]
fn write_errors_are_reported_as_such_and_charge_only_the_bytes_written() {
    // out/host, where host artifacts go, is a 64 KiB filesystem: a 1 MiB module image fills
    // it, and later artifacts cannot write a byte. The budget (1 GiB) is never the reason.
    let dir = tempfile::tempdir().unwrap();
    let host = dir.path().join("out/host");
    std::fs::create_dir_all(&host).unwrap();
    let src = tempfile::tempdir().unwrap();
    let image: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    let ko = src.path().join("big.ko");
    std::fs::write(&ko, &image).unwrap();
    let bin = src.path().join("tool");
    std::fs::write(&bin, vec![0x7fu8; 100 << 10]).unwrap();
    on_tiny_tmpfs(&host, 64 << 10, || {
        let d = format!("dir:{}", dir.path().display());
        let opts = CaptureOptions::parse(&[d.as_str(), "module", "exec", "write", "max-size=1G"])
            .unwrap()
            .unwrap();
        let mut cap = Capturer::new(&opts).unwrap();
        let info = ModuleFileInfo {
            ts: 1,
            path: "/lib/modules/big.ko".into(),
            dev: 8,
            ino: 44,
            ..ModuleFileInfo::default()
        };
        cap.module_file(&info, File::open(&ko));
        let id = FileId {
            dev: 8,
            ino: 45,
            gen: 0,
        };
        cap.write_meta(id, meta("/tmp/log"));
        cap.write_data(id, 2, 0, &[b'x'; 4096], None);
        let exec = ExecInfo {
            ts: 3,
            path: "/usr/bin/tool".into(),
            dev: 8,
            ino: 46,
            ctime: 1,
            ..ExecInfo::default()
        };
        cap.exec(&exec, Some(File::open(&bin)));
        let msgs = cap.take_messages();
        let budget = cap.budget();
        // what really is on the small filesystem
        let on_disk: u64 = std::fs::read_dir(&host)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        let s = cap.finish(&[]);
        let recs = index(dir.path());

        assert!(on_disk > 0 && on_disk < image.len() as u64, "{on_disk}");
        assert_eq!(budget.used, on_disk, "only the bytes written are charged");
        assert_eq!(s.bytes, on_disk);
        assert!(!budget.exhausted && !s.budget_hit);
        assert_eq!(s.errors, 3, "{msgs:?}");
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(
            msgs[0].starts_with("writing the copy of /lib/modules/big.ko: No space left"),
            "{msgs:?}"
        );
        assert!(msgs[1].contains("No space left"), "{msgs:?}");
        assert!(
            msgs[2].starts_with("writing the copy of /usr/bin/tool: No space left"),
            "{msgs:?}"
        );

        let m = recs.iter().find(|v| v["kind"] == "module").unwrap();
        assert_eq!(m["size"], on_disk);
        assert_eq!(
            m["lost"],
            serde_json::json!([{"start": on_disk, "end": image.len(), "reason": "write error"}])
        );
        assert_eq!(m["complete"], false);
        assert_eq!(m["sha256"], sha(&image), "the hash is of the whole file");
        assert!(m["note"].as_str().unwrap().contains("No space left"), "{m}");
        let w = recs.iter().find(|v| v["kind"] == "write").unwrap();
        assert_eq!(
            w["lost"],
            serde_json::json!([{"start": 0, "end": 4096, "reason": "write error"}])
        );
        let e = recs.iter().find(|v| v["kind"] == "exec").unwrap();
        assert_eq!(
            e["lost"],
            serde_json::json!([{"start": 0, "end": 100 << 10, "reason": "write error"}])
        );
        assert!(e["note"].as_str().unwrap().contains("No space left"), "{e}");
    });
}
