//! Tracee's complex argument types (analyzer.md §2), each with its own sub-fields, including the
//! ones Traceeshark leaves "unsupported" (`trace.ProtoDNS`, `ProtoTCP`, `ProtoUDP`,
//! `ProtoICMP`, `ProtoICMPv6`, `ProtoIPv4`, `ProtoIPv6`, `ProtoHTTPResponse`).
//!
//! JSON keys are read under every spelling Tracee has used (legacy camelCase, v1beta1
//! snake_case), since both generations reach the same dissector.

use std::borrow::Cow;

use osprey_event::Value;
use osprey_field::fields::{dns, http, icmp, tracee as t};
use osprey_field::{FieldId, FieldValue};

use super::net::{self, Transport};
use super::Findings;
use crate::Tree;

/// Which complex type an argument holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Complex {
    SockAddr,
    Cred,
    PktMeta,
    DnsQueries,
    DnsResponses,
    HttpRequest,
    Http,
    HttpResponse,
    PacketMetadata,
    HookedSymbols,
    Ipv4,
    Ipv6,
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    Dns,
    Lineage,
    RootCause,
    DetectedFrom,
}

impl Complex {
    /// The complex type of an argument, from its Tracee type name (and, for the signature
    /// arguments that have no type name of their own, its argument name).
    pub(crate) fn of(ty: &str, name: &str) -> Option<Complex> {
        Some(match ty {
            "SockAddr" | "struct sockaddr*" | "struct sockaddr *" | "sockaddr" => Complex::SockAddr,
            "slim_cred_t" | "trace.SlimCred" => Complex::Cred,
            "trace.PktMeta" => Complex::PktMeta,
            "[]trace.DnsQueryData" => Complex::DnsQueries,
            "[]trace.DnsResponseData" => Complex::DnsResponses,
            "trace.ProtoHTTPRequest" => Complex::HttpRequest,
            "trace.ProtoHTTP" => Complex::Http,
            "trace.ProtoHTTPResponse" => Complex::HttpResponse,
            "trace.PacketMetadata" => Complex::PacketMetadata,
            "map[string]trace.HookedSymbolData" | "[]trace.HookedSymbolData" => {
                Complex::HookedSymbols
            }
            "trace.ProtoIPv4" => Complex::Ipv4,
            "trace.ProtoIPv6" => Complex::Ipv6,
            "trace.ProtoTCP" => Complex::Tcp,
            "trace.ProtoUDP" => Complex::Udp,
            "trace.ProtoICMP" => Complex::Icmp,
            "trace.ProtoICMPv6" => Complex::Icmpv6,
            "trace.ProtoDNS" => Complex::Dns,
            _ => match name {
                "Process lineage" | "Process_lineage" | "process_lineage" => Complex::Lineage,
                "triggeredBy" | "detectedFrom" | "triggered_by" | "detected_from" => {
                    Complex::DetectedFrom
                }
                "rootCause" | "Root cause" | "root_cause" => Complex::RootCause,
                _ => return None,
            },
        })
    }
}

/// The first value found under any of `keys`.
fn get<'v, 'a>(v: &'v Value<'a>, keys: &[&str]) -> Option<&'v Value<'a>> {
    keys.iter().find_map(|k| v.get(k))
}

fn str_field<'a>(tree: &mut Tree<'a>, field: FieldId, v: &'a Value<'a>, keys: &[&str]) {
    if tree.wants(field) {
        if let Some(x) = get(v, keys).filter(|x| !x.is_null()) {
            tree.add(field, FieldValue::Str(net::text(x)));
        }
    }
}

fn uint_field<'a>(tree: &mut Tree<'a>, field: FieldId, v: &'a Value<'a>, keys: &[&str]) {
    if let Some(x) = get(v, keys).and_then(Value::as_u64) {
        tree.add(field, FieldValue::UInt(x));
    }
}

fn int_field<'a>(tree: &mut Tree<'a>, field: FieldId, v: &'a Value<'a>, keys: &[&str]) {
    if let Some(x) = get(v, keys).and_then(Value::as_i64) {
        tree.add(field, FieldValue::Int(x));
    }
}

fn as_str<'a>(v: &'a Value<'a>, keys: &[&str]) -> Option<&'a str> {
    get(v, keys).and_then(Value::as_str)
}

/// A socket address as the Info column and the network mapping use it.
#[derive(Clone, Debug, Default)]
pub(crate) struct SockAddr<'a> {
    pub family: Cow<'a, str>,
    pub addr: Option<Cow<'a, str>>,
    pub port: Option<Cow<'a, str>>,
}

/// The family name of a `sa_family` value: Tracee writes `"AF_INET"`, v1beta1 an enum name
/// or number.
fn family_name(v: &Value<'_>) -> Cow<'static, str> {
    match v.as_i64() {
        Some(1) => "AF_UNIX".into(),
        Some(2) => "AF_INET".into(),
        Some(10) => "AF_INET6".into(),
        Some(n) => n.to_string().into(),
        None => v.as_str().unwrap_or("").to_string().into(),
    }
}

/// Dissects one complex argument value. `socket_type` is the event's `type` argument, which
/// tells TCP from UDP for a socket address.
pub(crate) fn dissect<'a>(
    kind: Complex,
    v: &'a Value<'a>,
    socket_type: Option<Transport>,
    tree: &mut Tree<'a>,
    findings: &mut Findings<'a>,
) {
    match kind {
        Complex::SockAddr => sockaddr(v, socket_type, tree, findings),
        Complex::Cred => cred(v, tree),
        Complex::PktMeta => pktmeta(v, tree, findings),
        Complex::DnsQueries => {
            for q in v.as_array().unwrap_or(&[]) {
                dns_query(q, tree);
            }
        }
        Complex::DnsResponses => dns_responses(v, tree),
        Complex::HttpRequest => http_request(v, tree, findings),
        Complex::Http => match as_str(v, &["direction"]) {
            Some("response") => http_common(v, HttpKind::Tracee(false), tree, findings),
            _ => http_common(v, HttpKind::Tracee(true), tree, findings),
        },
        Complex::HttpResponse => http_common(v, HttpKind::Response, tree, findings),
        Complex::PacketMetadata => {
            if let Some(d) = get(v, &["direction"]).and_then(|d| {
                d.as_u64().or_else(|| match d.as_str()? {
                    "INGRESS" | "ingress" => Some(1),
                    "EGRESS" | "egress" => Some(2),
                    "INVALID" | "invalid" => Some(0),
                    _ => None,
                })
            }) {
                tree.add(t::PACKET_METADATA_DIRECTION, FieldValue::UInt(d));
            }
            // v1beta1 packet metadata carries addresses too.
            if get(v, &["src_ip", "srcIp"]).is_some() {
                pktmeta(v, tree, findings);
            }
        }
        Complex::HookedSymbols => hooked_symbols(v, tree),
        Complex::Ipv4 | Complex::Ipv6 => ip_header(kind == Complex::Ipv6, v, tree, findings),
        Complex::Tcp => tcp_header(v, tree),
        Complex::Udp => {
            uint_field(tree, t::UDP_SRC_PORT, v, &["srcPort", "src_port"]);
            uint_field(tree, t::UDP_DST_PORT, v, &["dstPort", "dst_port"]);
            uint_field(tree, t::UDP_LENGTH, v, &["length"]);
            uint_field(tree, t::UDP_CHECKSUM, v, &["checksum"]);
            net::ports(
                tree,
                Transport::Udp,
                net::port(get(v, &["srcPort", "src_port"])),
                net::port(get(v, &["dstPort", "dst_port"])),
            );
        }
        Complex::Icmp | Complex::Icmpv6 => icmp_header(kind == Complex::Icmpv6, v, tree),
        Complex::Dns => proto_dns(v, tree, findings),
        Complex::Lineage => lineage(v, tree),
        Complex::RootCause => {
            let origin = match v {
                Value::Str(s) => Some(Cow::Borrowed(s.as_ref())),
                _ => get(v, &["origin", "Origin"]).map(net::text),
            };
            if let Some(o) = origin {
                tree.add(t::ROOT_CAUSE_ORIGIN, FieldValue::Str(o));
            }
        }
        // Handled by the argument dissector, which recurses into the triggering event.
        Complex::DetectedFrom => {}
    }
}

