//! `ip.*` (IPv4) and `ipv6.*` (IPv6 and its extension headers), with Wireshark 4.0's names,
//! types and display bases. Bit fields hold the masked, shifted value (as tshark prints them).

use crate::FieldDef;
use crate::FieldType::*;

/// `*.checksum.status`: Wireshark's `proto_checksum_vals`. Checksums that Wireshark does not
/// verify by default (IPv4, TCP, UDP) are `Unverified` (2).
pub static CHECKSUM_STATUS_VALS: &[(i64, &str)] = &[
    (0, "Bad"),
    (1, "Good"),
    (2, "Unverified"),
    (3, "Not present"),
    (4, "Illegal"),
];

/// `ip.opt.type`: IPv4 option numbers (copied flag, class and number together).
pub static IP_OPTION_TYPES: &[(i64, &str)] = &[
    (0, "End of Options List (EOL)"),
    (1, "No-Operation (NOP)"),
    (7, "Record Route"),
    (68, "Time Stamp"),
    (130, "Security"),
    (131, "Loose Source Route"),
    (136, "Stream ID"),
    (137, "Strict Source Route"),
    (148, "Router Alert"),
];

crate::fields! { base 0x5000;
    IP = FieldDef::new("ip", "Internet Protocol Version 4", Protocol);
    VERSION = FieldDef::new("ip.version", "Version", UInt);
    TTL = FieldDef::new("ip.ttl", "Time to Live", UInt);
    PROTO = FieldDef::new("ip.proto", "Protocol", UInt).strings(crate::fields::tracee::IP_PROTOCOLS);
    SRC = FieldDef::new("ip.src", "Source Address", Ipv4);
    DST = FieldDef::new("ip.dst", "Destination Address", Ipv4);
    ADDR = FieldDef::new("ip.addr", "Source or Destination Address", Ipv4);
    IPV6 = FieldDef::new("ipv6", "Internet Protocol Version 6", Protocol);
    IPV6_NXT = FieldDef::new("ipv6.nxt", "Next Header", UInt).strings(crate::fields::tracee::IP_PROTOCOLS);
    IPV6_HLIM = FieldDef::new("ipv6.hlim", "Hop Limit", UInt);
    IPV6_SRC = FieldDef::new("ipv6.src", "Source Address", Ipv6).blurb("Source IPv6 Address");
    IPV6_DST = FieldDef::new("ipv6.dst", "Destination Address", Ipv6).blurb("Destination IPv6 Address");
    IPV6_ADDR = FieldDef::new("ipv6.addr", "Source or Destination Address", Ipv6);
    HDR_LEN = FieldDef::new("ip.hdr_len", "Header Length", UInt).blurb("Header length in bytes");
    DSFIELD = FieldDef::new("ip.dsfield", "Differentiated Services Field", UInt).hex(2);
    DSFIELD_DSCP = FieldDef::new("ip.dsfield.dscp", "Differentiated Services Codepoint", UInt);
    DSFIELD_ECN = FieldDef::new("ip.dsfield.ecn", "Explicit Congestion Notification", UInt);
    LEN = FieldDef::new("ip.len", "Total Length", UInt);
    ID = FieldDef::new("ip.id", "Identification", UInt).hex(4);
    FLAGS = FieldDef::new("ip.flags", "Flags", UInt).hex(2).blurb("Flags (12 bits)");
    FLAGS_RB = FieldDef::new("ip.flags.rb", "Reserved bit", Bool);
    FLAGS_DF = FieldDef::new("ip.flags.df", "Don't fragment", Bool);
    FLAGS_MF = FieldDef::new("ip.flags.mf", "More fragments", Bool);
    FRAG_OFFSET = FieldDef::new("ip.frag_offset", "Fragment Offset", UInt).blurb("Fragment offset (13 bits)");
    CHECKSUM = FieldDef::new("ip.checksum", "Header Checksum", UInt).hex(4);
    CHECKSUM_STATUS = FieldDef::new("ip.checksum.status", "Header checksum status", UInt).strings(CHECKSUM_STATUS_VALS);
    SRC_HOST = FieldDef::new("ip.src_host", "Source Host", String);
    DST_HOST = FieldDef::new("ip.dst_host", "Destination Host", String);
    HOST = FieldDef::new("ip.host", "Source or Destination Host", String);
    OPT_TYPE = FieldDef::new("ip.opt.type", "Type", UInt).strings(IP_OPTION_TYPES);
    OPT_LEN = FieldDef::new("ip.opt.len", "Length", UInt);
    IPV6_VERSION = FieldDef::new("ipv6.version", "Version", UInt);
    IPV6_TCLASS = FieldDef::new("ipv6.tclass", "Traffic Class", UInt).hex(8);
    IPV6_TCLASS_DSCP = FieldDef::new("ipv6.tclass.dscp", "Differentiated Services Codepoint", UInt);
    IPV6_TCLASS_ECN = FieldDef::new("ipv6.tclass.ecn", "Explicit Congestion Notification", UInt);
    IPV6_FLOW = FieldDef::new("ipv6.flow", "Flow Label", UInt).hex(6);
    IPV6_PLEN = FieldDef::new("ipv6.plen", "Payload Length", UInt);
    IPV6_SRC_HOST = FieldDef::new("ipv6.src_host", "Source Host", String);
    IPV6_DST_HOST = FieldDef::new("ipv6.dst_host", "Destination Host", String);
    IPV6_HOST = FieldDef::new("ipv6.host", "Source or Destination Host", String);
    HOPOPTS = FieldDef::new("ipv6.hopopts", "IPv6 Hop-by-Hop Option", Protocol);
    HOPOPTS_NXT = FieldDef::new("ipv6.hopopts.nxt", "Next Header", UInt).strings(crate::fields::tracee::IP_PROTOCOLS);
    HOPOPTS_LEN = FieldDef::new("ipv6.hopopts.len", "Length", UInt).blurb("Extension header length in 8-octet words (minus 1)");
    HOPOPTS_LEN_OCT = FieldDef::new("ipv6.hopopts.len_oct", "Length", UInt).generated().blurb("Extension header length in octets");
    DSTOPTS = FieldDef::new("ipv6.dstopts", "Destination Options for IPv6", Protocol);
    DSTOPTS_NXT = FieldDef::new("ipv6.dstopts.nxt", "Next Header", UInt).strings(crate::fields::tracee::IP_PROTOCOLS);
    DSTOPTS_LEN = FieldDef::new("ipv6.dstopts.len", "Length", UInt);
    DSTOPTS_LEN_OCT = FieldDef::new("ipv6.dstopts.len_oct", "Length", UInt).generated();
    ROUTING = FieldDef::new("ipv6.routing", "Routing Header for IPv6", Protocol);
    ROUTING_NXT = FieldDef::new("ipv6.routing.nxt", "Next Header", UInt).strings(crate::fields::tracee::IP_PROTOCOLS);
    ROUTING_LEN = FieldDef::new("ipv6.routing.len", "Length", UInt);
    ROUTING_LEN_OCT = FieldDef::new("ipv6.routing.len_oct", "Length", UInt).generated();
    ROUTING_TYPE = FieldDef::new("ipv6.routing.type", "Type", UInt);
    ROUTING_SEGLEFT = FieldDef::new("ipv6.routing.segleft", "Segments Left", UInt);
    FRAGHDR = FieldDef::new("ipv6.fraghdr", "Fragment Header for IPv6", Protocol);
    FRAGHDR_NXT = FieldDef::new("ipv6.fraghdr.nxt", "Next header", UInt).strings(crate::fields::tracee::IP_PROTOCOLS);
    FRAGHDR_OFFSET = FieldDef::new("ipv6.fraghdr.offset", "Offset", UInt).blurb("Fragment Offset");
    FRAGHDR_MORE = FieldDef::new("ipv6.fraghdr.more", "More Fragments", Bool);
    FRAGHDR_IDENT = FieldDef::new("ipv6.fraghdr.ident", "Identification", UInt).hex(8).blurb("Fragment Identification");
}
