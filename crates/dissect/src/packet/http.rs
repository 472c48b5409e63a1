//! HTTP/1.x over TCP, one segment at a time, as tshark shows a segment it does not reassemble.
//!
//! A line-based hand parser rather than `httparse`: captures cut by the snap length (Tracee's
//! default keeps 96 bytes after the IP header) end in the middle of the header block, and
//! `httparse` then reports only `Partial`, with no header parsed; it also rejects messages that
//! Wireshark still dissects line by line (HTTP/0.9 request lines, obsolete line folding, a
//! stray non-header line that ends the headers). Each line is found with `memchr`, and every
//! value borrows from the frame.

use std::borrow::Cow;
use std::fmt::Write as _;

use osprey_field::fields::{data as d, http as f, ws};
use osprey_field::{FieldId, FieldValue};

use super::{Cx, Exc, Res, Tvb};

/// Wireshark's default HTTP TCP ports.
const PORTS: [u16; 10] = [80, 3128, 3132, 5985, 8080, 8088, 11371, 1900, 2869, 2710];

/// Request methods Wireshark recognises at the start of a request line.
const METHODS: &[&str] = &[
    "GET",
    "PUT",
    "POST",
    "HEAD",
    "COPY",
    "LOCK",
    "MOVE",
    "POLL",
    "PATCH",
    "TRACE",
    "BCOPY",
    "BMOVE",
    "LABEL",
    "MERGE",
    "MKCOL",
    "DELETE",
    "NOTIFY",
    "REPORT",
    "SEARCH",
    "UNLOCK",
    "UPDATE",
    "BDELETE",
    "CHECKIN",
    "CONNECT",
    "OPTIONS",
    "CCM_POST",
    "CHECKOUT",
    "PROPFIND",
    "BPROPFIND",
    "PROPPATCH",
    "SUBSCRIBE",
    "BPROPPATCH",
    "MKACTIVITY",
    "UNCHECKOUT",
    "MKWORKSPACE",
    "RPC_CONNECT",
    "UNSUBSCRIBE",
    "VERSION-CONTROL",
    "BASELINE-CONTROL",
    "M-SEARCH",
];

/// Headers with a field of their own (names compared case-insensitively).
const HEADERS: &[(&str, FieldId)] = &[
    ("host", f::HOST),
    ("user-agent", f::USER_AGENT),
    ("accept", f::ACCEPT),
    ("cookie", f::COOKIE),
    ("referer", f::REFERER),
    ("content-type", f::CONTENT_TYPE),
    ("content-length", f::CONTENT_LENGTH_HEADER),
    ("content-encoding", f::CONTENT_ENCODING),
    ("transfer-encoding", f::TRANSFER_ENCODING),
    ("connection", f::CONNECTION),
    ("server", f::SERVER),
    ("location", f::LOCATION),
    ("upgrade", f::UPGRADE),
    ("authorization", f::AUTHORIZATION),
    ("accept-language", f::ACCEPT_LANGUAGE),
    ("accept-encoding", f::ACCEPT_ENCODING),
    ("date", f::DATE),
    ("cache-control", f::CACHE_CONTROL),
    ("set-cookie", f::SET_COOKIE),
    ("last-modified", f::LAST_MODIFIED),
    ("x-forwarded-for", f::X_FORWARDED_FOR),
    ("www-authenticate", f::WWW_AUTHENTICATE),
    ("proxy-authenticate", f::PROXY_AUTHENTICATE),
    ("proxy-authorization", f::PROXY_AUTHORIZATION),
];

/// Most HTTP messages read from one segment (pipelining), so hostile input cannot loop long.
const MAX_MESSAGES: usize = 64;

/// True for Wireshark's HTTP ports.
pub(crate) fn is_port(port: u16) -> bool {
    PORTS.contains(&port)
}

/// Wireshark's HTTP heuristic for other ports: a first line, ended by CR or LF, that starts or
/// ends with `HTTP/1.1`.
pub(crate) fn looks_like_http(payload: &[u8]) -> bool {
    let Some(end) = memchr::memchr2(b'\r', b'\n', payload) else {
        return false;
    };
    // Wireshark rejects an 8-byte line outright; shorter ones cannot hold the token.
    if end <= 8 {
        return false;
    }
    let line = &payload[..end];
    line[..8].eq_ignore_ascii_case(b"HTTP/1.1") || line[end - 8..].eq_ignore_ascii_case(b"HTTP/1.1")
}