fn sockaddr<'a>(
    v: &'a Value<'a>,
    socket_type: Option<Transport>,
    tree: &mut Tree<'a>,
    findings: &mut Findings<'a>,
) {
    let family = get(v, &["sa_family", "saFamily"])
        .map(family_name)
        .unwrap_or_default();
    tree.add(t::SOCKADDR_SA_FAMILY, FieldValue::Str(family.clone()));
    let (addr, port) = match family.as_ref() {
        "AF_INET" => (
            get(v, &["sin_addr", "sinAddr"]),
            get(v, &["sin_port", "sinPort"]),
        ),
        "AF_INET6" => (
            get(v, &["sin6_addr", "sin6Addr"]),
            get(v, &["sin6_port", "sin6Port"]),
        ),
        "AF_UNIX" => (get(v, &["sun_path", "sunPath"]), None),
        _ => (None, None),
    };
    str_field(tree, t::SOCKADDR_SUN_PATH, v, &["sun_path", "sunPath"]);
    str_field(tree, t::SOCKADDR_SIN_ADDR, v, &["sin_addr", "sinAddr"]);
    str_field(tree, t::SOCKADDR_SIN_PORT, v, &["sin_port", "sinPort"]);
    str_field(tree, t::SOCKADDR_SIN6_ADDR, v, &["sin6_addr", "sin6Addr"]);
    str_field(tree, t::SOCKADDR_SIN6_PORT, v, &["sin6_port", "sin6Port"]);
    str_field(
        tree,
        t::SOCKADDR_SIN6_FLOWINFO,
        v,
        &["sin6_flowinfo", "sin6Flowinfo"],
    );
    str_field(
        tree,
        t::SOCKADDR_SIN6_SCOPEID,
        v,
        &["sin6_scopeid", "sin6Scopeid"],
    );
    let addr_text = addr.map(net::text);
    if family != "AF_UNIX" {
        if let Some(a) = addr_text.as_deref() {
            // Direction is unknown: the address is both source and destination, as in
            // Traceeshark.
            if net::addresses(tree, Some(a), Some(a)) {
                let p = net::port(port);
                net::ports(tree, socket_type.unwrap_or(Transport::Either), p, p);
            }
        }
    }
    if findings.sockaddr.is_none() {
        if family != "AF_UNIX" {
            findings.source = addr_text.clone();
            findings.destination = addr_text.clone();
        }
        findings.sockaddr = Some(SockAddr {
            family,
            addr: addr_text,
            port: port.map(net::text),
        });
    }
}

fn cred<'a>(v: &'a Value<'a>, tree: &mut Tree<'a>) {
    let fields = [
        (t::CRED_UID, ["Uid", "uid"]),
        (t::CRED_GID, ["Gid", "gid"]),
        (t::CRED_SUID, ["Suid", "suid"]),
        (t::CRED_SGID, ["Sgid", "sgid"]),
        (t::CRED_EUID, ["Euid", "euid"]),
        (t::CRED_EGID, ["Egid", "egid"]),
        (t::CRED_FSUID, ["Fsuid", "fsuid"]),
        (t::CRED_FSGID, ["Fsgid", "fsgid"]),
        (t::CRED_USER_NAMESPACE, ["UserNamespace", "user_namespace"]),
        (t::CRED_SECURE_BITS, ["SecureBits", "secure_bits"]),
        (
            t::CRED_CAP_INHERITABLE,
            ["CapInheritable", "cap_inheritable"],
        ),
        (t::CRED_CAP_PERMITTED, ["CapPermitted", "cap_permitted"]),
        (t::CRED_CAP_EFFECTIVE, ["CapEffective", "cap_effective"]),
        (t::CRED_CAP_BOUNDING, ["CapBounding", "cap_bounding"]),
        (t::CRED_CAP_AMBIENT, ["CapAmbient", "cap_ambient"]),
    ];
    for (field, keys) in fields {
        match get(v, &keys) {
            // v1beta1 capabilities are lists of capability names.
            Some(Value::Array(caps)) => {
                for c in caps {
                    tree.add(field, FieldValue::Str(net::text(c)));
                }
            }
            Some(x) => {
                if let Some(n) = x.as_i64() {
                    tree.add(field, FieldValue::Int(n));
                } else if let Some(n) = x.get("value").and_then(Value::as_i64) {
                    tree.add(field, FieldValue::Int(n));
                }
            }
            None => {}
        }
    }
}

