//! One line of Tracee JSON, any generation, then its full dissection.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = osprey_event::peek_timestamp(data);
    // The fast path never disagrees with serde.
    assert_eq!(osprey_event::parse_event(data), osprey_event::parse_event_reference(data));
    if let Ok(event) = osprey_event::parse_event(data) {
        let mut out = Vec::new();
        event.write_legacy_json(&mut out);
        // what the writer writes must read back
        assert!(osprey_event::parse_event(&out).is_ok());
        let want = osprey_dissect::Want::all();
        let mut tree = osprey_dissect::Tree::new(&want);
        let raw = osprey_dissect::event::raw_packet_bytes(&event);
        osprey_dissect::event::dissect(&event, raw.as_deref(), &Default::default(), &mut tree);
    }
});
