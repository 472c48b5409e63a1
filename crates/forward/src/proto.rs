//! The messages of Forward protocol v1: event frames in the four modes, `{"ack"}`, and the
//! HELO/PING/PONG handshake; an encoder for each and one decoder for whatever a peer sends.

use std::io::Read;

use rmp::encode as w;
use rmpv::{Value, ValueRef};
use sha2::{Digest, Sha512};

use crate::frame::{value_len, Limits};
use crate::Reject;

/// How an event frame carried its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `[tag, time, record, option?]`: one entry.
    Message,
    /// `[tag, [[time, record], ...], option?]`.
    Forward,
    /// `[tag, bin(concatenated [time, record]), option?]`.
    PackedForward,
    /// PackedForward with a gzip-compressed payload (`option.compressed = "gzip"`).
    CompressedPackedForward,
}

/// The options map that may close an event frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The chunk id: the receiver must answer `{"ack": chunk}`.
    pub chunk: Option<String>,
    /// The number of entries, as the sender counted them.
    pub size: Option<u64>,
    /// `"gzip"` for CompressedPackedForward.
    pub compressed: Option<String>,
}

/// One `[time, record]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Nanoseconds since the epoch (whole seconds for an integer time).
    pub time_ns: u64,
    /// The record (a msgpack map).
    pub record: Value,
}

/// A decoded event frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Events {
    /// The tag.
    pub tag: String,
    /// How it was sent.
    pub mode: Mode,
    /// Its entries, in order.
    pub entries: Vec<Entry>,
    /// Its options.
    pub options: Options,
}

/// The handshake's PING, sent by a client after the server's HELO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    /// The client's host name.
    pub hostname: String,
    /// The salt of the shared-key digest.
    pub shared_key_salt: Vec<u8>,
    /// hex sha512(salt + hostname + nonce + shared_key).
    pub shared_key_digest: String,
    /// User name (empty without user authentication).
    pub username: String,
    /// hex sha512(auth_salt + username + password) (empty without user authentication).
    pub password_digest: String,
}

/// The server's HELO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helo {
    /// The nonce the client's digest must cover.
    pub nonce: Vec<u8>,
    /// The salt of the password digest (empty when users are not authenticated).
    pub auth: Vec<u8>,
    /// Whether the server keeps the connection after the handshake.
    pub keepalive: bool,
}

/// The server's PONG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pong {
    /// Whether the client was accepted.
    pub ok: bool,
    /// Why not.
    pub reason: String,
    /// The server's host name.
    pub hostname: String,
    /// hex sha512(shared_key_salt + server hostname + nonce + shared_key).
    pub digest: String,
}

/// Anything a peer can send.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// An event frame (client to server).
    Events(Events),
    /// PING (client to server).
    Ping(Ping),
    /// HELO (server to client).
    Helo(Helo),
    /// PONG (server to client).
    Pong(Pong),
    /// `{"ack": chunk}` (server to client).
    Ack(String),
}

/// hex sha512 of the parts, concatenated.
pub fn sha512_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha512::new();
    for p in parts {
        h.update(p);
    }
    let d = h.finalize();
    let mut s = String::with_capacity(128);
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The shared-key digest of PING (client hostname) and PONG (server hostname).
pub fn shared_key_digest(salt: &[u8], hostname: &str, nonce: &[u8], key: &str) -> String {
    sha512_hex(&[salt, hostname.as_bytes(), nonce, key.as_bytes()])
}

/// The password digest of PING.
pub fn password_digest(auth_salt: &[u8], user: &str, password: &str) -> String {
    sha512_hex(&[auth_salt, user.as_bytes(), password.as_bytes()])
}

// ---- encoding ----

/// Writes an EventTime (ext type 0: big-endian seconds and nanoseconds).
pub fn write_event_time(out: &mut Vec<u8>, ns: u64) {
    let secs = (ns / 1_000_000_000) as u32;
    let nanos = (ns % 1_000_000_000) as u32;
    out.push(0xd7);
    out.push(0);
    out.extend_from_slice(&secs.to_be_bytes());
    out.extend_from_slice(&nanos.to_be_bytes());
}

