//! `osprey extcap`: the Wireshark extcap interface, so that Wireshark and tshark capture live
//! Tracee events through Osprey (`formats.md` §7).
//!
//! Wireshark asks for the interfaces, the link types and the configuration, then starts
//! `--capture --fifo PATH` with the options the user chose; the capture is `osprey trace`
//! itself, run in this process with `-o pcapng:PATH` (the Traceeshark layout: events on a
//! USER0 interface named `tracee`), and Wireshark stops it with SIGTERM.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use clap::{Args, Parser};

/// The one interface.
const INTERFACE: &str = "osprey";

/// The Wireshark extcap interface: Wireshark runs this; people rarely do.
///
/// To use it, make Wireshark's extcap folder hold an executable that runs
/// `osprey extcap "$@"` (see docs/forward.md), then capture on the `osprey` interface.
#[derive(Args, Debug)]
pub struct ExtcapArgs {
    /// List the interfaces.
    #[arg(long = "extcap-interfaces")]
    interfaces: bool,
    /// List the link types of --extcap-interface.
    #[arg(long = "extcap-dlts")]
    dlts: bool,
    /// List the capture options of --extcap-interface.
    #[arg(long = "extcap-config")]
    config: bool,
    /// The interface Wireshark asks about.
    #[arg(long = "extcap-interface", value_name = "NAME")]
    interface: Option<String>,
    /// Wireshark's version (`--extcap-version=4.0`), ignored.
    #[arg(long = "extcap-version", value_name = "VERSION", num_args = 0..=1)]
    version: Option<String>,
    /// Capture into --fifo.
    #[arg(long)]
    capture: bool,
    /// Where the PcapNG stream goes.
    #[arg(long, value_name = "PATH")]
    fifo: Option<PathBuf>,
    /// A capture filter, not supported (use display filters).
    #[arg(long = "extcap-capture-filter", value_name = "FILTER")]
    capture_filter: Option<String>,
    /// Toolbar control pipes (accepted; this interface declares no toolbar controls).
    #[arg(long = "extcap-control-in", value_name = "PATH")]
    control_in: Option<PathBuf>,
    /// Toolbar control pipes (accepted; this interface declares no toolbar controls).
    #[arg(long = "extcap-control-out", value_name = "PATH")]
    control_out: Option<PathBuf>,

    /// Events and sets to trace (osprey trace --events).
    #[arg(long, value_name = "EVENTS")]
    events: Option<String>,
    /// Scope expressions, separated by spaces (osprey trace --scope).
    #[arg(long, value_name = "EXPR")]
    scope: Option<String>,
    /// Artifacts to capture, separated by spaces (osprey trace --capture).
    #[arg(long, value_name = "OPTIONS")]
    artifacts: Option<String>,
    /// Capture packets of traced processes on this network interface (--capture net=IF).
    #[arg(long, value_name = "IF")]
    network: Option<String>,
    /// A preset: a file of `osprey trace` options, one or more per line (# starts a comment).
    #[arg(long, value_name = "FILE")]
    preset: Option<PathBuf>,
    /// A command to start and trace (split on spaces); without it the whole host is traced.
    #[arg(long, value_name = "CMD")]
    command: Option<String>,
}

#[derive(Parser)]
struct TraceCli {
    #[command(flatten)]
    trace: osprey_trace::TraceArgs,
}

fn check_interface(args: &ExtcapArgs) -> anyhow::Result<()> {
    match args.interface.as_deref() {
        Some(INTERFACE) => Ok(()),
        Some(other) => bail!("unknown extcap interface '{other}' (this one is '{INTERFACE}')"),
        None => bail!("--extcap-interface {INTERFACE} is needed"),
    }
}

/// What `osprey extcap --extcap-config` offers.
const CONFIG: &str = "\
arg {number=0}{call=--events}{display=Events}{type=string}{tooltip=Events and sets, comma-separated: default, fs, proc, net, syscalls, lsm_hooks, network_events, or names such as security_file_open; a leading - removes}{placeholder=default}{group=Events}
arg {number=1}{call=--scope}{display=Scope}{type=string}{tooltip=Tracee scope expressions separated by spaces: comm=NAMES pid=PIDS uid=UIDS executable=PATHS container not-container new follow}{group=Scope}
arg {number=2}{call=--command}{display=Command to trace}{type=string}{tooltip=Start this command and trace it and its descendants; empty traces the host}{group=Scope}
arg {number=3}{call=--artifacts}{display=Artifacts}{type=string}{tooltip=--capture options separated by spaces: write[=/prefix*] exec mem module profile dir:/path clear-dir}{group=Artifacts}
arg {number=4}{call=--network}{display=Network interface}{type=string}{tooltip=Capture the packets of traced processes on this interface (--capture net=IF)}{group=Artifacts}
arg {number=5}{call=--preset}{display=Preset file}{type=fileselect}{mustexist=true}{tooltip=A file of osprey trace options}{group=Presets}
";

