//! `osprey read`: list, dissect, filter, convert and count frames, like tshark.
//!
//! A reader thread opens and merges the inputs; frames travel in batches to this thread, which
//! has each batch decoded, dissected, filtered and rendered in parallel and writes the results
//! in frame order.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};
use osprey_dissect::{FrameInfo, Preferences, Want};
use osprey_field::{registry, FieldId};
use osprey_filter::{Filter, Prefilter};
use osprey_print::fields::FieldsFormat;
use osprey_print::{FrameSink, NdjsonSink, PcapNgSink, Profile};
use osprey_source::{Diagnostics, Frame, FrameKind, Inputs};

use crate::pipeline;
use crate::progress::Progress;

/// How the frames are printed on standard output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One summary line per frame, in the profile's columns (with -V: the detail tree).
    Text,
    /// The values of the fields named with -e, one line per frame.
    Fields,
    /// A JSON array of frames carrying every field, shaped like tshark's -T json.
    Json,
    /// Events as Tracee JSON, one per line, exactly as recorded (packets and artifact records are left out).
    Ndjson,
}

/// How `-z` statistics are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    /// As tshark prints them (stats trees, tables).
    Text,
    /// One JSON array with a result per -z, for machines.
    Json,
}

/// When to color the summary lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// When standard output is a terminal.
    Auto,
    /// Always (also into pipes and files).
    Always,
    /// Never.
    Never,
}

/// What `-G` lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Glossary {
    /// Every field (with -r, also the argument fields seen in the input), like tshark -G fields.
    Fields,
    /// The configuration profile in use, as a file to copy and edit.
    Profile,
    /// The preferences and their current values.
    Prefs,
}

/// Read recordings: list, dissect, filter, convert, count.
///
/// Inputs are recognised by content: Tracee JSON of any generation (legacy, flat-context and
/// v1beta1), PcapNG (events on USER0 interfaces and packets), classic pcap, the gzip form of
/// each, standard input (`-`), and capture directories (`DIR` or `DIR/out`: their event files,
/// pcaps, and the artifact index of `osprey trace --capture`, whose records are shown as
/// frames). Damaged records are reported with their line or byte offset, skipped, and counted;
/// everything readable is still read.
#[derive(Args, Debug)]
#[command(after_help = "\
Display filters use Wireshark's syntax and Traceeshark's field names, for events and packets \
alike: tracee.eventName == \"sched_process_exec\", ${important}, ip.addr == 10.0.0.0/8, \
dns.qry.name contains \"example\", tracee.args.security_file_open.pathname contains \"/etc/\".

Exit status: 0 when everything was read, 1 when records or inputs were skipped as damaged \
(the output holds everything readable), 2 on a usage error, a bad filter, or when no input \
could be opened.

Examples:
  osprey read -r events.json
  osprey read -r events.json -Y '${important}' --color
  osprey read -r events.json -T fields -E header=y -e frame.number -e tracee.processName
  osprey read -r events.json -r capture.pcap -w merged.pcapng
  osprey read -r merged.pcapng -w events.json        (events back to Tracee JSON)
  zcat events.json.gz | osprey read -r - -V -c 1
  osprey read -r events.json -z tracee,process_tree -z tracee,event_counts,container
  osprey read -r capture.pcapng -z conv,tcp -z io,stat,1,tcp,udp -T json
  osprey read -r lake/ -R 'tracee.hostName == \"node-3\"' -z tracee,process_tree")]