/// One line: its bytes without the terminator, and where the next one starts. `None` when no
/// terminator was found (the rest of the segment is the line).
struct Line<'a> {
    text: &'a [u8],
    start: usize,
    /// Offset after the terminator, or `None` for an unterminated last line.
    next: Option<usize>,
}

fn line_at(bytes: &[u8], start: usize) -> Line<'_> {
    let rest = &bytes[start.min(bytes.len())..];
    match memchr::memchr2(b'\r', b'\n', rest) {
        Some(i) => {
            let term = if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            Line {
                text: &rest[..i],
                start,
                next: Some(start + i + term),
            }
        }
        None => Line {
            text: rest,
            start,
            next: None,
        },
    }
}

/// What a first line is.
enum Start<'a> {
    Request { method: &'a [u8] },
    Response,
    Other,
}

fn classify(line: &[u8]) -> Start<'_> {
    if line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"HTTP/") {
        return Start::Response;
    }
    if let Some(sp) = memchr::memchr(b' ', line) {
        let method = &line[..sp];
        if METHODS.iter().any(|m| m.as_bytes() == method) {
            return Start::Request { method };
        }
    }
    Start::Other
}

fn text(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// True when parsing is worth it (see `dns::wanted`).
fn wanted(cx: &Cx<'_, '_>) -> bool {
    if cx.tree.is_full() || cx.set_cols() {
        return true;
    }
    let t = &cx.tree;
    (1..f::TABLE.len() as u32).any(|i| t.wants(FieldId::new(f::BASE, i)))
        || [
            ws::MALFORMED,
            ws::EXPERT_MESSAGE,
            ws::SHORT,
            d::DATA,
            d::DATA_DATA,
            d::DATA_LEN,
            d::DATA_TEXT_LINES,
        ]
        .iter()
        .any(|&id| t.wants(id))
}

/// HTTP on a TCP segment (chosen by port or by [`looks_like_http`]).
pub(crate) fn http<'a>(cx: &mut Cx<'a, '_>, tvb: Tvb<'a>) -> Res {
    let bytes = tvb.bytes();
    // A segment whose first line is not HTTP is claimed but left alone, as Wireshark does
    // without the conversation's earlier messages.
    if matches!(classify(line_at(bytes, 0).text), Start::Other) {
        return Ok(());
    }
    let full = wanted(cx);
    let mut off = 0;
    for n in 0..MAX_MESSAGES {
        if off >= bytes.len() {
            break;
        }
        match message(cx, &tvb, off, n == 0, full)? {
            Some(next) if next > off => off = next,
            _ => break,
        }
    }
    Ok(())
}

