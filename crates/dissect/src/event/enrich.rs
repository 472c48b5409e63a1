//! The Info column (analyzer.md §4) and the generated argument fields: the command line, the
//! ptrace request name, `magic_write`'s decoded data and file type.

use std::borrow::Cow;
use std::fmt::Write as _;

use osprey_event::{Event, Value};
use osprey_field::fields::tracee as t;
use osprey_field::FieldValue;

use super::Findings;
use crate::Tree;

/// Tracee's `mem_prot_alert` alert texts, by alert number.
pub const MEM_PROT_ALERTS: &[(i64, &str)] = &[
    (1, "Mmaped region with W+E permissions!"),
    (2, "Protection changed to Executable!"),
    (3, "Protection changed from E to W+E!"),
    (4, "Protection changed from W to E!"),
];

/// A value as the Info column shows it: integers in decimal, strings raw, arrays `[a, b]`,
/// objects `{key = value, ...}`.
pub fn info_text(v: &Value) -> String {
    let mut out = String::new();
    write_info(&mut out, v);
    out
}

fn write_info(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(itoa::Buffer::new().format(*i)),
        Value::UInt(u) => out.push_str(itoa::Buffer::new().format(*u)),
        Value::Float(f) => {
            let _ = write!(out, "{f}");
        }
        Value::Str(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_info(out, item);
            }
            out.push(']');
        }
        Value::Object(pairs) => {
            out.push('{');
            for (i, (k, item)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(" = ");
                write_info(out, item);
            }
            out.push('}');
        }
    }
}

/// The command line of an `argv` argument: its strings joined by spaces.
fn command_line(event: &Event) -> Option<String> {
    let argv = event.arg("argv")?.value.as_array()?;
    let parts: Vec<&str> = argv.iter().filter_map(Value::as_str).collect();
    Some(parts.join(" "))
}

/// The `PTRACE_*` name of a request given as a number or already as a name.
fn ptrace_request(v: &Value) -> (Option<i64>, Option<Cow<'static, str>>) {
    if let Some(n) = v.as_i64() {
        let name = t::PTRACE_REQUESTS
            .iter()
            .find(|(r, _)| *r == n)
            .map(|(_, s)| Cow::Borrowed(*s));
        return (Some(n), name);
    }
    let name = v.as_str().unwrap_or("").to_string();
    let number = t::PTRACE_REQUESTS
        .iter()
        .find(|(_, s)| *s == name)
        .map(|(r, _)| *r);
    (number, (!name.is_empty()).then_some(Cow::Owned(name)))
}

/// The written bytes as printable text: printable ASCII as is, `\n \r \t`, and `\xNN` for the
/// rest.
pub fn printable_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

