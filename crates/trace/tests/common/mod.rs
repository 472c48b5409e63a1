//! What the end-to-end test files share: the command line they parse, and the root check.

use clap::Parser;

/// `osprey trace`'s arguments, parsed as the binary parses them.
#[derive(Parser)]
pub struct Cli {
    #[command(flatten)]
    pub trace: osprey_trace::TraceArgs,
}

/// The interpreter the tests' small programs run on (not every test file has one).
#[allow(dead_code)]
pub const PY: &str = "/usr/bin/python3";

/// True when BPF programs can be loaded. Without root the tests skip, unless
/// OSPREY_REQUIRE_BPF=1 (as in CI), which makes that a failure.
pub fn bpf_available() -> bool {
    if osprey_bpf::have_privileges() {
        return true;
    }
    if std::env::var("OSPREY_REQUIRE_BPF").as_deref() == Ok("1") {
        panic!("OSPREY_REQUIRE_BPF=1 but the tests are not running as root");
    }
    eprintln!("skipping: BPF tests need root (OSPREY_REQUIRE_BPF=1 makes this a failure)");
    false
}
