//! `osprey view`: parses the arguments and hands them to `osprey-view`, which serves the web UI.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use clap::Args;
use osprey_view::live::{CaptureOptions, Launch, LiveConfig};

/// Open recordings in the web UI: a Wireshark-like packet list, detail tree and bytes pane in
/// the browser, served on 127.0.0.1.
///
/// The inputs are what `osprey read -r` takes (Tracee JSON, PcapNG, pcap, gzip, `-`, capture
/// directories, merged in time order; or a Parquet lake on its own). The URL is printed on standard output; the browser is
/// opened with xdg-open unless --no-browser is given.
///
/// With --live, the view follows a capture as it runs: `local` runs `osprey trace` here (root
/// needed), `ssh://USER@HOST[:PORT]` runs it there (`osprey trace --remote`), and
/// `forward://127.0.0.1:PORT` receives Fluent Forward (`osprey receive`). Options after `--`
/// go to that command and start the capture at once; without them, local and ssh captures
/// start from the UI's capture-options dialog.
#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  osprey view events.json
  osprey view --no-browser --port 8080 /tmp/tracee
  osprey view -C my-profile.toml events.json capture.pcapng
  osprey view --live local
  osprey view --live local -- --events proc --scope comm=bash
  osprey view --live ssh://admin@web1 -- --identity ~/.ssh/id_ed25519 --events net
  osprey view --live forward://127.0.0.1:24224")]
pub struct ViewArgs {
    /// Recordings to open: files, capture directories, or `-` for standard input.
    #[arg(value_name = "FILE|DIR|-", required_unless_present = "live")]
    files: Vec<String>,

    /// Follow a live capture: local, ssh://USER@HOST[:PORT] or forward://127.0.0.1:PORT.
    #[arg(long, value_name = "SOURCE", conflicts_with = "files")]
    live: Option<String>,

    /// With --live: the directory of presets the capture-options dialog offers (files of
    /// `osprey trace` options; default ~/.config/osprey/presets).
    #[arg(long, value_name = "DIR", requires = "live")]
    presets: Option<PathBuf>,

    /// Set a preference, as osprey read -o does: pid_format=container|host|both,
    /// container_identifier=id|name, show_container_image=true|false (the UI's Preferences
    /// dialog changes them too).
    #[arg(short = 'o', value_name = "NAME=VALUE")]
    preferences: Vec<String>,

    /// With --live: options for `osprey trace` (`osprey receive` for forward://), after `--`.
    #[arg(last = true, value_name = "OPTIONS", requires = "live")]
    capture_args: Vec<OsString>,

    /// Print the URL but do not open a browser.
    #[arg(long = "no-browser")]
    no_browser: bool,

    /// Listen on this port of 127.0.0.1 (0: any free port).
    #[arg(long = "port", value_name = "N", default_value_t = 0)]
    port: u16,

    /// Use the configuration profile FILE (columns, macros, coloring rules) instead of the
    /// bundled "Tracee" profile; also $OSPREY_PROFILE.
    #[arg(short = 'C', long = "config-profile", value_name = "FILE")]
    profile: Option<PathBuf>,

    /// Keep marks and notes in FILE instead of the sidecar beside the recording
    /// (RECORDING.osprey-notes.json): for recordings in a read-only place, or a case file of
    /// your own.
    #[arg(long = "notes", value_name = "FILE")]
    notes: Option<PathBuf>,
}

