/*!
`osprey trace`: eBPF events in Tracee's format.

The pieces, in the order an event passes through them:

* [`catalog`]: every event (Tracee's ID, argument names and types, sets, source hook);
* [`scope`]: `--scope` expressions; PIDs, uids and `new` go to the kernel, the rest stays here;
* `osprey-bpf` loads the programs, and its ring buffer hands records to
* [`decode::Decoder`], which adds the context (namespaced PIDs, epoch times, and from
  [`proc_context`] the executable and [`container`] ID) and renders arguments by type ([`net`]
  for packets);
* [`output`] sinks write legacy Tracee JSON, a table, or PcapNG;
* [`capture`] (with `--capture`) drains the kernel's capture rings on its own thread (the
  process context from [`proc_context`] too) into an
  [`osprey_capture::Capturer`]: written files, executed binaries, memory regions, module
  images, packets, the runtime profile and the artifact index under `<dir>/out/`;
* [`run`] drives it all, counts what was emitted and lost, and stops cleanly on SIGINT/SIGTERM
  or when the traced command ends.

```no_run
use clap::Parser;
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    trace: osprey_trace::TraceArgs,
}
let cli = Cli::parse_from(["osprey-trace", "--events", "execve", "--", "true"]);
let status = osprey_trace::run_status(cli.trace).unwrap();
assert_eq!(status, 0);
```
*/

#![deny(missing_docs)]

pub mod capture;
pub mod catalog;
pub mod container;
pub mod decode;
pub mod integrity;
pub mod metrics;
pub mod net;
pub mod output;
pub mod proc_context;
pub mod scope;
pub mod spawn;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use osprey_bpf::consts::*;
use osprey_bpf::{Hook, LoadOptions, PidMode, ProbeReport, SysCfg, Tracer};
use osprey_event::Event;

use catalog::{catalog, syscall_arg_kind, EventDef, Source};
use decode::Decoder;
use output::{OutputSpec, Sink};
use scope::Scope;

/// Trace processes with eBPF and write Tracee-compatible events.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(after_long_help = AFTER_HELP)]
pub struct TraceArgs {
    /// Events to trace: event names (openat, security_file_open, ...) and sets (default, fs,
    /// proc, net, syscalls, lsm_hooks, network_events), comma-separated or repeated; a leading
    /// '-' removes an event or set. Without this option: the `default` set.
    #[arg(short = 'e', long = "events", value_name = "EVENTS")]
    pub events: Vec<String>,

    /// Which processes to trace, in Tracee's grammar; repeated expressions must all match:
    /// comm=NAMES, pid=PIDS, uid=UIDS, executable=PATHS (each also with !=), container,
    /// not-container, new (started after the tracer), follow (and their descendants).
    #[arg(short = 's', long = "scope", value_name = "EXPR")]
    pub scope: Vec<String>,

    /// Where events go, repeatable: json (stdout), json:FILE, table (stdout), pcapng:FILE
    /// (Traceeshark layout), forward:tcp://[USER:PASS@]HOST:PORT?tag=T&..., forward:tls://...
    /// or forward:unix:///PATH (Fluent Forward, docs/forward.md). Default: json.
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Vec<OutputSpec>,

    /// List every event, whether this kernel can produce it, through which hook, and why not.
    #[arg(long)]
    pub list: bool,

    /// Ring buffer size in MiB (rounded up to a power of two). It is what absorbs bursts the
    /// reader cannot keep up with: 256 MiB holds about 1.8 million syscall records.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    pub buffer_size: u32,

    /// How often the ring buffer is drained, in milliseconds (records are submitted without
    /// waking the reader, which is what makes high rates cheap).
    #[arg(long, value_name = "MS", default_value_t = 2)]
    pub drain_interval: u64,

    /// Write a `lost_events` marker into the output whenever records are lost.
    #[arg(long)]
    pub lost_markers: bool,

    /// Do not capture the environment of executed programs (`env` of sched_process_exec).
    #[arg(long)]
    pub no_env: bool,

    /// Packet bytes kept for the net_packet_* parsers.
    #[arg(long, value_name = "BYTES", default_value_t = 1024)]
    pub snaplen: u32,

    /// No summary on stderr at exit.
    #[arg(short, long)]
    pub quiet: bool,

    /// Capture artifacts, repeatable (Tracee's grammar): [artifact:]write[=/path/prefix*]
    /// (written files; up to 3 prefixes of up to 50 characters), [artifact:]exec (executed
    /// binaries), [artifact:]mem (regions that went from W+X to X), [artifact:]net=IFACE
    /// (packets of traced processes through IFACE), [artifact:]module (kernel module images),
    /// profile (runtime profile), dir:/path (default /tmp/tracee; artifacts in its out/),
    /// clear-dir, pcap:single|per-process|per-container|per-command, pcap-snaplen:default|
    /// headers|max|<N>b|<N>kb, max-size=SIZE|unlimited (budget of out/; default half the free
    /// space). Events are also written to <dir>/out/events.json. See docs/capture.md.
    #[arg(short = 'c', long = "capture", value_name = "OPTION")]
    pub capture: Vec<String>,

    /// Detections run on the event stream (osprey detect --list shows them): all, none, or a
    /// comma-separated list of IDs and names. The events they read are enabled (and not
    /// written unless selected); findings go to the same outputs as the events. Default: all.
    #[arg(long = "signatures", value_name = "all|none|LIST")]
    pub signatures: Option<String>,

    /// Also run the detection rules of this rules file (repeatable): YAML for .yaml/.yml,
    /// else TOML.
    #[arg(short = 'R', long = "rules", value_name = "FILE")]
    pub rules: Vec<std::path::PathBuf>,

    /// Capture data ring buffer size in MiB (rounded up to a power of two): what absorbs
    /// bursts of written bytes while the capture thread writes them out.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    pub capture_buffer_size: u32,

    /// Serve the tracer's counters for Prometheus on http://ADDR/metrics (events by name,
    /// lost by cause, findings, Forward delivery and spool, capture bytes, hooks attached),
    /// e.g. 127.0.0.1:9464. Refreshed every second.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,

