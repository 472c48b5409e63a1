//! TCP: header, flags, options and payload of one segment, handed to DNS or HTTP by port or
//! (for HTTP) by content.
//!
//! Sequence numbers are the raw ones: Wireshark's relative numbers need the conversation. The
//! Info column therefore matches tshark run with `-o tcp.relative_sequence_numbers:FALSE`, and
//! `Win=` is the header's value (Wireshark scales it once it has seen the handshake).

use std::fmt::Write as _;

use osprey_field::fields::tcp as f;
use osprey_field::FieldValue;

use super::{data, dns, http, Cx, Res, Tvb};

/// Flag names in bit order, as Wireshark's Info column shows them.
const FLAG_NAMES: [&str; 9] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE"];
/// `tcp.flags.str` letters, most significant bit first.
const FLAG_LETTERS: [char; 12] = ['R', 'R', 'R', 'A', 'C', 'E', 'U', 'A', 'P', 'R', 'S', 'F'];

/// TCP.
pub(crate) fn tcp<'a>(cx: &mut Cx<'a, '_>, tvb: Tvb<'a>) -> Res {
    let sport = tvb.be16(0).ok();
    let dport = tvb.be16(2).ok();
    cx.open(f::TCP, "tcp", "TCP", || match (sport, dport) {
        (Some(s), Some(d)) => format!(
            "Transmission Control Protocol, Src Port: {s}, Dst Port: {d}, Len: {}",
            tvb.reported().saturating_sub(tcp_hdr_len(&tvb))
        ),
        _ => "Transmission Control Protocol".into(),
    })?;
    cx.protocol("TCP");
    let sport = tvb.be16(0)?;
    cx.uint(f::SRCPORT, sport, &tvb, 0, 2);
    let dport = tvb.be16(2)?;
    cx.uint(f::DSTPORT, dport, &tvb, 2, 2);
    cx.tree.add_hidden(f::PORT, FieldValue::UInt(sport.into()));
    cx.tree.add_hidden(f::PORT, FieldValue::UInt(dport.into()));
    let seq = tvb.be32(4)?;
    let ack = tvb.be32(8)?;
    let hdr = tvb.u8(12)?;
    let hlen = usize::from(hdr >> 4) * 4;
    if hlen < 20 {
        cx.uint(f::HDR_LEN, hlen as u64, &tvb, 12, 1);
        cx.close();
        cx.info(|s| {
            let _ = write!(
                s,
                "{sport} \u{2192} {dport} [Bogus TCP header length ({hlen}, must be at least 20)]"
            );
        });
        cx.malformed(|| format!("Bogus TCP header length ({hlen}, must be at least 20)"));
        return Ok(());
    }
    if hlen > tvb.reported() {
        cx.uint(f::HDR_LEN, hlen as u64, &tvb, 12, 1);
        cx.close();
        let reported = tvb.reported();
        cx.info(|s| {
            let _ = write!(s, "{sport} \u{2192} {dport} [Bogus TCP header length ({hlen}, must be at most {reported})]");
        });
        cx.malformed(|| format!("Bogus TCP header length ({hlen}, must be at most {reported})"));
        return Ok(());
    }
    let seglen = tvb.reported() - hlen;
    cx.tree.add(f::LEN, FieldValue::UInt(seglen as u64));
    cx.uint(f::SEQ_RAW, seq, &tvb, 4, 4);
    cx.uint(f::ACK_RAW, ack, &tvb, 8, 4);
    cx.uint(f::HDR_LEN, hlen as u64, &tvb, 12, 1);
    let flags = tvb.be16(12)? & 0x0fff;
    cx.uint(f::FLAGS, flags, &tvb, 12, 2);
    cx.flag(f::FLAGS_RES, flags & 0x0e00 != 0, &tvb, 12, 2);
    cx.flag(f::FLAGS_AE, flags & 0x100 != 0, &tvb, 12, 2);
    cx.flag(f::FLAGS_CWR, flags & 0x80 != 0, &tvb, 12, 2);
    cx.flag(f::FLAGS_ECE, flags & 0x40 != 0, &tvb, 12, 2);
    cx.flag(f::FLAGS_URG, flags & 0x20 != 0, &tvb, 12, 2);
    cx.flag(f::FLAGS_ACK, flags & 0x10 != 0, &tvb, 12, 2);
    cx.flag(f::FLAGS_PUSH, flags & 0x08 != 0, &tvb, 12, 2);
    cx.flag(f::FLAGS_RESET, flags & 0x04 != 0, &tvb, 12, 2);
    cx.flag(f::FLAGS_SYN, flags & 0x02 != 0, &tvb, 12, 2);
    cx.flag(f::FLAGS_FIN, flags & 0x01 != 0, &tvb, 12, 2);
    if cx.tree.wants(f::FLAGS_STR) {
        let s: String = FLAG_LETTERS
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                if flags & (0x800 >> i) != 0 {
                    c
                } else {
                    '\u{b7}'
                }
            })
            .collect();
        cx.add(f::FLAGS_STR, FieldValue::Str(s.into()), &tvb, 12, 2);
    }
    let window = tvb.be16(14)?;
    cx.uint(f::WINDOW_SIZE_VALUE, window, &tvb, 14, 2);
    let checksum = tvb.be16(16)?;
    cx.uint(f::CHECKSUM, checksum, &tvb, 16, 2);
    // Not verified by default in Wireshark (offloading), hence "Unverified".
    cx.tree.add(f::CHECKSUM_STATUS, FieldValue::UInt(2));
    let urgent = tvb.be16(18)?;
    cx.uint(f::URGENT_POINTER, urgent, &tvb, 18, 2);
    cx.info(|s| {
        let _ = write!(s, "{sport} \u{2192} {dport} [");
        let mut first = true;
        for (i, name) in FLAG_NAMES.iter().enumerate() {
            if flags & (1 << i) != 0 {
                if !first {
                    s.push_str(", ");
                }
                s.push_str(name);
                first = false;
            }
        }
        if flags & 0x0e00 != 0 {
            if !first {
                s.push_str(", ");
            }
            s.push_str("Reserved");
            first = false;
        }
        if first {
            s.push_str("<None>");
        }
        let _ = write!(s, "] Seq={seq}");
        if flags & 0x10 != 0 {
            let _ = write!(s, " Ack={ack}");
        }
        let _ = write!(s, " Win={window}");
        if flags & 0x20 != 0 {
            let _ = write!(s, " Urg={urgent}");
        }
        let _ = write!(s, " Len={seglen}");
    });
    if hlen > 20 {
        options(cx, &tvb, hlen)?;
    }
    let payload = tvb.sub(hlen);
    if seglen > 0 && !payload.bytes().is_empty() {
        cx.add(
            f::PAYLOAD,
            FieldValue::Bytes(payload.bytes().into()),
            &payload,
            0,
            payload.len(),
        );
    }
    cx.close();
    if seglen == 0 || payload.bytes().is_empty() {
        return Ok(());
    }
    // Wireshark tries the lower port first.
    let (low, high) = if sport <= dport {
        (sport, dport)
    } else {
        (dport, sport)
    };
    for port in [low, high] {
        if dns::is_tcp_port(port) {
            return dns::dns_tcp(cx, payload);
        }
        if http::is_port(port) {
            return http::http(cx, payload);
        }
    }
    if http::looks_like_http(payload.bytes()) {
        return http::http(cx, payload);
    }
    data(cx, payload);
    Ok(())
}