pub struct ReadArgs {
    /// Read from FILE: Tracee JSON, PcapNG, pcap, a gzip of any of them, `-` for standard
    /// input, or a capture directory. Repeat to merge several inputs in time order.
    #[arg(
        short = 'r',
        long = "read-file",
        value_name = "FILE",
        required_unless_present_any = ["glossary", "stats"]
    )]
    files: Vec<String>,

    /// Show only the frames that match FILTER (Wireshark display-filter syntax).
    #[arg(short = 'Y', long = "display-filter", value_name = "FILTER")]
    filter: Option<String>,

    /// Read only the frames that match FILTER: the others are dropped as they are read, as if
    /// the input did not hold them, so frame numbers, times relative to the first frame or the
    /// one before, -z statistics and -w see only what passes (tshark's -R, in one pass). On a
    /// Parquet lake the read filter is pushed down whatever is printed.
    #[arg(short = 'R', long = "read-filter", value_name = "FILTER")]
    read_filter: Option<String>,

    /// Stop after N frames have been output.
    #[arg(short = 'c', long = "count", value_name = "N")]
    count: Option<u64>,

    /// Format of the frames printed on standard output.
    #[arg(short = 'T', long = "format", value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,

    /// A field to print with -T fields (repeatable), e.g. -e frame.number -e tracee.eventName.
    #[arg(short = 'e', long = "field", value_name = "FIELD")]
    fields: Vec<String>,

    /// A -T fields option: header=y|n, separator=/t|/s|CHAR, occurrence=a|f|l|N,
    /// aggregator=/s|CHAR, quote=d|s|n (repeatable).
    #[arg(short = 'E', value_name = "OPTION=VALUE")]
    fields_options: Vec<String>,

    /// Print the detail tree of each frame.
    #[arg(short = 'V', long = "verbose")]
    verbose: bool,

    /// Set a preference: pid_format=container|host|both, container_identifier=id|name,
    /// show_container_image=true|false, include_unix_sockets=..., exclude_nscd_socket=...
    #[arg(short = 'o', value_name = "NAME=VALUE")]
    preferences: Vec<String>,

    /// Color summary lines by the profile's coloring rules.
    #[arg(long = "color", value_enum, value_name = "WHEN", num_args = 0..=1, default_missing_value = "auto", default_value = "never")]
    color: ColorWhen,

    /// Use the configuration profile FILE (columns, preferences, macros, coloring rules)
    /// instead of the bundled "Tracee" profile; also $OSPREY_PROFILE.
    #[arg(short = 'C', long = "config-profile", value_name = "FILE")]
    profile: Option<PathBuf>,

    /// Compute statistics VIEW[,FILTER] over the frames (repeatable; all in one pass), printed
    /// at the end instead of the frames (add -P to print the frames too). -Y narrows every
    /// view; a view's own FILTER narrows that view. Tracee views: tracee,event_counts,
    /// tracee,file_types, tracee,process_tree[,opened_files|written_files|network|signatures]
    /// (each [,container]), tracee,process,PID, tracee,timeline,INTERVAL; Wireshark's:
    /// conv,TYPE, endpoints,TYPE, io,stat,INTERVAL[,COLUMN]..., io,phs, dns,tree, http,tree;
    /// count,FIELD (a field's values by frames). `-z help` lists the forms.
    #[arg(short = 'z', value_name = "VIEW[,FILTER]")]
    stats: Vec<String>,

    /// How -z statistics are printed; -T json with -z means json.
    #[arg(long = "stats-format", value_enum, value_name = "FORMAT")]
    stats_format: Option<StatsFormat>,

    /// List fields, the profile or the preferences, and exit.
    #[arg(short = 'G', long = "glossary", value_enum, value_name = "WHAT")]
    glossary: Option<Glossary>,

    /// Write the frames to OUT instead of printing them: Tracee NDJSON when OUT ends in .json,
    /// .jsonl or .ndjson (events only), PcapNG in the Traceeshark layout otherwise.
    #[arg(short = 'w', long = "write", value_name = "OUT")]
    write: Option<PathBuf>,

    /// With -w or -z, print the frames on standard output as well.
    #[arg(short = 'P', long = "print")]
    print: bool,

    /// Flush standard output whenever the input has nothing more for the moment, so that a
    /// live stream piped in (`tracee ... | osprey read -r - -l | ...`) is printed as it comes,
    /// like tshark's -l. Always so when standard output is a terminal.
    #[arg(short = 'l')]
    flush: bool,

    /// No progress bar and no end-of-run summary on standard error; problems are still reported.
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,

    /// Reading a Parquet lake: print on standard error what the display filter let the read
    /// skip (partitions, files, row groups, rows by their column values) and how many rows were
    /// read.
    #[arg(long = "scan-stats")]
    scan_stats: bool,
}

/// What is printed on standard output.
#[derive(Clone, Debug, PartialEq)]
enum View {
    None,
    Summary,
    Detail,
    Fields(Vec<FieldId>),
    Json,
    Ndjson,
}

/// Everything the renderers need, shared read-only by the worker threads.
struct Plan {
    view: View,
    filter: Option<Filter>,
    prefilter: Option<Prefilter>,
    want: Want,
    /// True when frames must be dissected at all (a filter, a view of fields, coloring).
    dissect: bool,
    /// Shared with the read filter's plan.
    profile: Arc<Profile>,
    summary: osprey_print::text::Summary,
    preferences: Preferences,
    fields_format: FieldsFormat,
    color: bool,
    names: Vec<String>,
    /// The dissecting side of the -z statistics.
    stats: Option<osprey_stats::Extractor>,
    /// What the `-w` sink takes from each event written, made on the workers.
    prepare: Option<osprey_print::PrepareEvent>,
}

