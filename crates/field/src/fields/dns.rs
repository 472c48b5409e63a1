//! `dns.*` (with `mdns` and `llmnr`, which Wireshark dissects with the same fields), with
//! Wireshark 4.0's names, types and display bases.

use crate::FieldDef;
use crate::FieldType::*;

/// Resource record types (Wireshark's `dns_types_vals` subset, the names its Info column shows).
pub static TYPES: &[(i64, &str)] = &[
    (1, "A"),
    (2, "NS"),
    (3, "MD"),
    (4, "MF"),
    (5, "CNAME"),
    (6, "SOA"),
    (7, "MB"),
    (8, "MG"),
    (9, "MR"),
    (10, "NULL"),
    (11, "WKS"),
    (12, "PTR"),
    (13, "HINFO"),
    (14, "MINFO"),
    (15, "MX"),
    (16, "TXT"),
    (17, "RP"),
    (18, "AFSDB"),
    (24, "SIG"),
    (25, "KEY"),
    (28, "AAAA"),
    (29, "LOC"),
    (33, "SRV"),
    (35, "NAPTR"),
    (36, "KX"),
    (37, "CERT"),
    (39, "DNAME"),
    (41, "OPT"),
    (42, "APL"),
    (43, "DS"),
    (44, "SSHFP"),
    (45, "IPSECKEY"),
    (46, "RRSIG"),
    (47, "NSEC"),
    (48, "DNSKEY"),
    (49, "DHCID"),
    (50, "NSEC3"),
    (51, "NSEC3PARAM"),
    (52, "TLSA"),
    (53, "SMIMEA"),
    (55, "HIP"),
    (59, "CDS"),
    (60, "CDNSKEY"),
    (61, "OPENPGPKEY"),
    (62, "CSYNC"),
    (63, "ZONEMD"),
    (64, "SVCB"),
    (65, "HTTPS"),
    (99, "SPF"),
    (249, "TKEY"),
    (250, "TSIG"),
    (251, "IXFR"),
    (252, "AXFR"),
    (253, "MAILB"),
    (254, "MAILA"),
    (255, "ANY"),
    (256, "URI"),
    (257, "CAA"),
    (32768, "TA"),
    (32769, "DLV"),
];

/// Classes.
pub static CLASSES: &[(i64, &str)] = &[
    (1, "IN"),
    (2, "CS"),
    (3, "CH"),
    (4, "HS"),
    (254, "NONE"),
    (255, "ANY"),
];

