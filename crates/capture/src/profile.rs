//! The runtime profile (`--capture profile`, formats.md §5) and `osprey profile diff`.
//!
//! `out/tracee.profile` is indented JSON: `{"<cid|host>/exec.<basename>:<ctime>": {"times": N,
//! "file_hash": "<sha256>"}}`. Two profiles are compared by *what* ran, not by when the file was
//! installed: the identity of an entry is `exec.<basename>` with its scope (`host` or
//! `container`, since container IDs and ctimes change from run to run). A name present only in
//! NEW is **new**; a name whose NEW hashes are not all among OLD's is **changed**; a name only in
//! OLD is **removed**. New or changed executions make the diff fail (exit 1) — the CI
//! supply-chain check; removals and run-count changes are reported but do not fail it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::{Deserialize, Serialize};

/// One profile entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Number of executions.
    pub times: u64,
    /// SHA-256 of the binary ("" when it could not be read).
    pub file_hash: String,
}

/// A runtime profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// Entries by key.
    pub entries: BTreeMap<String, Entry>,
}

impl Profile {
    /// The key of an executed binary.
    pub fn key(container_dir: &str, basename: &str, ctime: u64) -> String {
        format!("{container_dir}/exec.{basename}:{ctime}")
    }

    /// Counts one execution.
    pub fn record(&mut self, key: String, hash: &str) {
        let e = self.entries.entry(key).or_default();
        e.times += 1;
        if e.file_hash.is_empty() {
            e.file_hash = hash.to_string();
        }
    }

    /// Indented JSON, as Tracee writes it.
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(&self.entries).unwrap_or_else(|_| b"{}".to_vec());
        v.push(b'\n');
        v
    }

    /// Reads a profile (Tracee's or ours). Entries whose value is not an object are skipped;
    /// `times` and `file_hash` default to 0 and "".
    pub fn parse(text: &[u8]) -> Result<Profile, String> {
        let v: serde_json::Value =
            serde_json::from_slice(text).map_err(|e| format!("not a JSON profile: {e}"))?;
        let obj = v
            .as_object()
            .ok_or_else(|| "not a profile: expected a JSON object of executions".to_string())?;
        let mut entries = BTreeMap::new();
        for (k, val) in obj {
            let Some(o) = val.as_object() else { continue };
            let times = o.get("times").and_then(|t| t.as_u64()).unwrap_or(0);
            let file_hash = o
                .get("file_hash")
                .and_then(|h| h.as_str())
                .unwrap_or("")
                .to_string();
            entries.insert(k.clone(), Entry { times, file_hash });
        }
        Ok(Profile { entries })
    }
}

/// What `<cid|host>/exec.<basename>:<ctime>` identifies across runs: `host/exec.ls` or
/// `container/exec.ls`.
pub fn identity(key: &str) -> String {
    // drop the ctime
    let without_ctime = match key.rsplit_once(':') {
        Some((head, tail)) if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) => head,
        _ => key,
    };
    match without_ctime.split_once('/') {
        Some((scope, rest)) => {
            let scope = if scope == "host" || scope.is_empty() {
                "host"
            } else {
                "container"
            };
            format!("{scope}/{rest}")
        }
        None => without_ctime.to_string(),
    }
}

/// One difference between two profiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Ran in NEW, never in OLD.
    New {
        /// The identity.
        name: String,
        /// Its hashes in NEW.
        hashes: Vec<String>,
        /// Executions in NEW.
        times: u64,
    },
    /// Ran in both, but with content OLD never had.
    Changed {
        /// The identity.
        name: String,
        /// Hashes in OLD.
        old: Vec<String>,
        /// Hashes in NEW that OLD did not have.
        new: Vec<String>,
    },
    /// Ran in OLD only.
    Removed {
        /// The identity.
        name: String,
    },
    /// Same content, a different number of executions.
    Count {
        /// The identity.
        name: String,
        /// Executions in OLD.
        old: u64,
        /// Executions in NEW.
        new: u64,
    },
}

impl Change {
    /// True for the changes that fail the check.
    pub fn fails(&self) -> bool {
        matches!(self, Change::New { .. } | Change::Changed { .. })
    }
}

