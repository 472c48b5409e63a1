//! The web UI's files, embedded in the binary at build time (`ui/dist`, see `build.rs`).

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "$OSPREY_UI_ASSETS"]
struct Assets;

/// What to do when the binary was built without the UI.
pub const NOT_BUILT: &str =
    "this osprey was built without its web UI: run `npm ci && npm run build` \
in ui/ (scripts/setup.sh does), then rebuild osprey";

/// True when the UI's files are in the binary.
pub fn built() -> bool {
    Assets::get("index.html").is_some()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn serve(path: &str) -> Option<Response> {
    let file = Assets::get(path)?;
    let mut r = file.data.into_owned().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    Some(r)
}

/// `/`: the UI's page, or how to build it.
pub async fn index() -> Response {
    serve("index.html").unwrap_or_else(|| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Html(format!(
                "<!doctype html><title>osprey view</title><p>{NOT_BUILT}.</p><p>The API under /api/ works.</p>"
            )),
        )
            .into_response()
    })
}

/// Any other path: an asset of the UI, else 404.
pub async fn asset(Path(path): Path<String>) -> Response {
    if path.starts_with("api/") {
        return (StatusCode::NOT_FOUND, "no such API route").into_response();
    }
    serve(&path).unwrap_or_else(|| (StatusCode::NOT_FOUND, "not found").into_response())
}
