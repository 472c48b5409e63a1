//! A fast path for the common shape of Tracee JSON: the legacy and flat-context layouts with
//! integer timestamps, plain strings and integer numbers.
//!
//! serde's derived deserializer spends most of its time per key; this hand-written scanner
//! matches Tracee's keys as raw bytes in the order Tracee writes them and scans strings sixteen
//! bytes at a time: 1.0 µs for a 1 KB event where the serde path takes 1.5 µs (BENCHMARKS.md,
//! "Analyzer"), and parsing is half of what `osprey read` does per event.
//!
//! It only ever *accepts* what the serde path accepts, with the same result: whenever it meets
//! anything else — a float, a string timestamp, a duplicate key, invalid JSON — it returns
//! `None` and the caller parses the line with serde, which stays the single definition of what
//! is valid and of every error message. A differential test (and a fuzz target) holds the two
//! to the same results.

use std::borrow::Cow;

use crate::parse::{
    BorrowedStr, RawArg, RawContainer, RawContextFlags, RawEvent, RawExecutable, RawKubernetes,
};
use crate::Value;

/// serde_json refuses nesting deeper than 128; stay below it and let serde decide the rest.
const MAX_DEPTH: usize = 100;

/// Position of the first `"`, `\\` or control character at or after `i`: sixteen bytes at a time
/// with SSE2 (every x86-64 CPU has it), eight at a time (SWAR) elsewhere.
#[inline]
fn find_special(s: &[u8], mut i: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of the x86-64 baseline; every load reads 16 bytes inside `s`
        // (checked by the loop condition), unaligned loads are allowed.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            // bytes below 0x20: (b ^ 0x80) < (0x20 ^ 0x80) as signed bytes
            let flip = _mm_set1_epi8(0x80u8 as i8);
            let limit = _mm_set1_epi8((0x20u8 ^ 0x80) as i8);
            while i + 16 <= s.len() {
                let v = _mm_loadu_si128(s.as_ptr().add(i) as *const __m128i);
                let hits = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                    _mm_cmplt_epi8(_mm_xor_si128(v, flip), limit),
                );
                let mask = _mm_movemask_epi8(hits) as u32;
                if mask != 0 {
                    return Some(i + mask.trailing_zeros() as usize);
                }
                i += 16;
            }
        }
    }
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    #[inline]
    fn zero_byte(v: u64) -> u64 {
        v.wrapping_sub(ONES) & !v & HIGHS
    }
    while i + 8 <= s.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&s[i..i + 8]);
        let w = u64::from_le_bytes(word);
        // Bytes below 0x20, bytes equal to '"' and to '\\'. A borrow can only flag bytes after
        // a real hit, so the lowest flag is exact.
        let hits = (w.wrapping_sub(0x20 * ONES) & !w & HIGHS)
            | zero_byte(w ^ (0x22 * ONES))
            | zero_byte(w ^ (0x5c * ONES));
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    s[i..]
        .iter()
        .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
        .map(|p| i + p)
}

/// Eight bytes of `s` from `at` as a little-endian word, if there are eight.
#[inline]
fn load8(s: &[u8], at: usize) -> Option<u64> {
    let bytes = s.get(at..at.checked_add(8)?)?;
    let mut word = [0u8; 8];
    word.copy_from_slice(bytes);
    Some(u64::from_le_bytes(word))
}

/// How many of the bytes of `chunk`, from the lowest, are ASCII digits before the first one
/// that is not (0 to 8).
#[inline]
fn leading_digits(chunk: u64) -> usize {
    // A byte is a digit when its high nibble is 3 and adding 6 keeps it so. The addition can
    // carry into the next byte only out of a byte that is not a digit, which is after the run.
    let nibbles = (chunk & 0xF0F0_F0F0_F0F0_F0F0)
        | (((chunk.wrapping_add(0x0606_0606_0606_0606)) & 0xF0F0_F0F0_F0F0_F0F0) >> 4);
    ((nibbles ^ 0x3333_3333_3333_3333).trailing_zeros() / 8) as usize
}

/// The value of eight ASCII digits (first digit in the lowest byte), by pairwise combination.
#[inline]
fn parse_eight_digits(chunk: u64) -> u64 {
    let v = chunk - 0x3030_3030_3030_3030;
    let v = (v.wrapping_mul(10) + (v >> 8)) & 0x00FF_00FF_00FF_00FF;
    let v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_FFFF_0000_FFFF;
    (v.wrapping_mul(10_000) + (v >> 32)) & 0xFFFF_FFFF
}

