//! Link layers: NULL/loopback (Tracee's own captures), Ethernet II with 802.1Q tags, Linux
//! cooked captures v1 and v2, raw IP; and the ethertype table that hands their payload on.

use osprey_field::fields::eth as f;
use osprey_field::FieldValue;

use super::{arp, data, ip, Cx, Mac, Res, Tvb};

/// BSD address families that carry IPv6 (Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30).
const AF_INET6: [u32; 4] = [10, 24, 28, 30];

/// The NULL (host byte order) and LOOP (network byte order) encapsulations.
pub(crate) fn null<'a>(cx: &mut Cx<'a, '_>, tvb: Tvb<'a>, network_order: bool) -> Res {
    cx.open(f::NULL, "null", "Null/Loopback", || "Null/Loopback".into())?;
    let raw = tvb.array::<4>(0)?;
    let mut family = if network_order {
        u32::from_be_bytes(raw)
    } else {
        u32::from_le_bytes(raw)
    };
    // The capturing host's byte order is not recorded: a family read with the upper half set
    // and the lower half clear was written by a host of the other order (as Wireshark guesses).
    if !network_order && family & 0xFFFF_0000 != 0 && family & 0xFFFF == 0 {
        family = family.swap_bytes();
    }
    let payload = tvb.sub(4);
    if family > 1500 {
        // Some systems put an ethertype in the upper half instead of a family.
        let etype = (family >> 16) as u16;
        cx.uint(f::NULL_TYPE, etype, &tvb, 0, 4);
        cx.close();
        return ethertype(cx, etype, payload, None);
    }
    cx.uint(f::NULL_FAMILY, family, &tvb, 0, 4);
    cx.close();
    match family {
        2 => ip::ipv4(cx, payload),
        // Wireshark 4.0 knows 24, 28 and 30 but not Linux's 10, which Tracee writes: IPv6 too.
        fam if AF_INET6.contains(&fam) => ip::ipv6(cx, payload),
        _ => {
            cx.protocol("N/A");
            cx.info(|s| s.push_str("Null/Loopback"));
            data(cx, payload);
            Ok(())
        }
    }
}

/// Raw IP: the version nibble chooses IPv4 or IPv6.
pub(crate) fn raw<'a>(cx: &mut Cx<'a, '_>, tvb: Tvb<'a>) -> Res {
    cx.open(f::RAW, "raw", "Raw", || "Raw packet data".into())?;
    cx.close();
    cx.protocol("Raw");
    cx.info(|s| s.push_str("Raw packet data"));
    match tvb.u8(0)? >> 4 {
        4 => ip::ipv4(cx, tvb),
        6 => ip::ipv6(cx, tvb),
        _ => {
            data(cx, tvb);
            Ok(())
        }
    }
}

/// Adds an Ethernet address with its hidden `eth.addr` and bit fields, in Wireshark's order.
fn eth_address<'a>(cx: &mut Cx<'a, '_>, tvb: &Tvb<'a>, off: usize, addr: [u8; 6], dst: bool) {
    let (field, lg, ig) = if dst {
        (f::ETH_DST, f::ETH_DST_LG, f::ETH_DST_IG)
    } else {
        (f::ETH_SRC, f::ETH_SRC_LG, f::ETH_SRC_IG)
    };
    cx.add(field, FieldValue::Ether(addr), tvb, off, 6);
    cx.tree.add_hidden(f::ETH_ADDR, FieldValue::Ether(addr));
    let lg_bit = addr[0] & 0x02 != 0;
    let ig_bit = addr[0] & 0x01 != 0;
    cx.flag(lg, lg_bit, tvb, off, 3);
    cx.tree.add_hidden(f::ETH_LG, FieldValue::Bool(lg_bit));
    cx.flag(ig, ig_bit, tvb, off, 3);
    cx.tree.add_hidden(f::ETH_IG, FieldValue::Bool(ig_bit));
}

