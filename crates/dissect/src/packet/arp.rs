//! ARP (Wireshark's default coloring rules select `arp`).

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use osprey_field::fields::arp as f;
use osprey_field::FieldValue;

use super::{Cx, Mac, Res, Tvb};

/// ARP and RARP.
pub(crate) fn arp<'a>(cx: &mut Cx<'a, '_>, tvb: Tvb<'a>) -> Res {
    cx.open(f::ARP, "arp", "ARP", || {
        "Address Resolution Protocol".into()
    })?;
    cx.protocol("ARP");
    let hw_type = tvb.be16(0)?;
    let proto_type = tvb.be16(2)?;
    let hw_size = usize::from(tvb.u8(4)?);
    let proto_size = usize::from(tvb.u8(5)?);
    let opcode = tvb.be16(6)?;
    cx.uint(f::HW_TYPE, hw_type, &tvb, 0, 2);
    cx.uint(f::PROTO_TYPE, proto_type, &tvb, 2, 2);
    cx.uint(f::HW_SIZE, hw_size as u64, &tvb, 4, 1);
    cx.uint(f::PROTO_SIZE, proto_size as u64, &tvb, 5, 1);
    cx.uint(f::OPCODE, opcode, &tvb, 6, 2);
    let sha_off = 8;
    let spa_off = sha_off + hw_size;
    let tha_off = spa_off + proto_size;
    let tpa_off = tha_off + hw_size;
    let sha = tvb.get(sha_off, hw_size)?;
    let spa = tvb.get(spa_off, proto_size)?;
    let tha = tvb.get(tha_off, hw_size)?;
    let tpa = tvb.get(tpa_off, proto_size)?;
    let ether_ip = hw_size == 6 && proto_size == 4 && proto_type == 0x0800;
    let ip = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
    let mac = |b: &[u8]| {
        let mut m = [0u8; 6];
        m.copy_from_slice(b);
        m
    };
    if ether_ip {
        if opcode == 1 || opcode == 2 {
            cx.tree.add(f::ISGRATUITOUS, FieldValue::Bool(spa == tpa));
        }
        cx.add(f::SRC_HW_MAC, FieldValue::Ether(mac(sha)), &tvb, sha_off, 6);
        cx.add(
            f::SRC_PROTO_IPV4,
            FieldValue::Ipv4(ip(spa)),
            &tvb,
            spa_off,
            4,
        );
        cx.add(f::DST_HW_MAC, FieldValue::Ether(mac(tha)), &tvb, tha_off, 6);
        cx.add(
            f::DST_PROTO_IPV4,
            FieldValue::Ipv4(ip(tpa)),
            &tvb,
            tpa_off,
            4,
        );
    } else {
        cx.add(
            f::SRC_HW,
            FieldValue::Bytes(sha.into()),
            &tvb,
            sha_off,
            hw_size,
        );
        cx.add(
            f::SRC_PROTO,
            FieldValue::Bytes(spa.into()),
            &tvb,
            spa_off,
            proto_size,
        );
        cx.add(
            f::DST_HW,
            FieldValue::Bytes(tha.into()),
            &tvb,
            tha_off,
            hw_size,
        );
        cx.add(
            f::DST_PROTO,
            FieldValue::Bytes(tpa.into()),
            &tvb,
            tpa_off,
            proto_size,
        );
    }
    cx.close();
    cx.info(|s| {
        if !ether_ip {
            let _ = write!(s, "ARP opcode {opcode}");
            return;
        }
        match opcode {
            1 if spa == tpa => {
                let _ = write!(s, "Gratuitous ARP for {} (Request)", ip(spa));
            }
            1 => {
                let _ = write!(s, "Who has {}? Tell {}", ip(tpa), ip(spa));
            }
            2 if spa == tpa => {
                let _ = write!(s, "Gratuitous ARP for {} (Reply)", ip(spa));
            }
            2 => {
                let _ = write!(s, "{} is at {}", ip(spa), Mac(sha));
            }
            _ => {
                let _ = write!(s, "ARP opcode {opcode}");
            }
        }
    });
    Ok(())
}