struct Scanner<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

/// `None` means "not taken": parse with serde instead.
type R<T> = Option<T>;

impl<'a> Scanner<'a> {
    #[inline]
    fn ws(&mut self) {
        // Tracee writes no whitespace between tokens: one comparison settles the common case.
        if self.s.get(self.i).is_none_or(|&b| b > b' ') {
            return;
        }
        while let Some(&b) = self.s.get(self.i) {
            if matches!(b, b' ' | b'\n' | b'\t' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    #[inline]
    fn eat(&mut self, c: u8) -> R<()> {
        if self.peek()? == c {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    /// `text[start..stop]`, where both bounds sit at ASCII bytes (quotes, backslashes).
    #[inline]
    fn slice(&self, start: usize, stop: usize) -> &'a str {
        debug_assert!(self.text.is_char_boundary(start) && self.text.is_char_boundary(stop));
        // SAFETY: `text` is valid UTF-8 and `start`/`stop` are positions of ASCII bytes (or the
        // end), which are always character boundaries, with start <= stop <= len.
        unsafe { self.text.get_unchecked(start..stop) }
    }

    /// A string (the opening quote not yet consumed).
    fn string(&mut self) -> R<Cow<'a, str>> {
        if self.s.get(self.i) == Some(&b'"') {
            self.i += 1;
        } else {
            self.eat(b'"')?;
        }
        let start = self.i;
        let stop = find_special(self.s, start)?;
        match self.s[stop] {
            b'"' => {
                self.i = stop + 1;
                return Some(Cow::Borrowed(self.slice(start, stop)));
            }
            b'\\' => {}
            _ => return None, // a raw control character: invalid JSON
        }
        // Escapes: decode into an owned string.
        let mut out = String::with_capacity(stop - start + 16);
        out.push_str(self.slice(start, stop));
        self.i = stop;
        loop {
            let b = *self.s.get(self.i)?;
            match b {
                b'"' => {
                    self.i += 1;
                    return Some(Cow::Owned(out));
                }
                b'\\' => {
                    let e = *self.s.get(self.i + 1)?;
                    self.i += 2;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hex = self.s.get(self.i..self.i + 4)?;
                            let code =
                                u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                            if !hex.iter().all(u8::is_ascii_hexdigit)
                                || (0xD800..0xE000).contains(&code)
                            {
                                return None; // surrogates: leave them to serde
                            }
                            out.push(char::from_u32(code)?);
                            self.i += 4;
                        }
                        _ => return None,
                    }
                }
                0x00..=0x1f => return None,
                _ => {
                    let run_end = find_special(self.s, self.i)?;
                    out.push_str(self.slice(self.i, run_end));
                    self.i = run_end;
                }
            }
        }
    }

    /// An integer: `-?(0|[1-9][0-9]*)` of at most 19 digits, not followed by a fraction or
    /// exponent. Returns (negative, magnitude). Callers have skipped whitespace (`peek`).
    #[inline]
    fn integer(&mut self) -> R<(bool, u64)> {
        let s = self.s;
        let neg = s.get(self.i) == Some(&b'-');
        let start = self.i + neg as usize;
        let mut j = start;
        let mut v: u64 = 0;
        // Long numbers (timestamps, namespace and cgroup IDs) eight digits at a time...
        if let Some(chunk) = load8(s, j).filter(|&c| leading_digits(c) == 8) {
            v = parse_eight_digits(chunk);
            j += 8;
            if let Some(chunk) = load8(s, j).filter(|&c| leading_digits(c) == 8) {
                v = v * 100_000_000 + parse_eight_digits(chunk);
                j += 8;
            }
        }
        // ...the rest one at a time, looking at twenty digits at most: nineteen always fit in
        // a u64, a twentieth is serde's business. (Counting the digits of a short number with
        // a mask instead measured as many more instructions for the same time.)
        let limit = s.len().min(start + 20);
        while j < limit {
            let d = s[j].wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v.wrapping_mul(10).wrapping_add(d as u64);
            j += 1;
        }
        let digits = j - start;
        if digits == 0 || digits > 19 || (digits > 1 && s[start] == b'0') {
            return None;
        }
        if matches!(s.get(j), Some(b'0'..=b'9' | b'.' | b'e' | b'E')) {
            return None;
        }
        if neg && v == 0 {
            return None; // -0: serde's business
        }
        self.i = j;
        Some((neg, v))
    }

    fn literal(&mut self, word: &[u8]) -> R<()> {
        self.ws();
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    /// True (and consumed) when the next value is `null`.
    fn null(&mut self) -> bool {
        self.peek() == Some(b'n') && self.literal(b"null").is_some()
    }

    /// Any JSON value, as the `Value` visitor builds it.
    fn value(&mut self, depth: usize) -> R<Value<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        Some(match self.peek()? {
            b'"' => Value::Str(self.string()?),
            b'{' => {
                self.i += 1;
                let mut pairs = Vec::new();
                if self.peek()? == b'}' {
                    self.i += 1;
                } else {
                    loop {
                        let k = self.string()?;
                        self.eat(b':')?;
                        let v = self.value(depth + 1)?;
                        pairs.push((k, v));
                        match self.peek()? {
                            b',' => self.i += 1,
                            b'}' => {
                                self.i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                Value::Object(pairs)
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                if self.peek()? == b']' {
                    self.i += 1;
                } else {
                    loop {
                        items.push(self.value(depth + 1)?);
                        match self.peek()? {
                            b',' => self.i += 1,
                            b']' => {
                                self.i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                Value::Array(items)
            }
            b't' => {
                self.literal(b"true")?;
                Value::Bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                Value::Bool(false)
            }
            b'n' => {
                self.literal(b"null")?;
                Value::Null
            }
            _ => match self.integer()? {
                (true, v) if v <= i64::MAX as u64 + 1 => Value::Int((v as i64).wrapping_neg()),
                (true, _) => return None,
                (false, v) => match i64::try_from(v) {
                    Ok(i) => Value::Int(i),
                    Err(_) => Value::UInt(v),
                },
            },
        })
    }

    /// A value that is read and dropped (an unknown key), still checked to be valid.
    fn skip(&mut self) -> R<()> {
        self.value(0).map(|_| ())
    }

    /// `int`: a number, a string holding one, or null.
    fn int(&mut self) -> R<Option<i64>> {
        let first = self.peek()?;
        if first == b'n' {
            return self.literal(b"null").map(|_| None);
        }
        if first == b'"' {
            let s = self.string()?;
            let t = s.trim();
            return t
                .parse::<i64>()
                .ok()
                .or_else(|| t.parse::<u64>().ok().map(|u| u as i64))
                .map(Some);
        }
        Some(Some(match self.integer()? {
            (true, v) if v <= i64::MAX as u64 + 1 => (v as i64).wrapping_neg(),
            (true, _) => return None,
            (false, v) => v as i64,
        }))
    }

    /// `uint`: like `int`, refusing negatives (and values above `i64::MAX`, as serde does).
    fn uint(&mut self) -> R<Option<u64>> {
        match self.int()? {
            Some(v) if v >= 0 => Some(Some(v as u64)),
            Some(_) => None,
            None => Some(None),
        }
    }

    /// A timestamp in its common form: integer nanoseconds, or null.
    fn timestamp(&mut self) -> R<Option<u64>> {
        if self.null() {
            return Some(None);
        }
        match self.integer()? {
            (false, v) => Some(Some(v)),
            (true, _) => None,
        }
    }

    fn opt_str(&mut self) -> R<Option<Cow<'a, str>>> {
        if self.null() {
            return Some(None);
        }
        self.string().map(Some)
    }

    fn opt_bool(&mut self) -> R<Option<bool>> {
        match self.peek()? {
            b't' => self.literal(b"true").map(|_| Some(true)),
            b'f' => self.literal(b"false").map(|_| Some(false)),
            b'n' => self.literal(b"null").map(|_| None),
            _ => None,
        }
    }

    fn opt_value(&mut self) -> R<Option<Value<'a>>> {
        if self.null() {
            return Some(None);
        }
        self.value(1).map(Some)
    }

    /// Iterates an object's keys, calling `f` with the index of each key `keys` knows (the
    /// scanner is then at the value), skipping the values of other keys, and rejecting
    /// duplicates among the known ones.
    ///
    /// Tracee writes keys in a fixed order, so the next key is first looked for, as raw bytes
    /// (`"name":`), among the next few of `keys.order`: a match costs one short comparison
    /// instead of scanning and matching a string. Anything else (escapes, whitespace, another
    /// order) goes the general way.
    fn object(&mut self, keys: &Keys, mut f: impl FnMut(&mut Self, u32) -> R<()>) -> R<()> {
        self.eat(b'{')?;
        let mut seen: u64 = 0;
        let mut next = 0;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            let rest = &self.s[self.i..];
            let ahead = keys.order.get(next..).unwrap_or(&[]);
            let predicted = match ahead.first() {
                // the very next key in Tracee's order: nearly always
                Some(&(pattern, index)) if starts_with(rest, pattern) => Some((pattern, index, 1)),
                _ => ahead
                    .iter()
                    .take(PREDICT_AHEAD)
                    .enumerate()
                    .skip(1)
                    .find(|(_, (pattern, _))| starts_with(rest, pattern))
                    .map(|(p, &(pattern, index))| (pattern, index, p + 1)),
            };
            let index = match predicted {
                Some((pattern, index, skipped)) => {
                    self.i += pattern.len();
                    next += skipped;
                    Some(index)
                }
                None => {
                    let key = self.string()?;
                    self.eat(b':')?;
                    (keys.index)(&key)
                }
            };
            match index {
                Some(index) => {
                    let bit = 1u64 << index;
                    if seen & bit != 0 {
                        return None; // duplicate field: serde reports it
                    }
                    seen |= bit;
                    f(self, index)?;
                }
                None => self.skip()?,
            }
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn executable(&mut self) -> R<Option<RawExecutable<'a>>> {
        if self.null() {
            return Some(None);
        }
        let mut e = RawExecutable::default();
        self.object(&EXECUTABLE_KEYS, |s, _| {
            e.path = s.opt_str()?;
            Some(())
        })?;
        Some(Some(e))
    }

    fn container(&mut self) -> R<Option<RawContainer<'a>>> {
        if self.null() {
            return Some(None);
        }
        let mut c = RawContainer::default();
        self.object(&CONTAINER_KEYS, |s, index| {
            let slot = match index {
                0 => &mut c.id,
                1 => &mut c.name,
                2 => &mut c.image,
                _ => &mut c.image_digest,
            };
            *slot = s.opt_str()?;
            Some(())
        })?;
        Some(Some(c))
    }

    fn kubernetes(&mut self) -> R<Option<RawKubernetes<'a>>> {
        if self.null() {
            return Some(None);
        }
        let mut k8s = RawKubernetes::default();
        self.object(&KUBERNETES_KEYS, |s, index| {
            match index {
                0 => k8s.pod_name = s.opt_str()?,
                1 => k8s.pod_namespace = s.opt_str()?,
                2 => k8s.pod_uid = s.opt_str()?,
                _ => k8s.pod_sandbox = s.opt_bool()?,
            }
            Some(())
        })?;
        Some(Some(k8s))
    }

    fn context_flags(&mut self) -> R<Option<RawContextFlags>> {
        if self.null() {
            return Some(None);
        }
        let mut f = RawContextFlags::default();
        self.object(&CONTEXT_FLAGS_KEYS, |s, index| {
            match index {
                0 => f.container_started = s.opt_bool()?,
                _ => f.is_compat = s.opt_bool()?,
            }
            Some(())
        })?;
        Some(Some(f))
    }

    fn array<T>(&mut self, mut item: impl FnMut(&mut Self) -> R<T>) -> R<Option<Vec<T>>> {
        if self.null() {
            return Some(None);
        }
        self.eat(b'[')?;
        let mut out = Vec::with_capacity(8);
        if self.peek()? == b']' {
            self.i += 1;
            return Some(Some(out));
        }
        loop {
            out.push(item(self)?);
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(Some(out));
                }
                _ => return None,
            }
        }
    }

    fn arg(&mut self) -> R<RawArg<'a>> {
        let mut arg = RawArg {
            name: None,
            ty: None,
            value: Value::Null,
        };
        self.object(&ARG_KEYS, |s, index| {
            match index {
                0 => arg.name = s.opt_str()?,
                1 => arg.ty = s.opt_str()?,
                _ => arg.value = s.value(2)?,
            }
            Some(())
        })?;
        Some(arg)
    }
}

/// `haystack.starts_with(prefix)` for short prefixes, eight bytes at a time and inline (the
/// library's version calls `memcmp`, which costs more than the comparison for a 10-byte key).
#[inline]
fn starts_with(haystack: &[u8], prefix: &[u8]) -> bool {
    if haystack.len() < prefix.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let mut i = 0;
    while i + 8 <= prefix.len() {
        if word(haystack, i) != word(prefix, i) {
            return false;
        }
        i += 8;
    }
    if i < prefix.len() {
        // the last (overlapping) eight bytes
        if prefix.len() >= 8 {
            let at = prefix.len() - 8;
            return word(haystack, at) == word(prefix, at);
        }
        // a short prefix (`"name":`) against the first eight bytes, masked
        if haystack.len() >= 8 {
            let mut p = [0u8; 8];
            p[..prefix.len()].copy_from_slice(prefix);
            let mask = u64::MAX >> (8 * (8 - prefix.len()));
            return word(haystack, 0) & mask == u64::from_le_bytes(p);
        }
        return haystack[..prefix.len()] == *prefix;
    }
    true
}

/// How far ahead in [`Keys::order`] the next key is looked for: optional keys may be missing.
const PREDICT_AHEAD: usize = 3;

/// The keys of one kind of object.
struct Keys {
    /// The keys in the order Tracee writes them, as raw bytes with quotes and colon, and their
    /// index.
    order: &'static [(&'static [u8], u32)],
    /// The index of a key (its duplicate-check bit), or `None` for a key the caller ignores.
    index: fn(&str) -> Option<u32>,
}