fn pktmeta<'a>(v: &'a Value<'a>, tree: &mut Tree<'a>, findings: &mut Findings<'a>) {
    str_field(tree, t::PKTMETA_SRC_IP, v, &["src_ip", "srcIp"]);
    str_field(tree, t::PKTMETA_DST_IP, v, &["dst_ip", "dstIp"]);
    uint_field(tree, t::PKTMETA_SRC_PORT, v, &["src_port", "srcPort"]);
    uint_field(tree, t::PKTMETA_DST_PORT, v, &["dst_port", "dstPort"]);
    uint_field(tree, t::PKTMETA_PROTOCOL, v, &["protocol"]);
    uint_field(tree, t::PKTMETA_PACKET_LEN, v, &["packet_len", "packetLen"]);
    str_field(tree, t::PKTMETA_IFACE, v, &["iface"]);
    let src = as_str(v, &["src_ip", "srcIp"]);
    let dst = as_str(v, &["dst_ip", "dstIp"]);
    if net::addresses(tree, src, dst) {
        let v6 = src.or(dst).is_some_and(|a| a.contains(':'));
        let proto = get(v, &["protocol"]).and_then(Value::as_i64).unwrap_or(-1);
        net::ip_proto(tree, proto, v6);
        // The packet's length, for statistics that count bytes (conversations, endpoints).
        if let Some(len) = get(v, &["packet_len", "packetLen"]).and_then(Value::as_u64) {
            net::ip_len(tree, len, v6);
        }
        if let Some(transport) = Transport::from_ip_proto(proto) {
            net::ports(
                tree,
                transport,
                net::port(get(v, &["src_port", "srcPort"])),
                net::port(get(v, &["dst_port", "dstPort"])),
            );
        }
    }
    if findings.source.is_none() {
        findings.source = src.map(Cow::Borrowed);
        findings.destination = dst.map(Cow::Borrowed);
    }
}

fn dns_query<'a>(q: &'a Value<'a>, tree: &mut Tree<'a>) {
    str_field(tree, t::DNSQUERY_QUERY, q, &["query", "name"]);
    str_field(
        tree,
        t::DNSQUERY_TYPE,
        q,
        &["query_type", "queryType", "type"],
    );
    str_field(
        tree,
        t::DNSQUERY_CLASS,
        q,
        &["query_class", "queryClass", "class"],
    );
    tree.add_hidden(dns::DNS, FieldValue::None);
    if let Some(name) = as_str(q, &["query", "name"]) {
        tree.add_hidden(dns::QRY_NAME, FieldValue::Str(Cow::Borrowed(name)));
    }
    if let Some(ty) = as_str(q, &["query_type", "queryType", "type"]).and_then(net::dns_type_number)
    {
        tree.add_hidden(dns::QRY_TYPE, FieldValue::UInt(ty));
    }
}

fn dns_responses<'a>(v: &'a Value<'a>, tree: &mut Tree<'a>) {
    tree.add_hidden(dns::FLAGS_RESPONSE, FieldValue::Bool(true));
    for r in v.as_array().unwrap_or(&[]) {
        let query = get(
            r,
            &["query_data", "queryData", "dns_query_data", "dnsQueryData"],
        );
        if let Some(q) = query {
            dns_query(q, tree);
        }
        let name = query.and_then(|q| as_str(q, &["query", "name"]));
        for a in get(r, &["dns_answer", "dnsAnswer"])
            .and_then(Value::as_array)
            .unwrap_or(&[])
        {
            str_field(
                tree,
                t::DNSANSWER_TYPE,
                a,
                &["answer_type", "answerType", "type"],
            );
            uint_field(tree, t::DNSANSWER_TTL, a, &["ttl", "TTL"]);
            str_field(tree, t::DNSANSWER_ANSWER, a, &["answer"]);
            let ty = as_str(a, &["answer_type", "answerType", "type"]).unwrap_or("");
            dns_answer(
                tree,
                name,
                ty,
                get(a, &["ttl", "TTL"]).and_then(Value::as_i64),
                as_str(a, &["answer"]),
            );
        }
    }
}

/// Maps one DNS answer onto `dns.resp.*`, `dns.a`, `dns.aaaa`, `dns.cname`.
fn dns_answer<'a>(
    tree: &mut Tree<'a>,
    name: Option<&'a str>,
    ty: &str,
    ttl: Option<i64>,
    data: Option<&'a str>,
) {
    if let Some(n) = name {
        tree.add_hidden(dns::RESP_NAME, FieldValue::Str(Cow::Borrowed(n)));
    }
    if let Some(t) = net::dns_type_number(ty) {
        tree.add_hidden(dns::RESP_TYPE, FieldValue::UInt(t));
    }
    if let Some(ttl) = ttl.filter(|t| *t >= 0) {
        tree.add_hidden(dns::RESP_TTL, FieldValue::UInt(ttl as u64));
    }
    let Some(data) = data.filter(|d| !d.is_empty()) else {
        return;
    };
    match ty.to_ascii_uppercase().as_str() {
        "A" => {
            if let Ok(a) = data.parse() {
                tree.add_hidden(dns::A, FieldValue::Ipv4(a));
            }
        }
        "AAAA" => {
            if let Ok(a) = data.parse() {
                tree.add_hidden(dns::AAAA, FieldValue::Ipv6(a));
            }
        }
        "CNAME" => tree.add_hidden(dns::CNAME, FieldValue::Str(Cow::Borrowed(data))),
        _ => {}
    }
}

/// gopacket's opcode names (Tracee lowercases them) to DNS opcodes.
fn dns_opcode(v: &Value<'_>) -> u16 {
    if let Some(n) = v.as_u64() {
        return (n & 0xf) as u16;
    }
    match v.as_str().unwrap_or("").to_ascii_lowercase().as_str() {
        "inverse query" | "iquery" => 1,
        "status" => 2,
        "notify" => 4,
        "update" => 5,
        _ => 0,
    }
}

/// gopacket's response code names (Tracee lowercases them) to DNS reply codes.
fn dns_rcode(v: &Value<'_>) -> u16 {
    if let Some(n) = v.as_u64() {
        return (n & 0xf) as u16;
    }
    const NAMES: &[(&str, u16)] = &[
        ("no error", 0),
        ("format error", 1),
        ("server failure", 2),
        ("non-existent domain", 3),
        ("not implemented", 4),
        ("query refused", 5),
        ("name exists when it should not", 6),
        ("rr set exists when it should not", 7),
        ("rr set that should exist does not", 8),
        ("server not authoritative for zone", 9),
        ("name not contained in zone", 10),
    ];
    let name = v.as_str().unwrap_or("").to_ascii_lowercase();
    NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(0, |(_, c)| *c)
}