/// The `osprey trace` arguments for a capture into `fifo`.
fn trace_argv(args: &ExtcapArgs, fifo: &std::path::Path) -> anyhow::Result<Vec<OsString>> {
    let mut argv: Vec<OsString> = vec!["trace".into(), "-q".into()];
    if let Some(p) = &args.preset {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("--preset {}", p.display()))?;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            argv.extend(line.split_whitespace().map(OsString::from));
        }
    }
    if let Some(e) = args.events.as_deref().filter(|e| !e.trim().is_empty()) {
        argv.extend(["--events".into(), e.trim().into()]);
    }
    for s in args.scope.iter().flat_map(|s| s.split_whitespace()) {
        argv.extend(["--scope".into(), s.into()]);
    }
    for c in args.artifacts.iter().flat_map(|s| s.split_whitespace()) {
        argv.extend(["--capture".into(), c.into()]);
    }
    if let Some(n) = args.network.as_deref().filter(|n| !n.trim().is_empty()) {
        argv.extend(["--capture".into(), format!("net={}", n.trim()).into()]);
    }
    let mut out = OsString::from("pcapng:");
    out.push(fifo.as_os_str());
    argv.extend(["-o".into(), out]);
    if let Some(cmd) = args.command.as_deref().filter(|c| !c.trim().is_empty()) {
        argv.push("--".into());
        argv.extend(cmd.split_whitespace().map(OsString::from));
    }
    Ok(argv)
}

pub fn run(args: ExtcapArgs) -> anyhow::Result<ExitCode> {
    if args.interfaces {
        println!(
            "extcap {{version={}}}{{help=https://example.invalid/osprey/docs/forward.md}}",
            env!("CARGO_PKG_VERSION")
        );
        println!("interface {{value={INTERFACE}}}{{display=Osprey: live Tracee events (eBPF)}}");
        return Ok(ExitCode::SUCCESS);
    }
    if args.dlts {
        check_interface(&args)?;
        println!("dlt {{number=147}}{{name=USER0}}{{display=Tracee events (JSON)}}");
        return Ok(ExitCode::SUCCESS);
    }
    if args.config {
        check_interface(&args)?;
        print!("{CONFIG}");
        return Ok(ExitCode::SUCCESS);
    }
    if args.capture {
        check_interface(&args)?;
        if args
            .capture_filter
            .as_deref()
            .is_some_and(|f| !f.trim().is_empty())
        {
            bail!(
                "capture filters are not supported by the osprey interface: use a display filter"
            );
        }
        let fifo = args.fifo.as_ref().context("--capture needs --fifo PATH")?;
        let argv = trace_argv(&args, fifo)?;
        let cli = TraceCli::try_parse_from(&argv).map_err(|e| anyhow::anyhow!("{e}"))?;
        return osprey_trace::run(cli.trace);
    }
    bail!("nothing to do: Wireshark calls this with --extcap-interfaces, --extcap-dlts, --extcap-config or --capture")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_become_trace_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let preset = dir.path().join("p");
        std::fs::write(
            &preset,
            "# a preset\n--events proc  # processes\n--scope comm=sh\n",
        )
        .unwrap();
        let args = ExtcapArgs::augment_args(clap::Command::new("x"))
            .try_get_matches_from([
                "x",
                "--capture",
                "--extcap-interface",
                "osprey",
                "--fifo",
                "/tmp/f",
                "--preset",
                preset.to_str().unwrap(),
                "--events",
                "fs",
                "--scope",
                "uid=0 new",
                "--artifacts",
                "exec write=/tmp/*",
                "--network",
                "lo",
                "--command",
                "/bin/sh -c true",
            ])
            .unwrap();
        let args = <ExtcapArgs as clap::FromArgMatches>::from_arg_matches(&args).unwrap();
        let argv = trace_argv(&args, std::path::Path::new("/tmp/f")).unwrap();
        let argv: Vec<String> = argv.iter().map(|a| a.to_string_lossy().into()).collect();
        assert_eq!(
            argv.join(" "),
            "trace -q --events proc --scope comm=sh --events fs --scope uid=0 --scope new \
             --capture exec --capture write=/tmp/* --capture net=lo -o pcapng:/tmp/f -- /bin/sh -c true"
        );
        assert!(TraceCli::try_parse_from(&argv).is_ok());
    }
}