/// Appends one `[EventTime, record]` entry; `record` is an encoded msgpack map.
pub fn write_entry(out: &mut Vec<u8>, ns: u64, record: &[u8]) {
    write_entry_head(out, ns);
    out.extend_from_slice(record);
}

/// Appends the start of an entry, `[EventTime, `: the record is to be written next.
pub fn write_entry_head(out: &mut Vec<u8>, ns: u64) {
    out.push(0x92);
    write_event_time(out, ns);
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    w::write_str(out, s).expect("writing to a Vec");
}

fn write_options(out: &mut Vec<u8>, o: &Options) {
    let n = o.chunk.is_some() as u32 + o.size.is_some() as u32 + o.compressed.is_some() as u32;
    w::write_map_len(out, n).expect("writing to a Vec");
    if let Some(c) = &o.chunk {
        write_str(out, "chunk");
        write_str(out, c);
    }
    if let Some(s) = o.size {
        write_str(out, "size");
        w::write_uint(out, s).expect("writing to a Vec");
    }
    if let Some(c) = &o.compressed {
        write_str(out, "compressed");
        write_str(out, c);
    }
}

fn has_options(o: &Options) -> bool {
    o.chunk.is_some() || o.size.is_some() || o.compressed.is_some()
}

/// Message mode: `[tag, time, record, option?]`. Tracee sends integer seconds; `event_time`
/// chooses EventTime with nanoseconds instead.
pub fn encode_message(tag: &str, ns: u64, event_time: bool, record: &[u8], o: &Options) -> Vec<u8> {
    let mut out = Vec::with_capacity(record.len() + tag.len() + 64);
    w::write_array_len(&mut out, if has_options(o) { 4 } else { 3 }).expect("Vec");
    write_str(&mut out, tag);
    if event_time {
        write_event_time(&mut out, ns);
    } else {
        w::write_uint(&mut out, ns / 1_000_000_000).expect("Vec");
    }
    out.extend_from_slice(record);
    if has_options(o) {
        write_options(&mut out, o);
    }
    out
}

/// Forward mode: `[tag, [entries], option?]`; `entries` are concatenated [`write_entry`]s.
pub fn encode_forward(tag: &str, entries: &[u8], count: u32, o: &Options) -> Vec<u8> {
    let (head, tail) = forward_frame_parts(tag, count, o);
    [&head[..], entries, &tail].concat()
}

/// A Forward-mode frame without its entries: what goes before them and after them.
pub fn forward_frame_parts(tag: &str, count: u32, o: &Options) -> (Vec<u8>, Vec<u8>) {
    let mut head = Vec::with_capacity(tag.len() + 16);
    w::write_array_len(&mut head, if has_options(o) { 3 } else { 2 }).expect("Vec");
    write_str(&mut head, tag);
    w::write_array_len(&mut head, count).expect("Vec");
    (head, tail_options(o))
}

/// PackedForward mode: `[tag, bin(entries), option?]`; with `compressed = Some("gzip")` in the
/// options, `entries` must already be gzip-compressed ([`gzip`]).
pub fn encode_packed(tag: &str, entries: &[u8], o: &Options) -> Vec<u8> {
    let (head, tail) = packed_frame_parts(tag, entries.len(), o);
    [&head[..], entries, &tail].concat()
}

/// A PackedForward frame without its `len` bytes of payload: what goes before and after.
pub fn packed_frame_parts(tag: &str, len: usize, o: &Options) -> (Vec<u8>, Vec<u8>) {
    let mut head = Vec::with_capacity(tag.len() + 16);
    w::write_array_len(&mut head, if has_options(o) { 3 } else { 2 }).expect("Vec");
    write_str(&mut head, tag);
    w::write_bin_len(&mut head, len as u32).expect("Vec");
    (head, tail_options(o))
}

fn tail_options(o: &Options) -> Vec<u8> {
    let mut tail = Vec::new();
    if has_options(o) {
        write_options(&mut tail, o);
    }
    tail
}

