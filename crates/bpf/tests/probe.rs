//! Loads every program of this crate on the running kernel (the verifier is the test).
//! Skips without root unless OSPREY_REQUIRE_BPF=1, which turns a skip into a failure.

use osprey_bpf::{probe, Hook};

fn bpf_available() -> bool {
    if osprey_bpf::have_privileges() {
        return true;
    }
    if std::env::var("OSPREY_REQUIRE_BPF").as_deref() == Ok("1") {
        panic!("OSPREY_REQUIRE_BPF=1 but this test is not running as root");
    }
    eprintln!("skipping: BPF tests need root (set OSPREY_REQUIRE_BPF=1 to make this a failure)");
    false
}

#[test]
fn the_hooks_this_kernel_documents_load() {
    if !bpf_available() {
        return;
    }
    let report = probe();
    for (hook, result) in &report.hooks {
        eprintln!("{hook}: {result:?}");
    }
    // kernel.md: these load on the kernels Osprey supports; fentry/LSM/kprobes may not.
    for hook in [
        Hook::TpBtfSyscalls,
        Hook::RawSyscalls,
        Hook::SchedExec,
        Hook::SchedFork,
        Hook::SchedExit,
        Hook::CgroupSkb,
        Hook::CgroupSock,
    ] {
        if let Some(why) = report.why_not(hook) {
            panic!("{hook} does not load: {why}");
        }
    }
}
