//! Export Specified Frames: chosen frames written as `osprey read -w` writes them (PcapNG in
//! the Traceeshark layout, or Tracee NDJSON), to a temporary file that is then streamed.

use std::io::{BufWriter, Seek, SeekFrom, Write};

use osprey_print::{FrameSink, NdjsonSink, PcapNgSink};

use crate::index::Index;

/// Frames written per read of the store.
const CHUNK: usize = 4096;

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// PcapNG, as `osprey read -w FILE.pcapng`.
    PcapNg,
    /// Tracee NDJSON, as `osprey read -w FILE.json` (events only).
    Json,
}

/// A written export.
pub struct Written {
    /// The file, rewound.
    pub file: std::fs::File,
    /// Its size.
    pub len: u64,
    /// Frames written.
    pub frames: u64,
    /// Frames the format cannot hold (packets and artifact records in NDJSON).
    pub left_out: u64,
}

/// Parses a range like `1-10,15,20-` (1-based, inclusive; `-` alone or an open end reach the
/// last frame) into sorted, distinct 0-based frame indexes below `len`.
pub fn parse_range(text: &str, len: usize) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |s: &str, default: usize| -> Result<usize, String> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(default);
            }
            s.parse::<usize>()
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| format!("{s:?} is not a frame number"))
        };
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (num(a, 1)?, num(b, len)?),
            None => {
                let n = num(part, 1)?;
                (n, n)
            }
        };
        if a > b {
            return Err(format!("{part:?}: the range goes backwards"));
        }
        let end = b.min(len);
        out.extend((a..=end).map(|n| (n - 1) as u32));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Writes frames `frames` (0-based, ascending) of the index in `format`.
pub fn write(index: &Index, frames: &[u32], format: Format) -> std::io::Result<Written> {
    let mut file = tempfile::tempfile()?;
    let (written, left_out) = {
        let out = BufWriter::with_capacity(1 << 20, &mut file);
        let mut sink: Box<dyn FrameSink + '_> = match format {
            Format::Json => Box::new(NdjsonSink::new(out)),
            Format::PcapNg => Box::new(PcapNgSink::new(
                out,
                &format!("osprey {}", env!("CARGO_PKG_VERSION")),
            )?),
        };
        let mut written = 0u64;
        for chunk in frames.chunks(CHUNK) {
            for l in index.load(chunk)? {
                sink.write_frame(&l.frame)?;
                written += 1;
            }
        }
        sink.finish()?;
        let left_out = sink.left_out();
        (written - left_out, left_out)
    };
    file.flush()?;
    let len = file.seek(SeekFrom::End(0))?;
    file.seek(SeekFrom::Start(0))?;
    Ok(Written {
        file,
        len,
        frames: written,
        left_out,
    })
}
