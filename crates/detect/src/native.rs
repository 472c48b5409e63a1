//! The signatures written in Rust: those that keep per-process state (a socket that becomes a
//! process's standard I/O, a shell whose parent is a web server, a connection to the
//! Kubernetes API address a process was given), and those that compare two values of one
//! event, which a display filter cannot (a `/proc/<pid>/mem` or `process_vm_writev` aimed at
//! another process).
//!
//! State is kept per process (host PID) in [`ProcMap`]s, bounded in entries, inherited at fork
//! where the kernel would inherit it, and forgotten when the process exits.

use std::borrow::Cow;

use osprey_event::{Event, Value};

use crate::state::ProcMap;

/// What a native signature reports: the finding's data arguments.
pub type Data = Vec<(&'static str, Value<'static>)>;

/// A signature written in Rust.
pub trait Native: Send + Sync {
    /// The events it reads (besides `sched_process_exit`, which every signature gets).
    fn events(&self) -> &'static [&'static str];
    /// A signature without state: looks at one event; returns the finding's data when it
    /// fires.
    fn check(&self, _ev: &Event<'_>) -> Option<Data> {
        None
    }
    /// A signature with state ([`Native::stateful`]): looks at one event, in time order.
    fn on_event(&mut self, ev: &Event<'_>) -> Option<Data> {
        self.check(ev)
    }
    /// Events it uses when a recording has them, without asking the tracer for them (too
    /// frequent to enable for what they add).
    fn optional_events(&self) -> &'static [&'static str] {
        &[]
    }
    /// A display filter that every event it fires on matches (a signature without state):
    /// its byte prefilter lets a reader skip the other events' lines unparsed
    /// ([`crate::Shared::may_need`]).
    fn necessary(&self) -> Option<&'static str> {
        None
    }
    /// True when it keeps per-process state (and so reads `sched_process_exit`).
    fn stateful(&self) -> bool {
        false
    }
    /// The process `pid` (host PID) exited.
    fn forget(&mut self, _pid: i64) {}
}

/// Processes each stateful signature remembers, per generation.
const PROCS: usize = 16_384;

fn arg<'e, 'a>(ev: &'e Event<'a>, name: &str) -> Option<&'e Value<'a>> {
    ev.arg(name).map(|a| &a.value)
}

fn arg_i64(ev: &Event<'_>, name: &str) -> Option<i64> {
    arg(ev, name)?.as_i64()
}

fn arg_str<'e>(ev: &'e Event<'_>, name: &str) -> Option<&'e str> {
    arg(ev, name)?.as_str()
}

fn s(text: &str) -> Value<'static> {
    Value::Str(Cow::Owned(text.to_string()))
}

/// The flags of an open: an integer, or Tracee's string form (`O_WRONLY|O_CREAT`).
pub fn open_flags(v: &Value<'_>) -> Option<i64> {
    if let Some(n) = v.as_i64() {
        return Some(n);
    }
    let text = v.as_str()?;
    let mut acc = 0;
    for part in text.split('|') {
        acc |= match part.trim() {
            "O_WRONLY" => 1,
            "O_RDWR" => 2,
            _ => 0,
        };
    }
    Some(acc)
}

/// An internet socket address: `(address, port)`.
fn inet_addr(v: &Value<'_>) -> Option<(String, String)> {
    let family = v.get("sa_family")?.as_str()?;
    let (addr, port) = match family {
        "AF_INET" => ("sin_addr", "sin_port"),
        "AF_INET6" => ("sin6_addr", "sin6_port"),
        _ => return None,
    };
    let text = |v: &Value<'_>| {
        v.as_str()
            .map(str::to_string)
            .or_else(|| v.as_i64().map(|n| n.to_string()))
    };
    Some((text(v.get(addr)?)?, text(v.get(port)?)?))
}

