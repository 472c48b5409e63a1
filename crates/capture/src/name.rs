//! The one sanitiser for every file name built from traced data (comm, paths, container IDs).
//!
//! A name made here is a single path component that cannot leave the directory it is created
//! in: no `/`, no NUL or control characters, never `.` or `..` (nor any leading dot), only a
//! conservative set of ASCII characters, and at most [`MAX_NAME`] bytes — a longer or altered
//! name keeps a hash of the original bytes so that distinct long names stay distinct.
//! [`crate::outdir::OutDir`] then creates it relative to a directory it holds open, refusing
//! symbolic links.

use sha2::{Digest, Sha256};

/// Longest component made from traced data.
pub const MAX_NAME: usize = 200;

fn keep(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'.' | b'_' | b'-' | b'+' | b'@' | b'=' | b',' | b':' | b'~' | b'%'
        )
}

/// Hex of the first `n` bytes of SHA-256 of `data`.
pub fn short_hash(data: &[u8], n: usize) -> String {
    hex(&Sha256::digest(data)[..n])
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(D[(b >> 4) as usize] as char);
        s.push(D[(b & 15) as usize] as char);
    }
    s
}

/// A safe single path component from untrusted bytes. `/` becomes `_` (as Tracee does for a
/// comm), every other byte outside the kept set becomes `_`, a leading `.` becomes `_`, and a
/// name longer than [`MAX_NAME`] is cut and given `~` plus 16 hex digits of its hash.
pub fn component(raw: &[u8]) -> String {
    // no two dots in a row either, so no component ever reads as `..` to a careless script
    let mut s = String::with_capacity(raw.len());
    let mut prev_dot = false;
    for &b in raw {
        let c = if !keep(b) || (b == b'.' && prev_dot) {
            '_'
        } else {
            b as char
        };
        prev_dot = c == '.';
        s.push(c);
    }
    if s.is_empty() {
        s.push('_');
    }
    if s.starts_with('.') {
        s.replace_range(0..1, "_");
    }
    if s.len() > MAX_NAME {
        s.truncate(MAX_NAME - 17);
        s.push('~');
        s.push_str(&short_hash(raw, 8));
    }
    debug_assert!(is_safe_component(&s));
    s
}

/// The directory of a container's artifacts: its ID, or `host`.
pub fn container_dir(container_id: &str) -> String {
    if container_id.is_empty() {
        "host".to_string()
    } else {
        component(container_id.as_bytes())
    }
}

/// The short form pcap names use: the first 11 characters of the ID, or `host`.
pub fn short_container(container_id: &str) -> String {
    if container_id.is_empty() {
        "host".to_string()
    } else {
        let cut: String = container_id.chars().take(11).collect();
        component(cut.as_bytes())
    }
}

/// The last component of a path (for `exec.<ns>.<basename>`), made safe.
pub fn basename(path: &str) -> String {
    let base = path.rsplit('/').find(|p| !p.is_empty()).unwrap_or("");
    component(base.as_bytes())
}

/// True for a name [`component`] could have made: checked again right before every creation.
pub fn is_safe_component(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && !s.starts_with('.')
        && !s.contains("..")
        && s.bytes().all(keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_stay_one_safe_component() {
        let long = vec![b'a'; 4096];
        let long_slashes = "../".repeat(1400);
        let cases: Vec<&[u8]> = vec![
            b"../../etc/passwd",
            b"..",
            b".",
            b"",
            b"/",
            b"a/b",
            b"evil\0name",
            b"line\nbreak\r",
            b"\x1b[2Jterm",
            b".hidden",
            "caf\u{e9}\u{202e}txt".as_bytes(),
            &long,
            long_slashes.as_bytes(),
            b"\xff\xfe",
        ];
        for raw in cases {
            let c = component(raw);
            assert!(is_safe_component(&c), "{raw:?} -> {c}");
            assert!(!c.contains('/') && !c.contains("..") && c != ".", "{c}");
            assert!(c.len() <= MAX_NAME);
            let joined = std::path::Path::new("/out/host").join(&c);
            assert_eq!(joined.parent(), Some(std::path::Path::new("/out/host")));
        }
        assert_eq!(component(b"a/b"), "a_b");
        assert_eq!(component(b"python3"), "python3");
        assert_eq!(component(b".."), "__");
        assert_eq!(component(b"a..b...c"), "a._b._.c");
        // long names keep a hash so they stay distinct
        let mut other = long.clone();
        other[4000] = b'b';
        assert_ne!(component(&long), component(&other));
    }

    #[test]
    fn container_and_base_names() {
        assert_eq!(container_dir(""), "host");
        let cid = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(container_dir(cid), cid);
        assert_eq!(short_container(cid), "0123456789a");
        assert_eq!(container_dir("../../x"), "___.__x");
        assert_eq!(basename("/usr/bin/ls"), "ls");
        assert_eq!(basename("memfd:payload"), "memfd:payload");
        assert_eq!(basename("/"), "_");
        assert_eq!(basename("/tmp/../.."), "__");
    }
}