/// The header length a segment claims (for its label; 0 when unreadable).
fn tcp_hdr_len(tvb: &Tvb<'_>) -> usize {
    tvb.u8(12).map_or(0, |b| usize::from(b >> 4) * 4)
}

/// The options area: each option as Wireshark shows it, and its summary in Info.
fn options<'a>(cx: &mut Cx<'a, '_>, tvb: &Tvb<'a>, hlen: usize) -> Res {
    let opts = tvb.get(20, hlen - 20)?;
    cx.add(
        f::OPTIONS,
        FieldValue::Bytes(opts.into()),
        tvb,
        20,
        opts.len(),
    );
    cx.subtree(None, || format!("Options: ({} bytes)", opts.len()));
    let mut i = 0;
    while i < opts.len() {
        let off = 20 + i;
        let kind = opts[i];
        match kind {
            0 | 1 => {
                let field = if kind == 0 { f::OPT_EOL } else { f::OPT_NOP };
                cx.subtree(Some(field), || {
                    if kind == 0 {
                        "TCP Option - End of Option List (EOL)".into()
                    } else {
                        "TCP Option - No-Operation (NOP)".into()
                    }
                });
                cx.uint(f::OPTION_KIND, kind, tvb, off, 1);
                cx.close();
                i += 1;
                if kind == 0 {
                    break;
                }
                continue;
            }
            _ => {}
        }
        let Some(&olen) = opts.get(i + 1) else {
            cx.uint(f::OPTION_KIND, kind, tvb, off, 1);
            cx.malformed(|| format!("TCP option {kind} has no length"));
            break;
        };
        let olen = usize::from(olen);
        if olen < 2 || i + olen > opts.len() {
            cx.uint(f::OPTION_KIND, kind, tvb, off, 1);
            cx.uint(f::OPTION_LEN, olen as u64, tvb, off + 1, 1);
            cx.malformed(|| format!("TCP option {kind} length {olen} invalid"));
            break;
        }
        let body = &opts[i + 2..i + olen];
        let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        match (kind, olen) {
            (2, 4) => {
                let mss = u16::from_be_bytes([body[0], body[1]]);
                cx.subtree(Some(f::OPT_MSS), || {
                    format!("TCP Option - Maximum segment size: {mss} bytes")
                });
                cx.uint(f::OPTION_KIND, kind, tvb, off, 1);
                cx.uint(f::OPTION_LEN, olen as u64, tvb, off + 1, 1);
                cx.uint(f::OPT_MSS_VAL, mss, tvb, off + 2, 2);
                cx.info_append(|s| {
                    let _ = write!(s, " MSS={mss}");
                });
            }
            (3, 3) => {
                let shift = body[0];
                let multiplier = 1u32 << shift.min(14);
                cx.subtree(Some(f::OPT_WSCALE), || {
                    format!("TCP Option - Window scale: {shift} (multiply by {multiplier})")
                });
                cx.uint(f::OPTION_KIND, kind, tvb, off, 1);
                cx.uint(f::OPTION_LEN, olen as u64, tvb, off + 1, 1);
                cx.uint(f::OPT_WSCALE_SHIFT, shift, tvb, off + 2, 1);
                cx.uint(f::OPT_WSCALE_MULTIPLIER, multiplier, tvb, off + 2, 1);
                cx.info_append(|s| {
                    let _ = write!(s, " WS={multiplier}");
                });
            }
            (4, 2) => {
                cx.subtree(Some(f::OPT_SACK_PERM), || {
                    "TCP Option - SACK permitted".into()
                });
                cx.uint(f::OPTION_KIND, kind, tvb, off, 1);
                cx.uint(f::OPTION_LEN, olen as u64, tvb, off + 1, 1);
                cx.info_append(|s| s.push_str(" SACK_PERM"));
            }
            (5, _) if (olen - 2) % 8 == 0 => {
                let count = (olen - 2) / 8;
                cx.subtree(Some(f::OPT_SACK), || "TCP Option - SACK".into());
                cx.uint(f::OPTION_KIND, kind, tvb, off, 1);
                cx.uint(f::OPTION_LEN, olen as u64, tvb, off + 1, 1);
                cx.tree
                    .add(f::OPT_SACK_COUNT, FieldValue::UInt(count as u64));
                cx.info_append(|s| {
                    for edge in body.chunks_exact(8) {
                        let _ = write!(s, " SLE={} SRE={}", be32(&edge[..4]), be32(&edge[4..]));
                    }
                });
            }
            (8, 10) => {
                let (tsval, tsecr) = (be32(&body[..4]), be32(&body[4..]));
                cx.subtree(Some(f::OPT_TIMESTAMP), || {
                    format!("TCP Option - Timestamps: TSval {tsval}, TSecr {tsecr}")
                });
                cx.uint(f::OPTION_KIND, kind, tvb, off, 1);
                cx.uint(f::OPTION_LEN, olen as u64, tvb, off + 1, 1);
                cx.uint(f::OPT_TSVAL, tsval, tvb, off + 2, 4);
                cx.uint(f::OPT_TSECR, tsecr, tvb, off + 6, 4);
                cx.info_append(|s| {
                    let _ = write!(s, " TSval={tsval} TSecr={tsecr}");
                });
            }
            (2 | 3 | 4 | 5 | 8, _) => {
                cx.uint(f::OPTION_KIND, kind, tvb, off, 1);
                cx.uint(f::OPTION_LEN, olen as u64, tvb, off + 1, 1);
                cx.malformed(|| format!("TCP option {kind} has length {olen}"));
                i += olen;
                continue;
            }
            _ => {
                cx.subtree(None, || {
                    format!("TCP Option - Unknown ({kind}), {olen} bytes")
                });
                cx.uint(f::OPTION_KIND, kind, tvb, off, 1);
                cx.uint(f::OPTION_LEN, olen as u64, tvb, off + 1, 1);
                if !body.is_empty() {
                    cx.add(
                        f::OPT_UNKNOWN_PAYLOAD,
                        FieldValue::Bytes(body.into()),
                        tvb,
                        off + 2,
                        body.len(),
                    );
                }
            }
        }
        cx.close();
        i += olen;
    }
    cx.close();
    Ok(())
}
