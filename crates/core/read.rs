//! `osprey read`: list, convert and count frames, like tshark.
//!
//! A reader thread opens and merges the inputs; frames travel in batches to this thread, which
//! has each batch rendered in parallel (parsing events is the expensive part) and writes the
//! results in frame order.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use osprey_print::{summary, FrameSink, NdjsonSink, PcapNgSink};
use osprey_source::{Diagnostics, Frame, Inputs};
use rayon::prelude::*;

use crate::progress::Progress;

/// Frames per batch handed from the reader thread to the renderers.
const BATCH: usize = 4096;

/// How the frames are printed on standard output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One summary line per frame, in the default columns of the Tracee profile.
    Text,
    /// A JSON array of frames with their context, shaped like tshark's `-T json`.
    Json,
    /// Events as Tracee JSON, one per line, exactly as recorded (packets are left out).
    Ndjson,
}

/// Read recordings: list, convert, count.
///
/// Inputs are recognised by content: Tracee JSON of any generation (legacy, flat-context and
/// v1beta1), PcapNG (events on USER0 interfaces and packets), classic pcap, the gzip form of
/// each, standard input (`-`), and Tracee capture directories (`DIR` or `DIR/out`: their event
/// files and pcaps). Damaged records are reported with their line or byte offset, skipped, and
/// counted; everything readable is still read.
#[derive(Args, Debug)]
#[command(after_help = "\
Exit status: 0 when everything was read, 1 when records or inputs were skipped as damaged \
(the output holds everything readable), 2 on a usage error or when no input could be opened.

Examples:
  osprey read -r events.json
  osprey read -r events.json -r capture.pcap -w merged.pcapng
  osprey read -r merged.pcapng -w events.json        (events back to Tracee JSON)
  zcat events.json.gz | osprey read -r - -T ndjson -c 10")]
pub struct ReadArgs {
    /// Read from FILE: Tracee JSON, PcapNG, pcap, a gzip of any of them, `-` for standard
    /// input, or a capture directory. Repeat to merge several inputs in time order.
    #[arg(short = 'r', long = "read-file", value_name = "FILE", required = true)]
    files: Vec<String>,

    /// Stop after N frames have been output.
    #[arg(short = 'c', long = "count", value_name = "N")]
    count: Option<u64>,

    /// Format of the frames printed on standard output.
    #[arg(short = 'T', long = "format", value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,

    /// Write the frames to OUT instead of printing them: Tracee NDJSON when OUT ends in .json,
    /// .jsonl or .ndjson (events only), PcapNG in the Traceeshark layout otherwise.
    #[arg(short = 'w', long = "write", value_name = "OUT")]
    write: Option<PathBuf>,

    /// With -w, print the frames on standard output as well.
    #[arg(short = 'P', long = "print")]
    print: bool,

    /// No progress bar and no end-of-run summary on standard error; problems are still reported.
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
}

/// What rendering one frame produced.
enum Rendered {
    /// The frame's output (possibly empty when nothing is printed).
    Frame(Vec<u8>),
    /// A JSON line that turned out not to be an event: it is dropped.
    Damaged(String),
}

fn open_sink(path: &PathBuf) -> anyhow::Result<Box<dyn FrameSink>> {
    let name = path.display().to_string();
    let file: Box<dyn Write> = if name == "-" {
        Box::new(io::stdout())
    } else {
        Box::new(std::fs::File::create(path).with_context(|| format!("cannot create {name}"))?)
    };
    let out = BufWriter::with_capacity(1 << 20, file);
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    Ok(if matches!(ext.as_str(), "json" | "jsonl" | "ndjson") {
        Box::new(NdjsonSink::new(out))
    } else {
        Box::new(PcapNgSink::new(out, &format!("osprey {}", env!("CARGO_PKG_VERSION")))?)
    })
}

