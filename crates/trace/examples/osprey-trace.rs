//! The tracer alone: `osprey-trace [OPTIONS] [-- CMD ARGS]` behaves like `osprey trace`.
//! Built without the rest of the workspace, it is what `bench/tracer/tracer-storm.sh` can run
//! when the full `osprey` binary is not at hand.

use clap::Parser;

/// Trace processes with eBPF and write Tracee-compatible events.
#[derive(Parser)]
#[command(name = "osprey-trace", version)]
struct Cli {
    #[command(flatten)]
    trace: osprey_trace::TraceArgs,
}

fn main() -> std::process::ExitCode {
    match osprey_trace::run(Cli::parse().trace) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("osprey: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}