/// Top-level keys in the legacy layout's order (`Event::write_legacy_json`, Tracee v0.2x).
static EVENT_KEYS: Keys = Keys {
    order: &[
        (b"\"timestamp\":", 0),
        (b"\"threadStartTime\":", 1),
        (b"\"processorId\":", 2),
        (b"\"processId\":", 3),
        (b"\"cgroupId\":", 12),
        (b"\"threadId\":", 4),
        (b"\"parentProcessId\":", 5),
        (b"\"hostProcessId\":", 6),
        (b"\"hostThreadId\":", 7),
        (b"\"hostParentProcessId\":", 8),
        (b"\"userId\":", 9),
        (b"\"mountNamespace\":", 10),
        (b"\"pidNamespace\":", 11),
        (b"\"processName\":", 13),
        (b"\"executable\":", 14),
        (b"\"hostName\":", 15),
        (b"\"containerId\":", 16),
        (b"\"container\":", 24),
        (b"\"kubernetes\":", 25),
        (b"\"eventId\":", 26),
        (b"\"eventName\":", 27),
        (b"\"matchedPolicies\":", 28),
        (b"\"argsNum\":", 29),
        (b"\"returnValue\":", 30),
        (b"\"syscall\":", 31),
        (b"\"stackAddresses\":", 32),
        (b"\"contextFlags\":", 33),
        (b"\"threadEntityId\":", 34),
        (b"\"processEntityId\":", 35),
        (b"\"parentEntityId\":", 36),
        (b"\"args\":", 37),
        (b"\"metadata\":", 38),
    ],
    index: key_index,
};

