//! ICMP and ICMPv6 (echo, errors with the quoted packet dissected, neighbour discovery).

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv6Addr};

use osprey_field::fields::icmp as f;
use osprey_field::FieldValue;

use super::{data, inet_checksum, ip, name_of, Cx, Mac, Res, Tvb};

/// Dissects the packet quoted by an ICMP error. It sets no column and is not marked for being
/// cut short (an error quotes only the start of the offending packet); whatever it adds stays.
fn quoted<'a>(cx: &mut Cx<'a, '_>, tvb: Tvb<'a>, v6: bool) {
    if tvb.bytes().is_empty() {
        return;
    }
    let (depth, net, ttl, current) = (cx.depth, cx.net, cx.ip_ttl, cx.current);
    cx.in_error += 1;
    // Quoted packets are usually truncated by the error's size limit, not by the capture.
    let inner = Tvb {
        reported: tvb.len(),
        ..tvb
    };
    let _ = if v6 {
        ip::ipv6(cx, inner)
    } else {
        ip::ipv4(cx, inner)
    };
    cx.in_error -= 1;
    cx.unwind(depth);
    (cx.net, cx.ip_ttl, cx.current) = (net, ttl, current);
}

/// Checksum status of a message whose checksum Wireshark verifies: 1 good, 0 bad, 2 when the
/// message was not captured whole.
fn status(tvb: &Tvb<'_>, pseudo: Option<&[u8]>) -> u64 {
    if !tvb.complete() {
        return 2;
    }
    let sum = match pseudo {
        Some(p) => inet_checksum(&[p, tvb.bytes()]),
        None => inet_checksum(&[tvb.bytes()]),
    };
    u64::from(sum == 0)
}

/// The ICMP Info text for a type and code.
fn icmp_text(ty: u8, code: u8) -> (&'static str, Option<String>) {
    let type_str =
        name_of(f::ICMP_TYPES, ty.into()).unwrap_or("Unknown ICMP (obsolete or malformed?)");
    let codes = match ty {
        3 => Some(f::ICMP_UNREACH_CODES),
        5 => Some(f::ICMP_REDIRECT_CODES),
        11 => Some(f::ICMP_TIMXCEED_CODES),
        12 => Some(f::ICMP_PARAMPROB_CODES),
        _ => None,
    };
    let code_str = codes.map(|t| {
        name_of(t, code.into()).map_or_else(|| format!("Unknown code: {code}"), str::to_string)
    });
    (type_str, code_str)
}

/// ICMP.
pub(crate) fn icmp<'a>(cx: &mut Cx<'a, '_>, tvb: Tvb<'a>) -> Res {
    cx.open(f::ICMP, "icmp", "ICMP", || {
        "Internet Control Message Protocol".into()
    })?;
    cx.protocol("ICMP");
    let ty = tvb.u8(0)?;
    let code = tvb.u8(1)?;
    let (type_str, code_str) = icmp_text(ty, code);
    cx.info(|s| {
        let _ = write!(s, "{type_str:<20}");
        if let Some(c) = &code_str {
            let _ = write!(s, " ({c})");
        }
    });
    cx.uint(f::TYPE, ty, &tvb, 0, 1);
    cx.uint(f::CODE, code, &tvb, 1, 1);
    let checksum = tvb.be16(2)?;
    cx.uint(f::CHECKSUM, checksum, &tvb, 2, 2);
    cx.tree
        .add(f::CHECKSUM_STATUS, FieldValue::UInt(status(&tvb, None)));
    match ty {
        0 | 8 | 13 | 14 | 15 | 16 | 17 | 18 => {
            let id = tvb.be16(4)?;
            cx.uint(f::IDENT, id, &tvb, 4, 2);
            cx.uint(f::IDENT_LE, id.swap_bytes(), &tvb, 4, 2);
            let seq = tvb.be16(6)?;
            cx.uint(f::SEQ, seq, &tvb, 6, 2);
            cx.uint(f::SEQ_LE, seq.swap_bytes(), &tvb, 6, 2);
            let ttl = cx.ip_ttl;
            cx.info_append(|s| {
                let _ = write!(
                    s,
                    " id=0x{id:04x}, seq={seq}/{}, ttl={ttl}",
                    seq.swap_bytes()
                );
            });
            if ty == 0 || ty == 8 {
                cx.close();
                data(cx, tvb.sub(8));
                return Ok(());
            }
        }
        3 | 4 | 5 | 11 | 12 => {
            match (ty, code) {
                (3, 4) => {
                    let unused = tvb.get(4, 2)?;
                    cx.add(f::UNUSED, FieldValue::Bytes(unused.into()), &tvb, 4, 2);
                    let mtu = tvb.be16(6)?;
                    cx.uint(f::MTU, mtu, &tvb, 6, 2);
                }
                (5, _) => {
                    let gw = tvb.array::<4>(4)?;
                    cx.add(f::REDIR_GW, FieldValue::Ipv4(gw.into()), &tvb, 4, 4);
                }
                (12, _) => {
                    let pointer = tvb.u8(4)?;
                    cx.uint(f::POINTER, pointer, &tvb, 4, 1);
                }
                _ => {
                    let unused = tvb.get(4, 4)?;
                    cx.add(f::UNUSED, FieldValue::Bytes(unused.into()), &tvb, 4, 4);
                }
            }
            quoted(cx, tvb.sub(8), false);
        }
        _ => {}
    }
    cx.close();
    Ok(())
}

