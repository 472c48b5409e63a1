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

/// Why a window of a running live capture cannot be sorted.
const LIVE_SORT: &str = "sorting needs the whole capture: stop the live capture first";

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
        .route("/api/find", get(find))
        .route("/api/fields", get(fields))
        .route("/api/export", axum::routing::post(export))
        .route("/api/frames/{number}", get(frame_detail))
        .route("/api/frames/{number}/bytes", get(frame_bytes))
        .route("/api/events", get(events))
        .route("/api/preferences", get(preferences).post(set_preferences))
        .route("/api/stats", axum::routing::post(start_stats))
        .route("/api/stats/prepare", axum::routing::post(prepare_stats))
        .route("/api/stats/{id}", get(stats_result).delete(cancel_stats))
        .route("/api/artifacts", get(crate::artifacts::list))
        .route("/api/artifacts/diff", get(crate::artifacts::diff))
        .route(
            "/api/artifacts/{dir}/profile",
            get(crate::artifacts::profile),
        )
        .route("/api/artifacts/{dir}/{n}/file", get(crate::artifacts::file))
        .route("/api/artifacts/{dir}/{n}/head", get(crate::artifacts::head))
        .route("/api/notes", get(crate::notes::get).put(crate::notes::put))
        .route("/api/live", get(live_state))
        .route("/api/live/start", axum::routing::post(live_start))
        .route("/api/live/stop", axum::routing::post(live_stop))
        .route("/api/live/log", get(live_log))
        .route(
            "/api/live/copy-output",
            axum::routing::post(crate::live::copy_output),
        )
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

/// Applied columns a request may add at most.
pub const MAX_EXTRA_COLUMNS: usize = 32;

/// Which rows, in which order: a filter's view (or every frame), applied columns, a sort;
/// and the window (`/api/rows`) or the frame to find (`/api/find`).
#[derive(Deserialize, Clone, Default)]
struct OrderQuery {
    offset: Option<u64>,
    limit: Option<u64>,
    frame: Option<String>,
    filter: Option<String>,
    /// Field names of applied columns, comma-separated, after the profile's.
    columns: Option<String>,
    /// The column to sort by: an index into the profile's columns then the applied ones.
    sort: Option<usize>,
    /// Descending (`desc=1` or `desc=true`).
    desc: Option<String>,
}

/// The rows of a request, resolved.
struct Order {
    view: Option<Arc<crate::views::View>>,
    extra: Vec<osprey_print::profile::Column>,
    sort: Option<(usize, bool)>,
    filter: String,
}

fn resolve_order(s: &AppState, q: &OrderQuery) -> Result<Order, Response> {
    let text = q.filter.clone().unwrap_or_default();
    let view = if text.trim().is_empty() {
        None
    } else {
        match s.views.get(&text) {
            Some(v) => Some(v),
            None => {
                return Err(error(
                    StatusCode::NOT_FOUND,
                    "no view of this filter: create it with POST /api/views first",
                ))
            }
        }
    };
    let mut extra = Vec::new();
    for name in q
        .columns
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        if extra.len() >= MAX_EXTRA_COLUMNS || name.len() > 256 {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("at most {MAX_EXTRA_COLUMNS} applied columns, of known fields"),
            ));
        }
        match render::field_column(name) {
            Some(c) => extra.push(c),
            None => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    format!("no field named {name:?}"),
                ))
            }
        }
    }
    let ncols = s.profile.columns.len() + extra.len();
    let sort = match q.sort {
        None => None,
        Some(k) if k < ncols => Some((k, matches!(q.desc.as_deref(), Some("1" | "true" | "yes")))),
        Some(k) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("no column {k} to sort by (there are {ncols})"),
            ))
        }
    };
    Ok(Order {
        view,
        extra,
        sort,
        filter: text,
    })
}

/// The frames of an order, as a list to slice: the view's or the index's in frame order, or
/// the sorted order (computed now, once the view is complete, unless cached).
enum Frames {
    Natural,
    Sorted(Arc<Vec<u32>>),
}

