//! Reading one JSON line into an [`Event`].
//!
//! One serde pass over a struct that knows the keys of all three generations: typed and
//! borrowing, which is several times faster than building a DOM first (performance.md). The
//! generation is decided from which keys were present, then the fields are normalised.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::value::{borrow_str, Value};
use crate::{Arg, Container, ContextFlags, Event, Generation, Kubernetes, Metadata};

/// Why a line is not a readable event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What was wrong, in words.
    pub message: String,
    /// 1-based column (byte offset within the line) where the problem was found, if known.
    pub column: Option<usize>,
}

impl ParseError {
    fn new(message: impl Into<String>) -> Self {
        ParseError {
            message: message.into(),
            column: None,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(col) => write!(f, "column {col}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ParseError {}

impl From<serde_json::Error> for ParseError {
    fn from(e: serde_json::Error) -> Self {
        // serde_json appends " at line L column C"; we report the column ourselves.
        let full = e.to_string();
        let message = match full.rfind(" at line ") {
            Some(i) => full[..i].to_string(),
            None => full,
        };
        let message = match e.classify() {
            serde_json::error::Category::Eof => format!("truncated JSON ({message})"),
            _ => message,
        };
        ParseError {
            message,
            column: (e.column() > 0).then_some(e.column()),
        }
    }
}

/// True for a Tracee log line (`{"level":...`), which shares the stream with events but is not
/// one.
pub fn is_log_line(line: &[u8]) -> bool {
    trim_start(line).starts_with(b"{\"level\":")
}

fn trim_start(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    &line[start..]
}

/// The event's timestamp in nanoseconds, found without parsing the whole line when it is the
/// first key (as Tracee writes it); otherwise the line is parsed.
pub fn peek_timestamp(line: &[u8]) -> Result<u64, ParseError> {
    let rest = trim_start(line);
    if let Some(after) = rest.strip_prefix(b"{\"timestamp\":") {
        // Digits by hand: this runs on the reader thread for every line. Nineteen digits
        // always fit in a u64.
        let mut ns: u64 = 0;
        let mut digits = 0;
        while let Some(&d) = after.get(digits) {
            if !d.is_ascii_digit() || digits == 19 {
                break;
            }
            ns = ns * 10 + (d - b'0') as u64;
            digits += 1;
        }
        if digits > 0 && matches!(after.get(digits), Some(b',' | b'}')) {
            return Ok(ns);
        }
        if let Some(after_quote) = after.strip_prefix(b"\"") {
            if let Some(end) = after_quote.iter().position(|&b| b == b'"') {
                if let Some(ns) = std::str::from_utf8(&after_quote[..end])
                    .ok()
                    .and_then(crate::time::parse_rfc3339)
                {
                    return Ok(ns);
                }
            }
        }
    }
    Ok(parse_event(line)?.timestamp)
}

/// Parses one line of Tracee JSON of any generation.
///
/// Fails on invalid JSON, on a JSON value that is not an object, and on an object that is not
/// an event (it has neither an event name nor an event ID, or no timestamp).
pub fn parse_event(line: &[u8]) -> Result<Event<'_>, ParseError> {
    let text = json_object_text(line)?;
    if let Some(event) = crate::fast::parse(text) {
        return Ok(event);
    }
    // Anything the fast path does not take (rare shapes, and every error) goes through serde,
    // which gives the one definition of what is accepted and of the messages.
    let raw: RawEvent = serde_json::from_str(text)?;
    raw.normalize()
}

/// [`parse_event`] without the fast path: serde alone. The reference the fast path is tested
/// against (in unit tests and by the `parse_event` fuzz target).
#[doc(hidden)]
pub fn parse_event_reference(line: &[u8]) -> Result<Event<'_>, ParseError> {
    let raw: RawEvent = serde_json::from_str(json_object_text(line)?)?;
    raw.normalize()
}

/// The line as text, when it starts like a JSON object and is UTF-8.
fn json_object_text(line: &[u8]) -> Result<&str, ParseError> {
    // serde would read a JSON array into a struct field by field; an event is an object.
    let start = line.len() - trim_start(line).len();
    if line.get(start) != Some(&b'{') {
        return Err(ParseError {
            message: "expected a JSON object".into(),
            column: Some(start + 1),
        });
    }
    // Validating the line once is cheaper than serde_json validating every string in it, and
    // simdutf8 validates 32 bytes per step where the standard library's check takes about two
    // instructions per byte (the standard one still says where a bad line goes wrong).
    if let Ok(text) = simdutf8::basic::from_utf8(line) {
        return Ok(text);
    }
    std::str::from_utf8(line).map_err(|e| ParseError {
        message: "invalid UTF-8 (JSON text must be UTF-8)".into(),
        column: Some(e.valid_up_to() + 1),
    })
}

/// Every top-level key of the three generations. Unknown keys are skipped.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawEvent<'a> {
    #[serde(deserialize_with = "timestamp")]
    pub(crate) timestamp: Option<u64>,
    #[serde(deserialize_with = "timestamp")]
    pub(crate) thread_start_time: Option<u64>,
    #[serde(deserialize_with = "int")]
    pub(crate) processor_id: Option<i64>,
    #[serde(deserialize_with = "int")]
    pub(crate) process_id: Option<i64>,
    #[serde(deserialize_with = "int")]
    pub(crate) thread_id: Option<i64>,
    #[serde(deserialize_with = "int")]
    pub(crate) parent_process_id: Option<i64>,
    #[serde(deserialize_with = "int")]
    pub(crate) host_process_id: Option<i64>,
    #[serde(deserialize_with = "int")]
    pub(crate) host_thread_id: Option<i64>,
    #[serde(deserialize_with = "int")]
    pub(crate) host_parent_process_id: Option<i64>,
    #[serde(deserialize_with = "int")]
    pub(crate) user_id: Option<i64>,
    #[serde(deserialize_with = "uint")]
    pub(crate) mount_namespace: Option<u64>,
    #[serde(deserialize_with = "uint")]
    pub(crate) pid_namespace: Option<u64>,
    #[serde(deserialize_with = "uint")]
    pub(crate) cgroup_id: Option<u64>,
    #[serde(borrow, deserialize_with = "opt_str")]
    pub(crate) process_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) executable: Option<RawExecutable<'a>>,
    #[serde(borrow, deserialize_with = "opt_str")]
    pub(crate) host_name: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "opt_str")]
    pub(crate) container_id: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "opt_str")]
    pub(crate) container_name: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "opt_str")]
    pub(crate) container_image: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "opt_str")]
    pub(crate) container_image_digest: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "opt_str")]
    pub(crate) pod_name: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "opt_str")]
    pub(crate) pod_namespace: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "opt_str", rename = "podUID")]
    pub(crate) pod_uid: Option<Cow<'a, str>>,
    pub(crate) pod_sandbox: Option<bool>,
    #[serde(borrow)]
    pub(crate) container: Option<RawContainer<'a>>,
    #[serde(borrow)]
    pub(crate) kubernetes: Option<RawKubernetes<'a>>,
    #[serde(deserialize_with = "int")]
    pub(crate) event_id: Option<i64>,
    #[serde(borrow, deserialize_with = "opt_str")]
    pub(crate) event_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) matched_policies: Option<Vec<BorrowedStr<'a>>>,
    #[serde(deserialize_with = "int")]
    pub(crate) args_num: Option<i64>,
    #[serde(deserialize_with = "int")]
    pub(crate) return_value: Option<i64>,
    #[serde(borrow, deserialize_with = "opt_str")]
    pub(crate) syscall: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) stack_addresses: Option<Vec<Value<'a>>>,
    pub(crate) context_flags: Option<RawContextFlags>,
    #[serde(deserialize_with = "uint")]
    pub(crate) thread_entity_id: Option<u64>,
    #[serde(deserialize_with = "uint")]
    pub(crate) process_entity_id: Option<u64>,
    #[serde(deserialize_with = "uint")]
    pub(crate) parent_entity_id: Option<u64>,
    #[serde(borrow)]
    pub(crate) args: Option<Vec<RawArg<'a>>>,
    #[serde(borrow)]
    pub(crate) metadata: Option<Value<'a>>,

    // v1beta1 keys
    #[serde(borrow)]
    pub(crate) id: Option<Value<'a>>,
    #[serde(borrow, deserialize_with = "opt_str")]
    pub(crate) name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) policies: Option<Value<'a>>,
    #[serde(borrow)]
    pub(crate) workload: Option<Value<'a>>,
    #[serde(borrow)]
    pub(crate) data: Option<Value<'a>>,
    #[serde(borrow)]
    pub(crate) threat: Option<Value<'a>>,
    #[serde(borrow, alias = "detected_from")]
    pub(crate) detected_from: Option<Value<'a>>,
}

