//! What the view's API tests share: opening inputs and waiting for the index pass, and one
//! request through the router (no socket) with the state's token.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// `osprey view FILES...`'s state once its index pass is complete.
pub fn open_indexed(files: impl IntoIterator<Item = String>) -> Arc<osprey_view::ViewState> {
    let options = osprey_view::Options {
        files: files.into_iter().collect(),
        ..Default::default()
    };
    let state = osprey_view::open(options).expect("the inputs open");
    let start = Instant::now();
    while !state.index.is_done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "index pass hangs"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    state
}

/// `METHOD URI` with a JSON `body`: the status, the headers and the body.
pub async fn request(
    state: &Arc<osprey_view::ViewState>,
    method: &str,
    uri: &str,
    body: &str,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("x-osprey-token", &state.token)
        .body(Body::from(body.to_string()))
        .expect("request");
    let resp = osprey_view::app(state.clone())
        .oneshot(req)
        .await
        .expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, headers, bytes.to_vec())
}