/// The ICMPv6 Info text for a type and code.
fn icmpv6_text(ty: u8, code: u8) -> (&'static str, Option<String>) {
    let type_str = name_of(f::ICMPV6_TYPES, ty.into()).unwrap_or("Unknown ICMPv6 type");
    let codes = match ty {
        1 => Some(f::ICMPV6_UNREACH_CODES),
        3 => Some(f::ICMPV6_TIMXCEED_CODES),
        4 => Some(f::ICMPV6_PARAMPROB_CODES),
        _ => None,
    };
    let code_str = codes.map(|t| {
        name_of(t, code.into()).map_or_else(|| format!("Unknown ({code})"), str::to_string)
    });
    (type_str, code_str)
}

/// ICMPv6.
pub(crate) fn icmpv6<'a>(cx: &mut Cx<'a, '_>, tvb: Tvb<'a>) -> Res {
    cx.open(f::ICMPV6, "icmpv6", "ICMPv6", || {
        "Internet Control Message Protocol v6".into()
    })?;
    cx.protocol("ICMPv6");
    let ty = tvb.u8(0)?;
    let code = tvb.u8(1)?;
    let (type_str, code_str) = icmpv6_text(ty, code);
    cx.info(|s| {
        s.push_str(type_str);
        if let Some(c) = &code_str {
            let _ = write!(s, " ({c})");
        }
    });
    cx.uint(f::ICMPV6_TYPE, ty, &tvb, 0, 1);
    cx.uint(f::ICMPV6_CODE, code, &tvb, 1, 1);
    let checksum = tvb.be16(2)?;
    cx.uint(f::ICMPV6_CHECKSUM, checksum, &tvb, 2, 2);
    // The checksum covers an IPv6 pseudo-header: addresses, upper-layer length, next header.
    let pseudo = match cx.net {
        Some((IpAddr::V6(s), IpAddr::V6(d))) => {
            let mut p = [0u8; 40];
            p[..16].copy_from_slice(&s.octets());
            p[16..32].copy_from_slice(&d.octets());
            p[32..36].copy_from_slice(&(tvb.reported() as u32).to_be_bytes());
            p[39] = 58;
            Some(p)
        }
        _ => None,
    };
    let st = match &pseudo {
        Some(p) => status(&tvb, Some(p)),
        None => 2,
    };
    cx.tree.add(f::ICMPV6_CHECKSUM_STATUS, FieldValue::UInt(st));
    match ty {
        1 | 3 => {
            let reserved = tvb.get(4, 4)?;
            cx.add(
                f::ICMPV6_RESERVED,
                FieldValue::Bytes(reserved.into()),
                &tvb,
                4,
                4,
            );
            quoted(cx, tvb.sub(8), true);
        }
        2 => {
            let mtu = tvb.be32(4)?;
            cx.uint(f::ICMPV6_MTU, mtu, &tvb, 4, 4);
            quoted(cx, tvb.sub(8), true);
        }
        4 => {
            let pointer = tvb.be32(4)?;
            cx.uint(f::ICMPV6_POINTER, pointer, &tvb, 4, 4);
            quoted(cx, tvb.sub(8), true);
        }
        128 | 129 => {
            let id = tvb.be16(4)?;
            cx.uint(f::ICMPV6_ECHO_IDENTIFIER, id, &tvb, 4, 2);
            let seq = tvb.be16(6)?;
            cx.uint(f::ICMPV6_ECHO_SEQUENCE, seq, &tvb, 6, 2);
            let hlim = cx.ip_ttl;
            cx.info_append(|s| {
                let _ = write!(s, " id=0x{id:04x}, seq={seq}, hop limit={hlim}");
            });
            cx.close();
            data(cx, tvb.sub(8));
            return Ok(());
        }
        133 => {
            let reserved = tvb.get(4, 4)?;
            cx.add(
                f::ICMPV6_RESERVED,
                FieldValue::Bytes(reserved.into()),
                &tvb,
                4,
                4,
            );
            let from = nd_options(cx, &tvb, 8)?;
            if let Some(mac) = from {
                cx.info_append(|s| {
                    let _ = write!(s, " from {}", Mac(mac));
                });
            }
        }
        134 => {
            let hop = tvb.u8(4)?;
            cx.uint(f::ND_RA_CUR_HOP_LIMIT, hop, &tvb, 4, 1);
            let flags = tvb.u8(5)?;
            cx.uint(f::ND_RA_FLAG, flags, &tvb, 5, 1);
            let lifetime = tvb.be16(6)?;
            cx.uint(f::ND_RA_ROUTER_LIFETIME, lifetime, &tvb, 6, 2);
            let reachable = tvb.be32(8)?;
            cx.uint(f::ND_RA_REACHABLE_TIME, reachable, &tvb, 8, 4);
            let retrans = tvb.be32(12)?;
            cx.uint(f::ND_RA_RETRANS_TIMER, retrans, &tvb, 12, 4);
            let from = nd_options(cx, &tvb, 16)?;
            if let Some(mac) = from {
                cx.info_append(|s| {
                    let _ = write!(s, " from {}", Mac(mac));
                });
            }
        }
        135 => {
            let reserved = tvb.get(4, 4)?;
            cx.add(
                f::ICMPV6_RESERVED,
                FieldValue::Bytes(reserved.into()),
                &tvb,
                4,
                4,
            );
            let target = Ipv6Addr::from(tvb.array::<16>(8)?);
            cx.add(f::ND_NS_TARGET, FieldValue::Ipv6(target), &tvb, 8, 16);
            cx.info_append(|s| {
                let _ = write!(s, " for {target}");
            });
            let from = nd_options(cx, &tvb, 24)?;
            if let Some(mac) = from {
                cx.info_append(|s| {
                    let _ = write!(s, " from {}", Mac(mac));
                });
            }
        }
        136 => {
            let flags = tvb.be32(4)?;
            cx.uint(f::ND_NA_FLAG, flags, &tvb, 4, 4);
            cx.flag(f::ND_NA_FLAG_R, flags & 0x8000_0000 != 0, &tvb, 4, 4);
            cx.flag(f::ND_NA_FLAG_S, flags & 0x4000_0000 != 0, &tvb, 4, 4);
            cx.flag(f::ND_NA_FLAG_O, flags & 0x2000_0000 != 0, &tvb, 4, 4);
            let target = Ipv6Addr::from(tvb.array::<16>(8)?);
            cx.add(f::ND_NA_TARGET, FieldValue::Ipv6(target), &tvb, 8, 16);
            cx.info_append(|s| {
                let _ = write!(s, " {target}");
                let names = [
                    (0x8000_0000u32, "rtr"),
                    (0x4000_0000, "sol"),
                    (0x2000_0000, "ovr"),
                ];
                let set: Vec<&str> = names
                    .iter()
                    .filter(|(b, _)| flags & b != 0)
                    .map(|(_, n)| *n)
                    .collect();
                if !set.is_empty() {
                    let _ = write!(s, " ({})", set.join(", "));
                }
            });
            let target_mac = nd_options(cx, &tvb, 24)?;
            if let Some(mac) = target_mac {
                cx.info_append(|s| {
                    let _ = write!(s, " is at {}", Mac(mac));
                });
            }
        }
        137 => {
            let reserved = tvb.get(4, 4)?;
            cx.add(
                f::ICMPV6_RESERVED,
                FieldValue::Bytes(reserved.into()),
                &tvb,
                4,
                4,
            );
            let target = Ipv6Addr::from(tvb.array::<16>(8)?);
            cx.add(f::ND_RD_TARGET, FieldValue::Ipv6(target), &tvb, 8, 16);
            let dest = Ipv6Addr::from(tvb.array::<16>(24)?);
            cx.add(f::RD_NA_DESTINATION, FieldValue::Ipv6(dest), &tvb, 24, 16);
            nd_options(cx, &tvb, 40)?;
        }
        _ => {
            let rest = tvb.rest(4);
            if !rest.is_empty() {
                cx.add(
                    f::ICMPV6_DATA,
                    FieldValue::Bytes(rest.into()),
                    &tvb,
                    4,
                    rest.len(),
                );
            }
        }
    }
    cx.close();
    Ok(())
}

