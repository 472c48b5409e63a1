//! `icmp.*` and `icmpv6.*` (including neighbour discovery basics), with Wireshark 4.0's names.

use crate::FieldDef;
use crate::FieldType::*;

/// `icmp.type` names, as Wireshark's Info column shows them.
pub static ICMP_TYPES: &[(i64, &str)] = &[
    (0, "Echo (ping) reply"),
    (1, "Reserved"),
    (2, "Reserved"),
    (3, "Destination unreachable"),
    (4, "Source quench (flow control)"),
    (5, "Redirect"),
    (6, "Alternate host address"),
    (8, "Echo (ping) request"),
    (9, "Router advertisement"),
    (10, "Router solicitation"),
    (11, "Time-to-live exceeded"),
    (12, "Parameter problem"),
    (13, "Timestamp request"),
    (14, "Timestamp reply"),
    (15, "Information request"),
    (16, "Information reply"),
    (17, "Address mask request"),
    (18, "Address mask reply"),
    (40, "Photuris"),
    (42, "Extended Echo request"),
    (43, "Extended Echo reply"),
];

/// Codes of `Destination unreachable`.
pub static ICMP_UNREACH_CODES: &[(i64, &str)] = &[
    (0, "Network unreachable"),
    (1, "Host unreachable"),
    (2, "Protocol unreachable"),
    (3, "Port unreachable"),
    (4, "Fragmentation needed"),
    (5, "Source route failed"),
    (6, "Destination network unknown"),
    (7, "Destination host unknown"),
    (8, "Source host isolated"),
    (9, "Network administratively prohibited"),
    (10, "Host administratively prohibited"),
    (11, "Network unreachable for TOS"),
    (12, "Host unreachable for TOS"),
    (13, "Communication administratively filtered"),
    (14, "Host precedence violation"),
    (15, "Precedence cutoff in effect"),
];

/// Codes of `Redirect`.
pub static ICMP_REDIRECT_CODES: &[(i64, &str)] = &[
    (0, "Redirect for network"),
    (1, "Redirect for host"),
    (2, "Redirect for TOS and network"),
    (3, "Redirect for TOS and host"),
];

/// Codes of `Time-to-live exceeded`.
pub static ICMP_TIMXCEED_CODES: &[(i64, &str)] = &[
    (0, "Time to live exceeded in transit"),
    (1, "Fragment reassembly time exceeded"),
];

/// Codes of `Parameter problem`.
pub static ICMP_PARAMPROB_CODES: &[(i64, &str)] = &[
    (0, "Pointer indicates the error"),
    (1, "Required option missing"),
    (2, "Bad length"),
];

/// `icmpv6.type` names.
pub static ICMPV6_TYPES: &[(i64, &str)] = &[
    (1, "Destination Unreachable"),
    (2, "Packet Too Big"),
    (3, "Time Exceeded"),
    (4, "Parameter Problem"),
    (100, "Private experimentation"),
    (101, "Private experimentation"),
    (128, "Echo (ping) request"),
    (129, "Echo (ping) reply"),
    (130, "Multicast Listener Query"),
    (131, "Multicast Listener Report"),
    (132, "Multicast Listener Done"),
    (133, "Router Solicitation"),
    (134, "Router Advertisement"),
    (135, "Neighbor Solicitation"),
    (136, "Neighbor Advertisement"),
    (137, "Redirect"),
    (138, "Router Renumbering"),
    (139, "ICMP Node Information Query"),
    (140, "ICMP Node Information Response"),
    (141, "Inverse Neighbor Discovery Solicitation Message"),
    (142, "Inverse Neighbor Discovery Advertisement Message"),
    (143, "Multicast Listener Report Message v2"),
    (144, "Home Agent Address Discovery Request Message"),
    (145, "Home Agent Address Discovery Reply Message"),
    (146, "Mobile Prefix Solicitation"),
    (147, "Mobile Prefix Advertisement"),
    (148, "Certification Path Solicitation Message"),
    (149, "Certification Path Advertisement Message"),
    (151, "Multicast Router Advertisement"),
    (152, "Multicast Router Solicitation"),
    (153, "Multicast Router Termination"),
    (155, "RPL Control Message"),
    (200, "Private experimentation"),
    (201, "Private experimentation"),
];

