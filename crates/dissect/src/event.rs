//! Tracee events.

use osprey_event::{Event, ParseError};
use osprey_field::fields::{tracee as t, ws};
use osprey_field::FieldValue;

use crate::{Preferences, Tree};

/// The packet bytes of a `net_packet_raw` event (its base64 `data` argument).
pub fn raw_packet_bytes(event: &Event) -> Option<Vec<u8>> {
    use base64::Engine as _;
    if event.event_name != "net_packet_raw" {
        return None;
    }
    let data = event.arg("data")?.value.as_str()?;
    base64::engine::general_purpose::STANDARD.decode(data).ok()
}

/// Dissects an event.
pub fn dissect<'a>(event: &'a Event<'a>, raw_packet: Option<&'a [u8]>, prefs: &Preferences, tree: &mut Tree<'a>) {
    let _ = (raw_packet, prefs);
    tree.layer("tracee");
    tree.open(t::TRACEE, FieldValue::None, Some(format!("Tracee Event (JSON): {}", event.event_name)));
    tree.add(t::EVENT_NAME, FieldValue::Str(event.event_name.as_ref().into()));
    tree.close();
}

/// Marks an event frame whose JSON does not parse.
pub fn dissect_malformed<'a>(error: &ParseError, tree: &mut Tree<'a>) {
    tree.layer("tracee");
    tree.add(t::TRACEE, FieldValue::None);
    tree.add(ws::MALFORMED, FieldValue::None);
    tree.add(ws::EXPERT_MESSAGE, FieldValue::Str(format!("Malformed event: {error}").into()));
    if tree.wants_columns() {
        tree.columns.protocol = "TRACEE".into();
        tree.columns.info = format!("[Malformed event: {error}]");
    }
}