    /// Start this command, trace it and all its descendants, and exit with its exit code.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

const AFTER_HELP: &str = "\
Examples:
  osprey trace                                   the default events of every process, as JSON
  osprey trace -e execve,openat -o table         two syscalls, as a table
  osprey trace -e fs --scope comm=bash --scope follow
  osprey trace -e net -o json:net.json -o pcapng:net.pcapng -- curl http://localhost:8080/
  osprey trace --list                            what this kernel supports
  osprey trace --capture exec --capture write=/etc/* --capture dir:/var/tmp/case1 -- ./suspect
  osprey trace --capture net=lo --capture pcap:per-process --capture profile -- make test

Needs root (or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN). SIGINT or SIGTERM stops cleanly: the
ring buffer is drained, files are completed and every BPF program is detached. A summary of
events emitted and lost goes to stderr at exit.";

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn install_signal_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction with a handler that only stores to an atomic (which is
        // async-signal-safe); sigaction is given valid pointers.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Runs `osprey trace` and returns the process exit code.
pub fn run(args: TraceArgs) -> anyhow::Result<ExitCode> {
    let status = run_status(args)?;
    Ok(ExitCode::from(status.clamp(0, 255) as u8))
}

/// Like [`run`], returning the exit status as an integer (the command's, with `-- CMD`).
pub fn run_status(args: TraceArgs) -> anyhow::Result<i32> {
    if args.list {
        list(&mut io::stdout().lock())?;
        return Ok(0);
    }
    // every --capture value is checked before anything else happens
    let capture_opts = osprey_capture::CaptureOptions::parse(&args.capture)?;
    if !osprey_bpf::have_privileges() {
        bail!("tracing needs root (or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN)");
    }
    // from here on Ctrl-C or SIGTERM stops the trace: one during the setup (loading can take a
    // second) ends it as soon as it starts, with complete outputs
    install_signal_handlers();
    STOP.store(false, Ordering::SeqCst);
    let cat = catalog();
    let words = if args.events.is_empty() {
        vec!["default".to_string()]
    } else {
        args.events.clone()
    };
    let mut selected = cat.select(&words).map_err(anyhow::Error::msg)?;
    let config = osprey_detect::Config::load(args.signatures.as_deref(), &args.rules)?;
    let detector = osprey_detect::Detector::new(&config)?;
    let mut capture_net = None;
    let mut capturer = None;
    if let Some(c) = &capture_opts {
        // the events that produce the artifacts are always in the output, beside them
        for ev in forced_events(c) {
            if !selected.iter().any(|s| s == ev) {
                selected.push(ev.to_string());
            }
        }
        if let Some(iface) = &c.net {
            capture_net = Some(
                capture::interface(iface)
                    .map_err(|e| anyhow::anyhow!("--capture net={iface}: {e}"))?,
            );
        }
        capturer = Some(
            osprey_capture::Capturer::new(c)
                .map_err(|e| anyhow::anyhow!("--capture dir:{}: {e}", c.dir.display()))?,
        );
    }
    if selected.is_empty() {
        bail!("no events selected");
    }
    // detections: the events they read are traced too, but written only when selected
    let mut hidden = vec![false; 4097];
    for ev in detector.events() {
        if let Some(def) = cat.get(ev) {
            if !selected.iter().any(|s| s == ev) {
                selected.push(ev.clone());
                if let Some(slot) = hidden.get_mut(def.id as usize) {
                    *slot = true;
                }
            }
        }
    }
    let detector = (!detector.is_empty()).then_some(detector);
    let scope = Scope::parse(&args.scope)?;
    if !args.command.is_empty() && scope.pid.is_some() {
        bail!("--scope pid= cannot be combined with a command to run");
    }
    let outputs = if args.output.is_empty() {
        vec![OutputSpec::Json]
    } else {
        args.output.clone()
    };
    let mut sinks = output::open(&outputs)?;
    if let Some(cap) = capturer.as_mut() {
        // the events go beside the artifacts, so `osprey read -r DIR` shows both
        let (f, rel) = cap
            .create_file("events.json")
            .context("--capture: creating events.json in the capture directory")?;
        let _ = rel;
        sinks.push(Box::new(output::JsonSink::new(
            io::BufWriter::with_capacity(1 << 16, f),
        )));
    }

    let mut child = if args.command.is_empty() {
        None
    } else {
        Some(
            spawn::HeldChild::spawn(&args.command)
                .with_context(|| format!("starting {}", args.command[0].to_string_lossy()))?,
        )
    };
    let capture_write = capture_opts.as_ref().is_some_and(|c| c.write);
    let function_hooks = usable_function_hooks(&selected, capture_write);
    let mut plan = Plan::new(
        &selected,
        &scope,
        &args,
        child.as_ref().map(|c| c.pid),
        &function_hooks,
    )?;
    if let Some(c) = &capture_opts {
        plan.add_capture(c, capture_net, &args, &function_hooks);
    }
    let (tracer, disabled) = plan.load()?;
    if let Some(c) = &capture_opts {
        check_capture_hooks(c, tracer.hooks())?;
    }
    let (mut integrity, integrity_off) = integrity::Checker::new(&selected);
    let is_hidden = |name: &str| {
        cat.get(name)
            .and_then(|d| hidden.get(d.id as usize))
            .copied()
            .unwrap_or(false)
    };
    // an integrity check only the detections asked for says nothing when the kernel cannot
    // give it (`--list` says why)
    let disabled: Vec<(String, String)> = disabled
        .into_iter()
        .chain(integrity_off.into_iter().filter(|(e, _)| !is_hidden(e)))
        .collect();
    for (event, why) in &disabled {
        eprintln!("osprey: {event}: disabled: {why}");
    }
    let shown: Vec<String> = selected
        .iter()
        .filter(|e| !disabled.iter().any(|(d, _)| d == *e))
        .cloned()
        .collect();
    // one userspace scope decision for the events and the artifacts
    let user_scope = Arc::new(scope::UserScope::new(scope.clone()));
    let decoder = RefCell::new(Decoder::with_scope(&shown, user_scope.clone()));
    let capture_thread = match capturer {
        Some(cap) => {
            if !args.quiet {
                eprintln!(
                    "osprey: capturing into {} (budget {})",
                    cap.out_path().display(),
                    osprey_capture::human(cap.budget().max)
                );
            }
            let maps = tracer.capture_maps()?;
            Some(
                capture::CaptureThread::start(
                    maps,
                    cap,
                    Duration::from_millis(args.drain_interval.clamp(1, 1000)),
                    user_scope.clone(),
                )
                .context("starting the capture thread")?,
            )
        }
        None => None,
    };
    if let Some(c) = child.as_mut() {
        c.release().context("releasing the traced command")?;
    }

    let state = RefCell::new(State {
        sinks,
        json: Vec::with_capacity(2048),
        counts: vec![0; 4097],
        hidden,
        detector,
        findings: Vec::new(),
        found: BTreeMap::new(),
        emitted: 0,
        first: None,
        last: None,
        wrote: false,
        error: None,
    });
    let rb = tracer.ring_buffer(|data: &[u8]| {
        let mut st = state.borrow_mut();
        decoder.borrow_mut().decode(data, |ev| st.emit(ev));
        if st.error.is_some() {
            1
        } else {
            0
        }
    })?;

    let metrics = match args.metrics {
        Some(addr) => {
            let server = metrics::Server::start(addr)
                .with_context(|| format!("--metrics {addr}: cannot listen"))?;
            if !args.quiet {
                eprintln!("osprey: metrics on http://{}/metrics", server.addr);
            }
            Some(server)
        }
        None => None,
    };
    let mut last_metrics: Option<Instant> = None;
    let live = !args.quiet && io::stderr().is_terminal();
    let drain = Duration::from_millis(args.drain_interval.clamp(1, 1000));
    let mut last_loss_check = Instant::now();
    let mut last_live = Instant::now();
    let mut lost_seen: Vec<DropCounts> = Vec::new();
    let mut exit_status = 0;
    let mut markers: Vec<Event<'static>> = Vec::new();
    let mut integrity_failed = false;
    loop {
        let drain_from = osprey_bpf::boottime_ns();
        if let Err(e) = rb.poll_and_drain(drain) {
            // EINTR from a signal: the loop checks STOP below
            if !STOP.load(Ordering::SeqCst) {
                eprintln!("osprey: {e}");
            }
        } else {
            // the capture thread's `follow` decisions wait for the forks read here
            user_scope.events_drained(drain_from);
        }
        if let Some(c) = &child {
            if let Some(status) = c.try_wait()? {
                exit_status = status;
                break;
            }
        }
        if STOP.load(Ordering::SeqCst) || state.borrow().error.is_some() {
            break;
        }
        if last_loss_check.elapsed() >= Duration::from_millis(100) {
            last_loss_check = Instant::now();
            let now = tracer.drops_per_cpu();
            if args.lost_markers {
                loss_markers(&lost_seen, &now, &mut markers);
                let mut st = state.borrow_mut();
                for m in markers.drain(..) {
                    st.emit(&m);
                }
            }
            lost_seen = now;
        }
        if let Some(checker) = integrity.as_mut() {
            if let Err(e) = checker.poll(&mut markers) {
                if !std::mem::replace(&mut integrity_failed, true) {
                    eprintln!("osprey: kernel integrity check: {e}");
                }
            }
            let mut st = state.borrow_mut();
            for m in markers.drain(..) {
                st.emit(&m);
            }
        }
        {
            let mut st = state.borrow_mut();
            if st.wrote {
                st.wrote = false;
                st.flush();
            }
        }
        if let Some(server) = &metrics {
            if last_metrics.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                last_metrics = Some(Instant::now());
                let st = state.borrow();
                server.publish(metrics::render(&metrics::Snapshot {
                    events: st
                        .counts
                        .iter()
                        .enumerate()
                        .filter(|(_, n)| **n > 0)
                        .map(|(id, n)| {
                            let name =
                                event_name(id as u32).unwrap_or_else(|| "lost_events".into());
                            (name, *n)
                        })
                        .collect(),
                    findings: Some(&st.found),
                    lost: lost_by_cause(&lost_seen),
                    bad_records: decoder.borrow().bad_records,
                    forward: st.sinks.iter().filter_map(|s| s.forward_stats()).collect(),
                    capture: capture_thread.as_ref().map(capture::CaptureThread::totals),
                    hooks: tracer.hooks().iter().map(|h| h.name()).collect(),
                }));
            }
        }
        if live && last_live.elapsed() >= Duration::from_secs(1) {
            last_live = Instant::now();
            let lost = lost_records(&lost_seen);
            eprint!(
                "\rosprey: {} events, {} lost ",
                state.borrow().emitted,
                lost
            );
        }
    }
    // Final drain: whatever was submitted before we stopped is still delivered.
    let _ = rb.drain();
    user_scope.events_done();
    let final_drops = tracer.drops_per_cpu();
    if args.lost_markers {
        loss_markers(&lost_seen, &final_drops, &mut markers);
        let mut st = state.borrow_mut();
        for m in markers.drain(..) {
            st.emit(&m);
        }
    }
    let lost_by_event = tracer.lost_by_event();
    let skipped = tracer.skipped_runs();
    drop(rb);
    drop(tracer); // detaches every program
                  // nothing new can arrive: the capture thread drains the rest, completes every artifact
    let capture_outcome = capture_thread.map(capture::CaptureThread::finish);
    let mut st = state.into_inner();
    st.flush();
    st.sinks.clear();
    if live {
        eprintln!();
    }
    if !args.quiet {
        summary(
            &st,
            decoder.borrow().bad_records,
            &final_drops,
            &lost_by_event,
            &skipped,
        );
    }
    if let Some(o) = &capture_outcome {
        capture_summary(o, args.quiet);
    }
    if let Some(e) = st.error {
        if e.kind() != io::ErrorKind::BrokenPipe {
            return Err(e).context("writing events");
        }
    }
    Ok(exit_status)
}

struct State {
    sinks: Vec<Box<dyn Sink>>,
    json: Vec<u8>,
    /// Events emitted per event ID (`lost_events` in the last slot).
    counts: Vec<u64>,
    /// Events traced only for the detections, by event ID: not written.
    hidden: Vec<bool>,
    detector: Option<osprey_detect::Detector>,
    findings: Vec<Event<'static>>,
    /// Findings written, per signature.
    found: BTreeMap<String, u64>,
    emitted: u64,
    /// When the first and the last event were written (delivery rate in the summary).
    first: Option<Instant>,
    last: Option<Instant>,
    wrote: bool,
    error: Option<io::Error>,
}

impl State {
    fn flush(&mut self) {
        for s in self.sinks.iter_mut() {
            if let Err(e) = s.flush() {
                self.error.get_or_insert(e);
            }
        }
    }

    fn emit(&mut self, ev: &Event<'_>) {
        if let Some(d) = self.detector.as_mut() {
            self.findings = d.on_event(ev);
        }
        let hidden = usize::try_from(ev.event_id)
            .ok()
            .and_then(|i| self.hidden.get(i))
            .copied()
            .unwrap_or(false);
        if !hidden {
            self.write(ev);
        }
        for f in std::mem::take(&mut self.findings) {
            self.write(&f);
        }
    }

    fn write(&mut self, ev: &Event<'_>) {
        if self.error.is_some() {
            return;
        }
        self.json.clear();
        ev.write_legacy_json(&mut self.json);
        for s in self.sinks.iter_mut() {
            if let Err(e) = s.event(ev, &self.json) {
                self.error = Some(e);
                return;
            }
        }
        self.emitted += 1;
        self.wrote = true;
        if self.emitted & 0xff == 1 {
            let now = Instant::now();
            self.first.get_or_insert(now);
            self.last = Some(now);
        }
        if ev.metadata.is_some() {
            *self.found.entry(ev.event_name.to_string()).or_default() += 1;
            return;
        }
        let slot = usize::try_from(ev.event_id)
            .unwrap_or(usize::MAX)
            .min(self.counts.len() - 1);
        self.counts[slot] += 1;
    }
}

type DropCounts = [u64; osprey_bpf::DROP_CAUSES.len()];

/// Records lost in the kernel, all CPUs and causes.
fn lost_records(drops: &[DropCounts]) -> u64 {
    drops
        .iter()
        .flat_map(|c| c.iter().enumerate())
        .filter(|(cause, _)| osprey_bpf::drop_cause_is_loss(*cause))
        .map(|(_, n)| n)
        .sum()
}

/// Kernel-side drops per cause, summed over CPUs, each with whether it costs a whole event.
fn lost_by_cause(drops: &[DropCounts]) -> Vec<(&'static str, bool, u64)> {
    osprey_bpf::DROP_CAUSES
        .iter()
        .enumerate()
        .map(|(cause, name)| {
            let n = drops.iter().map(|c| c[cause]).sum();
            (*name, osprey_bpf::drop_cause_is_loss(cause), n)
        })
        .collect()
}

fn loss_markers(before: &[DropCounts], now: &[DropCounts], out: &mut Vec<Event<'static>>) {
    let ts = osprey_bpf::realtime_ns();
    for (cpu, counts) in now.iter().enumerate() {
        for (cause, &n) in counts.iter().enumerate() {
            if !osprey_bpf::drop_cause_is_loss(cause) {
                continue; // only records actually lost; the others are degraded, not lost
            }
            let prev = before.get(cpu).map(|c| c[cause]).unwrap_or(0);
            if n > prev {
                out.push(decode::lost_marker(
                    ts,
                    osprey_bpf::DROP_CAUSES[cause],
                    cpu,
                    n - prev,
                ));
            }
        }
    }
}

/// Events a capture option needs in the output: the ones its artifacts are linked to.
fn forced_events(c: &osprey_capture::CaptureOptions) -> Vec<&'static str> {
    let mut v = Vec::new();
    if c.exec || c.profile {
        v.push("sched_process_exec");
    }
    if c.mem {
        v.push("mem_prot_alert");
    }
    if c.module {
        v.push("init_module");
        v.push("finit_module");
    }
    v
}

fn check_capture_hooks(c: &osprey_capture::CaptureOptions, hooks: &[Hook]) -> anyhow::Result<()> {
    let syscalls = hooks.contains(&Hook::TpBtfSyscalls) || hooks.contains(&Hook::RawSyscalls);
    let mut missing = Vec::new();
    if (c.write || c.mem || c.module) && !syscalls {
        missing.push("write/mem/module need the sys_enter/sys_exit programs");
    }
    if (c.exec || c.profile) && !hooks.contains(&Hook::SchedExec) {
        missing.push("exec/profile need tp_btf/sched_process_exec");
    }
    if c.net.is_some() && !(hooks.contains(&Hook::CgroupSkb) && hooks.contains(&Hook::CgroupSock)) {
        missing.push("net= needs cgroup_skb and the cgroup socket hooks (cgroup v2)");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        bail!(
            "--capture cannot run on this kernel: {}",
            missing.join("; ")
        )
    }
}

fn capture_summary(o: &capture::CaptureOutcome, quiet: bool) {
    let s = &o.summary;
    let mut err = io::stderr().lock();
    if let Some(e) = &o.error {
        let _ = writeln!(err, "osprey: capture: {e}");
    }
    if quiet && s.lost_bytes == 0 && !s.budget_hit && s.errors == 0 {
        return;
    }
    let _ = writeln!(
        err,
        "osprey: capture: {} artifacts in {} ({} written files, {} binaries from {} executions, {} memory regions, {} module images, {} packets), {} written",
        s.artifacts,
        s.out_dir,
        s.written_files,
        s.binaries,
        s.executions,
        s.regions,
        s.modules,
        s.packets,
        osprey_capture::human(s.bytes)
    );
    // the kernel counts the losses of every process it sends; with a scope partly decided
    // here, only the capturer's (of artifacts in scope) are ours
    let kernel_lost = if o.user_scope { 0 } else { o.kernel.lost_bytes };
    if s.lost_bytes > 0 || kernel_lost > 0 {
        let _ = writeln!(
            err,
            "  lost: {} ({} artifacts incomplete; ranges in artifacts.jsonl)",
            osprey_capture::human(s.lost_bytes.max(kernel_lost)),
            s.incomplete
        );
    }
    if o.out_of_scope > 0 {
        let _ = writeln!(
            err,
            "  {} capture records of processes out of --scope not kept",
            o.out_of_scope
        );
    }
    if o.kernel.lost_unsent > 0 {
        let _ = writeln!(
            err,
            "  {} loss reports kept by span only (the control ring was full)",
            o.kernel.lost_unsent
        );
    }
    if s.budget_hit {
        let _ = writeln!(err, "  the size budget stopped capture before the end");
    }
    if s.errors > 0 {
        let _ = writeln!(err, "  {} errors writing artifacts", s.errors);
    }
    if o.bad_records > 0 {
        let _ = writeln!(err, "  undecodable capture records: {}", o.bad_records);
    }
}

fn summary(
    st: &State,
    bad_records: u64,
    drops: &[DropCounts],
    lost_by_event: &[(u32, u64)],
    skipped: &[osprey_bpf::SkippedRuns],
) {
    let lost = lost_records(drops);
    // calls no copy of a program ran: an upper bound (out-of-scope tasks' calls count too)
    let maybe_lost: u64 = skipped.iter().map(|s| s.lost).sum();
    let mut err = io::stderr().lock();
    let _ = if maybe_lost > 0 {
        writeln!(
            err,
            "osprey: {} events emitted, {lost} lost, at most {maybe_lost} more (runs the kernel \
             skipped)",
            st.emitted
        )
    } else {
        writeln!(err, "osprey: {} events emitted, {lost} lost", st.emitted)
    };
    if let (Some(first), Some(last)) = (st.first, st.last) {
        let secs = last.duration_since(first).as_secs_f64();
        if secs > 0.01 {
            let _ = writeln!(
                err,
                "  delivered over {secs:.3} s: {:.0} events/s",
                st.emitted as f64 / secs
            );
        }
    }
    for (id, n) in st.counts.iter().enumerate().filter(|(_, n)| **n > 0) {
        let name = event_name(id as u32).unwrap_or_else(|| "lost_events".to_string());
        let _ = writeln!(err, "  {name:<28} {n}");
    }
    for (name, n) in &st.found {
        let _ = writeln!(err, "  finding {name:<20} {n}");
    }
    for (cause, name) in osprey_bpf::DROP_CAUSES.iter().enumerate() {
        let per_cpu: Vec<String> = drops
            .iter()
            .enumerate()
            .filter(|(_, c)| c[cause] > 0)
            .map(|(cpu, c)| format!("cpu{cpu}={}", c[cause]))
            .collect();
        if !per_cpu.is_empty() {
            let what = if osprey_bpf::drop_cause_is_loss(cause) {
                "lost"
            } else {
                "degraded"
            };
            let _ = writeln!(err, "  {what} ({name}): {}", per_cpu.join(" "));
        }
    }
    for (id, n) in lost_by_event {
        let name = event_name(*id).unwrap_or_else(|| format!("event {id}"));
        let _ = writeln!(err, "  lost {name}: {n}");
    }
    for s in skipped.iter().filter(|s| s.runs > 0) {
        let (program, n, lost) = (s.program, s.runs, s.lost);
        let _ = if lost == 0 {
            writeln!(
                err,
                "  skipped by the kernel, another copy ran instead: {program} {n} times"
            )
        } else {
            writeln!(
                err,
                "  possibly lost (the kernel skipped {program} {n} times: another task was \
                 preempted inside it on that CPU): at most {lost} events, the calls no copy ran \
                 (some may have been out of scope)"
            )
        };
    }
    if bad_records > 0 {
        let _ = writeln!(err, "  undecodable records: {bad_records}");
    }
}

/// The name of an event by ID: non-syscall events first (their IDs are above every syscall
/// number), then syscalls.
fn event_name(id: u32) -> Option<String> {
    catalog()
        .events()
        .iter()
        .find(|e| e.id == id as i64 && !matches!(e.source, Source::Syscall { .. }))
        .map(|e| e.name.clone())
        .or_else(|| catalog::syscall_name(id).map(str::to_string))
}

/// The hooks on kernel functions (fentry, kprobe) that the selected events (and `--capture
/// write`) could use beside or instead of a syscall's exit, and that load on this kernel.
fn usable_function_hooks(selected: &[String], capture_write: bool) -> Vec<Hook> {
    let cat = catalog();
    let mut candidates: Vec<Hook> = selected
        .iter()
        .filter_map(|n| cat.get(n))
        .flat_map(|ev| match &ev.source {
            Source::Derived { derive, .. } if *derive == DV_UNLINK => {
                // the hooks on the kernel function (the rest are tracepoints)
                catalog::UNLINK_INODE_HOOKS[..2].to_vec()
            }
            Source::Derived { .. } if ev.is_socket_event() => catalog::URING_SOCKET_HOOKS.to_vec(),
            Source::Derived { better, .. } => better.to_vec(),
            _ => Vec::new(),
        })
        .collect();
    if capture_write {
        candidates.extend(catalog::URING_WRITE_HOOKS);
    }
    if candidates.is_empty() || !osprey_bpf::have_privileges() {
        return Vec::new();
    }
    osprey_bpf::probe_hooks(&candidates)
}

/// What to load for a run.
struct Plan {
    opts: LoadOptions,
    /// Selected events with the hooks they need.
    wanted: Vec<&'static EventDef>,
}

impl Plan {
    /// `function_hooks`: hooks on kernel functions known to load here, used instead of a
    /// derivation at syscall exit where an event has one ([`Source::Derived`]'s `better`).
    fn new(
        selected: &[String],
        scope: &Scope,
        args: &TraceArgs,
        child: Option<u32>,
        function_hooks: &[Hook],
    ) -> anyhow::Result<Plan> {
        let cat = catalog();
        let wanted: Vec<&'static EventDef> = selected.iter().filter_map(|n| cat.get(n)).collect();
        let mut cfgs: BTreeMap<u32, SysCfg> = BTreeMap::new();
        let mut hooks: Vec<Hook> = Vec::new();
        let (mut exec, mut fork, mut exit, mut packets, mut unlink) =
            (false, false, false, false, false);
        for ev in &wanted {
            match &ev.source {
                Source::Syscall { nr, at_enter } => {
                    let cfg = cfgs.entry(*nr).or_default();
                    cfg.emit |= if *at_enter { EMIT_ENTER } else { EMIT_EXIT };
                    for (i, a) in ev.args.iter().enumerate().take(6) {
                        let next = ev.args.get(i + 1).map(|n| n.ty.as_str());
                        cfg.kind[i] = syscall_arg_kind(&a.name, &a.ty, next);
                    }
                }
                Source::Derived { better, .. }
                    if better.iter().any(|h| function_hooks.contains(h)) =>
                {
                    let best = better.iter().find(|h| function_hooks.contains(h));
                    hooks.extend(best);
                }
                Source::Derived {
                    derive,
                    syscalls,
                    stash_enter,
                    ..
                } => {
                    for nr in *syscalls {
                        let cfg = cfgs.entry(*nr).or_default();
                        cfg.derive |= derive;
                        if *stash_enter
                            && matches!(*nr, catalog::nr::MPROTECT | catalog::nr::PKEY_MPROTECT)
                        {
                            cfg.emit |= STASH_ENTER;
                        }
                    }
                    if *derive == DV_UNLINK {
                        unlink = true;
                    }
                }
                Source::Sched(Hook::SchedExec) => exec = true,
                Source::Sched(Hook::SchedFork) => fork = true,
                Source::Sched(_) => exit = true,
                Source::Packet => packets = true,
                Source::Integrity => {} // checked by the tracer itself (integrity.rs)
            }
        }
        let follow = scope.follow || child.is_some();
        let (pid_mode, mut scope_pids) = match (&scope.pid, child) {
            (_, Some(pid)) => (PidMode::Only, vec![(pid, SCOPE_IN | SCOPE_PENDING_EXEC)]),
            (Some(f), None) => (
                if f.keep {
                    PidMode::Only
                } else {
                    PidMode::Except
                },
                f.values.iter().map(|p| (*p, SCOPE_IN)).collect(),
            ),
            (None, None) => (PidMode::Any, Vec::new()),
        };
        scope_pids.dedup();
        if child.is_some() {
            // the held child becomes visible at its execve's sys_enter
            for nr in [catalog::nr::EXECVE, catalog::nr::EXECVEAT] {
                cfgs.entry(nr).or_default().emit |= STASH_ENTER;
            }
        }
        if exec && !cfgs.is_empty() {
            // the syscall hooks are attached anyway: the execve's entry keeps the comm, for
            // sched_process_exec's prev_comm when task_rename's entry is missing
            for nr in [catalog::nr::EXECVE, catalog::nr::EXECVEAT] {
                cfgs.entry(nr).or_default().emit |= STASH_ENTER;
            }
        }
        if !cfgs.is_empty() {
            hooks.push(Hook::TpBtfSyscalls);
        }
        // fork tracking is needed to follow descendants, in the kernel or here
        let track_forks =
            fork || (follow && (pid_mode == PidMode::Only || scope.has_user_filters()));
        if exec {
            hooks.push(Hook::SchedExec);
        }
        if track_forks {
            hooks.push(Hook::SchedFork);
        }
        if exit || follow {
            hooks.push(Hook::SchedExit);
        }
        if unlink {
            // on a kernel function where one loads, else ext4's tracepoint (its raw form is
            // the fallback of load())
            let inode_hook = catalog::UNLINK_INODE_HOOKS
                .into_iter()
                .find(|h| function_hooks.contains(h));
            hooks.push(inode_hook.unwrap_or(Hook::Ext4Unlink));
        }
        if wanted.iter().any(|ev| ev.is_socket_event()) {
            // io_uring's calls, where a hook on the LSM functions loads
            hooks.extend(
                catalog::URING_SOCKET_HOOKS
                    .into_iter()
                    .find(|h| function_hooks.contains(h)),
            );
        }
        if packets {
            hooks.push(Hook::CgroupSkb);
            hooks.push(Hook::CgroupSock);
        }
        let ring_bytes = (args.buffer_size.clamp(1, 1024) as u64 * 1024 * 1024)
            .next_power_of_two()
            .min(1 << 30) as u32;
        let opts = LoadOptions {
            self_tgid: std::process::id(),
            pid_mode,
            scope_pids,
            follow: follow && pid_mode == PidMode::Only,
            new_after: scope.new.then(osprey_bpf::boottime_ns),
            uids: scope.uid.as_ref().map(|f| (f.keep, f.values.clone())),
            hooks,
            exec,
            // userspace follow needs fork records even when they are not shown
            fork: fork || (follow && scope.has_user_filters()),
            exit: exit || (follow && scope.has_user_filters()),
            packets,
            exec_env: !args.no_env,
            snaplen: args.snaplen,
            ring_bytes,
            // wake the reader early only when half the buffer is pending
            wakeup_bytes: ring_bytes as u64 / 2,
            sys_cfgs: cfgs.into_iter().collect(),
            cgroup_root: None,
            capture: None,
            features: None,
        };
        Ok(Plan { opts, wanted })
    }

    /// Routes the syscalls and hooks `--capture` needs to the kernel's capture code.
    /// `function_hooks` as for [`Plan::new`]: io_uring's writes are captured where one of
    /// [`catalog::URING_WRITE_HOOKS`] loads.
    fn add_capture(
        &mut self,
        c: &osprey_capture::CaptureOptions,
        net: Option<(u32, u64)>,
        args: &TraceArgs,
        function_hooks: &[Hook],
    ) {
        let mut cfgs: BTreeMap<u32, SysCfg> = self.opts.sys_cfgs.iter().copied().collect();
        let mut add = |nrs: &[u32], derive: u16, stash: bool| {
            for nr in nrs {
                let cfg = cfgs.entry(*nr).or_default();
                cfg.derive |= derive;
                if stash {
                    cfg.emit |= STASH_ENTER;
                }
            }
        };
        use catalog::nr;
        if c.write {
            add(
                &[
                    nr::WRITE,
                    nr::PWRITE64,
                    nr::WRITEV,
                    nr::PWRITEV,
                    nr::PWRITEV2,
                    nr::SENDFILE,
                    nr::SPLICE,
                    nr::COPY_FILE_RANGE,
                ],
                DV_CAP_WRITE,
                false,
            );
            add(
                &[nr::OPEN, nr::OPENAT, nr::OPENAT2, nr::CREAT, nr::FTRUNCATE],
                DV_CAP_WRITE,
                false,
            );
        }
        if c.mem {
            add(&[nr::MPROTECT, nr::PKEY_MPROTECT], DV_CAP_MEM, true);
        }
        if c.module {
            add(&[nr::INIT_MODULE, nr::FINIT_MODULE], DV_CAP_MODULE, true);
        }
        self.opts.sys_cfgs = cfgs.into_iter().collect();
        let mut need = |h: Hook| {
            if !self.opts.hooks.contains(&h) {
                self.opts.hooks.push(h);
            }
        };
        if c.write || c.mem || c.module {
            need(Hook::TpBtfSyscalls);
        }
        if c.write {
            let uring = catalog::URING_WRITE_HOOKS
                .into_iter()
                .find(|h| function_hooks.contains(h));
            if let Some(h) = uring {
                need(h);
            }
        }
        if c.exec || c.profile {
            need(Hook::SchedExec);
        }
        if net.is_some() {
            need(Hook::CgroupSkb);
            need(Hook::CgroupSock);
        }
        let ring_bytes = (args.capture_buffer_size.clamp(1, 1024) as u64 * 1024 * 1024)
            .next_power_of_two()
            .min(1 << 30) as u32;
        self.opts.capture = Some(osprey_bpf::CaptureLoad {
            write: c.write,
            filters: c
                .write_filters
                .iter()
                .map(|f| f.as_bytes().to_vec())
                .collect(),
            exec: c.exec || c.profile,
            mem: c.mem,
            module: c.module,
            net_ifindex: net.map(|n| n.0),
            net_netns: net.map(|n| n.1).unwrap_or(0),
            snap: c.snaplen.kernel_bytes(),
            ring_bytes,
        });
    }

    /// Loads the plan; when something does not load, probes, drops what this kernel cannot do
    /// (saying which events that disables and why) and tries again.
    fn load(mut self) -> anyhow::Result<(Tracer, Vec<(String, String)>)> {
        let first = match Tracer::load(&self.opts) {
            Ok(t) => return Ok((t, Vec::new())),
            Err(e) => e,
        };
        let report = osprey_bpf::probe();
        let mut disabled: Vec<(String, String)> = Vec::new();
        let mut hooks: Vec<Hook> = Vec::new();
        // the raw tracepoints stand in for BTF ones a kernel refuses (no module BTF on 5.10)
        let fallbacks = [
            (Hook::TpBtfSyscalls, Hook::RawSyscalls),
            (Hook::Ext4Unlink, Hook::Ext4UnlinkRaw),
        ];
        for &h in &self.opts.hooks {
            let h = match fallbacks.iter().find(|(best, _)| *best == h) {
                Some(&(best, raw)) if !report.ok(best) && report.ok(raw) => raw,
                _ => h,
            };
            if report.ok(h) {
                hooks.push(h);
            }
        }
        // cgroup programs may load but fail to attach (no cgroup v2 mounted): drop them too
        let cgroup_failed = match &first {
            osprey_bpf::Error::Attach { program, .. } => program.starts_with("cg_"),
            osprey_bpf::Error::Io { what, .. } => what.contains("cgroup"),
            _ => false,
        };
        if cgroup_failed {
            hooks.retain(|h| !matches!(h, Hook::CgroupSkb | Hook::CgroupSock));
        }
        for ev in self.wanted.iter().filter(|ev| !ev.hooks().is_empty()) {
            let needs = ev.hooks();
            let ok = if ev.needs_all() {
                needs.iter().all(|h| hooks.contains(h))
            } else {
                needs.iter().any(|h| hooks.contains(h))
            };
            if !ok {
                let why = needs
                    .iter()
                    .find_map(|h| {
                        report
                            .why_not(*h)
                            .map(|w| format!("{h}: {}", first_line(w)))
                    })
                    .unwrap_or_else(|| format!("{first}"));
                disabled.push((ev.name.clone(), why));
            }
        }
        if hooks.is_empty() || disabled.len() == self.wanted.len() {
            return Err(
                anyhow::Error::new(first).context("no selected event can be traced on this kernel")
            );
        }
        self.opts.hooks = hooks;
        let tracer = Tracer::load(&self.opts).context("loading the BPF programs")?;
        Ok((tracer, disabled))
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// Writes the `--list` table: every event, whether it is available here, through which hook,
/// or why not.
pub fn list(out: &mut dyn Write) -> anyhow::Result<()> {
    let report: Option<ProbeReport> = osprey_bpf::have_privileges().then(osprey_bpf::probe);
    if report.is_none() {
        writeln!(
            out,
            "# not running as root: hooks cannot be probed, availability unknown"
        )?;
    }
    if let Some(features) = report.as_ref().and_then(|r| r.features) {
        writeln!(out, "# kernel features ({features}):")?;
        for (name, ok, fallback) in features.describe() {
            if ok {
                writeln!(out, "#   {name:<40} yes")?;
            } else {
                writeln!(out, "#   {name:<40} no: {fallback}")?;
            }
        }
    }
    if let Some(r) = &report {
        writeln!(out, "# hooks on this kernel:")?;
        for (h, res) in &r.hooks {
            match res {
                Ok(()) => writeln!(out, "#   {:<40} loads", h.name())?,
                Err(why) => writeln!(out, "#   {:<40} unavailable: {}", h.name(), first_line(why))?,
            }
        }
    }
    writeln!(
        out,
        "{:<28} {:>5}  {:<34} {:<9} HOOK / WHY NOT",
        "EVENT", "ID", "SETS", "AVAILABLE"
    )?;
    for ev in catalog().events() {
        let sets = ev.sets.join(",");
        let (avail, detail) = match &report {
            Some(_) if ev.source == Source::Integrity => match integrity::describe(&ev.name) {
                (true, how) => ("yes", how),
                (false, why) => ("no", why),
            },
            None if ev.hooks().is_empty() => ("?", ev.hook_detail(Hook::TpBtfSyscalls, |_| true)),
            None => ("?", ev.hook_detail(ev.hooks()[0], |_| true)),
            Some(r) => {
                let needs = ev.hooks();
                let ok: Vec<Hook> = needs.iter().copied().filter(|h| r.ok(*h)).collect();
                let usable = if ev.needs_all() {
                    ok.len() == needs.len()
                } else {
                    !ok.is_empty()
                };
                if usable {
                    ("yes", ev.hook_detail(ok[0], |h| r.ok(h)))
                } else {
                    let why = needs
                        .iter()
                        .filter_map(|h| r.why_not(*h).map(|w| format!("{h}: {}", first_line(w))))
                        .collect::<Vec<_>>()
                        .join("; ");
                    ("no", why)
                }
            }
        };
        writeln!(
            out,
            "{:<28} {:>5}  {:<34} {:<9} {}",
            ev.name, ev.id, sets, avail, detail
        )?;
    }
    let mut seen = HashSet::new();
    let sets: Vec<&str> = catalog()
        .events()
        .iter()
        .flat_map(|e| e.sets.iter().copied())
        .filter(|s| seen.insert(*s))
        .collect();
    writeln!(out, "# sets: {}", sets.join(", "))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        trace: TraceArgs,
    }

    fn plan(args: &[&str]) -> Plan {
        plan_with(args, &[])
    }

    /// The plan's hooks that are in `group` (one event's alternatives).
    fn hooks_among(p: &Plan, group: &[Hook]) -> Vec<Hook> {
        p.opts
            .hooks
            .iter()
            .copied()
            .filter(|h| group.contains(h))
            .collect()
    }

    fn plan_with(args: &[&str], function_hooks: &[Hook]) -> Plan {
        let cli = Cli::try_parse_from(std::iter::once("t").chain(args.iter().copied())).unwrap();
        let a = cli.trace;
        let words = if a.events.is_empty() {
            vec!["default".into()]
        } else {
            a.events.clone()
        };
        let sel = catalog().select(&words).unwrap();
        let scope = Scope::parse(&a.scope).unwrap();
        let child = (!a.command.is_empty()).then_some(4242);
        Plan::new(&sel, &scope, &a, child, function_hooks).unwrap()
    }

    #[test]
    fn plan_maps_events_to_syscall_config_and_hooks() {
        let p = plan(&["-e", "openat,security_file_open,sched_process_exec"]);
        let cfg = p.opts.sys_cfgs.iter().find(|(nr, _)| *nr == 257).unwrap().1;
        assert_eq!(cfg.emit & EMIT_EXIT, EMIT_EXIT);
        assert_eq!(cfg.derive & DV_FILE_OPEN, DV_FILE_OPEN);
        assert_eq!(cfg.kind[1], SK_STR);
        assert_eq!(cfg.kind[0], SK_INT);
        assert!(p.opts.hooks.contains(&Hook::TpBtfSyscalls));
        assert!(p.opts.hooks.contains(&Hook::SchedExec));
        assert!(!p.opts.hooks.contains(&Hook::CgroupSkb));
        assert!(p.opts.exec);
    }

    #[test]
    fn security_file_open_takes_the_best_function_hook_that_loads() {
        let loads = [Hook::FileOpenKprobe, Hook::FileOpenFentry];
        let p = plan_with(&["-e", "openat,security_file_open"], &loads);
        assert!(p.opts.hooks.contains(&Hook::FileOpenFentry));
        assert!(!p.opts.hooks.contains(&Hook::FileOpenKprobe));
        let cfg = p.opts.sys_cfgs.iter().find(|(nr, _)| *nr == 257).unwrap().1;
        assert_eq!(cfg.derive & DV_FILE_OPEN, 0, "derived as well as hooked");
        let p = plan_with(&["-e", "security_file_open"], &[Hook::FileOpenKprobe]);
        assert!(p.opts.hooks.contains(&Hook::FileOpenKprobe));
        assert!(!p.opts.hooks.contains(&Hook::TpBtfSyscalls));
    }

    #[test]
    fn security_inode_unlink_takes_its_inode_from_the_best_hook_that_loads() {
        let ev = ["-e", "security_inode_unlink"];
        let inode_hooks = |p: &Plan| hooks_among(p, &catalog::UNLINK_INODE_HOOKS);
        let p = plan_with(&ev, &[Hook::UnlinkKprobe, Hook::UnlinkFentry]);
        assert_eq!(inode_hooks(&p), [Hook::UnlinkFentry]);
        let p = plan_with(&ev, &[Hook::UnlinkKprobe]);
        assert_eq!(inode_hooks(&p), [Hook::UnlinkKprobe]);
        let p = plan_with(&ev, &[]);
        assert_eq!(inode_hooks(&p), [Hook::Ext4Unlink]);
        // the event itself is derived at the syscalls' exit whatever the inode's hook
        let cfg = p.opts.sys_cfgs.iter().find(|(nr, _)| *nr == 263).unwrap().1;
        assert_eq!(cfg.derive & DV_UNLINK, DV_UNLINK);
    }

    #[test]
    fn command_mode_scopes_to_the_child_and_follows() {
        let p = plan(&["-e", "execve", "--", "true"]);
        assert_eq!(p.opts.pid_mode, PidMode::Only);
        assert_eq!(
            p.opts.scope_pids,
            vec![(4242, SCOPE_IN | SCOPE_PENDING_EXEC)]
        );
        assert!(p.opts.follow);
        assert!(p.opts.hooks.contains(&Hook::SchedFork));
        let execve = p.opts.sys_cfgs.iter().find(|(nr, _)| *nr == 59).unwrap().1;
        assert_eq!(execve.emit, EMIT_ENTER | STASH_ENTER);
        assert_eq!(execve.kind[1], SK_STRARR);
    }

    #[test]
    fn io_uring_socket_calls_take_the_best_lsm_function_hook_that_loads() {
        let ev = ["-e", "security_socket_connect"];
        let socket_hooks = |p: &Plan| hooks_among(p, &catalog::URING_SOCKET_HOOKS);
        let p = plan_with(&ev, &[Hook::SocketKprobe, Hook::SocketFentry]);
        assert_eq!(socket_hooks(&p), [Hook::SocketFentry]);
        let p = plan_with(&ev, &[Hook::SocketKprobe]);
        assert_eq!(socket_hooks(&p), [Hook::SocketKprobe]);
        // the syscalls' own calls are derived at their exit whatever loads
        let p = plan_with(&ev, &[]);
        assert!(socket_hooks(&p).is_empty());
        let cfg = p.opts.sys_cfgs.iter().find(|(nr, _)| *nr == 42).unwrap().1;
        assert_eq!(cfg.derive & DV_CONNECT, DV_CONNECT);
        let p = plan_with(&["-e", "openat"], &[Hook::SocketFentry]);
        assert!(socket_hooks(&p).is_empty());
    }

    #[test]
    fn exec_keeps_the_comm_at_execve_entry_only_where_syscall_hooks_run_anyway() {
        let p = plan(&["-e", "sched_process_exec,openat"]);
        for nr in [59, 322] {
            let cfg = p.opts.sys_cfgs.iter().find(|(n, _)| *n == nr).unwrap().1;
            assert_eq!(cfg.emit, STASH_ENTER, "syscall {nr}");
        }
        let p = plan(&["-e", "sched_process_exec"]);
        assert!(p.opts.sys_cfgs.is_empty());
        assert!(!p.opts.hooks.contains(&Hook::TpBtfSyscalls));
    }

    #[test]
    fn mprotect_events_stash_at_enter_and_net_loads_cgroup_hooks() {
        let p = plan(&["-e", "mem_prot_alert,net_packet_dns_request"]);
        let mp = p.opts.sys_cfgs.iter().find(|(nr, _)| *nr == 10).unwrap().1;
        assert_eq!(mp.emit & STASH_ENTER, STASH_ENTER);
        assert!(
            p.opts.hooks.contains(&Hook::CgroupSkb) && p.opts.hooks.contains(&Hook::CgroupSock)
        );
        assert!(p.opts.packets);
    }

    #[test]
    fn loss_markers_report_new_ring_buffer_losses_per_cpu() {
        let mut out = Vec::new();
        loss_markers(&[], &[[0, 3, 0, 0, 0, 0], [5, 0, 0, 0, 0, 0]], &mut out);
        assert_eq!(out.len(), 1, "degraded records are not losses");
        assert_eq!(out[0].processor_id, 1);
        assert_eq!(out[0].arg("lost").unwrap().value.as_i64(), Some(5));
        out.clear();
        loss_markers(
            &[[0; 6], [5, 0, 0, 0, 0, 0]],
            &[[2, 0, 0, 0, 0, 0], [5, 0, 0, 0, 0, 0]],
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].processor_id, 0);
        assert_eq!(out[0].arg("lost").unwrap().value.as_i64(), Some(2));
        let mut preempted = Vec::new();
        loss_markers(&[], &[[0, 0, 0, 0, 0, 4]], &mut preempted);
        assert_eq!(
            preempted.len(),
            1,
            "a record another task overwrote is lost"
        );
        assert_eq!(preempted[0].arg("lost").unwrap().value.as_i64(), Some(4));
        let mut json = Vec::new();
        out[0].write_legacy_json(&mut json);
        assert_eq!(
            osprey_event::parse_event(&json).unwrap().event_name,
            "lost_events"
        );
    }

    #[test]
    fn buffer_size_is_a_power_of_two() {
        let p = plan(&["--buffer-size", "3"]);
        assert_eq!(p.opts.ring_bytes, 4 << 20);
        assert_eq!(plan(&[]).opts.ring_bytes, 256 << 20);
    }

    #[test]
    fn capture_routes_syscalls_and_hooks() {
        let mut p = plan(&["-e", "execve"]);
        let args = Cli::try_parse_from(["t"]).unwrap().trace;
        let c = osprey_capture::CaptureOptions::parse(&[
            "write=/etc/*",
            "mem",
            "module",
            "exec",
            "net=lo",
        ])
        .unwrap()
        .unwrap();
        p.add_capture(&c, Some((1, 7)), &args, &[]);
        let cfg = |n: u32| p.opts.sys_cfgs.iter().find(|(nr, _)| *nr == n).unwrap().1;
        assert_eq!(cfg(1).derive & DV_CAP_WRITE, DV_CAP_WRITE);
        assert_eq!(cfg(77).derive & DV_CAP_WRITE, DV_CAP_WRITE, "ftruncate");
        assert_eq!(cfg(10).emit & STASH_ENTER, STASH_ENTER);
        assert_eq!(cfg(313).derive & DV_CAP_MODULE, DV_CAP_MODULE);
        assert_eq!(cfg(175).emit & STASH_ENTER, STASH_ENTER);
        assert!(p.opts.hooks.contains(&Hook::SchedExec));
        assert!(p.opts.hooks.contains(&Hook::CgroupSkb));
        let cl = p.opts.capture.as_ref().unwrap();
        assert_eq!(cl.filters, vec![b"/etc/".to_vec()]);
        assert_eq!(cl.net_ifindex, Some(1));
        assert_eq!(cl.ring_bytes, 256 << 20);
        assert_eq!(
            forced_events(&c),
            vec![
                "sched_process_exec",
                "mem_prot_alert",
                "init_module",
                "finit_module"
            ]
        );
    }

    #[test]
    fn capture_of_io_uring_writes_takes_the_best_hook_that_loads() {
        let args = Cli::try_parse_from(["t"]).unwrap().trace;
        let uring = |capture: &str, loads: &[Hook]| -> Vec<Hook> {
            let mut p = plan(&["-e", "execve"]);
            let c = osprey_capture::CaptureOptions::parse(&[capture.to_string()])
                .unwrap()
                .unwrap();
            p.add_capture(&c, None, &args, loads);
            hooks_among(&p, &catalog::URING_WRITE_HOOKS)
        };
        let both = [Hook::UringWriteKprobe, Hook::UringWriteFentry];
        assert_eq!(uring("write", &both), [Hook::UringWriteFentry]);
        assert_eq!(
            uring("write", &[Hook::UringWriteKprobe]),
            [Hook::UringWriteKprobe]
        );
        assert!(uring("write", &[]).is_empty());
        assert!(uring("exec", &both).is_empty());
    }

    #[test]
    fn invalid_capture_options_fail_before_tracing() {
        let cli =
            Cli::try_parse_from(["t", "--capture", "write=/a*", "--capture", "bogus"]).unwrap();
        let e = run_status(cli.trace).unwrap_err().to_string();
        assert!(e.contains("--capture bogus"), "{e}");
    }

    #[test]
    fn help_reads_like_a_tool() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("--events"));
        assert!(help.contains("--scope"));
        assert!(help.contains("Examples:"));
    }
}
