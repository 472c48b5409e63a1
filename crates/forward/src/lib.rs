/*!
Fluent Forward protocol v1 for Osprey: how events leave `osprey trace --output forward:...`
and arrive in `osprey receive`.

The protocol (Fluentd's forward protocol v1, `formats.md` §6) is msgpack over a stream: a
client sends *event frames* in one of four modes — Message `[tag, time, record, option]`,
Forward `[tag, [[time, record]...], option]`, PackedForward `[tag, bin, option]` and
CompressedPackedForward (the same, gzip) — and, when the option map carries a `chunk` id, the
server answers `{"ack": chunk}`. A server with a shared key opens with HELO, the client
answers PING with a sha512 digest of the key, the server closes the handshake with PONG.

* [`frame`] cuts frames out of a byte stream under [`frame::Limits`] (size, items, depth)
  without trusting any length field;
* [`proto`] encodes and decodes every message (EventTime ns, options, acks, the handshake);
* [`record`] maps an event's JSON to a record in Tracee's layout (`{"event": "<json>"}`) or as
  a msgpack map, and back to the exact JSON;
* [`sender`] is an at-least-once client: batches, chunk ids and acks, resend on timeout,
  reconnect with backoff, heartbeats, and a bounded on-disk spool, with counters;
* [`tls`] builds rustls configurations for `tls://` and TLS listeners;
* [`dedup`] remembers which event ids a receiver took, to drop what a resend repeats;
* [`receiver`] serves connections (TCP, TLS or a Unix socket), one thread each, answers the
  handshake and acks after the handler has taken the events, and rejects a malformed frame
  with a reason without touching other connections.

```
use osprey_forward::{proto, frame::Limits, record};
let rec = record::tracee(br#"{"timestamp":1,"eventName":"openat"}"#, None);
let frame = proto::encode_message("tracee", 1, false, &rec, &proto::Options::default());
let proto::Message::Events(ev) = proto::decode(&frame, &Limits::default()).unwrap() else { panic!() };
assert_eq!(&record::event_json(&ev.entries[0].record).unwrap()[..],
           br#"{"timestamp":1,"eventName":"openat"}"#);
```
*/
#![deny(missing_docs)]

pub mod dedup;
pub mod frame;
pub mod proto;
pub mod receiver;
pub mod record;
pub mod sender;
pub mod tls;

/// Why a peer's bytes were refused: a plain-English reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Reject(String);

impl Reject {
    /// A rejection with this reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Reject(reason.into())
    }
    /// The same rejection, saying where.
    pub fn context(self, what: &str) -> Self {
        Reject(format!("{what}: {}", self.0))
    }
}

/// Random bytes from the operating system (nonces, salts, chunk and run ids).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system's random source");
    b
}

/// This machine's host name (for the handshake), `localhost` when unknown.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
