//! The artifacts browser's and the notes' API (`/api/artifacts...`, `/api/notes`), driven
//! through the router on capture directories laid out as `osprey trace --capture` leaves them,
//! with hostile index entries: paths that climb out, absolute paths, symbolic links (to a file,
//! in a directory component), unstored artifacts; unknown ids.

mod common;

use std::path::Path;
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{json, Value};
use sha2::Digest;

fn open(files: &[&Path]) -> Arc<osprey_view::ViewState> {
    common::open_indexed(files.iter().map(|p| p.display().to_string()))
}

async fn call(
    state: &Arc<osprey_view::ViewState>,
    method: &str,
    uri: &str,
    body: &str,
) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    let (status, headers, body) = common::request(state, method, uri, body).await;
    (status, body, headers)
}

async fn get_json(state: &Arc<osprey_view::ViewState>, uri: &str) -> (StatusCode, Value) {
    let (status, body, _) = call(state, "GET", uri, "").await;
    let v = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, v)
}

fn sha(b: &[u8]) -> String {
    format!("{:x}", sha2::Sha256::digest(b))
}

fn record(kind: &str, path: &str, bytes: &[u8], ts: u64) -> String {
    json!({
        "timestamp": ts, "kind": kind, "path": path, "size": bytes.len(), "sha256": sha(bytes),
        "original_path": format!("/tmp/{kind}"),
        "process": {"hostProcessId": 42, "hostThreadId": 42, "processId": 42, "threadId": 42,
                    "processName": "sh", "executable": "/bin/sh", "userId": 0},
        "container_id": "", "first_seen": ts, "last_seen": ts, "lost": [], "complete": true,
        "event": "write"
    })
    .to_string()
}

const GOOD: &[u8] = b"captured <bytes>\x00\x01\x02";

/// `<dir>/out` with a good artifact, a profile, a file not in the index, and hostile records.
fn capture(profile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("host/sub")).unwrap();
    std::fs::write(out.join("host/write.dev-1.inode-2"), GOOD).unwrap();
    std::fs::write(out.join("host/not-indexed"), b"secret").unwrap();
    std::fs::write(out.join("tracee.profile"), profile).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", out.join("host/link")).unwrap();
    std::os::unix::fs::symlink("/etc", out.join("linkdir")).unwrap();
    let lines = [
        record(
            "write",
            "host/write.dev-1.inode-2",
            GOOD,
            1_700_000_000_000_000_001,
        ), // 0
        record(
            "profile",
            "tracee.profile",
            profile.as_bytes(),
            1_700_000_000_000_000_002,
        ), // 1
        record(
            "write",
            "../../../../etc/passwd",
            b"",
            1_700_000_000_000_000_003,
        ), // 2
        record("write", "/etc/passwd", b"", 1_700_000_000_000_000_004), // 3
        record("write", "host/link", b"", 1_700_000_000_000_000_005),   // 4
        record("write", "linkdir/passwd", b"", 1_700_000_000_000_000_006), // 5
        record("exec", "", b"", 1_700_000_000_000_000_007),             // 6
        record(
            "write",
            "host/sub/../write.dev-1.inode-2",
            GOOD,
            1_700_000_000_000_000_008,
        ), // 7
        record("write", "host/sub", b"", 1_700_000_000_000_000_009),    // 8
    ];
    std::fs::write(out.join("artifacts.jsonl"), lines.join("\n") + "\n").unwrap();
    dir
}

const OLD: &str = r#"{"host/exec.sh:1": {"times": 2, "file_hash": "aa"}, "host/exec.gone:1": {"times": 1, "file_hash": "bb"}}"#;
const NEW: &str = r#"{"host/exec.sh:5": {"times": 2, "file_hash": "cc"}, "host/exec.curl:1": {"times": 1, "file_hash": "dd"}}"#;

#[tokio::test]
async fn the_index_is_listed_and_only_its_plain_files_are_served() {
    let (a, b) = (capture(OLD), capture(NEW));
    let state = open(&[a.path(), b.path()]);
    let (status, list) = get_json(&state, "/api/artifacts").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["dirs"].as_array().unwrap().len(), 2);
    let arts = list["dirs"][0]["artifacts"].as_array().unwrap();
    assert_eq!(arts.len(), 9);
    assert_eq!(arts[0]["id"], "0/0");
    assert_eq!(arts[0]["sha256"], sha(GOOD));
    assert_eq!(list["dirs"][0]["has_profile"], true);

    // The good artifact: streamed whole, its hash in a header; its first KiB.
    let (status, body, headers) = call(&state, "GET", "/api/artifacts/0/0/file", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, GOOD);
    assert_eq!(headers["x-osprey-sha256"], sha(GOOD).as_str());
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"write.dev-1.inode-2\""
    );
    let (status, head, _) = call(&state, "GET", "/api/artifacts/1/0/head", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(head, GOOD);

    // Hostile records: a climb out, an absolute path, a symlink, a symlinked directory, an
    // artifact not stored, `..` inside, a directory: all refused, for the file and its head.
    for n in [2, 3, 4, 5, 6, 7, 8] {
        for what in ["file", "head"] {
            let (status, body, _) =
                call(&state, "GET", &format!("/api/artifacts/0/{n}/{what}"), "").await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "record {n} {what}: {}",
                String::from_utf8_lossy(&body)
            );
            assert!(!String::from_utf8_lossy(&body).contains("root:"), "{n}");
        }
    }
    // Unknown ids, and paths in the URL instead of ids: 404.
    for uri in [
        "/api/artifacts/0/9/file",
        "/api/artifacts/2/0/file",
        "/api/artifacts/-1/0/file",
        "/api/artifacts/x/0/head",
        "/api/artifacts/0/99999999999999999999/file",
        "/api/artifacts/0/..%2F..%2Fetc%2Fpasswd/file",
        "/api/artifacts/0/host%2Fnot-indexed/file",
        "/api/artifacts/5/profile",
        "/api/artifacts/diff?old=0&new=7",
    ] {
        let (status, body, _) = call(&state, "GET", uri, "").await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{uri}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let (status, _, _) = call(
        &state,
        "GET",
        "/api/artifacts/0/0/..%2F..%2Fhost%2Fnot-indexed",
        "",
    )
    .await;
    assert_ne!(status, StatusCode::OK);
}