fn frames_of(s: &AppState, o: &Order) -> Result<Frames, String> {
    let Some((column, desc)) = o.sort else {
        return Ok(Frames::Natural);
    };
    if s.is_live() {
        // A sort needs every frame; a running capture has not given them all.
        return Err(LIVE_SORT.into());
    }
    // A sort needs every frame of the view.
    loop {
        let done = match &o.view {
            Some(v) => v.is_done() || v.state(&s.index).cancelled,
            None => s.index.is_done(),
        };
        if done {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if let Some(v) = &o.view {
        if v.state(&s.index).cancelled {
            return Err("the view was cancelled".into());
        }
    }
    let columns = s.rows.all_columns(&o.extra);
    let colkey = if column < s.profile.columns.len() {
        format!("#{column}")
    } else {
        columns[column].info.abbrev.to_string()
    };
    let prefs = s.prefs();
    // Cells of PID and container columns depend on the preferences.
    let key = format!(
        "{}\u{0}{colkey}\u{0}{desc}\u{0}{}",
        o.filter,
        prefs.to_string().replace('\n', ",")
    );
    let order = s.sorts.order(
        key,
        &s.index,
        || match &o.view {
            Some(v) => v.with_frames(<[u32]>::to_vec),
            None => (0..s.index.len() as u32).collect(),
        },
        &columns,
        column,
        desc,
        &prefs,
    )?;
    Ok(Frames::Sorted(order))
}

async fn rows(State(s): State<Arc<AppState>>, Query(q): Query<OrderQuery>) -> Response {
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(100).min(MAX_WINDOW as u64) as usize;
    let order = match resolve_order(&s, &q) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let state = s.clone();
    // Reading and dissecting a window (and sorting, the first time) is blocking work.
    let result = tokio::task::spawn_blocking(move || {
        let frames = frames_of(&state, &order).map_err(std::io::Error::other)?;
        window_in(&state, &order, &frames, offset, limit)
    })
    .await;
    match result {
        Ok(Ok(body)) => Json(body).into_response(),
        Ok(Err(e)) if e.to_string() == LIVE_SORT => error(StatusCode::CONFLICT, LIVE_SORT),
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
    window_of(s, view, None, offset, limit, &[])
}

fn window_in(
    s: &AppState,
    o: &Order,
    frames: &Frames,
    offset: u64,
    limit: usize,
) -> std::io::Result<Window> {
    let sorted = match frames {
        Frames::Natural => None,
        Frames::Sorted(f) => Some(&f[..]),
    };
    window_of(s, o.view.as_deref(), sorted, offset, limit, &o.extra)
}

fn window_of(
    s: &AppState,
    view: Option<&crate::views::View>,
    sorted: Option<&[u32]>,
    offset: u64,
    limit: usize,
    extra: &[osprey_print::profile::Column],
) -> std::io::Result<Window> {
    // Each shown frame, and the one shown before the first (for the delta time).
    let (total, complete, numbers, before): (u64, bool, Vec<u32>, Option<u32>) =
        match (view, sorted) {
            (_, Some(f)) => {
                let total = f.len() as u64;
                let start = offset.min(total) as usize;
                let end = start.saturating_add(limit).min(f.len());
                let before = start.checked_sub(1).map(|b| f[b]);
                (total, true, f[start..end].to_vec(), before)
            }
            (None, None) => {
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
            (Some(v), None) => {
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
    // Read in frame order (runs of adjacent frames), shown in the window's order.
    let mut ascending = numbers.clone();
    ascending.sort_unstable();
    let mut by_index: std::collections::HashMap<u32, crate::index::Loaded> = s
        .index
        .load(&ascending)?
        .into_iter()
        .map(|l| (l.frame.number as u32 - 1, l))
        .collect();
    let loaded: Vec<crate::index::Loaded> =
        numbers.iter().filter_map(|n| by_index.remove(n)).collect();
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
        rows: s
            .rows
            .rows_with(&s.index, &loaded, &prev_shown, extra, &s.prefs()),
    })
}

/// Where frame N is in the rows of a view (Go to frame, next marked, deep links): its offset,
/// or that of the nearest frame shown after it (before it, at the end), `exact` false.
async fn find(State(s): State<Arc<AppState>>, Query(q): Query<OrderQuery>) -> Response {
    let Some(n) = q
        .frame
        .as_deref()
        .and_then(|f| f.trim().parse::<u64>().ok())
        .filter(|&n| n >= 1)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "frame=N, a positive frame number, is needed",
        );
    };
    let order = match resolve_order(&s, &q) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let state = s.clone();
    let result = tokio::task::spawn_blocking(move || {
        let frames = frames_of(&state, &order)?;
        let want = u32::try_from(n - 1).unwrap_or(u32::MAX);
        let found: Option<(usize, u32)> = match (&frames, &order.view) {
            (Frames::Sorted(f), _) => {
                // Any order: the frame itself, else the first shown frame above it.
                f.iter()
                    .position(|&x| x == want)
                    .map(|p| (p, want))
                    .or_else(|| {
                        f.iter()
                            .enumerate()
                            .filter(|(_, &x)| x > want)
                            .min_by_key(|(_, &x)| x)
                            .or_else(|| f.iter().enumerate().max_by_key(|(_, &x)| x))
                            .map(|(p, &x)| (p, x))
                    })
            }
            (Frames::Natural, Some(v)) => v.with_frames(|f| {
                let p = f.partition_point(|&x| x < want);
                if p < f.len() {
                    Some((p, f[p]))
                } else {
                    f.len().checked_sub(1).map(|p| (p, f[p]))
                }
            }),
            (Frames::Natural, None) => {
                let len = state.index.len();
                (len > 0).then(|| {
                    let p = (want as usize).min(len - 1);
                    (p, p as u32)
                })
            }
        };
        Ok::<_, String>(found)
    })
    .await;
    match result {
        Ok(Ok(Some((offset, frame)))) => Json(json!({
            "offset": offset,
            "number": frame as u64 + 1,
            "exact": frame as u64 + 1 == n,
        }))
        .into_response(),
        Ok(Ok(None)) => error(StatusCode::NOT_FOUND, "no frame is shown"),
        Ok(Err(e)) => error(StatusCode::CONFLICT, e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The field names a filter can use, for completion: the registry's, and the argument fields
/// of the events in the inputs.
async fn fields(State(s): State<Arc<AppState>>) -> Response {
    let reg = osprey_field::registry();
    let mut out: Vec<serde_json::Value> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (_, info) in reg.all() {
        if info.abbrev.is_empty() || !seen.insert(info.abbrev.to_string()) {
            continue;
        }
        out.push(json!({ "field": &*info.abbrev, "name": &*info.name }));
    }
    for a in s.index.arg_fields() {
        if seen.insert(a.clone()) {
            out.push(json!({ "field": a, "name": "Tracee event argument" }));
        }
    }
    out.sort_by(|a, b| a["field"].as_str().cmp(&b["field"].as_str()));
    Json(json!({ "fields": out, "macros": s.profile.macro_bodies })).into_response()
}

#[derive(Deserialize)]
struct ExportRequest {
    /// `all`, `displayed` (the view of `filter`), `frames` (the numbers in `frames`: marked or
    /// selected ones) or `range` (`range`, e.g. "1-10,15").
    which: String,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    frames: Vec<u64>,
    #[serde(default)]
    range: Option<String>,
    /// With `frames` or `range`: keep only those the view of `filter` shows.
    #[serde(default)]
    displayed_only: bool,
    /// `pcapng` or `json`.
    format: String,
}

/// Export Specified Frames: the chosen frames, in frame order, as `osprey read -w` writes them.
async fn export(State(s): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<ExportRequest>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected a JSON body {\"which\": \"all|displayed|frames|range\", \"format\": \"pcapng|json\", ...}",
        );
    };
    let format = match req.format.as_str() {
        "pcapng" => crate::export::Format::PcapNg,
        "json" => crate::export::Format::Json,
        _ => return error(StatusCode::BAD_REQUEST, "format is pcapng or json"),
    };
    if !s.index.is_done() {
        return error(
            StatusCode::CONFLICT,
            "the index pass is still running: export when it is done",
        );
    }
    let len = s.index.len();
    let view = match req
        .filter
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        None => None,
        Some(_) => match s.views.get(req.filter.as_deref().unwrap_or("")) {
            Some(v) if v.is_done() => Some(v),
            Some(_) => {
                return error(
                    StatusCode::CONFLICT,
                    "the view of this filter is not complete yet",
                )
            }
            None => {
                return error(
                    StatusCode::NOT_FOUND,
                    "no view of this filter: create it with POST /api/views first",
                )
            }
        },
    };
    let mut frames: Vec<u32> = match req.which.as_str() {
        "all" => (0..len as u32).collect(),
        "displayed" => match &view {
            Some(v) => v.with_frames(<[u32]>::to_vec),
            None => (0..len as u32).collect(),
        },
        "frames" => {
            let mut f: Vec<u32> = req
                .frames
                .iter()
                .filter(|&&n| n >= 1 && n <= len as u64)
                .map(|&n| (n - 1) as u32)
                .collect();
            f.sort_unstable();
            f.dedup();
            f
        }
        "range" => match crate::export::parse_range(req.range.as_deref().unwrap_or(""), len) {
            Ok(f) => f,
            Err(e) => return error(StatusCode::BAD_REQUEST, e),
        },
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "which is all, displayed, frames or range",
            )
        }
    };
    if req.displayed_only {
        if let Some(v) = &view {
            v.with_frames(|shown| frames.retain(|f| shown.binary_search(f).is_ok()));
        }
    }
    let state = s.clone();
    let written =
        tokio::task::spawn_blocking(move || crate::export::write(&state.index, &frames, format))
            .await;
    let w = match written {
        Ok(Ok(w)) => w,
        Ok(Err(e)) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("writing the export: {e}"),
            )
        }
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let (ctype, name) = match format {
        crate::export::Format::PcapNg => ("application/x-pcapng", "osprey-export.pcapng"),
        crate::export::Format::Json => ("application/x-ndjson", "osprey-export.json"),
    };
    // Streamed from the temporary file in blocks of 1 MiB.
    let stream =
        futures_util::stream::unfold((w.file, 0u64, w.len), |(file, at, len)| async move {
            if at >= len {
                return None;
            }
            let n = (len - at).min(1 << 20) as usize;
            let read = tokio::task::spawn_blocking(move || {
                use std::os::unix::fs::FileExt;
                let mut buf = vec![0u8; n];
                let r = file.read_exact_at(&mut buf, at).map(|()| buf);
                (file, r)
            })
            .await;
            match read {
                Ok((file, Ok(buf))) => Some((
                    Ok::<_, std::io::Error>(axum::body::Bytes::from(buf)),
                    (file, at + n as u64, len),
                )),
                Ok((file, Err(e))) => Some((Err(e), (file, len, len))),
                Err(_) => None,
            }
        });
    let mut resp = axum::body::Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if let Ok(v) = HeaderValue::from_str(&w.len.to_string()) {
        h.insert(header::CONTENT_LENGTH, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&w.frames.to_string()) {
        h.insert("x-osprey-frames", v);
    }
    if let Ok(v) = HeaderValue::from_str(&w.left_out.to_string()) {
        h.insert("x-osprey-left-out", v);
    }
    resp
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
            "warnings": f.warnings().iter().map(|w| json!({
                "message": w.message,
                "position": w.position,
                "length": w.length,
            })).collect::<Vec<_>>(),
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
        .get_or_start(&req.filter, filter, s.index.clone(), s.prefs());
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
                .map(|l| render::detail(&state.index, l, &state.prefs())),
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
        "live": s.live.as_ref().map(|l| l.state()),
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

fn live_of(s: &AppState) -> Result<&Arc<crate::live::Live>, Response> {
    s.live.as_ref().ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            "not a live capture (osprey view --live)",
        )
    })
}

