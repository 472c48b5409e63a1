//! Every filter of analyzer.md §7 (coloring) and §8 (buttons, the `important` macro,
//! bookmarks) compiles and means what the spec says.

use osprey_field::FieldValue;
use osprey_filter::{Filter, Macros};

use crate::support::Frame;

/// The `important` macro of analyzer.md §8, with `PTRACE_POKEUSR` fixed to `PTRACE_POKEUSER`.
pub const IMPORTANT: &str = r#"tracee.isSignature == true or tracee.eventName in {"sched_process_exec",
"magic_write", "process_vm_writev", "symbols_loaded", "security_bpf_prog", "bpf_attach",
"kprobe_attach", "kallsyms_lookup_name", "init_module", "security_kernel_read_file",
"hooked_syscall", "hooked_proc_fops", "hooked_seq_ops", "hidden_inodes", "call_usermodehelper",
"hidden_kernel_module", "security_socket_bind", "net_packet_http_request",
"net_packet_http_response", "net_packet_dns_request", "net_packet_dns_response",
"container_create", "existing_container", "kill", "dirty_pipe_splice", "security_sb_mount",
"mknod", "chroot", "memfd_create", "memfd_secret", "container_remove"} or
(tracee.eventName == "security_socket_connect" and not tracee.sockaddr.sa_family == "AF_UNIX") or
(tracee.eventName == "ptrace" and tracee.args.ptrace.request_name in {"PTRACE_TRACEME",
"PTRACE_ATTACH", "PTRACE_POKETEXT", "PTRACE_POKEDATA", "PTRACE_POKEUSER"})"#;

pub fn spec_macros() -> Macros {
    let mut m = Macros::new();
    m.insert("important", IMPORTANT);
    m
}

/// (what, filter) for every filter the spec lists.
pub fn all_spec_filters() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = [
        ("button Packet", r#"not tracee or tracee.eventName == "net_packet_raw""#),
        ("button Event", r#"tracee.isSignature == false and not tracee.eventName == "net_packet_raw""#),
        ("button Important", "${important}"),
        ("button Signature", "tracee.isSignature == true"),
        (
            "button Network",
            r#"not tracee or tracee.eventName contains "net_" or tracee.eventName in {"security_socket_bind","security_socket_connect"}"#,
        ),
        ("button Container", "tracee.isContainer == true"),
        ("bookmark", r#"tracee.eventName == "sched_process_exec""#),
        ("bookmark", r#"tracee.processName == "bash""#),
        ("bookmark", r#"tracee.container.image == "ubuntu:latest""#),
        ("bookmark", r#"tracee.syscall == "execve""#),
        ("bookmark", "tracee.process_lineage.pid == 1234"),
        ("bookmark", r#"tracee.process_lineage.process_name == "bash""#),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    for sev in 0..4 {
        out.push((
            "color severity".into(),
            format!("tracee.isSignature and tracee.metadata.Properties.Severity == {sev}"),
        ));
    }
    let groups: &[&[&str]] = &[
        &["arch_prctl"],
        &["sched_process_exec"],
        &["magic_write"],
        &["ptrace", "process_vm_writev"],
        &[
            "shared_object_loaded",
            "symbols_loaded",
            "symbols_collision",
        ],
        &[
            "security_bpf_prog",
            "bpf_attach",
            "kprobe_attach",
            "kallsyms_lookup_name",
        ],
        &["init_module", "security_kernel_read_file"],
        &[
            "hooked_syscall",
            "hooked_proc_fops",
            "hooked_seq_ops",
            "hidden_inodes",
            "call_usermodehelper",
            "hidden_kernel_module",
        ],
        &["security_inode_unlink"],
        &[
            "security_socket_connect",
            "security_socket_accept",
            "socket_dup",
            "accept",
        ],
        &["security_socket_bind"],
        &["net_packet_http_request"],
        &["net_packet_dns_request", "net_packet_dns_response"],
        &["container_create", "existing_container"],
    ];
    for g in groups {
        let names: Vec<String> = g.iter().map(|n| format!("\"{n}\"")).collect();
        out.push((
            "color rule".into(),
            format!(
                "tracee.isSignature == false and tracee.eventName in {{{}}}",
                names.join(", ")
            ),
        ));
    }
    out
}

#[test]
fn every_spec_filter_compiles() {
    let m = spec_macros();
    for (what, text) in all_spec_filters() {
        if let Err(e) = Filter::compile(&text, &m) {
            panic!("{what}: {e}\n{}", e.render(&text));
        }
    }
    // The important macro also compiles on its own.
    Filter::compile(IMPORTANT, &Macros::new()).unwrap();
}

fn event(name: &str) -> Frame {
    Frame::new()
        .proto("frame")
        .proto("tracee")
        .str("tracee.eventName", name)
        .with("tracee.isSignature", FieldValue::Bool(false))
}

#[test]
fn buttons_and_important_mean_what_the_spec_says() {
    let m = spec_macros();
    let important = Filter::compile("${important}", &m).unwrap();
    let packet = Frame::new().proto("frame").proto("ip");
    let exec = event("sched_process_exec");
    let open = event("openat");
    let connect_inet = event("security_socket_connect").str("tracee.sockaddr.sa_family", "AF_INET");
    let connect_unix = event("security_socket_connect").str("tracee.sockaddr.sa_family", "AF_UNIX");
    let attach = event("ptrace").str("tracee.args.ptrace.request_name", "PTRACE_POKEUSER");
    let peek = event("ptrace").str("tracee.args.ptrace.request_name", "PTRACE_PEEKDATA");
    let sig = Frame::new()
        .proto("tracee")
        .str("tracee.eventName", "anti_debugging")
        .with("tracee.isSignature", FieldValue::Bool(true));
    for (frame, want, what) in [
        (&exec, true, "exec"),
        (&open, false, "openat"),
        (&connect_inet, true, "connect AF_INET"),
        (&connect_unix, false, "connect AF_UNIX"),
        (&attach, true, "PTRACE_POKEUSER"),
        (&peek, false, "PTRACE_PEEKDATA"),
        (&sig, true, "signature"),
        (&packet, false, "packet"),
    ] {
        assert_eq!(important.matches(frame), want, "important on {what}");
    }
    let packet_button =
        Filter::compile(r#"not tracee or tracee.eventName == "net_packet_raw""#, &m).unwrap();
    assert!(packet_button.matches(&packet));
    assert!(packet_button.matches(&event("net_packet_raw")));
    assert!(!packet_button.matches(&open));
    let network = &all_spec_filters()[4].1;
    let network = Filter::compile(network, &m).unwrap();
    assert!(network.matches(&event("net_packet_dns")));
    assert!(network.matches(&event("security_socket_bind")));
    assert!(network.matches(&packet));
    assert!(!network.matches(&open));
}
