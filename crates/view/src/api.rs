//! The HTTP API (docs/view-api.md): JSON over HTTP, and one server-sent event stream for
//! progress. Every handler bounds what it is given: frame numbers and offsets are checked,
//! windows are capped, filter texts are limited in length, and nothing a client sends can
//! make a handler panic.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::render;
use crate::ViewState as AppState;

/// Rows a window may ask for at most.
pub const MAX_WINDOW: usize = 1000;

/// The longest filter text accepted.
pub const MAX_FILTER: usize = 16 * 1024;

/// The routes of the API and the UI's assets.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/status", get(status))
        .route("/api/profile", get(profile))
        .route("/api/rows", get(rows))
        .route("/api/check", get(check))
        .route(
            "/api/views",
            get(view_state).post(create_view).delete(cancel_view),
        )
        .route("/api/frames/{number}", get(frame_detail))
        .route("/api/frames/{number}/bytes", get(frame_bytes))
        .route("/api/events", get(events))
        .route("/", get(crate::assets::index))
        .route("/{*path}", get(crate::assets::asset))
        .with_state(state)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// A filter's compile error, with where it is (byte offsets into the text).
#[derive(Serialize)]
struct FilterProblem {
    message: String,
    position: usize,
    length: usize,
}

fn compile(state: &AppState, text: &str) -> Result<osprey_filter::Filter, Response> {
    if text.len() > MAX_FILTER {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a filter is at most {MAX_FILTER} bytes"),
        ));
    }
    osprey_filter::Filter::compile(text, &state.profile.macros).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": FilterProblem {
                message: e.message,
                position: e.position,
                length: e.length,
            }})),
        )
            .into_response()
    })
}

async fn status(State(s): State<Arc<AppState>>) -> Response {
    let index = s.index.progress();
    let stats = s.index.diagnostics().stats();
    let damaged: u64 = stats.iter().map(|i| i.damaged).sum();
    Json(json!({
        "files": s.index.input_names(),
        "first_ts": s.index.first_ts().map(|t| t.to_string()),
        "index": index,
        "entry_bytes": std::mem::size_of::<crate::index::Entry>(),
        "damaged": damaged,
        "events": s.index.event_names().len().saturating_sub(1),
    }))
    .into_response()
}