/// The live capture's state and the presets the dialog offers.
async fn live_state(State(s): State<Arc<AppState>>) -> Response {
    match live_of(&s) {
        Ok(l) => Json(json!({"state": l.state(), "presets": l.presets()})).into_response(),
        Err(r) => r,
    }
}

/// The longest text of one capture option.
const MAX_OPTION: usize = 4096;

/// Starts the capture with the dialog's options.
async fn live_start(State(s): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    let live = match live_of(&s) {
        Ok(l) => l.clone(),
        Err(r) => return r,
    };
    let options: crate::live::CaptureOptions = match serde_json::from_slice(&body) {
        Ok(o) => o,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("capture options: {e}")),
    };
    let o = &options;
    let texts = [
        &o.preset,
        &o.events,
        &o.scope,
        &o.artifacts,
        &o.network,
        &o.command,
    ];
    if texts
        .iter()
        .any(|t| t.len() > MAX_OPTION || t.contains('\0'))
    {
        return error(
            StatusCode::BAD_REQUEST,
            format!("a capture option is at most {MAX_OPTION} bytes, without NUL"),
        );
    }
    if !live.wants_options() {
        return error(StatusCode::CONFLICT, "the capture was started already");
    }
    let state = s.clone();
    let started = tokio::task::spawn_blocking(move || {
        live.start(&options, &state.index, state.profile.clone(), state.prefs())
            .map(|()| live.state())
    })
    .await;
    match started {
        Ok(Ok(st)) => Json(st).into_response(),
        Ok(Err(why)) if why == crate::live::STARTED => error(StatusCode::CONFLICT, why),
        Ok(Err(why)) => error(StatusCode::BAD_REQUEST, why),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Stops the capture (SIGINT to the tracer).
async fn live_stop(State(s): State<Arc<AppState>>) -> Response {
    match live_of(&s) {
        Ok(l) => {
            l.stop(&s.index);
            Json(l.state()).into_response()
        }
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct LogQuery {
    from: Option<u64>,
    limit: Option<usize>,
}

/// The capture's log (the tracer's standard error and output) from line `from` on.
async fn live_log(State(s): State<Arc<AppState>>, Query(q): Query<LogQuery>) -> Response {
    match live_of(&s) {
        Ok(l) => {
            let limit = q.limit.unwrap_or(1000).min(MAX_WINDOW);
            let (lines, next, dropped) = l.log_since(q.from.unwrap_or(0), limit);
            Json(json!({"lines": lines, "next": next, "dropped": dropped})).into_response()
        }
        Err(r) => r,
    }
}

/// Preferences as JSON: each name with its value (`true`/`false` for the switches).
fn preferences_json(prefs: &osprey_dissect::Preferences) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for line in prefs.to_string().lines() {
        if let Some((name, value)) = line.split_once(": ") {
            let v = match value {
                "true" => json!(true),
                "false" => json!(false),
                other => json!(other),
            };
            out.insert(name.to_string(), v);
        }
    }
    serde_json::Value::Object(out)
}

/// The preferences in use (the profile's, `-o`, the dialog's).
async fn preferences(State(s): State<Arc<AppState>>) -> Response {
    Json(preferences_json(&s.prefs())).into_response()
}

/// Sets preferences (as `-o NAME=VALUE` does): `{"pid_format": "host", ...}`. All or nothing.
async fn set_preferences(State(s): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    let Ok(serde_json::Value::Object(given)) = serde_json::from_slice::<serde_json::Value>(&body)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "preferences are a JSON object: {\"pid_format\": \"host\", ...}",
        );
    };
    let mut prefs = s.prefs();
    for (name, value) in &given {
        let value = match value {
            serde_json::Value::String(v) => v.clone(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("preference {name}: a string or true/false"),
                )
            }
        };
        if let Err(e) = prefs.set(&format!("{name}={value}")) {
            return error(StatusCode::BAD_REQUEST, e.to_string());
        }
    }
    s.set_prefs(prefs.clone());
    Json(preferences_json(&prefs)).into_response()
}