/// `trace.ProtoDNS` (gopacket's `layers.DNS`): the whole message, on Tracee's own
/// `tracee.proto_dns.*` fields and on every `dns.*` field Wireshark fills for the same message,
/// with Wireshark's Info text (`Standard query response 0x2a7c A ebpf.io A 104.198.14.52 ...`).
fn proto_dns<'a>(v: &'a Value<'a>, tree: &mut Tree<'a>, findings: &mut Findings<'a>) {
    use crate::packet::dns as wire;

    uint_field(tree, t::DNS_ID, v, &["ID", "id"]);
    uint_field(tree, t::DNS_QR, v, &["QR", "qr"]);
    str_field(tree, t::DNS_OPCODE, v, &["opCode", "op_code"]);
    uint_field(tree, t::DNS_AA, v, &["AA", "aa"]);
    uint_field(tree, t::DNS_TC, v, &["TC", "tc"]);
    uint_field(tree, t::DNS_RD, v, &["RD", "rd"]);
    uint_field(tree, t::DNS_RA, v, &["RA", "ra"]);
    uint_field(tree, t::DNS_Z, v, &["Z", "z"]);
    str_field(
        tree,
        t::DNS_RESPONSE_CODE,
        v,
        &["responseCode", "response_code"],
    );
    uint_field(tree, t::DNS_QDCOUNT, v, &["QDCount", "qd_count"]);
    uint_field(tree, t::DNS_ANCOUNT, v, &["ANCount", "an_count"]);
    uint_field(tree, t::DNS_NSCOUNT, v, &["NSCount", "ns_count"]);
    uint_field(tree, t::DNS_ARCOUNT, v, &["ARCount", "ar_count"]);

    // The header as Wireshark reads it from the wire: gopacket keeps each flag, and `Z` holds
    // the three bits Z, AD and CD.
    let bit = |keys: &[&str]| get(v, keys).and_then(Value::as_u64).unwrap_or(0) & 1;
    let id = get(v, &["ID", "id"]).and_then(Value::as_u64).unwrap_or(0) as u16;
    let response = bit(&["QR", "qr"]) == 1;
    let opcode = get(v, &["opCode", "op_code"]).map_or(0, dns_opcode);
    let rcode = get(v, &["responseCode", "response_code"]).map_or(0, dns_rcode);
    let z3 = get(v, &["Z", "z"]).and_then(Value::as_u64).unwrap_or(0) & 7;
    let flags: u64 = (u64::from(response) << 15)
        | (u64::from(opcode) << 11)
        | (bit(&["AA", "aa"]) << 10)
        | (bit(&["TC", "tc"]) << 9)
        | (bit(&["RD", "rd"]) << 8)
        | (bit(&["RA", "ra"]) << 7)
        | (z3 << 4)
        | u64::from(rcode);
    let set = |b: u64| FieldValue::Bool(flags & b != 0);
    tree.add_hidden(dns::DNS, FieldValue::None);
    tree.add_hidden(dns::ID, FieldValue::UInt(id.into()));
    tree.add_hidden(dns::FLAGS, FieldValue::UInt(flags));
    tree.add_hidden(dns::FLAGS_RESPONSE, FieldValue::Bool(response));
    tree.add_hidden(dns::FLAGS_OPCODE, FieldValue::UInt(opcode.into()));
    if response {
        tree.add_hidden(dns::FLAGS_AUTHORITATIVE, set(0x400));
    }
    tree.add_hidden(dns::FLAGS_TRUNCATED, set(0x200));
    tree.add_hidden(dns::FLAGS_RECDESIRED, set(0x100));
    if response {
        tree.add_hidden(dns::FLAGS_RECAVAIL, set(0x80));
    }
    tree.add_hidden(dns::FLAGS_Z, set(0x40));
    // Queries show the AD bit only when it is set, as Wireshark does.
    if response || flags & 0x20 != 0 {
        tree.add_hidden(dns::FLAGS_AUTHENTICATED, set(0x20));
    }
    tree.add_hidden(dns::FLAGS_CHECKDISABLE, set(0x10));
    if response {
        tree.add_hidden(dns::FLAGS_RCODE, FieldValue::UInt(rcode.into()));
    }
    let count_fields = if opcode == 5 {
        [
            dns::COUNT_ZONES,
            dns::COUNT_PREREQUISITES,
            dns::COUNT_UPDATES,
            dns::COUNT_ADD_RR,
        ]
    } else {
        [
            dns::COUNT_QUERIES,
            dns::COUNT_ANSWERS,
            dns::COUNT_AUTH_RR,
            dns::COUNT_ADD_RR,
        ]
    };
    let count_keys: [&[&str]; 4] = [
        &["QDCount", "qd_count"],
        &["ANCount", "an_count"],
        &["NSCount", "ns_count"],
        &["ARCount", "ar_count"],
    ];
    for (field, keys) in count_fields.into_iter().zip(count_keys) {
        if let Some(n) = get(v, keys).and_then(Value::as_u64) {
            tree.add_hidden(field, FieldValue::UInt(n));
        }
    }

    let mut info = tree.wants_columns().then(|| {
        let mut s = String::with_capacity(64);
        wire::info_header(&mut s, opcode, response, id, rcode);
        s
    });
    for q in get(v, &["questions"])
        .and_then(Value::as_array)
        .unwrap_or(&[])
    {
        str_field(tree, t::DNS_QUESTION_NAME, q, &["name"]);
        str_field(tree, t::DNS_QUESTION_TYPE, q, &["type"]);
        str_field(tree, t::DNS_QUESTION_CLASS, q, &["class"]);
        let name = dns_name(as_str(q, &["name"]).unwrap_or(""));
        let ty = as_str(q, &["type"]).and_then(net::dns_type_number);
        if let Some(s) = info.as_mut() {
            wire::info_question(s, ty.unwrap_or(0) as u16, &name);
        }
        let labels = if name == "<Root>" {
            0
        } else {
            name.split('.').count() as u64
        };
        tree.add_hidden(dns::QRY_NAME_LEN, FieldValue::UInt(name.len() as u64));
        tree.add_hidden(dns::COUNT_LABELS, FieldValue::UInt(labels));
        tree.add_hidden(dns::QRY_NAME, FieldValue::Str(name));
        if let Some(ty) = ty {
            tree.add_hidden(dns::QRY_TYPE, FieldValue::UInt(ty));
        }
        if let Some(c) = as_str(q, &["class"]).and_then(net::dns_class_number) {
            tree.add_hidden(dns::QRY_CLASS, FieldValue::UInt(c));
        }
    }
    for section in ["answers", "authorities", "additionals"] {
        for rr in get(v, &[section]).and_then(Value::as_array).unwrap_or(&[]) {
            tree.add(t::DNS_RR_SECTION, FieldValue::Str(Cow::Borrowed(section)));
            str_field(tree, t::DNS_RR_NAME, rr, &["name"]);
            str_field(tree, t::DNS_RR_TYPE, rr, &["type"]);
            str_field(tree, t::DNS_RR_CLASS, rr, &["class"]);
            uint_field(tree, t::DNS_RR_TTL, rr, &["TTL", "ttl"]);
            let data = rr_data(rr);
            if let Some(d) = &data {
                tree.add(t::DNS_RR_DATA, FieldValue::Str(d.clone()));
            }
            proto_dns_record(rr, tree, info.as_mut());
        }
    }
    if let Some(s) = info {
        findings.info = Some(s);
    }
}

