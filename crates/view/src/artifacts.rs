//! The artifacts browser's API (docs/view-api.md, "Artifacts, marks and notes"): the artifact
//! indexes (`out/artifacts.jsonl`) of the capture directories `osprey view` was given (or, with
//! `--live`, of the capture's output directory and the copies of a remote one), the
//! files they list (streamed, or their first KiB), the runtime profile, and `osprey profile
//! diff` of two of them (the CLI's own [`osprey_capture::profile::diff`]).
//!
//! Only files an index lists, inside the capture directory that was opened, are ever served:
//! an artifact is named by the number of its directory and its line in the index (never by a
//! path the client gives), its `path` must be relative and plain (no `..`, no root, no
//! prefix), and no component of it may be a symbolic link (the last one is opened with
//! `O_NOFOLLOW` too): a capture directory comes from a traced, possibly hostile, host.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use osprey_event::artifact::{parse_artifact, Artifact};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ViewState as AppState;

/// Bytes of an artifact's preview.
pub const PREVIEW: usize = 1024;

/// Lines of an index read at most (a hostile index cannot exhaust memory).
const MAX_RECORDS: usize = 1_000_000;

/// A capture directory among the inputs, with its index as it was when the view opened.
#[derive(Debug, Clone, Serialize)]
pub struct Capture {
    /// The input as given (`osprey view DIR`).
    pub input: String,
    /// Its `out/` directory (or the directory itself when it was the `out/` one), as the
    /// frames' `frame.file` names files in it.
    pub out: PathBuf,
    /// The index's records, in file order (their position is their id).
    pub artifacts: Vec<Artifact>,
    /// Lines of the index that were not artifact records.
    pub bad_lines: usize,
}

/// The capture directories among the inputs.
#[derive(Debug, Default)]
pub struct Captures {
    /// In the order of the inputs.
    pub dirs: Vec<Capture>,
}

impl Captures {
    /// Finds the capture directories among `inputs` (files, directories or `-`) and reads their
    /// indexes. Inputs that are not capture directories are left out.
    pub fn open(inputs: &[String]) -> Captures {
        Captures::read(inputs, false)
    }

    /// The same for the output directories of a capture that may still be writing them: an
    /// index's last line without its newline is not read yet, rather than counted as bad.
    pub fn open_growing(dirs: &[String]) -> Captures {
        Captures::read(dirs, true)
    }

    fn read(inputs: &[String], growing: bool) -> Captures {
        let mut dirs = Vec::new();
        for input in inputs {
            let dir = PathBuf::from(input);
            if input == "-" || !dir.is_dir() {
                continue;
            }
            // `out/` must be a directory of its own, not a symbolic link elsewhere.
            let sub = dir.join("out");
            let sub_ok = sub.symlink_metadata().is_ok_and(|m| m.is_dir());
            let out = [sub, dir.clone()]
                .into_iter()
                .filter(|o| o != &dir.join("out") || sub_ok)
                .find(|o| regular(&o.join("artifacts.jsonl")));
            let Some(out) = out else { continue };
            let (artifacts, bad_lines) = read_index(&out.join("artifacts.jsonl"), growing);
            dirs.push(Capture {
                input: input.clone(),
                out,
                artifacts,
                bad_lines,
            });
        }
        Captures { dirs }
    }

    /// The artifact `n` of directory `dir`.
    fn get(&self, dir: &str, n: &str) -> Result<(&Capture, &Artifact), Response> {
        let capture = self.dir(dir)?;
        let artifact = n
            .parse::<usize>()
            .ok()
            .and_then(|n| capture.artifacts.get(n))
            .ok_or_else(|| not_found("no such artifact in this capture's index"))?;
        Ok((capture, artifact))
    }

    fn dir(&self, dir: &str) -> Result<&Capture, Response> {
        dir.parse::<usize>()
            .ok()
            .and_then(|d| self.dirs.get(d))
            .ok_or_else(|| not_found("no such capture directory (see GET /api/artifacts)"))
    }
}

fn regular(p: &Path) -> bool {
    p.symlink_metadata().is_ok_and(|m| m.is_file())
}

