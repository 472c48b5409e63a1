//! Records: an event's JSON in a Forward record, and back.
//!
//! Two layouts. Tracee's (the default, what Tracee's `forward` output sends and Traceeshark
//! reads): `{"event": "<the event JSON as a string>"}`, so the event's bytes travel unchanged.
//! And `record`: the event as a msgpack map (keys in the JSON's order), for pipelines that
//! index fields. Osprey adds `"osprey_id": "<run>-<sequence>"` to either, a stable id per
//! event so that a receiver can drop the duplicates an at-least-once resend may bring.

use std::borrow::Cow;

use rmp::encode as w;
use rmpv::Value;

use crate::Reject;

/// The key of Osprey's per-event id.
pub const ID_KEY: &str = "osprey_id";

/// Tracee's layout: `{"event": json}` (plus the id when given).
pub fn tracee(json: &[u8], id: Option<&str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + 48);
    write_tracee(&mut out, json, id);
    out
}

/// Appends Tracee's layout of the event to `out`.
pub fn write_tracee(out: &mut Vec<u8>, json: &[u8], id: Option<&str>) {
    w::write_map_len(out, 1 + id.is_some() as u32).expect("Vec");
    w::write_str(out, "event").expect("Vec");
    // the event is UTF-8 JSON: a msgpack str, as Tracee's Go client sends it
    w::write_str_len(out, json.len() as u32).expect("Vec");
    out.extend_from_slice(json);
    if let Some(id) = id {
        w::write_str(out, ID_KEY).expect("Vec");
        w::write_str(out, id).expect("Vec");
    }
}

/// The event as a msgpack map, its keys in the JSON's order (plus the id when given).
pub fn as_map(json: &[u8], id: Option<&str>) -> Result<Vec<u8>, serde_json::Error> {
    let mut v: Value = serde_json::from_slice(json)?;
    if let (Value::Map(m), Some(id)) = (&mut v, id) {
        m.push((ID_KEY.into(), id.into()));
    }
    let mut out = Vec::with_capacity(json.len());
    rmpv::encode::write_value(&mut out, &v).expect("Vec");
    Ok(out)
}

fn key<'a>(m: &'a [(Value, Value)], k: &str) -> Option<&'a Value> {
    m.iter()
        .find(|(x, _)| match x {
            Value::String(s) => s.as_bytes() == k.as_bytes(),
            Value::Binary(b) => b == k.as_bytes(),
            _ => false,
        })
        .map(|(_, v)| v)
}

/// The event JSON a record carries: the `event` string of Tracee's layout (its exact bytes),
/// or a map that is the event itself, written back as JSON (keys in order, without the id).
pub fn event_json(record: &Value) -> Result<Cow<'_, [u8]>, Reject> {
    let Value::Map(m) = record else {
        return Err(Reject::new("the record is not a map"));
    };
    match key(m, "event") {
        Some(Value::String(s)) => return Ok(Cow::Borrowed(s.as_bytes())),
        Some(Value::Binary(b)) => return Ok(Cow::Borrowed(b)),
        _ => {}
    }
    if key(m, "eventName").is_some() || key(m, "event_name").is_some() || key(m, "name").is_some() {
        let mut out = Vec::with_capacity(512);
        write_json_map(m, true, &mut out);
        return Ok(Cow::Owned(out));
    }
    Err(Reject::new(
        "the record has neither an \"event\" string (Tracee's layout) nor an event's fields",
    ))
}

/// The record's Osprey id, when it has one.
pub fn event_id(record: &Value) -> Option<&str> {
    match record {
        Value::Map(m) => key(m, ID_KEY).and_then(Value::as_str),
        _ => None,
    }
}

fn write_json_map(m: &[(Value, Value)], top: bool, out: &mut Vec<u8>) {
    out.push(b'{');
    let mut first = true;
    for (k, v) in m {
        let name: Cow<str> = match k {
            Value::String(s) => String::from_utf8_lossy(s.as_bytes()),
            Value::Binary(b) => String::from_utf8_lossy(b),
            other => Cow::Owned(other.to_string()),
        };
        if top && name == ID_KEY {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        serde_json::to_writer(&mut *out, &*name).expect("Vec");
        out.push(b':');
        write_json(v, out);
    }
    out.push(b'}');
}

/// Writes a msgpack value as JSON (maps keep their order; binary becomes base64, as Go's
/// `[]byte` does).
pub fn write_json(v: &Value, out: &mut Vec<u8>) {
    use base64::Engine as _;
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::F32(f) => serde_json::to_writer(&mut *out, f).expect("Vec"),
        Value::F64(f) => serde_json::to_writer(&mut *out, f).expect("Vec"),
        Value::String(s) => {
            serde_json::to_writer(&mut *out, &*String::from_utf8_lossy(s.as_bytes())).expect("Vec")
        }
        Value::Binary(b) => serde_json::to_writer(
            &mut *out,
            &base64::engine::general_purpose::STANDARD.encode(b),
        )
        .expect("Vec"),
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(x, out);
            }
            out.push(b']');
        }
        Value::Map(m) => write_json_map(m, false, out),
        Value::Ext(..) => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(b: &[u8]) -> Value {
        rmpv::decode::read_value(&mut &b[..]).unwrap()
    }

    #[test]
    fn tracee_layout_keeps_the_bytes() {
        let json = br#"{"timestamp":1,"eventName":"x","args":[{"name":"p","value":"\u001b"}]}"#;
        let r = decode(&tracee(json, Some("r-1")));
        assert_eq!(&event_json(&r).unwrap()[..], json);
        assert_eq!(event_id(&r), Some("r-1"));
    }

    #[test]
    fn record_layout_keeps_the_order_and_the_values() {
        let json = br#"{"timestamp":1700000000123456789,"threadStartTime":5,"processName":"sh","eventName":"openat","returnValue":-2,"args":[{"name":"flags","type":"int","value":0}],"ok":true,"none":null}"#;
        let r = decode(&as_map(json, Some("r-2")).unwrap());
        assert_eq!(event_id(&r), Some("r-2"));
        assert_eq!(&event_json(&r).unwrap()[..], json);
    }

    #[test]
    fn a_record_without_an_event_is_refused() {
        let r = Value::Map(vec![("log".into(), "hello".into())]);
        assert!(event_json(&r).is_err());
        assert!(event_json(&Value::from(1)).is_err());
    }
}
