//! Compiles the BPF C under `src/bpf/` with clang and generates the libbpf-rs skeletons into
//! `OUT_DIR` (never committed). `vmlinux.h` comes from `src/bpf/vmlinux/<arch>/`.

use std::env;
use std::path::PathBuf;

use libbpf_cargo::SkeletonBuilder;

const PROGRAMS: &[&str] = &["osprey", "probe"];

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("CARGO_CFG_TARGET_ARCH is set by cargo");
    let vmlinux_dir = PathBuf::from("src/bpf/vmlinux").join(&arch);
    let target_arch = match arch.as_str() {
        "x86_64" => "x86",
        "aarch64" => "arm64",
        other => other,
    };
    for name in PROGRAMS {
        let src = format!("src/bpf/{name}.bpf.c");
        SkeletonBuilder::new()
            .source(&src)
            .clang_args([
                "-I".into(),
                vmlinux_dir.clone().into_os_string(),
                "-Isrc/bpf".into(),
                format!("-D__TARGET_ARCH_{target_arch}").into(),
                "-Wall".into(),
                "-Wno-unused-function".into(),
            ])
            .build_and_generate(out.join(format!("{name}.skel.rs")))
            .unwrap_or_else(|e| panic!("building {src}: {e:#}"));
        println!("cargo:rerun-if-changed={src}");
    }
    println!("cargo:rerun-if-changed=src/bpf/osprey.h");
    println!("cargo:rerun-if-changed={}", vmlinux_dir.display());
}