/// Views a statistics request may ask for at once.
pub const MAX_STATS_VIEWS: usize = 32;
/// Runs a prepare request may ask for at once.
pub const MAX_PREPARED_RUNS: usize = 64;

#[derive(Deserialize)]
struct StatsBody {
    views: Vec<String>,
    #[serde(default)]
    filter: String,
}

#[derive(Deserialize)]
struct PrepareBody {
    runs: Vec<Vec<String>>,
    #[serde(default)]
    filter: String,
}

/// Starts (or finds) a run of `-z` views under a display filter: `{"views": [...], "filter":
/// "..."}`. Answers its state; the results come from `/api/stats/{id}` once done.
async fn start_stats(State(s): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<StatsBody>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected a JSON body {\"views\": [\"tracee,event_counts\", ...], \"filter\": \"...\"}",
        );
    };
    match stats_runs(&s, vec![req.views], &req.filter) {
        Ok(runs) => Json(runs[0].state()).into_response(),
        Err(r) => r,
    }
}

/// Starts (or finds) several runs under one display filter, computed together in one pass:
/// `{"runs": [["tracee,event_counts"], ["conv,tcp"], ...], "filter": "..."}` (the UI prepares
/// every Statistics window this way once the index is complete). Answers `{"runs": [state,
/// ...]}` in the order asked.
async fn prepare_stats(State(s): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<PrepareBody>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected a JSON body {\"runs\": [[\"tracee,event_counts\"], ...], \"filter\": \"...\"}",
        );
    };
    if req.runs.is_empty() || req.runs.len() > MAX_PREPARED_RUNS {
        return error(
            StatusCode::BAD_REQUEST,
            format!("ask for 1 to {MAX_PREPARED_RUNS} runs"),
        );
    }
    match stats_runs(&s, req.runs, &req.filter) {
        Ok(runs) => {
            let states: Vec<_> = runs.iter().map(|r| r.state()).collect();
            Json(json!({ "runs": states })).into_response()
        }
        Err(r) => r,
    }
}