static ARG_KEYS: Keys = Keys {
    order: &[(b"\"name\":", 0), (b"\"type\":", 1), (b"\"value\":", 2)],
    index: |k| match k {
        "name" => Some(0),
        "type" => Some(1),
        "value" => Some(2),
        _ => None,
    },
};

static EXECUTABLE_KEYS: Keys = Keys {
    order: &[(b"\"path\":", 0)],
    index: |k| (k == "path").then_some(0),
};

static CONTAINER_KEYS: Keys = Keys {
    order: &[
        (b"\"id\":", 0),
        (b"\"name\":", 1),
        (b"\"image\":", 2),
        (b"\"imageDigest\":", 3),
    ],
    index: |k| match k {
        "id" => Some(0),
        "name" => Some(1),
        "image" => Some(2),
        "imageDigest" => Some(3),
        _ => None,
    },
};

static KUBERNETES_KEYS: Keys = Keys {
    order: &[
        (b"\"podName\":", 0),
        (b"\"podNamespace\":", 1),
        (b"\"podUID\":", 2),
        (b"\"podSandbox\":", 3),
    ],
    index: |k| match k {
        "podName" => Some(0),
        "podNamespace" => Some(1),
        "podUID" => Some(2),
        "podSandbox" => Some(3),
        _ => None,
    },
};

