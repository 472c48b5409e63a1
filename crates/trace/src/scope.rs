//! `--scope`: which processes are traced, in Tracee's grammar.
//!
//! Each `--scope` value is one expression; several are combined with AND, values within one
//! expression with OR: `comm=ls,cat`, `comm!=sshd`, `pid=1000,1001`, `pid!=1`, `uid=0`,
//! `uid!=0`, `executable=/usr/bin/curl` (also `exec=`), `container`, `not-container`
//! (also `!container`), `new` (started after the tracer), `follow` (descendants of matching
//! processes too). PIDs, uids and `new` are decided in the kernel; the rest in userspace.

use std::fmt;

/// A list filter: keep (`=`) or drop (`!=`) these values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter<T> {
    /// `true` for `=`, `false` for `!=`.
    pub keep: bool,
    /// The values.
    pub values: Vec<T>,
}

impl<T: PartialEq> Filter<T> {
    /// Whether `v` passes.
    pub fn allows(&self, v: &T) -> bool {
        self.values.contains(v) == self.keep
    }
}

/// The parsed scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `comm=` / `comm!=`.
    pub comm: Option<Filter<String>>,
    /// `pid=` / `pid!=`.
    pub pid: Option<Filter<u32>>,
    /// `uid=` / `uid!=`.
    pub uid: Option<Filter<u32>>,
    /// `executable=` / `executable!=`.
    pub executable: Option<Filter<String>>,
    /// `container` (Some(true)) or `not-container` (Some(false)).
    pub container: Option<bool>,
    /// `new`.
    pub new: bool,
    /// `follow`.
    pub follow: bool,
}

/// A `--scope` expression that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeError(pub String);

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScopeError {}

fn merge<T: PartialEq + Clone>(
    slot: &mut Option<Filter<T>>,
    keep: bool,
    values: Vec<T>,
    field: &str,
) -> Result<(), ScopeError> {
    match slot {
        None => *slot = Some(Filter { keep, values }),
        Some(f) if f.keep == keep => {
            for v in values {
                if !f.values.contains(&v) {
                    f.values.push(v);
                }
            }
        }
        Some(_) => {
            return Err(ScopeError(format!(
                "{field}= and {field}!= cannot both be given"
            )))
        }
    }
    Ok(())
}

impl Scope {
    /// Parses the `--scope` values.
    pub fn parse(exprs: &[String]) -> Result<Scope, ScopeError> {
        let mut s = Scope::default();
        for expr in exprs {
            let e = expr.trim();
            match e {
                "container" => s.container = Some(true),
                "not-container" | "!container" => s.container = Some(false),
                "new" | "pid=new" => s.new = true,
                "follow" => s.follow = true,
                _ => {
                    let (field, keep, value) = if let Some((f, v)) = e.split_once("!=") {
                        (f.trim(), false, v.trim())
                    } else if let Some((f, v)) = e.split_once('=') {
                        (f.trim(), true, v.trim())
                    } else {
                        return Err(ScopeError(format!(
                            "'{e}': expected FIELD=VALUES, FIELD!=VALUES, container, not-container, new or follow"
                        )));
                    };
                    let values: Vec<&str> = value
                        .split(',')
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .collect();
                    if values.is_empty() {
                        return Err(ScopeError(format!("'{e}': no value")));
                    }
                    let numbers = |what: &str| -> Result<Vec<u32>, ScopeError> {
                        values
                            .iter()
                            .map(|v| {
                                v.parse::<u32>().map_err(|_| {
                                    ScopeError(format!("'{e}': '{v}' is not a valid {what}"))
                                })
                            })
                            .collect()
                    };
                    match field {
                        "comm" => {
                            let v = values
                                .iter()
                                .map(|c| c.chars().take(15).collect::<String>())
                                .collect();
                            merge(&mut s.comm, keep, v, "comm")?
                        }
                        "pid" => merge(&mut s.pid, keep, numbers("PID")?, "pid")?,
                        "uid" => merge(&mut s.uid, keep, numbers("uid")?, "uid")?,
                        "executable" | "exec" => merge(
                            &mut s.executable,
                            keep,
                            values.iter().map(|v| v.to_string()).collect(),
                            "executable",
                        )?,
                        other => {
                            return Err(ScopeError(format!(
                                "'{e}': unknown scope field '{other}' (comm, pid, uid, executable, container, not-container, new, follow)"
                            )))
                        }
                    }
                }
            }
        }
        if let Some(uid) = &s.uid {
            if uid.values.len() > osprey_bpf::consts::MAX_SCOPE_UIDS {
                return Err(ScopeError(format!(
                    "at most {} uids can be named",
                    osprey_bpf::consts::MAX_SCOPE_UIDS
                )));
            }
        }
        Ok(s)
    }

