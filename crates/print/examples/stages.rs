//! Per-stage cost of `osprey read -T text` on one thread, over events held in memory: parse,
//! parse + dissect (the columns' fields), parse + dissect + summary line. The difference
//! between rows is what each stage costs; `bench/read.sh` measures the whole pipeline.
//!
//! usage: cargo run --release -p osprey-print --example stages -- FILE.json [EVENTS [STAGE]]
//!
//! With STAGE (a prefix of a row's label), only the matching rows run: handy under
//! `valgrind --tool=callgrind` to see where one stage spends its instructions.

use std::time::Instant;

use osprey_dissect::{FrameInfo, Preferences, Want};
use osprey_print::profile::Profile;
use osprey_source::{Frame, FrameKind, Location};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: stages FILE.json [EVENTS]");
    let limit: usize = args.next().map_or(200_000, |n| n.parse().expect("EVENTS"));
    let only = args.next().unwrap_or_default();
    let text = std::fs::read(&path).expect("read the corpus");
    let frames: Vec<Frame> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .take(limit)
        .enumerate()
        .map(|(i, line)| Frame {
            number: i as u64 + 1,
            ts: osprey_event::peek_timestamp(line).unwrap_or(0),
            input: 0,
            location: Location::Line(i as u64 + 1),
            kind: FrameKind::Event,
            data: line.to_vec().into(),
            capture: None,
        })
        .collect();
    let n = frames.len() as f64;
    let profile = Profile::bundled();
    let prefs = Preferences::default();
    let mut want = Want::none();
    want.columns();
    for c in &profile.columns {
        want.field(c.field);
    }
    let first_ts = frames[0].ts;

    let time = |label: &str, f: &mut dyn FnMut(&Frame) -> usize| {
        if !label.starts_with(only.as_str()) {
            return;
        }
        let start = Instant::now();
        let mut sink = 0usize;
        for frame in &frames {
            sink = sink.wrapping_add(f(frame));
        }
        let ns = start.elapsed().as_nanos() as f64 / n;
        println!("{label:<40} {ns:7.0} ns/event  ({sink})");
    };
    time("parse", &mut |f| {
        osprey_event::parse_event(&f.data).map_or(0, |e| e.args.len())
    });
    time("parse, serde only (the fallback)", &mut |f| {
        osprey_event::parse_event_reference(&f.data).map_or(0, |e| e.args.len())
    });
    time("decode (parse + net_packet_raw)", &mut |f| {
        matches!(
            osprey_dissect::decode(f),
            osprey_dissect::Decoded::Event { .. }
        ) as usize
    });
    time("decode + dissect (columns)", &mut |f| {
        let decoded = osprey_dissect::decode(f);
        osprey_dissect::dissect(&info(f, first_ts), &decoded, &prefs, &want).len()
    });
    let mut out = Vec::with_capacity(1 << 20);
    let summary = osprey_print::text::Summary::new(&profile.columns);
    time("decode + dissect + text line", &mut |f| {
        let decoded = osprey_dissect::decode(f);
        let tree = osprey_dissect::dissect(&info(f, first_ts), &decoded, &prefs, &want);
        out.clear();
        summary.write_line(&mut out, &tree, None);
        out.len()
    });
}

/// The frame information both dissecting stages give a frame.
fn info(frame: &Frame, first_ts: u64) -> FrameInfo<'_> {
    FrameInfo {
        frame,
        input_name: "",
        first_ts,
        prev_ts: None,
    }
}