#[derive(Deserialize, Default)]
pub(crate) struct RawExecutable<'a> {
    #[serde(borrow, default, deserialize_with = "opt_str")]
    pub(crate) path: Option<Cow<'a, str>>,
}

impl<'a> RawExecutable<'a> {
    /// `executable.path`, empty when the object has none.
    pub(crate) fn path(self) -> Cow<'a, str> {
        self.path.unwrap_or_default()
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawContainer<'a> {
    #[serde(borrow, deserialize_with = "opt_str")]
    pub(crate) id: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "opt_str")]
    pub(crate) name: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "opt_str")]
    pub(crate) image: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "opt_str")]
    pub(crate) image_digest: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawKubernetes<'a> {
    #[serde(borrow, deserialize_with = "opt_str")]
    pub(crate) pod_name: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "opt_str")]
    pub(crate) pod_namespace: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "opt_str", rename = "podUID")]
    pub(crate) pod_uid: Option<Cow<'a, str>>,
    pub(crate) pod_sandbox: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawContextFlags {
    pub(crate) container_started: Option<bool>,
    pub(crate) is_compat: Option<bool>,
}

impl RawContextFlags {
    pub(crate) fn flags(self) -> ContextFlags {
        ContextFlags {
            container_started: self.container_started.unwrap_or(false),
            is_compat: self.is_compat.unwrap_or(false),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawArg<'a> {
    #[serde(borrow, default, deserialize_with = "opt_str")]
    pub(crate) name: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "type", deserialize_with = "opt_str")]
    pub(crate) ty: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) value: Value<'a>,
}

