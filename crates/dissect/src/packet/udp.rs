//! UDP: header and payload, handed to DNS, mDNS or LLMNR by port.

use std::fmt::Write as _;
use std::net::IpAddr;

use osprey_field::fields::udp as f;
use osprey_field::FieldValue;

use super::{data, dns, Cx, Res, Tvb};

/// UDP.
pub(crate) fn udp<'a>(cx: &mut Cx<'a, '_>, tvb: Tvb<'a>) -> Res {
    let ports = tvb.be16(0).ok().zip(tvb.be16(2).ok());
    cx.open(f::UDP, "udp", "UDP", || match ports {
        Some((s, d)) => format!("User Datagram Protocol, Src Port: {s}, Dst Port: {d}"),
        None => "User Datagram Protocol".into(),
    })?;
    cx.protocol("UDP");
    let sport = tvb.be16(0)?;
    cx.uint(f::SRCPORT, sport, &tvb, 0, 2);
    let dport = tvb.be16(2)?;
    cx.uint(f::DSTPORT, dport, &tvb, 2, 2);
    cx.tree.add_hidden(f::PORT, FieldValue::UInt(sport.into()));
    cx.tree.add_hidden(f::PORT, FieldValue::UInt(dport.into()));
    let length = usize::from(tvb.be16(4)?);
    cx.uint(f::LENGTH, length as u64, &tvb, 4, 2);
    let mut payload_len = length.saturating_sub(8);
    if length < 8 {
        cx.malformed(|| format!("Bad length value {length} < UDP header length 8"));
        payload_len = tvb.reported().saturating_sub(8);
    } else if length > tvb.reported() {
        if cx.in_error == 0 {
            let reported = tvb.reported();
            cx.malformed(|| format!("Bad length value {length} > IP payload length {reported}"));
        }
        payload_len = tvb.reported().saturating_sub(8);
    }
    let checksum = tvb.be16(6)?;
    cx.uint(f::CHECKSUM, checksum, &tvb, 6, 2);
    // IPv4 allows "no checksum" (0); Wireshark does not verify the others by default.
    let status = match (checksum, cx.net) {
        (0, Some((IpAddr::V4(_), _))) => 3,
        (0, Some((IpAddr::V6(_), _))) => 4,
        _ => 2,
    };
    cx.tree.add(f::CHECKSUM_STATUS, FieldValue::UInt(status));
    cx.info(|s| {
        let _ = write!(s, "{sport} \u{2192} {dport} Len={payload_len}");
    });
    let payload = tvb.sub_len(8, payload_len);
    if !payload.bytes().is_empty() {
        cx.add(
            f::PAYLOAD,
            FieldValue::Bytes(payload.bytes().into()),
            &payload,
            0,
            payload.len(),
        );
    }
    cx.close();
    if payload.bytes().is_empty() {
        return Ok(());
    }
    let (low, high) = if sport <= dport {
        (sport, dport)
    } else {
        (dport, sport)
    };
    for port in [low, high] {
        if let Some(kind) = dns::udp_kind(port) {
            return dns::dns(cx, payload, kind);
        }
    }
    data(cx, payload);
    Ok(())
}