static CONTEXT_FLAGS_KEYS: Keys = Keys {
    order: &[(b"\"containerStarted\":", 0), (b"\"isCompat\":", 1)],
    index: |k| match k {
        "containerStarted" => Some(0),
        "isCompat" => Some(1),
        _ => None,
    },
};

/// The index of a known top-level key (its duplicate-check bit), by length first so that a key
/// costs one or two comparisons.
fn key_index(key: &str) -> Option<u32> {
    Some(match key.len() {
        2 => match key {
            "id" => 39,
            _ => return None,
        },
        4 => match key {
            "args" => 37,
            "name" => 40,
            "data" => 43,
            _ => return None,
        },
        6 => match key {
            "userId" => 9,
            "podUID" => 22,
            "threat" => 44,
            _ => return None,
        },
        7 => match key {
            "podName" => 20,
            "eventId" => 26,
            "argsNum" => 29,
            "syscall" => 31,
            _ => return None,
        },
        8 => match key {
            "threadId" => 4,
            "cgroupId" => 12,
            "hostName" => 15,
            "metadata" => 38,
            "policies" => 41,
            "workload" => 42,
            _ => return None,
        },
        9 => match key {
            "timestamp" => 0,
            "processId" => 3,
            "container" => 24,
            "eventName" => 27,
            _ => return None,
        },
        10 => match key {
            "executable" => 14,
            "podSandbox" => 23,
            "kubernetes" => 25,
            _ => return None,
        },
        11 => match key {
            "processorId" => 2,
            "processName" => 13,
            "containerId" => 16,
            "returnValue" => 30,
            _ => return None,
        },
        12 => match key {
            "hostThreadId" => 7,
            "pidNamespace" => 11,
            "podNamespace" => 21,
            "contextFlags" => 33,
            "detectedFrom" => 45,
            _ => return None,
        },
        13 => match key {
            "hostProcessId" => 6,
            "containerName" => 17,
            "detected_from" => 45,
            _ => return None,
        },
        14 => match key {
            "mountNamespace" => 10,
            "containerImage" => 18,
            "stackAddresses" => 32,
            "threadEntityId" => 34,
            "parentEntityId" => 36,
            _ => return None,
        },
        15 => match key {
            "threadStartTime" => 1,
            "parentProcessId" => 5,
            "matchedPolicies" => 28,
            "processEntityId" => 35,
            _ => return None,
        },
        19 => match key {
            "hostParentProcessId" => 8,
            _ => return None,
        },
        20 => match key {
            "containerImageDigest" => 19,
            _ => return None,
        },
        _ => return None,
    })
}

