//! A whole input file through format recognition, gzip, line framing and the merge, then every
//! frame decoded and dissected.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use osprey_source::{Diagnostics, Inputs};

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("osprey-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("input");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let Ok(inputs) = Inputs::open(&[path.display().to_string()], Arc::new(Diagnostics::silent())) else {
        return;
    };
    let want = osprey_dissect::Want::all();
    for frame in inputs.frames().take(10_000) {
        let decoded = osprey_dissect::decode(&frame);
        let info = osprey_dissect::FrameInfo { frame: &frame, input_name: "fuzz", first_ts: 0, prev_ts: None };
        let _ = osprey_dissect::dissect(&info, &decoded, &Default::default(), &want);
    }
});
