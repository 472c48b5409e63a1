//! `osprey view`: parses the arguments and hands them to `osprey-view`, which serves the web UI.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Open recordings in the web UI: a Wireshark-like packet list, detail tree and bytes pane in
/// the browser, served on 127.0.0.1.
///
/// The inputs are what `osprey read -r` takes (Tracee JSON, PcapNG, pcap, gzip, `-`, capture
/// directories), merged in time order. The URL is printed on standard output; the browser is
/// opened with xdg-open unless --no-browser is given.
#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  osprey view events.json
  osprey view --no-browser --port 8080 /tmp/tracee
  osprey view -C my-profile.toml events.json capture.pcapng")]
pub struct ViewArgs {
    /// Recordings to open: files, capture directories, or `-` for standard input.
    #[arg(value_name = "FILE|DIR|-", required = true)]
    files: Vec<String>,

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
}

pub fn run(args: ViewArgs) -> anyhow::Result<ExitCode> {
    if !osprey_view::assets::built() {
        eprintln!(
            "osprey: {}; serving the API only",
            osprey_view::assets::NOT_BUILT
        );
    }
    let options = osprey_view::Options {
        files: args.files,
        profile: args.profile,
        port: args.port,
    };
    let open_browser = !args.no_browser;
    osprey_view::serve(&options, |url| {
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
