//! Live captures through the API, without root: the capture's command is `tail -f` of a file
//! this test appends Tracee events to, written into the FIFO the index reads, as `osprey
//! trace -o json:FIFO` writes it. The index, windows, filter views and the event stream grow
//! with it; Stop ends the command and completes the index.

mod common;

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use osprey_view::live::{CaptureOptions, Launch, LiveConfig};
use serde_json::Value;
use tower::ServiceExt;

const DOCS: &str = "../../tests/fixtures/tracee/tracee-docs-v0.23.jsonl";
const ACTION: &str = "../../tests/fixtures/tracee/tracee-action-trace.jsonl";
const FILTER: &str = "tracee.eventName == \"security_file_open\"";

/// A launcher that follows `file` (tail -f) into the FIFO; with `from_preset`, the file is the
/// one the chosen preset names.
fn tail_launcher(file: PathBuf, from_preset: bool) -> osprey_view::live::Launcher {
    Box::new(move |_: &CaptureOptions, preset: &str, fifo: &Path| {
        let followed = if from_preset {
            PathBuf::from(preset.trim())
        } else {
            file.clone()
        };
        Ok(Launch {
            argv: tail_argv(&followed, fifo),
            output_dir: None,
        })
    })
}

/// `tail -f FILE > FIFO`.
fn tail_argv(file: &Path, fifo: &Path) -> Vec<OsString> {
    vec![
        "sh".into(),
        "-c".into(),
        "exec tail -s 0.05 -n +1 -f \"$0\" > \"$1\"".into(),
        file.into(),
        fifo.into(),
    ]
}

fn open_live(config: LiveConfig) -> Arc<osprey_view::ViewState> {
    osprey_view::open(osprey_view::Options {
        live: Some(config),
        ..Default::default()
    })
    .expect("opens")
}