/// Ethernet II (and 802.3 frames, whose LLC payload is shown as data).
pub(crate) fn ethernet<'a>(cx: &mut Cx<'a, '_>, tvb: Tvb<'a>) -> Res {
    let dst = tvb.array::<6>(0)?;
    let src = tvb.array::<6>(6)?;
    cx.open(f::ETH, "eth", "Ethernet", || {
        format!("Ethernet II, Src: {}, Dst: {}", Mac(&src), Mac(&dst))
    })?;
    eth_address(cx, &tvb, 0, dst, true);
    eth_address(cx, &tvb, 6, src, false);
    cx.addresses(&Mac(&src), &Mac(&dst));
    let etype = tvb.be16(12)?;
    let payload = tvb.sub(14);
    if etype <= 1500 {
        // IEEE 802.3: a length, then LLC, which Osprey does not dissect.
        cx.uint(f::ETH_LEN, etype, &tvb, 12, 2);
        cx.close();
        cx.protocol("LLC");
        data(cx, payload.sub_len(0, etype as usize));
        return Ok(());
    }
    cx.uint(f::ETH_TYPE, etype, &tvb, 12, 2);
    cx.close();
    ethertype(cx, etype, payload, Some(tvb.len()))
}

/// Hands a payload to the dissector for `etype` (Wireshark's `ethertype` table). `frame_len`,
/// for Ethernet, is the frame's captured length: bytes past the IP packet are padding (short
/// frames) or a trailer.
pub(crate) fn ethertype<'a>(
    cx: &mut Cx<'a, '_>,
    etype: u16,
    payload: Tvb<'a>,
    frame_len: Option<usize>,
) -> Res {
    cx.tree.layer("ethertype");
    let claimed = match etype {
        0x0800 => payload.be16(2).ok().map(usize::from),
        0x86dd => payload.be16(4).ok().map(|l| 40 + usize::from(l)),
        _ => None,
    };
    match etype {
        0x0800 => ip::ipv4(cx, payload)?,
        0x86dd => ip::ipv6(cx, payload)?,
        0x0806 => arp::arp(cx, payload)?,
        0x8100 | 0x88a8 | 0x9100 => return vlan(cx, payload, frame_len),
        _ => {
            cx.protocol(format!("0x{etype:04x}"));
            cx.info(|s| s.push_str("Ethernet II"));
            data(cx, payload);
        }
    }
    if let (Some(frame_len), Some(claimed)) = (frame_len, claimed) {
        let extra = payload.rest(claimed.min(payload.len()));
        if claimed > 0 && !extra.is_empty() {
            // Frames below Ethernet's 60-byte minimum are padded; anything else is a trailer.
            let off = payload.abs(claimed.min(payload.len()));
            let field = if frame_len <= 60 {
                f::ETH_PADDING
            } else {
                f::ETH_TRAILER
            };
            cx.tree.add_span(
                field,
                FieldValue::Bytes(extra.into()),
                off,
                off + extra.len(),
            );
        }
    }
    Ok(())
}

/// An 802.1Q (or Q-in-Q) tag.
fn vlan<'a>(cx: &mut Cx<'a, '_>, tvb: Tvb<'a>, frame_len: Option<usize>) -> Res {
    let tci = tvb.be16(0)?;
    cx.open(f::VLAN, "vlan", "VLAN", || {
        format!(
            "802.1Q Virtual LAN, PRI: {}, DEI: {}, ID: {}",
            tci >> 13,
            (tci >> 12) & 1,
            tci & 0xfff
        )
    })?;
    cx.uint(f::VLAN_PRIORITY, tci >> 13, &tvb, 0, 2);
    cx.flag(f::VLAN_DEI, tci & 0x1000 != 0, &tvb, 0, 2);
    cx.uint(f::VLAN_ID, tci & 0xfff, &tvb, 0, 2);
    let etype = tvb.be16(2)?;
    cx.protocol("VLAN");
    cx.info(|s| {
        use std::fmt::Write as _;
        let _ = write!(
            s,
            "PRI: {}  DEI: {}  ID: {}",
            tci >> 13,
            (tci >> 12) & 1,
            tci & 0xfff
        );
    });
    if etype <= 1500 {
        cx.uint(f::VLAN_LEN, etype, &tvb, 2, 2);
        cx.close();
        data(cx, tvb.sub(4));
        return Ok(());
    }
    cx.uint(f::VLAN_ETYPE, etype, &tvb, 2, 2);
    cx.close();
    ethertype(cx, etype, tvb.sub(4), frame_len)
}