pub fn run(args: ViewArgs) -> anyhow::Result<ExitCode> {
    if !osprey_view::assets::built() {
        eprintln!(
            "osprey: {}; serving the API only",
            osprey_view::assets::NOT_BUILT
        );
    }
    let live = match &args.live {
        Some(source) => Some(live_config(source, args.presets, args.capture_args)?),
        None => None,
    };
    let options = osprey_view::Options {
        files: args.files,
        profile: args.profile,
        port: args.port,
        live,
        preferences: args.preferences,
        notes: args.notes,
    };
    let open_browser = !args.no_browser;
    osprey_view::serve(options, |url| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{url}");
        let _ = out.flush();
        if open_browser {
            if let Err(e) = std::process::Command::new("xdg-open").arg(url).spawn() {
                eprintln!("osprey: cannot start xdg-open ({e}): open {url} in a browser");
            }
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Where the dialog's presets are by default: ~/.config/osprey/presets (or under
/// $XDG_CONFIG_HOME).
fn default_presets() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("osprey/presets"))
}

/// How `--live SOURCE` becomes a command: `osprey trace` (here or `--remote`) or `osprey
/// receive`, each writing its events to the FIFO `osprey view` reads.
fn live_config(
    source: &str,
    presets: Option<PathBuf>,
    extra: Vec<OsString>,
) -> anyhow::Result<LiveConfig> {
    let exe = std::env::current_exe().context("finding this osprey binary")?;
    let presets = presets.or_else(default_presets);
    if source == "local" || source.starts_with("ssh://") {
        let remote = source.starts_with("ssh://").then(|| source.to_string());
        let dialog = extra.is_empty();
        let launcher = move |o: &CaptureOptions, preset: &str, fifo: &Path| {
            let mut argv: Vec<OsString> = vec![exe.clone().into(), "trace".into()];
            if let Some(url) = &remote {
                argv.extend(["--remote".into(), url.into()]);
            }
            argv.extend(trace_options_argv(o, preset));
            let mut out = OsString::from("json:");
            out.push(fifo);
            argv.extend(["-o".into(), out]);
            argv.extend(extra.iter().cloned());
            argv.extend(traced_command_argv(o));
            // A remote capture's directory is on the remote host (--remote-copy brings it).
            let output_dir = if remote.is_some() {
                None
            } else {
                crate::extcap::output_dir(&argv)
            };
            Ok(Launch { argv, output_dir })
        };
        return Ok(LiveConfig {
            source: source.to_string(),
            dialog,
            presets,
            launcher: Box::new(launcher),
        });
    }
    if let Some(addr) = source.strip_prefix("forward://") {
        let host = addr.rsplit_once(':').map_or("", |(h, _)| h);
        if !["127.0.0.1", "localhost", "[::1]"].contains(&host) {
            bail!("--live {source}: the receiver listens on the loopback address only (forward://127.0.0.1:PORT); for other addresses run `osprey receive` and open its file");
        }
        let addr = addr.to_string();
        let launcher = move |_: &CaptureOptions, _: &str, fifo: &Path| {
            let mut argv: Vec<OsString> = vec![
                exe.clone().into(),
                "receive".into(),
                "--listen".into(),
                addr.clone().into(),
                "-w".into(),
                fifo.into(),
            ];
            argv.extend(extra.iter().cloned());
            Ok(Launch {
                argv,
                output_dir: None,
            })
        };
        return Ok(LiveConfig {
            source: source.to_string(),
            dialog: false,
            presets: None,
            launcher: Box::new(launcher),
        });
    }
    bail!("--live {source}: expected local, ssh://USER@HOST[:PORT] or forward://127.0.0.1:PORT")
}

/// The `osprey trace` options of the capture-options dialog (as `osprey extcap` takes them):
/// a preset's options first (one or more a line, `#` starts a comment), then events, scope,
/// artifacts and network. The command to trace is [`traced_command_argv`].
pub fn trace_options_argv(o: &CaptureOptions, preset: &str) -> Vec<OsString> {
    let mut argv: Vec<OsString> = Vec::new();
    for line in preset.lines() {
        let line = line.split('#').next().unwrap_or("");
        argv.extend(line.split_whitespace().map(OsString::from));
    }
    if !o.events.trim().is_empty() {
        argv.extend(["--events".into(), o.events.trim().into()]);
    }
    for s in o.scope.split_whitespace() {
        argv.extend(["--scope".into(), s.into()]);
    }
    for c in o.artifacts.split_whitespace() {
        argv.extend(["--capture".into(), c.into()]);
    }
    if !o.network.trim().is_empty() {
        argv.extend([
            "--capture".into(),
            format!("net={}", o.network.trim()).into(),
        ]);
    }
    argv
}

/// The dialog's command to trace, as the arguments that end an `osprey trace` command line.
pub fn traced_command_argv(o: &CaptureOptions) -> Vec<OsString> {
    if o.command.trim().is_empty() {
        return Vec::new();
    }
    let mut argv: Vec<OsString> = vec!["--".into()];
    argv.extend(o.command.split_whitespace().map(OsString::from));
    argv
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(argv: &[OsString]) -> String {
        argv.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn live_sources_become_commands_writing_to_the_fifo() {
        let fifo = Path::new("/tmp/x/events");
        let options = CaptureOptions {
            events: "proc".into(),
            scope: "comm=bash new".into(),
            artifacts: "exec dir:/tmp/out".into(),
            command: "/bin/sh -c true".into(),
            ..Default::default()
        };
        let local = live_config("local", None, Vec::new()).unwrap();
        assert!(local.dialog, "no options given: the dialog starts it");
        let launch = (local.launcher)(&options, "--capture write # files\n", fifo).unwrap();
        let argv = words(&launch.argv);
        assert!(
            argv.ends_with(
                " trace --capture write --events proc --scope comm=bash --scope new \
                 --capture exec --capture dir:/tmp/out -o json:/tmp/x/events -- /bin/sh -c true"
            ),
            "{argv}"
        );
        assert_eq!(launch.output_dir, Some(PathBuf::from("/tmp/out")));

        let ssh = live_config(
            "ssh://ann@h:2222",
            None,
            vec!["--events".into(), "net".into()],
        )
        .unwrap();
        assert!(
            !ssh.dialog,
            "options on the command line: it starts at once"
        );
        let launch = (ssh.launcher)(&CaptureOptions::default(), "", fifo).unwrap();
        assert!(
            words(&launch.argv)
                .ends_with(" trace --remote ssh://ann@h:2222 -o json:/tmp/x/events --events net"),
            "{}",
            words(&launch.argv)
        );
        assert_eq!(launch.output_dir, None, "the remote directory is not here");

        let forward = live_config("forward://127.0.0.1:24224", None, Vec::new()).unwrap();
        assert!(!forward.dialog);
        let launch = (forward.launcher)(&options, "", fifo).unwrap();
        assert!(
            words(&launch.argv).ends_with(" receive --listen 127.0.0.1:24224 -w /tmp/x/events"),
            "{}",
            words(&launch.argv)
        );
        for bad in [
            "forward://0.0.0.0:24224",
            "forward://10.1.2.3:1",
            "tcp://x",
            "remote",
        ] {
            assert!(live_config(bad, None, Vec::new()).is_err(), "{bad}");
        }
    }
}
