//! `-T json`: an array of frames, each with its context, in the shape tshark uses
//! (`_source.layers`), so that tools written for `tshark -T json` find their way.

use osprey_event::write::write_json_str;
use osprey_source::Frame;

/// Appends one frame as a JSON object (no separator). `input_name` is the file it came from;
/// `relative_ns` is its time since the first frame; `valid_event` says the frame is an event
/// whose JSON parsed, so it can be embedded as it is.
pub fn write_frame(out: &mut Vec<u8>, frame: &Frame, input_name: &str, relative_ns: i128, valid_event: bool) {
    let date = osprey_event::time::format_rfc3339(frame.ts);
    out.extend_from_slice(b"  {\n    \"_index\": ");
    write_json_str(out, &format!("packets-{}", &date[..10]));
    out.extend_from_slice(b",\n    \"_type\": \"doc\",\n    \"_score\": null,\n    \"_source\": {\n      \"layers\": {\n        \"frame\": {");
    let mut fields: Vec<(&str, String)> = vec![
        ("frame.time", osprey_event::time::format_wireshark(frame.ts)),
        ("frame.time_epoch", osprey_event::time::format_epoch(frame.ts)),
        ("frame.time_relative", crate::text::relative_seconds(relative_ns)),
        ("frame.number", frame.number.to_string()),
        ("frame.len", frame.capture.as_ref().map_or(frame.data.len() as u64, |c| c.orig_len as u64).to_string()),
        ("frame.cap_len", frame.data.len().to_string()),
        ("frame.file", input_name.to_string()),
        ("frame.file_location", frame.location.to_string()),
    ];
    if let Some(c) = &frame.capture {
        fields.push(("frame.encap_type", c.interface.link_type.to_string()));
        if let Some(name) = c.interface.name() {
            fields.push(("frame.interface_name", name.to_string()));
        }
        if let Some(desc) = c.interface.description() {
            fields.push(("frame.interface_description", desc.to_string()));
        }
    }
    for (i, (k, v)) in fields.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n          " } else { b",\n          " });
        write_json_str(out, k);
        out.extend_from_slice(b": ");
        write_json_str(out, v);
    }
    out.extend_from_slice(b"\n        }");
    if valid_event {
        // The event exactly as recorded: it is valid JSON, so it embeds as-is.
        out.extend_from_slice(b",\n        \"tracee\": ");
        out.extend_from_slice(&frame.data);
    } else {
        out.extend_from_slice(b",\n        \"data\": {\n          \"data.data\": ");
        let hex: Vec<String> = frame.data.iter().map(|b| format!("{b:02x}")).collect();
        write_json_str(out, &hex.join(":"));
        out.extend_from_slice(b",\n          \"data.len\": ");
        write_json_str(out, &frame.data.len().to_string());
        out.extend_from_slice(b"\n        }");
    }
    out.extend_from_slice(b"\n      }\n    }\n  }");
}
