//! Framing: where one msgpack value ends in a byte stream, without trusting any length field.
//!
//! Msgpack is self-delimiting, so a Forward connection is a sequence of values with nothing
//! between them. [`Scanner`] walks the headers of a value incrementally (it can be fed a
//! buffer that grows) and says where the value ends, refusing values deeper, longer or with
//! more items than the [`Limits`] allow; [`FrameReader`] uses it to cut frames out of a
//! reader. Only a complete, scanned frame is ever handed to the decoder, so no count or
//! length field in hostile input can make it allocate more than the frame's own size.

use std::io::{self, Read};

use crate::Reject;

/// Bounds on what a peer may send.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest frame (one top-level msgpack value), in bytes.
    pub max_frame: usize,
    /// Most msgpack items (scalars and containers) in one frame.
    pub max_items: u64,
    /// Deepest nesting of arrays and maps.
    pub max_depth: usize,
    /// Largest decompressed payload of a CompressedPackedForward frame, in bytes.
    pub max_decompressed: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame: 32 << 20,
            max_items: 4 << 20,
            max_depth: 32,
            max_decompressed: 128 << 20,
        }
    }
}

/// An incremental scanner of one msgpack value.
#[derive(Debug, Default)]
pub struct Scanner {
    pos: usize,
    /// Items still to read at each open nesting level (the outermost first).
    stack: Vec<u64>,
    items: u64,
    started: bool,
}

impl Scanner {
    /// A scanner at the start of a value.
    pub fn new() -> Self {
        Scanner::default()
    }

    /// Continues scanning `buf` (the same buffer as before, possibly longer). Returns the
    /// length of the complete value once it is there, `Ok(None)` when more bytes are needed.
    pub fn advance(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<usize>, Reject> {
        if !self.started {
            self.started = true;
            self.stack.push(1);
        }
        loop {
            // close finished levels
            while let Some(&0) = self.stack.last() {
                self.stack.pop();
            }
            if self.stack.is_empty() {
                return Ok(Some(self.pos));
            }
            if self.pos >= buf.len() {
                return Ok(None);
            }
            let b = buf[self.pos];
            let rest = &buf[self.pos..];
            // (header length, payload length, child items)
            let (hdr, payload, children): (usize, u64, u64) = match b {
                0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (1, 0, 0),
                0x80..=0x8f => (1, 0, 2 * (b & 0x0f) as u64),
                0x90..=0x9f => (1, 0, (b & 0x0f) as u64),
                0xa0..=0xbf => (1, (b & 0x1f) as u64, 0),
                0xc1 => return Err(Reject::new("msgpack byte 0xc1 is never used")),
                0xc4 | 0xd9 => match need(rest, 2) {
                    Some(h) => (2, h[1] as u64, 0),
                    None => return Ok(None),
                },
                0xc5 | 0xda => match need(rest, 3) {
                    Some(h) => (3, be16(&h[1..3]), 0),
                    None => return Ok(None),
                },
                0xc6 | 0xdb => match need(rest, 5) {
                    Some(h) => (5, be32(&h[1..5]), 0),
                    None => return Ok(None),
                },
                0xc7 => match need(rest, 3) {
                    Some(h) => (3, h[1] as u64, 0),
                    None => return Ok(None),
                },
                0xc8 => match need(rest, 4) {
                    Some(h) => (4, be16(&h[1..3]), 0),
                    None => return Ok(None),
                },
                0xc9 => match need(rest, 6) {
                    Some(h) => (6, be32(&h[1..5]), 0),
                    None => return Ok(None),
                },
                0xca => (5, 0, 0),
                0xcb => (9, 0, 0),
                0xcc | 0xd0 => (2, 0, 0),
                0xcd | 0xd1 => (3, 0, 0),
                0xce | 0xd2 => (5, 0, 0),
                0xcf | 0xd3 => (9, 0, 0),
                0xd4 => (3, 0, 0),
                0xd5 => (4, 0, 0),
                0xd6 => (6, 0, 0),
                0xd7 => (10, 0, 0),
                0xd8 => (18, 0, 0),
                0xdc => match need(rest, 3) {
                    Some(h) => (3, 0, be16(&h[1..3])),
                    None => return Ok(None),
                },
                0xdd => match need(rest, 5) {
                    Some(h) => (5, 0, be32(&h[1..5])),
                    None => return Ok(None),
                },
                0xde => match need(rest, 3) {
                    Some(h) => (3, 0, 2 * be16(&h[1..3])),
                    None => return Ok(None),
                },
                0xdf => match need(rest, 5) {
                    Some(h) => (5, 0, 2 * be32(&h[1..5])),
                    None => return Ok(None),
                },
            };
            let end = self.pos as u64 + hdr as u64 + payload;
            if end > limits.max_frame as u64 {
                return Err(Reject::new(format!(
                    "a value ending at byte {end} exceeds the frame limit of {} bytes",
                    limits.max_frame
                )));
            }
            if (buf.len() as u64) < end {
                return Ok(None);
            }
            self.items += 1;
            if self.items > limits.max_items {
                return Err(Reject::new(format!(
                    "more than {} msgpack items in one frame",
                    limits.max_items
                )));
            }
            // every child takes at least one byte
            if children > (limits.max_frame as u64).saturating_sub(end) {
                return Err(Reject::new(format!(
                    "a container declares {children} items, more than the frame limit of {} bytes can hold",
                    limits.max_frame
                )));
            }
            self.pos = end as usize;
            if let Some(top) = self.stack.last_mut() {
                *top -= 1;
            }
            if children > 0 {
                if self.stack.len() >= limits.max_depth {
                    return Err(Reject::new(format!(
                        "nesting deeper than {} levels",
                        limits.max_depth
                    )));
                }
                self.stack.push(children);
            }
        }
    }
}

fn need(rest: &[u8], n: usize) -> Option<&[u8]> {
    (rest.len() >= n).then(|| &rest[..n])
}

fn be16(b: &[u8]) -> u64 {
    u16::from_be_bytes([b[0], b[1]]) as u64
}

fn be32(b: &[u8]) -> u64 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as u64
}