/// Codes of ICMPv6 `Destination Unreachable`.
pub static ICMPV6_UNREACH_CODES: &[(i64, &str)] = &[
    (0, "no route to destination"),
    (1, "Administratively prohibited"),
    (2, "Beyond scope of source address"),
    (3, "Address unreachable"),
    (4, "Port unreachable"),
    (5, "Source address failed ingress/egress policy"),
    (6, "Reject route to destination"),
    (7, "Error in Source Routing Header"),
];

/// Codes of ICMPv6 `Time Exceeded`.
pub static ICMPV6_TIMXCEED_CODES: &[(i64, &str)] = &[
    (0, "hop limit exceeded in transit"),
    (1, "fragment reassembly time exceeded"),
];

/// Codes of ICMPv6 `Parameter Problem`.
pub static ICMPV6_PARAMPROB_CODES: &[(i64, &str)] = &[
    (0, "erroneous header field encountered"),
    (1, "unrecognized Next Header type encountered"),
    (2, "unrecognized IPv6 option encountered"),
    (3, "IPv6 First Fragment has incomplete IPv6 Header Chain"),
];

/// `icmpv6.opt.type`: neighbour discovery options.
pub static ICMPV6_OPTION_TYPES: &[(i64, &str)] = &[
    (1, "Source link-layer address"),
    (2, "Target link-layer address"),
    (3, "Prefix information"),
    (4, "Redirected header"),
    (5, "MTU"),
    (14, "Nonce"),
    (25, "Recursive DNS Server"),
    (31, "DNS Search List Option"),
];

