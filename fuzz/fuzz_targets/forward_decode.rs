//! Bytes from a Forward peer: cut into frames under tight limits, each decoded, and every
//! event record mapped to its JSON. Nothing may panic or allocate past the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use osprey_forward::frame::{FrameReader, Limits};
use osprey_forward::proto::{self, Message};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_frame: 1 << 16,
        max_items: 1 << 12,
        max_depth: 16,
        max_decompressed: 1 << 18,
    };
    let mut r = FrameReader::new(limits);
    let mut input = data;
    while let Ok(Some(frame)) = r.next_frame(&mut input) {
        if let Ok(Message::Events(ev)) = proto::decode(&frame, &limits) {
            for e in &ev.entries {
                let _ = osprey_forward::record::event_json(&e.record);
            }
        }
    }
});
