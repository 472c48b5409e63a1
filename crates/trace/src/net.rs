//! `net_packet_*` events from packet bytes (IP header first, as cgroup_skb sees them): IP, TCP,
//! UDP and ICMP with etherparse, DNS with hickory-proto, HTTP/1.x with httparse. Values are laid
//! out like Tracee's `trace.PktMeta`, `trace.ProtoDNS`, `trace.ProtoHTTPRequest`, ... (see the
//! fixtures). Packets cut by the snap length are parsed as far as they go.

use std::borrow::Cow;
use std::net::IpAddr;

use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};
use osprey_event::Value;

use crate::catalog::ids;

type Obj = Vec<(Cow<'static, str>, Value<'static>)>;

fn s(v: impl Into<String>) -> Value<'static> {
    Value::Str(Cow::Owned(v.into()))
}

fn kv(k: &'static str, v: Value<'static>) -> (Cow<'static, str>, Value<'static>) {
    (Cow::Borrowed(k), v)
}

fn int(v: impl Into<i64>) -> Value<'static> {
    Value::Int(v.into())
}

/// Addresses, ports and protocol of one packet.
#[derive(Debug, Clone)]
struct Meta {
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
    protocol: u8,
    len: u32,
    egress: bool,
}

impl Meta {
    fn pkt_meta(&self) -> Value<'static> {
        Value::Object(vec![
            kv("src_ip", s(self.src.to_string())),
            kv("dst_ip", s(self.dst.to_string())),
            kv("src_port", int(self.src_port)),
            kv("dst_port", int(self.dst_port)),
            kv("protocol", int(self.protocol)),
            kv("packet_len", int(self.len)),
            kv("iface", s("any")),
        ])
    }

    fn packet_metadata(&self) -> Value<'static> {
        // Tracee's trace.PacketMetadata: direction 1 = ingress, 2 = egress
        Value::Object(vec![kv("direction", int(if self.egress { 2 } else { 1 }))])
    }
}

/// The `net_packet_*` events (ID, argument values in catalog order) found in one packet.
pub fn decode(bytes: &[u8], egress: bool, wire_len: u32) -> Vec<(i64, Vec<Value<'static>>)> {
    let mut out = Vec::new();
    let Ok(pkt) = LaxSlicedPacket::from_ip(bytes) else {
        return out;
    };
    let (src, dst, protocol) = match &pkt.net {
        Some(LaxNetSlice::Ipv4(ip)) => {
            let h = ip.header();
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                h.protocol().0,
            )
        }
        Some(LaxNetSlice::Ipv6(ip)) => {
            let h = ip.header();
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                ip.payload().ip_number.0,
            )
        }
        _ => return out,
    };
    let mut meta = Meta {
        src,
        dst,
        src_port: 0,
        dst_port: 0,
        protocol,
        len: wire_len,
        egress,
    };
    match &pkt.transport {
        Some(TransportSlice::Icmpv4(icmp)) => {
            let (id, seq) = echo_id_seq(icmp.bytes5to8());
            let proto = Value::Object(vec![
                kv(
                    "typeCode",
                    s(icmpv4_type_code(icmp.type_u8(), icmp.code_u8())),
                ),
                kv("checksum", int(icmp.checksum())),
                kv("id", int(id)),
                kv("seq", int(seq)),
            ]);
            out.push((
                ids::NET_PACKET_ICMP,
                vec![
                    s(src.to_string()),
                    s(dst.to_string()),
                    meta.packet_metadata(),
                    proto,
                ],
            ));
        }
        Some(TransportSlice::Icmpv6(icmp)) => {
            let proto = Value::Object(vec![
                kv(
                    "typeCode",
                    s(icmpv6_type_code(icmp.type_u8(), icmp.code_u8())),
                ),
                kv("checksum", int(icmp.checksum())),
            ]);
            out.push((
                ids::NET_PACKET_ICMPV6,
                vec![
                    s(src.to_string()),
                    s(dst.to_string()),
                    meta.packet_metadata(),
                    proto,
                ],
            ));
        }
        Some(TransportSlice::Udp(udp)) => {
            meta.src_port = udp.source_port();
            meta.dst_port = udp.destination_port();
            if meta.src_port == 53
                || meta.dst_port == 53
                || meta.src_port == 5353
                || meta.dst_port == 5353
            {
                dns(udp.payload(), &meta, &mut out);
            }
        }
        Some(TransportSlice::Tcp(tcp)) => {
            meta.src_port = tcp.source_port();
            meta.dst_port = tcp.destination_port();
            let payload = tcp.payload();
            if meta.src_port == 53 || meta.dst_port == 53 {
                // DNS over TCP: a two-byte length first
                if payload.len() > 2 {
                    dns(&payload[2..], &meta, &mut out);
                }
            } else if !payload.is_empty() {
                http(payload, &meta, &mut out);
            }
        }
        _ => {}
    }
    out
}

