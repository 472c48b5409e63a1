//! The view's HTTP API, driven through the router (no socket) on the repository's fixtures.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

const DOCS: &str = "../../tests/fixtures/tracee/tracee-docs-v0.23.jsonl";
const ACTION: &str = "../../tests/fixtures/tracee/tracee-action-trace.jsonl";
const DEMO: &str = "../../samples/demo.pcapng";

fn open(files: &[&str]) -> Arc<osprey_view::ViewState> {
    common::open_indexed(files.iter().map(|s| s.to_string()))
}

async fn call(
    state: &Arc<osprey_view::ViewState>,
    method: &str,
    uri: &str,
    body: &str,
) -> (StatusCode, Vec<u8>) {
    let (status, _, body) = common::request(state, method, uri, body).await;
    (status, body)
}

async fn get_json(state: &Arc<osprey_view::ViewState>, uri: &str) -> (StatusCode, Value) {
    let (status, body) = call(state, "GET", uri, "").await;
    let v = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, v)
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Makes the view of `filter` and waits until it is done; returns its state.
async fn view_of(state: &Arc<osprey_view::ViewState>, filter: &str) -> Value {
    let body = serde_json::json!({ "filter": filter }).to_string();
    let (status, created) = call(state, "POST", "/api/views", &body).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&created)
    );
    let start = Instant::now();
    loop {
        let (status, v) = get_json(state, &format!("/api/views?filter={}", enc(filter))).await;
        assert_eq!(status, StatusCode::OK);
        if v["done"] == true {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "view never finishes"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The frame numbers `osprey read -Y` selects, computed the way read.rs does (decode, dissect,
/// match), independently of the view's index and store.
fn read_matches(files: &[&str], filter: &str) -> Vec<u64> {
    let profile = osprey_print::Profile::bundled();
    let f = osprey_filter::Filter::compile(filter, &profile.macros).expect("filter compiles");
    let mut want = osprey_dissect::Want::none();
    osprey_print::want_fields(&mut want, f.fields());
    let diag = Arc::new(osprey_source::Diagnostics::silent());
    let files: Vec<String> = files.iter().map(|s| s.to_string()).collect();
    let inputs = osprey_source::Inputs::open(&files, diag).expect("open");
    let mut first = None;
    let mut prev = None;
    let mut out = Vec::new();
    for frame in inputs.frames() {
        let first_ts = *first.get_or_insert(frame.ts);
        let decoded = osprey_dissect::decode(&frame);
        let info = osprey_dissect::FrameInfo {
            frame: &frame,
            input_name: "",
            first_ts,
            prev_ts: prev,
        };
        let tree = osprey_dissect::dissect(&info, &decoded, &profile.preferences, &want);
        if f.matches(&tree) {
            out.push(frame.number);
        }
        prev = Some(frame.ts);
    }
    out
}

#[tokio::test]
async fn status_and_index_size() {
    let s = open(&[DOCS]);
    let (status, v) = get_json(&s, "/api/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["index"]["frames"], 78);
    assert_eq!(v["index"]["done"], true);
    assert_eq!(v["entry_bytes"], 32);
    // JSON inputs keep no side table: 32 bytes per frame.
    assert_eq!(v["index"]["index_bytes"], 78 * 32);
    let (_, p) = get_json(&s, "/api/profile").await;
    assert_eq!(p["columns"][0]["title"], "No.");
    assert!(p["colors"].as_array().unwrap().len() > 10);
}

#[tokio::test]
async fn windows_at_the_start_middle_and_end() {
    let s = open(&[DOCS]);
    let (_, all) = get_json(&s, "/api/rows?offset=0&limit=1000").await;
    let all = all["rows"].as_array().unwrap().clone();
    assert_eq!(all.len(), 78);
    for (offset, limit) in [(0, 10), (30, 7), (70, 20), (78, 5), (1000, 5)] {
        let (status, w) = get_json(&s, &format!("/api/rows?offset={offset}&limit={limit}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(w["total"], 78);
        let rows = w["rows"].as_array().unwrap();
        let expect: Vec<_> = all.iter().skip(offset).take(limit).collect();
        assert_eq!(rows.len(), expect.len(), "window {offset}+{limit}");
        for (r, e) in rows.iter().zip(expect) {
            assert_eq!(
                r, e,
                "a window's rows equal the same rows of a bigger window"
            );
        }
    }
    // The columns are the profile's, rendered like osprey read's summary line.
    let first = &all[0];
    assert_eq!(first["number"], 1);
    let cells: Vec<&str> = first["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(cells.len(), 13);
    assert_eq!(cells[2], "TRACEE");
    assert_eq!(cells[6], "bash");
    assert_eq!(cells[8], "security_file_open");
    assert_eq!(cells[12], "Open /tmp/testing.txt");
    // The delta time reference is the previous shown frame.
    assert_eq!(all[1]["prev_shown_ts"], all[0]["ts"]);
    // Some rows are colored, by the profile's rules.
    assert!(all.iter().any(|r| r["color"].is_number()));
}

#[tokio::test]
async fn a_window_costs_its_rows_not_its_offset() {
    let s = open(&[DOCS, ACTION]);
    // Whatever the offset, a window loads exactly its rows from the store.
    for offset in [0u64, 50, 95] {
        let w = osprey_view::api::window(&s, None, offset, 5).unwrap();
        assert_eq!(w.rows.len(), 5.min(102 - offset as usize));
        assert_eq!(w.rows[0].number, offset + 1);
    }
}

#[tokio::test]
async fn filter_views_select_what_osprey_read_selects() {
    let files = [DOCS, ACTION];
    let s = open(&files);
    for filter in [
        "tracee.eventName == \"security_file_open\"",
        "${important}",
        "tracee.processName contains \"a\" && !(tracee.returnValue == 0)",
        "frame.number > 50",
        "dns || tracee.eventName matches \"^net_\"",
    ] {
        let state = view_of(&s, filter).await;
        let expect = read_matches(&files, filter);
        assert_eq!(state["matched"], expect.len(), "{filter}");
        assert_eq!(state["scanned"], 102);
        let (status, w) = get_json(
            &s,
            &format!("/api/rows?offset=0&limit=1000&filter={}", enc(filter)),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let numbers: Vec<u64> = w["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["number"].as_u64().unwrap())
            .collect();
        assert_eq!(numbers, expect, "{filter}");
        assert_eq!(w["complete"], true);
    }
    // The cache: the same text gives the same view.
    assert_eq!(s.views.all().len(), 5);
    view_of(&s, "${important}").await;
    assert_eq!(s.views.all().len(), 5);
}

#[tokio::test]
async fn filter_check_reports_the_compilers_errors_with_positions() {
    let s = open(&[DOCS]);
    let (status, v) = get_json(
        &s,
        &format!("/api/check?filter={}", enc("tracee.processName == \"x\"")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["ok"], true);
    let bad = "tracee.processName == \"x\" && no.such.field";
    let (status, v) = get_json(&s, &format!("/api/check?filter={}", enc(bad))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let expect = osprey_filter::Filter::compile(bad, &s.profile.macros).unwrap_err();
    assert_eq!(v["error"]["position"], expect.position);
    assert_eq!(v["error"]["length"], expect.length);
    assert_eq!(v["error"]["message"], expect.message);
    assert_eq!(expect.position, 29);
    // A bad filter makes no view.
    let (status, _) = call(
        &s,
        "POST",
        "/api/views",
        &serde_json::json!({"filter": bad}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn filter_check_reports_deprecated_forms_as_warnings() {
    let s = open(&[DOCS]);
    let text = "tracee.processName == \"x\" || tcp.port ~= 80";
    let (status, v) = get_json(&s, &format!("/api/check?filter={}", enc(text))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["ok"], true);
    let w = &v["warnings"][0];
    let (at, len) = (
        w["position"].as_u64().unwrap() as usize,
        w["length"].as_u64().unwrap() as usize,
    );
    assert_eq!(&text[at..at + len], "~=");
    assert!(w["message"].as_str().unwrap().contains("deprecated"), "{w}");
    let (_, v) = get_json(&s, &format!("/api/check?filter={}", enc("tcp.port !== 80"))).await;
    assert_eq!(v["warnings"], serde_json::json!([]));
}

#[tokio::test]
async fn views_can_be_cancelled() {
    let s = open(&[DOCS, ACTION]);
    let filter = "tracee.processName != \"zzz\"";
    let body = serde_json::json!({ "filter": filter }).to_string();
    let (status, _) = call(&s, "POST", "/api/views", &body).await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = call(
        &s,
        "DELETE",
        &format!("/api/views?filter={}", enc(filter)),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&v));
    // Cancelled or already finished: either way the view ends, and asking again starts over
    // when it was cancelled.
    let v = view_of(&s, filter).await;
    assert_eq!(v["matched"], 102);
    assert_eq!(v["cancelled"], false);
}

/// Every detail item with a JSON span: the bytes are the value, and the filter string selects
/// the frame.
#[tokio::test]
async fn detail_spans_are_the_values_raw_json() {
    let s = open(&[DOCS, ACTION]);
    let mut located = 0;
    for n in 1..=102 {
        let (status, d) = get_json(&s, &format!("/api/frames/{n}")).await;
        assert_eq!(status, StatusCode::OK);
        let (_, raw) = call(&s, "GET", &format!("/api/frames/{n}/bytes?source=json"), "").await;
        for node in d["tree"].as_array().unwrap() {
            let Some(span) = node["span"].as_object() else {
                continue;
            };
            assert_eq!(span["source"], "json");
            let start = span["start"].as_u64().unwrap() as usize;
            let len = span["len"].as_u64().unwrap() as usize;
            let bytes = &raw[start..start + len];
            let value = node["value"].as_str().unwrap();
            if node["depth"] == 0 {
                assert_eq!(bytes, &raw[..], "a top-level protocol spans the line");
                continue;
            }
            let text = String::from_utf8_lossy(bytes);
            if let Ok(s) = serde_json::from_slice::<String>(bytes) {
                assert_eq!(s, value, "frame {n} {}: span {text}", node["field"]);
            } else if bytes.starts_with(b"{") || bytes.starts_with(b"[") {
                assert_eq!(node["value"], "", "only labels span containers");
            } else if text == "true" || text == "false" {
                assert_eq!(value, if text == "true" { "1" } else { "0" });
            } else if node["field"].as_str().unwrap().ends_with("imestamp")
                || node["field"].as_str().unwrap().ends_with("Time")
            {
                assert!(text.chars().all(|c| c.is_ascii_digit()), "{text}");
            } else if let Some(hex) = value.strip_prefix("0x") {
                assert_eq!(
                    u64::from_str_radix(hex, 16).ok(),
                    text.parse().ok(),
                    "frame {n}"
                );
            } else {
                assert_eq!(text, value, "frame {n} {}", node["field"]);
            }
            located += 1;
        }
    }
    assert!(
        located > 1500,
        "most event fields have their bytes ({located})"
    );
}

#[tokio::test]
async fn detail_filters_select_their_frame() {
    let s = open(&[DOCS, ACTION]);
    let macros = &s.profile.macros;
    let want = osprey_dissect::Want::all();
    for n in [1u32, 2, 40, 79, 90, 102] {
        let (_, d) = get_json(&s, &format!("/api/frames/{n}")).await;
        let loaded = s.index.load(&[n - 1]).unwrap();
        let decoded = osprey_dissect::decode(&loaded[0].frame);
        let info = s.index.info(&loaded[0], s.index.first_ts().unwrap());
        let tree = osprey_dissect::dissect(&info, &decoded, &s.prefs(), &want);
        for node in d["tree"].as_array().unwrap() {
            let text = node["filter"].as_str().unwrap();
            let f = osprey_filter::Filter::compile(text, macros)
                .unwrap_or_else(|e| panic!("frame {n}: {text}: {}", e.message));
            assert!(f.matches(&tree), "frame {n}: {text} does not select it");
        }
    }
}

/// A pcap with one UDP packet (Ethernet, IPv4 10.1.2.3 → 10.4.5.6, ports 1234 → 53).
fn udp_pcap() -> tempfile::NamedTempFile {
    let mut pkt = Vec::new();
    pkt.extend_from_slice(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00]);
    let payload = b"hello";
    let ip_len = 20 + 8 + payload.len() as u16;
    pkt.extend_from_slice(&[
        0x45,
        0,
        (ip_len >> 8) as u8,
        ip_len as u8,
        0,
        1,
        0,
        0,
        64,
        17,
        0,
        0,
    ]);
    pkt.extend_from_slice(&[10, 1, 2, 3, 10, 4, 5, 6]);
    let udp_len = 8 + payload.len() as u16;
    pkt.extend_from_slice(&[0x04, 0xd2, 0, 53, 0, udp_len as u8, 0, 0]);
    pkt.extend_from_slice(payload);
    let mut file = Vec::new();
    file.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    file.extend_from_slice(&2u16.to_le_bytes());
    file.extend_from_slice(&4u16.to_le_bytes());
    file.extend_from_slice(&0i32.to_le_bytes());
    file.extend_from_slice(&0u32.to_le_bytes());
    file.extend_from_slice(&65535u32.to_le_bytes());
    file.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
    file.extend_from_slice(&1_700_000_000u32.to_le_bytes());
    file.extend_from_slice(&0u32.to_le_bytes());
    file.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
    file.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
    file.extend_from_slice(&pkt);
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), &file).unwrap();
    f
}

#[tokio::test]
async fn packet_spans_are_the_packets_bytes() {
    let pcap = udp_pcap();
    let path = pcap.path().to_str().unwrap().to_string();
    let s = open(&[&path]);
    let (status, d) = get_json(&s, "/api/frames/1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(d["kind"], "packet");
    assert_eq!(d["sources"][0]["name"], "frame");
    let (_, raw) = call(&s, "GET", "/api/frames/1/bytes?source=frame", "").await;
    let span_of = |field: &str| -> Vec<u8> {
        let node = d["tree"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["field"] == field)
            .unwrap_or_else(|| panic!("{field} in the tree"));
        assert_eq!(node["span"]["source"], "frame");
        let start = node["span"]["start"].as_u64().unwrap() as usize;
        let len = node["span"]["len"].as_u64().unwrap() as usize;
        raw[start..start + len].to_vec()
    };
    assert_eq!(span_of("ip.src"), [10, 1, 2, 3]);
    assert_eq!(span_of("ip.dst"), [10, 4, 5, 6]);
    assert_eq!(span_of("udp.srcport"), [0x04, 0xd2]);
    assert_eq!(span_of("udp.dstport"), [0, 53]);
    // The index keeps a capture file's details beside the 32-byte entries.
    let (_, st) = get_json(&s, "/api/status").await;
    assert!(st["index"]["index_bytes"].as_u64().unwrap() > 32);
    // And the filter view agrees with osprey read.
    let v = view_of(&s, "udp.dstport == 53").await;
    assert_eq!(v["matched"], 1);
}

#[tokio::test]
async fn events_in_pcapng_are_indexed_and_detailed() {
    let s = open(&[DEMO]);
    let (_, st) = get_json(&s, "/api/status").await;
    assert_eq!(st["index"]["frames"], 213);
    let (status, d) = get_json(&s, "/api/frames/213").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(d["kind"], "event");
    let expect = read_matches(&[DEMO], "${important}");
    let v = view_of(&s, "${important}").await;
    assert_eq!(v["matched"], expect.len());
}

#[tokio::test]
async fn hostile_requests_are_refused_not_panicked_on() {
    let s = open(&[DOCS]);
    for (method, uri, body, want) in [
        ("GET", "/api/frames/0", "", StatusCode::NOT_FOUND),
        ("GET", "/api/frames/79", "", StatusCode::NOT_FOUND),
        (
            "GET",
            "/api/frames/18446744073709551615",
            "",
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            "/api/frames/99999999999999999999999",
            "",
            StatusCode::BAD_REQUEST,
        ),
        ("GET", "/api/frames/-1", "", StatusCode::BAD_REQUEST),
        ("GET", "/api/frames/abc/bytes", "", StatusCode::BAD_REQUEST),
        (
            "GET",
            "/api/frames/1/bytes?source=../../etc/passwd",
            "",
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            "/api/rows?offset=18446744073709551615&limit=18446744073709551615",
            "",
            StatusCode::OK,
        ),
        ("GET", "/api/rows?offset=-5", "", StatusCode::BAD_REQUEST),
        (
            "GET",
            "/api/rows?filter=never.made",
            "",
            StatusCode::NOT_FOUND,
        ),
        ("POST", "/api/views", "not json", StatusCode::BAD_REQUEST),
        (
            "POST",
            "/api/views",
            "{\"filter\": 5}",
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            "/api/views",
            "{\"filter\": \"\"}",
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            "/api/views",
            "{\"filter\": \"((((((((((((((((((((\"}",
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            "/api/views?filter=nothing",
            "",
            StatusCode::NOT_FOUND,
        ),
        (
            "DELETE",
            "/api/views?filter=nothing",
            "",
            StatusCode::NOT_FOUND,
        ),
        ("GET", "/api/nope", "", StatusCode::NOT_FOUND),
        ("GET", "/../../etc/passwd", "", StatusCode::NOT_FOUND),
        (
            "GET",
            "/%2e%2e/%2e%2e/etc/passwd",
            "",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, body) = call(&s, method, uri, body).await;
        assert_eq!(
            status,
            want,
            "{method} {uri}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let (status, w) = get_json(
        &s,
        "/api/rows?offset=18446744073709551615&limit=18446744073709551615",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(w["rows"].as_array().unwrap().len(), 0);
    let long = "a".repeat(osprey_view::api::MAX_FILTER + 1);
    let (status, _) = call(&s, "GET", &format!("/api/check?filter={long}"), "").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    let (status, _) = call(&s, "GET", &format!("/api/check?filter={}", enc(&deep)), "").await;
    assert!(status == StatusCode::OK || status == StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn other_hosts_and_origins_are_refused() {
    let s = open(&[DOCS]);
    let _ = s.port.set(4242);
    let send = |host: &'static str, origin: Option<&'static str>| {
        let s = s.clone();
        async move {
            let mut req = Request::builder()
                .uri("/api/status")
                .header("host", host)
                .header("x-osprey-token", &s.token);
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            osprey_view::app(s)
                .oneshot(req.body(Body::empty()).unwrap())
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(send("127.0.0.1:4242", None).await, StatusCode::OK);
    assert_eq!(
        send("localhost:4242", Some("http://localhost:4242")).await,
        StatusCode::OK
    );
    assert_eq!(send("evil.example:4242", None).await, StatusCode::FORBIDDEN);
    assert_eq!(send("127.0.0.1:4243", None).await, StatusCode::FORBIDDEN);
    assert_eq!(
        send("127.0.0.1:4242", Some("http://evil.example")).await,
        StatusCode::FORBIDDEN
    );
}

/// Sends a request with exactly these headers (no token unless given).
async fn raw(
    state: &Arc<osprey_view::ViewState>,
    uri: &str,
    headers: &[(&str, &str)],
) -> axum::http::Response<Body> {
    let mut req = Request::builder().uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    osprey_view::app(state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn requests_without_the_token_are_refused() {
    let s = open(&[DOCS]);
    let _ = s.port.set(4242);
    let host = ("host", "127.0.0.1:4242");
    assert_eq!(s.token.len(), 32, "128 random bits in hex");
    assert_ne!(s.token, open(&[DOCS]).token, "a new token per server");
    for uri in [
        "/",
        "/api/status",
        "/api/rows",
        "/api/frames/1",
        "/api/events",
    ] {
        assert_eq!(
            raw(&s, uri, &[host]).await.status(),
            StatusCode::FORBIDDEN,
            "{uri}"
        );
        let wrong = format!("{uri}?token=0123456789abcdef0123456789abcdef");
        assert_eq!(
            raw(&s, &wrong, &[host]).await.status(),
            StatusCode::FORBIDDEN,
            "{uri}"
        );
        let cookie = "osprey_view_4242=0123456789abcdef0123456789abcdef".to_string();
        assert_eq!(
            raw(&s, uri, &[host, ("cookie", &cookie)]).await.status(),
            StatusCode::FORBIDDEN,
            "{uri}"
        );
    }
    // A prefix of the token is not the token.
    let short = format!("/api/status?token={}", &s.token[..31]);
    assert_eq!(
        raw(&s, &short, &[host]).await.status(),
        StatusCode::FORBIDDEN
    );
    // The URL printed carries it; the page's answer sets the cookie its requests then carry.
    let page = raw(&s, &format!("/?token={}", s.token), &[host]).await;
    assert_ne!(page.status(), StatusCode::FORBIDDEN);
    let set = page.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set.starts_with(&format!("osprey_view_4242={};", s.token)),
        "{set}"
    );
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    let r = raw(&s, "/api/status", &[host, ("cookie", &cookie)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = raw(&s, "/api/status", &[host, ("x-osprey-token", &s.token)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    // The token does not make another origin acceptable.
    let r = raw(
        &s,
        "/api/status",
        &[
            host,
            ("x-osprey-token", &s.token),
            ("origin", "http://evil.example"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

fn cells_of(rows: &Value) -> Vec<(u64, Vec<String>)> {
    rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["number"].as_u64().unwrap(),
                r["cells"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

/// The order a stable sort of `rows` by cell `k` gives, compared as the list compares.
fn expected_order(rows: &[(u64, Vec<String>)], k: usize, desc: bool) -> Vec<u64> {
    fn rank(c: &str) -> (u8, f64, &str) {
        if c.is_empty() {
            (0, 0.0, "")
        } else if let Ok(n) = c.trim().parse::<f64>() {
            (1, n, "")
        } else {
            (2, 0.0, c)
        }
    }
    let mut v: Vec<&(u64, Vec<String>)> = rows.iter().collect();
    v.sort_by(|a, b| {
        let (x, y) = (rank(&a.1[k]), rank(&b.1[k]));
        let o =
            x.0.cmp(&y.0)
                .then(x.1.total_cmp(&y.1))
                .then(x.2.as_bytes().cmp(y.2.as_bytes()));
        if desc {
            o.reverse()
        } else {
            o
        }
    });
    v.into_iter().map(|r| r.0).collect()
}

#[tokio::test]
async fn sorting_by_any_column_is_stable_in_both_directions() {
    let files = [DOCS, ACTION];
    let s = open(&files);
    let (_, all) = get_json(&s, "/api/rows?offset=0&limit=1000").await;
    let all = cells_of(&all);
    assert_eq!(all.len(), 102);
    let ncols = all[0].1.len();
    for k in 0..ncols {
        for desc in [false, true] {
            let (status, sorted) = get_json(
                &s,
                &format!("/api/rows?offset=0&limit=1000&sort={k}&desc={desc}"),
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            let got: Vec<u64> = cells_of(&sorted).iter().map(|r| r.0).collect();
            // The time column is sorted by timestamp: in these files, the relative-time text
            // orders the same way.
            assert_eq!(
                got,
                expected_order(&all, k, desc),
                "column {k}, desc {desc}"
            );
            // Windows of the sorted order are slices of it.
            let (_, w) = get_json(
                &s,
                &format!("/api/rows?offset=40&limit=7&sort={k}&desc={desc}"),
            )
            .await;
            let part: Vec<u64> = cells_of(&w).iter().map(|r| r.0).collect();
            assert_eq!(part, got[40..47].to_vec());
        }
    }
    // In a filtered view, sorted by the process name (column 6).
    let filter = "tracee.eventName == \"security_file_open\"";
    view_of(&s, filter).await;
    let (_, shown) = get_json(&s, &format!("/api/rows?limit=1000&filter={}", enc(filter))).await;
    let shown = cells_of(&shown);
    let (_, sorted) = get_json(
        &s,
        &format!("/api/rows?limit=1000&sort=6&desc=1&filter={}", enc(filter)),
    )
    .await;
    assert_eq!(sorted["total"], shown.len());
    let got: Vec<u64> = cells_of(&sorted).iter().map(|r| r.0).collect();
    assert_eq!(got, expected_order(&shown, 6, true));
    // Bad sorts.
    let (status, _) = call(&s, "GET", &format!("/api/rows?sort={ncols}"), "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(&s, "GET", "/api/rows?sort=x", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn applied_columns_show_the_fields_values_and_sort() {
    let s = open(&[DOCS]);
    let field = "tracee.args.security_file_open.pathname";
    let (status, w) = get_json(
        &s,
        &format!("/api/rows?limit=1000&columns=tracee.processId,{field}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let rows = cells_of(&w);
    let n = rows[0].1.len();
    assert_eq!(n, 13 + 2);
    // Each applied cell is the detail tree's value of that field.
    for (number, cells) in rows.iter().take(10) {
        let (_, d) = get_json(&s, &format!("/api/frames/{number}")).await;
        let value_of = |f: &str| -> String {
            d["tree"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["field"] == f)
                .map(|n| n["value"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(cells[13], value_of("tracee.processId"), "frame {number}");
        assert_eq!(cells[14], value_of(field), "frame {number}");
    }
    assert!(rows.iter().any(|r| r.1[14] == "/tmp/testing.txt"));
    // Sorted by the applied column.
    let (_, sorted) = get_json(
        &s,
        &format!("/api/rows?limit=1000&columns=tracee.processId,{field}&sort=14"),
    )
    .await;
    let got: Vec<u64> = cells_of(&sorted).iter().map(|r| r.0).collect();
    assert_eq!(got, expected_order(&rows, 14, false));
    let (status, _) = call(&s, "GET", "/api/rows?columns=no.such.field", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn find_gives_a_frames_row_in_a_filtered_or_sorted_view() {
    let files = [DOCS, ACTION];
    let s = open(&files);
    let filter = "tracee.eventName == \"security_file_open\"";
    view_of(&s, filter).await;
    let expect = read_matches(&files, filter);
    let q = enc(filter);
    for (i, &n) in expect.iter().enumerate() {
        let (status, f) = get_json(&s, &format!("/api/find?frame={n}&filter={q}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (
                f["offset"].as_u64().unwrap() as usize,
                f["exact"].as_bool().unwrap()
            ),
            (i, true)
        );
    }
    // A frame the view does not show: the next one shown.
    let hidden = (1..=102u64)
        .find(|n| !expect.contains(n) && *n > expect[0])
        .unwrap();
    let (_, f) = get_json(&s, &format!("/api/find?frame={hidden}&filter={q}")).await;
    assert_eq!(f["exact"], false);
    let next = *expect
        .iter()
        .find(|&&m| m > hidden)
        .unwrap_or(expect.last().unwrap());
    assert_eq!(f["number"], next);
    // In a sorted order, the offset is the row's.
    let (_, sorted) = get_json(&s, &format!("/api/rows?limit=1000&sort=6&filter={q}")).await;
    let order: Vec<u64> = cells_of(&sorted).iter().map(|r| r.0).collect();
    for (i, n) in order.iter().enumerate() {
        let (_, f) = get_json(&s, &format!("/api/find?frame={n}&sort=6&filter={q}")).await;
        assert_eq!(f["offset"], i);
    }
    // Every frame.
    let (_, f) = get_json(&s, "/api/find?frame=90").await;
    assert_eq!(
        (f["offset"].as_u64(), f["exact"].as_bool()),
        (Some(89), Some(true))
    );
    for bad in ["/api/find", "/api/find?frame=0", "/api/find?frame=x"] {
        let (status, _) = call(&s, "GET", bad, "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

/// What `osprey read -Y FILTER -w OUT` writes, made the way read.rs makes it: every frame of
/// the inputs, the filter, the sink.
fn read_written(files: &[&str], keep: impl Fn(u64) -> bool, pcapng: bool) -> Vec<u8> {
    use osprey_print::FrameSink;
    let diag = Arc::new(osprey_source::Diagnostics::silent());
    let files: Vec<String> = files.iter().map(|s| s.to_string()).collect();
    let inputs = osprey_source::Inputs::open(&files, diag).expect("open");
    let mut out = Vec::new();
    {
        let mut sink: Box<dyn FrameSink + '_> = if pcapng {
            Box::new(
                osprey_print::PcapNgSink::new(
                    &mut out,
                    &format!("osprey {}", env!("CARGO_PKG_VERSION")),
                )
                .unwrap(),
            )
        } else {
            Box::new(osprey_print::NdjsonSink::new(&mut out))
        };
        for frame in inputs.frames() {
            if keep(frame.number) {
                sink.write_frame(&frame).unwrap();
            }
        }
        sink.finish().unwrap();
    }
    out
}

#[tokio::test]
async fn export_writes_what_osprey_read_writes() {
    let files = [DOCS, ACTION, DEMO];
    let s = open(&files);
    let filter = "tracee.eventName == \"security_file_open\" || frame.number > 150";
    view_of(&s, filter).await;
    let shown = read_matches(&files, filter);
    for format in ["pcapng", "json"] {
        let pcapng = format == "pcapng";
        for (body, keep) in [
            (
                serde_json::json!({"which": "all", "format": format}),
                Box::new(|_: u64| true) as Box<dyn Fn(u64) -> bool>,
            ),
            (
                serde_json::json!({"which": "displayed", "filter": filter, "format": format}),
                Box::new(|n: u64| shown.contains(&n)),
            ),
            (
                serde_json::json!({"which": "frames", "frames": [90, 3, 7, 3, 500000], "format": format}),
                Box::new(|n: u64| [3, 7, 90].contains(&n)),
            ),
            (
                serde_json::json!({"which": "frames", "frames": [1, 2, shown[0], shown[1]], "filter": filter,
                    "displayed_only": true, "format": format}),
                Box::new(|n: u64| n == shown[0] || n == shown[1]),
            ),
            (
                serde_json::json!({"which": "range", "range": "5-9, 100-", "format": format}),
                Box::new(|n: u64| (5..=9).contains(&n) || n >= 100),
            ),
        ] {
            let (status, got) = call(&s, "POST", "/api/export", &body.to_string()).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{body}: {}",
                String::from_utf8_lossy(&got)
            );
            let expect = read_written(&files, keep, pcapng);
            assert!(
                got == expect,
                "{body}: {} bytes, osprey read writes {}",
                got.len(),
                expect.len()
            );
        }
    }
    for bad in [
        r#"{"which": "all", "format": "pdf"}"#,
        r#"{"which": "some", "format": "json"}"#,
        r#"{"which": "range", "range": "9-5", "format": "json"}"#,
        r#"{"which": "range", "range": "x", "format": "json"}"#,
        "nope",
    ] {
        let (status, _) = call(&s, "POST", "/api/export", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (status, _) = call(
        &s,
        "POST",
        "/api/export",
        r#"{"which": "displayed", "filter": "never.made", "format": "json"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn fields_for_completion_include_the_files_event_arguments() {
    let s = open(&[DOCS]);
    let (status, f) = get_json(&s, "/api/fields").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = f["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["field"].as_str().unwrap())
        .collect();
    for want in [
        "tracee.processName",
        "frame.number",
        "ip.src",
        "tracee.args.security_file_open.pathname",
    ] {
        assert!(names.contains(&want), "{want}");
    }
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted, distinct");
    assert!(f["macros"]["important"].is_string());
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= c.len() {
                out.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn a_net_packet_raw_event_has_its_packet_as_a_data_source() {
    // The UDP packet of udp_pcap, from its IP header on (net_packet_raw carries raw IP).
    let pcap = std::fs::read(udp_pcap().path()).unwrap();
    let ip = pcap[24 + 16 + 14..].to_vec();
    let line = std::fs::read_to_string(DOCS).unwrap();
    let mut e: Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    e["eventName"] = "net_packet_raw".into();
    e["argsNum"] = 1.into();
    e["args"] = serde_json::json!([{"name": "data", "type": "bytes", "value": base64(&ip)}]);
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), format!("{e}\n")).unwrap();
    let s = open(&[f.path().to_str().unwrap()]);
    let (status, d) = get_json(&s, "/api/frames/1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(d["sources"][1]["name"], "packet");
    assert_eq!(d["sources"][1]["len"], ip.len());
    let (_, packet) = call(&s, "GET", "/api/frames/1/bytes?source=packet", "").await;
    assert_eq!(packet, ip);
    let node = |f: &str| {
        d["tree"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["field"] == f)
            .unwrap_or_else(|| panic!("{f} in the tree"))
            .clone()
    };
    assert_eq!(
        node("ip.src")["span"],
        serde_json::json!({"start": 12, "len": 4, "source": "packet"})
    );
    assert_eq!(
        node("udp.dstport")["span"],
        serde_json::json!({"start": 22, "len": 2, "source": "packet"})
    );
    let name = node("tracee.eventName")["span"].clone();
    assert_eq!(name["source"], "json");
    let (_, json) = call(&s, "GET", "/api/frames/1/bytes?source=json", "").await;
    let (a, n) = (
        name["start"].as_u64().unwrap() as usize,
        name["len"].as_u64().unwrap() as usize,
    );
    assert_eq!(&json[a..a + n], b"\"net_packet_raw\"");
}

#[tokio::test]
async fn preferences_change_how_the_list_shows_pids() {
    let s = open(&[DOCS]);
    let (status, prefs) = get_json(&s, "/api/preferences").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(prefs["pid_format"], "container");
    assert_eq!(prefs["show_container_image"], false);
    // Frame 3 runs in a PID namespace: 182934 inside, 184128 on the host.
    let pid_of_frame_3 = |rows: &Value| rows["rows"][0]["cells"][5].as_str().unwrap().to_string();
    let (_, rows) = get_json(&s, "/api/rows?offset=2&limit=1").await;
    assert_eq!(pid_of_frame_3(&rows), "182934");
    view_of(&s, "tracee.processName").await;
    for (format, want) in [("host", "184128"), ("both", "182934 (184128)")] {
        let body = serde_json::json!({ "pid_format": format }).to_string();
        let (status, reply) = call(&s, "POST", "/api/preferences", &body).await;
        assert_eq!(status, StatusCode::OK);
        let reply: Value = serde_json::from_slice(&reply).unwrap();
        assert_eq!(reply["pid_format"], format);
        let (_, rows) = get_json(&s, "/api/rows?offset=2&limit=1").await;
        assert_eq!(pid_of_frame_3(&rows), want);
    }
    // Views made before are dropped: a filter may read what preferences change.
    let (status, _) = get_json(&s, "/api/views?filter=tracee.processName").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Bad input changes nothing.
    for body in [
        r#"{"pid_format": "sideways"}"#,
        r#"{"pid_format": "host", "no_such_preference": true}"#,
        r#"{"pid_format": 3}"#,
        r#"["pid_format"]"#,
        "not json",
    ] {
        let (status, _) = call(&s, "POST", "/api/preferences", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    let (_, prefs) = get_json(&s, "/api/preferences").await;
    assert_eq!(prefs["pid_format"], "both");
}

/// The results of `views` under `filter` computed as `osprey read -z` does: every frame in
/// order through one extractor and collector, independently of the view's index and chunks.
fn read_stats(files: &[&str], views: &[&str], filter: &str) -> Value {
    // Through text as the API's are: serde_json parses floats to the nearest value only with
    // its `float_roundtrip` feature, so values are compared after the same parse.
    let text = serde_json::to_string(&read_stats_results(files, views, filter)).expect("serialize");
    serde_json::from_str(&text).expect("results parse")
}

/// What `osprey read -z VIEW... -Y FILTER` computes over `files`.
fn read_stats_results(
    files: &[&str],
    views: &[&str],
    filter: &str,
) -> Vec<osprey_stats::ViewResult> {
    let profile = osprey_print::Profile::bundled();
    let compile = |t: &str| {
        osprey_filter::Filter::compile(t, &profile.macros).map_err(|e| e.message.to_string())
    };
    let specs = views
        .iter()
        .map(|v| osprey_stats::ViewSpec::parse(v).expect("view parses"))
        .collect();
    let (extractor, mut collector) = osprey_stats::Engine::build(
        specs,
        &profile.preferences,
        osprey_stats::Detail::Full,
        &compile,
    )
    .expect("views build");
    let f = (!filter.is_empty()).then(|| compile(filter).expect("filter compiles"));
    let mut want = osprey_dissect::Want::none();
    extractor.want(&mut want);
    if let Some(f) = &f {
        osprey_print::want_fields(&mut want, f.fields());
    }
    let diag = Arc::new(osprey_source::Diagnostics::silent());
    let files: Vec<String> = files.iter().map(|s| s.to_string()).collect();
    let inputs = osprey_source::Inputs::open(&files, diag).expect("open");
    let frames: Vec<_> = inputs.frames().collect();
    let first_ts = frames.first().map_or(0, |f| f.ts);
    let mut records = osprey_stats::Records::new(first_ts);
    let mut prev = None;
    for frame in &frames {
        let decoded = osprey_dissect::decode(frame);
        let info = osprey_dissect::FrameInfo {
            frame,
            input_name: "",
            first_ts,
            prev_ts: prev,
        };
        let tree = osprey_dissect::dissect(&info, &decoded, &profile.preferences, &want);
        let passes = f.as_ref().is_none_or(|f| f.matches(&tree));
        extractor.record(frame, &tree, passes, &mut records);
        prev = Some(frame.ts);
    }
    collector.feed(&records);
    collector.finish().collect()
}

/// The `result` of each view of a finished run.
fn results_of(run: &Value) -> Vec<Value> {
    let results = run["results"].as_array().expect("results");
    results.iter().map(|r| r["result"].clone()).collect()
}

/// Starts a statistics run and waits for its results.
async fn stats_of(state: &Arc<osprey_view::ViewState>, views: &[&str], filter: &str) -> Value {
    let body = serde_json::json!({ "views": views, "filter": filter }).to_string();
    let (status, started) = call(state, "POST", "/api/stats", &body).await;
    let started: Value = serde_json::from_slice(&started).expect("JSON");
    assert_eq!(status, StatusCode::OK, "{started}");
    let id = started["id"].as_u64().expect("a run id");
    let start = Instant::now();
    loop {
        let (status, v) = get_json(state, &format!("/api/stats/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        if v["state"]["done"] == true {
            assert_eq!(v["state"]["error"], Value::Null, "{v}");
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "stats never finish"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn statistics_windows_count_what_osprey_read_z_counts() {
    // The fixtures are months apart: intervals only over the one-file run.
    let tracee_views = vec![
        "tracee,event_counts",
        "tracee,file_types,container",
        "tracee,process_tree",
        "tracee,process_tree,network,container",
        "tracee,process_tree,signatures",
        "conv,ip",
        "endpoints,udp",
        "phs",
        "dns,tree",
        "http,tree",
    ];
    let mut demo_views = tracee_views.clone();
    demo_views.extend([
        "io,stat,1,tracee.eventName == \"security_file_open\",dns",
        "tracee,timeline,1",
    ]);
    for (files, views) in [
        (&[DOCS, ACTION][..], &tracee_views),
        (&[DEMO][..], &demo_views),
    ] {
        statistics_like_read(files, views).await;
    }
}

async fn statistics_like_read(files: &[&str], views: &[&str]) {
    let state = open(files);
    for filter in ["", "tracee.processName == \"tracee\" or dns"] {
        let got = stats_of(&state, views, filter).await;
        let results = results_of(&got);
        let expected = read_stats(files, views, filter);
        if let Some(at) = first_difference(&Value::Array(results), &expected, String::new()) {
            panic!(
                "{files:?}, filter {filter:?}: the window's results differ from read -z's at {at}"
            );
        }
        for r in got["results"].as_array().expect("results") {
            assert!(!r["text"].as_str().expect("text").is_empty());
        }
        // The same request finds the same run.
        let again = stats_of(&state, views, filter).await;
        assert_eq!(again["state"]["id"], got["state"]["id"]);
    }
    // The event counts count every frame once.
    let counts = stats_of(&state, &["tracee,event_counts"], "").await;
    let text = counts["results"][0]["text"].as_str().expect("text");
    assert!(text.contains("Event Counts"), "{text}");
}

#[tokio::test]
async fn statistics_requests_are_checked() {
    let state = open(&[DOCS]);
    let (status, body) = call(
        &state,
        "POST",
        "/api/stats",
        r#"{"views": ["tracee,nonsense"]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        String::from_utf8_lossy(&body).contains("tracee,nonsense"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (status, _) = call(&state, "POST", "/api/stats", r#"{"views": []}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = call(
        &state,
        "POST",
        "/api/stats",
        r#"{"views": ["tracee,event_counts"], "filter": "tracee.eventName =="}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("position"));
    let (status, _) = call(&state, "POST", "/api/stats", "not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(&state, "GET", "/api/stats/999999", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&state, "DELETE", "/api/stats/999999", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A cancelled run is not reused.
    let body = r#"{"views": ["tracee,process_tree"]}"#;
    let (_, started) = call(&state, "POST", "/api/stats", body).await;
    let id = serde_json::from_slice::<Value>(&started).unwrap()["id"]
        .as_u64()
        .unwrap();
    let (status, _) = call(&state, "DELETE", &format!("/api/stats/{id}"), "").await;
    assert_eq!(status, StatusCode::OK);
    let (_, again) = call(&state, "POST", "/api/stats", body).await;
    let again = serde_json::from_slice::<Value>(&again).unwrap();
    let (_, first) = get_json(&state, &format!("/api/stats/{id}")).await;
    if first["state"]["cancelled"] == true {
        assert_ne!(again["id"].as_u64().unwrap(), id);
    }
}

/// Runs prepared together share one pass and give each what it gives alone, `read -z`'s
/// results; a window asking for one of them afterwards finds it, and letting go of one does
/// not stop the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_windows_views_are_computed_by_the_index_pass() {
    // Events of two inputs merged, and packets of a capture file.
    let files = &[DOCS, ACTION, DEMO][..];
    let state = open(files);
    let mut ids = Vec::new();
    for view in osprey_view::stats::WINDOW_VIEWS {
        let got = stats_of(&state, &[view], "").await;
        assert_eq!(
            got["state"]["in_index_pass"], true,
            "{view}: {}",
            got["state"]
        );
        assert_eq!(got["state"]["partial"], false, "{view}");
        assert_eq!(
            got["state"]["frames"],
            state.index.len() as u64,
            "{view}: every frame"
        );
        ids.push(got["state"]["id"].clone());
        let expected = read_stats(files, &[view], "");
        if let Some(at) =
            first_difference(&Value::Array(results_of(&got)), &expected, String::new())
        {
            panic!("{view}: the index pass's results differ from read -z's at {at}");
        }
        let text = got["results"][0]["text"].as_str().expect("text");
        let mut printed = String::new();
        for result in read_stats_results(files, &[view], "") {
            osprey_stats::text::render(&result, &mut printed);
        }
        assert_eq!(text, printed, "{view}: the text read -z prints");
    }
    // New preferences change the labels: the runs are dropped, and a window's view is then
    // computed by a run of its own, with the CLI's numbers.
    let (status, _) = call(
        &state,
        "POST",
        "/api/preferences",
        r#"{"pid_format": "both"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let view = "tracee,process_tree";
    let got = stats_of(&state, &[view], "").await;
    assert_eq!(got["state"]["in_index_pass"], false);
    assert!(!ids.contains(&got["state"]["id"]));
    assert_eq!(results_of(&got).len(), 1);
}

#[tokio::test]
async fn prepared_runs_share_one_pass_and_are_found_by_windows() {
    let files = &[DOCS, ACTION][..];
    let state = open(files);
    // Not the windows' own runs (one view each), which the index pass computed already.
    let runs = [
        vec!["tracee,event_counts", "conv,tcp"],
        vec!["tracee,process_tree,signatures,container", "io,phs"],
        vec!["conv,ip", "endpoints,udp"],
        vec!["dns,tree", "http,tree"],
    ];
    let body = serde_json::json!({ "runs": runs, "filter": "" }).to_string();
    let (status, started) = call(&state, "POST", "/api/stats/prepare", &body).await;
    let started: Value = serde_json::from_slice(&started).expect("JSON");
    assert_eq!(status, StatusCode::OK, "{started}");
    let states = started["runs"].as_array().expect("runs");
    assert_eq!(states.len(), runs.len());
    let ids: Vec<u64> = states.iter().map(|s| s["id"].as_u64().unwrap()).collect();
    for (s, views) in states.iter().zip(&runs) {
        assert_eq!(s["views"], serde_json::json!(views), "in the order asked");
    }
    // A window letting go of a shared run (DELETE) does not stop the pass.
    let (status, _) = call(&state, "DELETE", &format!("/api/stats/{}", ids[0]), "").await;
    assert_eq!(status, StatusCode::OK);
    let start = Instant::now();
    while get_json(&state, &format!("/api/stats/{}", ids[0])).await.1["state"]["done"] != true {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the pass never ends"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut took = Vec::new();
    for (views, id) in runs.iter().zip(&ids) {
        let got = stats_of(&state, views, "").await;
        assert_eq!(got["state"]["id"], *id, "the window finds the prepared run");
        took.push(got["state"]["elapsed_ms"].clone());
        assert_eq!(got["state"]["cancelled"], false);
        let results = results_of(&got);
        assert_eq!(results.len(), views.len());
        let expected = read_stats(files, views, "");
        if let Some(at) = first_difference(&Value::Array(results), &expected, String::new()) {
            panic!("{views:?}: the prepared results differ from read -z's at {at}");
        }
    }
    // One pass: one time for all.
    assert!(took.windows(2).all(|w| w[0] == w[1]), "{took:?}");
    // Prepared again: every run is found, nothing new starts.
    let (_, again) = call(&state, "POST", "/api/stats/prepare", &body).await;
    let again: Value = serde_json::from_slice(&again).expect("JSON");
    let again_ids: Vec<u64> = again["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|s| s["id"].as_u64().unwrap())
        .collect();
    assert_eq!(again_ids, ids);
    // Under another filter they are other runs.
    let other = serde_json::json!({ "runs": runs, "filter": "dns" }).to_string();
    let (_, other) = call(&state, "POST", "/api/stats/prepare", &other).await;
    let other: Value = serde_json::from_slice(&other).expect("JSON");
    assert!(other["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .all(|s| !ids.contains(&s["id"].as_u64().unwrap())));
    // Checked like single runs.
    for bad in [
        r#"{"runs": []}"#,
        r#"{"runs": [[]]}"#,
        r#"{"runs": [["tracee,event_counts"], ["tracee,nonsense"]]}"#,
        r#"{"runs": [["tracee,event_counts"]], "filter": "tracee.eventName =="}"#,
        r#"{"views": ["tracee,event_counts"]}"#,
    ] {
        let (status, _) = call(&state, "POST", "/api/stats/prepare", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let many = serde_json::json!({ "runs": vec![vec!["phs"]; 65] }).to_string();
    let (status, _) = call(&state, "POST", "/api/stats/prepare", &many).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Where two JSON values first differ (a path and both values), if they do.
fn first_difference(a: &Value, b: &Value, path: String) -> Option<String> {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y, format!("{path}[{i}]"))),
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => {
            x.iter().find_map(|(k, v)| match y.get(k) {
                Some(w) => first_difference(v, w, format!("{path}.{k}")),
                None => Some(format!("{path}.{k}: missing on the right")),
            })
        }
        _ if a == b => None,
        _ => {
            let cut = |v: &Value| v.to_string().chars().take(300).collect::<String>();
            Some(format!("{path}: {} vs {}", cut(a), cut(b)))
        }
    }
}

#[tokio::test]
async fn count_by_field_through_stats_is_read_z_count() {
    // The view the UI's "Count by this field" runs: the CLI's numbers, under a filter too; a
    // malformed or unknown field is a 400 naming the view.
    statistics_like_read(
        &[DEMO],
        &[
            "count,tracee.eventName",
            "count,tracee.processName,tracee.eventName contains \"open\"",
            "count,tracee.sockaddr.sin_port",
        ],
    )
    .await;
    let state = open(&[DEMO]);
    for bad in ["count", "count,a b", "count,no.such.field"] {
        let body = serde_json::json!({ "views": [bad] }).to_string();
        let (status, body) = call(&state, "POST", "/api/stats", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            String::from_utf8_lossy(&body).contains(bad),
            "{bad}: {}",
            String::from_utf8_lossy(&body)
        );
    }
}