fn read_index(path: &Path, growing: bool) -> (Vec<Artifact>, usize) {
    let Ok(mut text) = std::fs::read(path) else {
        return (Vec::new(), 0);
    };
    if growing {
        // the line being written: read at the next request, whole
        let end = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        text.truncate(end);
    }
    let mut out = Vec::new();
    let mut bad = 0;
    for line in text.split(|&b| b == b'\n').take(MAX_RECORDS) {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_artifact(line) {
            Ok(a) => out.push(a),
            Err(_) => bad += 1,
        }
    }
    (out, bad)
}

/// Opens `rel` under `out` when it is a plain relative path none of whose components is a
/// symbolic link, and it is a regular file.
pub fn open_inside(out: &Path, rel: &str) -> Result<File, String> {
    if rel.is_empty() {
        return Err("this artifact was not stored (see its note and lost ranges)".into());
    }
    if rel.contains('\0') {
        return Err("the index names an invalid path".into());
    }
    let mut cur = out.to_path_buf();
    let mut parts = 0;
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(name) => {
                cur.push(name);
                parts += 1;
                let meta = cur
                    .symlink_metadata()
                    .map_err(|e| format!("{}: {e}", cur.display()))?;
                if meta.file_type().is_symlink() {
                    return Err("the index names a symbolic link: refused".into());
                }
            }
            _ => return Err("the index names a path outside its directory: refused".into()),
        }
    }
    if parts == 0 || !regular(&cur) {
        return Err("the index names something that is not a regular file: refused".into());
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&cur)
        .map_err(|e| format!("{}: {e}", cur.display()))
}

fn not_found(message: &str) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": message }))).into_response()
}

fn refused(message: String) -> Response {
    (StatusCode::FORBIDDEN, Json(json!({ "error": message }))).into_response()
}

/// `GET /api/artifacts`: every capture directory and every record of its index.
pub async fn list(State(s): State<Arc<AppState>>) -> Response {
    let captures = s.captures();
    let dirs: Vec<_> = captures
        .dirs
        .iter()
        .enumerate()
        .map(|(d, c)| {
            let artifacts: Vec<_> = c
                .artifacts
                .iter()
                .enumerate()
                .map(|(n, a)| {
                    let mut v = serde_json::to_value(a).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("id".into(), json!(format!("{d}/{n}")));
                        o.insert(
                            "file".into(),
                            json!(if a.path.is_empty() {
                                String::new()
                            } else {
                                c.out.join(&a.path).display().to_string()
                            }),
                        );
                        o.insert(
                            "lost_bytes".into(),
                            json!(a.lost_bytes()),
                        );
                    }
                    v
                })
                .collect();
            json!({
                "id": d,
                "input": c.input,
                "out": c.out.display().to_string(),
                "bad_lines": c.bad_lines,
                "has_profile": c.artifacts.iter().any(|a| a.kind == "profile" && !a.path.is_empty()),
                "artifacts": artifacts,
            })
        })
        .collect();
    // while a live capture runs its list grows (and an ssh:// capture's copies come): the UI
    // asks again until the capture has ended
    Json(json!({ "dirs": dirs, "live": s.is_live() })).into_response()
}

/// A file name for a download: the artifact's base name, with anything but `[A-Za-z0-9._-]`
/// replaced.
fn download_name(rel: &str) -> String {
    let base = rel.rsplit('/').next().unwrap_or("artifact");
    let name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.trim_matches('.').is_empty() {
        "artifact".into()
    } else {
        name
    }
}

