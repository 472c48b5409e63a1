//! IPv4 and IPv6 (with extension headers skipped to the upper layer), and the IP protocol
//! table that hands the payload to TCP, UDP, ICMP or ICMPv6.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use osprey_field::fields::ip as f;
use osprey_field::fields::tracee::IP_PROTOCOLS;
use osprey_field::{FieldId, FieldValue};

use super::{data, icmp, name_of, tcp, udp, Cx, Exc, Res, Tvb};

/// Most IPv6 extension headers followed before giving up (hostile chains).
const MAX_EXTENSION_HEADERS: usize = 32;

/// Adds an address with its hidden `*.addr`, `*_host` and `*.host` companions, in Wireshark's
/// order.
#[allow(clippy::too_many_arguments)]
fn address<'a>(
    cx: &mut Cx<'a, '_>,
    tvb: &Tvb<'a>,
    off: usize,
    len: usize,
    value: FieldValue<'a>,
    field: FieldId,
    addr: FieldId,
    host_field: FieldId,
    host: FieldId,
) {
    cx.add(field, value.clone(), tvb, off, len);
    cx.tree.add_hidden(addr, value.clone());
    let wants_host = cx.tree.wants(host_field) || cx.tree.wants(host);
    if wants_host {
        // Without name resolution (tshark's default for addresses) the host is the address.
        let mut text = String::new();
        match &value {
            FieldValue::Ipv4(a) => {
                let _ = write!(text, "{a}");
            }
            FieldValue::Ipv6(a) => {
                let _ = write!(text, "{a}");
            }
            _ => {}
        }
        cx.tree
            .add_hidden(host_field, FieldValue::Str(text.clone().into()));
        cx.tree.add_hidden(host, FieldValue::Str(text.into()));
    }
}