/// The runs of `runs` (each a list of `-z` views) under `filter`, checked, found or started.
fn stats_runs(
    s: &AppState,
    runs: Vec<Vec<String>>,
    filter: &str,
) -> Result<Vec<Arc<crate::stats::StatsRun>>, Response> {
    for views in &runs {
        if views.is_empty() || views.len() > MAX_STATS_VIEWS {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("ask for 1 to {MAX_STATS_VIEWS} views"),
            ));
        }
        if views.iter().any(|v| v.len() > MAX_FILTER) {
            return Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("a view is at most {MAX_FILTER} bytes"),
            ));
        }
        for v in views {
            if let Err(e) = osprey_stats::ViewSpec::parse(v) {
                return Err(error(StatusCode::BAD_REQUEST, e.to_string()));
            }
        }
    }
    let filter = filter.trim().to_string();
    let compiled = if filter.is_empty() {
        None
    } else {
        Some(compile(s, &filter)?)
    };
    let prefs = s.prefs();
    let macros = &s.profile.macros;
    let engine = |runs: &[Vec<String>]| crate::stats::engine(runs, &prefs, macros);
    let request = crate::stats::StatsRequest {
        runs,
        filter,
        compiled,
    };
    s.stats
        .get_or_start(request, s.index.clone(), prefs.clone(), engine)
        .map_err(|e| error(StatusCode::BAD_REQUEST, e))
}

/// A run's state, with its results once done: `{"state": ..., "results": [{"result": ...,
/// "text": "..."}]}`.
async fn stats_result(State(s): State<Arc<AppState>>, Path(id): Path<u64>) -> Response {
    let Some(run) = s.stats.get(id) else {
        return error(StatusCode::NOT_FOUND, "no such statistics run");
    };
    let results = run.results();
    Json(json!({ "state": run.state(), "results": results.as_deref() })).into_response()
}

/// Cancels a run.
async fn cancel_stats(State(s): State<Arc<AppState>>, Path(id): Path<u64>) -> Response {
    let Some(run) = s.stats.get(id) else {
        return error(StatusCode::NOT_FOUND, "no such statistics run");
    };
    run.cancel();
    Json(run.state()).into_response()
}