/// A name as Wireshark shows it: the root (gopacket's empty name) is `<Root>`.
fn dns_name(name: &str) -> Cow<'_, str> {
    if name.is_empty() {
        Cow::Borrowed("<Root>")
    } else {
        Cow::Borrowed(name)
    }
}

/// One resource record of `trace.ProtoDNS` on Wireshark's `dns.resp.*` and data fields (all
/// three sections, as Wireshark fills them), and its part of the Info text.
fn proto_dns_record<'a>(rr: &'a Value<'a>, tree: &mut Tree<'a>, info: Option<&mut String>) {
    use crate::packet::dns::{self as wire, RData};

    let ty_name = as_str(rr, &["type"]).unwrap_or("");
    let Some(rtype) = net::dns_type_number(ty_name) else {
        return;
    };
    let name = dns_name(as_str(rr, &["name"]).unwrap_or(""));
    let nonempty = |keys: &[&str]| as_str(rr, keys).filter(|s| !s.is_empty());
    let mut info = info;
    if let Some(s) = info.as_deref_mut() {
        wire::info_record_type(s, rtype as u16);
    }
    tree.add_hidden(dns::RESP_NAME, FieldValue::Str(name));
    tree.add_hidden(dns::RESP_TYPE, FieldValue::UInt(rtype));
    if rtype == 41 {
        // OPT: gopacket keeps neither the payload size (the class) nor the extended flags (the
        // TTL) in a form Wireshark's fields could be filled from.
        return;
    }
    if let Some(c) = as_str(rr, &["class"]).and_then(net::dns_class_number) {
        tree.add_hidden(dns::RESP_CLASS, FieldValue::UInt(c));
    }
    if let Some(ttl) = get(rr, &["TTL", "ttl"]).and_then(Value::as_u64) {
        tree.add_hidden(dns::RESP_TTL, FieldValue::UInt(ttl));
    }
    let mut rdata: Option<RData<'a>> = None;
    match rtype {
        1 | 28 => {
            if let Some(ip) = nonempty(&["IP", "ip"]).and_then(|a| a.parse().ok()) {
                match ip {
                    std::net::IpAddr::V4(a) => tree.add_hidden(dns::A, FieldValue::Ipv4(a)),
                    std::net::IpAddr::V6(a) => tree.add_hidden(dns::AAAA, FieldValue::Ipv6(a)),
                }
                rdata = Some(RData::Addr(ip));
            }
        }
        2 | 5 | 12 => {
            let (keys, field): (&[&str], _) = match rtype {
                2 => (&["NS", "ns"], dns::NS),
                5 => (&["CNAME", "cname"], dns::CNAME),
                _ => (&["PTR", "ptr"], dns::PTR_DOMAIN_NAME),
            };
            if let Some(n) = nonempty(keys) {
                tree.add_hidden(field, FieldValue::Str(Cow::Borrowed(n)));
                rdata = Some(RData::Name(n));
            }
        }
        6 => {
            if let Some(soa) = get(rr, &["SOA", "soa"]) {
                let mname = as_str(soa, &["MName", "mname"]).unwrap_or("");
                let rname = as_str(soa, &["RName", "rname"]).unwrap_or("");
                tree.add_hidden(dns::SOA_MNAME, FieldValue::Str(dns_name(mname)));
                tree.add_hidden(dns::SOA_RNAME, FieldValue::Str(dns_name(rname)));
                for (field, key) in [
                    (dns::SOA_SERIAL_NUMBER, "serial"),
                    (dns::SOA_REFRESH_INTERVAL, "refresh"),
                    (dns::SOA_RETRY_INTERVAL, "retry"),
                    (dns::SOA_EXPIRE_LIMIT, "expire"),
                    (dns::SOA_MINIMUM_TTL, "minimum"),
                ] {
                    if let Some(n) = soa.get(key).and_then(Value::as_u64) {
                        tree.add_hidden(field, FieldValue::UInt(n));
                    }
                }
                rdata = Some(RData::Name(if mname.is_empty() { "<Root>" } else { mname }));
            }
        }
        15 => {
            if let Some(mx) = get(rr, &["MX", "mx"]) {
                let pref = mx.get("preference").and_then(Value::as_u64).unwrap_or(0) as u16;
                let n = as_str(mx, &["name"]).unwrap_or("");
                tree.add_hidden(dns::MX_PREFERENCE, FieldValue::UInt(pref.into()));
                tree.add_hidden(dns::MX_MAIL_EXCHANGE, FieldValue::Str(dns_name(n)));
                rdata = Some(RData::Mx(pref, if n.is_empty() { "<Root>" } else { n }));
            }
        }
        16 => {
            for txt in get(rr, &["TXTs", "txts"])
                .and_then(Value::as_array)
                .unwrap_or(&[])
            {
                if let Some(t) = txt.as_str() {
                    tree.add_hidden(dns::TXT_LENGTH, FieldValue::UInt(t.len() as u64));
                    tree.add_hidden(dns::TXT, FieldValue::Str(Cow::Borrowed(t)));
                }
            }
        }
        33 => {
            if let Some(srv) = get(rr, &["SRV", "srv"]) {
                let n16 = |k: &str| srv.get(k).and_then(Value::as_u64).unwrap_or(0) as u16;
                let (prio, weight, port) = (n16("priority"), n16("weight"), n16("port"));
                let target = as_str(srv, &["name"]).unwrap_or("");
                tree.add_hidden(dns::SRV_PRIORITY, FieldValue::UInt(prio.into()));
                tree.add_hidden(dns::SRV_WEIGHT, FieldValue::UInt(weight.into()));
                tree.add_hidden(dns::SRV_PORT, FieldValue::UInt(port.into()));
                tree.add_hidden(dns::SRV_TARGET, FieldValue::Str(dns_name(target)));
                let target = if target.is_empty() { "<Root>" } else { target };
                rdata = Some(RData::Srv(prio, weight, port, target));
            }
        }
        _ => {}
    }
    if let (Some(s), Some(d)) = (info, rdata) {
        wire::info_rdata(s, &d);
    }
}