crate::fields! { base 0x8000;
    ICMP = FieldDef::new("icmp", "Internet Control Message Protocol", Protocol);
    TYPE = FieldDef::new("icmp.type", "Type", UInt).strings(ICMP_TYPES);
    CODE = FieldDef::new("icmp.code", "Code", UInt);
    ICMPV6 = FieldDef::new("icmpv6", "Internet Control Message Protocol v6", Protocol);
    ICMPV6_TYPE = FieldDef::new("icmpv6.type", "Type", UInt).strings(ICMPV6_TYPES);
    ICMPV6_CODE = FieldDef::new("icmpv6.code", "Code", UInt);
    CHECKSUM = FieldDef::new("icmp.checksum", "Checksum", UInt).hex(4);
    CHECKSUM_STATUS = FieldDef::new("icmp.checksum.status", "Checksum Status", UInt).strings(crate::fields::ip::CHECKSUM_STATUS_VALS);
    IDENT = FieldDef::new("icmp.ident", "Identifier (BE)", UInt).blurb("Identifier (big endian representation)");
    IDENT_LE = FieldDef::new("icmp.ident_le", "Identifier (LE)", UInt).blurb("Identifier (little endian representation)");
    SEQ = FieldDef::new("icmp.seq", "Sequence Number (BE)", UInt).blurb("Sequence number (big endian representation)");
    SEQ_LE = FieldDef::new("icmp.seq_le", "Sequence Number (LE)", UInt).blurb("Sequence number (little endian representation)");
    MTU = FieldDef::new("icmp.mtu", "MTU of next hop", UInt);
    POINTER = FieldDef::new("icmp.pointer", "Pointer", UInt);
    REDIR_GW = FieldDef::new("icmp.redir_gw", "Gateway Address", Ipv4);
    UNUSED = FieldDef::new("icmp.unused", "Unused", Bytes);
    ICMPV6_CHECKSUM = FieldDef::new("icmpv6.checksum", "Checksum", UInt).hex(4);
    ICMPV6_CHECKSUM_STATUS = FieldDef::new("icmpv6.checksum.status", "Checksum Status", UInt).strings(crate::fields::ip::CHECKSUM_STATUS_VALS);
    ICMPV6_RESERVED = FieldDef::new("icmpv6.reserved", "Reserved", Bytes).blurb("Must be Zero");
    ICMPV6_MTU = FieldDef::new("icmpv6.mtu", "MTU", UInt).blurb("The Maximum Transmission Unit of the next-hop link");
    ICMPV6_POINTER = FieldDef::new("icmpv6.pointer", "Pointer", UInt).blurb("Identifies the octet offset within the invoking packet where the error was detected");
    ICMPV6_ECHO_IDENTIFIER = FieldDef::new("icmpv6.echo.identifier", "Identifier", UInt).hex(4).blurb("An identifier to aid in matching with Request and Reply");
    ICMPV6_ECHO_SEQUENCE = FieldDef::new("icmpv6.echo.sequence_number", "Sequence", UInt).blurb("A sequence number to aid in matching Echo Replies to this Echo Request");
    ICMPV6_DATA = FieldDef::new("icmpv6.data", "Data", Bytes);
    ND_RA_CUR_HOP_LIMIT = FieldDef::new("icmpv6.nd.ra.cur_hop_limit", "Cur hop limit", UInt);
    ND_RA_FLAG = FieldDef::new("icmpv6.nd.ra.flag", "Flags", UInt).hex(2);
    ND_RA_ROUTER_LIFETIME = FieldDef::new("icmpv6.nd.ra.router_lifetime", "Router lifetime (s)", UInt);
    ND_RA_REACHABLE_TIME = FieldDef::new("icmpv6.nd.ra.reachable_time", "Reachable time (ms)", UInt);
    ND_RA_RETRANS_TIMER = FieldDef::new("icmpv6.nd.ra.retrans_timer", "Retrans timer (ms)", UInt);
    ND_NS_TARGET = FieldDef::new("icmpv6.nd.ns.target_address", "Target Address", Ipv6);
    ND_NA_FLAG = FieldDef::new("icmpv6.nd.na.flag", "Flags", UInt).hex(8);
    ND_NA_FLAG_R = FieldDef::new("icmpv6.nd.na.flag.r", "Router", Bool);
    ND_NA_FLAG_S = FieldDef::new("icmpv6.nd.na.flag.s", "Solicited", Bool);
    ND_NA_FLAG_O = FieldDef::new("icmpv6.nd.na.flag.o", "Override", Bool);
    ND_NA_TARGET = FieldDef::new("icmpv6.nd.na.target_address", "Target Address", Ipv6);
    ND_RD_TARGET = FieldDef::new("icmpv6.nd.rd.target_address", "Target Address", Ipv6);
    RD_NA_DESTINATION = FieldDef::new("icmpv6.rd.na.destination_address", "Destination Address", Ipv6);
    OPT = FieldDef::new("icmpv6.opt", "ICMPv6 Option", None);
    OPT_TYPE = FieldDef::new("icmpv6.opt.type", "Type", UInt).strings(ICMPV6_OPTION_TYPES);
    OPT_LENGTH = FieldDef::new("icmpv6.opt.length", "Length", UInt).blurb("The length (in units of 8 bytes) of the option (including the Type and Length fields)");
    OPT_LINKADDR = FieldDef::new("icmpv6.opt.linkaddr", "Link-layer address", Bytes);
    OPT_SRC_LINKADDR = FieldDef::new("icmpv6.opt.src_linkaddr", "Source Link-layer address", Bytes);
    OPT_TARGET_LINKADDR = FieldDef::new("icmpv6.opt.target_linkaddr", "Target Link-layer address", Bytes);
    OPT_PREFIX_LENGTH = FieldDef::new("icmpv6.opt.prefix.length", "Prefix Length", UInt);
    OPT_PREFIX_VALID_LIFETIME = FieldDef::new("icmpv6.opt.prefix.valid_lifetime", "Valid Lifetime", UInt);
    OPT_PREFIX_PREFERRED_LIFETIME = FieldDef::new("icmpv6.opt.prefix.preferred_lifetime", "Preferred Lifetime", UInt);
    OPT_PREFIX = FieldDef::new("icmpv6.opt.prefix", "Prefix", Ipv6);
    OPT_MTU = FieldDef::new("icmpv6.opt.mtu", "MTU", UInt);
}
