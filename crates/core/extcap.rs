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
    /// Install: write a wrapper that runs this osprey into Wireshark's extcap folder (the
    /// personal one when Wireshark has one, else the global one; --extcap-dir chooses).
    #[arg(long)]
    install: bool,
    /// With --install: the folder.
    #[arg(long = "extcap-dir", value_name = "DIR", requires = "install")]
    extcap_dir: Option<PathBuf>,
    /// Wireshark asks to reload a selector's values (none here).
    #[arg(long = "extcap-reload-option", value_name = "OPTION")]
    reload_option: Option<String>,
    /// A capture filter, not supported (use display filters).
    #[arg(long = "extcap-capture-filter", value_name = "FILTER")]
    capture_filter: Option<String>,
    /// The toolbar's pipe from Wireshark (button presses).
    #[arg(long = "extcap-control-in", value_name = "PATH")]
    control_in: Option<PathBuf>,
    /// The toolbar's pipe to Wireshark (the log, status messages).
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

/// The toolbar's controls.
const CTRL_STOP: u8 = 1;
const CTRL_LOG: u8 = 2;
const CTRL_COPY_TO: u8 = 3;
const CTRL_COPY: u8 = 4;
/// "No control" (status bar messages).
const CTRL_NONE: u8 = 255;
/// Control pipe commands (Wireshark's extcap_control commands).
const CMD_INITIALIZED: u8 = 0;
const CMD_SET: u8 = 1;
const CMD_ADD: u8 = 2;
const CMD_STATUS: u8 = 6;

/// One control-pipe message: 'T', a 3-byte big-endian length, control, command, payload.
fn control_message(control: u8, command: u8, payload: &[u8]) -> Vec<u8> {
    let payload = &payload[..payload.len().min(0xff_fff0)];
    let len = payload.len() + 2;
    let mut m = vec![
        b'T',
        (len >> 16) as u8,
        (len >> 8) as u8,
        len as u8,
        control,
        command,
    ];
    m.extend_from_slice(payload);
    m
}

/// Sends everything written to stderr from now on to the toolbar's Log (and still to the
/// real stderr, which Wireshark shows when the capture fails).
fn toolbar_log(path: &std::path::Path) -> anyhow::Result<()> {
    use std::io::{BufRead, Write};
    use std::os::fd::FromRawFd;
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("--extcap-control-out {}", path.display()))?;
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors we own; dup/dup2 on valid descriptors.
    let (read, real_err) = unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(std::io::Error::last_os_error()).context("creating the log pipe");
        }
        let real = libc::dup(2);
        if real < 0 || libc::dup2(fds[1], 2) < 0 {
            return Err(std::io::Error::last_os_error()).context("redirecting the log");
        }
        libc::close(fds[1]);
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(real),
        )
    };
    let _ = out.write_all(&control_message(
        CTRL_LOG,
        CMD_SET,
        b"osprey: capture started\n",
    ));
    let _ = out.write_all(&control_message(CTRL_NONE, CMD_STATUS, b"osprey: tracing"));
    std::thread::spawn(move || {
        let mut real_err = real_err;
        for line in std::io::BufReader::new(read).split(b'\n') {
            let Ok(mut line) = line else { break };
            let _ = real_err.write_all(&line);
            let _ = real_err.write_all(b"\n");
            line.push(b'\n');
            let _ = out.write_all(&control_message(CTRL_LOG, CMD_ADD, &line));
        }
    });
    Ok(())
}

