//! DNS over UDP and TCP, with mDNS (UDP 5353) and LLMNR (UDP 5355), which Wireshark dissects
//! with the same `dns.*` fields.
//!
//! A hand parser rather than `hickory-proto`: a capture holds messages cut by the snap length,
//! with compression loops or garbage, and Wireshark still shows everything up to the damage.
//! hickory decodes a whole message or fails, allocates per record, and normalises names, so
//! it can say neither how far a broken message got nor what Wireshark would print
//! (`<Root>`, `<Name contains a pointer that loops>`, names with dots inside labels). The
//! parser never allocates by a count field: every loop advances through the message bytes,
//! and name expansion stops once it has read more bytes than the message holds (a loop).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use osprey_field::fields::{dns as f, ws};
use osprey_field::{FieldId, FieldValue};

use super::{name_of, Cx, Exc, Res, Tvb};

/// Which name service a port carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Dns,
    Mdns,
    Llmnr,
}

/// The UDP ports Wireshark gives to DNS, mDNS and LLMNR.
pub(crate) fn udp_kind(port: u16) -> Option<Kind> {
    match port {
        53 => Some(Kind::Dns),
        5353 => Some(Kind::Mdns),
        5355 => Some(Kind::Llmnr),
        _ => None,
    }
}

/// The TCP ports Wireshark gives to DNS.
pub(crate) fn is_tcp_port(port: u16) -> bool {
    port == 53
}

/// DNS over TCP: each message is preceded by its length.
pub(crate) fn dns_tcp<'a>(cx: &mut Cx<'a, '_>, tvb: Tvb<'a>) -> Res {
    message(cx, tvb, Kind::Dns, true)
}

/// DNS (or mDNS, LLMNR) over UDP.
pub(crate) fn dns<'a>(cx: &mut Cx<'a, '_>, tvb: Tvb<'a>, kind: Kind) -> Res {
    message(cx, tvb, kind, false)
}

/// True when parsing the message is worth it: something of DNS's is wanted, or the columns,
/// or the marks a broken message would add.
fn wanted(cx: &Cx<'_, '_>) -> bool {
    if cx.tree.is_full() || cx.set_cols() {
        return true;
    }
    let t = &cx.tree;
    (1..f::TABLE.len() as u32).any(|i| t.wants(FieldId::new(f::BASE, i)))
        || t.wants(ws::MALFORMED)
        || t.wants(ws::EXPERT_MESSAGE)
        || t.wants(ws::SHORT)
}

fn message<'a>(cx: &mut Cx<'a, '_>, outer: Tvb<'a>, kind: Kind, tcp: bool) -> Res {
    let (field, layer, proto) = match kind {
        Kind::Dns => (f::DNS, "dns", "DNS"),
        Kind::Mdns => (f::MDNS, "mdns", "MDNS"),
        Kind::Llmnr => (f::LLMNR, "llmnr", "LLMNR"),
    };
    let hdr = if tcp { 2 } else { 0 };
    let response = outer.u8(hdr + 2).map(|b| b & 0x80 != 0).ok();
    let title = match kind {
        Kind::Dns => "Domain Name System",
        Kind::Mdns => "Multicast Domain Name System",
        Kind::Llmnr => "Link-local Multicast Name Resolution",
    };
    cx.open(field, layer, proto, || match response {
        Some(true) => format!("{title} (response)"),
        Some(false) => format!("{title} (query)"),
        None => title.to_string(),
    })?;
    cx.protocol(proto);
    if !wanted(cx) {
        cx.close();
        return Ok(());
    }
    let msg = if tcp {
        let len = outer.be16(0)?;
        cx.uint(f::LENGTH, len, &outer, 0, 2);
        outer.sub_len(2, usize::from(len))
    } else {
        outer
    };
    let id = msg.be16(0)?;
    cx.uint(f::ID, id, &msg, 0, 2);
    let flags = msg.be16(2)?;
    header_flags(cx, &msg, flags, kind);
    let response = flags & 0x8000 != 0;
    let opcode = (flags >> 11) & 0xf;
    let rcode = flags & 0xf;
    cx.info(|s| info_header(s, opcode, response, id, rcode));
    let counts = [msg.be16(4)?, msg.be16(6)?, msg.be16(8)?, msg.be16(10)?];
    let count_fields = if opcode == 5 {
        [
            f::COUNT_ZONES,
            f::COUNT_PREREQUISITES,
            f::COUNT_UPDATES,
            f::COUNT_ADD_RR,
        ]
    } else {
        [
            f::COUNT_QUERIES,
            f::COUNT_ANSWERS,
            f::COUNT_AUTH_RR,
            f::COUNT_ADD_RR,
        ]
    };
    for (i, (&c, &field)) in counts.iter().zip(count_fields.iter()).enumerate() {
        cx.uint(field, c, &msg, 4 + 2 * i, 2);
    }
    let mut off = 12;
    if counts[0] > 0 {
        cx.subtree(None, || {
            if opcode == 5 {
                "Zone".into()
            } else {
                "Queries".into()
            }
        });
        for _ in 0..counts[0] {
            off = query(cx, &msg, off, kind)?;
        }
        cx.close();
    }
    let sections = ["Answers", "Authoritative nameservers", "Additional records"];
    for (section, &count) in sections.iter().zip(&counts[1..]) {
        if count == 0 {
            continue;
        }
        cx.subtree(None, || section.to_string());
        for _ in 0..count {
            off = record(cx, &msg, off, kind)?;
        }
        cx.close();
    }
    cx.close();
    Ok(())
}

