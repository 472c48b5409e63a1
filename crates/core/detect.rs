//! `osprey detect`: runs the detections of `osprey-detect` over recordings and writes the
//! findings; `--list` prints the catalogue.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use osprey_detect::{Config, Detector, Kind};
use osprey_event::Event;
use osprey_print::NdjsonSink;
use osprey_source::{Diagnostics, Frame, FrameKind, Location};
use osprey_trace::catalog::Source;

use crate::pipeline;
use crate::progress::Progress;
use crate::read::open_sink;

/// Run the detections (Tracee's signatures and rules written as display filters) over
/// recordings and write the findings as Tracee events.
///
/// Inputs are what `osprey read -r` takes: Osprey's or Tracee's JSON of any generation,
/// PcapNG, gzip, `-`, capture directories, merged in time order, or a Parquet lake
/// (docs/fleet.md) on its own. Findings are written as
/// Tracee JSON lines (standard output, or -w FILE.json) or PcapNG (-w FILE with any other
/// extension), in Tracee's finding layout, so `osprey read` and Traceeshark color and count
/// them like Tracee's own. `osprey trace` runs the same detections live.
#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  osprey detect --list
  osprey detect -r events.json
  osprey detect -r /tmp/tracee -w findings.json
  osprey detect -r events.json --signatures TRC-101,TRC-1016 -R my-rules.toml
  osprey detect -r events.json -R my-rules.yaml
  osprey detect -r events.json | osprey read -r - -z tracee,event_counts

Rules files (-R) are TOML, or YAML when the name ends in .yaml or .yml: the same keys either \
way, a display filter plus metadata per rule. A malformed one stops the run with FILE:LINE: \
reason.

Exit status: 0 when everything was read, 1 when records or inputs were skipped as damaged, \
2 on a usage error or a malformed rules file.")]
pub struct DetectArgs {
    /// Read from FILE (repeatable; `-` for standard input; a capture directory).
    #[arg(
        short = 'r',
        long = "read-file",
        value_name = "FILE",
        required_unless_present = "list"
    )]
    files: Vec<String>,

    /// Write the findings to FILE: Tracee JSON lines for .json/.jsonl/.ndjson, else PcapNG.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    write: Option<PathBuf>,

    /// Load detection rules from a rules file (repeatable): YAML when FILE ends in .yaml or
    /// .yml, TOML otherwise (docs/detections.md).
    #[arg(short = 'R', long = "rules", value_name = "FILE")]
    rules: Vec<PathBuf>,

    /// Which signatures run: all, none, or a comma-separated list of IDs and names
    /// (TRC-102,stdio_over_socket). User rules count as signatures.
    #[arg(long = "signatures", value_name = "all|none|LIST")]
    signatures: Option<String>,

    /// Print the catalogue: ID, event name, severity, the events each reads, availability.
    #[arg(long)]
    list: bool,

    /// No progress bar and no summary on standard error.
    #[arg(short, long)]
    quiet: bool,
}

/// Where each signature can run: "live and replay", or why not live.
fn availability(events: &[String]) -> String {
    let cat = osprey_trace::catalog::catalog();
    // the kernel integrity checks run live only where this kernel lets the tracer make them
    let not_here: Vec<String> = events
        .iter()
        .filter(|e| cat.get(e).is_some_and(|d| d.source == Source::Integrity))
        .filter_map(|e| match osprey_trace::integrity::describe(e) {
            (true, _) => None,
            (false, why) => Some(format!("{e}: {why}")),
        })
        .collect();
    if !not_here.is_empty() {
        return format!("replay; live not on this kernel ({})", not_here.join("; "));
    }
    let missing: Vec<&str> = events
        .iter()
        .filter(|e| cat.get(e).is_none())
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        "live and replay".to_string()
    } else if missing.len() == events.len() {
        format!(
            "replay only: osprey trace cannot produce {}",
            missing.join(", ")
        )
    } else {
        format!(
            "live and replay (live without {}, which osprey trace cannot produce)",
            missing.join(", ")
        )
    }
}

