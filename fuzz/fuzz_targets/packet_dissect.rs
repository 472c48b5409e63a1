//! Packet dissectors on arbitrary bytes: no input may panic, loop or make a span point outside
//! the frame. The first byte chooses the link type, the second how much longer than captured
//! the packet claims to be (snap-length cuts); the rest is the packet.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use osprey_dissect::packet::{self, dissect_captured};
use osprey_dissect::{Tree, Want};

static ALL: LazyLock<Want> = LazyLock::new(Want::all);
static NONE: LazyLock<Want> = LazyLock::new(Want::none);
static COLUMNS: LazyLock<Want> = LazyLock::new(|| {
    let mut w = Want::none();
    w.columns();
    w
});

const LINK_TYPES: [u16; 10] = [
    packet::LINKTYPE_NULL,
    packet::LINKTYPE_ETHERNET,
    packet::LINKTYPE_RAW,
    packet::LINKTYPE_LOOP,
    packet::LINKTYPE_LINUX_SLL,
    packet::LINKTYPE_IPV4,
    packet::LINKTYPE_IPV6,
    packet::LINKTYPE_LINUX_SLL2,
    packet::DLT_RAW_12,
    147,
];

fuzz_target!(|data: &[u8]| {
    let [selector, extra, bytes @ ..] = data else {
        return;
    };
    let link = LINK_TYPES[usize::from(*selector) % LINK_TYPES.len()];
    let orig = bytes.len() + usize::from(*extra) * 4;
    for want in [&*ALL, &*NONE, &*COLUMNS] {
        let mut tree = Tree::new(want);
        dissect_captured(bytes, orig, link, &mut tree);
        for item in tree.items() {
            if let Some((s, e)) = item.span {
                assert!(
                    s <= e && e as usize <= bytes.len(),
                    "span {s}..{e} past {} bytes",
                    bytes.len()
                );
            }
        }
    }
});
