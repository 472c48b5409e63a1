//! `arp.*`: ARP over Ethernet/IPv4 (Wireshark's default coloring rules select `arp`).

use crate::FieldDef;
use crate::FieldType::*;

/// `arp.opcode`.
pub static OPCODES: &[(i64, &str)] = &[
    (1, "request"),
    (2, "reply"),
    (3, "reverse request"),
    (4, "reverse reply"),
    (8, "inverse request"),
    (9, "inverse reply"),
];

crate::fields! { base 0xC000;
    ARP = FieldDef::new("arp", "Address Resolution Protocol", Protocol);
    HW_TYPE = FieldDef::new("arp.hw.type", "Hardware type", UInt).strings(crate::fields::eth::ARPHRD_TYPES);
    PROTO_TYPE = FieldDef::new("arp.proto.type", "Protocol type", UInt).hex(4).strings(crate::fields::eth::ETHERTYPES);
    HW_SIZE = FieldDef::new("arp.hw.size", "Hardware size", UInt);
    PROTO_SIZE = FieldDef::new("arp.proto.size", "Protocol size", UInt);
    OPCODE = FieldDef::new("arp.opcode", "Opcode", UInt).strings(OPCODES);
    SRC_HW_MAC = FieldDef::new("arp.src.hw_mac", "Sender MAC address", Ether);
    SRC_PROTO_IPV4 = FieldDef::new("arp.src.proto_ipv4", "Sender IP address", Ipv4);
    DST_HW_MAC = FieldDef::new("arp.dst.hw_mac", "Target MAC address", Ether);
    DST_PROTO_IPV4 = FieldDef::new("arp.dst.proto_ipv4", "Target IP address", Ipv4);
    SRC_HW = FieldDef::new("arp.src.hw", "Sender hardware address", Bytes);
    SRC_PROTO = FieldDef::new("arp.src.proto", "Sender protocol address", Bytes);
    DST_HW = FieldDef::new("arp.dst.hw", "Target hardware address", Bytes);
    DST_PROTO = FieldDef::new("arp.dst.proto", "Target protocol address", Bytes);
    ISGRATUITOUS = FieldDef::new("arp.isgratuitous", "Is gratuitous", Bool).generated();
}
