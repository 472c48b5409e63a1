//! `-T fields -e FIELD ...`: selected field values, tab-separated, like tshark.

use osprey_dissect::Tree;
use osprey_field::{registry, FieldId};

/// Which occurrences of a multi-valued field to print (`-E occurrence=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Occurrence {
    /// All of them (`a`).
    All,
    /// The first (`f`).
    First,
    /// The last (`l`).
    Last,
    /// The n-th, 1-based.
    Nth(usize),
}

/// Quoting of values (`-E quote=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quote {
    /// No quotes (`n`).
    None,
    /// `"value"` (`d`).
    Double,
    /// `'value'` (`s`).
    Single,
}

/// The `-E` options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldsFormat {
    /// Print a header line with the field names (`header=y`).
    pub header: bool,
    /// Between fields (`separator=`; `/t` tab, `/s` space).
    pub separator: String,
    /// Which values of a multi-valued field.
    pub occurrence: Occurrence,
    /// Between values of one field (`aggregator=`; default `,`).
    pub aggregator: String,
    /// Quoting.
    pub quote: Quote,
}

impl Default for FieldsFormat {
    fn default() -> Self {
        FieldsFormat {
            header: false,
            separator: "\t".into(),
            occurrence: Occurrence::All,
            aggregator: ",".into(),
            quote: Quote::None,
        }
    }
}

fn unslash(v: &str) -> String {
    match v {
        "/t" => "\t".into(),
        "/s" => " ".into(),
        other => other.into(),
    }
}

impl FieldsFormat {
    /// Applies one `-E name=value` option.
    pub fn set(&mut self, option: &str) -> Result<(), String> {
        let (name, value) = option
            .split_once('=')
            .ok_or_else(|| format!("-E {option}: expected name=value"))?;
        match name {
            "header" => self.header = matches!(value, "y" | "Y" | "yes" | "1" | "true"),
            "separator" => self.separator = unslash(value),
            "aggregator" => self.aggregator = unslash(value),
            "occurrence" => {
                self.occurrence = match value {
                    "a" => Occurrence::All,
                    "f" => Occurrence::First,
                    "l" => Occurrence::Last,
                    n => match n.parse::<usize>() {
                        Ok(i) if i > 0 => Occurrence::Nth(i),
                        _ => {
                            return Err(format!(
                                "-E occurrence={value}: expected a, f, l or a positive number"
                            ))
                        }
                    },
                }
            }
            "quote" => {
                self.quote = match value {
                    "d" => Quote::Double,
                    "s" => Quote::Single,
                    "n" => Quote::None,
                    _ => return Err(format!("-E quote={value}: expected d, s or n")),
                }
            }
            "bom" | "escape" => {}
            _ => {
                return Err(format!(
                    "-E {name}: unknown option (header, separator, occurrence, aggregator, quote)"
                ))
            }
        }
        Ok(())
    }

    /// Appends the header line.
    pub fn write_header(&self, out: &mut Vec<u8>, names: &[String]) {
        out.extend_from_slice(names.join(&self.separator).as_bytes());
        out.push(b'\n');
    }

    /// Appends one row: the values of `fields` in `tree`.
    pub fn write_row(&self, out: &mut Vec<u8>, tree: &Tree<'_>, fields: &[FieldId]) {
        let mut line = String::new();
        for (i, &field) in fields.iter().enumerate() {
            if i > 0 {
                line.push_str(&self.separator);
            }
            let info = registry().info(field);
            let values: Vec<String> = tree
                .values(field)
                .map(|v| {
                    let mut s = String::new();
                    v.write_plain(&info, &mut s);
                    escape(&s)
                })
                .collect();
            let chosen: Vec<&String> = match self.occurrence {
                Occurrence::All => values.iter().collect(),
                Occurrence::First => values.first().into_iter().collect(),
                Occurrence::Last => values.last().into_iter().collect(),
                Occurrence::Nth(n) => values.get(n - 1).into_iter().collect(),
            };
            if chosen.is_empty() {
                continue;
            }
            let q = match self.quote {
                Quote::None => "",
                Quote::Double => "\"",
                Quote::Single => "'",
            };
            line.push_str(q);
            for (j, v) in chosen.iter().enumerate() {
                if j > 0 {
                    line.push_str(&self.aggregator);
                }
                line.push_str(v);
            }
            line.push_str(q);
        }
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
}

/// Control characters as tshark writes them in field output: `\a \b \f \n \r \t \v`, the
/// other C0 controls and DEL as three octal digits (`\001`, `\177`).
fn escape(s: &str) -> String {
    if !s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\{:03o}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_like_tshark() {
        let mut f = FieldsFormat::default();
        f.set("header=y").unwrap();
        f.set("separator=,").unwrap();
        f.set("occurrence=f").unwrap();
        f.set("aggregator=/s").unwrap();
        f.set("quote=d").unwrap();
        assert!(f.header);
        assert_eq!(f.separator, ",");
        assert_eq!(f.occurrence, Occurrence::First);
        assert_eq!(f.aggregator, " ");
        assert_eq!(f.quote, Quote::Double);
        assert!(f.set("occurrence=0").is_err());
        assert!(f.set("colour=red").is_err());
        assert!(f.set("header").is_err());
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("Host: x\r\n"), "Host: x\\r\\n");
        assert_eq!(escape("a\x01b\x7f\x07"), "a\\001b\\177\\a");
        assert_eq!(escape("plain"), "plain");
    }
}
