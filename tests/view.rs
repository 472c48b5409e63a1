//! `osprey view -` fed by a pipe that grows: the index, the rows and the view follow it, and
//! it is complete when the pipe closes (no root needed); `osprey view LAKE` opens a lake.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::util::{fixture, view_api, wait_view, ViewProcess, ACTION, DOCS};

#[test]
fn a_growing_pipe_is_followed_until_it_closes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_osprey"))
        .args(["view", "--no-browser", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run osprey view");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let view = ViewProcess(child);
    let (http, token) = crate::util::read_view_url(stdout);
    let token = token.as_str();
    stdin
        .write_all(&std::fs::read(fixture(DOCS)).unwrap())
        .unwrap();
    stdin.flush().unwrap();
    wait_view(http, token, "/api/status", |v| v["index"]["frames"] == 78);
    let status = view_api(http, token, "GET", "/api/status");
    assert_eq!(status["index"]["done"], false, "{status}");
    stdin
        .write_all(&std::fs::read(fixture(ACTION)).unwrap())
        .unwrap();
    stdin.flush().unwrap();
    wait_view(http, token, "/api/status", |v| v["index"]["frames"] == 102);
    let rows = view_api(http, token, "GET", "/api/rows?offset=100&limit=10");
    assert_eq!(rows["rows"].as_array().unwrap().len(), 2);
    assert_eq!(rows["complete"], false);
    drop(stdin);
    wait_view(http, token, "/api/status", |v| v["index"]["done"] == true);
    assert_eq!(
        view_api(http, token, "GET", "/api/status")["index"]["frames"],
        102
    );
    drop(view);
}

#[test]
fn a_lake_opens_as_osprey_read_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let target = format!("lake:{}", lake.display());
    crate::util::convert(&fixture(DOCS), target.as_ref());
    let mut child = Command::new(env!("CARGO_BIN_EXE_osprey"))
        .args(["view", "--no-browser", lake.to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run osprey view");
    let stdout = child.stdout.take().unwrap();
    let view = ViewProcess(child);
    let (http, token) = crate::util::read_view_url(stdout);
    let token = token.as_str();
    wait_view(http, token, "/api/status", |v| v["index"]["done"] == true);
    let status = view_api(http, token, "GET", "/api/status");
    assert_eq!(status["index"]["frames"], 78, "{status}");
    assert_eq!(status["damaged"], 0, "{status}");
    let rows = view_api(http, token, "GET", "/api/rows?offset=0&limit=78");
    let rows = rows["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 78);
    // In the order `osprey read` gives the lake's events.
    let times: Vec<u64> = rows
        .iter()
        .map(|r| r["ts"].as_str().unwrap().parse().unwrap())
        .collect();
    let back = dir.path().join("back.json");
    crate::util::convert(&lake, &back);
    assert_eq!(times, crate::util::timestamps(&back));
    drop(view);
}