/// Parses `text` into the raw event, or `None` when it is not the common shape (or not valid).
pub(crate) fn parse(text: &str) -> Option<RawEvent<'_>> {
    let mut s = Scanner {
        s: text.as_bytes(),
        text,
        i: 0,
    };
    let mut e = RawEvent::default();
    s.object(
        &EVENT_KEYS,
        // Inlined into the key loop: a call per key cost 400 instructions per event.
        #[inline(always)]
        |s, index| {
            match index {
                0 => {
                    e.timestamp = s.timestamp()?;
                }
                1 => {
                    e.thread_start_time = s.timestamp()?;
                }
                2 => {
                    e.processor_id = s.int()?;
                }
                3 => {
                    e.process_id = s.int()?;
                }
                4 => {
                    e.thread_id = s.int()?;
                }
                5 => {
                    e.parent_process_id = s.int()?;
                }
                6 => {
                    e.host_process_id = s.int()?;
                }
                7 => {
                    e.host_thread_id = s.int()?;
                }
                8 => {
                    e.host_parent_process_id = s.int()?;
                }
                9 => {
                    e.user_id = s.int()?;
                }
                10 => {
                    e.mount_namespace = s.uint()?;
                }
                11 => {
                    e.pid_namespace = s.uint()?;
                }
                12 => {
                    e.cgroup_id = s.uint()?;
                }
                13 => {
                    e.process_name = s.opt_str()?;
                }
                14 => {
                    e.executable = s.executable()?;
                }
                15 => {
                    e.host_name = s.opt_str()?;
                }
                16 => {
                    e.container_id = s.opt_str()?;
                }
                17 => {
                    e.container_name = s.opt_str()?;
                }
                18 => {
                    e.container_image = s.opt_str()?;
                }
                19 => {
                    e.container_image_digest = s.opt_str()?;
                }
                20 => {
                    e.pod_name = s.opt_str()?;
                }
                21 => {
                    e.pod_namespace = s.opt_str()?;
                }
                22 => {
                    e.pod_uid = s.opt_str()?;
                }
                23 => {
                    e.pod_sandbox = s.opt_bool()?;
                }
                24 => {
                    e.container = s.container()?;
                }
                25 => {
                    e.kubernetes = s.kubernetes()?;
                }
                26 => {
                    e.event_id = s.int()?;
                }
                27 => {
                    e.event_name = s.opt_str()?;
                }
                28 => {
                    e.matched_policies = s.array(|s| s.string().map(BorrowedStr))?;
                }
                29 => {
                    e.args_num = s.int()?;
                }
                30 => {
                    e.return_value = s.int()?;
                }
                31 => {
                    e.syscall = s.opt_str()?;
                }
                32 => {
                    e.stack_addresses = s.array(|s| s.value(2))?;
                }
                33 => {
                    e.context_flags = s.context_flags()?;
                }
                34 => {
                    e.thread_entity_id = s.uint()?;
                }
                35 => {
                    e.process_entity_id = s.uint()?;
                }
                36 => {
                    e.parent_entity_id = s.uint()?;
                }
                37 => {
                    e.args = s.array(Scanner::arg)?;
                }
                38 => {
                    e.metadata = s.opt_value()?;
                }
                39 => {
                    e.id = s.opt_value()?;
                }
                40 => {
                    e.name = s.opt_str()?;
                }
                41 => {
                    e.policies = s.opt_value()?;
                }
                42 => {
                    e.workload = s.opt_value()?;
                }
                43 => {
                    e.data = s.opt_value()?;
                }
                44 => {
                    e.threat = s.opt_value()?;
                }
                45 => {
                    e.detected_from = s.opt_value()?;
                }
                _ => return None,
            }
            Some(())
        },
    )?;
    s.ws();
    (s.i == s.s.len()).then_some(e)
}