/// The child's host PID of a `sched_process_fork` that made a new process (not a thread).
fn forked_child(ev: &Event<'_>) -> Option<(i64, i64)> {
    let parent = arg_i64(ev, "parent_pid").unwrap_or(ev.host_process_id);
    let child = arg_i64(ev, "child_pid")?;
    (child != parent).then_some((parent, child))
}

/// TRC-101: fd 0, 1 or 2 connected, or duplicated from, an internet stream socket.
///
/// Remembers the connected internet stream sockets of each process (at most 16), inherits them
/// at fork, and reports the first time one of them becomes standard input, output or error
/// (`dup`, `dup2`, `dup3`), or a connect on fd 0-2 itself. One finding per socket and process.
#[derive(Debug)]
pub struct StdioOverSocket {
    socks: ProcMap<Vec<Sock>>,
}

#[derive(Debug, Clone)]
struct Sock {
    fd: i64,
    addr: String,
    port: String,
    reported: bool,
}

impl Default for StdioOverSocket {
    fn default() -> Self {
        StdioOverSocket {
            socks: ProcMap::new(PROCS),
        }
    }
}

/// Stream sockets only (a UDP socket's descriptor is reused after a name lookup far too
/// often); an absent type counts as a stream.
fn is_stream(ev: &Event<'_>) -> bool {
    match arg(ev, "type") {
        None => true,
        Some(v) => match v.as_i64() {
            Some(n) => n & 0xf == 1,
            None => v.as_str().is_some_and(|t| t.contains("SOCK_STREAM")),
        },
    }
}

fn stdio_data(fd: i64, addr: &str, port: &str) -> Data {
    vec![
        ("File descriptor", Value::Int(fd)),
        ("IP address", s(addr)),
        ("Port", s(port)),
    ]
}

impl Native for StdioOverSocket {
    fn events(&self) -> &'static [&'static str] {
        &[
            "security_socket_connect",
            "dup",
            "dup2",
            "dup3",
            "sched_process_fork",
        ]
    }

    fn optional_events(&self) -> &'static [&'static str] {
        // a closed socket's descriptor is forgotten (a dup2 of a reused number is no finding)
        &["close"]
    }

    fn on_event(&mut self, ev: &Event<'_>) -> Option<Data> {
        let pid = ev.host_process_id;
        match ev.event_name.as_ref() {
            "security_socket_connect" => {
                let fd = arg_i64(ev, "sockfd")?;
                let (addr, port) = inet_addr(arg(ev, "remote_addr")?)?;
                if !is_stream(ev) {
                    return None;
                }
                let socks = self.socks.entry(pid, Vec::new);
                socks.retain(|s| s.fd != fd);
                let reported = (0..=2).contains(&fd);
                if socks.len() >= 16 {
                    socks.remove(0);
                }
                socks.push(Sock {
                    fd,
                    addr: addr.clone(),
                    port: port.clone(),
                    reported,
                });
                reported.then(|| stdio_data(fd, &addr, &port))
            }
            "dup" | "dup2" | "dup3" => {
                if ev.return_value < 0 {
                    return None;
                }
                let old = arg_i64(ev, "oldfd")?;
                let new = if ev.event_name == "dup" {
                    ev.return_value
                } else {
                    arg_i64(ev, "newfd")?
                };
                let socks = self.socks.get_mut(pid)?;
                // the target descriptor is now a copy of `old`
                let copy = socks.iter().find(|s| s.fd == old).cloned();
                socks.retain(|s| s.fd != new);
                let mut copy = copy?;
                let fire = (0..=2).contains(&new) && !copy.reported;
                if fire {
                    for s in socks.iter_mut().filter(|s| s.fd == old) {
                        s.reported = true;
                    }
                    copy.reported = true;
                }
                copy.fd = new;
                if socks.len() < 16 {
                    socks.push(copy.clone());
                }
                fire.then(|| stdio_data(new, &copy.addr, &copy.port))
            }
            "close" => {
                let fd = arg_i64(ev, "fd")?;
                if let Some(socks) = self.socks.get_mut(pid) {
                    socks.retain(|s| s.fd != fd);
                }
                None
            }
            "sched_process_fork" => {
                let (parent, child) = forked_child(ev)?;
                let inherited = self.socks.get(parent)?.clone();
                self.socks.insert(child, inherited);
                None
            }
            _ => None,
        }
    }

    fn stateful(&self) -> bool {
        true
    }

    fn forget(&mut self, pid: i64) {
        self.socks.remove(pid);
    }
}