/// Wireshark's descriptions of record types (`dns_types_description_vals`), which its DNS
/// statistics show (`A (Host Address)`).
pub static TYPE_DESCRIPTIONS: &[(i64, &str)] = &[
    (0, "Unused"),
    (1, "A (Host Address)"),
    (2, "NS (authoritative Name Server)"),
    (3, "MD (Mail Destination)"),
    (4, "MF (Mail Forwarder)"),
    (5, "CNAME (Canonical NAME for an alias)"),
    (6, "SOA (Start Of a zone of Authority)"),
    (7, "MB (MailBox domain name)"),
    (8, "MG (Mail Group member)"),
    (9, "MR (Mail Rename domain)"),
    (10, "NULL RR"),
    (11, "WKS (Well Known Service)"),
    (12, "PTR (domain name PoinTeR)"),
    (13, "HINFO (host information)"),
    (14, "MINFO (Mailbox or mail list information)"),
    (15, "MX (Mail eXchange)"),
    (16, "TXT (Text strings)"),
    (17, "RP (Responsible Person)"),
    (18, "AFSDB (AFS Data Base location)"),
    (19, "X25 (XX.25 PSDN address)"),
    (20, "ISDN (ISDN address)"),
    (21, "RT (Route Through)"),
    (22, "NSAP (NSAP address)"),
    (23, "NSAP-PTR (NSAP domain name pointer)"),
    (24, "SIG (security signature)"),
    (25, "KEY (security key)"),
    (26, "PX (X.400 mail mapping information)"),
    (27, "GPOS (Geographical Position)"),
    (28, "AAAA (IPv6 Address)"),
    (29, "LOC (Location Information)"),
    (30, "NXT (Next Domain)"),
    (31, "EID (Endpoint Identifier)"),
    (32, "NIMLOC (Nimrod Locator)"),
    (33, "SRV (Server Selection)"),
    (34, "ATMA (ATM Address)"),
    (35, "NAPTR (Naming Authority Pointer)"),
    (36, "KX (Key Exchanger)"),
    (37, "CERT"),
    (38, "A6 (OBSOLETE - use AAAA)"),
    (39, "DNAME"),
    (40, "SINK"),
    (41, "OPT"),
    (42, "APL"),
    (43, "DS (Delegation Signer)"),
    (44, "SSHFP (SSH Key Fingerprint)"),
    (45, "IPSECKEY"),
    (46, "RRSIG (Resource Record Signature)"),
    (47, "NSEC (Next Secure)"),
    (48, "DNSKEY (DNS Public Key)"),
    (49, "DHCID"),
    (50, "NSEC3"),
    (51, "NSEC3PARAM"),
    (52, "TLSA"),
    (55, "HIP (Host Identity Protocol)"),
    (57, "RKEY"),
    (58, "TALINK (Trust Anchor LINK)"),
    (59, "CDS (Child DS)"),
    (60, "CDNSKEY (DNSKEY(s) the Child wants reflected in DS)"),
    (61, "OPENPGPKEY (OpenPGP Key)"),
    (62, "CSYNC (Child-to-Parent Synchronization)"),
    (63, "ZONEMD"),
    (64, "SVCB (General Purpose Service Endpoints)"),
    (65, "HTTPS (HTTPS Specific Service Endpoints)"),
    (99, "SPF"),
    (100, "UINFO"),
    (101, "UID"),
    (102, "GID"),
    (103, "UNSPEC"),
    (104, "NID (NodeID)"),
    (105, "L32 (Locator32)"),
    (106, "L64 (Locator64)"),
    (107, "LP (Locator FQDN)"),
    (108, "EUI48"),
    (109, "EUI64"),
    (249, "TKEY (Transaction Key)"),
    (250, "TSIG (Transaction Signature)"),
    (251, "IXFR (incremental transfer)"),
    (252, "AXFR (transfer of an entire zone)"),
    (253, "MAILB (mailbox-related RRs)"),
    (254, "MAILA (mail agent RRs)"),
    (
        255,
        "* (A request for all records the server/cache has available)",
    ),
    (256, "URI"),
    (257, "CAA (Certification Authority Restriction)"),
    (32768, "TA (DNSSEC Trust Authorities)"),
    (32769, "DLV (DNSSEC Lookaside Validation)"),
    (65281, "WINS"),
    (65282, "WINS-R"),
    (65422, "XPF"),
];

/// `dns.flags.opcode`.
pub static OPCODES: &[(i64, &str)] = &[
    (0, "Standard query"),
    (1, "Inverse query"),
    (2, "Server status request"),
    (4, "Zone change notification"),
    (5, "Dynamic update"),
    (6, "DNS Stateful operations (DSO)"),
];

/// `dns.flags.rcode`.
pub static RCODES: &[(i64, &str)] = &[
    (0, "No error"),
    (1, "Format error"),
    (2, "Server failure"),
    (3, "No such name"),
    (4, "Not implemented"),
    (5, "Refused"),
    (6, "Name exists"),
    (7, "RRset exists"),
    (8, "RRset does not exist"),
    (9, "Not authoritative"),
    (10, "Name out of zone"),
    (11, "DSO-Type not implemented"),
    (16, "Bad OPT Version or TSIG Signature Failure"),
    (17, "Key not recognized"),
    (18, "Signature out of time window"),
    (19, "Bad TKEY Mode"),
    (20, "Duplicate key name"),
    (21, "Algorithm not supported"),
    (22, "Bad Truncation"),
    (23, "Bad/missing Server Cookie"),
];