fn echo_id_seq(b: [u8; 4]) -> (u16, u16) {
    (
        u16::from_be_bytes([b[0], b[1]]),
        u16::from_be_bytes([b[2], b[3]]),
    )
}

/// gopacket's names for ICMPv4 type/code, as Tracee prints them.
fn icmpv4_type_code(t: u8, c: u8) -> String {
    let unreach = [
        "Net",
        "Host",
        "Protocol",
        "Port",
        "FragmentationNeeded",
        "SourceRoutingFailed",
        "NetUnknown",
        "HostUnknown",
        "SourceIsolated",
        "NetAdminProhibited",
        "HostAdminProhibited",
        "NetTOS",
        "HostTOS",
        "CommAdminProhibited",
        "HostPrecedence",
        "PrecedenceCutoff",
    ];
    match t {
        0 => "EchoReply".into(),
        3 => format!(
            "DestinationUnreachable({})",
            unreach.get(c as usize).copied().unwrap_or("Unknown")
        ),
        4 => "SourceQuench".into(),
        5 => "Redirect".into(),
        8 => "EchoRequest".into(),
        9 => "RouterAdvertisement".into(),
        10 => "RouterSolicitation".into(),
        11 => format!(
            "TimeExceeded({})",
            if c == 0 {
                "TTLExceeded"
            } else {
                "FragmentReassemblyTimeExceeded"
            }
        ),
        12 => "ParameterProblem".into(),
        13 => "TimestampRequest".into(),
        14 => "TimestampReply".into(),
        _ => format!("{t}({c})"),
    }
}

fn icmpv6_type_code(t: u8, c: u8) -> String {
    match t {
        1 => "DestinationUnreachable".into(),
        2 => "PacketTooBig".into(),
        3 => "TimeExceeded".into(),
        4 => "ParameterProblem".into(),
        128 => "EchoRequest".into(),
        129 => "EchoReply".into(),
        133 => "RouterSolicitation".into(),
        134 => "RouterAdvertisement".into(),
        135 => "NeighborSolicitation".into(),
        136 => "NeighborAdvertisement".into(),
        _ => format!("{t}({c})"),
    }
}

fn name_str(n: &hickory_proto::rr::Name) -> String {
    let t = n.to_utf8();
    t.strip_suffix('.').map(str::to_string).unwrap_or(t)
}