/// gzip of `data` (for CompressedPackedForward).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("Vec");
    e.finish().expect("Vec")
}

/// `{"ack": chunk}`.
pub fn encode_ack(chunk: &str) -> Vec<u8> {
    let mut out = Vec::new();
    w::write_map_len(&mut out, 1).expect("Vec");
    write_str(&mut out, "ack");
    write_str(&mut out, chunk);
    out
}

/// `["HELO", {"nonce", "auth", "keepalive"}]`.
pub fn encode_helo(h: &Helo) -> Vec<u8> {
    let mut out = Vec::new();
    w::write_array_len(&mut out, 2).expect("Vec");
    write_str(&mut out, "HELO");
    w::write_map_len(&mut out, 3).expect("Vec");
    write_str(&mut out, "nonce");
    w::write_bin(&mut out, &h.nonce).expect("Vec");
    write_str(&mut out, "auth");
    w::write_bin(&mut out, &h.auth).expect("Vec");
    write_str(&mut out, "keepalive");
    w::write_bool(&mut out, h.keepalive).expect("Vec");
    out
}

/// `["PING", hostname, salt, digest, username, password_digest]`.
pub fn encode_ping(p: &Ping) -> Vec<u8> {
    let mut out = Vec::new();
    w::write_array_len(&mut out, 6).expect("Vec");
    write_str(&mut out, "PING");
    write_str(&mut out, &p.hostname);
    w::write_bin(&mut out, &p.shared_key_salt).expect("Vec");
    write_str(&mut out, &p.shared_key_digest);
    write_str(&mut out, &p.username);
    write_str(&mut out, &p.password_digest);
    out
}

/// `["PONG", ok, reason, hostname, digest]`.
pub fn encode_pong(p: &Pong) -> Vec<u8> {
    let mut out = Vec::new();
    w::write_array_len(&mut out, 5).expect("Vec");
    write_str(&mut out, "PONG");
    w::write_bool(&mut out, p.ok).expect("Vec");
    write_str(&mut out, &p.reason);
    write_str(&mut out, &p.hostname);
    write_str(&mut out, &p.digest);
    out
}

// ---- decoding ----

fn text(v: &Value) -> Option<&[u8]> {
    match v {
        Value::String(s) => Some(s.as_bytes()),
        Value::Binary(b) => Some(b),
        _ => None,
    }
}

fn string(v: &Value, what: &str) -> Result<String, Reject> {
    text(v)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .ok_or_else(|| Reject::new(format!("{what} is not a string")))
}

fn map_get<'a>(m: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    m.iter()
        .find(|(k, _)| text(k) == Some(key.as_bytes()))
        .map(|(_, v)| v)
}

/// Decodes an entry's time: integer seconds, EventTime, or (leniently) a float.
pub fn decode_time(v: &Value) -> Result<u64, Reject> {
    match v {
        Value::Integer(i) => i
            .as_u64()
            .and_then(|s| s.checked_mul(1_000_000_000))
            .ok_or_else(|| Reject::new("time is a negative or out-of-range integer")),
        Value::Ext(0, b) if b.len() == 8 => {
            let s = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as u64;
            let n = u32::from_be_bytes([b[4], b[5], b[6], b[7]]) as u64;
            if n >= 1_000_000_000 {
                return Err(Reject::new("EventTime nanoseconds out of range"));
            }
            Ok(s * 1_000_000_000 + n)
        }
        Value::Ext(t, b) => Err(Reject::new(format!(
            "time is an ext of type {t} and {} bytes, not an EventTime",
            b.len()
        ))),
        Value::F64(f) if f.is_finite() && *f >= 0.0 && *f < 1.8e10 => Ok((*f * 1e9) as u64),
        Value::F32(f) if f.is_finite() && *f >= 0.0 => Ok((*f as f64 * 1e9) as u64),
        _ => Err(Reject::new("time is neither an integer nor an EventTime")),
    }
}