/// Reads the toolbar's messages: Stop ends the tracer as SIGTERM would; Copy output copies the
/// capture's output directory into the folder typed in "Copy to".
fn toolbar_buttons(path: PathBuf, output_dir: Option<PathBuf>) {
    use std::io::Read;
    std::thread::spawn(move || {
        let Ok(mut f) = std::fs::File::open(&path) else {
            return;
        };
        let mut copy_to = String::new();
        let mut head = [0u8; 6];
        while f.read_exact(&mut head).is_ok() {
            if head[0] != b'T' {
                return; // not the control protocol: stop listening rather than guess
            }
            let len = ((head[1] as usize) << 16) | ((head[2] as usize) << 8) | head[3] as usize;
            let mut payload = vec![0u8; len.saturating_sub(2)];
            if f.read_exact(&mut payload).is_err() {
                return;
            }
            if head[5] == CMD_INITIALIZED {
                continue;
            }
            match head[4] {
                // a button press comes as its control number (Wireshark sends "set")
                CTRL_STOP => {
                    eprintln!("osprey: Stop pressed: stopping the tracer");
                    // SAFETY: raising a signal whose handler only stores to an atomic.
                    unsafe {
                        libc::raise(libc::SIGTERM);
                    }
                }
                CTRL_COPY_TO => {
                    copy_to = String::from_utf8_lossy(&payload)
                        .trim_end_matches('\0')
                        .trim()
                        .to_string();
                }
                CTRL_COPY => match (&output_dir, copy_to.is_empty()) {
                    (None, _) => eprintln!(
                        "osprey: Copy output: this capture has no output directory (choose artifacts)"
                    ),
                    (_, true) => eprintln!("osprey: Copy output: type a folder in \"Copy to\" first"),
                    (Some(src), false) => match copy_output(src, std::path::Path::new(&copy_to)) {
                        Ok((dst, files)) => eprintln!(
                            "osprey: Copy output: {files} files of {} copied to {}",
                            src.display(),
                            dst.display()
                        ),
                        Err(e) => eprintln!("osprey: Copy output: {e:#}"),
                    },
                },
                _ => {}
            }
        }
    });
}

/// Copies `src` (regular files and folders; links are not followed) to a new folder
/// `DEST/<name of src>-<unix time>`; returns it and the number of files.
fn copy_output(src: &std::path::Path, dest: &std::path::Path) -> anyhow::Result<(PathBuf, u64)> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let name = src
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let target = dest.join(format!("{name}-{secs}"));
    fn walk(from: &std::path::Path, to: &std::path::Path, files: &mut u64) -> anyhow::Result<()> {
        std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
        for entry in
            std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))?
        {
            let entry = entry?;
            let ty = entry.file_type()?;
            let dst = to.join(entry.file_name());
            if ty.is_dir() {
                walk(&entry.path(), &dst, files)?;
            } else if ty.is_file() {
                std::fs::copy(entry.path(), &dst)
                    .with_context(|| format!("copying {}", entry.path().display()))?;
                *files += 1;
            }
        }
        Ok(())
    }
    let mut files = 0;
    walk(src, &target, &mut files)?;
    Ok((target, files))
}

/// The output directory of a capture's `osprey trace` arguments: `--capture dir:PATH`, or the
/// default when any `--capture` option is given.
pub(crate) fn output_dir(argv: &[OsString]) -> Option<PathBuf> {
    let mut any = false;
    let mut dir = None;
    for w in argv.windows(2) {
        if w[0] == "--capture" {
            any = true;
            let v = w[1].to_string_lossy();
            let v = v.strip_prefix("artifact:").unwrap_or(&v);
            if let Some(d) = v.strip_prefix("dir:") {
                dir = Some(PathBuf::from(d));
            }
        }
    }
    dir.or_else(|| any.then(|| PathBuf::from(osprey_capture::options::DEFAULT_DIR)))
}

