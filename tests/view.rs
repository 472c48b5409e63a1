//! `osprey view -` fed by a pipe that grows: the index, the rows and the view follow it, and
//! it is complete when the pipe closes (no root needed).

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
