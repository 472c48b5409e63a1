//! The summary columns of one frame (analyzer.md §6's default "Tracee" profile).

use osprey_event::{Event, Value};
use osprey_source::Frame;

/// The default columns, as display strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// `TRACEE`, `TRACEE/SIG`, or a packet's top protocol.
    pub protocol: String,
    /// Container ID (first 12 characters), empty on the host.
    pub container: String,
    /// Parent PID (in the process's PID namespace).
    pub ppid: String,
    /// PID (in the process's PID namespace).
    pub pid: String,
    /// `comm`.
    pub process_name: String,
    /// Return value.
    pub rval: String,
    /// Event name.
    pub event: String,
    /// Originating syscall.
    pub syscall: String,
    /// Source address.
    pub source: String,
    /// Destination address.
    pub destination: String,
    /// One-line description.
    pub info: String,
}

/// Appends `v` as the Info column shows values: integers in decimal, strings raw, arrays as
/// `[a, b]`, objects as `{key = value, ...}`.
pub fn write_info_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(itoa::Buffer::new().format(*i)),
        Value::UInt(u) => out.push_str(itoa::Buffer::new().format(*u)),
        Value::Float(f) => out.push_str(&f.to_string()),
        Value::Str(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_info_value(out, item);
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
                write_info_value(out, item);
            }
            out.push('}');
        }
    }
}

/// The summary of an event.
pub fn event_summary(e: &Event) -> Summary {
    let mut info = String::new();
    if let Some(name) = e.metadata.as_ref().and_then(|m| m.property("signatureName")).and_then(Value::as_str) {
        info.push_str(name);
        info.push_str(". ");
    }
    for (i, arg) in e.args.iter().enumerate() {
        if i > 0 {
            info.push_str(", ");
        }
        info.push_str(&arg.name);
        info.push_str(": ");
        write_info_value(&mut info, &arg.value);
    }
    let mut itoa = itoa::Buffer::new();
    Summary {
        protocol: if e.is_signature() { "TRACEE/SIG" } else { "TRACEE" }.to_string(),
        container: e.container.id.chars().take(12).collect(),
        ppid: itoa.format(e.parent_process_id).to_string(),
        pid: itoa.format(e.process_id).to_string(),
        process_name: e.process_name.to_string(),
        rval: itoa.format(e.return_value).to_string(),
        event: e.event_name.to_string(),
        syscall: e.syscall.to_string(),
        source: String::new(),
        destination: String::new(),
        info,
    }
}

/// The summary of a packet.
pub fn packet_summary(frame: &Frame) -> Summary {
    let link_type = frame.capture.as_ref().map(|c| c.interface.link_type).unwrap_or(0);
    Summary {
        protocol: format!("LINKTYPE_{link_type}"),
        info: format!("{} bytes captured", frame.data.len()),
        ..Summary::default()
    }
}
