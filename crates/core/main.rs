//! The `osprey` binary: parses the command line and hands each subcommand to its module.
//! Everything of substance lives in the library crates under `crates/`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: allocator::Mimalloc = allocator::Mimalloc;

mod allocator;
mod detect;
mod extcap;
mod pipeline;
mod progress;
mod read;
mod receive;
mod remote;
mod remote_copy;
mod view;

/// Runtime-security tracer and forensic analyzer for Linux.
///
/// Osprey traces a host or one command with eBPF and writes Tracee-compatible events, captures
/// the artifacts an investigator needs, and reads recordings (its own, Tracee's, pcap and PcapNG)
/// like tshark does for packets.
#[derive(Parser)]
#[command(name = "osprey", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `osprey trace`: the tracer's own arguments, and --remote (crates/core/remote.rs).
#[derive(clap::Args)]
struct TraceCmd {
    #[command(flatten)]
    remote: remote::RemoteArgs,
    #[command(flatten)]
    trace: osprey_trace::TraceArgs,
}

#[derive(Subcommand)]
enum Command {
    Read(read::ReadArgs),
    /// Trace processes with eBPF and write Tracee-compatible events (JSON, table, PcapNG).
    Trace(TraceCmd),
    View(view::ViewArgs),
    Receive(receive::ReceiveArgs),
    Extcap(extcap::ExtcapArgs),
    Detect(detect::DetectArgs),
    /// Work with runtime profiles (`--capture profile`): `osprey profile diff OLD NEW`.
    Profile(osprey_capture::profile::ProfileArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Read(args) => {
            allocator::disable_huge_pages();
            read::run(args)
        }
        Command::Trace(args) => match args.remote.remote {
            Some(_) => remote::run(args.remote, args.trace),
            None => osprey_trace::run(args.trace),
        },
        Command::View(args) => {
            allocator::disable_huge_pages();
            osprey_view::set_memory_release(allocator::release_free_memory);
            view::run(args)
        }
        Command::Receive(args) => {
            allocator::disable_huge_pages();
            receive::run(args)
        }
        Command::Extcap(args) => extcap::run(args),
        Command::Detect(args) => {
            allocator::disable_huge_pages();
            detect::run(args)
        }
        Command::Profile(args) => Ok(osprey_capture::profile::run(args)),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("osprey: {err:#}");
            ExitCode::from(2)
        }
    }
}