/// The `osprey trace` arguments for a capture into `fifo`: the options as the web UI's
/// capture-options dialog turns them into arguments.
fn trace_argv(args: &ExtcapArgs, fifo: &std::path::Path) -> anyhow::Result<Vec<OsString>> {
    let mut argv: Vec<OsString> = vec!["trace".into(), "-q".into()];
    let preset = match &args.preset {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("--preset {}", p.display()))?
        }
        None => String::new(),
    };
    let text = |o: &Option<String>| o.clone().unwrap_or_default();
    let options = osprey_view::live::CaptureOptions {
        preset: String::new(),
        events: text(&args.events),
        scope: text(&args.scope),
        artifacts: text(&args.artifacts),
        network: text(&args.network),
        command: text(&args.command),
    };
    argv.extend(crate::view::trace_options_argv(&options, &preset));
    let mut out = OsString::from("pcapng:");
    out.push(fifo.as_os_str());
    argv.extend(["-o".into(), out]);
    argv.extend(crate::view::traced_command_argv(&options));
    Ok(argv)
}

/// Wireshark's extcap folder, as `tshark -G folders` tells it: the personal one if listed.
fn wireshark_extcap_dir() -> anyhow::Result<PathBuf> {
    let out = std::process::Command::new("tshark")
        .args(["-G", "folders"])
        .output()
        .context(
            "running tshark -G folders to find Wireshark's extcap folder (or give --extcap-dir)",
        )?;
    let text = String::from_utf8_lossy(&out.stdout);
    let find = |label: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(label))
            .map(|rest| PathBuf::from(rest.trim()))
    };
    find("Personal Extcap path:")
        .or_else(|| find("Extcap path:"))
        .context("tshark -G folders lists no extcap folder; give --extcap-dir")
}

fn install(dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    use std::os::unix::fs::PermissionsExt;
    let dir = match dir {
        Some(d) => d,
        None => wireshark_extcap_dir()?,
    };
    let exe = std::env::current_exe().context("finding this osprey binary")?;
    let exe = exe
        .to_str()
        .context("the osprey binary's path is not UTF-8")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(INTERFACE);
    let script = format!(
        "#!/bin/sh\n# Wireshark extcap interface of Osprey (osprey extcap --install)\nexec '{}' extcap \"$@\"\n",
        exe.replace('\'', "'\\''")
    );
    std::fs::write(&path, script).with_context(|| format!("writing {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    println!(
        "installed {}: capture with tshark -i {INTERFACE} (tracing needs root)",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: ExtcapArgs) -> anyhow::Result<ExitCode> {
    if args.install {
        return install(args.extcap_dir);
    }
    if args.interfaces {
        println!(
            "extcap {{version={}}}{{help=https://example.invalid/osprey/docs/forward.md}}",
            env!("CARGO_PKG_VERSION")
        );
        println!("interface {{value={INTERFACE}}}{{display=Osprey: live Tracee events (eBPF)}}");
        // the toolbar Wireshark shows while capturing on the interface
        println!(
            "control {{number={CTRL_STOP}}}{{type=button}}{{display=Stop}}\
             {{tooltip=Stop the tracer (the capture file stays complete)}}"
        );
        println!(
            "control {{number={CTRL_LOG}}}{{type=button}}{{role=logger}}{{display=Log}}\
             {{tooltip=The tracer's log}}"
        );
        println!(
            "control {{number={CTRL_COPY_TO}}}{{type=string}}{{display=Copy to}}\
             {{tooltip=A folder for Copy output}}{{placeholder=/path/to/folder}}"
        );
        println!(
            "control {{number={CTRL_COPY}}}{{type=button}}{{display=Copy output}}\
             {{tooltip=Copy the capture's output directory (artifacts, events) into the Copy to folder}}"
        );
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
        if let Some(out) = &args.control_out {
            toolbar_log(out)?;
        }
        if let Some(input) = &args.control_in {
            toolbar_buttons(input.clone(), output_dir(&argv));
        }
        return osprey_trace::run(cli.trace);
    }
    bail!("nothing to do: Wireshark calls this with --extcap-interfaces, --extcap-dlts, --extcap-config or --capture")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_messages_are_framed_as_wireshark_reads_them() {
        assert_eq!(
            control_message(CTRL_LOG, CMD_ADD, b"hi\n"),
            vec![b'T', 0, 0, 5, CTRL_LOG, CMD_ADD, b'h', b'i', b'\n']
        );
    }

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