/// The data of a resource record, whichever of gopacket's slots holds it.
fn rr_data<'a>(rr: &'a Value<'a>) -> Option<Cow<'a, str>> {
    for key in [
        "IP", "ip", "NS", "ns", "CNAME", "cname", "PTR", "ptr", "TXT", "txt",
    ] {
        if let Some(s) = rr
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            return Some(Cow::Borrowed(s));
        }
    }
    if let Some(txts) = get(rr, &["TXTs", "txts"])
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    {
        let joined: Vec<&str> = txts.iter().filter_map(Value::as_str).collect();
        return Some(Cow::Owned(joined.join(" ")));
    }
    match as_str(rr, &["type"])
        .unwrap_or("")
        .to_ascii_uppercase()
        .as_str()
    {
        "SOA" => get(rr, &["SOA", "soa"]).map(|s| Cow::Owned(super::enrich::info_text(s))),
        "MX" => get(rr, &["MX", "mx"]).map(|s| Cow::Owned(super::enrich::info_text(s))),
        "SRV" => get(rr, &["SRV", "srv"]).map(|s| Cow::Owned(super::enrich::info_text(s))),
        "URI" => get(rr, &["URI", "uri"]).map(|s| Cow::Owned(super::enrich::info_text(s))),
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum HttpKind {
    /// `trace.ProtoHTTP`, request (true) or response (false).
    Tracee(bool),
    /// `trace.ProtoHTTPResponse`.
    Response,
}

fn http_request<'a>(v: &'a Value<'a>, tree: &mut Tree<'a>, findings: &mut Findings<'a>) {
    str_field(tree, t::HTTP_REQUEST_METHOD, v, &["method"]);
    str_field(tree, t::HTTP_REQUEST_PROTOCOL, v, &["protocol"]);
    str_field(tree, t::HTTP_REQUEST_HOST, v, &["host"]);
    str_field(tree, t::HTTP_REQUEST_URI_PATH, v, &["uri_path", "uriPath"]);
    int_field(
        tree,
        t::HTTP_REQUEST_CONTENT_LENGTH,
        v,
        &["content_length", "contentLength"],
    );
    headers(v, t::HTTP_REQUEST_HEADER, true, tree, findings);
    http_wireshark(v, true, tree);
}

fn http_common<'a>(
    v: &'a Value<'a>,
    kind: HttpKind,
    tree: &mut Tree<'a>,
    findings: &mut Findings<'a>,
) {
    let request = kind == HttpKind::Tracee(true);
    match kind {
        HttpKind::Tracee(_) => {
            str_field(tree, t::HTTP_DIRECTION, v, &["direction"]);
            str_field(tree, t::HTTP_METHOD, v, &["method"]);
            str_field(tree, t::HTTP_PROTOCOL, v, &["protocol"]);
            str_field(tree, t::HTTP_HOST, v, &["host"]);
            str_field(tree, t::HTTP_URI_PATH, v, &["uri_path", "uriPath"]);
            str_field(tree, t::HTTP_STATUS, v, &["status"]);
            int_field(tree, t::HTTP_STATUS_CODE, v, &["status_code", "statusCode"]);
            int_field(
                tree,
                t::HTTP_CONTENT_LENGTH,
                v,
                &["content_length", "contentLength"],
            );
            headers(v, t::HTTP_HEADER, request, tree, findings);
        }
        HttpKind::Response => {
            str_field(tree, t::HTTP_RESPONSE_STATUS, v, &["status"]);
            int_field(
                tree,
                t::HTTP_RESPONSE_STATUS_CODE,
                v,
                &["status_code", "statusCode"],
            );
            str_field(tree, t::HTTP_RESPONSE_PROTOCOL, v, &["protocol"]);
            int_field(
                tree,
                t::HTTP_RESPONSE_CONTENT_LENGTH,
                v,
                &["content_length", "contentLength"],
            );
            headers(v, t::HTTP_RESPONSE_HEADER, false, tree, findings);
        }
    }
    http_wireshark(v, request, tree);
}

/// The `http.*` fields a request or response sets, as Wireshark names them.
fn http_wireshark<'a>(v: &'a Value<'a>, request: bool, tree: &mut Tree<'a>) {
    tree.add_hidden(http::HTTP, FieldValue::None);
    if let Some(n) = get(v, &["content_length", "contentLength"]).and_then(Value::as_u64) {
        tree.add_hidden(http::CONTENT_LENGTH, FieldValue::UInt(n));
    }
    let protocol = as_str(v, &["protocol"]);
    if request {
        tree.add_hidden(http::REQUEST, FieldValue::Bool(true));
        if let Some(m) = as_str(v, &["method"]).filter(|m| !m.is_empty()) {
            tree.add_hidden(http::REQUEST_METHOD, FieldValue::Str(Cow::Borrowed(m)));
        }
        if let Some(u) = as_str(v, &["uri_path", "uriPath"]).filter(|u| !u.is_empty()) {
            tree.add_hidden(http::REQUEST_URI, FieldValue::Str(Cow::Borrowed(u)));
        }
        if let Some(p) = protocol.filter(|p| !p.is_empty()) {
            tree.add_hidden(http::REQUEST_VERSION, FieldValue::Str(Cow::Borrowed(p)));
        }
        if let Some(h) = as_str(v, &["host"]).filter(|h| !h.is_empty()) {
            tree.add_hidden(http::HOST, FieldValue::Str(Cow::Borrowed(h)));
        }
    } else {
        tree.add_hidden(http::RESPONSE, FieldValue::Bool(true));
        if let Some(p) = protocol.filter(|p| !p.is_empty()) {
            tree.add_hidden(http::RESPONSE_VERSION, FieldValue::Str(Cow::Borrowed(p)));
        }
        let status = as_str(v, &["status"]).unwrap_or("");
        let code = get(v, &["status_code", "statusCode"])
            .and_then(Value::as_u64)
            .or_else(|| {
                status
                    .split_whitespace()
                    .next()
                    .and_then(|c| c.parse().ok())
            });
        if let Some(c) = code {
            tree.add_hidden(http::RESPONSE_CODE, FieldValue::UInt(c));
        }
        // Tracee's status is "200 OK" (or "200 " when the reason was empty).
        let phrase = status.split_once(' ').map(|(_, p)| p.trim()).unwrap_or("");
        tree.add_hidden(
            http::RESPONSE_PHRASE,
            FieldValue::Str(Cow::Borrowed(phrase)),
        );
    }
}