/// The flags word, with the bits Wireshark shows for queries and for responses.
fn header_flags<'a>(cx: &mut Cx<'a, '_>, msg: &Tvb<'a>, flags: u16, kind: Kind) {
    let bit = |b: u16| flags & b != 0;
    let response = bit(0x8000);
    cx.uint(f::FLAGS, flags, msg, 2, 2);
    cx.flag(f::FLAGS_RESPONSE, response, msg, 2, 2);
    cx.uint(f::FLAGS_OPCODE, (flags >> 11) & 0xf, msg, 2, 2);
    if kind == Kind::Llmnr {
        cx.flag(f::FLAGS_CONFLICT, bit(0x400), msg, 2, 2);
        cx.flag(f::FLAGS_TRUNCATED, bit(0x200), msg, 2, 2);
        cx.flag(f::FLAGS_TENTATIVE, bit(0x100), msg, 2, 2);
        if response {
            cx.uint(f::FLAGS_RCODE, flags & 0xf, msg, 2, 2);
        }
        return;
    }
    if response {
        cx.flag(f::FLAGS_AUTHORITATIVE, bit(0x400), msg, 2, 2);
    }
    cx.flag(f::FLAGS_TRUNCATED, bit(0x200), msg, 2, 2);
    cx.flag(f::FLAGS_RECDESIRED, bit(0x100), msg, 2, 2);
    if response {
        cx.flag(f::FLAGS_RECAVAIL, bit(0x80), msg, 2, 2);
    }
    cx.flag(f::FLAGS_Z, bit(0x40), msg, 2, 2);
    // Queries show the AD bit only when it is set (RFC 6840 lets a query ask for it).
    if response || bit(0x20) {
        cx.flag(f::FLAGS_AUTHENTICATED, bit(0x20), msg, 2, 2);
    }
    cx.flag(f::FLAGS_CHECKDISABLE, bit(0x10), msg, 2, 2);
    if response {
        cx.uint(f::FLAGS_RCODE, flags & 0xf, msg, 2, 2);
    }
}

/// A name as Wireshark shows it, and where it ends.
struct Name {
    text: String,
    /// Length of the name's bytes before conversion to text (`dns.qry.name.len`).
    raw_len: usize,
    /// Bytes the name occupies where it was read (pointers not followed).
    len: usize,
}

/// Most bytes one name may make the parser read. A name longer than DNS allows (255) but
/// without a loop is still shown; past this budget it is not, so that a message of many
/// records pointing at one long chain of labels costs bounded work.
const MAX_NAME_WORK: usize = 4096;