/// `GET /api/artifacts/{dir}/{n}/file`: the artifact's bytes, streamed.
pub async fn file(
    State(s): State<Arc<AppState>>,
    UrlPath((dir, n)): UrlPath<(String, String)>,
) -> Response {
    let captures = s.captures();
    let (capture, artifact) = match captures.get(&dir, &n) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f = match open_inside(&capture.out, &artifact.path) {
        Ok(f) => f,
        Err(e) => return refused(e),
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut f = f;
        let mut left = len;
        while left > 0 {
            let mut buf = vec![0u8; (64 << 10).min(left as usize)];
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => {
                    buf.truncate(k);
                    left -= k as u64;
                    if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        download_name(&artifact.path)
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if artifact.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        if let Ok(v) = HeaderValue::from_str(&artifact.sha256) {
            h.insert("x-osprey-sha256", v);
        }
    }
    resp
}

/// `GET /api/artifacts/{dir}/{n}/head`: the artifact's first KiB (fewer bytes for a smaller
/// file).
pub async fn head(
    State(s): State<Arc<AppState>>,
    UrlPath((dir, n)): UrlPath<(String, String)>,
) -> Response {
    let captures = s.captures();
    let (capture, artifact) = match captures.get(&dir, &n) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f = match open_inside(&capture.out, &artifact.path) {
        Ok(f) => f,
        Err(e) => return refused(e),
    };
    let mut buf = Vec::with_capacity(PREVIEW);
    if let Err(e) = f.take(PREVIEW as u64).read_to_end(&mut buf) {
        return refused(format!("reading the artifact: {e}"));
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        )],
        buf,
    )
        .into_response()
}

/// The runtime profile of a capture directory: the file its index lists as `profile`.
fn load_profile(c: &Capture) -> Result<osprey_capture::profile::Profile, Response> {
    let artifact = c
        .artifacts
        .iter()
        .find(|a| a.kind == "profile" && !a.path.is_empty())
        .ok_or_else(|| {
            not_found("this capture has no runtime profile (trace with --capture profile)")
        })?;
    let mut f = open_inside(&c.out, &artifact.path).map_err(refused)?;
    let mut text = Vec::new();
    f.by_ref()
        .take(256 << 20)
        .read_to_end(&mut text)
        .map_err(|e| refused(format!("reading the profile: {e}")))?;
    osprey_capture::profile::Profile::parse(&text).map_err(|e| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": format!("the profile does not parse: {e}") })),
        )
            .into_response()
    })
}

/// `GET /api/artifacts/{dir}/profile`: the runtime profile's entries.
pub async fn profile(State(s): State<Arc<AppState>>, UrlPath(dir): UrlPath<String>) -> Response {
    let captures = s.captures();
    let c = match captures.dir(&dir) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let p = match load_profile(c) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let entries: Vec<_> = p
        .entries
        .iter()
        .map(|(k, e)| {
            json!({
                "key": k,
                "identity": osprey_capture::profile::identity(k),
                "times": e.times,
                "file_hash": e.file_hash,
            })
        })
        .collect();
    Json(json!({ "input": c.input, "entries": entries })).into_response()
}

/// The query of `/api/artifacts/diff`.
#[derive(Deserialize)]
pub struct DiffQuery {
    old: String,
    new: String,
}

/// `GET /api/artifacts/diff?old=D1&new=D2`: `osprey profile diff` of two capture directories'
/// profiles.
pub async fn diff(State(s): State<Arc<AppState>>, Query(q): Query<DiffQuery>) -> Response {
    let captures = s.captures();
    let (a, b) = match (captures.dir(&q.old), captures.dir(&q.new)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let (old, new) = match (load_profile(a), load_profile(b)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    use osprey_capture::profile::Change;
    let changes = osprey_capture::profile::diff(&old, &new);
    let mut text = Vec::new();
    let failed = osprey_capture::profile::report(&changes, &mut text).unwrap_or(false);
    let list: Vec<_> = changes
        .iter()
        .map(|c| match c {
            Change::New {
                name,
                hashes,
                times,
            } => json!({"change": "new", "name": name, "new_hashes": hashes, "new_times": times}),
            Change::Changed { name, old, new } => {
                json!({"change": "changed", "name": name, "old_hashes": old, "new_hashes": new})
            }
            Change::Removed { name } => json!({"change": "removed", "name": name}),
            Change::Count { name, old, new } => {
                json!({"change": "count", "name": name, "old_times": old, "new_times": new})
            }
        })
        .collect();
    Json(json!({
        "old": a.input,
        "new": b.input,
        "changes": list,
        "failed": failed,
        "text": String::from_utf8_lossy(&text),
    }))
    .into_response()
}