async fn profile(State(s): State<Arc<AppState>>) -> Response {
    let p = &s.profile;
    let reg = osprey_field::registry();
    Json(json!({
        "name": p.name,
        "columns": p.columns.iter().map(|c| json!({
            "title": c.title,
            "field": reg.info(c.field).abbrev.to_string(),
            "right": c.right,
            "width": c.width,
        })).collect::<Vec<_>>(),
        "colors": p.colors.iter().map(|c| json!({
            "name": c.name,
            "filter": c.filter.text(),
            "foreground": c.foreground.to_hex(),
            "background": c.background.to_hex(),
        })).collect::<Vec<_>>(),
        "buttons": p.buttons.iter().map(|b| json!({"label": b.label, "filter": b.filter})).collect::<Vec<_>>(),
        "bookmarks": p.bookmarks.iter().map(|b| json!({"label": b.label, "filter": b.filter})).collect::<Vec<_>>(),
        "macros": p.macro_bodies,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct RowsQuery {
    offset: Option<u64>,
    limit: Option<u64>,
    filter: Option<String>,
}

async fn rows(State(s): State<Arc<AppState>>, Query(q): Query<RowsQuery>) -> Response {
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(100).min(MAX_WINDOW as u64) as usize;
    let text = q.filter.unwrap_or_default();
    let view = if text.trim().is_empty() {
        None
    } else {
        match s.views.get(&text) {
            Some(v) => Some(v),
            None => {
                return error(
                    StatusCode::NOT_FOUND,
                    "no view of this filter: create it with POST /api/views first",
                )
            }
        }
    };
    let state = s.clone();
    // Reading and dissecting a window is blocking work.
    let result =
        tokio::task::spawn_blocking(move || window(&state, view.as_deref(), offset, limit)).await;
    match result {
        Ok(Ok(body)) => Json(body).into_response(),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reading frames: {e}"),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// A window of rows.
#[derive(Serialize)]
pub struct Window {
    /// Rows in the view now.
    pub total: u64,
    /// True when the view (and the index) will not grow any more.
    pub complete: bool,
    /// The offset of the first row.
    pub offset: u64,
    /// The rows.
    pub rows: Vec<render::Row>,
}

/// Rows `offset..offset + limit` of a view (all frames when `view` is `None`). The cost is
/// that of the rows returned: the frame numbers are a slice of the view, the frames one read
/// of the store.
pub fn window(
    s: &AppState,
    view: Option<&crate::views::View>,
    offset: u64,
    limit: usize,
) -> std::io::Result<Window> {
    // Each shown frame, and the one shown before the first (for the delta time).
    let (total, complete, numbers, before): (u64, bool, Vec<u32>, Option<u32>) = match view {
        None => {
            let complete = s.index.is_done();
            let total = s.index.len() as u64;
            let start = offset.min(total);
            let end = start.saturating_add(limit as u64).min(total);
            let before = start.checked_sub(1).map(|b| b as u32);
            (
                total,
                complete,
                (start as u32..end as u32).collect(),
                before,
            )
        }
        Some(v) => {
            let complete = v.is_done();
            v.with_frames(|f| {
                let total = f.len() as u64;
                let start = offset.min(total) as usize;
                let end = start.saturating_add(limit).min(f.len());
                let before = start.checked_sub(1).map(|b| f[b]);
                (total, complete, f[start..end].to_vec(), before)
            })
        }
    };
    let loaded = s.index.load(&numbers)?;
    let mut prev_shown = Vec::with_capacity(loaded.len());
    let mut prev = before.and_then(|b| s.index.entry(b as usize)).map(|e| e.ts);
    for l in &loaded {
        prev_shown.push(prev);
        prev = Some(l.frame.ts);
    }
    Ok(Window {
        total,
        complete,
        offset: offset.min(total),
        rows: s.rows.rows(&s.index, &loaded, &prev_shown),
    })
}

#[derive(Deserialize)]
struct FilterQuery {
    filter: Option<String>,
}

async fn check(State(s): State<Arc<AppState>>, Query(q): Query<FilterQuery>) -> Response {
    let text = q.filter.unwrap_or_default();
    match compile(&s, &text) {
        Ok(f) => Json(json!({
            "ok": true,
            "fields": f.fields().into_iter()
                .map(|id| osprey_field::registry().info(id).abbrev.to_string())
                .collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct CreateView {
    filter: String,
}

async fn create_view(State(s): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<CreateView>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected a JSON body {\"filter\": \"...\"}",
        );
    };
    if req.filter.trim().is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "the empty filter is every frame: ask /api/rows without a filter",
        );
    }
    let filter = match compile(&s, &req.filter) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let view = s
        .views
        .get_or_start(&req.filter, filter, s.index.clone(), s.prefs.clone());
    Json(view.state(&s.index)).into_response()
}

async fn view_state(State(s): State<Arc<AppState>>, Query(q): Query<FilterQuery>) -> Response {
    match q.filter {
        Some(f) => match s.views.get(&f) {
            Some(v) => Json(v.state(&s.index)).into_response(),
            None => error(StatusCode::NOT_FOUND, "no view of this filter"),
        },
        None => Json(
            s.views
                .all()
                .iter()
                .map(|v| v.state(&s.index))
                .collect::<Vec<_>>(),
        )
        .into_response(),
    }
}

async fn cancel_view(State(s): State<Arc<AppState>>, Query(q): Query<FilterQuery>) -> Response {
    match q.filter.and_then(|f| s.views.get(&f)) {
        Some(v) => {
            v.cancel();
            Json(v.state(&s.index)).into_response()
        }
        None => error(StatusCode::NOT_FOUND, "no view of this filter"),
    }
}

/// The 0-based index of frame `number`, if it is in the index.
fn frame_index(s: &AppState, number: &str) -> Result<u32, Response> {
    let n: u64 = number.parse().map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            "a frame number is a positive integer",
        )
    })?;
    if n == 0 || n > s.index.len() as u64 {
        return Err(error(
            StatusCode::NOT_FOUND,
            format!("no frame {n}: frames are numbered 1 to {}", s.index.len()),
        ));
    }
    Ok((n - 1) as u32)
}

async fn frame_detail(State(s): State<Arc<AppState>>, Path(number): Path<String>) -> Response {
    let i = match frame_index(&s, &number) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let state = s.clone();
    let result = tokio::task::spawn_blocking(move || {
        let loaded = state.index.load(&[i])?;
        Ok::<_, std::io::Error>(
            loaded
                .first()
                .map(|l| render::detail(&state.index, l, &state.prefs)),
        )
    })
    .await;
    match result {
        Ok(Ok(Some(d))) => Json(d).into_response(),
        Ok(Ok(None)) => error(StatusCode::NOT_FOUND, "no such frame"),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reading the frame: {e}"),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[derive(Deserialize)]
struct BytesQuery {
    source: Option<String>,
}

async fn frame_bytes(
    State(s): State<Arc<AppState>>,
    Path(number): Path<String>,
    Query(q): Query<BytesQuery>,
) -> Response {
    let i = match frame_index(&s, &number) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let source = q.source.unwrap_or_else(|| "json".into());
    let loaded = match s.index.load(&[i]) {
        Ok(l) => l,
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reading the frame: {e}"),
            )
        }
    };
    match loaded
        .first()
        .and_then(|l| render::source_bytes(l, &source))
    {
        Some(bytes) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            )],
            bytes,
        )
            .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "no such data source for this frame (json, frame or packet)",
        ),
    }
}

/// One progress message: the index pass and every view.
fn progress(s: &AppState) -> serde_json::Value {
    json!({
        "index": s.index.progress(),
        "views": s.views.all().iter().map(|v| v.state(&s.index)).collect::<Vec<_>>(),
    })
}

/// Progress of the index and the views: checked every 100 ms, sent when it changed (and at
/// least every 5 s, which also keeps the connection alive).
async fn events(
    State(s): State<Arc<AppState>>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let stream = futures_util::stream::unfold(
        (s, String::new(), 0u32),
        |(s, mut last, mut quiet)| async move {
            loop {
                let now = progress(&s).to_string();
                if now != last || quiet >= 50 {
                    let event = SseEvent::default().event("progress").data(now.clone());
                    last = now;
                    return Some((Ok(event), (s, last, 0)));
                }
                quiet += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