fn group(p: &Profile) -> BTreeMap<String, (BTreeSet<String>, u64)> {
    let mut m: BTreeMap<String, (BTreeSet<String>, u64)> = BTreeMap::new();
    for (k, e) in &p.entries {
        let g = m.entry(identity(k)).or_default();
        if !e.file_hash.is_empty() {
            g.0.insert(e.file_hash.clone());
        }
        g.1 += e.times;
    }
    m
}

/// The differences from `old` to `new`, new and changed first.
pub fn diff(old: &Profile, new: &Profile) -> Vec<Change> {
    let (a, b) = (group(old), group(new));
    let mut out = Vec::new();
    for (name, (hashes, times)) in &b {
        match a.get(name) {
            None => out.push(Change::New {
                name: name.clone(),
                hashes: hashes.iter().cloned().collect(),
                times: *times,
            }),
            Some((old_hashes, old_times)) => {
                let fresh: Vec<String> = hashes.difference(old_hashes).cloned().collect();
                if !fresh.is_empty() {
                    out.push(Change::Changed {
                        name: name.clone(),
                        old: old_hashes.iter().cloned().collect(),
                        new: fresh,
                    });
                } else if old_times != times {
                    out.push(Change::Count {
                        name: name.clone(),
                        old: *old_times,
                        new: *times,
                    });
                }
            }
        }
    }
    for name in a.keys() {
        if !b.contains_key(name) {
            out.push(Change::Removed { name: name.clone() });
        }
    }
    out.sort_by_key(|c| match c {
        Change::New { .. } => 0,
        Change::Changed { .. } => 1,
        Change::Removed { .. } => 2,
        Change::Count { .. } => 3,
    });
    out
}

fn short(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}

/// Writes the report; returns true when something new or changed ran.
pub fn report(changes: &[Change], out: &mut dyn Write) -> io::Result<bool> {
    let mut n = [0usize; 4];
    for c in changes {
        match c {
            Change::New {
                name,
                hashes,
                times,
            } => {
                n[0] += 1;
                let h: Vec<&str> = hashes.iter().map(|h| short(h)).collect();
                writeln!(
                    out,
                    "new      {name}  (ran {times} time{}, sha256 {})",
                    if *times == 1 { "" } else { "s" },
                    if h.is_empty() {
                        "unknown".to_string()
                    } else {
                        h.join(",")
                    }
                )?;
            }
            Change::Changed { name, old, new } => {
                n[1] += 1;
                let o: Vec<&str> = old.iter().map(|h| short(h)).collect();
                let m: Vec<&str> = new.iter().map(|h| short(h)).collect();
                writeln!(
                    out,
                    "changed  {name}  (sha256 {} -> {})",
                    o.join(","),
                    m.join(",")
                )?;
            }
            Change::Removed { name } => {
                n[2] += 1;
                writeln!(out, "removed  {name}")?;
            }
            Change::Count { name, old, new } => {
                n[3] += 1;
                writeln!(out, "count    {name}  (ran {old} -> {new} times)")?;
            }
        }
    }
    let failed = n[0] + n[1] > 0;
    writeln!(
        out,
        "{} new, {} changed, {} removed, {} run-count changes: {}",
        n[0],
        n[1],
        n[2],
        n[3],
        if failed {
            "something new or changed ran"
        } else {
            "nothing new ran"
        }
    )?;
    Ok(failed)
}

/// `osprey profile`: work with runtime profiles (`--capture profile`).
#[derive(clap::Args, Debug, Clone)]
pub struct ProfileArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ProfileCommand,
}

/// `osprey profile` subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum ProfileCommand {
    /// Compare two runtime profiles; fail when something new or changed ran
    ///
    /// Compares `out/tracee.profile` of two runs and lists executions that are new, changed
    /// (same name, different SHA-256), removed, or ran a different number of times. Executions
    /// are matched by binary name and scope (host or container), not by ctime or container ID,
    /// which change from run to run.
    ///
    /// Exit status: 0 when nothing new or changed ran, 1 when something did, 2 on error.
    Diff {
        /// The reference profile (e.g. the last good pipeline run).
        old: PathBuf,
        /// The profile to check.
        new: PathBuf,
    },
}