/// Neighbour discovery options from `off` to the end of the message. Returns the source or
/// target link-layer address, if one was given (for Info).
fn nd_options<'a>(
    cx: &mut Cx<'a, '_>,
    tvb: &Tvb<'a>,
    mut off: usize,
) -> Result<Option<&'a [u8]>, super::Exc> {
    let mut link = None;
    while off < tvb.reported() {
        let ty = tvb.u8(off)?;
        let units = tvb.u8(off + 1)?;
        let len = usize::from(units) * 8;
        cx.subtree(Some(f::OPT), || {
            format!(
                "ICMPv6 Option ({})",
                name_of(f::ICMPV6_OPTION_TYPES, ty.into()).unwrap_or("Unknown")
            )
        });
        cx.uint(f::OPT_TYPE, ty, tvb, off, 1);
        cx.uint(f::OPT_LENGTH, units, tvb, off + 1, 1);
        if len == 0 {
            cx.close();
            cx.malformed(|| "Invalid option length (Zero)".to_string());
            break;
        }
        match ty {
            1 | 2 => {
                let addr = tvb.get(off + 2, len - 2)?;
                // Ethernet addresses are the six bytes that fit an 8-byte option.
                let addr = if len == 8 { &addr[..6] } else { addr };
                cx.add(
                    f::OPT_LINKADDR,
                    FieldValue::Bytes(addr.into()),
                    tvb,
                    off + 2,
                    addr.len(),
                );
                let field = if ty == 1 {
                    f::OPT_SRC_LINKADDR
                } else {
                    f::OPT_TARGET_LINKADDR
                };
                cx.add(
                    field,
                    FieldValue::Bytes(addr.into()),
                    tvb,
                    off + 2,
                    addr.len(),
                );
                link = Some(addr);
            }
            3 if len == 32 => {
                cx.uint(f::OPT_PREFIX_LENGTH, tvb.u8(off + 2)?, tvb, off + 2, 1);
                cx.uint(
                    f::OPT_PREFIX_VALID_LIFETIME,
                    tvb.be32(off + 4)?,
                    tvb,
                    off + 4,
                    4,
                );
                cx.uint(
                    f::OPT_PREFIX_PREFERRED_LIFETIME,
                    tvb.be32(off + 8)?,
                    tvb,
                    off + 8,
                    4,
                );
                let prefix = Ipv6Addr::from(tvb.array::<16>(off + 16)?);
                cx.add(f::OPT_PREFIX, FieldValue::Ipv6(prefix), tvb, off + 16, 16);
            }
            5 if len == 8 => {
                cx.uint(f::OPT_MTU, tvb.be32(off + 4)?, tvb, off + 4, 4);
            }
            _ => tvb.check(off, len)?,
        }
        cx.close();
        off += len;
    }
    Ok(link)
}