/// One message from `off`. Returns where the next one starts, or `None` at the end.
fn message<'a>(
    cx: &mut Cx<'a, '_>,
    tvb: &Tvb<'a>,
    off: usize,
    first: bool,
    full: bool,
) -> Result<Option<usize>, Exc> {
    let bytes = tvb.bytes();
    let first_line = line_at(bytes, off);
    let start = classify(first_line.text);
    if first {
        cx.open(f::HTTP, "http", "HTTP", || {
            "Hypertext Transfer Protocol".into()
        })?;
    } else {
        // Later messages of the segment are more HTTP trees, not another layer.
        cx.subtree(Some(f::HTTP), || "Hypertext Transfer Protocol".into());
    }
    cx.protocol("HTTP");
    if let Start::Other = start {
        // A later message of the segment that does not start a request or response: the
        // rest is content of an earlier one.
        cx.info_append(|s| s.push_str("Continuation"));
        body(cx, tvb, off, bytes.len() - off, None);
        cx.close();
        return Ok(None);
    }
    let line_text = text(first_line.text);
    if first {
        cx.info(|s| {
            s.push_str(&line_text);
            s.push(' ');
        });
    } else {
        cx.info_append(|s| {
            s.push_str(&line_text);
            s.push(' ');
        });
    }
    if !full {
        // Only the protocol and columns are wanted: skip the header block.
        cx.close();
        return Ok(None);
    }
    let line_end = first_line.next.unwrap_or(bytes.len());
    cx.subtree(None, || line_text.to_string());
    cx.tree.add(f::CHAT, FieldValue::None);
    if cx.tree.wants(ws::EXPERT_MESSAGE) {
        let chat = text(&bytes[off..line_end]).into_owned();
        cx.tree
            .add(ws::EXPERT_MESSAGE, FieldValue::Str(chat.into()));
    }
    let request = matches!(start, Start::Request { .. });
    let mut uri_text: Option<Cow<'a, str>> = None;
    match start {
        Start::Request { method } => {
            cx.tree.add_hidden(f::REQUEST, FieldValue::Bool(true));
            cx.add(
                f::REQUEST_METHOD,
                FieldValue::Str(text(method)),
                tvb,
                off,
                method.len(),
            );
            let rest = &first_line.text[method.len() + 1..];
            let uri_start = off + method.len() + 1;
            let (uri, version) = match memchr::memchr(b' ', rest) {
                Some(sp) => (&rest[..sp], Some((uri_start + sp + 1, &rest[sp + 1..]))),
                None => (rest, None),
            };
            cx.add(
                f::REQUEST_URI,
                FieldValue::Str(text(uri)),
                tvb,
                uri_start,
                uri.len(),
            );
            uri_parts(cx, tvb, uri_start, uri);
            uri_text = Some(text(uri));
            if let Some((at, v)) = version {
                cx.add(
                    f::REQUEST_VERSION,
                    FieldValue::Str(text(v)),
                    tvb,
                    at,
                    v.len(),
                );
            }
        }
        Start::Response => {
            cx.tree.add_hidden(f::RESPONSE, FieldValue::Bool(true));
            let l = first_line.text;
            let sp = memchr::memchr(b' ', l).unwrap_or(l.len());
            cx.add(
                f::RESPONSE_VERSION,
                FieldValue::Str(text(&l[..sp])),
                tvb,
                off,
                sp,
            );
            let rest = l.get(sp + 1..).unwrap_or_default();
            let code_end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
            let code = &rest[..code_end];
            if code.len() == 3 && code.iter().all(u8::is_ascii_digit) {
                let c = code.iter().fold(0u64, |a, &b| a * 10 + u64::from(b - b'0'));
                cx.uint(f::RESPONSE_CODE, c, tvb, off + sp + 1, 3);
                if let Some(desc) = super::name_of(f::STATUS_CODES, c) {
                    cx.tree
                        .add(f::RESPONSE_CODE_DESC, FieldValue::Str(desc.into()));
                }
            }
            if let Some(phrase) = rest.get(code_end + 1..) {
                cx.add(
                    f::RESPONSE_PHRASE,
                    FieldValue::Str(text(phrase)),
                    tvb,
                    off + sp + 1 + code_end + 1,
                    phrase.len(),
                );
            }
        }
        Start::Other => {}
    }
    cx.close();

    // Header lines, up to the blank line.
    let line_field = if request {
        f::REQUEST_LINE
    } else {
        f::RESPONSE_LINE
    };
    let mut pos = first_line.next;
    let mut host: Option<Cow<'a, str>> = None;
    let mut content_length: Option<u64> = None;
    let mut content_type: Option<&'a [u8]> = None;
    let mut chunked = false;
    let mut headers_ended = None;
    let mut stray = None;
    while let Some(p) = pos {
        if p >= bytes.len() {
            break;
        }
        let line = line_at(bytes, p);
        if line.text.is_empty() {
            headers_ended = Some(line.next.unwrap_or(bytes.len()));
            break;
        }
        let Some(next) = line.next else {
            // The segment ends inside this line: it is not shown, as it may be cut.
            break;
        };
        let Some(colon) = memchr::memchr(b':', line.text) else {
            stray = Some(line.start);
            break;
        };
        cx.add(
            line_field,
            FieldValue::Str(text(&bytes[p..next])),
            tvb,
            p,
            next - p,
        );
        let name = &line.text[..colon];
        let value_start = line.text[colon + 1..]
            .iter()
            .position(|&b| b != b' ' && b != b'\t')
            .map_or(line.text.len(), |i| colon + 1 + i);
        let value = &line.text[value_start..];
        if let Some(&(_, field)) = HEADERS
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
        {
            cx.add(field, FieldValue::Str(text(value)), tvb, p, line.text.len());
            header_extras(cx, tvb, field, value, p, line.text.len());
            match field {
                f::HOST => host = Some(text(value)),
                f::CONTENT_LENGTH_HEADER => {
                    content_length = std::str::from_utf8(value)
                        .ok()
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    if let Some(cl) = content_length {
                        cx.uint(f::CONTENT_LENGTH, cl, tvb, p, line.text.len());
                    }
                }
                f::CONTENT_TYPE => content_type = Some(value),
                f::TRANSFER_ENCODING => chunked = value.eq_ignore_ascii_case(b"chunked"),
                _ => {}
            }
        }
        pos = Some(next);
    }
    if let (Some(h), Some(u)) = (&host, &uri_text) {
        let full_uri = if u.starts_with('/') {
            format!("http://{}{u}", h.trim_end())
        } else {
            u.to_string()
        };
        cx.tree
            .add(f::REQUEST_FULL_URI, FieldValue::Str(full_uri.into()));
    }
    cx.close();

    if let Some(s) = stray {
        // A line that is no header ends the headers; Wireshark treats what follows as the
        // content of another message.
        return Ok(Some(s));
    }
    let Some(body_start) = headers_ended else {
        if !tvb.complete() {
            return Err(Exc::Short);
        }
        return Ok(None);
    };
    let available = bytes.len() - body_start.min(bytes.len());
    let body_len = match content_length {
        Some(cl) => (cl.min(available as u64)) as usize,
        None if chunked || !request => available,
        None => 0,
    };
    if body_len > 0 {
        let ctype = content_type.map(media_type);
        if chunked && content_length.is_none() {
            let raw = &bytes[body_start..body_start + body_len];
            match dechunk(raw) {
                Some(decoded) => owned_body(cx, tvb, body_start, body_len, decoded, ctype),
                None => body(cx, tvb, body_start, body_len, ctype),
            }
            return Ok(None);
        }
        body(cx, tvb, body_start, body_len, ctype);
    }
    let next = body_start + body_len;
    Ok(if next < bytes.len() && content_length.is_some() {
        Some(next)
    } else {
        None
    })
}