/// Reads a possibly compressed name at `off`.
fn read_name(msg: &Tvb<'_>, off: usize) -> Result<Name, Exc> {
    let mut out: Vec<u8> = Vec::new();
    let mut pos = off;
    let mut len_here = None;
    // A name that reads more bytes than the message holds must revisit some: a loop.
    let mut processed = 0usize;
    loop {
        let b = msg.u8(pos)?;
        match b >> 6 {
            0 => {
                if b == 0 {
                    len_here.get_or_insert_with(|| pos + 1 - off);
                    break;
                }
                let label = msg.get(pos + 1, usize::from(b))?;
                processed += 1 + label.len();
                if processed > msg.reported() {
                    return Ok(looping(len_here, pos, off));
                }
                if processed > MAX_NAME_WORK {
                    let text = "<Name too long>".to_string();
                    return Ok(Name {
                        raw_len: text.len(),
                        text,
                        len: len_here.unwrap_or((pos + 1).saturating_sub(off)),
                    });
                }
                if !out.is_empty() {
                    out.push(b'.');
                }
                out.extend_from_slice(label);
                pos += 1 + label.len();
            }
            3 => {
                let lo = msg.u8(pos + 1)?;
                len_here.get_or_insert_with(|| pos + 2 - off);
                processed += 2;
                if processed > msg.reported() {
                    return Ok(looping(len_here, pos, off));
                }
                pos = usize::from(b & 0x3f) << 8 | usize::from(lo);
            }
            _ => {
                len_here.get_or_insert_with(|| pos + 1 - off);
                let text = "<Unknown extended label>".to_string();
                return Ok(Name {
                    raw_len: text.len(),
                    text,
                    len: len_here.unwrap_or(1),
                });
            }
        }
    }
    let (text, raw_len) = if out.is_empty() {
        ("<Root>".to_string(), 6)
    } else {
        (String::from_utf8_lossy(&out).into_owned(), out.len())
    };
    Ok(Name {
        text,
        raw_len,
        len: len_here.unwrap_or(1),
    })
}

fn looping(len_here: Option<usize>, pos: usize, off: usize) -> Name {
    let text = "<Name contains a pointer that loops>".to_string();
    Name {
        raw_len: text.len(),
        text,
        len: len_here.unwrap_or((pos + 1).saturating_sub(off)),
    }
}

/// The type's mnemonic for Info and labels.
pub(crate) fn type_name(t: u16) -> std::borrow::Cow<'static, str> {
    match name_of(f::TYPES, t.into()) {
        Some(n) => n.into(),
        None => format!("Unknown ({t})").into(),
    }
}

/// The class's mnemonic for labels.
pub(crate) fn class_name(c: u16) -> std::borrow::Cow<'static, str> {
    match name_of(f::CLASSES, c.into()) {
        Some(n) => n.into(),
        None => format!("Unknown ({c})").into(),
    }
}

/// One question. Returns the offset after it.
fn query<'a>(cx: &mut Cx<'a, '_>, msg: &Tvb<'a>, off: usize, kind: Kind) -> Result<usize, Exc> {
    let name = read_name(msg, off)?;
    let at = off + name.len;
    let qtype = msg.be16(at)?;
    let qclass_raw = msg.be16(at + 2)?;
    let (qu, qclass) = if kind == Kind::Mdns {
        (qclass_raw & 0x8000 != 0, qclass_raw & 0x7fff)
    } else {
        (false, qclass_raw)
    };
    cx.subtree(None, || {
        format!(
            "{}: type {}, class {}",
            name.text,
            type_name(qtype),
            class_name(qclass)
        )
    });
    let raw_len = name.raw_len;
    let labels = name.text.bytes().filter(|&b| b == b'.').count() + 1;
    cx.info_append(|s| {
        info_question(s, qtype, &name.text);
        if qu {
            s.push_str(", \"QU\" question");
        }
    });
    cx.add(
        f::QRY_NAME,
        FieldValue::Str(name.text.into()),
        msg,
        off,
        name.len,
    );
    cx.tree
        .add(f::QRY_NAME_LEN, FieldValue::UInt(raw_len as u64));
    cx.tree
        .add(f::COUNT_LABELS, FieldValue::UInt(labels as u64));
    cx.uint(f::QRY_TYPE, qtype, msg, at, 2);
    if kind == Kind::Mdns {
        cx.flag(f::QRY_QU, qu, msg, at + 2, 2);
    }
    cx.uint(f::QRY_CLASS, qclass, msg, at + 2, 2);
    cx.close();
    Ok(at + 4)
}

