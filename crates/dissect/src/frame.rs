//! `frame.*` fields, common to events and packets.

use osprey_field::fields::frame as f;
use osprey_field::FieldValue;
use osprey_pcapng::option_code;

use crate::{FrameInfo, Tree};

/// Where `frame.protocols` goes once the layers are known.
pub(crate) struct FrameEnd {
    index: usize,
}

pub(crate) fn dissect<'a>(info: &FrameInfo<'a>, tree: &mut Tree<'a>) -> FrameEnd {
    let frame = info.frame;
    let wire_len = frame
        .capture
        .as_ref()
        .map_or(frame.data.len() as u64, |c| c.orig_len as u64);
    let cap_len = frame.data.len() as u64;
    let iface = frame.capture.as_ref().map(|c| &c.interface);
    tree.open_with(f::FRAME, FieldValue::None, || {
        format!(
            "Frame {}: {} bytes on wire ({} bits), {} bytes captured ({} bits){}",
            frame.number,
            wire_len,
            wire_len * 8,
            cap_len,
            cap_len * 8,
            iface
                .and_then(|i| i.name())
                .map(|n| format!(" on interface {n}"))
                .unwrap_or_default()
        )
    });
    if let Some(iface) = iface {
        if let Some(name) = iface.name() {
            tree.add(f::INTERFACE_NAME, FieldValue::Str(name.into()));
        }
        if let Some(desc) = iface.description() {
            tree.add(f::INTERFACE_DESCRIPTION, FieldValue::Str(desc.into()));
        }
        tree.add(f::ENCAP_TYPE, FieldValue::UInt(iface.link_type as u64));
    }
    tree.add(f::TIME, FieldValue::AbsTime(frame.ts));
    tree.add(f::TIME_EPOCH, FieldValue::AbsTime(frame.ts));
    if let Some(prev) = info.prev_ts {
        tree.add(
            f::TIME_DELTA,
            FieldValue::RelTime(frame.ts as i64 - prev as i64),
        );
    } else {
        tree.add(f::TIME_DELTA, FieldValue::RelTime(0));
    }
    tree.add(
        f::TIME_RELATIVE,
        FieldValue::RelTime(frame.ts as i64 - info.first_ts as i64),
    );
    tree.add(f::NUMBER, FieldValue::UInt(frame.number));
    tree.add(f::LEN, FieldValue::UInt(wire_len));
    tree.add(f::CAP_LEN, FieldValue::UInt(cap_len));
    if let Some(c) = &frame.capture {
        for comment in c.options.iter().filter(|o| o.code == option_code::COMMENT) {
            tree.add(
                f::COMMENT,
                FieldValue::Str(String::from_utf8_lossy(&comment.value)),
            );
        }
    }
    tree.add(f::FILE, FieldValue::Str(info.input_name.into()));
    let index = tree.len();
    tree.close();
    FrameEnd { index }
}

pub(crate) fn finish(end: FrameEnd, tree: &mut Tree<'_>) {
    if tree.wants(f::PROTOCOLS) {
        let mut protocols = String::new();
        for (i, layer) in tree.layers().iter().enumerate() {
            if i > 0 {
                protocols.push(':');
            }
            protocols.push_str(layer);
        }
        tree.insert(
            end.index,
            1,
            f::PROTOCOLS,
            FieldValue::Str(protocols.into()),
        );
    }
}