const WEB_SERVERS: &[&str] = &[
    "nginx", "httpd", "apache", "apache2", "lighttpd", "caddy", "php-fpm", "tomcat", "uwsgi",
];
const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "csh", "tcsh", "fish", "ash",
];

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn is_web_server(comm: &str) -> bool {
    WEB_SERVERS.iter().any(|w| {
        comm == *w
            || (comm.starts_with(w)
                && comm[w.len()..]
                    .starts_with(['-', '.', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']))
    })
}

/// TRC-1016: a shell executed by a web-server process.
///
/// The shell's parent is the program that ran before the exec in the same process (`prev_comm`,
/// a web server's worker that forked and executed a shell) or the parent process's program as
/// its own exec showed it (remembered per process, inherited at fork).
#[derive(Debug)]
pub struct IllegitimateShell {
    program: ProcMap<String>,
}

impl Default for IllegitimateShell {
    fn default() -> Self {
        IllegitimateShell {
            program: ProcMap::new(PROCS),
        }
    }
}

impl Native for IllegitimateShell {
    fn events(&self) -> &'static [&'static str] {
        &["sched_process_exec", "sched_process_fork"]
    }

    fn on_event(&mut self, ev: &Event<'_>) -> Option<Data> {
        match ev.event_name.as_ref() {
            "sched_process_exec" => {
                let path = arg_str(ev, "pathname")
                    .or_else(|| arg_str(ev, "cmdpath"))
                    .unwrap_or("");
                let program = basename(path);
                let before = arg_str(ev, "prev_comm")
                    .map(str::to_string)
                    .or_else(|| self.program.get(ev.host_process_id).cloned());
                let parent = self.program.get(ev.host_parent_process_id).cloned();
                self.program.insert(ev.host_process_id, program.to_string());
                if !SHELLS.contains(&program) {
                    return None;
                }
                let server = [before, parent]
                    .into_iter()
                    .flatten()
                    .find(|c| is_web_server(c))?;
                Some(vec![("web server", s(&server)), ("shell", s(path))])
            }
            "sched_process_fork" => {
                let (parent, child) = forked_child(ev)?;
                let program = self.program.get(parent)?.clone();
                self.program.insert(child, program);
                None
            }
            _ => None,
        }
    }

    fn stateful(&self) -> bool {
        true
    }

    fn forget(&mut self, pid: i64) {
        self.program.remove(pid);
    }
}

/// TRC-1013: a connection to the address in the process's `KUBERNETES_SERVICE_HOST`.
#[derive(Debug)]
pub struct K8sApiConnection {
    api: ProcMap<String>,
}

impl Default for K8sApiConnection {
    fn default() -> Self {
        K8sApiConnection {
            api: ProcMap::new(PROCS),
        }
    }
}

impl Native for K8sApiConnection {
    fn events(&self) -> &'static [&'static str] {
        &[
            "sched_process_exec",
            "security_socket_connect",
            "sched_process_fork",
        ]
    }

    fn on_event(&mut self, ev: &Event<'_>) -> Option<Data> {
        let pid = ev.host_process_id;
        match ev.event_name.as_ref() {
            "sched_process_exec" => {
                let host = arg(ev, "env")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .find_map(|e| e.strip_prefix("KUBERNETES_SERVICE_HOST="))
                    .map(str::to_string);
                match host {
                    Some(h) if !h.is_empty() => self.api.insert(pid, h),
                    _ => {
                        self.api.remove(pid);
                    }
                }
                None
            }
            "security_socket_connect" => {
                let api = self.api.get(pid)?;
                let (addr, port) = inet_addr(arg(ev, "remote_addr")?)?;
                (addr == *api).then(|| vec![("ip", s(&addr)), ("port", s(&port))])
            }
            "sched_process_fork" => {
                let (parent, child) = forked_child(ev)?;
                let api = self.api.get(parent)?.clone();
                self.api.insert(child, api);
                None
            }
            _ => None,
        }
    }

    fn stateful(&self) -> bool {
        true
    }

    fn forget(&mut self, pid: i64) {
        self.api.remove(pid);
    }
}

/// The PID in `/proc/<pid>/mem` or `/proc/<pid>/task/<tid>/mem`.
fn proc_mem_pid(path: &str) -> Option<i64> {
    let rest = path.strip_prefix("/proc/")?;
    let (pid, tail) = rest.split_once('/')?;
    let pid: i64 = pid.parse().ok()?;
    let is_mem = tail == "mem"
        || tail
            .strip_prefix("task/")
            .and_then(|t| t.split_once('/'))
            .is_some_and(|(tid, m)| m == "mem" && tid.bytes().all(|b| b.is_ascii_digit()));
    is_mem.then_some(pid)
}

fn is_other_process(ev: &Event<'_>, pid: i64) -> bool {
    pid != ev.process_id && pid != ev.host_process_id
}

/// TRC-1023 (`write == false`): another process's memory file opened for reading;
/// TRC-1024 (`write == true`): opened for writing.
#[derive(Debug)]
pub struct ProcMem {
    /// Which of the two.
    pub write: bool,
}

impl Native for ProcMem {
    fn events(&self) -> &'static [&'static str] {
        &["security_file_open"]
    }

    fn necessary(&self) -> Option<&'static str> {
        // `proc_mem_pid`: the path ends in `/mem`.
        Some(r#"tracee.args.security_file_open.pathname contains "/mem""#)
    }

    fn check(&self, ev: &Event<'_>) -> Option<Data> {
        let path = arg_str(ev, "pathname")?;
        let pid = proc_mem_pid(path)?;
        if !is_other_process(ev, pid) {
            return None;
        }
        let acc = open_flags(arg(ev, "flags")?)? & 3;
        let fires = if self.write {
            acc == 1 || acc == 2
        } else {
            acc == 0 || acc == 2
        };
        fires.then(|| vec![("file path", s(path)), ("pid", Value::Int(pid))])
    }
}