/// One resource record of the answer, authority or additional section. Returns the offset
/// after it.
fn record<'a>(cx: &mut Cx<'a, '_>, msg: &Tvb<'a>, off: usize, kind: Kind) -> Result<usize, Exc> {
    let name = read_name(msg, off)?;
    let at = off + name.len;
    let rtype = msg.be16(at)?;
    let class_raw = msg.be16(at + 2)?;
    let ttl = msg.be32(at + 4)?;
    let rdlen = usize::from(msg.be16(at + 8)?);
    let rdata_off = at + 10;
    let (flush, class) = if kind == Kind::Mdns && rtype != 41 {
        (class_raw & 0x8000 != 0, class_raw & 0x7fff)
    } else {
        (false, class_raw)
    };
    cx.subtree(None, || {
        if rtype == 41 {
            format!("{}: type OPT", name.text)
        } else {
            format!(
                "{}: type {}, class {}",
                name.text,
                type_name(rtype),
                class_name(class)
            )
        }
    });
    cx.info_append(|s| {
        info_record_type(s, rtype);
        if flush {
            s.push_str(", cache flush");
        }
    });
    match rtype {
        41 => {
            cx.add(
                f::RESP_NAME,
                FieldValue::Str(name.text.into()),
                msg,
                off,
                name.len,
            );
            cx.uint(f::RESP_TYPE, rtype, msg, at, 2);
            cx.uint(f::RR_UDP_PAYLOAD_SIZE, class_raw, msg, at + 2, 2);
            cx.uint(f::RESP_EXT_RCODE, ttl >> 24, msg, at + 4, 1);
            cx.uint(f::RESP_EDNS0_VERSION, (ttl >> 16) & 0xff, msg, at + 5, 1);
            cx.uint(f::RESP_Z, ttl & 0xffff, msg, at + 6, 2);
            cx.flag(f::RESP_Z_DO, ttl & 0x8000 != 0, msg, at + 6, 2);
            cx.uint(f::RESP_Z_RESERVED, ttl & 0x7fff, msg, at + 6, 2);
            cx.uint(f::RESP_LEN, rdlen as u64, msg, at + 8, 2);
        }
        _ => {
            if rtype == 33 {
                // Wireshark splits an SRV owner name into service, protocol and name.
                let fields = [f::SRV_SERVICE, f::SRV_PROTO, f::SRV_NAME];
                for (field, part) in fields.into_iter().zip(name.text.splitn(3, '.')) {
                    let value = FieldValue::Str(part.to_string().into());
                    cx.add(field, value, msg, off, name.len);
                }
            } else {
                cx.add(
                    f::RESP_NAME,
                    FieldValue::Str(name.text.into()),
                    msg,
                    off,
                    name.len,
                );
            }
            cx.uint(f::RESP_TYPE, rtype, msg, at, 2);
            if kind == Kind::Mdns {
                cx.flag(f::RESP_CACHE_FLUSH, flush, msg, at + 2, 2);
            }
            cx.uint(f::RESP_CLASS, class, msg, at + 2, 2);
            cx.uint(f::RESP_TTL, ttl, msg, at + 4, 4);
            cx.uint(f::RESP_LEN, rdlen as u64, msg, at + 8, 2);
            rdata(cx, msg, rtype, rdata_off, rdlen)?;
        }
    }
    cx.close();
    Ok(rdata_off + rdlen)
}