/// The file type of written data, from its magic bytes, else from the path's extension.
pub fn file_type(data: &[u8], path: &str) -> Option<&'static str> {
    let starts = |m: &[u8]| data.starts_with(m);
    let magic = if starts(b"\x7fELF") {
        Some("ELF")
    } else if starts(b"#!") {
        Some("Script")
    } else if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") || starts(b"PK\x07\x08") {
        Some("ZIP")
    } else if starts(&[0x1f, 0x8b]) {
        Some("GZIP")
    } else if starts(b"BZh") {
        Some("BZIP2")
    } else if data.get(257..262) == Some(b"ustar") {
        Some("TAR")
    } else if starts(b"Rar!\x1a\x07") {
        Some("RAR")
    } else if starts(&[0xfe, 0xed, 0xfa, 0xce])
        || starts(&[0xfe, 0xed, 0xfa, 0xcf])
        || starts(&[0xce, 0xfa, 0xed, 0xfe])
        || starts(&[0xcf, 0xfa, 0xed, 0xfe])
    {
        Some("Mach-O")
    } else if starts(&[0xca, 0xfe, 0xba, 0xbe]) {
        Some("Java class")
    } else if starts(&[0xac, 0xed]) {
        Some("Serialized Java object")
    } else if starts(b"MZ") {
        Some("MZ executable")
    } else if starts(&[0xed, 0xab, 0xee, 0xdb]) {
        Some("RPM")
    } else if starts(b"!<arch>") {
        Some("DEB")
    } else if starts(b"<?php") {
        Some("PHP")
    } else if starts(b"<%@") || starts(b"<jsp:") {
        Some("JSP")
    } else if starts(b"<%") {
        Some("ASP")
    } else if starts(b"REDIS") {
        Some("REDIS")
    } else if data.windows(14).any(|w| w == b"EICAR-STANDARD") || starts(b"X5O!P%@AP") {
        Some("EICAR")
    } else if data.len() >= 4 && data[2] == b'\r' && data[3] == b'\n' && data[..2] != *b"\r\n" {
        Some("Python bytecode")
    } else {
        None
    };
    magic.or_else(|| {
        let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
        if ext.contains('/') {
            return None;
        }
        Some(match ext.as_str() {
            "sh" | "bash" | "zsh" | "py" | "pl" | "rb" => "Script",
            "so" => "Shared object",
            "ko" => "Kernel module",
            "zip" | "jar" | "war" | "apk" => "ZIP",
            "gz" | "tgz" => "GZIP",
            "bz2" => "BZIP2",
            "tar" => "TAR",
            "rar" => "RAR",
            "class" => "Java class",
            "exe" | "dll" => "MZ executable",
            "pyc" => "Python bytecode",
            "rpm" => "RPM",
            "deb" => "DEB",
            "php" => "PHP",
            "jsp" => "JSP",
            "asp" | "aspx" => "ASP",
            "rdb" => "REDIS",
            _ => return None,
        })
    })
}

/// Decoded `magic_write` bytes.
fn magic_write_bytes(event: &Event) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let v = &event.arg("bytes")?.value;
    match v {
        Value::Str(s) => base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .ok(),
        Value::Array(items) => items
            .iter()
            .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
            .collect(),
        _ => None,
    }
}

/// Adds the generated argument fields.
pub(crate) fn generated<'a>(event: &'a Event<'a>, tree: &mut Tree<'a>) {
    if tree.wants(t::COMMAND_LINE) {
        if let Some(cmd) = command_line(event) {
            tree.add(t::COMMAND_LINE, FieldValue::Str(cmd.into()));
        }
    }
    if event.event_name == "ptrace" {
        if let Some(arg) = event.arg("request") {
            let (number, name) = ptrace_request(&arg.value);
            if let Some(n) = number {
                tree.add(t::PTRACE_REQUEST, FieldValue::Int(n));
            }
            if let Some(name) = name {
                tree.add(t::PTRACE_REQUEST_NAME, FieldValue::Str(name));
            }
        }
    }
    if event.event_name == "magic_write"
        && (tree.wants(t::MAGIC_WRITE_DECODED_DATA) || tree.wants(t::MAGIC_WRITE_FILE_TYPE))
    {
        if let Some(bytes) = magic_write_bytes(event) {
            tree.add(
                t::MAGIC_WRITE_DECODED_DATA,
                FieldValue::Str(printable_bytes(&bytes).into()),
            );
            let path = event
                .arg("pathname")
                .and_then(|a| a.value.as_str())
                .unwrap_or("");
            if let Some(ft) = file_type(&bytes, path) {
                tree.add(t::MAGIC_WRITE_FILE_TYPE, FieldValue::Str(Cow::Borrowed(ft)));
            }
        }
    }
}

fn arg_str<'a>(event: &'a Event, name: &str) -> Option<&'a str> {
    event.arg(name).and_then(|a| a.value.as_str())
}

/// The default Info: each argument as `name: value`, joined by `, `.
fn default_info(event: &Event) -> String {
    let mut out = String::with_capacity(256);
    for (i, arg) in event.args.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&arg.name);
        out.push_str(": ");
        if arg.name == "argv" {
            if let Some(cmd) = command_line(event) {
                out.push_str(&cmd);
                continue;
            }
        }
        write_info(&mut out, &arg.value);
    }
    out
}

