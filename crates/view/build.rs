//! Points the embedded assets at the web UI's build, `ui/dist` (made by `npm ci && npm run
//! build` in `ui/`, which `scripts/setup.sh` runs). This script runs nothing itself: without
//! `ui/dist`, an empty folder is embedded and the binary says how to build the UI.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let dist = manifest.join("../../ui/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    println!("cargo:rerun-if-env-changed=OSPREY_UI_DIST");
    let folder = if let Some(d) = std::env::var_os("OSPREY_UI_DIST") {
        PathBuf::from(d)
    } else if dist.join("index.html").is_file() {
        dist
    } else {
        let empty = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("no-ui");
        std::fs::create_dir_all(&empty).expect("OUT_DIR is writable");
        empty
    };
    println!("cargo:rustc-env=OSPREY_UI_ASSETS={}", folder.display());
}