impl<'a> RawArg<'a> {
    pub(crate) fn arg(self) -> Arg<'a> {
        Arg {
            name: self.name.unwrap_or_default(),
            ty: self.ty.unwrap_or_default(),
            value: self.value,
        }
    }
}

/// A string that borrows from the input when it can (serde's own `Cow<str>` always copies).
#[derive(Deserialize)]
pub(crate) struct BorrowedStr<'a>(
    #[serde(borrow, deserialize_with = "borrow_str")] pub Cow<'a, str>,
);

impl<'a> RawEvent<'a> {
    fn is_v1beta1(&self) -> bool {
        let v1_keys = self.workload.is_some()
            || self.data.is_some()
            || self.policies.is_some()
            || self.threat.is_some()
            || (self.event_name.is_none() && self.name.is_some());
        v1_keys && self.event_name.is_none()
    }

    pub(crate) fn normalize(self) -> Result<Event<'a>, ParseError> {
        if self.is_v1beta1() {
            return crate::v1beta1::normalize(self);
        }
        if self.event_name.is_none() && self.event_id.is_none() {
            return Err(ParseError::new(
                "not a Tracee event: the object has neither \"eventName\" nor \"eventId\"",
            ));
        }
        let Some(timestamp) = self.timestamp else {
            return Err(ParseError::new("not a Tracee event: no \"timestamp\""));
        };
        let context = RawContext {
            container: self.container,
            kubernetes: self.kubernetes,
            flat_container: RawContainer {
                id: self.container_id,
                name: self.container_name,
                image: self.container_image,
                image_digest: self.container_image_digest,
            },
            flat_pod: RawKubernetes {
                pod_name: self.pod_name,
                pod_namespace: self.pod_namespace,
                pod_uid: self.pod_uid,
                pod_sandbox: self.pod_sandbox,
            },
        };
        let generation = context.generation();
        let (container, kubernetes) = context.resolve();
        Ok(Event {
            generation,
            timestamp,
            thread_start_time: self.thread_start_time.unwrap_or(0),
            processor_id: self.processor_id.unwrap_or(0),
            process_id: self.process_id.unwrap_or(0),
            thread_id: self.thread_id.unwrap_or(0),
            parent_process_id: self.parent_process_id.unwrap_or(0),
            host_process_id: self.host_process_id.unwrap_or(0),
            host_thread_id: self.host_thread_id.unwrap_or(0),
            host_parent_process_id: self.host_parent_process_id.unwrap_or(0),
            user_id: self.user_id.unwrap_or(0),
            mount_namespace: self.mount_namespace.unwrap_or(0),
            pid_namespace: self.pid_namespace.unwrap_or(0),
            cgroup_id: self.cgroup_id.unwrap_or(0),
            process_name: self.process_name.unwrap_or_default(),
            executable_path: self.executable.map(RawExecutable::path),
            host_name: self.host_name.unwrap_or_default(),
            container,
            kubernetes,
            event_id: self.event_id.unwrap_or(0),
            event_name: self.event_name.unwrap_or_default(),
            matched_policies: self
                .matched_policies
                .map(|p| p.into_iter().map(|s| s.0).collect()),
            args_num: self.args_num.unwrap_or(0),
            return_value: self.return_value.unwrap_or(0),
            syscall: self.syscall.unwrap_or_default(),
            stack_addresses: stack_addresses(self.stack_addresses),
            context_flags: self.context_flags.unwrap_or_default().flags(),
            thread_entity_id: self.thread_entity_id,
            process_entity_id: self.process_entity_id,
            parent_entity_id: self.parent_entity_id,
            args: self
                .args
                .unwrap_or_default()
                .into_iter()
                .map(RawArg::arg)
                .collect(),
            metadata: self.metadata.and_then(metadata_from_value),
        })
    }
}