/// HTTP headers (`{"Name": ["value", ...]}`, or v1beta1's `{"Name": {"header": [...]}}`):
/// one Tracee header field per value, plus Wireshark's line and per-header fields.
fn headers<'a>(
    v: &'a Value<'a>,
    field: FieldId,
    request: bool,
    tree: &mut Tree<'a>,
    findings: &mut Findings<'a>,
) {
    let Some(pairs) = get(v, &["headers", "header"]).and_then(Value::as_object) else {
        return;
    };
    for (name, values) in pairs {
        let list: Vec<&'a Value<'a>> = match values {
            Value::Array(items) => items.iter().collect(),
            Value::Object(_) => values
                .get("header")
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default(),
            other => vec![other],
        };
        for value in list {
            let value = net::text(value);
            let line = format!("{name}: {value}");
            if tree.wants(field) {
                tree.add(field, FieldValue::Str(line.clone().into()));
            }
            let line_field = if request {
                http::REQUEST_LINE
            } else {
                http::RESPONSE_LINE
            };
            if tree.wants(line_field) {
                tree.add_hidden(line_field, FieldValue::Str(format!("{line}\r\n").into()));
            }
            let specific = match name.to_ascii_lowercase().as_str() {
                "user-agent" => Some(http::USER_AGENT),
                "cookie" => Some(http::COOKIE),
                "content-type" => {
                    if findings.content_type.is_none() {
                        findings.content_type = Some(value.clone());
                    }
                    Some(http::CONTENT_TYPE)
                }
                "referer" => Some(http::REFERER),
                "accept" => Some(http::ACCEPT),
                "accept-language" => Some(http::ACCEPT_LANGUAGE),
                "accept-encoding" => Some(http::ACCEPT_ENCODING),
                "connection" => Some(http::CONNECTION),
                "server" => Some(http::SERVER),
                "location" => Some(http::LOCATION),
                "upgrade" => Some(http::UPGRADE),
                "authorization" => Some(http::AUTHORIZATION),
                "host" => Some(http::HOST),
                _ => None,
            };
            if let Some(f) = specific {
                tree.add_hidden(f, FieldValue::Str(value));
            }
        }
    }
}

fn hooked_symbols<'a>(v: &'a Value<'a>, tree: &mut Tree<'a>) {
    let mut one = |key: Option<&'a str>, entry: &'a Value<'a>| {
        let name = as_str(entry, &["SymbolName", "symbol_name", "symbolName"]).or(key);
        if let Some(n) = name {
            tree.add(t::HOOKED_SYMBOLS_NAME, FieldValue::Str(Cow::Borrowed(n)));
        }
        str_field(
            tree,
            t::HOOKED_SYMBOLS_MODULE_OWNER,
            entry,
            &["ModuleOwner", "module_owner", "moduleOwner"],
        );
    };
    match v {
        Value::Array(items) => items.iter().for_each(|e| one(None, e)),
        Value::Object(pairs) => pairs.iter().for_each(|(k, e)| one(Some(k.as_ref()), e)),
        _ => {}
    }
}

fn ip_header<'a>(v6: bool, v: &'a Value<'a>, tree: &mut Tree<'a>, findings: &mut Findings<'a>) {
    if v6 {
        uint_field(tree, t::IPV6_VERSION, v, &["version"]);
        uint_field(
            tree,
            t::IPV6_TRAFFIC_CLASS,
            v,
            &["trafficClass", "traffic_class"],
        );
        uint_field(tree, t::IPV6_FLOW_LABEL, v, &["flowLabel", "flow_label"]);
        uint_field(tree, t::IPV6_LENGTH, v, &["length"]);
        str_field(tree, t::IPV6_NEXT_HEADER, v, &["nextHeader", "next_header"]);
        uint_field(tree, t::IPV6_HOP_LIMIT, v, &["hopLimit", "hop_limit"]);
        str_field(tree, t::IPV6_SRC_IP, v, &["srcIP", "src_ip"]);
        str_field(tree, t::IPV6_DST_IP, v, &["dstIP", "dst_ip"]);
    } else {
        uint_field(tree, t::IPV4_VERSION, v, &["version"]);
        uint_field(tree, t::IPV4_IHL, v, &["IHL", "ihl"]);
        uint_field(tree, t::IPV4_TOS, v, &["TOS", "tos"]);
        uint_field(tree, t::IPV4_LENGTH, v, &["length"]);
        uint_field(tree, t::IPV4_ID, v, &["id"]);
        uint_field(tree, t::IPV4_FLAGS, v, &["flags"]);
        uint_field(tree, t::IPV4_FRAG_OFFSET, v, &["fragOffset", "frag_offset"]);
        uint_field(tree, t::IPV4_TTL, v, &["TTL", "ttl"]);
        str_field(tree, t::IPV4_PROTOCOL, v, &["protocol"]);
        uint_field(tree, t::IPV4_CHECKSUM, v, &["checksum"]);
        str_field(tree, t::IPV4_SRC_IP, v, &["srcIP", "src_ip"]);
        str_field(tree, t::IPV4_DST_IP, v, &["dstIP", "dst_ip"]);
    }
    let src = as_str(v, &["srcIP", "src_ip"]);
    let dst = as_str(v, &["dstIP", "dst_ip"]);
    if net::addresses(tree, src, dst) {
        let proto = as_str(v, &["protocol", "nextHeader", "next_header"])
            .and_then(net::ip_proto_number)
            .unwrap_or(-1);
        net::ip_proto(tree, proto, v6);
        if let Some(len) = get(v, &["length"]).and_then(Value::as_u64) {
            // IPv4's length is the whole packet's, IPv6's the payload's.
            net::ip_len(tree, if v6 { len + 40 } else { len }, v6);
        }
        if !v6 {
            if let Some(ttl) = get(v, &["TTL", "ttl"]).and_then(Value::as_u64) {
                tree.add_hidden(osprey_field::fields::ip::TTL, FieldValue::UInt(ttl));
            }
        }
    }
    if findings.source.is_none() {
        findings.source = src.map(Cow::Borrowed);
        findings.destination = dst.map(Cow::Borrowed);
    }
}

fn tcp_header<'a>(v: &'a Value<'a>, tree: &mut Tree<'a>) {
    uint_field(tree, t::TCP_SRC_PORT, v, &["srcPort", "src_port"]);
    uint_field(tree, t::TCP_DST_PORT, v, &["dstPort", "dst_port"]);
    uint_field(tree, t::TCP_SEQ, v, &["seq"]);
    uint_field(tree, t::TCP_ACK, v, &["ack"]);
    uint_field(tree, t::TCP_DATA_OFFSET, v, &["dataOffset", "data_offset"]);
    if tree.wants(t::TCP_FLAGS) {
        let flags: Vec<&str> = [
            ("CWR", "cwr_flag"),
            ("ECE", "ece_flag"),
            ("URG", "urg_flag"),
            ("ACK", "ack_flag"),
            ("PSH", "psh_flag"),
            ("RST", "rst_flag"),
            ("SYN", "syn_flag"),
            ("FIN", "fin_flag"),
            ("NS", "ns_flag"),
        ]
        .into_iter()
        .filter(|(legacy, v1)| {
            get(v, &[legacy, v1])
                .and_then(Value::as_i64)
                .is_some_and(|f| f != 0)
        })
        .map(|(name, _)| name)
        .collect();
        tree.add(t::TCP_FLAGS, FieldValue::Str(flags.join(", ").into()));
    }
    uint_field(tree, t::TCP_WINDOW, v, &["window"]);
    uint_field(tree, t::TCP_CHECKSUM, v, &["checksum"]);
    uint_field(tree, t::TCP_URGENT, v, &["urgent"]);
    net::ports(
        tree,
        Transport::Tcp,
        net::port(get(v, &["srcPort", "src_port"])),
        net::port(get(v, &["dstPort", "dst_port"])),
    );
}