pub fn run(args: ReadArgs) -> anyhow::Result<ExitCode> {
    let diag = Arc::new(Diagnostics::new(20, |p| eprintln!("osprey: {p}")));
    let inputs = Inputs::open(&args.files, diag.clone())?;
    let names: Vec<String> = inputs.files().iter().map(|f| f.name.clone()).collect();
    let (bytes_read, total) = inputs.progress();
    let progress = (!args.quiet).then(|| Progress::start(bytes_read, total));

    let mut sink = args.write.as_ref().map(open_sink).transpose()?;
    let view = (args.write.is_none() || args.print).then_some(args.format);
    let view = if args.write.as_ref().is_some_and(|p| p.as_os_str() == "-") { None } else { view };

    let (tx, rx) = crossbeam_channel::bounded::<Vec<Frame>>(4);
    let frames = inputs.frames();
    let reader = std::thread::Builder::new().name("reader".into()).spawn(move || {
        let mut batch = Vec::with_capacity(BATCH);
        for frame in frames {
            batch.push(frame);
            if batch.len() == BATCH && tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))).is_err() {
                return; // the consumer stopped (-c reached, or a write failed)
            }
        }
        if !batch.is_empty() {
            let _ = tx.send(batch);
        }
    })?;

    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut first_ts: Option<u64> = None;
    let mut output_count = 0u64;
    let mut ndjson_packets = 0u64;
    let limit = args.count.unwrap_or(u64::MAX);
    let write_result = (|| -> io::Result<()> {
        if view == Some(OutputFormat::Json) {
            out.write_all(b"[\n")?;
        }
        'batches: for batch in rx.iter() {
            let first = *first_ts.get_or_insert(batch[0].ts);
            let rendered: Vec<Rendered> =
                batch.par_iter().with_min_len(256).map(|f| render(f, view, &names, first)).collect();
            for (frame, r) in batch.iter().zip(rendered) {
                let bytes = match r {
                    Rendered::Damaged(message) => {
                        diag.damaged_later(frame.input, frame.location, message);
                        continue;
                    }
                    Rendered::Frame(bytes) => bytes,
                };
                if view == Some(OutputFormat::Json) && output_count > 0 {
                    out.write_all(b",\n")?;
                }
                if view == Some(OutputFormat::Ndjson) && !frame.is_event {
                    ndjson_packets += 1;
                }
                out.write_all(&bytes)?;
                if let Some(sink) = sink.as_mut() {
                    sink.write_frame(frame)?;
                }
                output_count += 1;
                if output_count >= limit {
                    break 'batches;
                }
            }
        }
        if view == Some(OutputFormat::Json) {
            out.write_all(if output_count > 0 { b"\n]\n" } else { b"]\n" })?;
        }
        out.flush()?;
        if let Some(sink) = sink.as_mut() {
            sink.finish()?;
        }
        Ok(())
    })();
    drop(rx);
    let _ = reader.join();
    if let Some(p) = progress {
        p.finish();
    }
    match write_result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(e).context("writing output"),
        Ok(()) => {}
    }
    if ndjson_packets > 0 && !args.quiet {
        eprintln!("osprey: {ndjson_packets} packet(s) not shown: NDJSON holds Tracee events only");
    }
    report_summary(&diag, args.quiet);
    Ok(if diag.anything_skipped() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Renders one frame for the chosen view; also validates JSON events, which are dropped when
/// they do not parse (capture-file events are kept, as the packet they are).
fn render(frame: &Frame, view: Option<OutputFormat>, names: &[String], first_ts: u64) -> Rendered {
    let event = if frame.is_event { Some(osprey_event::parse_event(&frame.data)) } else { None };
    if let (Some(Err(e)), None) = (&event, &frame.capture) {
        return Rendered::Damaged(e.to_string());
    }
    let relative = frame.ts as i128 - first_ts as i128;
    let mut out = Vec::new();
    match view {
        None => {}
        Some(OutputFormat::Text) => {
            let s = match &event {
                Some(Ok(e)) => summary::event_summary(e),
                Some(Err(e)) => summary::Summary {
                    protocol: "TRACEE".into(),
                    info: format!("[Malformed event: {e}]"),
                    ..Default::default()
                },
                None => summary::packet_summary(frame),
            };
            osprey_print::text::write_line(&mut out, frame.number, relative, &s);
        }
        Some(OutputFormat::Json) => {
            let valid = matches!(event, Some(Ok(_)));
            osprey_print::json::write_frame(&mut out, frame, &names[frame.input as usize], relative, valid);
        }
        Some(OutputFormat::Ndjson) => {
            if frame.is_event {
                out.extend_from_slice(&frame.data);
                out.push(b'\n');
            }
        }
    }
    Rendered::Frame(out)
}

/// Prints what was skipped, per input, at the end of a run.
fn report_summary(diag: &Diagnostics, quiet: bool) {
    for s in diag.stats() {
        let mut parts = Vec::new();
        if s.damaged > 0 {
            parts.push(format!("{} damaged record(s) skipped", s.damaged));
        }
        if s.log_lines > 0 && !quiet {
            parts.push(format!("{} Tracee log line(s) skipped (not events)", s.log_lines));
        }
        if s.unreadable {
            parts.push("reading stopped early".to_string());
        }
        if !parts.is_empty() {
            eprintln!("osprey: {}: {}", s.name, parts.join("; "));
        }
    }
}
