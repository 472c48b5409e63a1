//! The kernel integrity checks (hooked_syscall, hooked_proc_fops) on the running kernel: the
//! words read in the kernel are the ones the checks mean (each resolves to the kernel's own
//! symbol for it), and a clean kernel gives no event. A hooked kernel needs a rootkit module,
//! which no test loads; `src/integrity.rs` tests the comparison on a hooked symbol table.
//!
//! Without root the tests skip, unless OSPREY_REQUIRE_BPF=1, which makes that a failure.

use std::fs::File;

use clap::Parser;
use osprey_bpf::integrity::KernelReader;
use osprey_trace::integrity::{check_dir_ops, check_table, read_table, unavailable, Symbols};
use serde_json::Value;

mod common;

use common::{bpf_available, Cli};

#[test]
fn proc_directory_operations_are_read_from_the_kernel_and_are_its_own() {
    if !bpf_available() {
        return;
    }
    let symbols = Symbols::read().unwrap();
    let reader = KernelReader::load().unwrap();
    let proc_ops = reader.dir_ops(&File::open("/proc").unwrap()).unwrap();
    let sym = symbols.symbol_at(proc_ops.iterate_shared).unwrap();
    assert_eq!(
        (sym.name.as_str(), sym.addr, sym.module.as_deref()),
        ("proc_root_readdir", proc_ops.iterate_shared, None),
        "/proc's iterate_shared"
    );
    assert!(check_dir_ops(&symbols, proc_ops).is_empty());
    // the read follows the file: another filesystem's directory has other operations
    let dev_ops = reader.dir_ops(&File::open("/sys/kernel").unwrap()).unwrap();
    assert_ne!(dev_ops.iterate_shared, proc_ops.iterate_shared);
    assert!(symbols.symbol_at(dev_ops.iterate_shared).is_some());
}

#[test]
fn the_syscall_table_is_read_and_its_entries_are_the_kernels_handlers() {
    if !bpf_available() {
        return;
    }
    let symbols = Symbols::read().unwrap();
    if let Some(why) = unavailable("hooked_syscall", &symbols) {
        // this project's VM kernel; Debian's have it, and the kernel matrix checks them
        eprintln!("skipping: {why}");
        return;
    }
    let (_, words_to_next_symbol) = symbols.syscall_table().unwrap();
    let table = read_table(&KernelReader::load().unwrap(), &symbols).unwrap();
    let n = table.len();
    assert!((300..=words_to_next_symbol).contains(&n), "{n} entries");
    let check = check_table(&symbols, &table);
    assert_eq!(check.entries, n);
    assert!(check.hooked.is_empty(), "{:?}", check.hooked);
    assert_eq!(check.handlers, n, "not at a handler: {:?}", check.others);
    assert!(
        check.own_handlers >= 300,
        "only {} of {n} entries are __x64_sys_<their syscall>",
        check.own_handlers
    );
}

#[test]
fn a_clean_kernel_gives_no_integrity_event_and_says_what_it_cannot_check() {
    if !bpf_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("events.json");
    let out_arg = format!("json:{}", out.display());
    let argv = [
        "trace",
        "-q",
        "-o",
        &out_arg,
        "--signatures",
        "none",
        "-e",
        "hooked_syscall,hooked_proc_fops,execve",
        "--",
        "/bin/true",
    ];
    let cli = Cli::try_parse_from(argv).unwrap();
    assert_eq!(osprey_trace::run_status(cli.trace).unwrap(), 0);
    let events: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        events.iter().any(|e| e["eventName"] == "execve"),
        "the trace ran"
    );
    assert!(
        !events
            .iter()
            .any(|e| e["eventName"].as_str().unwrap().starts_with("hooked_")),
        "{events:?}"
    );
}