fn list(config: &Config) -> anyhow::Result<ExitCode> {
    let mut out = BufWriter::new(io::stdout().lock());
    let mut sigs = osprey_detect::catalogue();
    // user rules, as the detector would run them
    let all = Config {
        selection: osprey_detect::Selection::All,
        rule_files: config.rule_files.clone(),
    };
    let detector = Detector::new(&all)?;
    for s in detector.signatures() {
        if s.origin != "built-in" {
            sigs.push(s.clone());
        }
    }
    writeln!(
        out,
        "{:<9} {:<26} {:>3}  {:<6} {:<34} AVAILABILITY",
        "ID", "NAME", "SEV", "KIND", "EVENTS"
    )?;
    for s in &sigs {
        let kind = match s.kind {
            Kind::Rule => "rule",
            Kind::Native => "rust",
        };
        writeln!(
            out,
            "{:<9} {:<26} {:>3}  {:<6} {:<34} {}",
            s.meta.id,
            s.meta.name,
            s.meta.severity,
            kind,
            s.meta.events.join(","),
            availability(&s.meta.events)
        )?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: DetectArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.signatures.as_deref(), &args.rules)?;
    if args.list {
        return list(&config);
    }
    let mut detector = Detector::new(&config)?;
    let signatures = detector.signatures().len();
    let diag = Arc::new(Diagnostics::new(20, |p| eprintln!("osprey: {p}")));
    let query = osprey_lake::LakeQuery::all();
    let inputs = osprey_lake::open_inputs(&args.files, diag.clone(), query)?.inputs;
    let (bytes_read, total) = inputs.progress();
    let progress = (!args.quiet).then(|| Progress::start(bytes_read, total));
    let mut sink = match &args.write {
        Some(path) => open_sink(path)?,
        None => Box::new(NdjsonSink::new(BufWriter::with_capacity(
            1 << 16,
            io::stdout().lock(),
        ))),
    };
    let mut events = 0u64;
    let mut by_sig: BTreeMap<String, u64> = BTreeMap::new();
    let mut line = Vec::with_capacity(4096);
    let mut number = 0u64;
    let mut write_error: Option<io::Error> = None;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (shared, mut finisher) = detector.split();
    // workers parse the events some signature may need and run the stateless signatures; this
    // thread runs the stateful ones on the events they hand over and writes the findings, in
    // frame order
    let check = |batch: &pipeline::Batch| -> (u64, Vec<(Event<'static>, osprey_detect::Hits)>) {
        let mut n = 0;
        let mut out = Vec::new();
        for frame in &batch.frames {
            if frame.kind != FrameKind::Event {
                continue;
            }
            n += 1;
            // events no signature needs (by name, or by the byte test of their filters) are
            // skipped before they are parsed
            if !shared.may_need(&frame.data) {
                continue;
            }
            // a damaged line is no finding (`osprey read` reports it)
            let Ok(event) = osprey_event::parse_event(&frame.data) else {
                continue;
            };
            if let Some(hits) = shared.check(&event).filter(|h| h.needs_event()) {
                out.push((event.into_owned(), hits));
            }
        }
        (n, out)
    };
    pipeline::run(
        inputs.frames().batches(pipeline::BATCH),
        workers,
        check,
        |_, (n, checked)| {
            events += n;
            for (event, hits) in checked {
                for finding in finisher.finish(shared, &event, hits) {
                    line.clear();
                    finding.write_legacy_json(&mut line);
                    number += 1;
                    *by_sig.entry(finding.event_name.to_string()).or_default() += 1;
                    let out = Frame {
                        number,
                        ts: finding.timestamp,
                        input: 0,
                        location: Location::Line(number),
                        kind: FrameKind::Event,
                        data: line.clone().into(),
                        capture: None,
                    };
                    if let Err(e) = sink.write_frame(&out) {
                        write_error = Some(e);
                        return false;
                    }
                }
            }
            true
        },
    );
    if let Some(p) = progress {
        p.finish();
    }
    if let Some(e) = write_error {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Ok(ExitCode::SUCCESS);
        }
        return Err(e).context("writing findings");
    }
    match sink.finish() {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            return Err(e).context("writing findings")
        }
        _ => {}
    }
    let mut damaged = false;
    for s in diag.stats() {
        if s.damaged > 0 || s.unreadable {
            damaged = true;
            eprintln!(
                "osprey: {}: {} damaged record(s) skipped{}",
                s.name,
                s.damaged,
                if s.unreadable {
                    "; reading stopped early"
                } else {
                    ""
                }
            );
        }
    }
    if !args.quiet {
        let total: u64 = by_sig.values().sum();
        let detail: Vec<String> = by_sig.iter().map(|(k, v)| format!("{k} {v}")).collect();
        eprintln!(
            "osprey: {events} events, {total} finding(s) from {} signature(s){}{}",
            signatures,
            if detail.is_empty() { "" } else { ": " },
            detail.join(", ")
        );
    }
    Ok(if damaged {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
