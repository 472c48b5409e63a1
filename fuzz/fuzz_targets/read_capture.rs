//! The pcap/PcapNG reader on arbitrary bytes: framing, resynchronisation, block decoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use osprey_pcapng::{CaptureReader, Next};

fuzz_target!(|data: &[u8]| {
    if let Ok(mut r) = CaptureReader::new(data) {
        for _ in 0..100_000 {
            match r.next() {
                Next::End => break,
                Next::Packet(p) => {
                    let iface = &r.interfaces()[p.interface];
                    let _ = iface.ts_to_ns(p.ts_raw);
                    let _ = iface.description();
                }
                Next::Damage(_) => {}
            }
        }
    }
});