/// The per-event enrichments; `None` falls back to the default. The common ones are joined from
/// their parts (`concat`) rather than `format!`ted: the column is built for every event.
fn enriched(event: &Event, findings: &Findings) -> Option<String> {
    let e = event;
    match e.event_name.as_ref() {
        "sched_process_exec" => {
            let cmdline = command_line(e)?;
            let pathname = arg_str(e, "pathname").unwrap_or("");
            let mut info = String::new();
            if let Some(prev) = arg_str(e, "prev_comm").filter(|p| !p.is_empty()) {
                info.extend(["(", prev, ") -> "]);
            }
            if !pathname.is_empty() && !cmdline.starts_with(pathname) {
                info.extend([pathname, ": "]);
            }
            info.push_str(&cmdline);
            Some(info)
        }
        "security_file_open" => {
            let given = arg_str(e, "syscall_pathname").filter(|p| !p.is_empty());
            let resolved = arg_str(e, "pathname").filter(|p| !p.is_empty());
            match (given, resolved) {
                (Some(g), Some(r)) if g != r => Some(["Open ", g, " (", r, ")"].concat()),
                (Some(g), _) => Some(["Open ", g].concat()),
                (None, Some(r)) => Some(["Open ", r].concat()),
                (None, None) => None,
            }
        }
        "magic_write" => {
            let path = arg_str(e, "pathname").unwrap_or("");
            let ft = magic_write_bytes(e)
                .and_then(|b| file_type(&b, path))
                .unwrap_or("Unknown file type");
            Some([ft, " written to ", path].concat())
        }
        "security_socket_connect" | "security_socket_bind" => {
            let verb = if e.event_name == "security_socket_bind" {
                "Bind"
            } else {
                "Connect"
            };
            let sa = findings.sockaddr.as_ref()?;
            let addr = sa.addr.as_deref()?;
            Some(match sa.port.as_deref() {
                Some(port) if sa.family != "AF_UNIX" => {
                    [verb, " to ", addr, " port ", port].concat()
                }
                _ => [verb, " to ", addr].concat(),
            })
        }
        "net_packet_http_request" => {
            let req = &e.arg("http_request")?.value;
            let get = |k: &str| req.get(k).and_then(Value::as_str).unwrap_or("");
            let mut info = format!(
                "{} {} {}",
                get("method"),
                req.get("uri_path")
                    .or(req.get("uriPath"))
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                get("protocol")
            );
            if let Some(ct) = &findings.content_type {
                let _ = write!(info, " ({})", ct.split(';').next().unwrap_or(ct));
            }
            Some(info)
        }
        "net_packet_http" | "net_packet_http_response" => {
            let http = e
                .arg("proto_http")
                .or_else(|| e.arg("http_response"))
                .map(|a| &a.value)?;
            let get = |k: &str| http.get(k).and_then(Value::as_str).unwrap_or("");
            let response =
                e.event_name == "net_packet_http_response" || get("direction") == "response";
            let mut info = if response {
                format!("{} {}", get("protocol"), get("status").trim_end())
            } else {
                format!(
                    "{} {} {}",
                    get("method"),
                    http.get("uri_path")
                        .or(http.get("uriPath"))
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                    get("protocol")
                )
            };
            if let Some(ct) = &findings.content_type {
                let _ = write!(info, " ({})", ct.split(';').next().unwrap_or(ct));
            }
            Some(info)
        }
        "dynamic_code_loading" | "mem_prot_alert" => {
            let alert = &e.arg("alert")?.value;
            let text = match alert.as_i64() {
                Some(n) => MEM_PROT_ALERTS
                    .iter()
                    .find(|(a, _)| *a == n)
                    .map(|(_, s)| s.to_string())?,
                None => alert.as_str()?.to_string(),
            };
            if e.event_name == "mem_prot_alert" {
                let path = arg_str(e, "pathname").filter(|p| !p.is_empty());
                return Some(match path {
                    Some(p) => format!("{text} ({p})"),
                    None => text,
                });
            }
            Some(text)
        }
        "fileless_execution" => {
            let path = arg_str(e, "pathname").or_else(|| {
                e.arg("triggeredBy")
                    .or(e.arg("detectedFrom"))
                    .and_then(|t| {
                        t.value
                            .get("args")?
                            .as_array()?
                            .iter()
                            .find(|a| a.get("name").and_then(Value::as_str) == Some("pathname"))?
                            .get("value")?
                            .as_str()
                    })
            })?;
            Some(format!("Running from {path}"))
        }
        "stdio_over_socket" => {
            let fd = e
                .arg("File descriptor")
                .or(e.arg("File_descriptor"))
                .and_then(|a| a.value.as_i64())?;
            let ip = e
                .arg("IP address")
                .or(e.arg("IP_address"))
                .map(|a| super::net::text(&a.value))?;
            let port = e.arg("Port").map(|a| super::net::text(&a.value))?;
            let stream = match fd {
                0 => "STDIN",
                1 => "STDOUT",
                2 => "STDERR",
                _ => return None,
            };
            Some(format!("{stream} forwarded to {ip} port {port}"))
        }
        "ptrace" => {
            let (number, name) = ptrace_request(&e.arg("request")?.value);
            let mut info = name
                .map(|n| n.into_owned())
                .or_else(|| number.map(|n| n.to_string()))?;
            if let Some(pid) = e.arg("pid").and_then(|a| a.value.as_i64()) {
                let _ = write!(info, " pid {pid}");
            }
            Some(info)
        }
        _ => None,
    }
}

