//! Splitting a ring-buffer record into its header and arguments.
//!
//! Records come from the kernel but are still checked like hostile input: a short record, an
//! argument running past the end or an unknown kind ends decoding of that record with an error,
//! never a panic or an out-of-bounds read.

use crate::consts::*;
use crate::RecordHdr;

/// One argument of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawArg<'a> {
    /// An integer (the BPF side writes every scalar as 64 bits).
    Int(u64),
    /// A string's bytes (not necessarily UTF-8).
    Str(&'a [u8]),
    /// Raw bytes.
    Bytes(&'a [u8]),
    /// NUL-separated strings.
    StrList(&'a [u8]),
    /// A raw `struct sockaddr`.
    Sockaddr(&'a [u8]),
}

impl RawArg<'_> {
    /// The integer, for [`RawArg::Int`].
    pub fn int(&self) -> Option<u64> {
        match self {
            RawArg::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The bytes of any non-integer argument.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            RawArg::Int(_) => None,
            RawArg::Str(b) | RawArg::Bytes(b) | RawArg::StrList(b) | RawArg::Sockaddr(b) => Some(b),
        }
    }
}

/// Why a record could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Shorter than a header.
    #[error("record of {0} bytes is shorter than its header")]
    Short(usize),
    /// `args_size` points past the end.
    #[error("record claims {claimed} bytes of arguments but has {have}")]
    ArgsOverrun {
        /// What the header says.
        claimed: usize,
        /// What is there.
        have: usize,
    },
    /// An argument runs past the end of the record.
    #[error("argument {0} runs past the end of the record")]
    Truncated(u8),
    /// An unknown argument kind.
    #[error("argument {index} has unknown kind {kind}")]
    BadKind {
        /// The argument index.
        index: u8,
        /// Its kind byte.
        kind: u8,
    },
}

/// A decoded record: its header and its arguments by index.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// The header.
    pub hdr: RecordHdr,
    /// `(index, value)` in record order.
    pub args: Vec<(u8, RawArg<'a>)>,
}

impl<'a> Record<'a> {
    /// Decodes one record, checking every length.
    pub fn parse(data: &'a [u8]) -> Result<Record<'a>, RecordError> {
        let hdr_len = std::mem::size_of::<RecordHdr>();
        if data.len() < hdr_len {
            return Err(RecordError::Short(data.len()));
        }
        let mut hdr = RecordHdr::default();
        // The length was checked above, so copy_from_bytes cannot fail.
        plain::copy_from_bytes(&mut hdr, &data[..hdr_len])
            .map_err(|_| RecordError::Short(data.len()))?;
        let body = &data[hdr_len..];
        let claimed = hdr.args_size as usize;
        if claimed > body.len() {
            return Err(RecordError::ArgsOverrun {
                claimed,
                have: body.len(),
            });
        }
        let mut args = Vec::with_capacity(8);
        let mut rest = &body[..claimed];
        while !rest.is_empty() {
            if rest.len() < 2 {
                return Err(RecordError::Truncated(rest[0]));
            }
            let index = rest[0];
            let kind = rest[1];
            rest = &rest[2..];
            let value = if kind == ARG_INT {
                let b: [u8; 8] = rest
                    .get(..8)
                    .and_then(|s| s.try_into().ok())
                    .ok_or(RecordError::Truncated(index))?;
                rest = &rest[8..];
                RawArg::Int(u64::from_le_bytes(b))
            } else {
                let lb: [u8; 4] = rest
                    .get(..4)
                    .and_then(|s| s.try_into().ok())
                    .ok_or(RecordError::Truncated(index))?;
                let len = u32::from_le_bytes(lb) as usize;
                let payload = rest
                    .get(4..4usize.saturating_add(len))
                    .ok_or(RecordError::Truncated(index))?;
                rest = &rest[4 + len..];
                match kind {
                    ARG_STR => RawArg::Str(payload),
                    ARG_BYTES => RawArg::Bytes(payload),
                    ARG_STRLIST => RawArg::StrList(payload),
                    ARG_SOCKADDR => RawArg::Sockaddr(payload),
                    _ => return Err(RecordError::BadKind { index, kind }),
                }
            };
            args.push((index, value));
        }
        Ok(Record { hdr, args })
    }

    /// The argument with index `index`.
    pub fn arg(&self, index: u8) -> Option<&RawArg<'a>> {
        self.args.iter().find(|(i, _)| *i == index).map(|(_, v)| v)
    }

    /// The integer argument `index`, if present.
    pub fn int(&self, index: u8) -> Option<u64> {
        self.arg(index).and_then(RawArg::int)
    }

    /// The string argument `index`, lossily converted from bytes.
    pub fn string(&self, index: u8) -> Option<String> {
        self.arg(index)
            .and_then(RawArg::bytes)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

/// `comm`-style fixed arrays: the bytes before the first NUL, lossily as text.
pub fn c_chars(chars: &[i8]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Builds a record's bytes (for tests and fuzzing of decoders).
#[derive(Debug, Default, Clone)]
pub struct RecordBuilder {
    /// The header; `args_size` is filled in by [`RecordBuilder::finish`].
    pub hdr: RecordHdr,
    args: Vec<u8>,
}

impl RecordBuilder {
    /// Starts a record with this header.
    pub fn new(hdr: RecordHdr) -> Self {
        RecordBuilder {
            hdr,
            args: Vec::new(),
        }
    }

    /// Adds an integer argument.
    pub fn int(mut self, index: u8, v: u64) -> Self {
        self.args.push(index);
        self.args.push(ARG_INT);
        self.args.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Adds a length-prefixed argument of `kind`.
    pub fn blob(mut self, index: u8, kind: u8, b: &[u8]) -> Self {
        self.args.push(index);
        self.args.push(kind);
        self.args.extend_from_slice(&(b.len() as u32).to_le_bytes());
        self.args.extend_from_slice(b);
        self
    }

    /// Adds a string argument.
    pub fn str(self, index: u8, s: &str) -> Self {
        self.blob(index, ARG_STR, s.as_bytes())
    }

    /// The record's bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.hdr.args_size = self.args.len() as u32;
        let hdr = self.hdr;
        // SAFETY: RecordHdr is Plain (see lib.rs): viewing it as bytes reads initialized memory.
        let hdr_bytes = unsafe { plain::as_bytes(&hdr) };
        let mut out = hdr_bytes.to_vec();
        out.extend_from_slice(&self.args);
        out
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut hdr = RecordHdr::default();
        hdr.pid = 42;
        hdr.kind = REC_SYSCALL;
        let bytes = RecordBuilder::new(hdr)
            .int(0, 7)
            .str(1, "/etc/passwd")
            .blob(2, ARG_STRLIST, b"a\0b\0")
            .finish();
        let r = Record::parse(&bytes).unwrap();
        assert_eq!(r.hdr.pid, 42);
        assert_eq!(r.int(0), Some(7));
        assert_eq!(r.string(1).as_deref(), Some("/etc/passwd"));
        assert_eq!(r.arg(2), Some(&RawArg::StrList(b"a\0b\0")));
    }

    #[test]
    fn short_and_odd_records_are_errors_not_panics() {
        let bytes = RecordBuilder::new(RecordHdr::default())
            .int(0, 7)
            .str(1, "hello")
            .finish();
        for cut in 0..bytes.len() {
            // every truncation either fails cleanly or (for args_size) reports an overrun
            let _ = Record::parse(&bytes[..cut]);
        }
        // a length field pointing far past the end
        let mut evil = RecordBuilder::new(RecordHdr::default()).finish();
        let hl = std::mem::size_of::<RecordHdr>();
        evil.extend_from_slice(&[1, ARG_STR, 0xff, 0xff, 0xff, 0xff, b'x']);
        let n = (evil.len() - hl) as u32;
        let at = std::mem::offset_of!(RecordHdr, args_size);
        evil[at..at + 4].copy_from_slice(&n.to_ne_bytes());
        assert!(Record::parse(&evil).is_err());
        // unknown kind
        let mut bad = RecordBuilder::new(RecordHdr::default())
            .blob(0, 99, b"x")
            .finish();
        assert!(matches!(
            Record::parse(&bad),
            Err(RecordError::BadKind { kind: 99, .. })
        ));
        bad.truncate(hl - 1);
        assert!(matches!(Record::parse(&bad), Err(RecordError::Short(_))));
    }

    #[test]
    fn c_chars_stops_at_nul_and_is_lossy() {
        let mut comm = [0i8; 16];
        for (i, b) in b"ab\xffc".iter().enumerate() {
            comm[i] = *b as i8;
        }
        assert_eq!(c_chars(&comm), "ab\u{fffd}c");
    }
}
