//! `dns.*`.

use crate::FieldDef;
use crate::FieldType::*;

crate::fields! { base 0x9000;
    DNS = FieldDef::new("dns", "Domain Name System", Protocol);
    QRY_NAME = FieldDef::new("dns.qry.name", "Name", String);
    QRY_TYPE = FieldDef::new("dns.qry.type", "Type", UInt);
    QRY_CLASS = FieldDef::new("dns.qry.class", "Class", UInt).hex(4);
    RESP_NAME = FieldDef::new("dns.resp.name", "Name", String);
    RESP_TYPE = FieldDef::new("dns.resp.type", "Type", UInt);
    RESP_TTL = FieldDef::new("dns.resp.ttl", "Time to live", Int);
    A = FieldDef::new("dns.a", "Address", Ipv4);
    AAAA = FieldDef::new("dns.aaaa", "AAAA Address", Ipv6);
    CNAME = FieldDef::new("dns.cname", "CNAME", String);
    FLAGS_RESPONSE = FieldDef::new("dns.flags.response", "Response", Bool);
}
