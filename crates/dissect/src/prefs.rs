//! The Tracee preferences of analyzer.md §6, which change how fields and columns read.

use std::str::FromStr;

/// How PIDs are shown in `tracee.pid_col`, `tracee.ppid_col` and process trees.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PidFormat {
    /// The PID inside the process's PID namespace.
    #[default]
    Container,
    /// The PID in the host namespace.
    Host,
    /// `pid (hostpid)` when they differ.
    Both,
}

/// What identifies a container in `tracee.container_col`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ContainerIdentifier {
    /// The first 12 characters of the ID.
    #[default]
    Id,
    /// The container name.
    Name,
}

/// The preferences, with Traceeshark's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preferences {
    /// `pid_format`: container, host or both.
    pub pid_format: PidFormat,
    /// `container_identifier`: id or name.
    pub container_identifier: ContainerIdentifier,
    /// `show_container_image`: append ` (<image>)` to the container column.
    pub show_container_image: bool,
    /// `include_unix_sockets`: count unix sockets in network statistics.
    pub include_unix_sockets: bool,
    /// `exclude_nscd_socket`: leave `/var/run/nscd/socket` out of network statistics.
    pub exclude_nscd_socket: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            pid_format: PidFormat::Container,
            container_identifier: ContainerIdentifier::Id,
            show_container_image: false,
            include_unix_sockets: true,
            exclude_nscd_socket: false,
        }
    }
}

/// A preference that could not be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PrefError(String);

fn parse_bool(name: &str, v: &str) -> Result<bool, PrefError> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Ok(true),
        "false" | "no" | "0" | "off" => Ok(false),
        _ => Err(PrefError(format!(
            "preference {name} takes true or false, not \"{v}\""
        ))),
    }
}

impl Preferences {
    /// The preference names [`Preferences::set`] accepts.
    pub const NAMES: &'static [&'static str] = &[
        "pid_format",
        "container_identifier",
        "show_container_image",
        "include_unix_sockets",
        "exclude_nscd_socket",
    ];

    /// Sets one preference from `name=value` text (tshark's `-o`). Names may carry a
    /// `tracee.` prefix, as in Wireshark's preferences file.
    pub fn set(&mut self, assignment: &str) -> Result<(), PrefError> {
        let (name, value) = assignment
            .split_once(['=', ':'])
            .ok_or_else(|| PrefError(format!("\"{assignment}\" is not of the form name=value")))?;
        let name = name.trim();
        let name = name.strip_prefix("tracee.").unwrap_or(name);
        let value = value.trim().trim_matches('"');
        match name {
            "pid_format" => {
                self.pid_format = match value.to_ascii_lowercase().as_str() {
                    "container" => PidFormat::Container,
                    "host" => PidFormat::Host,
                    "both" => PidFormat::Both,
                    _ => {
                        return Err(PrefError(format!(
                            "pid_format takes container, host or both, not \"{value}\""
                        )))
                    }
                }
            }
            "container_identifier" => {
                self.container_identifier = match value.to_ascii_lowercase().as_str() {
                    "id" => ContainerIdentifier::Id,
                    "name" => ContainerIdentifier::Name,
                    _ => {
                        return Err(PrefError(format!(
                            "container_identifier takes id or name, not \"{value}\""
                        )))
                    }
                }
            }
            "show_container_image" => self.show_container_image = parse_bool(name, value)?,
            "include_unix_sockets" => self.include_unix_sockets = parse_bool(name, value)?,
            "exclude_nscd_socket" => self.exclude_nscd_socket = parse_bool(name, value)?,
            _ => {
                return Err(PrefError(format!(
                    "unknown preference \"{name}\" (known: {})",
                    Self::NAMES.join(", ")
                )))
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for Preferences {
    /// One `name: value` line per preference, in the form `-o` accepts.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pid = match self.pid_format {
            PidFormat::Container => "container",
            PidFormat::Host => "host",
            PidFormat::Both => "both",
        };
        let ident = match self.container_identifier {
            ContainerIdentifier::Id => "id",
            ContainerIdentifier::Name => "name",
        };
        writeln!(f, "pid_format: {pid}")?;
        writeln!(f, "container_identifier: {ident}")?;
        writeln!(f, "show_container_image: {}", self.show_container_image)?;
        writeln!(f, "include_unix_sockets: {}", self.include_unix_sockets)?;
        write!(f, "exclude_nscd_socket: {}", self.exclude_nscd_socket)
    }
}

impl FromStr for Preferences {
    type Err = PrefError;
    /// Parses `name=value` pairs separated by commas.
    fn from_str(s: &str) -> Result<Self, PrefError> {
        let mut p = Preferences::default();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            p.set(part)?;
        }
        Ok(p)
    }
}

/// Formats a PID pair per the preference; empty when the namespace PID is 0 (unknown).
pub fn pid_text(format: PidFormat, ns_pid: i64, host_pid: i64) -> String {
    let num = |n: i64| itoa::Buffer::new().format(n).to_string();
    match format {
        PidFormat::Container if ns_pid != 0 => num(ns_pid),
        PidFormat::Both if ns_pid != host_pid && ns_pid != 0 => format!("{ns_pid} ({host_pid})"),
        _ => num(host_pid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_preferences_like_tshark_o() {
        let mut p = Preferences::default();
        p.set("pid_format=both").unwrap();
        p.set("tracee.container_identifier: name").unwrap();
        p.set("show_container_image=true").unwrap();
        assert_eq!(p.pid_format, PidFormat::Both);
        assert_eq!(p.container_identifier, ContainerIdentifier::Name);
        assert!(p.show_container_image);
        assert!(p
            .set("pid_format=sideways")
            .unwrap_err()
            .0
            .contains("container, host or both"));
        assert!(p
            .set("colour=blue")
            .unwrap_err()
            .0
            .contains("unknown preference"));
    }

    #[test]
    fn pid_text_follows_the_format() {
        assert_eq!(pid_text(PidFormat::Container, 1, 4741), "1");
        assert_eq!(pid_text(PidFormat::Host, 1, 4741), "4741");
        assert_eq!(pid_text(PidFormat::Both, 1, 4741), "1 (4741)");
        assert_eq!(pid_text(PidFormat::Both, 676, 676), "676");
    }
}