/// IPv4.
pub(crate) fn ipv4<'a>(cx: &mut Cx<'a, '_>, tvb: Tvb<'a>) -> Res {
    let b0 = tvb.u8(0)?;
    let src_dst = tvb.array::<4>(12).ok().zip(tvb.array::<4>(16).ok());
    cx.open(f::IP, "ip", "IPv4", || match src_dst {
        Some((s, d)) => format!(
            "Internet Protocol Version 4, Src: {}, Dst: {}",
            Ipv4Addr::from(s),
            Ipv4Addr::from(d)
        ),
        None => "Internet Protocol Version 4".into(),
    })?;
    cx.protocol("IPv4");
    let version = b0 >> 4;
    cx.uint(f::VERSION, version, &tvb, 0, 1);
    if version != 4 {
        cx.close();
        cx.info(|s| {
            let _ = write!(s, "Bogus IPv4 version ({version}, must be 4)");
        });
        cx.malformed(|| format!("Bogus IPv4 version ({version}, must be 4)"));
        return Ok(());
    }
    let hlen = usize::from(b0 & 0x0f) * 4;
    cx.uint(f::HDR_LEN, hlen as u64, &tvb, 0, 1);
    if hlen < 20 {
        cx.close();
        cx.info(|s| {
            let _ = write!(s, "Bogus IPv4 header length ({hlen}, must be at least 20)");
        });
        cx.malformed(|| format!("Bogus IPv4 header length ({hlen}, must be at least 20)"));
        return Ok(());
    }
    let tos = tvb.u8(1)?;
    cx.uint(f::DSFIELD, tos, &tvb, 1, 1);
    cx.uint(f::DSFIELD_DSCP, tos >> 2, &tvb, 1, 1);
    cx.uint(f::DSFIELD_ECN, tos & 3, &tvb, 1, 1);
    let mut len = usize::from(tvb.be16(2)?);
    cx.uint(f::LEN, len as u64, &tvb, 2, 2);
    if len == 0 {
        // Segmentation offload: the header's length is left 0, the packet is what was seen.
        len = tvb.reported();
    } else if len < hlen {
        cx.close();
        cx.info(|s| {
            let _ = write!(
                s,
                "Bogus IPv4 total length ({len}, less than header length {hlen})"
            );
        });
        cx.malformed(|| format!("Bogus IPv4 total length ({len}, less than header length {hlen})"));
        return Ok(());
    }
    let id = tvb.be16(4)?;
    cx.uint(f::ID, id, &tvb, 4, 2);
    let frag = tvb.be16(6)?;
    cx.uint(f::FLAGS, frag >> 13, &tvb, 6, 1);
    cx.flag(f::FLAGS_RB, frag & 0x8000 != 0, &tvb, 6, 1);
    cx.flag(f::FLAGS_DF, frag & 0x4000 != 0, &tvb, 6, 1);
    cx.flag(f::FLAGS_MF, frag & 0x2000 != 0, &tvb, 6, 1);
    let offset = u32::from(frag & 0x1fff) * 8;
    cx.uint(f::FRAG_OFFSET, offset, &tvb, 6, 2);
    let ttl = tvb.u8(8)?;
    cx.uint(f::TTL, ttl, &tvb, 8, 1);
    let proto = tvb.u8(9)?;
    cx.uint(f::PROTO, proto, &tvb, 9, 1);
    let checksum = tvb.be16(10)?;
    cx.uint(f::CHECKSUM, checksum, &tvb, 10, 2);
    // Wireshark does not verify IPv4 checksums by default (offloading makes them wrong in
    // captures taken on the sending host), so the status is "Unverified".
    cx.tree.add(f::CHECKSUM_STATUS, FieldValue::UInt(2));
    let src = Ipv4Addr::from(tvb.array::<4>(12)?);
    address(
        cx,
        &tvb,
        12,
        4,
        FieldValue::Ipv4(src),
        f::SRC,
        f::ADDR,
        f::SRC_HOST,
        f::HOST,
    );
    let dst = Ipv4Addr::from(tvb.array::<4>(16)?);
    address(
        cx,
        &tvb,
        16,
        4,
        FieldValue::Ipv4(dst),
        f::DST,
        f::ADDR,
        f::DST_HOST,
        f::HOST,
    );
    cx.addresses(&src, &dst);
    cx.ip_ttl = ttl;
    cx.net = Some((IpAddr::V4(src), IpAddr::V4(dst)));
    if hlen > 20 {
        options(cx, &tvb, hlen)?;
    }
    if len > tvb.reported() {
        if cx.in_error == 0 {
            let reported = tvb.reported();
            cx.malformed(|| format!("IPv4 total length exceeds packet length ({reported} bytes)"));
        }
        len = tvb.reported();
    }
    cx.close();
    let payload = tvb.sub_len(hlen, len.saturating_sub(hlen));
    if frag & 0x2000 != 0 || offset != 0 {
        // Reassembly needs the other fragments: show the payload as data, as Wireshark does
        // for a fragment it cannot (yet) reassemble.
        cx.info(|s| {
            let _ = write!(
                s,
                "Fragmented IP protocol (proto={} {proto}, off={offset}, ID={id:04x})",
                name_of(IP_PROTOCOLS, proto.into()).unwrap_or("Unknown")
            );
        });
        data(cx, payload);
        return Ok(());
    }
    ip_payload(cx, proto, payload)
}

/// IPv4 options: each one's type and length under an `Options` subtree.
fn options<'a>(cx: &mut Cx<'a, '_>, tvb: &Tvb<'a>, hlen: usize) -> Res {
    let opts = tvb.get(20, hlen - 20)?;
    cx.subtree(None, || format!("Options: ({} bytes)", hlen - 20));
    let mut i = 0;
    while i < opts.len() {
        let kind = opts[i];
        cx.uint(f::OPT_TYPE, kind, tvb, 20 + i, 1);
        match kind {
            0 => break,
            1 => i += 1,
            _ => {
                let Some(&olen) = opts.get(i + 1) else {
                    cx.malformed(|| "IPv4 option length field past the header".to_string());
                    break;
                };
                cx.uint(f::OPT_LEN, olen, tvb, 20 + i + 1, 1);
                let olen = usize::from(olen);
                if olen < 2 || i + olen > opts.len() {
                    cx.malformed(|| format!("IPv4 option length {olen} invalid"));
                    break;
                }
                i += olen;
            }
        }
    }
    cx.close();
    Ok(())
}