fn entry(v: Value) -> Result<Entry, Reject> {
    match v {
        Value::Array(mut a) if a.len() == 2 => {
            let record = a.pop().expect("two");
            let time_ns = decode_time(&a[0])?;
            if !matches!(record, Value::Map(_)) {
                return Err(Reject::new("an entry's record is not a map"));
            }
            Ok(Entry { time_ns, record })
        }
        _ => Err(Reject::new("an entry is not a [time, record] pair")),
    }
}

fn options(v: Option<Value>) -> Result<Options, Reject> {
    let mut o = Options::default();
    match v {
        None | Some(Value::Nil) => {}
        Some(Value::Map(m)) => {
            if let Some(c) = map_get(&m, "chunk") {
                o.chunk = Some(string(c, "option chunk")?);
            }
            if let Some(s) = map_get(&m, "size") {
                o.size = s.as_u64();
            }
            if let Some(c) = map_get(&m, "compressed") {
                o.compressed = Some(string(c, "option compressed")?);
            }
        }
        Some(_) => return Err(Reject::new("the option element is not a map")),
    }
    Ok(o)
}

fn read_one(bytes: &[u8], limits: &Limits) -> Result<Value, Reject> {
    let mut r = bytes;
    rmpv::decode::read_value_with_max_depth(&mut r, limits.max_depth + 2)
        .map_err(|e| Reject::new(format!("bad msgpack: {e}")))
}

/// Decodes the concatenated entries of a PackedForward payload.
pub fn decode_packed_entries(mut data: &[u8], limits: &Limits) -> Result<Vec<Entry>, Reject> {
    let mut out = Vec::new();
    let mut items = 0u64;
    while !data.is_empty() {
        let n = value_len(data, limits).map_err(|r| r.context("packed entries"))?;
        items += 1;
        if items > limits.max_items {
            return Err(Reject::new("too many packed entries"));
        }
        out.push(entry(read_one(&data[..n], limits)?)?);
        data = &data[n..];
    }
    Ok(out)
}

/// A PackedForward payload (its entries, gzip-compressed or not) checked and encoded again,
/// compressed or not as `compress` says: its number of entries and the new payload.
pub fn recode_packed(
    data: &[u8],
    compress: bool,
    limits: &Limits,
) -> Result<(u64, Vec<u8>), Reject> {
    let gzipped = data.starts_with(&[0x1f, 0x8b]);
    let raw = if gzipped {
        gunzip(data, limits.max_decompressed)?
    } else {
        data.to_vec()
    };
    let events = decode_packed_entries(&raw, limits)?.len() as u64;
    let payload = match (compress, gzipped) {
        (true, true) | (false, false) => data.to_vec(),
        (true, false) => gzip(&raw),
        (false, true) => raw,
    };
    Ok((events, payload))
}

fn gunzip(data: &[u8], limit: usize) -> Result<Vec<u8>, Reject> {
    let mut out = Vec::new();
    let mut d = flate2::read::MultiGzDecoder::new(data).take(limit as u64 + 1);
    d.read_to_end(&mut out)
        .map_err(|e| Reject::new(format!("bad gzip payload: {e}")))?;
    if out.len() > limit {
        return Err(Reject::new(format!(
            "gzip payload inflates beyond {limit} bytes"
        )));
    }
    Ok(out)
}

/// Decodes one complete frame (as cut by [`crate::frame::FrameReader`]).
pub fn decode(frame: &[u8], limits: &Limits) -> Result<Message, Reject> {
    let n = value_len(frame, limits)?;
    if n != frame.len() {
        return Err(Reject::new("trailing bytes after the frame"));
    }
    let mut r = frame;
    let v = rmpv::decode::read_value_ref_with_max_depth(&mut r, limits.max_depth + 2)
        .map_err(|e| Reject::new(format!("bad msgpack: {e}")))?;
    // PackedForward's payload is most of a busy connection's bytes: its entries are decoded
    // where they lie in the frame, not from an owned copy of the payload
    if let ValueRef::Array(a) = &v {
        if let Some(m) = packed_in_place(a, limits) {
            return m;
        }
    }
    match v.to_owned() {
        Value::Map(m) => match map_get(&m, "ack") {
            Some(c) => Ok(Message::Ack(string(c, "ack")?)),
            None => Err(Reject::new("a map frame without \"ack\"")),
        },
        Value::Array(a) => decode_array(a),
        _ => Err(Reject::new("a frame is neither an array nor a map")),
    }
}