/// What rendering one frame produced.
enum Rendered {
    /// Shown: its output is this range of the batch's buffer (possibly empty when nothing is
    /// printed), and what the `-w` sink prepared of its event.
    Shown(std::ops::Range<usize>, Option<osprey_print::Prepared>),
    /// Filtered out.
    Hidden,
    /// A JSON line that turned out not to be an event: it is dropped and reported.
    Damaged(String),
}

/// What a worker made of a batch: every frame's outcome, and their output in one buffer (one
/// allocation per batch rather than per frame).
struct RenderedBatch {
    out: Vec<u8>,
    frames: Vec<Rendered>,
    /// What the statistics keep of each frame (one record per frame, in order).
    records: Option<osprey_stats::Records>,
}

fn load_profile(path: Option<&PathBuf>) -> anyhow::Result<Profile> {
    Ok(Profile::load_or_bundled(path.map(PathBuf::as_path))?)
}

/// Compiles a display filter, reporting errors with a caret under the position.
fn compile_filter(text: &str, profile: &Profile) -> anyhow::Result<Filter> {
    Filter::compile(text, &profile.macros).map_err(|e| {
        let caret_at = text[..e.position.min(text.len())].chars().count();
        let width = text
            .get(e.position..(e.position + e.length).min(text.len()))
            .map_or(1, |s| s.chars().count().max(1));
        anyhow::anyhow!(
            "display filter error at column {}: {}\n    {}\n    {}{}",
            caret_at + 1,
            e.message,
            text,
            " ".repeat(caret_at),
            "^".repeat(width)
        )
    })
}