/// The container and pod context of a legacy or flat-context event, as read: the
/// `container`/`kubernetes` objects of Tracee v0.11+, the flat keys of v0.8 to v0.10.
#[derive(Default)]
pub(crate) struct RawContext<'a> {
    pub(crate) container: Option<RawContainer<'a>>,
    pub(crate) kubernetes: Option<RawKubernetes<'a>>,
    /// `containerId`, `containerName`, `containerImage`, `containerImageDigest`.
    pub(crate) flat_container: RawContainer<'a>,
    /// `podName`, `podNamespace`, `podUID`, `podSandbox`.
    pub(crate) flat_pod: RawKubernetes<'a>,
}

impl<'a> RawContext<'a> {
    /// Flat-context when there is no `container` object but flat keys say something.
    pub(crate) fn generation(&self) -> Generation {
        if self.container.is_none()
            && (self.flat_container.image.is_some()
                || self.flat_container.name.is_some()
                || self.flat_pod.pod_name.is_some())
        {
            Generation::FlatContext
        } else {
            Generation::Legacy
        }
    }

    /// The objects when present, the flat keys otherwise.
    pub(crate) fn resolve(self) -> (Container<'a>, Kubernetes<'a>) {
        let flat = self.flat_container;
        let container = match self.container {
            Some(c) => Container {
                // Legacy events often leave `container.id` empty but set `containerId`.
                id: c
                    .id
                    .filter(|s| !s.is_empty())
                    .or(flat.id)
                    .unwrap_or_default(),
                name: c.name.unwrap_or_default(),
                image: c.image.unwrap_or_default(),
                image_digest: c.image_digest.unwrap_or_default(),
            },
            None => Container {
                id: flat.id.unwrap_or_default(),
                name: flat.name.unwrap_or_default(),
                image: flat.image.unwrap_or_default(),
                image_digest: flat.image_digest.unwrap_or_default(),
            },
        };
        let k = self.kubernetes.unwrap_or(self.flat_pod);
        let kubernetes = Kubernetes {
            pod_name: k.pod_name.unwrap_or_default(),
            pod_namespace: k.pod_namespace.unwrap_or_default(),
            pod_uid: k.pod_uid.unwrap_or_default(),
            pod_sandbox: k.pod_sandbox.unwrap_or(false),
        };
        (container, kubernetes)
    }
}

/// `stackAddresses`: the entries that are unsigned integers.
pub(crate) fn stack_addresses(values: Option<Vec<Value<'_>>>) -> Vec<u64> {
    values
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_u64)
        .collect()
}

