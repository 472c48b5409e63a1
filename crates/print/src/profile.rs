//! The configuration profile: columns, preferences, filter macros, buttons, prepared filters
//! and coloring rules, as one TOML file (`profiles/tracee.toml` is bundled; users copy it with
//! `osprey read -G profile` and load their own with `-C FILE`).

use std::collections::BTreeMap;
use std::path::Path;

use osprey_dissect::Preferences;
use osprey_field::{registry, FieldId};
use osprey_filter::{Filter, Macros};
use serde::Deserialize;

/// The bundled "Tracee" profile.
pub const BUNDLED: &str = include_str!("../profiles/tracee.toml");

/// A column: a title and the field whose values it shows.
#[derive(Clone, Debug)]
pub struct Column {
    /// Heading.
    pub title: String,
    /// The field shown.
    pub field: FieldId,
    /// Its declaration (looked up once: the text view reads it for every frame).
    pub info: osprey_field::Info,
    /// Right-aligned (numbers) or left-aligned.
    pub right: bool,
    /// Padding width in text output (0: none).
    pub width: usize,
}

/// An RGB color.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Parses `#rrggbb`, `black` or `white`.
    pub fn parse(s: &str) -> Option<Rgb> {
        match s.trim().to_ascii_lowercase().as_str() {
            "black" => return Some(Rgb(0, 0, 0)),
            "white" => return Some(Rgb(255, 255, 255)),
            _ => {}
        }
        let hex = s.trim().strip_prefix('#')?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let v = u32::from_str_radix(hex, 16).ok()?;
        Some(Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8))
    }

    /// `#rrggbb`.
    pub fn to_hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// A coloring rule.
#[derive(Debug)]
pub struct ColorRule {
    /// Its name.
    pub name: String,
    /// The frames it colors.
    pub filter: Filter,
    /// Text color.
    pub foreground: Rgb,
    /// Background color.
    pub background: Rgb,
}

/// A named filter (a button or a prepared filter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedFilter {
    /// The button label or bookmark name.
    pub label: String,
    /// The filter text (it may use macros).
    pub filter: String,
}