/// IPv6 and its extension headers.
pub(crate) fn ipv6<'a>(cx: &mut Cx<'a, '_>, tvb: Tvb<'a>) -> Res {
    let b0 = tvb.u8(0)?;
    let src_dst = tvb.array::<16>(8).ok().zip(tvb.array::<16>(24).ok());
    cx.open(f::IPV6, "ipv6", "IPv6", || match src_dst {
        Some((s, d)) => format!(
            "Internet Protocol Version 6, Src: {}, Dst: {}",
            Ipv6Addr::from(s),
            Ipv6Addr::from(d)
        ),
        None => "Internet Protocol Version 6".into(),
    })?;
    cx.protocol("IPv6");
    let version = b0 >> 4;
    // Wireshark also gives IPv6 packets a hidden `ip.version`, so `ip.version == 6` works.
    cx.tree
        .add_hidden(f::VERSION, FieldValue::UInt(version.into()));
    cx.uint(f::IPV6_VERSION, version, &tvb, 0, 1);
    if version != 6 {
        cx.close();
        cx.info(|s| {
            let _ = write!(s, "Bogus IPv6 version ({version}, must be 6)");
        });
        cx.malformed(|| format!("Bogus IPv6 version ({version}, must be 6)"));
        return Ok(());
    }
    let word = tvb.be32(0)?;
    let tclass = (word >> 20) & 0xff;
    cx.uint(f::IPV6_TCLASS, tclass, &tvb, 0, 4);
    cx.uint(f::IPV6_TCLASS_DSCP, tclass >> 2, &tvb, 0, 4);
    cx.uint(f::IPV6_TCLASS_ECN, tclass & 3, &tvb, 0, 4);
    cx.uint(f::IPV6_FLOW, word & 0xfffff, &tvb, 1, 3);
    let plen = usize::from(tvb.be16(4)?);
    cx.uint(f::IPV6_PLEN, plen as u64, &tvb, 4, 2);
    let mut nxt = tvb.u8(6)?;
    cx.uint(f::IPV6_NXT, nxt, &tvb, 6, 1);
    let hlim = tvb.u8(7)?;
    cx.uint(f::IPV6_HLIM, hlim, &tvb, 7, 1);
    let src = Ipv6Addr::from(tvb.array::<16>(8)?);
    address(
        cx,
        &tvb,
        8,
        16,
        FieldValue::Ipv6(src),
        f::IPV6_SRC,
        f::IPV6_ADDR,
        f::IPV6_SRC_HOST,
        f::IPV6_HOST,
    );
    let dst = Ipv6Addr::from(tvb.array::<16>(24)?);
    address(
        cx,
        &tvb,
        24,
        16,
        FieldValue::Ipv6(dst),
        f::IPV6_DST,
        f::IPV6_ADDR,
        f::IPV6_DST_HOST,
        f::IPV6_HOST,
    );
    cx.addresses(&src, &dst);
    cx.ip_ttl = hlim;
    cx.net = Some((IpAddr::V6(src), IpAddr::V6(dst)));
    let available = tvb.reported().saturating_sub(40);
    let plen = if plen == 0 {
        // Jumbograms and segmentation offload leave the length 0.
        available
    } else if plen > available {
        if cx.in_error == 0 {
            cx.malformed(|| {
                format!("IPv6 payload length exceeds framing length ({available} bytes)")
            });
        }
        available
    } else {
        plen
    };
    cx.close();
    let mut payload = tvb.sub_len(40, plen);
    for _ in 0..MAX_EXTENSION_HEADERS {
        match nxt {
            0 | 60 | 43 => {
                let (field, layer, nxt_f, len_f, oct_f, name) = match nxt {
                    0 => (
                        f::HOPOPTS,
                        "ipv6.hopopts",
                        f::HOPOPTS_NXT,
                        f::HOPOPTS_LEN,
                        f::HOPOPTS_LEN_OCT,
                        "IPv6 Hop-by-Hop Option",
                    ),
                    60 => (
                        f::DSTOPTS,
                        "ipv6.dstopts",
                        f::DSTOPTS_NXT,
                        f::DSTOPTS_LEN,
                        f::DSTOPTS_LEN_OCT,
                        "Destination Options for IPv6",
                    ),
                    _ => (
                        f::ROUTING,
                        "ipv6.routing",
                        f::ROUTING_NXT,
                        f::ROUTING_LEN,
                        f::ROUTING_LEN_OCT,
                        "Routing Header for IPv6",
                    ),
                };
                cx.open(field, layer, "IPv6", || name.to_string())?;
                let next = payload.u8(0)?;
                cx.uint(nxt_f, next, &payload, 0, 1);
                let l = payload.u8(1)?;
                cx.uint(len_f, l, &payload, 1, 1);
                let octets = (usize::from(l) + 1) * 8;
                cx.uint(oct_f, octets as u64, &payload, 1, 1);
                if nxt == 43 {
                    let rtype = payload.u8(2)?;
                    cx.uint(f::ROUTING_TYPE, rtype, &payload, 2, 1);
                    let left = payload.u8(3)?;
                    cx.uint(f::ROUTING_SEGLEFT, left, &payload, 3, 1);
                }
                cx.close();
                payload.check(0, octets)?;
                payload = payload.sub(octets);
                nxt = next;
            }
            44 => {
                cx.open(f::FRAGHDR, "ipv6.fraghdr", "IPv6", || {
                    "Fragment Header for IPv6".into()
                })?;
                let next = payload.u8(0)?;
                cx.uint(f::FRAGHDR_NXT, next, &payload, 0, 1);
                let word = payload.be16(2)?;
                cx.uint(f::FRAGHDR_OFFSET, word >> 3, &payload, 2, 2);
                let more = word & 1 != 0;
                cx.flag(f::FRAGHDR_MORE, more, &payload, 2, 2);
                let ident = payload.be32(4)?;
                cx.uint(f::FRAGHDR_IDENT, ident, &payload, 4, 4);
                cx.close();
                payload = payload.sub(8);
                if word >> 3 != 0 || more {
                    cx.info(|s| {
                        let _ = write!(
                            s,
                            "IPv6 fragment (off={} more={} ident=0x{ident:08x} nxt={next})",
                            (word >> 3) * 8,
                            if more { 'y' } else { 'n' }
                        );
                    });
                    data(cx, payload);
                    return Ok(());
                }
                nxt = next;
            }
            _ => return ip_payload(cx, nxt, payload),
        }
    }
    Err(Exc::Malformed)
}

/// Hands an IP payload to the dissector of its protocol number.
pub(crate) fn ip_payload<'a>(cx: &mut Cx<'a, '_>, proto: u8, payload: Tvb<'a>) -> Res {
    match proto {
        6 => tcp::tcp(cx, payload),
        17 => udp::udp(cx, payload),
        1 => icmp::icmp(cx, payload),
        58 => icmp::icmpv6(cx, payload),
        4 => ipv4(cx, payload),
        41 => ipv6(cx, payload),
        59 => {
            data(cx, payload);
            Ok(())
        }
        _ => {
            cx.info(|s| {
                let _ = write!(
                    s,
                    "{} ({proto})",
                    name_of(IP_PROTOCOLS, proto.into()).unwrap_or("Unknown")
                );
            });
            data(cx, payload);
            Ok(())
        }
    }
}