/// Reads legacy `metadata` (`Version`, `Description`, `Tags`, `Properties`).
pub(crate) fn metadata_from_value(v: Value<'_>) -> Option<Metadata<'_>> {
    let Value::Object(pairs) = v else {
        return None;
    };
    let mut m = Metadata::default();
    for (k, v) in pairs {
        match (&*k, v) {
            ("Version", Value::Str(s)) => m.version = s,
            ("Description", Value::Str(s)) => m.description = s,
            ("Tags", Value::Array(tags)) => {
                m.tags = tags
                    .into_iter()
                    .filter_map(|t| match t {
                        Value::Str(s) => Some(s),
                        _ => None,
                    })
                    .collect()
            }
            ("Properties", Value::Object(props)) => m.properties = props,
            _ => {}
        }
    }
    Some(m)
}

fn opt_str<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    Ok(Option::<BorrowedStr<'de>>::deserialize(d)?.map(|s| s.0))
}

/// An integer written as a JSON number or as a string holding one (Tracee's `eventId` is a
/// string); `null` is absent.
fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(IntVisitor)
}

fn uint<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match d.deserialize_any(IntVisitor)? {
        Some(v) if v >= 0 => Ok(Some(v as u64)),
        Some(v) => Err(de::Error::custom(format!(
            "expected an unsigned integer, found {v}"
        ))),
        None => Ok(None),
    }
}

struct IntVisitor;

impl<'de> Visitor<'de> for IntVisitor {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer, or a string holding one")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        // Tracee's Go `int` fields never exceed i64; a u64 beyond that keeps its bits.
        Ok(Some(v as i64))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if v.fract() == 0.0 && v.abs() < 9.2e18 {
            Ok(Some(v as i64))
        } else {
            Err(E::custom(format!("expected an integer, found {v}")))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        v.trim()
            .parse::<i64>()
            .or_else(|_| v.trim().parse::<u64>().map(|u| u as i64))
            .map(Some)
            .map_err(|_| E::custom(format!("expected an integer, found \"{}\"", truncate(v))))
    }
}

/// A timestamp: integer nanoseconds, a string of digits, an RFC 3339 string, or a protobuf
/// `{"seconds": "...", "nanos": n}` object.
fn timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    d.deserialize_any(TimestampVisitor)
}

struct TimestampVisitor;

impl<'de> Visitor<'de> for TimestampVisitor {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a timestamp (nanoseconds, RFC 3339, or {seconds, nanos})")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        u64::try_from(v)
            .map(Some)
            .map_err(|_| E::custom(format!("negative timestamp {v}")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if (0.0..1.8e19).contains(&v) {
            Ok(Some(v as u64))
        } else {
            Err(E::custom(format!("timestamp out of range: {v}")))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if let Ok(ns) = v.parse::<u64>() {
            return Ok(Some(ns));
        }
        crate::time::parse_rfc3339(v)
            .map(Some)
            .ok_or_else(|| E::custom(format!("not a timestamp: \"{}\"", truncate(v))))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seconds: Option<i64> = None;
        let mut nanos: Option<i64> = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match &*key {
                "seconds" => seconds = map.next_value_seed(IntSeed)?,
                "nanos" => nanos = map.next_value_seed(IntSeed)?,
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let secs = seconds.unwrap_or(0);
        let nanos = nanos.unwrap_or(0);
        if secs < 0 || !(0..1_000_000_000).contains(&nanos) {
            return Err(de::Error::custom("timestamp out of range"));
        }
        (secs as u64)
            .checked_mul(1_000_000_000)
            .and_then(|ns| ns.checked_add(nanos as u64))
            .map(Some)
            .ok_or_else(|| de::Error::custom("timestamp out of range"))
    }
}

struct KeySeed;

impl<'de> de::DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        borrow_str(d)
    }
}

struct IntSeed;

impl<'de> de::DeserializeSeed<'de> for IntSeed {
    type Value = Option<i64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        int(d)
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEGACY: &str = r#"{"timestamp":1680182976364916505,"threadStartTime":1680179107675006774,"processorId":0,"processId":676,"cgroupId":5247,"threadId":676,"parentProcessId":1,"hostProcessId":676,"hostThreadId":676,"hostParentProcessId":1,"userId":131,"mountNamespace":4026532574,"pidNamespace":4026531836,"processName":"systemd-oomd","hostName":"josedonizetti-x","container":{},"kubernetes":{},"eventId":"730","eventName":"security_file_open","matchedPolicies":[""],"argsNum":6,"returnValue":0,"syscall":"openat","stackAddresses":null,"contextFlags":{"containerStarted":false,"isCompat":false},"args":[{"name":"pathname","type":"const char*","value":"/proc/meminfo"},{"name":"flags","type":"string","value":"O_RDONLY|O_LARGEFILE"},{"name":"dev","type":"dev_t","value":45},{"name":"inode","type":"unsigned long","value":4026532041},{"name":"ctime","type":"unsigned long","value":1680179108391999988},{"name":"syscall_pathname","type":"const char*","value":"/proc/meminfo"}]}"#;

