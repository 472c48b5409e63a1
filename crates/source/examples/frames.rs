//! The reader alone: frames every input and counts them, so that its share of `osprey read`'s
//! time can be measured (`bench/read.sh` measures the whole pipeline).
//!
//! usage: cargo run --release -p osprey-source --example frames -- FILE...

use std::sync::Arc;
use std::time::Instant;

use osprey_source::{Diagnostics, Inputs};

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    let start = Instant::now();
    let inputs = Inputs::open(&files, Arc::new(Diagnostics::silent())).expect("open the inputs");
    let (mut frames, mut bytes) = (0u64, 0usize);
    for frame in inputs.frames() {
        frames += 1;
        bytes += frame.data.len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{frames} frames, {} MB in {secs:.3} s: {:.2} M frames/s",
        bytes / 1_000_000,
        frames as f64 / secs / 1e6
    );
}
