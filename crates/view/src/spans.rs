//! Byte spans of an event's fields in its raw JSON, for the bytes pane.
//!
//! The event parser does not keep positions, so the detail tree's items are located afterwards:
//! the line is scanned once into *leaves* (every value with its path and byte range), and an
//! item gets the span of the leaf whose path names the same field **and** whose JSON text
//! denotes the item's value. The second condition makes a span exact or absent: an item is
//! never pointed at bytes that do not hold its value (a derived value, such as a flag name
//! decoded from a number, gets none, as Wireshark's generated fields have none).

use osprey_field::{FieldValue, Info};

/// What kind of JSON value a leaf is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A string (the span includes its quotes).
    Str,
    /// A number.
    Num,
    /// `true` or `false`.
    Bool,
    /// `null`.
    Null,
    /// An object or an array.
    Container,
}

/// A JSON value of the line, with where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// Normalized path: keys joined, array positions left out, an argument's `value` named by
    /// its `name` (`args.pathname`), letters lowercased, everything but letters and digits
    /// removed (`argspathname`).
    pub path: String,
    /// The normalized last key.
    pub key: String,
    /// Byte range of the value.
    pub start: usize,
    /// End of the value (exclusive).
    pub end: usize,
    /// Its kind.
    pub kind: Kind,
    /// True for an element of an array (which shares the array's path).
    pub element: bool,
}

/// Nesting beyond this is not scanned (hostile input).
const MAX_DEPTH: usize = 48;

/// Letters and digits of `s`, lowercased.
pub fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Scans a JSON text into leaves. Stops quietly at the first syntax error (what was scanned
/// before is kept).
pub fn scan(json: &[u8]) -> Vec<Leaf> {
    let mut s = Scanner {
        b: json,
        at: 0,
        leaves: Vec::new(),
    };
    s.ws();
    let _ = s.value(String::new(), String::new(), 0, false);
    s.leaves
}

struct Scanner<'a> {
    b: &'a [u8],
    at: usize,
    leaves: Vec<Leaf>,
}

impl Scanner<'_> {
    fn ws(&mut self) {
        while self
            .b
            .get(self.at)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
        {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.b.get(self.at) == Some(&c)).then(|| self.at += 1)
    }

    /// A string's range (quotes included); the cursor ends after it.
    fn string(&mut self) -> Option<(usize, usize)> {
        self.ws();
        let start = self.at;
        if self.b.get(self.at) != Some(&b'"') {
            return None;
        }
        self.at += 1;
        loop {
            match *self.b.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some((start, self.at));
                }
                b'\\' => self.at += 2,
                _ => self.at += 1,
            }
        }
    }

    fn value(&mut self, path: String, key: String, depth: usize, element: bool) -> Option<()> {
        self.ws();
        let start = self.at;
        let kind =
            match *self.b.get(self.at)? {
                b'"' => {
                    self.string()?;
                    Kind::Str
                }
                b'{' if depth < MAX_DEPTH => {
                    self.at += 1;
                    self.object(&path, depth)?;
                    Kind::Container
                }
                b'[' if depth < MAX_DEPTH => {
                    self.at += 1;
                    self.ws();
                    if self.eat(b']').is_none() {
                        loop {
                            self.value(path.clone(), key.clone(), depth + 1, true)?;
                            if self.eat(b',').is_none() {
                                self.eat(b']')?;
                                break;
                            }
                        }
                    }
                    Kind::Container
                }
                b't' | b'f' | b'n' => {
                    let word: &[u8] = match self.b[self.at] {
                        b't' => b"true",
                        b'f' => b"false",
                        _ => b"null",
                    };
                    if !self.b[self.at..].starts_with(word) {
                        return None;
                    }
                    self.at += word.len();
                    if word == b"null" {
                        Kind::Null
                    } else {
                        Kind::Bool
                    }
                }
                b'-' | b'0'..=b'9' => {
                    while self.b.get(self.at).is_some_and(|c| {
                        matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                    }) {
                        self.at += 1;
                    }
                    Kind::Num
                }
                _ => return None,
            };
        self.leaves.push(Leaf {
            path,
            key,
            start,
            end: self.at,
            kind,
            element,
        });
        Some(())
    }

    fn object(&mut self, path: &str, depth: usize) -> Option<()> {
        // An argument object ({"name": N, "type": T, "value": V}): V's leaves are renamed
        // after N once the object is read (the name may come after the value).
        let mut arg_name = None;
        let mut value_leaves = None;
        self.ws();
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            let (ks, ke) = self.string()?;
            let raw_key = unescape(&self.b[ks + 1..ke - 1]);
            self.eat(b':')?;
            let key = normalize(&raw_key);
            let child = format!("{path}{key}");
            let before = self.leaves.len();
            let vstart = {
                self.ws();
                self.at
            };
            self.value(child, key.clone(), depth + 1, false)?;
            if key == "name" && self.b.get(vstart) == Some(&b'"') {
                arg_name = Some(unescape(&self.b[vstart + 1..self.at - 1]));
            }
            if key == "value" {
                value_leaves = Some(before..self.leaves.len());
            }
            if self.eat(b',').is_none() {
                self.eat(b'}')?;
                break;
            }
        }
        if let (Some(name), Some(range)) = (arg_name, value_leaves) {
            let old = format!("{path}value");
            let new_key = normalize(&name);
            let new = format!("{path}{new_key}");
            for leaf in &mut self.leaves[range.clone()] {
                if leaf.path.starts_with(&old) {
                    leaf.path = format!("{new}{}", &leaf.path[old.len()..]);
                }
            }
            // The value itself is the last leaf of its range.
            if let Some(v) = self.leaves[range].last_mut() {
                v.key = new_key;
            }
        }
        Some(())
    }
}