#[tokio::test]
async fn profile_and_diff_are_the_cli_s() {
    let (a, b) = (capture(OLD), capture(NEW));
    let state = open(&[a.path(), b.path()]);
    let (status, p) = get_json(&state, "/api/artifacts/0/profile").await;
    assert_eq!(status, StatusCode::OK);
    let keys: Vec<_> = p["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap().to_string(),
                e["times"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("host/exec.gone:1".to_string(), 1),
            ("host/exec.sh:1".to_string(), 2)
        ]
    );
    let (status, d) = get_json(&state, "/api/artifacts/diff?old=0&new=1").await;
    assert_eq!(status, StatusCode::OK);
    let old = osprey_capture::profile::Profile::parse(OLD.as_bytes()).unwrap();
    let new = osprey_capture::profile::Profile::parse(NEW.as_bytes()).unwrap();
    let changes = osprey_capture::profile::diff(&old, &new);
    let mut text = Vec::new();
    let failed = osprey_capture::profile::report(&changes, &mut text).unwrap();
    assert_eq!(d["text"], String::from_utf8(text).unwrap());
    assert_eq!(d["failed"], failed);
    let kinds: Vec<_> = d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["change"].as_str().unwrap(),
                c["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "new host/exec.curl",
            "changed host/exec.sh",
            "removed host/exec.gone"
        ]
    );
}

fn tree_hash(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let m = p.symlink_metadata().unwrap();
        if m.is_dir() {
            out.extend(tree_hash(&p));
        } else if m.is_file() {
            out.push((p.display().to_string(), sha(&std::fs::read(&p).unwrap())));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn notes_go_to_a_sidecar_beside_the_recording() {
    let a = capture(OLD);
    let before = tree_hash(a.path());
    let state = open(&[a.path()]);
    let sidecar = format!("{}.osprey-notes.json", a.path().display());
    let (status, v) = get_json(&state, "/api/notes").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["sidecar"], sidecar.as_str());
    assert_eq!(v["marks"], json!([]));
    assert_eq!(v["path"], Value::Null);
    let frames = state.index.len();
    let body =
        json!({"marks": [3, 1, 3, 0, frames + 5], "notes": {"1": "<script>x</script>", "2": "  "}});
    let (status, resp, _) = call(&state, "PUT", "/api/notes", &body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&resp));
    let saved: Value = serde_json::from_slice(&std::fs::read(&sidecar).unwrap()).unwrap();
    assert_eq!(
        saved["marks"],
        json!([1, 3]),
        "sorted, deduplicated, in range"
    );
    assert_eq!(saved["notes"], json!({"1": "<script>x</script>"}));
    let (_, v) = get_json(&state, "/api/notes").await;
    assert_eq!(v["marks"], json!([1, 3]));
    assert_eq!(v["path"], sidecar.as_str());
    assert_eq!(tree_hash(a.path()), before, "the recording is untouched");
    // Malformed bodies are refused.
    let (status, _, _) = call(&state, "PUT", "/api/notes", "{\"marks\": \"x\"}").await;
    assert!(status.is_client_error(), "{status}");
    let (status, _, _) = call(&state, "PUT", "/api/notes", "not json").await;
    assert!(status.is_client_error(), "{status}");
    std::fs::remove_file(&sidecar).unwrap();
}

#[tokio::test]
async fn notes_fall_back_to_the_per_user_place_when_the_sidecar_cannot_be_written() {
    let a = capture(OLD);
    let data = tempfile::tempdir().unwrap();
    // The sidecar's name is taken by a directory: it cannot be written (as root too).
    let sidecar = format!("{}.osprey-notes.json", a.path().display());
    std::fs::create_dir(&sidecar).unwrap();
    std::env::set_var("XDG_DATA_HOME", data.path());
    let state = open(&[a.path()]);
    let body = json!({"marks": [1], "notes": {"1": "kept"}});
    let (status, resp, _) = call(&state, "PUT", "/api/notes", &body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&resp));
    let v: Value = serde_json::from_slice(&resp).unwrap();
    let path = v["path"].as_str().unwrap();
    assert!(
        path.starts_with(&format!("{}/osprey/notes/", data.path().display())),
        "{path}"
    );
    assert!(v["warning"].as_str().unwrap().contains(&sidecar), "{v}");
    let (_, v) = get_json(&state, "/api/notes").await;
    assert_eq!(v["path"], path);
    assert_eq!(v["marks"], json!([1]));
    std::fs::remove_dir(&sidecar).unwrap();
}

#[tokio::test]
async fn an_out_directory_that_is_a_symlink_is_not_browsed() {
    let real = capture(OLD);
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(real.path().join("out"), dir.path().join("out")).unwrap();
    std::fs::write(dir.path().join("events.json"), "").unwrap();
    let options = osprey_view::Options {
        files: vec![dir.path().display().to_string()],
        ..Default::default()
    };
    if let Ok(state) = osprey_view::open(options) {
        let (status, list) = get_json(&state, "/api/artifacts").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["dirs"], json!([]));
    }
}