/// The source address of a cooked capture, typed by its link-layer address type.
fn sll_source<'a>(cx: &mut Cx<'a, '_>, tvb: &Tvb<'a>, off: usize, hatype: u16, halen: u8) -> Res {
    let halen = usize::from(halen);
    match (hatype, halen) {
        // Ethernet, loopback and IEEE 802 address types carry a MAC address.
        (1 | 772 | 6 | 801 | 803, 6) => {
            let mac = tvb.array::<6>(off)?;
            cx.add(f::SLL_SRC_ETH, FieldValue::Ether(mac), tvb, off, 6);
        }
        // Tunnels (IPIP, GRE, SIT) carry the IPv4 address.
        (768 | 778 | 776, 4) => {
            let a = tvb.array::<4>(off)?;
            cx.add(f::SLL_SRC_IPV4, FieldValue::Ipv4(a.into()), tvb, off, 4);
        }
        (_, 0) => {}
        _ => {
            let b = tvb.get(off, halen.min(8))?;
            cx.add(
                f::SLL_SRC_OTHER,
                FieldValue::Bytes(b.into()),
                tvb,
                off,
                b.len(),
            );
        }
    }
    if halen < 8 {
        let unused = tvb.get(off + halen, 8 - halen)?;
        cx.add(
            f::SLL_UNUSED,
            FieldValue::Bytes(unused.into()),
            tvb,
            off + halen,
            8 - halen,
        );
    }
    Ok(())
}

/// The protocol field of a cooked capture: an ethertype, or a Linux protocol number below 1536.
fn sll_protocol<'a>(cx: &mut Cx<'a, '_>, tvb: &Tvb<'a>, off: usize, protocol: u16, hatype: u16) {
    if hatype == 778 || protocol <= 1536 {
        // GRE's inner ethertypes and Linux's own protocol numbers (802.2, CAN...) are not
        // dissected further.
        cx.uint(f::SLL_LTYPE, protocol, tvb, off, 2);
    } else {
        cx.uint(f::SLL_ETYPE, protocol, tvb, off, 2);
    }
}

/// Linux cooked capture v1 (16-byte header).
pub(crate) fn sll<'a>(cx: &mut Cx<'a, '_>, tvb: Tvb<'a>) -> Res {
    cx.open(f::SLL, "sll", "SLL", || "Linux cooked capture v1".into())?;
    let pkttype = tvb.be16(0)?;
    let hatype = tvb.be16(2)?;
    let halen = tvb.be16(4)?;
    cx.uint(f::SLL_PKTTYPE, pkttype, &tvb, 0, 2);
    cx.uint(f::SLL_HATYPE, hatype, &tvb, 2, 2);
    cx.uint(f::SLL_HALEN, halen, &tvb, 4, 2);
    sll_source(cx, &tvb, 6, hatype, halen.min(255) as u8)?;
    let protocol = tvb.be16(14)?;
    sll_protocol(cx, &tvb, 14, protocol, hatype);
    cx.close();
    sll_payload(cx, tvb.sub(16), protocol, hatype)
}

/// Linux cooked capture v2 (20-byte header, with the interface index).
pub(crate) fn sll2<'a>(cx: &mut Cx<'a, '_>, tvb: Tvb<'a>) -> Res {
    cx.open(f::SLL, "sll", "SLL", || "Linux cooked capture v2".into())?;
    let protocol = tvb.be16(0)?;
    let ifindex = tvb.be32(4)?;
    let hatype = tvb.be16(8)?;
    let pkttype = tvb.u8(10)?;
    let halen = tvb.u8(11)?;
    sll_protocol(cx, &tvb, 0, protocol, hatype);
    cx.uint(f::SLL_IFINDEX, ifindex, &tvb, 4, 4);
    cx.uint(f::SLL_HATYPE, hatype, &tvb, 8, 2);
    cx.uint(f::SLL_PKTTYPE, pkttype, &tvb, 10, 1);
    cx.uint(f::SLL_HALEN, halen, &tvb, 11, 1);
    sll_source(cx, &tvb, 12, hatype, halen)?;
    cx.close();
    sll_payload(cx, tvb.sub(20), protocol, hatype)
}

fn sll_payload<'a>(cx: &mut Cx<'a, '_>, payload: Tvb<'a>, protocol: u16, hatype: u16) -> Res {
    if hatype == 778 || protocol <= 1536 {
        data(cx, payload);
        return Ok(());
    }
    ethertype(cx, protocol, payload, None)
}