fn decode_array(mut a: Vec<Value>) -> Result<Message, Reject> {
    if a.len() < 2 {
        return Err(Reject::new("a frame array with fewer than two elements"));
    }
    let head = text(&a[0])
        .ok_or_else(|| Reject::new("the first element (tag) is not a string"))?
        .to_vec();
    match (&head[..], &a[1]) {
        (b"HELO", Value::Map(m)) if a.len() == 2 => {
            let nonce = map_get(m, "nonce")
                .and_then(text)
                .unwrap_or_default()
                .to_vec();
            let auth = map_get(m, "auth")
                .and_then(text)
                .unwrap_or_default()
                .to_vec();
            let keepalive = map_get(m, "keepalive")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            return Ok(Message::Helo(Helo {
                nonce,
                auth,
                keepalive,
            }));
        }
        (b"PING", _) if a.len() == 6 => {
            return Ok(Message::Ping(Ping {
                hostname: string(&a[1], "PING hostname")?,
                shared_key_salt: text(&a[2])
                    .ok_or_else(|| Reject::new("PING salt is not a string"))?
                    .to_vec(),
                shared_key_digest: string(&a[3], "PING digest")?,
                username: string(&a[4], "PING username")?,
                password_digest: string(&a[5], "PING password digest")?,
            }));
        }
        (b"PONG", _) if a.len() == 5 => {
            return Ok(Message::Pong(Pong {
                ok: a[1].as_bool().unwrap_or(false),
                reason: string(&a[2], "PONG reason")?,
                hostname: string(&a[3], "PONG hostname")?,
                digest: string(&a[4], "PONG digest")?,
            }));
        }
        _ => {}
    }
    let tag = String::from_utf8_lossy(&head).into_owned();
    let second_is_time = matches!(
        a[1],
        Value::Integer(_) | Value::Ext(..) | Value::F64(_) | Value::F32(_)
    );
    if second_is_time {
        if !(3..=4).contains(&a.len()) {
            return Err(Reject::new(format!(
                "a Message-mode frame has {} elements, not 3 or 4",
                a.len()
            )));
        }
        let opt = if a.len() == 4 { a.pop() } else { None };
        let record = a.pop().expect("3");
        let time = a.pop().expect("2");
        let e = entry(Value::Array(vec![time, record]))?;
        return Ok(Message::Events(Events {
            tag,
            mode: Mode::Message,
            entries: vec![e],
            options: options(opt)?,
        }));
    }
    if !(2..=3).contains(&a.len()) {
        return Err(Reject::new(format!(
            "a Forward/PackedForward frame has {} elements, not 2 or 3",
            a.len()
        )));
    }
    let opt = if a.len() == 3 { a.pop() } else { None };
    let options = options(opt)?;
    let body = a.pop().expect("2");
    match body {
        Value::Array(items) => {
            let entries = items.into_iter().map(entry).collect::<Result<_, _>>()?;
            Ok(Message::Events(Events {
                tag,
                mode: Mode::Forward,
                entries,
                options,
            }))
        }
        // packed entries (bin or str) never come here: `decode` reads them in place first
        _ => Err(Reject::new(
            "the second element is neither a time, an entry array nor packed entries",
        )),
    }
}

