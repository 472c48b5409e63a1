//! Times the statistics on one thread and measures their memory: reads FILE (a Tracee JSON
//! corpus, bench/gen-corpus.py), then for every event parses, dissects with what the views
//! want, records (the dissecting side) and feeds the views (the in-order side), and prints the
//! time per event of each half, the results' size, and the heap the views and the process model
//! hold at the end and at most (a counting allocator around the system one).
//!
//! usage: cargo run --release -p osprey-stats --example views -- FILE [EVENTS] [--phases]
//! [-z VIEW]... (without -z: the fourteen Tracee views; with --phases, every event is recorded
//! before any is fed, for a profile of one half: the memory figures then include the records)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use osprey_dissect::{FrameInfo, Preferences, Want};
use osprey_source::{Frame, FrameKind, Location};
use osprey_stats::{Detail, Engine, Records, ViewSpec};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static TOTAL: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        TOTAL.fetch_add(l.size(), Ordering::Relaxed);
        let live = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: `p` came from `alloc` with layout `l`.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn mb(b: usize) -> f64 {
    b as f64 / 1e6
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: views FILE [EVENTS] [-z VIEW]...");
    let mut limit = usize::MAX;
    let mut z: Vec<String> = Vec::new();
    let mut phases = false;
    while let Some(a) = args.next() {
        if a == "--phases" {
            phases = true;
        } else if a == "-z" {
            z.push(args.next().expect("-z VIEW"));
        } else {
            limit = a.parse().expect("EVENTS");
        }
    }
    if z.is_empty() {
        for c in ["", ",container"] {
            for v in ["event_counts", "file_types", "process_tree"] {
                z.push(format!("tracee,{v}{c}"));
            }
            for v in ["opened_files", "written_files", "network", "signatures"] {
                z.push(format!("tracee,process_tree,{v}{c}"));
            }
        }
    }
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
    drop(text);
    let n = frames.len();
    let prefs = Preferences::default();
    let specs = z.iter().map(|s| ViewSpec::parse(s).unwrap()).collect();
    let compile = |f: &str| {
        osprey_filter::Filter::compile(f, &osprey_filter::Macros::new()).map_err(|e| e.to_string())
    };
    let (extractor, mut collector) = Engine::build(specs, &prefs, Detail::Text, &compile).unwrap();
    let mut want = Want::none();
    extractor.want(&mut want);
    let first_ts = frames[0].ts;
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);

    let record = |chunk: &[Frame]| {
        let mut records = Records::new(first_ts);
        for frame in chunk {
            let decoded = osprey_dissect::decode(frame);
            let info = FrameInfo {
                frame,
                input_name: "",
                first_ts,
                prev_ts: None,
            };
            let tree = osprey_dissect::dissect(&info, &decoded, &prefs, &want);
            extractor.record(frame, &tree, true, &mut records);
        }
        records
    };
    let mut dissect_ns = 0u128;
    let mut feed_ns = 0u128;
    if phases {
        // Every batch recorded first, then every batch fed: a profile of either half alone.
        let start = Instant::now();
        let t0 = TOTAL.load(Ordering::Relaxed);
        let all: Vec<Records> = frames.chunks(256).map(record).collect();
        let t1 = TOTAL.load(Ordering::Relaxed);
        let mid = Instant::now();
        for records in &all {
            collector.feed(records);
        }
        println!(
            "allocated: {:.1} MB recording, {:.1} MB feeding",
            mb(t1 - t0),
            mb(TOTAL.load(Ordering::Relaxed) - t1)
        );
        feed_ns += mid.elapsed().as_nanos();
        dissect_ns += (mid - start).as_nanos();
    } else {
        for chunk in frames.chunks(256) {
            let start = Instant::now();
            let records = record(chunk);
            let mid = Instant::now();
            collector.feed(&records);
            drop(records);
            feed_ns += mid.elapsed().as_nanos();
            dissect_ns += (mid - start).as_nanos();
        }
    }
    let held = LIVE.load(Ordering::Relaxed) - base;
    let mut text = 0;
    let mut out = String::new();
    let (mut finish, mut render) = (0u128, 0u128);
    let mut results = collector.finish();
    loop {
        let start = Instant::now();
        let Some(r) = results.next() else { break };
        let mid = Instant::now();
        out.clear();
        osprey_stats::text::render(&r, &mut out);
        drop(r);
        text += out.len();
        finish += (mid - start).as_nanos();
        render += mid.elapsed().as_nanos();
    }
    println!("{n} events, {} views", z.len());
    println!(
        "parse + dissect + record: {:.0} ns/event (the dissecting threads)",
        dissect_ns as f64 / n as f64
    );
    println!(
        "feed the views: {:.0} ns/event (the in-order thread)",
        feed_ns as f64 / n as f64
    );
    println!(
        "finish: {:.3} s; render as text: {:.3} s, {:.1} MB",
        finish as f64 / 1e9,
        render as f64 / 1e9,
        mb(text)
    );
    println!(
        "heap held by the views and the process model after the last event: {:.1} MB; peak of the run above the frames: {:.1} MB",
        mb(held),
        mb(PEAK.load(Ordering::Relaxed) - base)
    );
}