    /// True when some filter is applied in userspace (comm, executable, container).
    pub fn has_user_filters(&self) -> bool {
        self.comm.is_some() || self.executable.is_some() || self.container.is_some()
    }

    /// The userspace part of the decision for one process.
    pub fn user_allows(&self, comm: &str, executable: Option<&str>, in_container: bool) -> bool {
        if let Some(f) = &self.comm {
            if !f.allows(&comm.to_string()) {
                return false;
            }
        }
        if let Some(f) = &self.executable {
            let exe = executable.unwrap_or("").to_string();
            if !f.allows(&exe) {
                return false;
            }
        }
        if let Some(want) = self.container {
            if want != in_container {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Result<Scope, ScopeError> {
        Scope::parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_tracee_grammar() {
        let s = p(&[
            "comm=ls,cat",
            "pid!=1",
            "uid=0,1000",
            "container",
            "new",
            "follow",
        ])
        .unwrap();
        assert_eq!(
            s.comm,
            Some(Filter {
                keep: true,
                values: vec!["ls".into(), "cat".into()]
            })
        );
        assert_eq!(
            s.pid,
            Some(Filter {
                keep: false,
                values: vec![1]
            })
        );
        assert_eq!(s.uid.as_ref().unwrap().values, vec![0, 1000]);
        assert_eq!(s.container, Some(true));
        assert!(s.new && s.follow);
        assert_eq!(p(&["not-container"]).unwrap().container, Some(false));
        assert_eq!(p(&["!container"]).unwrap().container, Some(false));
        assert_eq!(
            p(&["executable=/usr/bin/curl"])
                .unwrap()
                .executable
                .unwrap()
                .values,
            vec!["/usr/bin/curl".to_string()]
        );
        assert!(!p(&["exec!=/bin/sh"]).unwrap().executable.unwrap().keep);
    }

    #[test]
    fn repeated_fields_merge_and_conflicts_fail() {
        let s = p(&["comm=a", "comm=b"]).unwrap();
        assert_eq!(
            s.comm.unwrap().values,
            vec!["a".to_string(), "b".to_string()]
        );
        assert!(p(&["pid=1", "pid!=2"]).is_err());
    }

    #[test]
    fn bad_expressions_say_why() {
        for bad in [
            "pid=abc",
            "uid=",
            "color=red",
            "justaword",
            "uid=1,2,3,4,5,6,7,8,9",
        ] {
            let err = p(&[bad]).unwrap_err();
            assert!(!err.0.is_empty(), "{bad}");
        }
    }

    #[test]
    fn comm_is_truncated_like_the_kernel() {
        let s = p(&["comm=a-very-long-process-name"]).unwrap();
        assert_eq!(s.comm.unwrap().values[0], "a-very-long-pro");
    }

    #[test]
    fn user_filters() {
        let s = p(&["comm!=sshd", "not-container"]).unwrap();
        assert!(s.user_allows("bash", None, false));
        assert!(!s.user_allows("sshd", None, false));
        assert!(!s.user_allows("bash", None, true));
        let s = p(&["executable=/bin/ls"]).unwrap();
        assert!(s.user_allows("ls", Some("/bin/ls"), false));
        assert!(!s.user_allows("ls", Some("/usr/bin/ls"), false));
        assert!(!s.user_allows("ls", None, false));
    }
}