    #[test]
    fn reads_a_legacy_event() {
        let e = parse_event(LEGACY.as_bytes()).unwrap();
        assert_eq!(e.generation, Generation::Legacy);
        assert_eq!(e.timestamp, 1680182976364916505);
        assert_eq!(e.event_id, 730);
        assert_eq!(e.event_name, "security_file_open");
        assert_eq!(e.host_process_id, 676);
        assert_eq!(e.user_id, 131);
        assert_eq!(
            e.matched_policies.as_deref(),
            Some(&[Cow::Borrowed("")][..])
        );
        assert_eq!(e.args.len(), 6);
        assert_eq!(e.arg("dev").unwrap().value, Value::Int(45));
        assert_eq!(e.arg("pathname").unwrap().ty, "const char*");
        assert!(!e.is_signature());
        assert!(matches!(e.process_name, Cow::Borrowed(_)));
    }

    #[test]
    fn round_trips_through_the_legacy_writer() {
        // The writer's layout is Tracee's, so a fully populated legacy event comes back
        // identical in content.
        let mut e = parse_event(LEGACY.as_bytes()).unwrap();
        let mut out = Vec::new();
        e.write_legacy_json(&mut out);
        let again = parse_event(&out).unwrap();
        // The writer always writes the keys this fixture leaves out.
        e.executable_path = Some("".into());
        e.thread_entity_id = Some(0);
        e.process_entity_id = Some(0);
        e.parent_entity_id = Some(0);
        assert_eq!(again, e);
        let mut twice = Vec::new();
        again.write_legacy_json(&mut twice);
        assert_eq!(twice, out);
    }

    #[test]
    fn peeks_timestamps_fast_and_slow() {
        assert_eq!(
            peek_timestamp(LEGACY.as_bytes()).unwrap(),
            1680182976364916505
        );
        let reordered = r#"{"eventName":"x","timestamp":42}"#;
        assert_eq!(peek_timestamp(reordered.as_bytes()).unwrap(), 42);
        let v1 = r#"{"timestamp":"2024-11-24T13:20:00.000000001Z","name":"x"}"#;
        assert_eq!(
            peek_timestamp(v1.as_bytes()).unwrap(),
            1_732_454_400_000_000_001
        );
        // The fast path does not validate the rest of the line; other forms are parsed.
        assert_eq!(peek_timestamp(b"{\"timestamp\":12,").unwrap(), 12);
        assert!(peek_timestamp(b"{\"eventName\":\"x\",\"timestamp\":12").is_err());
    }

    #[test]
    fn rejects_non_events_with_a_reason() {
        let err = parse_event(br#"{"a":1}"#).unwrap_err();
        assert!(err.message.contains("not a Tracee event"), "{err}");
        let err = parse_event(br#"{"timestamp":1,"eventName":"x""#).unwrap_err();
        assert!(err.message.contains("truncated"), "{err}");
        let err = parse_event(b"[1,2]").unwrap_err();
        assert!(err.column.is_some(), "{err:?}");
        let err = parse_event(br#"{"timestamp":-5,"eventName":"x"}"#).unwrap_err();
        assert!(err.message.contains("negative"), "{err}");
    }

    #[test]
    fn recognises_log_lines() {
        assert!(is_log_line(br#"{"level":"info","ts":1,"msg":"hi"}"#));
        assert!(is_log_line(br#"  {"level":"warn"}"#));
        assert!(!is_log_line(LEGACY.as_bytes()));
    }
}