/// A `[tag, bin or str, option?]` frame (PackedForward, compressed or not), its entries
/// decoded from the frame's bytes; `None` for any other frame (then [`decode_array`]'s).
fn packed_in_place(a: &[ValueRef], limits: &Limits) -> Option<Result<Message, Reject>> {
    fn text_ref<'b>(v: &'b ValueRef<'_>) -> Option<&'b [u8]> {
        match v {
            ValueRef::String(s) => Some(s.as_bytes()),
            ValueRef::Binary(b) => Some(b),
            _ => None,
        }
    }
    if !(2..=3).contains(&a.len()) {
        return None;
    }
    let tag = text_ref(&a[0])?;
    let body = text_ref(&a[1])?;
    let options = match options(a.get(2).map(ValueRef::to_owned)) {
        Ok(o) => o,
        Err(e) => return Some(Err(e)),
    };
    let tag = String::from_utf8_lossy(tag).into_owned();
    Some(packed(tag, body, options, limits))
}

fn packed(tag: String, data: &[u8], options: Options, limits: &Limits) -> Result<Message, Reject> {
    let (mode, entries) = match options.compressed.as_deref() {
        None | Some("text") | Some("") => {
            (Mode::PackedForward, decode_packed_entries(data, limits)?)
        }
        Some("gzip") => {
            let raw = gunzip(data, limits.max_decompressed)?;
            (
                Mode::CompressedPackedForward,
                decode_packed_entries(&raw, limits)?,
            )
        }
        Some(other) => {
            return Err(Reject::new(format!(
                "unknown compression {other:?} (only gzip is defined)"
            )))
        }
    };
    Ok(Message::Events(Events {
        tag,
        mode,
        entries,
        options,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(k: &str, v: &str) -> Vec<u8> {
        let mut b = Vec::new();
        rmpv::encode::write_value(&mut b, &Value::Map(vec![(k.into(), v.into())])).unwrap();
        b
    }

    fn events(m: Message) -> Events {
        match m {
            Message::Events(e) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn all_four_modes_round_trip() {
        let l = Limits::default();
        let r1 = rec("event", "{\"a\":1}");
        let r2 = rec("event", "{\"b\":2}");
        let opts = Options {
            chunk: Some("abc".into()),
            size: Some(2),
            compressed: None,
        };
        let m = events(
            decode(
                &encode_message("tracee", 5_000_000_000, false, &r1, &opts),
                &l,
            )
            .unwrap(),
        );
        assert_eq!(m.mode, Mode::Message);
        assert_eq!(m.entries[0].time_ns, 5_000_000_000);
        assert_eq!(m.options.chunk.as_deref(), Some("abc"));
        let m = events(
            decode(
                &encode_message("t", 5_000_000_123, true, &r1, &Options::default()),
                &l,
            )
            .unwrap(),
        );
        assert_eq!(m.entries[0].time_ns, 5_000_000_123);
        assert_eq!(m.options, Options::default());

        let mut ents = Vec::new();
        write_entry(&mut ents, 1_700_000_000_000_000_001, &r1);
        write_entry(&mut ents, 1_700_000_000_000_000_002, &r2);
        let f = events(decode(&encode_forward("t", &ents, 2, &opts), &l).unwrap());
        assert_eq!(f.mode, Mode::Forward);
        assert_eq!(f.entries.len(), 2);
        assert_eq!(f.entries[1].time_ns, 1_700_000_000_000_000_002);
        let p = events(decode(&encode_packed("t", &ents, &opts), &l).unwrap());
        assert_eq!(p.mode, Mode::PackedForward);
        assert_eq!(p.entries, f.entries);
        let copts = Options {
            compressed: Some("gzip".into()),
            ..opts.clone()
        };
        let c = events(decode(&encode_packed("t", &gzip(&ents), &copts), &l).unwrap());
        assert_eq!(c.mode, Mode::CompressedPackedForward);
        assert_eq!(c.entries, f.entries);
        assert_eq!(
            decode(&encode_ack("abc"), &l).unwrap(),
            Message::Ack("abc".into())
        );
    }

    #[test]
    fn handshake_messages_round_trip() {
        let l = Limits::default();
        let h = Helo {
            nonce: vec![1, 2, 3],
            auth: vec![],
            keepalive: true,
        };
        assert_eq!(decode(&encode_helo(&h), &l).unwrap(), Message::Helo(h));
        let p = Ping {
            hostname: "h".into(),
            shared_key_salt: b"salt".to_vec(),
            shared_key_digest: shared_key_digest(b"salt", "h", &[1, 2, 3], "k"),
            username: String::new(),
            password_digest: String::new(),
        };
        assert_eq!(decode(&encode_ping(&p), &l).unwrap(), Message::Ping(p));
        let q = Pong {
            ok: true,
            reason: String::new(),
            hostname: "s".into(),
            digest: "d".into(),
        };
        assert_eq!(decode(&encode_pong(&q), &l).unwrap(), Message::Pong(q));
        // the digest is sha512 hex of the concatenation
        assert_eq!(sha512_hex(&[b"ab", b"c"]), sha512_hex(&[b"abc"]));
        assert_eq!(sha512_hex(&[b""]).len(), 128);
    }

    #[test]
    fn a_gzip_bomb_is_refused() {
        let l = Limits {
            max_decompressed: 1 << 20,
            ..Limits::default()
        };
        let big = vec![0u8; 4 << 20];
        let opts = Options {
            compressed: Some("gzip".into()),
            ..Options::default()
        };
        let err = decode(&encode_packed("t", &gzip(&big), &opts), &l).unwrap_err();
        assert!(err.to_string().contains("inflates"), "{err}");
    }
}

/// Random and truncated frames, as the fuzz target feeds them (without cargo-fuzz): the
/// decoder must answer every input with a message or a reason, never a panic.
#[cfg(test)]
mod hostile {
    use super::*;
    use crate::frame::FrameReader;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn valid_frames() -> Vec<Vec<u8>> {
        let mut rec = Vec::new();
        rmpv::encode::write_value(
            &mut rec,
            &Value::Map(vec![("event".into(), r#"{"timestamp":1}"#.into())]),
        )
        .unwrap();
        let mut ents = Vec::new();
        for i in 0..5 {
            write_entry(&mut ents, i, &rec);
        }
        let o = Options {
            chunk: Some("id".into()),
            size: Some(5),
            compressed: None,
        };
        let gz = Options {
            compressed: Some("gzip".into()),
            ..o.clone()
        };
        vec![
            encode_message("tracee", 1, false, &rec, &o),
            encode_message("tracee", 1, true, &rec, &Options::default()),
            encode_forward("t", &ents, 5, &o),
            encode_packed("t", &ents, &o),
            encode_packed("t", &gzip(&ents), &gz),
            encode_ack("id"),
            encode_helo(&Helo {
                nonce: vec![1; 16],
                auth: vec![],
                keepalive: true,
            }),
        ]
    }

    fn feed(bytes: &[u8], limits: &Limits) {
        let mut r = FrameReader::new(*limits);
        let mut input = bytes;
        while let Ok(Some(f)) = r.next_frame(&mut input) {
            if let Ok(Message::Events(ev)) = decode(&f, limits) {
                for e in &ev.entries {
                    let _ = crate::record::event_json(&e.record);
                }
            }
        }
    }

    #[test]
    fn random_mutated_and_truncated_frames_never_panic() {
        let limits = Limits {
            max_frame: 1 << 16,
            max_items: 1 << 12,
            max_depth: 16,
            max_decompressed: 1 << 18,
        };
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let frames = valid_frames();
        for f in &frames {
            assert!(decode(f, &limits).is_ok());
            for cut in 0..f.len() {
                assert!(decode(&f[..cut], &limits).is_err());
                feed(&f[..cut], &limits);
            }
        }
        for _ in 0..20_000 {
            let mut f = frames[(rng.next() % frames.len() as u64) as usize].clone();
            for _ in 0..(rng.next() % 4 + 1) {
                let i = (rng.next() % f.len() as u64) as usize;
                f[i] = rng.next() as u8;
            }
            let cut = (rng.next() % (f.len() as u64 + 1)) as usize;
            feed(&f[..cut], &limits);
            let _ = decode(&f, &limits);
        }
        for _ in 0..5_000 {
            let n = (rng.next() % 64) as usize;
            let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            feed(&junk, &limits);
        }
    }
}