/// The Info column of an event.
pub(crate) fn info(event: &Event, findings: &Findings) -> String {
    let body = enriched(event, findings).unwrap_or_else(|| default_info(event));
    let sig_name = event
        .metadata
        .as_ref()
        .and_then(|m| m.property("signatureName"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    match sig_name {
        Some(name) if body.is_empty() => name.to_string(),
        Some(name) => [name, ". ", &body].concat(),
        None => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_bytes_escape_like_traceeshark() {
        assert_eq!(
            printable_bytes(b"\x7fELF\x02\n\t ok"),
            "\\x7fELF\\x02\\n\\t ok"
        );
    }

    #[test]
    fn file_types_from_magic_and_extension() {
        assert_eq!(file_type(b"\x7fELF\x02\x01", "/tmp/x"), Some("ELF"));
        assert_eq!(file_type(b"#!/bin/sh\n", "/tmp/x"), Some("Script"));
        assert_eq!(file_type(b"PK\x03\x04", ""), Some("ZIP"));
        assert_eq!(file_type(&[0x1f, 0x8b, 8], ""), Some("GZIP"));
        assert_eq!(file_type(b"BZh91AY", ""), Some("BZIP2"));
        assert_eq!(file_type(&[0xca, 0xfe, 0xba, 0xbe], ""), Some("Java class"));
        assert_eq!(
            file_type(&[0xac, 0xed, 0, 5], ""),
            Some("Serialized Java object")
        );
        assert_eq!(file_type(b"MZ\x90\x00", ""), Some("MZ executable"));
        assert_eq!(file_type(b"!<arch>\ndebian", ""), Some("DEB"));
        assert_eq!(file_type(b"<?php echo 1;", ""), Some("PHP"));
        assert_eq!(file_type(b"REDIS0009", ""), Some("REDIS"));
        assert_eq!(
            file_type(b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD", ""),
            Some("EICAR")
        );
        assert_eq!(file_type(b"\x55\x0d\x0d\x0a", ""), Some("Python bytecode"));
        assert_eq!(file_type(b"hello", "/etc/a.so"), Some("Shared object"));
        assert_eq!(file_type(b"hello", "/etc/passwd"), None);
        assert_eq!(file_type(b"hello", "/etc.d/passwd"), None);
    }
}
