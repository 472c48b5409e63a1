//! Marks and notes, kept in a *sidecar* file beside the recording — never in it
//! (docs/view-api.md, "Artifacts, marks and notes"):
//!
//! - one input file or directory `X`: `X.osprey-notes.json` beside it (for a directory, beside
//!   the directory, not inside it);
//! - several inputs: beside the first one, `FIRST.osprey-notes-<16 hex>.json`, the hex being
//!   the start of the SHA-256 of the inputs' absolute paths (so another set of inputs gets its
//!   own notes);
//! - when that place cannot be written (a read-only medium, a directory of someone else), or for
//!   standard input and live captures: the per-user place
//!   `$XDG_DATA_HOME/osprey/notes/<16 hex>.osprey-notes.json` (`~/.local/share/...` without
//!   `XDG_DATA_HOME`); the answer says so, and the UI shows it.
//!
//! The file: `{"version": 1, "inputs": [...], "marks": [N, ...], "notes": {"N": "text"}}`,
//! frame numbers being those of the view (the same inputs give the same numbers).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Digest;

use crate::ViewState as AppState;

/// Marks kept at most.
const MAX_MARKS: usize = 1_000_000;
/// Characters of one note at most.
const MAX_NOTE: usize = 64 * 1024;
/// Notes kept at most.
const MAX_NOTES: usize = 100_000;

/// What the sidecar holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Content {
    /// Marked frames.
    #[serde(default)]
    pub marks: Vec<u64>,
    /// Notes by frame number.
    #[serde(default)]
    pub notes: BTreeMap<u64, String>,
}

/// Where the notes of this view go.
#[derive(Debug)]
pub struct Notes {
    /// The sidecar beside the recording (none for standard input and live captures).
    pub sidecar: Option<PathBuf>,
    /// The per-user place.
    pub fallback: Option<PathBuf>,
    /// The inputs, as given.
    inputs: Vec<String>,
    /// Serializes writes.
    lock: Mutex<()>,
}

fn hex16(inputs: &[String]) -> String {
    let mut h = sha2::Sha256::new();
    for i in inputs {
        let abs = std::path::absolute(i).unwrap_or_else(|_| PathBuf::from(i));
        h.update(abs.as_os_str().as_encoded_bytes());
        h.update(b"\n");
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn per_user_dir() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("osprey").join("notes"))
}

impl Notes {
    /// The places for these inputs (`live`: a live capture named by its source).
    pub fn new(inputs: &[String], live: Option<&str>) -> Notes {
        let key: Vec<String> = match live {
            Some(source) => vec![format!("live:{source}")],
            None => inputs.to_vec(),
        };
        let hex = hex16(&key);
        let sidecar = match (live, inputs) {
            (Some(_), _) | (None, []) => None,
            (None, [one]) if one != "-" => {
                let p = PathBuf::from(one.trim_end_matches('/'));
                p.file_name().map(|n| {
                    let mut name = n.to_os_string();
                    name.push(".osprey-notes.json");
                    p.with_file_name(name)
                })
            }
            (None, [one]) if one == "-" => None,
            (None, many) => many.iter().find(|i| *i != "-").and_then(|first| {
                let p = PathBuf::from(first.trim_end_matches('/'));
                let mut name = p.file_name()?.to_os_string();
                name.push(format!(".osprey-notes-{hex}.json"));
                Some(p.with_file_name(name))
            }),
        };
        Notes {
            sidecar,
            fallback: per_user_dir().map(|d| d.join(format!("{hex}.osprey-notes.json"))),
            inputs: inputs.to_vec(),
            lock: Mutex::new(()),
        }
    }

    fn read(path: &Path) -> Option<Content> {
        let meta = path.symlink_metadata().ok()?;
        if !meta.is_file() || meta.len() > 64 << 20 {
            return None;
        }
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }

    /// The notes saved, and where: the sidecar's if it exists, else the per-user file's.
    pub fn load(&self) -> (Content, Option<&Path>) {
        for p in [&self.sidecar, &self.fallback].into_iter().flatten() {
            if let Some(c) = Self::read(p) {
                return (c, Some(p));
            }
        }
        (Content::default(), None)
    }

    fn write(&self, path: &Path, content: &Content) -> std::io::Result<()> {
        if self.inputs.iter().any(|i| Path::new(i) == path) {
            return Err(std::io::Error::other("refusing to write over an input"));
        }
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        let dir = dir.unwrap_or(Path::new("."));
        let body = serde_json::to_vec_pretty(&json!({
            "version": 1,
            "inputs": self.inputs,
            "marks": content.marks,
            "notes": content.notes,
        }))
        .map_err(std::io::Error::other)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, &body)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// Saves: to the sidecar, else (it cannot be written) to the per-user file. Returns where,
    /// and why not the sidecar.
    pub fn save(&self, content: &Content) -> Result<(PathBuf, Option<String>), String> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut why = None;
        if let Some(p) = &self.sidecar {
            match self.write(p, content) {
                Ok(()) => return Ok((p.clone(), None)),
                Err(e) => why = Some(format!("cannot write {}: {e}", p.display())),
            }
        }
        let Some(f) = &self.fallback else {
            return Err(why.unwrap_or_else(|| "no place to save notes (no HOME)".into()));
        };
        if let Some(d) = f.parent() {
            std::fs::create_dir_all(d)
                .map_err(|e| format!("cannot create {}: {e}", d.display()))?;
        }
        self.write(f, content)
            .map_err(|e| format!("cannot write {}: {e}", f.display()))?;
        Ok((
            f.clone(),
            Some(why.unwrap_or_else(|| "these inputs have no file to save notes beside".into())),
        ))
    }
}

/// `GET /api/notes`: the marks and notes saved, and where they are kept.
pub async fn get(State(s): State<Arc<AppState>>) -> Response {
    let (content, from) = s.notes.load();
    Json(json!({
        "marks": content.marks,
        "notes": content.notes,
        "path": from.map(|p| p.display().to_string()),
        "sidecar": s.notes.sidecar.as_ref().map(|p| p.display().to_string()),
        "fallback": s.notes.fallback.as_ref().map(|p| p.display().to_string()),
    }))
    .into_response()
}

/// `PUT /api/notes` with `{"marks": [...], "notes": {"N": "text"}}`: replaces what is saved.
pub async fn put(State(s): State<Arc<AppState>>, Json(mut content): Json<Content>) -> Response {
    // Frame numbers past the end are dropped once the index is complete.
    let frames = if s.index.is_done() {
        s.index.len() as u64
    } else {
        u64::MAX
    };
    content.marks.retain(|&n| n >= 1 && n <= frames);
    content.marks.sort_unstable();
    content.marks.dedup();
    content
        .notes
        .retain(|&n, t| n >= 1 && n <= frames && !t.trim().is_empty());
    if content.marks.len() > MAX_MARKS
        || content.notes.len() > MAX_NOTES
        || content.notes.values().any(|t| t.chars().count() > MAX_NOTE)
    {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(json!({"error": format!("at most {MAX_MARKS} marks and {MAX_NOTES} notes of {MAX_NOTE} characters")})),
        )
            .into_response();
    }
    let s2 = s.clone();
    let saved = tokio::task::spawn_blocking(move || s2.notes.save(&content)).await;
    match saved {
        Ok(Ok((path, warning))) => Json(json!({
            "path": path.display().to_string(),
            "warning": warning,
        }))
        .into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": e })),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}