#[cfg(test)]
mod tests {
    use crate::{parse_event, parse_event_reference};

    #[test]
    fn find_special_agrees_with_a_plain_scan() {
        let mut text: Vec<u8> = (0u8..=255).cycle().take(700).collect();
        text.extend_from_slice(b"plain text without anything special, long enough for blocks");
        for start in 0..text.len() {
            let plain = text[start..]
                .iter()
                .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
                .map(|p| start + p);
            assert_eq!(super::find_special(&text, start), plain, "from {start}");
        }
    }

    #[test]
    fn starts_with_agrees_with_the_library() {
        let hay = b"\"threadStartTime\":17,\"id\":";
        for len in 0..=hay.len() {
            for prefix in [
                &hay[..len],
                b"\"threadStartTimf\":".as_slice(),
                b"\"thr",
                b"x",
            ] {
                assert_eq!(
                    super::starts_with(hay, prefix),
                    hay.starts_with(prefix),
                    "{prefix:?}"
                );
                assert_eq!(
                    super::starts_with(&hay[..len], prefix),
                    hay[..len].starts_with(prefix)
                );
            }
        }
    }

    #[test]
    fn digit_blocks() {
        for text in ["00000000", "12345678", "99999999", "40000001"] {
            let chunk = u64::from_le_bytes(text.as_bytes().try_into().unwrap());
            assert_eq!(super::leading_digits(chunk), 8);
            assert_eq!(
                super::parse_eight_digits(chunk),
                text.parse::<u64>().unwrap()
            );
        }
        // Every byte value after every run length: the count stops at the first non-digit.
        for run in 0..8 {
            for b in 0..=255u8 {
                let mut bytes = *b"98765432";
                bytes[run] = b;
                // bytes after the first non-digit may be anything, carries included
                bytes[(run + 1).min(7)..].fill(0xff);
                let expect = bytes.iter().take_while(|c| c.is_ascii_digit()).count();
                let chunk = u64::from_le_bytes(bytes);
                assert_eq!(super::leading_digits(chunk), expect, "{bytes:?}");
            }
        }
        for text in ["1234567a", "/1234567", ":1234567", "123 4567"] {
            let chunk = u64::from_le_bytes(text.as_bytes().try_into().unwrap());
            assert!(super::leading_digits(chunk) < 8, "{text}");
        }
        for n in [
            0u64,
            7,
            12345678,
            123456789012345678,
            1234567890123456789,
            18446744073709551615,
        ] {
            let line = format!(r#"{{"timestamp":{n},"eventName":"x"}}"#);
            assert_eq!(
                parse_event(line.as_bytes()),
                parse_event_reference(line.as_bytes()),
                "{n}"
            );
        }
    }

    fn fixture_lines() -> Vec<Vec<u8>> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/tracee");
        let mut lines = Vec::new();
        let mut files = vec![
            format!("{dir}/tracee-docs-v0.23.jsonl"),
            format!("{dir}/tracee-action-trace.jsonl"),
        ];
        for e in std::fs::read_dir(format!("{dir}/examples")).unwrap() {
            files.push(e.unwrap().path().display().to_string());
        }
        for f in files {
            for l in std::fs::read(&f).unwrap().split(|&b| b == b'\n') {
                if !l.is_empty() {
                    lines.push(l.to_vec());
                }
            }
        }
        lines
    }