/// A loaded profile.
#[derive(Debug)]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// Preferences.
    pub preferences: Preferences,
    /// Columns, in order.
    pub columns: Vec<Column>,
    /// Display-filter macros.
    pub macros: Macros,
    /// The macro bodies by name, as written.
    pub macro_bodies: BTreeMap<String, String>,
    /// Filter buttons.
    pub buttons: Vec<NamedFilter>,
    /// Prepared filters.
    pub bookmarks: Vec<NamedFilter>,
    /// Coloring rules; the first that matches wins.
    pub colors: Vec<ColorRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    name: String,
    #[serde(default)]
    preferences: BTreeMap<String, toml::Value>,
    #[serde(default)]
    column: Vec<ColumnFile>,
    #[serde(default)]
    macros: BTreeMap<String, String>,
    #[serde(default)]
    button: Vec<NamedFile>,
    #[serde(default)]
    bookmark: Vec<NamedFile>,
    #[serde(default)]
    color: Vec<ColorFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnFile {
    title: String,
    field: String,
    #[serde(default)]
    align: Option<String>,
    #[serde(default)]
    width: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedFile {
    label: String,
    filter: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ColorFile {
    name: String,
    filter: String,
    foreground: String,
    background: String,
}

/// Why a profile could not be loaded. The message names the file and the item.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProfileError(String);

impl Profile {
    /// The bundled "Tracee" profile.
    pub fn bundled() -> Profile {
        // The bundled file is checked by a test; a failure here is a build defect.
        Profile::from_toml(BUNDLED, "bundled profile").unwrap_or_else(|e| panic!("{e}"))
    }

    /// The profile a command runs with: `path` (`-C FILE`), else the file named by
    /// `$OSPREY_PROFILE`, else the bundled one.
    pub fn load_or_bundled(path: Option<&Path>) -> Result<Profile, ProfileError> {
        let from_env = std::env::var_os("OSPREY_PROFILE").map(std::path::PathBuf::from);
        match path.or(from_env.as_deref()) {
            Some(p) => Profile::load(p),
            None => Ok(Profile::bundled()),
        }
    }

    /// Adds what the summary columns read to `want`.
    pub fn want_columns(&self, want: &mut osprey_dissect::Want) {
        want.columns();
        for c in &self.columns {
            want.field(c.field);
        }
    }

    /// Adds what the coloring rules read to `want`.
    pub fn want_colors(&self, want: &mut osprey_dissect::Want) {
        for rule in &self.colors {
            for id in rule.filter.fields() {
                want.field(id);
            }
        }
    }

    /// Loads a profile file.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let name = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| ProfileError(format!("{name}: {e}")))?;
        Profile::from_toml(&text, &name)
    }

    /// Parses a profile; `origin` names it in messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        let file: ProfileFile =
            toml::from_str(text).map_err(|e| ProfileError(format!("{origin}: {e}")))?;
        let mut preferences = Preferences::default();
        for (k, v) in &file.preferences {
            let value = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Integer(i) => i.to_string(),
                _ => {
                    return Err(ProfileError(format!(
                        "{origin}: preferences: {k} must be a string, boolean or integer"
                    )))
                }
            };
            preferences
                .set(&format!("{k}={value}"))
                .map_err(|e| ProfileError(format!("{origin}: preferences: {e}")))?;
        }
        let mut columns = Vec::new();
        for c in file.column {
            let field = registry().resolve(&c.field).ok_or_else(|| {
                ProfileError(format!(
                    "{origin}: column \"{}\": \"{}\" is not a known field",
                    c.title, c.field
                ))
            })?;
            let right = match c.align.as_deref() {
                None | Some("left") => false,
                Some("right") => true,
                Some(other) => {
                    return Err(ProfileError(format!(
                        "{origin}: column \"{}\": align must be left or right, not \"{other}\"",
                        c.title
                    )))
                }
            };
            let info = registry().info(field);
            columns.push(Column {
                title: c.title,
                field,
                info,
                right,
                width: c.width.min(200),
            });
        }
        let mut macros = Macros::new();
        for (name, body) in &file.macros {
            macros.insert(name, body);
        }
        let mut colors = Vec::new();
        for c in file.color {
            let filter = Filter::compile(&c.filter, &macros)
                .map_err(|e| ProfileError(format!("{origin}: color rule \"{}\": {e}", c.name)))?;
            let color = |s: &str| {
                Rgb::parse(s).ok_or_else(|| ProfileError(format!("{origin}: color rule \"{}\": \"{s}\" is not a color (#rrggbb, black, white)", c.name)))
            };
            colors.push(ColorRule {
                foreground: color(&c.foreground)?,
                background: color(&c.background)?,
                name: c.name,
                filter,
            });
        }
        let named = |list: Vec<NamedFile>, what: &str| -> Result<Vec<NamedFilter>, ProfileError> {
            list.into_iter()
                .map(|n| {
                    Filter::compile(&n.filter, &macros).map_err(|e| {
                        ProfileError(format!("{origin}: {what} \"{}\": {e}", n.label))
                    })?;
                    Ok(NamedFilter {
                        label: n.label,
                        filter: n.filter,
                    })
                })
                .collect()
        };
        let buttons = named(file.button, "button")?;
        let bookmarks = named(file.bookmark, "prepared filter")?;
        Ok(Profile {
            name: file.name,
            preferences,
            columns,
            macros,
            macro_bodies: file.macros,
            buttons,
            bookmarks,
            colors,
        })
    }

    /// The first coloring rule matching a dissected frame.
    pub fn color_of(&self, frame: &dyn osprey_field::FieldSource) -> Option<&ColorRule> {
        self.colors.iter().find(|r| r.filter.matches(frame))
    }

    /// The index in [`Profile::colors`] of the first coloring rule matching a dissected frame.
    pub fn color_index(&self, frame: &dyn osprey_field::FieldSource) -> Option<usize> {
        self.colors.iter().position(|r| r.filter.matches(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_profile_loads_and_everything_in_it_compiles() {
        let p = Profile::bundled();
        assert_eq!(p.name, "Tracee");
        let titles: Vec<&str> = p.columns.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "No.",
                "Time",
                "Protocol",
                "Container",
                "PPID",
                "PID",
                "Process Name",
                "Rval",
                "Event",
                "Syscall",
                "Source IP",
                "Destination IP",
                "Info"
            ]
        );
        assert_eq!(p.buttons.len(), 6);
        assert_eq!(p.bookmarks.len(), 6);
        assert!(p.macro_bodies["important"].contains("PTRACE_POKEUSER"));
        assert!(!p.macro_bodies["important"].contains("PTRACE_POKEUSR\""));
        assert!(p.colors.iter().any(|c| c.name == "Signature severity 4"));
    }

    #[test]
    fn errors_name_the_item() {
        let bad = "name = \"x\"\n[[color]]\nname = \"mine\"\nfilter = \"tracee.eventName ==\"\nforeground = \"black\"\nbackground = \"white\"\n";
        let err = Profile::from_toml(bad, "my.toml").unwrap_err().to_string();
        assert!(err.starts_with("my.toml: color rule \"mine\""), "{err}");
        let bad = "name = \"x\"\n[[column]]\ntitle = \"T\"\nfield = \"no.such.field\"\n";
        assert!(Profile::from_toml(bad, "my.toml")
            .unwrap_err()
            .to_string()
            .contains("not a known field"));
        let bad = "name = \"x\"\n[preferences]\npid_format = \"sideways\"\n";
        assert!(Profile::from_toml(bad, "my.toml")
            .unwrap_err()
            .to_string()
            .contains("pid_format"));
        assert!(
            Profile::from_toml("name = \"x\"\ncolumns = 3\n", "my.toml").is_err(),
            "unknown keys are refused"
        );
    }

    #[test]
    fn colors_parse() {
        assert_eq!(Rgb::parse("#ff6ec7"), Some(Rgb(0xff, 0x6e, 0xc7)));
        assert_eq!(Rgb::parse("black"), Some(Rgb(0, 0, 0)));
        assert_eq!(Rgb::parse("#ff6ec"), None);
        assert_eq!(Rgb(1, 2, 3).to_hex(), "#010203");
    }
}