fn dns(payload: &[u8], meta: &Meta, out: &mut Vec<(i64, Vec<Value<'static>>)>) {
    use hickory_proto::op::{Message, MessageType};
    use hickory_proto::rr::RData;
    let Ok(msg) = Message::from_vec(payload) else {
        return;
    };
    let is_response = msg.message_type() == MessageType::Response;
    let questions: Vec<Value<'static>> = msg
        .queries()
        .iter()
        .map(|q| {
            Value::Object(vec![
                kv("query", s(name_str(q.name()))),
                kv("query_type", s(q.query_type().to_string())),
                kv("query_class", s(q.query_class().to_string())),
            ])
        })
        .collect();
    let rdata_text = |r: &hickory_proto::rr::Record| -> String {
        match r.data() {
            RData::A(a) => a.0.to_string(),
            RData::AAAA(a) => a.0.to_string(),
            RData::CNAME(n) => name_str(&n.0),
            RData::PTR(n) => name_str(&n.0),
            RData::NS(n) => name_str(&n.0),
            other => other.to_string(),
        }
    };
    // the detailed trace.ProtoDNS of net_packet_dns
    let rr_obj = |r: &hickory_proto::rr::Record| -> Value<'static> {
        let text = rdata_text(r);
        let (mut ip, mut ns, mut cname, mut ptr) =
            (String::new(), String::new(), String::new(), String::new());
        match r.data() {
            RData::A(_) | RData::AAAA(_) => ip = text.clone(),
            RData::NS(_) => ns = text.clone(),
            RData::CNAME(_) => cname = text.clone(),
            RData::PTR(_) => ptr = text.clone(),
            _ => {}
        }
        Value::Object(vec![
            kv("name", s(name_str(r.name()))),
            kv("type", s(r.record_type().to_string())),
            kv("class", s(r.dns_class().to_string())),
            kv("TTL", int(r.ttl())),
            kv("IP", s(ip)),
            kv("NS", s(ns)),
            kv("CNAME", s(cname)),
            kv("PTR", s(ptr)),
            kv("TXTs", Value::Null),
        ])
    };
    let questions_detail: Vec<Value<'static>> = msg
        .queries()
        .iter()
        .map(|q| {
            Value::Object(vec![
                kv("name", s(name_str(q.name()))),
                kv("type", s(q.query_type().to_string())),
                kv("class", s(q.query_class().to_string())),
            ])
        })
        .collect();
    let h = msg.header();
    let proto: Obj = vec![
        kv("ID", int(h.id())),
        kv("QR", int(is_response as i64)),
        kv("opCode", s(format!("{:?}", h.op_code()).to_lowercase())),
        kv("AA", int(h.authoritative() as i64)),
        kv("TC", int(h.truncated() as i64)),
        kv("RD", int(h.recursion_desired() as i64)),
        kv("RA", int(h.recursion_available() as i64)),
        kv("Z", int(0)),
        kv(
            "responseCode",
            s(response_code(u16::from(h.response_code()))),
        ),
        kv("QDCount", int(h.query_count())),
        kv("ANCount", int(h.answer_count())),
        kv("NSCount", int(h.name_server_count())),
        kv("ARCount", int(h.additional_count())),
        kv("questions", Value::Array(questions_detail)),
        kv(
            "answers",
            Value::Array(msg.answers().iter().map(rr_obj).collect()),
        ),
        kv(
            "authorities",
            Value::Array(msg.name_servers().iter().map(rr_obj).collect()),
        ),
        kv(
            "additionals",
            Value::Array(msg.additionals().iter().map(rr_obj).collect()),
        ),
    ];
    out.push((
        ids::NET_PACKET_DNS,
        vec![
            s(meta.src.to_string()),
            s(meta.dst.to_string()),
            int(meta.src_port),
            int(meta.dst_port),
            meta.packet_metadata(),
            Value::Object(proto),
        ],
    ));
    if is_response {
        let answers: Vec<Value<'static>> = msg
            .answers()
            .iter()
            .map(|r| {
                Value::Object(vec![
                    kv("answer_type", s(r.record_type().to_string())),
                    kv("ttl", int(r.ttl())),
                    kv("answer", s(rdata_text(r))),
                ])
            })
            .collect();
        let responses: Vec<Value<'static>> = questions
            .into_iter()
            .map(|q| {
                Value::Object(vec![
                    kv("query_data", q),
                    kv("dns_answer", Value::Array(answers.clone())),
                ])
            })
            .collect();
        out.push((
            ids::NET_PACKET_DNS_RESPONSE,
            vec![meta.pkt_meta(), Value::Array(responses)],
        ));
    } else {
        out.push((
            ids::NET_PACKET_DNS_REQUEST,
            vec![meta.pkt_meta(), Value::Array(questions)],
        ));
    }
}

fn response_code(c: u16) -> String {
    match c {
        0 => "no error".into(),
        1 => "format error".into(),
        2 => "server failure".into(),
        3 => "non-existent domain".into(),
        4 => "not implemented".into(),
        5 => "query refused".into(),
        other => other.to_string(),
    }
}

/// Go's textproto canonical header key ("content-type" -> "Content-Type"), as Tracee shows.
fn canonical_header(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        if upper {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        upper = c == '-';
    }
    out
}