    /// The fast path takes the common shape, and gives exactly serde's result.
    #[test]
    fn agrees_with_serde_on_every_fixture() {
        let mut taken = 0;
        for line in fixture_lines() {
            let text = std::str::from_utf8(&line).unwrap();
            if super::parse(text).is_some() {
                taken += 1;
            }
            assert_eq!(parse_event(&line), parse_event_reference(&line), "{text}");
        }
        assert!(
            taken >= 100,
            "the fast path should take the legacy fixtures, took {taken}"
        );
    }

    /// Odd but valid shapes and invalid ones: the same result either way.
    #[test]
    fn agrees_with_serde_on_edge_cases() {
        let cases: &[&str] = &[
            r#"{"timestamp":1,"eventName":"a\"b\\c\/d\u00e9\n","eventId":"7"}"#,
            r#"{"timestamp":1,"eventName":"x","eventId":7,"eventId":8}"#,
            r#"{"timestamp":1.5,"eventName":"x"}"#,
            r#"{"timestamp":-1,"eventName":"x"}"#,
            r#"{"timestamp":"2024-01-01T00:00:00Z","eventName":"x"}"#,
            r#"{"timestamp":1,"eventName":"x","cgroupId":18446744073709551615}"#,
            r#"{"timestamp":1,"eventName":"x","cgroupId":9223372036854775808}"#,
            r#"{"timestamp":1,"eventName":"x","processId":-9223372036854775808}"#,
            r#"{"timestamp":1,"eventName":"x","args":[{"name":"a","type":"int","value":-0}]}"#,
            r#"{"timestamp":1,"eventName":"x","args":[{"name":"a","value":[1,2.5,{"k":null}]}]}"#,
            r#"{"timestamp":1,"eventName":"x","args":[{"name":"a","value":18446744073709551615}]}"#,
            r#"{"timestamp":1,"eventName":"x","args":[{"name":"a","value":"\ud83d\ude00"}]}"#,
            r#"{"timestamp":1,"eventName":"x","args":[{"name":"a","value":"\ud83d"}]}"#,
            r#"{"timestamp":1,"eventName":"x","args":[{"name":"a","value":"tab	raw"}]}"#,
            r#"{"timestamp":1,"eventName":"x"} trailing"#,
            r#"{"timestamp":1,"eventName":"x",}"#,
            r#"{"timestamp":1,"eventName":"x","unknown":{"deep":[1,{"a":[]}]}}"#,
            r#"{"timestamp":1,"eventName":"x","detectedFrom":{"id":1},"detected_from":{"id":2}}"#,
            r#" { "timestamp" : 1 , "eventName" : "x" , "executable" : null , "container" : { } } "#,
            r#"{"timestamp":1,"eventName":"x","processName":5}"#,
            r#"{"timestamp":1,"eventName":"x","eventId":"12a"}"#,
            r#"{"timestamp":01,"eventName":"x"}"#,
            r#"{"timestamp":1,"eventName":"x","matchedPolicies":["a",null]}"#,
            r#"{"timestamp":1,"eventName":"x","contextFlags":{"isCompat":1}}"#,
            r#"{"timestamp":1,"eventName":"x","args":null,"metadata":null}"#,
            r#"{"timestamp":1,"eventName":"\u0041\u00"}"#,
            r#"{"timestamp":1,"eventName":"\u+041"}"#,
        ];
        for c in cases {
            assert_eq!(
                parse_event(c.as_bytes()),
                parse_event_reference(c.as_bytes()),
                "{c}"
            );
        }
    }

    /// Seeded mutations of the fixtures: whatever comes out, both paths agree.
    #[test]
    fn agrees_with_serde_on_mutations() {
        let lines = fixture_lines();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"{}[]\",:\\0123456789-.eEtrufalsn \x01u";
        for _ in 0..20_000 {
            let mut line = lines[(next() as usize) % lines.len()].clone();
            for _ in 0..1 + next() % 3 {
                let at = (next() as usize) % line.len();
                match next() % 3 {
                    0 => line[at] = alphabet[(next() as usize) % alphabet.len()],
                    1 => {
                        line.remove(at);
                    }
                    _ => line.insert(at, alphabet[(next() as usize) % alphabet.len()]),
                }
            }
            assert_eq!(
                parse_event(&line),
                parse_event_reference(&line),
                "{}",
                String::from_utf8_lossy(&line)
            );
        }
    }
}