/// The length of the complete msgpack value at the start of `buf`, or a rejection when it is
/// truncated or breaks the limits.
pub fn value_len(buf: &[u8], limits: &Limits) -> Result<usize, Reject> {
    match Scanner::new().advance(buf, limits)? {
        Some(n) => Ok(n),
        None => Err(Reject::new("truncated msgpack value")),
    }
}

/// Why reading a frame stopped.
#[derive(Debug)]
pub enum ReadError {
    /// The connection failed (or timed out: `WouldBlock`/`TimedOut`, and the reader can be
    /// called again).
    Io(io::Error),
    /// The peer sent something that is not a frame within the limits; the connection's
    /// framing is lost.
    Reject(Reject),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Cuts frames out of a byte stream.
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    scanner: Scanner,
    limits: Limits,
}

impl FrameReader {
    /// A reader with these limits.
    pub fn new(limits: Limits) -> Self {
        FrameReader {
            buf: Vec::with_capacity(64 << 10),
            scanner: Scanner::new(),
            limits,
        }
    }

    /// Changes the limits (for the frames after the current one).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Reads until a whole frame is buffered and returns it; `Ok(None)` at a clean end of
    /// stream. A read timeout comes back as `ReadError::Io` and leaves the partial frame
    /// buffered, so calling again continues where it stopped.
    pub fn next_frame<R: Read + ?Sized>(
        &mut self,
        r: &mut R,
    ) -> Result<Option<Vec<u8>>, ReadError> {
        loop {
            if !self.buf.is_empty() {
                if let Some(n) = self
                    .scanner
                    .advance(&self.buf, &self.limits)
                    .map_err(ReadError::Reject)?
                {
                    // the next frame is likely about as big as this one: give its buffer the
                    // room at once, rather than growing it (and copying) from 64 KiB again
                    let mut rest = Vec::with_capacity((n + n / 2).max(64 << 10));
                    rest.extend_from_slice(&self.buf[n..]);
                    self.buf.truncate(n);
                    let frame = std::mem::replace(&mut self.buf, rest);
                    self.scanner = Scanner::new();
                    return Ok(Some(frame));
                }
            }
            let old = self.buf.len();
            let want = (64 << 10).min(self.limits.max_frame + 1 - old.min(self.limits.max_frame));
            self.buf.resize(old + want.max(1), 0);
            match r.read(&mut self.buf[old..]) {
                Ok(0) => {
                    self.buf.truncate(old);
                    return if old == 0 {
                        Ok(None)
                    } else {
                        Err(ReadError::Reject(Reject::new(format!(
                            "connection closed inside a frame ({old} bytes buffered)"
                        ))))
                    };
                }
                Ok(n) => self.buf.truncate(old + n),
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(ReadError::Io(e));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &rmpv::Value) -> Vec<u8> {
        let mut b = Vec::new();
        rmpv::encode::write_value(&mut b, v).unwrap();
        b
    }

    #[test]
    fn scanner_finds_the_end_of_every_kind_of_value() {
        use rmpv::Value as V;
        let values = vec![
            V::Nil,
            V::Boolean(true),
            V::from(5),
            V::from(-3),
            V::from(300),
            V::from(-70000),
            V::from(u64::MAX),
            V::F32(1.5),
            V::F64(2.5),
            V::from("x".repeat(40)),
            V::from("y".repeat(300)),
            V::from("z".repeat(70000)),
            V::Binary(vec![1; 20]),
            V::Binary(vec![1; 300]),
            V::Binary(vec![1; 70000]),
            V::Ext(0, vec![0; 8]),
            V::Ext(1, vec![0; 3]),
            V::Ext(1, vec![0; 16]),
            V::Ext(1, vec![0; 300]),
            V::Array((0..20).map(V::from).collect()),
            V::Map((0..20).map(|i| (V::from(i), V::from("v"))).collect()),
            V::Array(vec![V::Array(vec![V::Map(vec![])]), V::Array(vec![])]),
        ];
        for v in values {
            let b = enc(&v);
            assert_eq!(value_len(&b, &Limits::default()).unwrap(), b.len(), "{v:?}");
            // every strict prefix needs more
            for cut in [0, 1, b.len() / 2, b.len() - 1] {
                if cut < b.len() {
                    assert!(value_len(&b[..cut], &Limits::default()).is_err());
                }
            }
        }
    }

    #[test]
    fn frame_reader_splits_a_stream_fed_byte_by_byte() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let a = enc(&rmpv::Value::Array(vec!["tag".into(), 1.into()]));
        let b = enc(&rmpv::Value::Map(vec![("ack".into(), "x".into())]));
        let mut all = a.clone();
        all.extend_from_slice(&b);
        let mut r = FrameReader::new(Limits::default());
        let mut t = Trickle(&all);
        assert_eq!(r.next_frame(&mut t).unwrap().unwrap(), a);
        assert_eq!(r.next_frame(&mut t).unwrap().unwrap(), b);
        assert!(r.next_frame(&mut t).unwrap().is_none());
    }

    #[test]
    fn hostile_headers_are_rejected_before_anything_is_allocated() {
        let l = Limits::default();
        // array32 claiming 4 billion items
        assert!(Scanner::new()
            .advance(&[0xdd, 0xff, 0xff, 0xff, 0xff], &l)
            .is_err());
        // bin32 of 4 GiB
        assert!(Scanner::new()
            .advance(&[0xc6, 0xff, 0xff, 0xff, 0xff], &l)
            .is_err());
        // deep nesting
        let deep = vec![0x91; 100];
        assert!(Scanner::new().advance(&deep, &l).is_err());
        assert!(Scanner::new().advance(&[0xc1], &l).is_err());
    }
}
