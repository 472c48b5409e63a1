//! Writing Tracee JSON: the legacy `trace.Event` layout (formats.md §1.1), byte for byte in
//! Tracee's key order, plus the small JSON primitives the rest of the workspace shares.
//!
//! Events read from a file are never re-encoded — their original bytes are passed through.
//! This writer is for events the tracer creates.

use crate::{Arg, Event, Metadata};

/// Appends `s` as a JSON string (quotes included), escaping what JSON requires.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends a decimal integer.
pub fn write_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends a decimal unsigned integer.
pub fn write_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends a float in its shortest round-trip form; NaN and infinities (which JSON cannot
/// hold) become `null`.
pub fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

fn key(out: &mut Vec<u8>, first: &mut bool, name: &str) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

fn str_field(out: &mut Vec<u8>, first: &mut bool, name: &str, value: &str) {
    key(out, first, name);
    write_json_str(out, value);
}

fn i64_field(out: &mut Vec<u8>, first: &mut bool, name: &str, value: i64) {
    key(out, first, name);
    write_i64(out, value);
}

fn u64_field(out: &mut Vec<u8>, first: &mut bool, name: &str, value: u64) {
    key(out, first, name);
    write_u64(out, value);
}

impl Event<'_> {
    /// Appends this event as one line of legacy Tracee JSON (no trailing newline), with the keys
    /// in the order Tracee v0.2x writes them, so that Traceeshark and Tracee's own tools read it.
    pub fn write_legacy_json(&self, out: &mut Vec<u8>) {
        let first = &mut true;
        out.push(b'{');
        u64_field(out, first, "timestamp", self.timestamp);
        u64_field(out, first, "threadStartTime", self.thread_start_time);
        i64_field(out, first, "processorId", self.processor_id);
        i64_field(out, first, "processId", self.process_id);
        u64_field(out, first, "cgroupId", self.cgroup_id);
        i64_field(out, first, "threadId", self.thread_id);
        i64_field(out, first, "parentProcessId", self.parent_process_id);
        i64_field(out, first, "hostProcessId", self.host_process_id);
        i64_field(out, first, "hostThreadId", self.host_thread_id);
        i64_field(
            out,
            first,
            "hostParentProcessId",
            self.host_parent_process_id,
        );
        i64_field(out, first, "userId", self.user_id);
        u64_field(out, first, "mountNamespace", self.mount_namespace);
        u64_field(out, first, "pidNamespace", self.pid_namespace);
        str_field(out, first, "processName", &self.process_name);
        key(out, first, "executable");
        out.extend_from_slice(b"{\"path\":");
        write_json_str(out, self.executable_path.as_deref().unwrap_or(""));
        out.push(b'}');
        str_field(out, first, "hostName", &self.host_name);
        str_field(out, first, "containerId", &self.container.id);
        key(out, first, "container");
        self.write_container(out);
        key(out, first, "kubernetes");
        self.write_kubernetes(out);
        key(out, first, "eventId");
        out.push(b'"');
        write_i64(out, self.event_id);
        out.push(b'"');
        str_field(out, first, "eventName", &self.event_name);
        if let Some(policies) = self.matched_policies.as_ref().filter(|p| !p.is_empty()) {
            key(out, first, "matchedPolicies");
            out.push(b'[');
            for (i, p) in policies.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_str(out, p);
            }
            out.push(b']');
        }
        i64_field(out, first, "argsNum", self.args.len() as i64);
        i64_field(out, first, "returnValue", self.return_value);
        str_field(out, first, "syscall", &self.syscall);
        key(out, first, "stackAddresses");
        if self.stack_addresses.is_empty() {
            out.extend_from_slice(b"null");
        } else {
            out.push(b'[');
            for (i, a) in self.stack_addresses.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_u64(out, *a);
            }
            out.push(b']');
        }
        key(out, first, "contextFlags");
        out.extend_from_slice(b"{\"containerStarted\":");
        out.extend_from_slice(bool_text(self.context_flags.container_started));
        out.extend_from_slice(b",\"isCompat\":");
        out.extend_from_slice(bool_text(self.context_flags.is_compat));
        out.push(b'}');
        u64_field(
            out,
            first,
            "threadEntityId",
            self.thread_entity_id.unwrap_or(0),
        );
        u64_field(
            out,
            first,
            "processEntityId",
            self.process_entity_id.unwrap_or(0),
        );
        u64_field(
            out,
            first,
            "parentEntityId",
            self.parent_entity_id.unwrap_or(0),
        );
        key(out, first, "args");
        out.push(b'[');
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_arg(out, arg);
        }
        out.push(b']');
        if let Some(metadata) = &self.metadata {
            key(out, first, "metadata");
            write_metadata(out, metadata);
        }
        out.push(b'}');
    }

    fn write_container(&self, out: &mut Vec<u8>) {
        let c = &self.container;
        let first = &mut true;
        out.push(b'{');
        for (name, value) in [
            ("id", &c.id),
            ("name", &c.name),
            ("image", &c.image),
            ("imageDigest", &c.image_digest),
        ] {
            if !value.is_empty() {
                str_field(out, first, name, value);
            }
        }
        out.push(b'}');
    }

    fn write_kubernetes(&self, out: &mut Vec<u8>) {
        let k = &self.kubernetes;
        let first = &mut true;
        out.push(b'{');
        for (name, value) in [
            ("podName", &k.pod_name),
            ("podNamespace", &k.pod_namespace),
            ("podUID", &k.pod_uid),
        ] {
            if !value.is_empty() {
                str_field(out, first, name, value);
            }
        }
        if k.pod_sandbox {
            key(out, first, "podSandbox");
            out.extend_from_slice(b"true");
        }
        out.push(b'}');
    }
}

fn bool_text(b: bool) -> &'static [u8] {
    if b {
        b"true"
    } else {
        b"false"
    }
}

fn write_arg(out: &mut Vec<u8>, arg: &Arg) {
    out.extend_from_slice(b"{\"name\":");
    write_json_str(out, &arg.name);
    out.extend_from_slice(b",\"type\":");
    write_json_str(out, &arg.ty);
    out.extend_from_slice(b",\"value\":");
    arg.value.write_json(out);
    out.push(b'}');
}

fn write_metadata(out: &mut Vec<u8>, m: &Metadata) {
    out.extend_from_slice(b"{\"Version\":");
    write_json_str(out, &m.version);
    out.extend_from_slice(b",\"Description\":");
    write_json_str(out, &m.description);
    out.extend_from_slice(b",\"Tags\":");
    if m.tags.is_empty() {
        out.extend_from_slice(b"null");
    } else {
        out.push(b'[');
        for (i, t) in m.tags.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_str(out, t);
        }
        out.push(b']');
    }
    out.extend_from_slice(b",\"Properties\":{");
    for (i, (k, v)) in m.properties.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_str(out, k);
        out.push(b':');
        v.write_json(out);
    }
    out.extend_from_slice(b"}}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_json_requires() {
        let mut out = Vec::new();
        write_json_str(&mut out, "a\"b\\c\nd\u{1}e\u{7f}é");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c\\nd\\u0001e\u{7f}é\""
        );
    }

    #[test]
    fn non_finite_floats_are_null() {
        let mut out = Vec::new();
        write_f64(&mut out, f64::NAN);
        assert_eq!(out, b"null");
    }
}