crate::fields! { base 0x9000;
    DNS = FieldDef::new("dns", "Domain Name System", Protocol);
    QRY_NAME = FieldDef::new("dns.qry.name", "Name", String);
    QRY_TYPE = FieldDef::new("dns.qry.type", "Type", UInt).strings(TYPES).blurb("Query Type");
    QRY_CLASS = FieldDef::new("dns.qry.class", "Class", UInt).hex(4).strings(CLASSES).blurb("Query Class");
    RESP_NAME = FieldDef::new("dns.resp.name", "Name", String).blurb("Response Name");
    RESP_TYPE = FieldDef::new("dns.resp.type", "Type", UInt).strings(TYPES).blurb("Response Type");
    RESP_TTL = FieldDef::new("dns.resp.ttl", "Time to live", UInt).blurb("Response TTL");
    A = FieldDef::new("dns.a", "Address", Ipv4).blurb("Response Address");
    AAAA = FieldDef::new("dns.aaaa", "AAAA Address", Ipv6).blurb("AAAA Response Address");
    CNAME = FieldDef::new("dns.cname", "CNAME", String).blurb("Response Primary Name");
    FLAGS_RESPONSE = FieldDef::new("dns.flags.response", "Response", Bool).blurb("Is the message a response?");
    ID = FieldDef::new("dns.id", "Transaction ID", UInt).hex(4).blurb("Identification of transaction");
    LENGTH = FieldDef::new("dns.length", "Length", UInt).blurb("Length of DNS-over-TCP request or response");
    FLAGS = FieldDef::new("dns.flags", "Flags", UInt).hex(4);
    FLAGS_OPCODE = FieldDef::new("dns.flags.opcode", "Opcode", UInt).strings(OPCODES).blurb("Operation code");
    FLAGS_AUTHORITATIVE = FieldDef::new("dns.flags.authoritative", "Authoritative", Bool).blurb("Is the server is an authority for the domain?");
    FLAGS_CONFLICT = FieldDef::new("dns.flags.conflict", "Conflict", Bool).blurb("Did we receive multiple responses to a query?");
    FLAGS_TRUNCATED = FieldDef::new("dns.flags.truncated", "Truncated", Bool).blurb("Is the message truncated?");
    FLAGS_RECDESIRED = FieldDef::new("dns.flags.recdesired", "Recursion desired", Bool).blurb("Do query recursively?");
    FLAGS_TENTATIVE = FieldDef::new("dns.flags.tentative", "Tentative", Bool).blurb("Is the responder authoritative for the name, but not yet verified the uniqueness?");
    FLAGS_RECAVAIL = FieldDef::new("dns.flags.recavail", "Recursion available", Bool).blurb("Can the server do recursive queries?");
    FLAGS_Z = FieldDef::new("dns.flags.z", "Z", Bool).blurb("Z flag");
    FLAGS_AUTHENTICATED = FieldDef::new("dns.flags.authenticated", "Answer authenticated", Bool).blurb("Was the reply data authenticated by the server?");
    FLAGS_CHECKDISABLE = FieldDef::new("dns.flags.checkdisable", "Non-authenticated data", Bool).blurb("Is non-authenticated data acceptable?");
    FLAGS_RCODE = FieldDef::new("dns.flags.rcode", "Reply code", UInt).strings(RCODES);
    COUNT_QUERIES = FieldDef::new("dns.count.queries", "Questions", UInt).blurb("Number of queries in packet");
    COUNT_ANSWERS = FieldDef::new("dns.count.answers", "Answer RRs", UInt).blurb("Number of answers in packet");
    COUNT_AUTH_RR = FieldDef::new("dns.count.auth_rr", "Authority RRs", UInt).blurb("Number of authoritative records in packet");
    COUNT_ADD_RR = FieldDef::new("dns.count.add_rr", "Additional RRs", UInt).blurb("Number of additional records in packet");
    COUNT_ZONES = FieldDef::new("dns.count.zones", "Zones", UInt).blurb("Number of zones in packet");
    COUNT_PREREQUISITES = FieldDef::new("dns.count.prerequisites", "Prerequisites", UInt);
    COUNT_UPDATES = FieldDef::new("dns.count.updates", "Updates", UInt);
    QRY_NAME_LEN = FieldDef::new("dns.qry.name.len", "Name Length", UInt).generated().blurb("Query Name Len");
    COUNT_LABELS = FieldDef::new("dns.count.labels", "Label Count", UInt).generated().blurb("Query Label Count");
    QRY_QU = FieldDef::new("dns.qry.qu", "\"QU\" question", Bool).blurb("QU flag");
    RESP_CLASS = FieldDef::new("dns.resp.class", "Class", UInt).hex(4).strings(CLASSES).blurb("Response Class");
    RESP_CACHE_FLUSH = FieldDef::new("dns.resp.cache_flush", "Cache flush", Bool).blurb("Cache flush flag");
    RESP_LEN = FieldDef::new("dns.resp.len", "Data length", UInt).blurb("Response Length");
    RR_UDP_PAYLOAD_SIZE = FieldDef::new("dns.rr.udp_payload_size", "UDP payload size", UInt);
    RESP_EXT_RCODE = FieldDef::new("dns.resp.ext_rcode", "Higher bits in extended RCODE", UInt).hex(2);
    RESP_EDNS0_VERSION = FieldDef::new("dns.resp.edns0_version", "EDNS0 version", UInt);
    RESP_Z = FieldDef::new("dns.resp.z", "Z", UInt).hex(4);
    RESP_Z_DO = FieldDef::new("dns.resp.z.do", "DO bit", Bool).blurb("DNSSEC OK");
    RESP_Z_RESERVED = FieldDef::new("dns.resp.z.reserved", "Reserved", UInt).hex(4);
    NS = FieldDef::new("dns.ns", "Name Server", String);
    PTR_DOMAIN_NAME = FieldDef::new("dns.ptr.domain_name", "Domain Name", String);
    MX_PREFERENCE = FieldDef::new("dns.mx.preference", "Preference", UInt);
    MX_MAIL_EXCHANGE = FieldDef::new("dns.mx.mail_exchange", "Mail Exchange", String);
    TXT_LENGTH = FieldDef::new("dns.txt.length", "TXT Length", UInt);
    TXT = FieldDef::new("dns.txt", "TXT", String);
    SOA_MNAME = FieldDef::new("dns.soa.mname", "Primary name server", String);
    SOA_RNAME = FieldDef::new("dns.soa.rname", "Responsible authority's mailbox", String);
    SOA_SERIAL_NUMBER = FieldDef::new("dns.soa.serial_number", "Serial Number", UInt);
    SOA_REFRESH_INTERVAL = FieldDef::new("dns.soa.refresh_interval", "Refresh Interval", UInt);
    SOA_RETRY_INTERVAL = FieldDef::new("dns.soa.retry_interval", "Retry Interval", UInt);
    SOA_EXPIRE_LIMIT = FieldDef::new("dns.soa.expire_limit", "Expire limit", UInt);
    SOA_MINIMUM_TTL = FieldDef::new("dns.soa.minimum_ttl", "Minimum TTL", UInt);
    SRV_SERVICE = FieldDef::new("dns.srv.service", "Service", String);
    SRV_PROTO = FieldDef::new("dns.srv.proto", "Protocol", String);
    SRV_NAME = FieldDef::new("dns.srv.name", "Name", String);
    SRV_PRIORITY = FieldDef::new("dns.srv.priority", "Priority", UInt);
    SRV_WEIGHT = FieldDef::new("dns.srv.weight", "Weight", UInt);
    SRV_PORT = FieldDef::new("dns.srv.port", "Port", UInt);
    SRV_TARGET = FieldDef::new("dns.srv.target", "Target", String);
    MDNS = FieldDef::new("mdns", "Multicast Domain Name System", Protocol);
    LLMNR = FieldDef::new("llmnr", "Link-local Multicast Name Resolution", Protocol);
}