/// The text of a JSON string's contents (escapes resolved; invalid ones kept as written).
pub fn unescape(raw: &[u8]) -> String {
    if !raw.contains(&b'\\') {
        return String::from_utf8_lossy(raw).into_owned();
    }
    let quoted = [b"\"".as_slice(), raw, b"\""].concat();
    serde_json::from_slice::<String>(&quoted)
        .unwrap_or_else(|_| String::from_utf8_lossy(raw).into_owned())
}

/// The normalized path an item's field is found at in the JSON: its abbrev without the
/// protocol (`tracee.`), an argument field without its event name
/// (`tracee.args.openat.pathname` → `args.pathname`).
fn field_path(abbrev: &str) -> Option<String> {
    let rest = abbrev.split_once('.')?.1;
    if let Some(arg) = rest.strip_prefix("args.") {
        let arg = arg.split_once('.').map_or(arg, |(_, a)| a);
        return Some(normalize(&format!("args.{arg}")));
    }
    Some(normalize(rest))
}

/// True when the JSON text of `leaf` in `json` denotes `value`.
fn denotes(json: &[u8], leaf: &Leaf, value: &FieldValue<'_>, info: &Info) -> bool {
    let raw = &json[leaf.start..leaf.end];
    let text = match leaf.kind {
        Kind::Str => unescape(&raw[1..raw.len() - 1]),
        Kind::Num | Kind::Bool => String::from_utf8_lossy(raw).into_owned(),
        Kind::Null | Kind::Container => return false,
    };
    match value {
        FieldValue::None => false,
        FieldValue::Str(s) => leaf.kind == Kind::Str && text == **s,
        FieldValue::Bool(b) => text == if *b { "true" } else { "false" },
        FieldValue::Int(i) => text.parse::<i64>() == Ok(*i),
        FieldValue::UInt(u) => text.parse::<u64>() == Ok(*u),
        FieldValue::AbsTime(ns) => text.parse::<u64>() == Ok(*ns),
        FieldValue::RelTime(ns) => text.parse::<i64>() == Ok(*ns),
        FieldValue::Double(d) => text.parse::<f64>() == Ok(*d),
        FieldValue::Ipv4(_) | FieldValue::Ipv6(_) => {
            leaf.kind == Kind::Str && osprey_field::parse_ip(&text).as_ref() == Some(value)
        }
        FieldValue::Ether(_) | FieldValue::Bytes(_) => {
            let mut plain = String::new();
            value.write_plain(info, &mut plain);
            leaf.kind == Kind::Str && text.eq_ignore_ascii_case(&plain)
        }
    }
}

/// Finds the span of each item: `items` are (abbrev, value, field info) in tree order; the
/// answer is, per item, the byte range of its value in `json`, or `None`.
///
/// A leaf is taken by one item at most, in tree order, so repeated values (a PID in several
/// fields) go to the field whose path names them.
pub fn locate(
    json: &[u8],
    leaves: &[Leaf],
    items: &[(&str, &FieldValue<'_>, &Info)],
) -> Vec<Option<(usize, usize)>> {
    let mut taken = vec![false; leaves.len()];
    items
        .iter()
        .map(|(abbrev, value, info)| {
            let path = field_path(abbrev)?;
            if path.is_empty() {
                return None;
            }
            let is_label = matches!(value, FieldValue::None);
            let pick = |exact: bool, taken: &[bool]| {
                leaves.iter().enumerate().position(|(i, l)| {
                    !taken[i]
                        && if exact {
                            l.path == path
                        } else {
                            l.path.ends_with(&path)
                        }
                        && if is_label {
                            l.kind == Kind::Container && !l.element
                        } else {
                            denotes(json, l, value, info)
                        }
                })
            };
            let i = pick(true, &taken).or_else(|| pick(false, &taken))?;
            taken[i] = true;
            Some((leaves[i].start, leaves[i].end))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_named_after_their_name_wherever_it_sits() {
        let json = br#"{"a":1,"args":[{"value":"/x","name":"path name","type":"s"},{"name":"n","value":{"sin_port":80}}]}"#;
        let leaves = scan(json);
        let find = |p: &str| leaves.iter().find(|l| l.path == p).unwrap();
        let l = find("argspathname");
        assert_eq!(&json[l.start..l.end], br#""/x""#);
        assert_eq!(l.key, "pathname");
        let l = find("argsnsinport");
        assert_eq!(&json[l.start..l.end], b"80");
        assert_eq!(find("a").kind, Kind::Num);
    }

    #[test]
    fn hostile_json_never_panics() {
        for bad in [
            &b"{\"a\":"[..],
            b"{\"a\":\"\\",
            b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            b"{\"a\":tru}",
            b"\xff\xfe",
            b"",
        ] {
            let _ = scan(bad);
        }
        let deep = "[".repeat(100_000);
        let _ = scan(deep.as_bytes());
    }
}
