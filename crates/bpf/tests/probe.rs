//! Loads every program of this crate on the running kernel (the verifier is the test).
//! Skips without root unless OSPREY_REQUIRE_BPF=1, which turns a skip into a failure.

use osprey_bpf::{probe, probe_with, Features, Hook};

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
    assert_core_hooks_load(&report, "on this kernel");
}

/// kernel.md: these load on the kernels Osprey supports; fentry/LSM/kprobes may not.
fn assert_core_hooks_load(report: &osprey_bpf::ProbeReport, how: &str) {
    for hook in [
        Hook::TpBtfSyscalls,
        Hook::RawSyscalls,
        Hook::SchedExec,
        Hook::SchedFork,
        Hook::SchedExit,
        Hook::Ext4Unlink,
        Hook::CgroupSkb,
        Hook::CgroupSock,
    ] {
        if let Some(why) = report.why_not(hook) {
            panic!("{hook} does not load {how}: {why}");
        }
    }
}

/// The ways older kernels are served (the compat object; hashes instead of task storage; the
/// plain task pointer; registers from the kernel stack) verify here too, so the machine at hand
/// checks them on every run, not only the kernel matrix.
#[test]
fn every_fallback_loads() {
    if !bpf_available() {
        return;
    }
    let here = Features::probe();
    assert!(here.ring_buffer, "no ring buffer on this kernel");
    let kernel_5_15 = Features {
        bpf_loop: false,
        find_vma: false,
        ..here
    };
    // and without the task pointer in socket hooks, which no kernel of the matrix lacks
    let no_sock_task = Features {
        sock_task: false,
        ..Features::oldest()
    };
    for features in [Features::oldest(), kernel_5_15, no_sock_task] {
        let report = probe_with(features);
        assert_core_hooks_load(&report, &format!("with {features}"));
    }
}