/// gopacket's ICMP type/code names to numbers: (ICMPv4, ICMPv6).
fn icmp_type(name: &str, v6: bool) -> Option<u64> {
    let base = name.split('(').next().unwrap_or(name);
    Some(match (base, v6) {
        ("EchoReply", false) => 0,
        ("DestinationUnreachable", false) => 3,
        ("SourceQuench", false) => 4,
        ("Redirect", false) => 5,
        ("EchoRequest", false) => 8,
        ("RouterAdvertisement", false) => 9,
        ("RouterSolicitation", false) => 10,
        ("TimeExceeded", false) => 11,
        ("ParameterProblem", false) => 12,
        ("TimestampRequest", false) => 13,
        ("TimestampReply", false) => 14,
        ("DestinationUnreachable", true) => 1,
        ("PacketTooBig", true) => 2,
        ("TimeExceeded", true) => 3,
        ("ParameterProblem", true) => 4,
        ("EchoRequest", true) => 128,
        ("EchoReply", true) => 129,
        ("RouterSolicitation", true) => 133,
        ("RouterAdvertisement", true) => 134,
        ("NeighborSolicitation", true) => 135,
        ("NeighborAdvertisement", true) => 136,
        ("Redirect", true) => 137,
        _ => return None,
    })
}

fn icmp_header<'a>(v6: bool, v: &'a Value<'a>, tree: &mut Tree<'a>) {
    let (tc_field, ck_field) = if v6 {
        (t::ICMPV6_TYPE_CODE, t::ICMPV6_CHECKSUM)
    } else {
        (t::ICMP_TYPE_CODE, t::ICMP_CHECKSUM)
    };
    str_field(tree, tc_field, v, &["typeCode", "type_code"]);
    uint_field(tree, ck_field, v, &["checksum"]);
    if !v6 {
        uint_field(tree, t::ICMP_ID, v, &["id"]);
        uint_field(tree, t::ICMP_SEQ, v, &["seq"]);
    }
    let (proto, type_field) = if v6 {
        (icmp::ICMPV6, icmp::ICMPV6_TYPE)
    } else {
        (icmp::ICMP, icmp::TYPE)
    };
    tree.add_hidden(proto, FieldValue::None);
    if let Some(ty) = as_str(v, &["typeCode", "type_code"]).and_then(|n| icmp_type(n, v6)) {
        tree.add_hidden(type_field, FieldValue::UInt(ty));
    }
}

/// The lineage chain: entries from the process itself up to its oldest ancestor.
fn lineage<'a>(v: &'a Value<'a>, tree: &mut Tree<'a>) {
    let entries = v.as_array().unwrap_or(&[]);
    if tree.wants(t::PROCESS_LINEAGE) {
        tree.add(
            t::PROCESS_LINEAGE,
            FieldValue::Str(lineage_chain(entries).into()),
        );
    }
    for e in entries {
        int_field(tree, t::PROCESS_LINEAGE_PID, e, &["PID", "pid"]);
        int_field(tree, t::PROCESS_LINEAGE_PPID, e, &["PPID", "ppid"]);
        if let Some(st) = get(e, &["StartTime", "start_time"]) {
            let ns = st
                .as_u64()
                .or_else(|| st.as_str().and_then(osprey_event::time::parse_rfc3339));
            if let Some(ns) = ns {
                tree.add(t::PROCESS_LINEAGE_START_TIME, FieldValue::AbsTime(ns));
            }
        }
        str_field(
            tree,
            t::PROCESS_LINEAGE_PROCESS_NAME,
            e,
            &["ProcessName", "process_name"],
        );
        str_field(
            tree,
            t::PROCESS_LINEAGE_PATHNAME,
            e,
            &["Pathname", "pathname"],
        );
        str_field(tree, t::PROCESS_LINEAGE_SHA256, e, &["SHA256", "sha256"]);
        str_field(tree, t::PROCESS_LINEAGE_COMMAND, e, &["Command", "command"]);
    }
}

/// `ppid -> pid (name) -> ...` from the oldest ancestor down, or "not intact" when a parent
/// link is missing.
pub(crate) fn lineage_chain(entries: &[Value]) -> String {
    let pid = |e: &Value| get(e, &["PID", "pid"]).and_then(Value::as_i64);
    let ppid = |e: &Value| get(e, &["PPID", "ppid"]).and_then(Value::as_i64);
    let intact = entries
        .windows(2)
        .all(|w| ppid(&w[0]).is_some() && ppid(&w[0]) == pid(&w[1]));
    if !intact || entries.is_empty() {
        return "not intact".into();
    }
    let mut chain = String::new();
    if let Some(oldest) = entries.last().and_then(ppid) {
        chain.push_str(&oldest.to_string());
    }
    for e in entries.iter().rev() {
        let name = as_str(e, &["ProcessName", "process_name"]).unwrap_or("?");
        chain.push_str(&format!(" -> {} ({name})", pid(e).unwrap_or(0)));
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lineage_chains_run_from_the_oldest_ancestor() {
        let v: Value = serde_json::from_str(
            r#"[{"PID":30,"PPID":20,"ProcessName":"curl"},{"PID":20,"PPID":1,"ProcessName":"bash"}]"#,
        )
        .unwrap();
        assert_eq!(
            lineage_chain(v.as_array().unwrap()),
            "1 -> 20 (bash) -> 30 (curl)"
        );
        let broken: Value =
            serde_json::from_str(r#"[{"PID":30,"PPID":20},{"PID":21,"PPID":1}]"#).unwrap();
        assert_eq!(lineage_chain(broken.as_array().unwrap()), "not intact");
    }

    #[test]
    fn icmp_type_names_map_to_numbers() {
        assert_eq!(icmp_type("EchoRequest", false), Some(8));
        assert_eq!(icmp_type("EchoRequest", true), Some(128));
        assert_eq!(icmp_type("DestinationUnreachable(Port)", false), Some(3));
        assert_eq!(icmp_type("Nonsense", false), None);
    }
}
