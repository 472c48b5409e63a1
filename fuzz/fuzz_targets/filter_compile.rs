//! Display filter compilation never panics, errors point inside the text, and compiled
//! filters run on a frame and a JSON line without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use osprey_field::{fields, FieldId, FieldSource, FieldValue};
use osprey_filter::{Filter, Macros};

struct Frame;

impl FieldSource for Frame {
    fn any_value(&self, field: FieldId, f: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
        match field {
            fields::tracee::TRACEE | fields::frame::FRAME => f(&FieldValue::None),
            fields::tracee::EVENT_NAME => f(&FieldValue::Str("openat".into())),
            fields::tcp::PORT => f(&FieldValue::UInt(80)) || f(&FieldValue::UInt(40000)),
            fields::ip::ADDR => f(&FieldValue::Ipv4([10, 0, 0, 1].into())),
            fields::frame::TIME_RELATIVE => f(&FieldValue::RelTime(1_500_000_000)),
            id if id.is_dynamic() => {
                f(&FieldValue::Str("/etc/passwd".into())) || f(&FieldValue::Int(3))
            }
            _ => false,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut macros = Macros::new();
    macros.insert("m", "tcp.port == $1 or ${n}");
    macros.insert("n", "tracee.eventName contains \"open\"");
    match Filter::compile(text, &macros) {
        Ok(filter) => {
            let _ = filter.matches(&Frame);
            let _ = filter.fields();
            let pre = filter.event_prefilter();
            let _ = pre.may_match(
                br#"{"processName":"x","eventName":"openat","args":[{"name":"fd","value":3}]}"#,
            );
            let _ = pre.may_match(text.as_bytes());
        }
        Err(e) => {
            assert!(
                e.position + e.length <= text.len(),
                "error span past the end"
            );
            assert!(
                text.is_char_boundary(e.position) && text.is_char_boundary(e.position + e.length)
            );
            let _ = e.render(text);
        }
    }
});
