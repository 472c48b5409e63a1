//! `ip.*` and `ipv6.*`.

use crate::FieldDef;
use crate::FieldType::*;

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
    IPV6_SRC = FieldDef::new("ipv6.src", "Source Address", Ipv6);
    IPV6_DST = FieldDef::new("ipv6.dst", "Destination Address", Ipv6);
    IPV6_ADDR = FieldDef::new("ipv6.addr", "Source or Destination Address", Ipv6);
}
