//! Network events on Wireshark's own fields (analyzer.md §5): so that `ip.addr == 10.0.0.1`,
//! `tcp.port == 443`, `dns.qry.name == "x"` or bare `dns` select Tracee events as they select
//! packets. The values are hidden in the detail tree (they repeat the event's own fields).

use std::borrow::Cow;
use std::net::IpAddr;

use osprey_field::fields::{ip, tcp, udp};
use osprey_field::FieldValue;

use crate::Tree;

/// Which transport a port belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp,
    Udp,
    /// Unknown: the port is set on both `tcp.*` and `udp.*` (a socket address without a
    /// socket type).
    Either,
}

impl Transport {
    /// From an IP protocol number.
    pub(crate) fn from_ip_proto(proto: i64) -> Option<Transport> {
        match proto {
            6 => Some(Transport::Tcp),
            17 => Some(Transport::Udp),
            _ => None,
        }
    }
}

/// Adds `ip.*` or `ipv6.*` for a source and destination given as text. Returns whether an
/// address parsed.
pub(crate) fn addresses(tree: &mut Tree<'_>, src: Option<&str>, dst: Option<&str>) -> bool {
    let src: Option<IpAddr> = src.and_then(|s| s.trim().parse().ok());
    let dst: Option<IpAddr> = dst.and_then(|s| s.trim().parse().ok());
    if src.is_none() && dst.is_none() {
        return false;
    }
    let v6 = matches!(src.or(dst), Some(IpAddr::V6(_)));
    let (proto, src_f, dst_f, addr_f) = if v6 {
        (ip::IPV6, ip::IPV6_SRC, ip::IPV6_DST, ip::IPV6_ADDR)
    } else {
        (ip::IP, ip::SRC, ip::DST, ip::ADDR)
    };
    tree.add_hidden(proto, FieldValue::None);
    let value = |a: IpAddr| match a {
        IpAddr::V4(v4) => FieldValue::Ipv4(v4),
        IpAddr::V6(v6) => FieldValue::Ipv6(v6),
    };
    if let Some(s) = src {
        tree.add_hidden(src_f, value(s));
    }
    if let Some(d) = dst {
        tree.add_hidden(dst_f, value(d));
    }
    for a in [src, dst].into_iter().flatten() {
        tree.add_hidden(addr_f, value(a));
    }
    true
}

/// Adds the IP protocol number.
pub(crate) fn ip_proto(tree: &mut Tree<'_>, proto: i64, v6: bool) {
    if proto >= 0 {
        tree.add_hidden(
            if v6 { ip::IPV6_NXT } else { ip::PROTO },
            FieldValue::UInt(proto as u64),
        );
    }
}

/// Adds the length of the packet an event describes: `ip.len`, or for IPv6 `ipv6.plen` (the
/// payload after the 40-byte header).
pub(crate) fn ip_len(tree: &mut Tree<'_>, packet_len: u64, v6: bool) {
    if v6 {
        if let Some(plen) = packet_len.checked_sub(40) {
            tree.add_hidden(ip::IPV6_PLEN, FieldValue::UInt(plen));
        }
    } else {
        tree.add_hidden(ip::LEN, FieldValue::UInt(packet_len));
    }
}

/// Adds ports on `tcp.*`, `udp.*` or both.
pub(crate) fn ports(tree: &mut Tree<'_>, transport: Transport, src: Option<u16>, dst: Option<u16>) {
    if src.is_none() && dst.is_none() {
        return;
    }
    let sets: &[(
        osprey_field::FieldId,
        osprey_field::FieldId,
        osprey_field::FieldId,
        osprey_field::FieldId,
    )] = match transport {
        Transport::Tcp => &[(tcp::TCP, tcp::SRCPORT, tcp::DSTPORT, tcp::PORT)],
        Transport::Udp => &[(udp::UDP, udp::SRCPORT, udp::DSTPORT, udp::PORT)],
        Transport::Either => &[
            (tcp::TCP, tcp::SRCPORT, tcp::DSTPORT, tcp::PORT),
            (udp::UDP, udp::SRCPORT, udp::DSTPORT, udp::PORT),
        ],
    };
    for (proto, src_f, dst_f, port_f) in sets {
        tree.add_hidden(*proto, FieldValue::None);
        if let Some(s) = src {
            tree.add_hidden(*src_f, FieldValue::UInt(s as u64));
        }
        if let Some(d) = dst {
            tree.add_hidden(*dst_f, FieldValue::UInt(d as u64));
        }
        for p in [src, dst].into_iter().flatten() {
            tree.add_hidden(*port_f, FieldValue::UInt(p as u64));
        }
    }
}

/// An IP protocol number from Tracee's name for it (`"TCP"`, `"UDP"`...), or a number.
pub(crate) fn ip_proto_number(name: &str) -> Option<i64> {
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    osprey_field::fields::tracee::IP_PROTOCOLS
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(v, _)| *v)
}

/// A port given as a JSON number or a string.
pub(crate) fn port(v: Option<&osprey_event::Value>) -> Option<u16> {
    v.and_then(|v| v.as_u64())
        .and_then(|p| u16::try_from(p).ok())
}

/// DNS record type numbers for the names Tracee writes (`"AAAA"`), from the `dns.*` type
/// table, or a number.
pub(crate) fn dns_type_number(name: &str) -> Option<u64> {
    osprey_field::fields::dns::TYPES
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(v, _)| *v as u64)
        .or_else(|| name.parse().ok())
}

/// DNS class numbers for the names Tracee writes (`"IN"`; gopacket's `"Any"`).
pub(crate) fn dns_class_number(name: &str) -> Option<u64> {
    osprey_field::fields::dns::CLASSES
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(v, _)| *v as u64)
        .or_else(|| name.parse().ok())
}

/// Borrows a string value, or renders another value as text.
pub(crate) fn text<'a>(v: &'a osprey_event::Value<'a>) -> Cow<'a, str> {
    match v {
        osprey_event::Value::Str(s) => Cow::Borrowed(s.as_ref()),
        other => Cow::Owned(crate::event::enrich::info_text(other)),
    }
}
