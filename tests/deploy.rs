//! deploy/: the DaemonSet manifest checked against Kubernetes' own schemas (PyPI
//! `kubernetes-validate`, strict: an unknown or misspelled field fails), with the least
//! privileges docs/fleet.md promises, and arguments `osprey trace` accepts.

use std::path::Path;
use std::process::Command;

use crate::util::{osprey, python};

const MANIFEST: &str = "deploy/kubernetes/daemonset.yaml";

fn manifest() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(MANIFEST)).unwrap()
}

#[test]
fn the_daemonset_validates_against_kubernetes_schemas() {
    let validate = python().with_file_name("kubernetes-validate");
    for version in ["1.28", "1.30", "1.33"] {
        let out = Command::new(&validate)
            .args(["--strict", "-k", version])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(MANIFEST))
            .output()
            .expect("run kubernetes-validate (scripts/setup.sh installs it into the venv)");
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "Kubernetes {version}:\n{text}");
        for resource in [
            "namespace/osprey",
            "serviceaccount/osprey",
            "daemonset/osprey",
        ] {
            assert!(
                text.contains(&format!("passed for resource {resource}")),
                "Kubernetes {version}: {resource} not checked:\n{text}"
            );
        }
    }
}

#[test]
fn the_daemonset_asks_for_the_least_privileges_that_work() {
    let m = manifest();
    let caps = r#"add: ["BPF", "PERFMON", "SYS_RESOURCE", "SYS_PTRACE", "NET_ADMIN"]"#;
    for needed in [
        r#"drop: ["ALL"]"#,
        caps,
        "privileged: false",
        "allowPrivilegeEscalation: false",
        "readOnlyRootFilesystem: true",
        "automountServiceAccountToken: false",
        "hostPID: true",
    ] {
        assert!(m.contains(needed), "{needed}");
    }
    // (the comments explain why SYS_ADMIN is not asked for)
    let settings: String = m
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    for refused in ["SYS_ADMIN", "hostNetwork", "privileged: true", "hostIPC"] {
        assert!(!settings.contains(refused), "{refused}");
    }
}

#[test]
fn the_daemonset_arguments_are_osprey_trace_arguments() {
    let m = manifest();
    let args: Vec<String> = m
        .lines()
        .skip_while(|l| l.trim() != "args:")
        .skip(1)
        .take_while(|l| l.trim_start().starts_with("- ") || l.trim_start().starts_with('#'))
        .filter(|l| l.trim_start().starts_with("- "))
        .map(|l| {
            l.trim_start()[2..]
                .replace("$(POD_IP)", "127.0.0.1")
                .replace("$(NODE_NAME)", "node-1")
        })
        .collect();
    assert_eq!(args.first().map(String::as_str), Some("trace"), "{args:?}");
    assert!(args.len() >= 4, "{args:?}");
    // --help after them: clap checks every argument first, then prints the help and exits 0.
    let mut given: Vec<&str> = args.iter().map(String::as_str).collect();
    given.push("--help");
    let out = osprey(&given);
    assert!(
        out.status.success(),
        "{given:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut bad = given.clone();
    bad.insert(1, "--metricz=127.0.0.1:1");
    assert!(
        !osprey(&bad).status.success(),
        "a misspelled option must fail"
    );
}