fn plan(
    args: &ReadArgs,
    names: Vec<String>,
) -> anyhow::Result<(Plan, Option<osprey_stats::Collector>)> {
    let profile = load_profile(args.profile.as_ref())?;
    let mut preferences = profile.preferences.clone();
    for p in &args.preferences {
        preferences
            .set(p)
            .map_err(|e| anyhow::anyhow!("-o {p}: {e}"))?;
    }
    let mut fields_format = FieldsFormat::default();
    for o in &args.fields_options {
        fields_format.set(o).map_err(|e| anyhow::anyhow!(e))?;
    }
    let specs = args
        .stats
        .iter()
        .map(|z| osprey_stats::ViewSpec::parse(z))
        .collect::<Result<Vec<_>, _>>()?;
    let stats_json = !specs.is_empty() && stats_json(args);
    // With -z, frames are printed only when asked for with -P (as with -w).
    let printing = if !specs.is_empty() {
        args.print && args.write.as_ref().is_none_or(|w| w.as_os_str() != "-")
    } else {
        args.write.is_none()
            || (args.print && args.write.as_ref().is_some_and(|w| w.as_os_str() != "-"))
    };
    let format = if stats_json && args.format == OutputFormat::Json {
        OutputFormat::Text
    } else {
        args.format
    };
    let view = match (printing, format, args.verbose) {
        (false, _, _) => View::None,
        (true, OutputFormat::Fields, _) => {
            if args.fields.is_empty() {
                bail!("-T fields needs at least one -e FIELD");
            }
            let ids = args
                .fields
                .iter()
                .map(|f| {
                    registry().resolve(f).ok_or_else(|| {
                        anyhow::anyhow!(
                            "-e {f}: \"{f}\" is not a valid field (see osprey read -G fields)"
                        )
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            View::Fields(ids)
        }
        (true, OutputFormat::Json, _) => View::Json,
        (true, OutputFormat::Ndjson, _) => View::Ndjson,
        (true, OutputFormat::Text, true) => View::Detail,
        (true, OutputFormat::Text, false) => View::Summary,
    };
    let filter = args
        .filter
        .as_deref()
        .map(|f| compile_filter(f, &profile))
        .transpose()?;
    let (stats, collector) = if specs.is_empty() {
        (None, None)
    } else {
        let compile = |text: &str| compile_filter(text, &profile).map_err(|e| format!("{e:#}"));
        // Text leaves out what only JSON shows (the nodes' filters, the processes' details).
        let detail = if stats_json {
            osprey_stats::Detail::Full
        } else {
            osprey_stats::Detail::Text
        };
        let (extractor, collector) =
            osprey_stats::Engine::build(specs, &preferences, detail, &compile)?;
        (Some(extractor), Some(collector))
    };
    // A byte prefilter skips events before they are parsed, which the process model cannot
    // afford: it needs every fork, exec and name, counted or not.
    let prefilter = filter
        .as_ref()
        .filter(|_| !stats.as_ref().is_some_and(|s| s.needs_every_event()))
        .map(Filter::event_prefilter);
    let color = view == View::Summary
        && match args.color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => io::stdout().is_terminal(),
        };
    let mut want = match view {
        View::Json | View::Detail => Want::all(),
        _ => Want::none(),
    };
    match &view {
        View::Summary => profile.want_columns(&mut want),
        View::Fields(ids) => osprey_print::want_fields(&mut want, ids.iter().copied()),
        _ => {}
    }
    if let Some(f) = &filter {
        osprey_print::want_fields(&mut want, f.fields());
    }
    if color {
        profile.want_colors(&mut want);
    }
    if let Some(s) = &stats {
        s.want(&mut want);
    }
    let dissect = filter.is_some() || stats.is_some() || !matches!(view, View::None | View::Ndjson);
    let plan = Plan {
        view,
        filter,
        prefilter,
        want,
        dissect,
        summary: osprey_print::text::Summary::new(&profile.columns),
        profile: Arc::new(profile),
        preferences,
        fields_format,
        color,
        names,
        stats,
        prepare: None,
    };
    Ok((plan, collector))
}

/// The writer of `-w PATH`: a Parquet lake for `lake:DIR`, NDJSON for .json/.jsonl/.ndjson,
/// else PcapNG (`-` is stdout).
pub(crate) fn open_sink(path: &PathBuf) -> anyhow::Result<Box<dyn FrameSink>> {
    let name = path.display().to_string();
    if let Some(dir) = name.strip_prefix("lake:") {
        let lake = osprey_lake::LakeSink::create(dir.as_ref());
        return Ok(Box::new(
            lake.with_context(|| format!("cannot create {dir}"))?,
        ));
    }
    let file: Box<dyn Write> = if name == "-" {
        Box::new(io::stdout())
    } else {
        Box::new(std::fs::File::create(path).with_context(|| format!("cannot create {name}"))?)
    };
    let out = BufWriter::with_capacity(1 << 20, file);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    Ok(if matches!(ext.as_str(), "json" | "jsonl" | "ndjson") {
        Box::new(NdjsonSink::new(out))
    } else {
        Box::new(PcapNgSink::new(
            out,
            &format!("osprey {}", env!("CARGO_PKG_VERSION")),
        )?)
    })
}

/// Checks the arguments (filter, fields, profile, preferences) without reading anything: for
/// `osprey receive`, which must refuse bad ones before it accepts (and acks) events.
pub fn check(args: &ReadArgs) -> anyhow::Result<()> {
    plan(args, vec!["-".into()]).map(|_| ())
}

pub fn run(args: ReadArgs) -> anyhow::Result<ExitCode> {
    if let Some(what) = args.glossary {
        return glossary(what, &args);
    }
    if args.stats.iter().any(|z| z == "help") {
        println!("-z takes:\n{}", osprey_stats::spec::FORMS);
        return Ok(ExitCode::SUCCESS);
    }
    if args.files.is_empty() {
        bail!("nothing to read: give a recording with -r FILE (or -r - for standard input)");
    }
    let diag = Arc::new(Diagnostics::new(20, |p| eprintln!("osprey: {p}")));
    // The plan first: a lake is read with the filter's constraints when skipping events
    // cannot change the output.
    let (mut plan, mut collector) = plan(&args, Vec::new())?;
    let mut read_filter = args
        .read_filter
        .as_deref()
        .map(|text| read_filter_plan(text, &plan))
        .transpose()?;
    let (query, whole) = lake_query(&plan, read_filter.as_ref());
    let opened = osprey_lake::open_inputs(&args.files, diag.clone(), query)?;
    if let (Some(why), Some(_), false) = (whole, &opened.scan, args.quiet) {
        eprintln!("osprey: the lake is read whole: {why} (docs/fleet.md, Pushdown)");
    }
    let (inputs, scan) = (opened.inputs, opened.scan);
    plan.names = inputs.files().iter().map(|f| f.name.clone()).collect();
    if let Some(r) = read_filter.as_mut() {
        r.names = plan.names.clone();
    }
    let mut sink = args.write.as_ref().map(open_sink).transpose()?;
    plan.prepare = sink.as_ref().and_then(|s| s.prepare_events());
    let plan = plan;
    let (bytes_read, total) = inputs.progress();
    let progress = (!args.quiet).then(|| Progress::start(bytes_read, total));

    let stdout = io::stdout();
    // Batches end where the input waits (a live stream), so flushing after each one shows
    // every frame that has come in.
    let flush_each_batch = args.flush || stdout.is_terminal();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut shown = 0u64;
    let mut ndjson_left_out = 0u64;
    let limit = args.count.unwrap_or(u64::MAX);
    let mut write_result: io::Result<()> = (|| {
        if plan.view == View::Json {
            out.write_all(b"[\n")?;
        }
        if let (View::Fields(_), true) = (&plan.view, plan.fields_format.header) {
            let mut header = Vec::new();
            plan.fields_format.write_header(&mut header, &args.fields);
            out.write_all(&header)?;
        }
        Ok(())
    })();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    // The statistics' record buffers go back and forth between the workers and the consumer,
    // so that their memory is reused from batch to batch rather than grown anew each time.
    let spare_records = std::sync::Mutex::new(Vec::<osprey_stats::Records>::new());
    let render_batch = |b: &pipeline::Batch| -> RenderedBatch {
        let mut out = Vec::with_capacity(b.frames.len() * 256);
        let mut records = plan.stats.as_ref().map(|_| {
            let spare = spare_records.lock().ok().and_then(|mut s| s.pop());
            match spare {
                Some(mut r) => {
                    r.reset(b.first_ts);
                    r
                }
                None => osprey_stats::Records::new(b.first_ts),
            }
        });
        let frames = b
            .frames
            .iter()
            .enumerate()
            .map(|(i, f)| {
                render(
                    f,
                    b.prev_ts(i),
                    b.first_ts,
                    &plan,
                    &mut out,
                    records.as_mut(),
                )
            })
            .collect();
        RenderedBatch {
            out,
            frames,
            records,
        }
    };
    let mut consume = |batch: pipeline::Batch, rendered: RenderedBatch| -> io::Result<bool> {
        // With -c, the statistics stop where the output does.
        let mut fed = 0;
        let mut feed = |upto: usize| {
            if let (Some(c), Some(r)) = (collector.as_mut(), rendered.records.as_ref()) {
                c.feed_range(r, fed..upto);
                fed = upto;
            }
        };
        for (i, (frame, r)) in batch.frames.iter().zip(rendered.frames).enumerate() {
            let (bytes, prepared) = match r {
                Rendered::Damaged(message) => {
                    diag.damaged_later(frame.input, frame.kind, frame.location, message);
                    continue;
                }
                Rendered::Hidden => continue,
                Rendered::Shown(range, prepared) => (&rendered.out[range], prepared),
            };
            if plan.view == View::Json && shown > 0 {
                out.write_all(b",\n")?;
            }
            if plan.view == View::Ndjson && frame.kind != FrameKind::Event {
                ndjson_left_out += 1;
            }
            out.write_all(bytes)?;
            if let Some(sink) = sink.as_mut() {
                sink.write_prepared(frame, prepared)?;
            }
            shown += 1;
            if shown >= limit {
                feed(i + 1);
                return Ok(false);
            }
        }
        feed(batch.frames.len());
        if let (Some(r), Ok(mut spare)) = (rendered.records, spare_records.lock()) {
            spare.push(r);
        }
        if flush_each_batch {
            out.flush()?;
        }
        Ok(true)
    };
    if write_result.is_ok() {
        let batches = inputs.frames().batches(pipeline::BATCH);
        let batches: Box<dyn Iterator<Item = Vec<Frame>> + Send> = match read_filter {
            Some(r) => Box::new(read_filtered(batches, Arc::new(r), workers)),
            None => Box::new(batches),
        };
        pipeline::run(
            batches,
            workers,
            render_batch,
            |batch, rendered| match consume(batch, rendered) {
                Ok(go_on) => go_on,
                Err(e) => {
                    write_result = Err(e);
                    false
                }
            },
        );
    }
    if write_result.is_ok() {
        write_result = (|| {
            if plan.view == View::Json {
                out.write_all(if shown > 0 { b"\n]\n" } else { b"]\n" })?;
            }
            if let Some(c) = collector.take() {
                write_stats(&mut out, c.finish(), stats_json(&args))?;
            }
            out.flush()?;
            if let Some(sink) = sink.as_mut() {
                sink.finish()?;
            }
            Ok(())
        })();
    }
    if let Some(p) = progress {
        p.finish();
    }
    match write_result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(e).context("writing output"),
        Ok(()) => {}
    }
    if !args.quiet {
        let written_left_out = sink.as_ref().map_or(0, |s| s.left_out());
        for (n, what) in [(ndjson_left_out, "shown"), (written_left_out, "written")] {
            if n > 0 {
                eprintln!("osprey: {n} packet(s) or artifact record(s) not {what}: NDJSON holds Tracee events only");
            }
        }
    }
    if let (true, Some(scan)) = (args.scan_stats, scan) {
        if let Ok(scan) = scan.lock() {
            eprintln!("osprey: lake scan: {scan}");
        }
    }
    report_summary(&diag, args.quiet);
    Ok(if diag.anything_skipped() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// What a lake read may skip for this run, and why it reads more than the filters may match.
///
/// A read filter's constraints on the lake's columns always apply: what fails it is as if
/// absent. The display filter's apply when events that fail it leave no trace in the output:
/// frame numbers, relative and delta times count every event read (the summary's No. and Time
/// columns, -V, -T json), and -z statistics see the events that fail it too; with any of them
/// what the read filter admits is read whole, and the reason is given when -Y could have pruned.
fn lake_query(
    plan: &Plan,
    read_filter: Option<&Plan>,
) -> (osprey_lake::LakeQuery, Option<&'static str>) {
    use osprey_field::fields::frame;
    use osprey_lake::LakeQuery;
    let positional = |p: &Plan| {
        [frame::NUMBER, frame::TIME_RELATIVE, frame::TIME_DELTA]
            .iter()
            .any(|&id| p.want.has(id))
    };
    let read = match read_filter.and_then(|r| Some((r, r.filter.as_ref()?))) {
        None => LakeQuery::all(),
        Some((r, f)) if positional(r) => {
            let whole = !LakeQuery::from_filter(f).is_empty();
            let why = "the read filter tests frame numbers, relative or delta times, which count \
                       every event";
            return (LakeQuery::all(), whole.then_some(why));
        }
        Some((_, f)) => LakeQuery::from_filter(f),
    };
    let Some(f) = &plan.filter else {
        return (read, None);
    };
    let query = LakeQuery::from_filter(f);
    let whole = if query.is_empty() {
        None
    } else if plan.stats.is_some() {
        Some(
            "-z statistics see the events -Y hides too; a read filter (-R) narrows what they \
             see and is pushed down",
        )
    } else if positional(plan) {
        Some(
            "frame numbers, relative or delta times are shown or filtered on, and they count \
             every event; a read filter (-R) numbers only what passes and is pushed down",
        )
    } else {
        return (read.and(query), None);
    };
    // What the read filter prunes is still pruned: only -Y adds nothing to it.
    let whole = whole.filter(|_| read.is_empty());
    (read, whole)
}

/// The plan of the read filter's stage: `filter` compiled and dissected for, nothing printed.
fn read_filter_plan(filter: &str, plan: &Plan) -> anyhow::Result<Plan> {
    let filter = compile_filter(filter, &plan.profile).context("-R")?;
    let mut want = Want::none();
    osprey_print::want_fields(&mut want, filter.fields());
    Ok(Plan {
        view: View::None,
        prefilter: Some(filter.event_prefilter()),
        filter: Some(filter),
        want,
        dissect: true,
        profile: plan.profile.clone(),
        summary: plan.summary.clone(),
        preferences: plan.preferences.clone(),
        fields_format: plan.fields_format.clone(),
        color: false,
        names: plan.names.clone(),
        stats: None,
        prepare: None,
    })
}

/// The frames of `batches` that pass the read filter of `plan`, numbered anew from 1: a pipeline
/// of its own (dissecting and filtering on `workers` threads) ahead of the one that renders,
/// which therefore sees the kept frames as the whole input. A damaged frame is kept, for the
/// renderer to report. The stage ends when the batches do or when the returned iterator is
/// dropped (the renderer stopped early).
fn read_filtered(
    batches: impl Iterator<Item = Vec<Frame>> + Send + 'static,
    plan: Arc<Plan>,
    workers: usize,
) -> impl Iterator<Item = Vec<Frame>> + Send + 'static {
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Frame>>(workers.max(1) * 4);
    std::thread::spawn(move || {
        let mut number = 0u64;
        let keep_batch = |b: &pipeline::Batch| -> Vec<bool> {
            let mut scratch = Vec::new();
            (b.frames.iter().enumerate())
                .map(|(i, f)| {
                    let r = render(f, b.prev_ts(i), b.first_ts, &plan, &mut scratch, None);
                    !matches!(r, Rendered::Hidden)
                })
                .collect()
        };
        pipeline::run(batches, workers, keep_batch, |batch, keep| {
            let mut kept: Vec<Frame> = (batch.frames.into_iter().zip(keep))
                .filter_map(|(f, k)| k.then_some(f))
                .collect();
            for f in &mut kept {
                number += 1;
                f.number = number;
            }
            kept.is_empty() || tx.send(kept).is_ok()
        });
    });
    rx.into_iter()
}

/// Decodes, dissects, filters and renders one frame, appending its output to `out`.
fn render(
    frame: &Frame,
    prev_ts: Option<u64>,
    first_ts: u64,
    plan: &Plan,
    out: &mut Vec<u8>,
    records: Option<&mut osprey_stats::Records>,
) -> Rendered {
    // A cheap byte test first: most events a filter rejects are never parsed.
    if let Some(pre) = &plan.prefilter {
        if frame.kind == FrameKind::Event && !pre.may_match(&frame.data) {
            if let (Some(s), Some(r)) = (&plan.stats, records) {
                s.skip(frame, r);
            }
            return Rendered::Hidden;
        }
    }
    let decoded = osprey_dissect::decode(frame);
    if let (Some(e), None) = (decoded.malformed(), &frame.capture) {
        if let (Some(s), Some(r)) = (&plan.stats, records) {
            s.skip(frame, r);
        }
        return Rendered::Damaged(e);
    }
    let start = out.len();
    if !plan.dissect {
        if plan.view == View::Ndjson && frame.kind == FrameKind::Event {
            out.extend_from_slice(&frame.data);
            out.push(b'\n');
        }
        return Rendered::Shown(start..out.len(), prepare(plan, &decoded));
    }
    let info = FrameInfo {
        frame,
        input_name: &plan.names[frame.input as usize],
        first_ts,
        prev_ts,
    };
    let tree = osprey_dissect::dissect(&info, &decoded, &plan.preferences, &plan.want);
    let passes = plan.filter.as_ref().is_none_or(|f| f.matches(&tree));
    if let (Some(s), Some(r)) = (&plan.stats, records) {
        s.record(frame, &tree, passes, r);
    }
    if !passes {
        return Rendered::Hidden;
    }
    match &plan.view {
        View::None => {}
        View::Summary => {
            let color = plan
                .color
                .then(|| plan.profile.color_of(&tree))
                .flatten()
                .map(|r| (r.foreground, r.background));
            plan.summary.write_line(out, &tree, color);
        }
        View::Detail => osprey_print::detail::write_tree(out, &tree),
        View::Fields(ids) => plan.fields_format.write_row(out, &tree, ids),
        View::Json => osprey_print::json::write_frame(out, &tree, frame.ts),
        View::Ndjson => {
            if frame.kind == FrameKind::Event {
                out.extend_from_slice(&frame.data);
                out.push(b'\n');
            }
        }
    }
    Rendered::Shown(start..out.len(), prepare(plan, &decoded))
}

/// What the `-w` sink takes from a shown frame's event, made here on a worker.
fn prepare(plan: &Plan, decoded: &osprey_dissect::Decoded) -> Option<osprey_print::Prepared> {
    match (plan.prepare, decoded) {
        (Some(prepare), osprey_dissect::Decoded::Event { event, .. }) => Some(prepare(event)),
        _ => None,
    }
}

/// True when -z statistics are printed as JSON (--stats-format json, or -T json).
fn stats_json(args: &ReadArgs) -> bool {
    args.stats_format == Some(StatsFormat::Json)
        || (args.stats_format.is_none() && args.format == OutputFormat::Json)
}

/// Prints the -z results: as tshark prints them, or as one JSON array.
fn write_stats(out: &mut impl Write, results: osprey_stats::Results, json: bool) -> io::Result<()> {
    // One view at a time, written as it is rendered: a large run's results are never all in
    // memory at once. The next views are finished on other threads while one is written.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let results = results.on_threads(threads);
    if json {
        return osprey_stats::write_json(out, results);
    }
    // Freeing a result (a process tree is hundreds of thousands of nodes) takes about as long
    // as writing it: another thread frees each while the next one is written.
    let (freed, to_free) = std::sync::mpsc::channel::<osprey_stats::ViewResult>();
    let freeing = std::thread::spawn(move || to_free.into_iter().for_each(drop));
    for r in results {
        osprey_stats::text::write(&r, out)?;
        let _ = freed.send(r);
    }
    drop(freed);
    let _ = freeing.join();
    Ok(())
}

/// `-G`: fields (tshark's glossary format), the profile, or the preferences.
fn glossary(what: Glossary, args: &ReadArgs) -> anyhow::Result<ExitCode> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match what {
        Glossary::Profile => match args.profile.as_ref().or(std::env::var_os("OSPREY_PROFILE")
            .map(PathBuf::from)
            .as_ref())
        {
            Some(p) => out.write_all(
                &std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?,
            )?,
            None => out.write_all(osprey_print::profile::BUNDLED.as_bytes())?,
        },
        Glossary::Prefs => {
            let profile = load_profile(args.profile.as_ref())?;
            let mut prefs = profile.preferences.clone();
            for p in &args.preferences {
                prefs.set(p).map_err(|e| anyhow::anyhow!("-o {p}: {e}"))?;
            }
            writeln!(out, "{prefs}")?;
        }
        Glossary::Fields => {
            if !args.files.is_empty() {
                register_argument_fields(&args.files)?;
            }
            for (_, info) in registry().all() {
                let abbrev = &info.abbrev;
                let parent = abbrev.split('.').next().unwrap_or(abbrev);
                let ft = match info.ty {
                    osprey_field::FieldType::Protocol => {
                        writeln!(out, "P\t{}\t{}", info.name, abbrev)?;
                        continue;
                    }
                    osprey_field::FieldType::None => "FT_NONE",
                    osprey_field::FieldType::Bool => "FT_BOOLEAN",
                    osprey_field::FieldType::Int => "FT_INT64",
                    osprey_field::FieldType::UInt => "FT_UINT64",
                    osprey_field::FieldType::Double => "FT_DOUBLE",
                    osprey_field::FieldType::String => "FT_STRING",
                    osprey_field::FieldType::Bytes => "FT_BYTES",
                    osprey_field::FieldType::AbsTime => "FT_ABSOLUTE_TIME",
                    osprey_field::FieldType::RelTime => "FT_RELATIVE_TIME",
                    osprey_field::FieldType::Ipv4 => "FT_IPv4",
                    osprey_field::FieldType::Ipv6 => "FT_IPv6",
                    osprey_field::FieldType::Ether => "FT_ETHER",
                    osprey_field::FieldType::Dynamic => "FT_DYNAMIC",
                };
                let base = match info.display {
                    osprey_field::Display::Dec => "BASE_DEC",
                    osprey_field::Display::Hex(_) => "BASE_HEX",
                    osprey_field::Display::Oct => "BASE_OCT",
                    osprey_field::Display::Epoch => "ABSOLUTE_TIME_UNIX",
                };
                writeln!(
                    out,
                    "F\t{}\t{}\t{}\t{}\t{}\t0x0\t{}",
                    info.name, abbrev, ft, parent, base, info.blurb
                )?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Reads the inputs once, registering every argument field they hold.
fn register_argument_fields(files: &[String]) -> anyhow::Result<()> {
    let diag = Arc::new(Diagnostics::silent());
    let inputs = Inputs::open(files, diag)?;
    let mut want = Want::none();
    want.all_args();
    let prefs = Preferences::default();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    pipeline::run(
        inputs.frames().batches(pipeline::BATCH),
        workers,
        |b: &pipeline::Batch| {
            for frame in &b.frames {
                let decoded = osprey_dissect::decode(frame);
                let info = FrameInfo {
                    frame,
                    input_name: "",
                    first_ts: 0,
                    prev_ts: None,
                };
                let _ = osprey_dissect::dissect(&info, &decoded, &prefs, &want);
            }
        },
        |_, _| true,
    );
    Ok(())
}

/// Prints what was skipped, per input, at the end of a run.
fn report_summary(diag: &Diagnostics, quiet: bool) {
    for s in diag.stats() {
        let mut parts = Vec::new();
        if s.damaged > 0 {
            parts.push(format!("{} damaged record(s) skipped", s.damaged));
        }
        if s.log_lines > 0 && !quiet {
            parts.push(format!(
                "{} Tracee log line(s) skipped (not events)",
                s.log_lines
            ));
        }
        if s.unreadable {
            parts.push("reading stopped early".to_string());
        }
        if !parts.is_empty() {
            eprintln!("osprey: {}: {}", s.name, parts.join("; "));
        }
    }
}