/// The data of the record types Osprey knows, with their Info summary.
fn rdata<'a>(cx: &mut Cx<'a, '_>, msg: &Tvb<'a>, rtype: u16, off: usize, rdlen: usize) -> Res {
    // The whole record must be there before any of it is read (Wireshark takes a subset of
    // `rdlen` bytes first).
    msg.check(off, rdlen)?;
    match rtype {
        1 => {
            let a = Ipv4Addr::from(msg.array::<4>(off)?);
            cx.add(f::A, FieldValue::Ipv4(a), msg, off, 4);
            cx.info_append(|s| info_rdata(s, &RData::Addr(a.into())));
        }
        28 => {
            let a = Ipv6Addr::from(msg.array::<16>(off)?);
            cx.add(f::AAAA, FieldValue::Ipv6(a), msg, off, 16);
            cx.info_append(|s| info_rdata(s, &RData::Addr(a.into())));
        }
        2 | 5 | 12 => {
            let field = match rtype {
                2 => f::NS,
                5 => f::CNAME,
                _ => f::PTR_DOMAIN_NAME,
            };
            let n = read_name(msg, off)?;
            cx.info_append(|s| info_rdata(s, &RData::Name(&n.text)));
            cx.add(field, FieldValue::Str(n.text.into()), msg, off, n.len);
        }
        15 => {
            let pref = msg.be16(off)?;
            cx.uint(f::MX_PREFERENCE, pref, msg, off, 2);
            let n = read_name(msg, off + 2)?;
            cx.info_append(|s| info_rdata(s, &RData::Mx(pref, &n.text)));
            cx.add(
                f::MX_MAIL_EXCHANGE,
                FieldValue::Str(n.text.into()),
                msg,
                off + 2,
                n.len,
            );
        }
        16 => {
            let mut p = off;
            while p < off + rdlen {
                let l = usize::from(msg.u8(p)?);
                cx.uint(f::TXT_LENGTH, l as u64, msg, p, 1);
                let t = msg.get(p + 1, l)?;
                cx.add(
                    f::TXT,
                    FieldValue::Str(String::from_utf8_lossy(t)),
                    msg,
                    p + 1,
                    l,
                );
                p += 1 + l;
            }
        }
        6 => {
            let mname = read_name(msg, off)?;
            let rname = read_name(msg, off + mname.len)?;
            let at = off + mname.len + rname.len;
            cx.info_append(|s| info_rdata(s, &RData::Name(&mname.text)));
            cx.add(
                f::SOA_MNAME,
                FieldValue::Str(mname.text.into()),
                msg,
                off,
                mname.len,
            );
            cx.add(
                f::SOA_RNAME,
                FieldValue::Str(rname.text.into()),
                msg,
                off + mname.len,
                rname.len,
            );
            let fields = [
                f::SOA_SERIAL_NUMBER,
                f::SOA_REFRESH_INTERVAL,
                f::SOA_RETRY_INTERVAL,
                f::SOA_EXPIRE_LIMIT,
                f::SOA_MINIMUM_TTL,
            ];
            for (i, field) in fields.into_iter().enumerate() {
                let v = msg.be32(at + 4 * i)?;
                cx.uint(field, v, msg, at + 4 * i, 4);
            }
        }
        33 => {
            let (prio, weight, port) = (msg.be16(off)?, msg.be16(off + 2)?, msg.be16(off + 4)?);
            cx.uint(f::SRV_PRIORITY, prio, msg, off, 2);
            cx.uint(f::SRV_WEIGHT, weight, msg, off + 2, 2);
            cx.uint(f::SRV_PORT, port, msg, off + 4, 2);
            let n = read_name(msg, off + 6)?;
            cx.info_append(|s| info_rdata(s, &RData::Srv(prio, weight, port, &n.text)));
            cx.add(
                f::SRV_TARGET,
                FieldValue::Str(n.text.into()),
                msg,
                off + 6,
                n.len,
            );
        }
        _ => {
            // Other types are shown by their header only; their data is not interpreted.
        }
    }
    Ok(())
}

/// The data of a resource record as far as the Info column shows it.
pub(crate) enum RData<'s> {
    /// A or AAAA.
    Addr(std::net::IpAddr),
    /// NS, CNAME, PTR, and SOA's primary name server.
    Name(&'s str),
    /// MX: preference and exchange.
    Mx(u16, &'s str),
    /// SRV: priority, weight, port and target.
    Srv(u16, u16, u16, &'s str),
}

/// The start of a DNS message's Info: `Standard query response 0x2a7c No such name`.
/// Shared by packets and Tracee's `trace.ProtoDNS`, so both read alike.
pub(crate) fn info_header(s: &mut String, opcode: u16, response: bool, id: u16, rcode: u16) {
    match name_of(f::OPCODES, opcode.into()) {
        Some(n) => s.push_str(n),
        None => {
            let _ = write!(s, "Unknown operation ({opcode})");
        }
    }
    if response {
        s.push_str(" response");
    }
    let _ = write!(s, " 0x{id:04x}");
    if response && rcode != 0 {
        match name_of(f::RCODES, rcode.into()) {
            Some(n) => {
                let _ = write!(s, " {n}");
            }
            None => {
                let _ = write!(s, " Unknown error ({rcode})");
            }
        }
    }
}

/// A question in the Info column: ` A example.com`.
pub(crate) fn info_question(s: &mut String, qtype: u16, name: &str) {
    let _ = write!(s, " {} {}", type_name(qtype), name);
}

/// A resource record's type in the Info column: ` OPT`.
pub(crate) fn info_record_type(s: &mut String, rtype: u16) {
    let _ = write!(s, " {}", type_name(rtype));
}

/// A resource record's data in the Info column, after its type.
pub(crate) fn info_rdata(s: &mut String, data: &RData<'_>) {
    let _ = match data {
        RData::Addr(a) => write!(s, " {a}"),
        RData::Name(n) => write!(s, " {n}"),
        RData::Mx(pref, n) => write!(s, " {pref} {n}"),
        RData::Srv(prio, weight, port, n) => write!(s, " {prio} {weight} {port} {n}"),
    };
}