/// `http.request.uri.path`, `.query` and its parameters.
fn uri_parts<'a>(cx: &mut Cx<'a, '_>, tvb: &Tvb<'a>, at: usize, uri: &'a [u8]) {
    // Wireshark splits the URI only when it has a query.
    if let Some(q) = memchr::memchr(b'?', uri) {
        let (path, qoff, query) = (&uri[..q], q + 1, &uri[q + 1..]);
        cx.add(
            f::REQUEST_URI_PATH,
            FieldValue::Str(text(path)),
            tvb,
            at,
            path.len(),
        );
        cx.add(
            f::REQUEST_URI_QUERY,
            FieldValue::Str(text(query)),
            tvb,
            at + qoff,
            query.len(),
        );
        let mut p = 0;
        for param in query.split(|&b| b == b'&') {
            cx.add(
                f::REQUEST_URI_QUERY_PARAMETER,
                FieldValue::Str(text(param)),
                tvb,
                at + qoff + p,
                param.len(),
            );
            p += param.len() + 1;
        }
    }
}

/// Fields derived from a header: cookie pairs, basic credentials.
fn header_extras<'a>(
    cx: &mut Cx<'a, '_>,
    tvb: &Tvb<'a>,
    field: FieldId,
    value: &'a [u8],
    at: usize,
    len: usize,
) {
    match field {
        f::COOKIE => {
            for pair in value.split(|&b| b == b';') {
                let start = pair.iter().position(|&b| b != b' ').unwrap_or(pair.len());
                let pair = &pair[start..];
                if !pair.is_empty() {
                    cx.add(f::COOKIE_PAIR, FieldValue::Str(text(pair)), tvb, at, len);
                }
            }
        }
        f::AUTHORIZATION | f::PROXY_AUTHORIZATION if cx.tree.wants(f::AUTHBASIC) => {
            use base64::Engine as _;
            if value.len() > 6 && value[..6].eq_ignore_ascii_case(b"basic ") {
                if let Ok(creds) =
                    base64::engine::general_purpose::STANDARD.decode(value[6..].trim_ascii())
                {
                    cx.add(
                        f::AUTHBASIC,
                        FieldValue::Str(String::from_utf8_lossy(&creds).into_owned().into()),
                        tvb,
                        at,
                        len,
                    );
                }
            }
        }
        _ => {}
    }
}