fn load(path: &Path) -> Result<Profile, String> {
    let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Profile::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs `osprey profile ...`: 0 nothing new, 1 something new or changed, 2 on error.
pub fn run(args: ProfileArgs) -> ExitCode {
    match args.command {
        ProfileCommand::Diff { old, new } => {
            let (a, b) = match (load(&old), load(&new)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("osprey: profile diff: {e}");
                    return ExitCode::from(2);
                }
            };
            let changes = diff(&a, &b);
            let mut stdout = io::stdout().lock();
            match report(&changes, &mut stdout) {
                Ok(true) => ExitCode::from(1),
                Ok(false) => ExitCode::SUCCESS,
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("osprey: profile diff: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(entries: &[(&str, u64, &str)]) -> Profile {
        Profile {
            entries: entries
                .iter()
                .map(|(k, t, h)| {
                    (
                        k.to_string(),
                        Entry {
                            times: *t,
                            file_hash: h.to_string(),
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn identity_ignores_ctime_and_container_id() {
        assert_eq!(identity("host/exec.ls:1700000000"), "host/exec.ls");
        assert_eq!(
            identity("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/exec.sh:5"),
            "container/exec.sh"
        );
        assert_eq!(identity("host/exec.memfd:x:12"), "host/exec.memfd:x");
        assert_eq!(identity("odd"), "odd");
    }

    #[test]
    fn new_changed_removed_and_counts() {
        let old = p(&[
            ("host/exec.sh:1", 2, "aa"),
            ("host/exec.ls:1", 1, "bb"),
            ("host/exec.cat:1", 1, "cc"),
            ("host/exec.true:1", 1, "dd"),
        ]);
        let new = p(&[
            ("host/exec.sh:9", 2, "aa"),   // reinstalled, same content: nothing
            ("host/exec.date:9", 1, "ee"), // new
            ("host/exec.cat:9", 1, "ff"),  // changed
            ("host/exec.true:9", 3, "dd"), // count
        ]);
        let d = diff(&old, &new);
        assert_eq!(
            d,
            vec![
                Change::New {
                    name: "host/exec.date".into(),
                    hashes: vec!["ee".into()],
                    times: 1
                },
                Change::Changed {
                    name: "host/exec.cat".into(),
                    old: vec!["cc".into()],
                    new: vec!["ff".into()]
                },
                Change::Removed {
                    name: "host/exec.ls".into()
                },
                Change::Count {
                    name: "host/exec.true".into(),
                    old: 1,
                    new: 3
                },
            ]
        );
        let mut out = Vec::new();
        assert!(report(&d, &mut out).unwrap());
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("new      host/exec.date"), "{text}");
        assert!(text.contains("changed  host/exec.cat"), "{text}");
        assert!(text.contains("1 new, 1 changed, 1 removed"), "{text}");
        // only removals and counts: passes
        let d = diff(&new, &p(&[("host/exec.sh:1", 1, "aa")]));
        assert!(!d.iter().any(Change::fails));
        let mut out = Vec::new();
        assert!(!report(&d, &mut out).unwrap());
        // identical: nothing at all
        assert!(diff(&old, &old).is_empty());
    }

    #[test]
    fn profiles_round_trip_and_bad_files_are_errors() {
        let mut pr = Profile::default();
        pr.record(Profile::key("host", "ls", 42), "abc");
        pr.record(Profile::key("host", "ls", 42), "abc");
        let json = pr.to_json();
        let text = String::from_utf8(json.clone()).unwrap();
        assert!(text.contains("\"host/exec.ls:42\""), "{text}");
        assert!(text.contains("\n  "), "indented");
        let back = Profile::parse(&json).unwrap();
        assert_eq!(back.entries["host/exec.ls:42"].times, 2);
        assert!(Profile::parse(b"[1,2]").is_err());
        assert!(Profile::parse(b"{not json").is_err());
        assert!(Profile::parse(b"{\"x\": 5}").unwrap().entries.is_empty());
    }
}