async fn call(
    state: &Arc<osprey_view::ViewState>,
    method: &str,
    uri: &str,
    body: &str,
) -> (StatusCode, Value) {
    let (status, _, bytes) = common::request(state, method, uri, body).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn get(state: &Arc<osprey_view::ViewState>, uri: &str) -> Value {
    let (status, v) = call(state, "GET", uri, "").await;
    assert_eq!(status, StatusCode::OK, "{uri}: {v}");
    v
}

/// Waits until `ok` holds of `uri`'s reply.
async fn wait_for(
    state: &Arc<osprey_view::ViewState>,
    uri: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let v = get(state, uri).await;
        if ok(&v) {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{uri} never became what was awaited: {v}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn append(file: &Path, from: &str) {
    let data = std::fs::read(from).expect("fixture");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(file)
        .expect("append");
    f.write_all(&data).expect("write");
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The frames of a recording `FILTER` matches, from a view over the file itself.
async fn matches_in_file(file: &Path) -> u64 {
    let state = osprey_view::open(osprey_view::Options {
        files: vec![file.display().to_string()],
        ..Default::default()
    })
    .expect("opens");
    let body = serde_json::json!({ "filter": FILTER }).to_string();
    let (status, _) = call(&state, "POST", "/api/views", &body).await;
    assert_eq!(status, StatusCode::OK);
    let v = wait_for(&state, &format!("/api/views?filter={}", enc(FILTER)), |v| {
        v["done"] == true
    })
    .await;
    v["matched"].as_u64().expect("matched")
}

/// Reads server-sent `progress` messages from `body` until one satisfies `ok`.
async fn next_progress(body: &mut Body, ok: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    let mut text = String::new();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no such progress"
        );
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("a message within 10 s")
            .expect("the stream goes on")
            .expect("no error");
        if let Ok(data) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&data));
        }
        while let Some(end) = text.find("\n\n") {
            let message: String = text.drain(..end + 2).collect();
            if let Some(data) = message.lines().find_map(|l| l.strip_prefix("data: ")) {
                let v: Value = serde_json::from_str(data).expect("JSON progress");
                if ok(&v) {
                    return v;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_capture_grows_the_index_views_and_event_stream() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.json");
    std::fs::write(&file, b"").unwrap();
    let state = open_live(LiveConfig {
        source: "test".into(),
        dialog: false,
        presets: None,
        launcher: tail_launcher(file.clone(), false),
    });
    let live = get(&state, "/api/live").await;
    assert_eq!(live["state"]["phase"], "running", "{live}");
    assert!(live["state"]["pid"].as_u64().is_some());

    append(&file, DOCS);
    let status = wait_for(&state, "/api/status", |v| v["index"]["frames"] == 78).await;
    assert_eq!(status["index"]["done"], false);
    assert_eq!(status["files"][0], "live: test");
    // Windows at the start and the end, while it runs.
    let rows = get(&state, "/api/rows?offset=0&limit=10").await;
    assert_eq!(rows["total"], 78);
    assert_eq!(rows["complete"], false);
    assert_eq!(rows["rows"][0]["number"], 1);
    let rows = get(&state, "/api/rows?offset=70&limit=100").await;
    assert_eq!(rows["rows"].as_array().unwrap().len(), 8);
    assert_eq!(rows["rows"][7]["number"], 78);

    // A view of what is there, which then follows what comes.
    let body = serde_json::json!({ "filter": FILTER }).to_string();
    let (code, _) = call(&state, "POST", "/api/views", &body).await;
    assert_eq!(code, StatusCode::OK);
    let view_uri = format!("/api/views?filter={}", enc(FILTER));
    let first = wait_for(&state, &view_uri, |v| v["scanned"] == 78).await;
    assert_eq!(first["done"], false, "a live view is not done: {first}");
    let matched_first = first["matched"].as_u64().unwrap();
    assert!(matched_first > 0);

    // The event stream: the count now, then the counts as frames come.
    let req = Request::builder()
        .uri("/api/events")
        .header("x-osprey-token", &state.token)
        .body(Body::empty())
        .unwrap();
    let resp = osprey_view::app(state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut sse = resp.into_body();
    let now = next_progress(&mut sse, |_| true).await;
    assert_eq!(now["index"]["frames"], 78);
    assert_eq!(now["live"]["phase"], "running");

    append(&file, ACTION);
    append(&file, DOCS);
    let grown = next_progress(&mut sse, |v| v["index"]["frames"] == 180).await;
    assert_eq!(grown["index"]["done"], false);
    let v = wait_for(&state, &view_uri, |v| v["scanned"] == 180).await;
    // The view went on from where it was: each frame looked at once, never from the start.
    let all = dir.path().join("all.json");
    std::fs::write(&all, std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(v["matched"].as_u64().unwrap(), matches_in_file(&all).await);
    assert!(v["matched"].as_u64().unwrap() > matched_first);
    let rows = get(
        &state,
        &format!("/api/rows?offset=0&limit=1000&filter={}", enc(FILTER)),
    )
    .await;
    assert_eq!(rows["total"], v["matched"]);
    assert!(rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["cells"][8] == "security_file_open"));

    // Sorting and export wait for the end of the capture.
    let (code, _) = call(&state, "GET", "/api/rows?sort=5", "").await;
    assert_eq!(code, StatusCode::CONFLICT);
    let (code, _) = call(
        &state,
        "POST",
        "/api/export",
        r#"{"which":"all","format":"json"}"#,
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT);

    // Stop: the command ends, the index and the view are complete.
    let (code, stopping) = call(&state, "POST", "/api/live/stop", "").await;
    assert_eq!(code, StatusCode::OK);
    assert!(["stopping", "ended"].contains(&stopping["phase"].as_str().unwrap()));
    let ended = wait_for(&state, "/api/live", |v| v["state"]["phase"] == "ended").await;
    assert_eq!(ended["state"]["exit"], 128 + 2, "ended by SIGINT: {ended}");
    assert_eq!(ended["state"]["pid"], Value::Null);
    let done = wait_for(&state, "/api/status", |v| v["index"]["done"] == true).await;
    assert_eq!(done["index"]["frames"], 180);
    assert_eq!(done["index"]["error"], Value::Null);
    let v = wait_for(&state, &view_uri, |v| v["done"] == true).await;
    assert_eq!(v["scanned"], 180);
    let (code, _) = call(&state, "GET", "/api/rows?sort=5", "").await;
    assert_eq!(code, StatusCode::OK);
    let log = get(&state, "/api/live/log").await;
    let lines: Vec<&str> = log["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        lines.iter().any(|l| l.contains("running sh -c")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.contains("ended")), "{lines:?}");
    // A second stop changes nothing.
    let (code, _) = call(&state, "POST", "/api/live/stop", "").await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dialog_starts_the_capture_with_a_preset_and_refuses_bad_options() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.json");
    std::fs::write(&file, std::fs::read(ACTION).unwrap()).unwrap();
    let presets = dir.path().join("presets");
    std::fs::create_dir(&presets).unwrap();
    std::fs::write(presets.join("action"), file.display().to_string()).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", presets.join("link")).unwrap();
    let state = open_live(LiveConfig {
        source: "test".into(),
        dialog: true,
        presets: Some(presets.clone()),
        launcher: tail_launcher(PathBuf::new(), true),
    });
    let live = get(&state, "/api/live").await;
    assert_eq!(live["state"]["phase"], "options");
    // Regular files only: a link is not offered.
    let names: Vec<&str> = live["presets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["action"]);
    let status = get(&state, "/api/status").await;
    assert_eq!(status["index"]["frames"], 0);
    assert_eq!(status["index"]["done"], false);

    for (body, want) in [
        ("not json", StatusCode::BAD_REQUEST),
        (r#"{"unknown": 1}"#, StatusCode::BAD_REQUEST),
        (r#"{"events": 7}"#, StatusCode::BAD_REQUEST),
        (r#"{"preset": "../../etc/passwd"}"#, StatusCode::BAD_REQUEST),
        (r#"{"preset": "link"}"#, StatusCode::BAD_REQUEST),
    ] {
        let (code, v) = call(&state, "POST", "/api/live/start", body).await;
        assert_eq!(code, want, "{body}: {v}");
        // Refused options leave the capture waiting for good ones.
        let live = get(&state, "/api/live").await;
        assert_eq!(live["state"]["phase"], "options", "{body}");
    }
    let (code, v) = call(&state, "POST", "/api/live/start", r#"{"preset":"action"}"#).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    wait_for(&state, "/api/status", |v| v["index"]["frames"] == 24).await;
    let (code, _) = call(&state, "POST", "/api/live/stop", "").await;
    assert_eq!(code, StatusCode::OK);
    wait_for(&state, "/api/status", |v| v["index"]["done"] == true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preset_starts_the_capture_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.json");
    std::fs::write(&file, std::fs::read(ACTION).unwrap()).unwrap();
    let presets = dir.path().join("presets");
    std::fs::create_dir(&presets).unwrap();
    std::fs::write(presets.join("action"), file.display().to_string()).unwrap();
    let state = open_live(LiveConfig {
        source: "test".into(),
        dialog: true,
        presets: Some(presets),
        launcher: tail_launcher(PathBuf::new(), true),
    });
    let long = "x".repeat(5000);
    let (code, _) = call(
        &state,
        "POST",
        "/api/live/start",
        &serde_json::json!({ "scope": long }).to_string(),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    // Two starts at once (a double click): one capture.
    let (a, b) = tokio::join!(
        call(&state, "POST", "/api/live/start", r#"{"preset":"action"}"#),
        call(&state, "POST", "/api/live/start", r#"{"preset":"action"}"#)
    );
    let mut codes = [a.0, b.0];
    codes.sort();
    assert_eq!(
        codes,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{} {}",
        a.1,
        b.1
    );
    let v = if a.0 == StatusCode::OK { a.1 } else { b.1 };
    assert_eq!(v["phase"], "running");
    wait_for(&state, "/api/status", |v| v["index"]["frames"] == 24).await;
    let (code, _) = call(&state, "POST", "/api/live/start", r#"{"preset":"action"}"#).await;
    assert_eq!(code, StatusCode::CONFLICT);
    // Log windows far past the end, or too large, are bounded, not errors.
    let log = get(
        &state,
        "/api/live/log?from=18446744073709551615&limit=99999999999",
    )
    .await;
    assert_eq!(log["lines"], serde_json::json!([]));
    let (code, _) = call(&state, "GET", "/api/live/log?from=-1", "").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let (code, _) = call(&state, "POST", "/api/live/stop", "").await;
    assert_eq!(code, StatusCode::OK);
    wait_for(&state, "/api/status", |v| v["index"]["done"] == true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_before_the_start_completes_an_empty_index() {
    let state = open_live(LiveConfig {
        source: "test".into(),
        dialog: true,
        presets: None,
        launcher: tail_launcher(PathBuf::new(), true),
    });
    let (code, v) = call(&state, "POST", "/api/live/stop", "").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["phase"], "ended");
    let status = get(&state, "/api/status").await;
    assert_eq!(status["index"]["done"], true);
    assert_eq!(status["index"]["frames"], 0);
    let (code, _) = call(&state, "POST", "/api/live/start", "{}").await;
    assert_eq!(code, StatusCode::CONFLICT);
}

#[tokio::test]
async fn live_endpoints_need_the_token_and_a_live_capture() {
    let state = osprey_view::open(osprey_view::Options {
        files: vec![DOCS.to_string()],
        ..Default::default()
    })
    .expect("opens");
    for (method, uri) in [
        ("GET", "/api/live"),
        ("POST", "/api/live/start"),
        ("POST", "/api/live/stop"),
        ("GET", "/api/live/log"),
        ("POST", "/api/live/copy-output"),
    ] {
        let (code, _) = call(&state, method, uri, "{}").await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{uri} of a file view");
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from("{}"))
            .unwrap();
        let resp = osprey_view::app(state.clone()).oneshot(req).await.unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::FORBIDDEN,
            "{uri} without the token"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_ends_even_if_what_it_started_keeps_its_log_open() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.json");
    std::fs::write(&file, std::fs::read(ACTION).unwrap()).unwrap();
    // A child of the capture (as a traced command is) holds its stdout and stderr.
    let launcher = Box::new(move |_: &CaptureOptions, _: &str, fifo: &Path| {
        let argv: Vec<OsString> = vec![
            "sh".into(),
            "-c".into(),
            "sleep 5 & exec tail -s 0.05 -n +1 -f \"$0\" > \"$1\"".into(),
            file.clone().into(),
            fifo.into(),
        ];
        Ok(Launch {
            argv,
            output_dir: None,
        })
    });
    let state = open_live(LiveConfig {
        source: "test".into(),
        dialog: false,
        presets: None,
        launcher,
    });
    wait_for(&state, "/api/status", |v| v["index"]["frames"] == 24).await;
    let (code, _) = call(&state, "POST", "/api/live/stop", "").await;
    assert_eq!(code, StatusCode::OK);
    let start = Instant::now();
    wait_for(&state, "/api/live", |v| v["state"]["phase"] == "ended").await;
    assert!(start.elapsed() < Duration::from_secs(5));
    wait_for(&state, "/api/status", |v| v["index"]["done"] == true).await;
}

/// Fetch output of an ssh:// capture: the API sends the child (here a stand-in for `osprey
/// trace --remote`, which answers SIGUSR1 with its `copy done` line) SIGUSR1, and the copy's
/// folder comes in the state and the event stream; the capture goes on. A line of the remote
/// tracer's own (prefixed `remote: `) or of stdout cannot pass for a copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_output_signals_the_remote_capture_and_reports_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.json");
    std::fs::write(&file, b"").unwrap();
    let script = r#"
        tail -s 0.05 -n +1 -f "$0" > "$1" & p=$!
        n=0
        trap 'n=$((n+1)); echo "osprey: --remote: copy done {\"from\":\"h:d\",\"path\":\"/copies/h-$n\",\"files\":2,\"bytes\":10,\"skipped\":1}" >&2' USR1
        trap 'kill $p; exit 0' INT
        echo 'remote: osprey: --remote: copy done {"path":"/forged"}' >&2
        echo 'osprey: --remote: copy done {"path":"/forged-stdout"}'
        while kill -0 $p 2>/dev/null; do wait $p; done
    "#;
    let followed = file.clone();
    let launcher = Box::new(move |_: &CaptureOptions, _: &str, fifo: &Path| {
        // An ssh:// child starts with SIGUSR1 ignored (until `osprey trace --remote` handles
        // it), which a shell cannot trap: env gives the stand-in its default back.
        let argv: Vec<OsString> = vec![
            "env".into(),
            "--default-signal=USR1".into(),
            "sh".into(),
            "-c".into(),
            script.into(),
            followed.clone().into(),
            fifo.into(),
        ];
        Ok(Launch {
            argv,
            output_dir: None,
        })
    });
    let state = open_live(LiveConfig {
        source: "ssh://ann@h".into(),
        dialog: false,
        presets: None,
        launcher,
    });
    // The stand-in's own lines are in the log before a copy is asked for.
    // (the command line, logged first, holds the text too: the line itself is awaited)
    wait_for(&state, "/api/live/log", |v| {
        v["lines"].as_array().is_some_and(|l| {
            l.iter()
                .any(|l| l.as_str().unwrap_or("").starts_with("stdout: "))
        })
    })
    .await;
    let live = get(&state, "/api/live").await;
    assert_eq!(live["state"]["copies"], serde_json::json!([]), "{live}");
    assert_eq!(live["state"]["copying"], false);

    let req = Request::builder()
        .uri("/api/events")
        .header("x-osprey-token", &state.token)
        .body(Body::empty())
        .unwrap();
    let mut events = osprey_view::app(state.clone())
        .oneshot(req)
        .await
        .unwrap()
        .into_body();
    let (code, st) = call(&state, "POST", "/api/live/copy-output", "").await;
    assert_eq!(code, StatusCode::OK, "{st}");
    let done = next_progress(&mut events, |p| {
        p["live"]["copies"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    })
    .await;
    assert_eq!(
        done["live"]["copies"],
        serde_json::json!([{"path": "/copies/h-1", "files": 2, "bytes": 10, "skipped": 1}]),
        "{done}"
    );
    assert_eq!(done["live"]["copying"], false);
    assert_eq!(done["live"]["phase"], "running", "the capture goes on");
    // It goes on indeed: events still come, and a second copy is one more folder.
    append(&file, DOCS);
    wait_for(&state, "/api/status", |v| v["index"]["frames"] == 78).await;
    let (code, _) = call(&state, "POST", "/api/live/copy-output", "").await;
    assert_eq!(code, StatusCode::OK);
    let live = wait_for(&state, "/api/live", |v| {
        v["state"]["copies"].as_array().map(Vec::len) == Some(2)
    })
    .await;
    assert_eq!(live["state"]["copies"][1]["path"], "/copies/h-2");
    let log = get(&state, "/api/live/log").await;
    assert!(
        log["lines"]
            .to_string()
            .contains("fetching the remote output directory"),
        "{log}"
    );

    // Once stopped, nothing to fetch.
    let (code, _) = call(&state, "POST", "/api/live/stop", "").await;
    assert_eq!(code, StatusCode::OK);
    wait_for(&state, "/api/live", |v| v["state"]["phase"] == "ended").await;
    let (code, v) = call(&state, "POST", "/api/live/copy-output", "").await;
    assert_eq!(code, StatusCode::CONFLICT, "{v}");
}

/// Only an ssh:// capture has a remote output directory to fetch (a local tracer would die of
/// SIGUSR1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_output_is_refused_for_other_sources() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.json");
    std::fs::write(&file, b"").unwrap();
    let state = open_live(LiveConfig {
        source: "local".into(),
        dialog: false,
        presets: None,
        launcher: tail_launcher(file, false),
    });
    let (code, v) = call(&state, "POST", "/api/live/copy-output", "").await;
    assert_eq!(code, StatusCode::CONFLICT, "{v}");
    assert!(v["error"].as_str().unwrap().contains("ssh://"), "{v}");
    let live = get(&state, "/api/live").await;
    assert_eq!(live["state"]["phase"], "running", "{live}");
    let (code, _) = call(&state, "POST", "/api/live/stop", "").await;
    assert_eq!(code, StatusCode::OK);
    wait_for(&state, "/api/live", |v| v["state"]["phase"] == "ended").await;
}

/// An artifact record of `osprey trace --capture` for the file `path` holding `bytes`.
fn artifact_line(path: &str, bytes: &[u8]) -> String {
    use sha2::Digest;
    serde_json::json!({
        "timestamp": 1, "kind": "write", "path": path, "size": bytes.len(),
        "sha256": format!("{:x}", sha2::Sha256::digest(bytes)), "original_path": "/tmp/x",
        "process": {"hostProcessId": 42, "hostThreadId": 42, "processId": 42, "threadId": 42,
                    "processName": "sh", "executable": "/bin/sh", "userId": 0},
        "container_id": "", "first_seen": 1, "last_seen": 1, "lost": [], "complete": true,
        "event": "magic_write"
    })
    .to_string()
}

/// The artifacts browser follows a live capture: the capture's output directory is listed
/// once its index exists, each record as soon as its line is whole (the line being written is
/// not counted as bad), an artifact that appeared downloads with its hash, and the list stays
/// after Stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_capture_lists_its_artifacts_as_it_writes_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.json");
    std::fs::write(&file, b"").unwrap();
    let cap = dir.path().join("cap");
    let out = cap.join("out");
    std::fs::create_dir_all(out.join("host")).unwrap();
    let output_dir = cap.clone();
    let launcher = Box::new(move |_: &CaptureOptions, _: &str, fifo: &Path| {
        Ok(Launch {
            argv: tail_argv(&file, fifo),
            output_dir: Some(output_dir.clone()),
        })
    });
    let state = open_live(LiveConfig {
        source: "local".into(),
        dialog: false,
        presets: None,
        launcher,
    });
    let listed = |v: &Value| -> Vec<String> {
        v["dirs"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d["artifacts"].as_array().unwrap().clone())
            .map(|a| a["path"].as_str().unwrap().to_string())
            .collect()
    };
    let list = get(&state, "/api/artifacts").await;
    assert_eq!(list["live"], true);
    assert_eq!(list["dirs"], serde_json::json!([]), "no index yet: {list}");

    let (first, second) = (b"first file".as_slice(), b"second <file>\x00".as_slice());
    std::fs::write(out.join("host/a"), first).unwrap();
    std::fs::write(out.join("host/b"), second).unwrap();
    let whole = artifact_line("host/a", first) + "\n";
    let next = artifact_line("host/b", second);
    let (half, rest) = next.split_at(next.len() / 2);
    std::fs::write(out.join("artifacts.jsonl"), whole.clone() + half).unwrap();
    let list = get(&state, "/api/artifacts").await;
    assert_eq!(listed(&list), ["host/a"], "{list}");
    assert_eq!(
        list["dirs"][0]["bad_lines"], 0,
        "the line being written: {list}"
    );
    assert_eq!(list["dirs"][0]["input"], cap.display().to_string());

    std::fs::write(out.join("artifacts.jsonl"), whole + half + rest + "\n").unwrap();
    let list = get(&state, "/api/artifacts").await;
    assert_eq!(listed(&list), ["host/a", "host/b"], "{list}");
    let (code, headers, body) = common::request(&state, "GET", "/api/artifacts/0/1/file", "").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body, second);
    assert_eq!(
        headers["x-osprey-sha256"].to_str().unwrap(),
        list["dirs"][0]["artifacts"][1]["sha256"].as_str().unwrap()
    );

    let (code, _) = call(&state, "POST", "/api/live/stop", "").await;
    assert_eq!(code, StatusCode::OK);
    wait_for(&state, "/api/live", |v| v["state"]["phase"] == "ended").await;
    wait_for(&state, "/api/status", |v| v["index"]["done"] == true).await;
    let list = get(&state, "/api/artifacts").await;
    assert_eq!(listed(&list), ["host/a", "host/b"], "after Stop: {list}");
    assert_eq!(list["live"], false, "nothing more to ask for once it ended");
}