/// TRC-1025: `process_vm_writev` into another process.
#[derive(Debug, Default)]
pub struct ProcessVmWrite;

impl Native for ProcessVmWrite {
    fn events(&self) -> &'static [&'static str] {
        &["process_vm_writev"]
    }

    fn check(&self, ev: &Event<'_>) -> Option<Data> {
        let pid = arg_i64(ev, "pid")?;
        (pid > 0 && is_other_process(ev, pid)).then(|| vec![("pid", Value::Int(pid))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_mem_paths() {
        assert_eq!(proc_mem_pid("/proc/42/mem"), Some(42));
        assert_eq!(proc_mem_pid("/proc/42/task/43/mem"), Some(42));
        assert_eq!(proc_mem_pid("/proc/self/mem"), None);
        assert_eq!(proc_mem_pid("/proc/42/maps"), None);
        assert_eq!(proc_mem_pid("/proc/42/task/x/mem"), None);
    }

    #[test]
    fn flags_in_both_forms() {
        assert_eq!(open_flags(&Value::Int(0o101)), Some(0o101));
        assert_eq!(open_flags(&Value::Str("O_WRONLY|O_CREAT".into())), Some(1));
        assert_eq!(open_flags(&Value::Str("O_RDONLY".into())), Some(0));
    }

    #[test]
    fn web_servers() {
        assert!(is_web_server("nginx"));
        assert!(is_web_server("php-fpm8.2"));
        assert!(is_web_server("apache2"));
        assert!(!is_web_server("nginxfoo"));
        assert!(!is_web_server("bash"));
    }
}