/// The media type of a Content-Type value: lower case, without parameters.
fn media_type(v: &[u8]) -> String {
    let end = memchr::memchr(b';', v).unwrap_or(v.len());
    String::from_utf8_lossy(v[..end].trim_ascii()).to_ascii_lowercase()
}

/// The message body: `http.file_data`, then the body protocol (line-based text for `text/*`,
/// data otherwise), with the media type in Info when one was recognised.
fn body<'a>(cx: &mut Cx<'a, '_>, tvb: &Tvb<'a>, start: usize, len: usize, ctype: Option<String>) {
    let b = &tvb.bytes()[start..start + len];
    cx.add(f::FILE_DATA, FieldValue::Str(text(b)), tvb, start, len);
    body_protocol(
        cx,
        ctype,
        |cx| {
            cx.add(d::DATA_DATA, FieldValue::Bytes(b.into()), tvb, start, len);
        },
        len,
    );
}

/// Like [`body`] for a dechunked body, which no longer borrows from the frame.
fn owned_body<'a>(
    cx: &mut Cx<'a, '_>,
    tvb: &Tvb<'a>,
    start: usize,
    len: usize,
    decoded: Vec<u8>,
    ctype: Option<String>,
) {
    let dlen = decoded.len();
    if dlen == 0 {
        return;
    }
    cx.add(
        f::FILE_DATA,
        FieldValue::Str(String::from_utf8_lossy(&decoded).into_owned().into()),
        tvb,
        start,
        len,
    );
    body_protocol(
        cx,
        ctype,
        move |cx| {
            cx.add(
                d::DATA_DATA,
                FieldValue::Bytes(decoded.into()),
                tvb,
                start,
                len,
            );
        },
        dlen,
    );
}

fn body_protocol<'a, 't>(
    cx: &mut Cx<'a, 't>,
    ctype: Option<String>,
    add_data: impl FnOnce(&mut Cx<'a, 't>),
    len: usize,
) {
    match ctype {
        Some(t) if t.starts_with("text/") || t == "application/x-www-form-urlencoded" => {
            let (layer, field) = if t.starts_with("text/") {
                ("data-text-lines", d::DATA_TEXT_LINES)
            } else {
                ("urlencoded-form", d::URLENCODED_FORM)
            };
            cx.tree.layer(layer);
            cx.tree.add(field, FieldValue::None);
            cx.info_append(|s| {
                let _ = write!(s, " ({t})");
            });
        }
        _ => {
            cx.tree.layer("data");
            cx.subtree(Some(d::DATA), || format!("Data ({len} bytes)"));
            add_data(cx);
            cx.tree.add(d::DATA_LEN, FieldValue::Int(len as i64));
            cx.close();
        }
    }
}

/// Decodes a chunked body; `None` when it is not well formed. The output is bounded by the
/// input's length.
fn dechunk(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let line = line_at(raw, pos);
        let next = line.next?;
        let size_text = line.text.split(|&b| b == b';').next()?;
        let size = usize::from_str_radix(std::str::from_utf8(size_text).ok()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        let chunk = raw.get(next..next.checked_add(size)?)?;
        out.extend_from_slice(chunk);
        pos = next + size;
        // Each chunk ends with CRLF.
        if raw.get(pos..pos + 2) == Some(b"\r\n") {
            pos += 2;
        } else {
            return None;
        }
    }
}
