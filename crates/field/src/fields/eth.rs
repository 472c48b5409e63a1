//! Link layers: `eth.*` (Ethernet II and 802.3 lengths), `vlan.*` (802.1Q tags), `ethertype`,
//! `null.*` (BSD loopback, Tracee's own captures), `sll.*` (Linux cooked captures v1 and v2),
//! `raw` (raw IP).
//! Names, types and display bases follow Wireshark 4.0 (`tshark -G fields`).

use crate::FieldDef;
use crate::FieldType::*;

/// Ethertypes Osprey dissects or commonly meets (Wireshark's `etype_vals` subset).
pub static ETHERTYPES: &[(i64, &str)] = &[
    (0x0800, "IPv4"),
    (0x0806, "ARP"),
    (0x8035, "RARP"),
    (0x8100, "802.1Q Virtual LAN"),
    (0x86dd, "IPv6"),
    (0x8847, "MPLS label switched packet"),
    (0x8863, "PPPoE Discovery"),
    (0x8864, "PPPoE Session"),
    (0x888e, "802.1X Authentication"),
    (0x88a8, "802.1ad Provider Bridge (Q-in-Q)"),
    (0x88cc, "802.1 Link Layer Discovery Protocol (LLDP)"),
    (0x9100, "VLAN-tagged frame (Q-in-Q)"),
];

/// `null.family`: BSD address families as loopback captures write them (Linux, the BSDs and
/// macOS disagree on IPv6, hence several values).
pub static NULL_FAMILIES: &[(i64, &str)] = &[
    (2, "IP"),
    (7, "OSI"),
    (10, "IPv6"),
    (23, "IPX"),
    (24, "IPv6"),
    (28, "IPv6"),
    (30, "IPv6"),
];

/// `sll.pkttype`.
pub static SLL_PKTTYPES: &[(i64, &str)] = &[
    (0, "Unicast to us"),
    (1, "Broadcast"),
    (2, "Multicast"),
    (3, "Unicast to another host"),
    (4, "Sent by us"),
];

/// `sll.hatype`: Linux ARPHRD_* values seen in cooked captures.
pub static ARPHRD_TYPES: &[(i64, &str)] = &[
    (1, "Ethernet"),
    (24, "IEEE 1394"),
    (32, "InfiniBand"),
    (512, "PPP"),
    (768, "IPIP"),
    (769, "IP6IP6"),
    (772, "Loopback"),
    (776, "IPv6-in-IPv4"),
    (778, "GRE"),
    (801, "IEEE 802.11"),
    (803, "IEEE 802.11 + radiotap header"),
    (823, "IP6GRE"),
    (824, "Netlink"),
    (65534, "None"),
];

crate::fields! { base 0x4000;
    ETH = FieldDef::new("eth", "Ethernet II", Protocol);
    ETH_DST = FieldDef::new("eth.dst", "Destination", Ether).blurb("Destination Hardware Address");
    ETH_SRC = FieldDef::new("eth.src", "Source", Ether).blurb("Source Hardware Address");
    ETH_ADDR = FieldDef::new("eth.addr", "Address", Ether).blurb("Source or Destination Hardware Address");
    ETH_TYPE = FieldDef::new("eth.type", "Type", UInt).hex(4).strings(ETHERTYPES);
    ETH_LEN = FieldDef::new("eth.len", "Length", UInt);
    ETH_DST_LG = FieldDef::new("eth.dst.lg", "LG bit", Bool).blurb("Specifies if this is an individual (unicast) or group (broadcast/multicast) address");
    ETH_DST_IG = FieldDef::new("eth.dst.ig", "IG bit", Bool).blurb("Specifies if this is an individual (unicast) or group (broadcast/multicast) address");
    ETH_SRC_LG = FieldDef::new("eth.src.lg", "LG bit", Bool);
    ETH_SRC_IG = FieldDef::new("eth.src.ig", "IG bit", Bool);
    ETH_LG = FieldDef::new("eth.lg", "LG bit", Bool);
    ETH_IG = FieldDef::new("eth.ig", "IG bit", Bool);
    ETH_PADDING = FieldDef::new("eth.padding", "Padding", Bytes).blurb("Ethernet Padding");
    ETH_TRAILER = FieldDef::new("eth.trailer", "Trailer", Bytes).blurb("Ethernet Trailer or Checksum");
    ETHERTYPE = FieldDef::new("ethertype", "Ethertype", Protocol);
    VLAN = FieldDef::new("vlan", "802.1Q Virtual LAN", Protocol);
    VLAN_PRIORITY = FieldDef::new("vlan.priority", "Priority", UInt).blurb("Descriptions are recommendations from IEEE standard 802.1Q-2014");
    VLAN_DEI = FieldDef::new("vlan.dei", "DEI", Bool).blurb("Drop Eligible Indicator");
    VLAN_ID = FieldDef::new("vlan.id", "ID", UInt).blurb("VLAN ID");
    VLAN_ETYPE = FieldDef::new("vlan.etype", "Type", UInt).hex(4).strings(ETHERTYPES);
    VLAN_LEN = FieldDef::new("vlan.len", "Length", UInt);
    NULL = FieldDef::new("null", "Null/Loopback", Protocol);
    NULL_FAMILY = FieldDef::new("null.family", "Family", UInt).strings(NULL_FAMILIES);
    NULL_TYPE = FieldDef::new("null.type", "Type", UInt).hex(4).strings(ETHERTYPES);
    SLL = FieldDef::new("sll", "Linux cooked capture", Protocol);
    SLL_PKTTYPE = FieldDef::new("sll.pkttype", "Packet type", UInt).strings(SLL_PKTTYPES);
    SLL_HATYPE = FieldDef::new("sll.hatype", "Link-layer address type", UInt).strings(ARPHRD_TYPES);
    SLL_HALEN = FieldDef::new("sll.halen", "Link-layer address length", UInt);
    SLL_SRC_ETH = FieldDef::new("sll.src.eth", "Source", Ether).blurb("Source link-layer address");
    SLL_SRC_IPV4 = FieldDef::new("sll.src.ipv4", "Source", Ipv4).blurb("Source link-layer address");
    SLL_SRC_OTHER = FieldDef::new("sll.src.other", "Source", Bytes).blurb("Source link-layer address");
    SLL_UNUSED = FieldDef::new("sll.unused", "Unused", Bytes).blurb("Unused bytes");
    SLL_ETYPE = FieldDef::new("sll.etype", "Protocol", UInt).hex(4).strings(ETHERTYPES).blurb("Ethernet protocol type");
    SLL_LTYPE = FieldDef::new("sll.ltype", "Protocol", UInt).hex(4).blurb("Linux protocol type");
    SLL_IFINDEX = FieldDef::new("sll.ifindex", "Interface index", UInt);
    RAW = FieldDef::new("raw", "Raw packet data", Protocol);
}