fn headers_obj(headers: &[httparse::Header<'_>]) -> (Value<'static>, i64) {
    let mut obj: Obj = Vec::new();
    let mut content_length = -1;
    for h in headers {
        let key = canonical_header(h.name);
        let val = String::from_utf8_lossy(h.value).into_owned();
        if key == "Content-Length" {
            content_length = val.trim().parse().unwrap_or(-1);
        }
        match obj.iter_mut().find(|(k, _)| *k == key) {
            Some((_, Value::Array(vals))) => vals.push(s(val)),
            _ => obj.push((Cow::Owned(key), Value::Array(vec![s(val)]))),
        }
    }
    (Value::Object(obj), content_length)
}

fn http(payload: &[u8], meta: &Meta, out: &mut Vec<(i64, Vec<Value<'static>>)>) {
    let mut hbuf = [httparse::EMPTY_HEADER; 64];
    if payload.starts_with(b"HTTP/") {
        let mut resp = httparse::Response::new(&mut hbuf);
        if resp.parse(payload).is_err() {
            return;
        }
        let (Some(code), Some(version)) = (resp.code, resp.version) else {
            return;
        };
        let protocol = format!("HTTP/1.{version}");
        let status = format!("{} {}", code, resp.reason.unwrap_or(""));
        let (headers, content_length) = headers_obj(resp.headers);
        let content_length = if content_length < 0 && code == 204 {
            0
        } else {
            content_length
        };
        out.push((
            ids::NET_PACKET_HTTP_RESPONSE,
            vec![
                meta.pkt_meta(),
                Value::Object(vec![
                    kv("status", s(status.clone())),
                    kv("status_code", int(code)),
                    kv("protocol", s(protocol.clone())),
                    kv("headers", headers.clone()),
                    kv("content_length", int(content_length)),
                ]),
            ],
        ));
        out.push((
            ids::NET_PACKET_HTTP,
            vec![
                meta.packet_metadata(),
                Value::Object(vec![
                    kv("direction", s("response")),
                    kv("method", s("")),
                    kv("protocol", s(protocol)),
                    kv("host", s("")),
                    kv("uri_path", s("")),
                    kv("status", s(status)),
                    kv("status_code", int(code)),
                    kv("headers", headers),
                    kv("content_length", int(content_length)),
                ]),
            ],
        ));
        return;
    }
    let mut req = httparse::Request::new(&mut hbuf);
    if req.parse(payload).is_err() {
        return;
    }
    let (Some(method), Some(path), Some(version)) = (req.method, req.path, req.version) else {
        return;
    };
    let protocol = format!("HTTP/1.{version}");
    let host = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host"))
        .map(|h| String::from_utf8_lossy(h.value).into_owned())
        .unwrap_or_default();
    let (headers, content_length) = headers_obj(req.headers);
    // Tracee leaves Host out of the header map (Go moves it to Request.Host)
    let headers = match headers {
        Value::Object(o) => Value::Object(o.into_iter().filter(|(k, _)| k != "Host").collect()),
        other => other,
    };
    let content_length = content_length.max(0);
    out.push((
        ids::NET_PACKET_HTTP_REQUEST,
        vec![
            meta.pkt_meta(),
            Value::Object(vec![
                kv("method", s(method)),
                kv("protocol", s(protocol.clone())),
                kv("host", s(host.clone())),
                kv("uri_path", s(path)),
                kv("headers", headers.clone()),
                kv("content_length", int(content_length)),
            ]),
        ],
    ));
    out.push((
        ids::NET_PACKET_HTTP,
        vec![
            meta.packet_metadata(),
            Value::Object(vec![
                kv("direction", s("request")),
                kv("method", s(method)),
                kv("protocol", s(protocol)),
                kv("host", s(host)),
                kv("uri_path", s(path)),
                kv("status", s("")),
                kv("status_code", int(0)),
                kv("headers", headers),
                kv("content_length", int(content_length)),
            ]),
        ],
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_udp(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
        let b = etherparse::PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 53], 64)
            .udp(src_port, dst_port);
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    fn ipv4_tcp(payload: &[u8]) -> Vec<u8> {
        let b = etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 80, 1, 65535);
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    fn dns_query() -> Vec<u8> {
        use hickory_proto::op::{Message, Query};
        use hickory_proto::rr::{Name, RecordType};
        let mut m = Message::new();
        m.set_id(0x1234);
        m.set_recursion_desired(true);
        m.add_query(Query::query(
            Name::from_ascii("www.example.com.").unwrap(),
            RecordType::A,
        ));
        m.to_vec().unwrap()
    }

    #[test]
    fn dns_request_and_response() {
        let q = dns_query();
        let pkt = ipv4_udp(40000, 53, &q);
        let evs = decode(&pkt, true, pkt.len() as u32);
        let req = evs
            .iter()
            .find(|(id, _)| *id == ids::NET_PACKET_DNS_REQUEST)
            .unwrap();
        let meta = &req.1[0];
        assert_eq!(meta.get("dst_ip").unwrap().as_str(), Some("127.0.0.53"));
        assert_eq!(meta.get("dst_port").unwrap().as_i64(), Some(53));
        assert_eq!(meta.get("protocol").unwrap().as_i64(), Some(17));
        let qd = &req.1[1].as_array().unwrap()[0];
        assert_eq!(qd.get("query").unwrap().as_str(), Some("www.example.com"));
        assert_eq!(qd.get("query_type").unwrap().as_str(), Some("A"));
        assert_eq!(qd.get("query_class").unwrap().as_str(), Some("IN"));

        use hickory_proto::op::{Message, MessageType};
        use hickory_proto::rr::{rdata::A, Name, RData, Record};
        let mut m = Message::from_vec(&q).unwrap();
        m.set_message_type(MessageType::Response);
        m.add_answer(Record::from_rdata(
            Name::from_ascii("www.example.com.").unwrap(),
            300,
            RData::A(A::new(93, 184, 216, 34)),
        ));
        let pkt = ipv4_udp(53, 40000, &m.to_vec().unwrap());
        let evs = decode(&pkt, false, pkt.len() as u32);
        let resp = evs
            .iter()
            .find(|(id, _)| *id == ids::NET_PACKET_DNS_RESPONSE)
            .unwrap();
        let r = &resp.1[1].as_array().unwrap()[0];
        let ans = &r.get("dns_answer").unwrap().as_array().unwrap()[0];
        assert_eq!(ans.get("answer").unwrap().as_str(), Some("93.184.216.34"));
        assert_eq!(ans.get("ttl").unwrap().as_i64(), Some(300));
        assert_eq!(ans.get("answer_type").unwrap().as_str(), Some("A"));
        let dns = evs
            .iter()
            .find(|(id, _)| *id == ids::NET_PACKET_DNS)
            .unwrap();
        assert_eq!(dns.1[5].get("QR").unwrap().as_i64(), Some(1));
        assert_eq!(dns.1[5].get("ANCount").unwrap().as_i64(), Some(1));
    }

    #[test]
    fn http_request_and_response() {
        let pkt = ipv4_tcp(b"GET /index.html HTTP/1.1\r\nHost: localhost:8080\r\nuser-agent: curl/8\r\nAccept: */*\r\n\r\n");
        let evs = decode(&pkt, true, pkt.len() as u32);
        let req = evs
            .iter()
            .find(|(id, _)| *id == ids::NET_PACKET_HTTP_REQUEST)
            .unwrap();
        let r = &req.1[1];
        assert_eq!(r.get("method").unwrap().as_str(), Some("GET"));
        assert_eq!(r.get("uri_path").unwrap().as_str(), Some("/index.html"));
        assert_eq!(r.get("host").unwrap().as_str(), Some("localhost:8080"));
        assert_eq!(r.get("protocol").unwrap().as_str(), Some("HTTP/1.1"));
        let ua = r.get("headers").unwrap().get("User-Agent").unwrap();
        assert_eq!(ua.as_array().unwrap()[0].as_str(), Some("curl/8"));
        let pkt = ipv4_tcp(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        let evs = decode(&pkt, false, pkt.len() as u32);
        let resp = evs
            .iter()
            .find(|(id, _)| *id == ids::NET_PACKET_HTTP_RESPONSE)
            .unwrap();
        assert_eq!(resp.1[1].get("status").unwrap().as_str(), Some("200 OK"));
        assert_eq!(resp.1[1].get("status_code").unwrap().as_i64(), Some(200));
        assert_eq!(resp.1[1].get("content_length").unwrap().as_i64(), Some(5));
    }

    #[test]
    fn icmp_echo() {
        let b = etherparse::PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .icmpv4_echo_request(7, 3);
        let mut pkt = Vec::new();
        b.write(&mut pkt, b"ping").unwrap();
        let evs = decode(&pkt, true, pkt.len() as u32);
        let (id, args) = &evs[0];
        assert_eq!(*id, ids::NET_PACKET_ICMP);
        assert_eq!(
            args[3].get("typeCode").unwrap().as_str(),
            Some("EchoRequest")
        );
        assert_eq!(args[3].get("id").unwrap().as_i64(), Some(7));
        assert_eq!(args[3].get("seq").unwrap().as_i64(), Some(3));
    }

    #[test]
    fn garbage_and_truncated_packets_never_panic() {
        let pkt = ipv4_tcp(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        for n in 0..pkt.len() {
            let _ = decode(&pkt[..n], true, pkt.len() as u32);
        }
        let q = dns_query();
        let pkt = ipv4_udp(1, 53, &q);
        for n in 0..pkt.len() {
            let _ = decode(&pkt[..n], true, 0);
        }
        let _ = decode(&[0x45; 100], false, 100);
        let _ = decode(&[0x60; 100], false, 100);
    }

    #[test]
    fn header_canonicalization() {
        assert_eq!(canonical_header("content-TYPE"), "Content-Type");
        assert_eq!(canonical_header("x-forwarded-for"), "X-Forwarded-For");
    }
}
