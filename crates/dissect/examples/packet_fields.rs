//! Prints field values of every frame of a capture like `tshark -T fields -E occurrence=a`,
//! or compares them with tshark's (`--diff`): the tool behind the interop test, for checking
//! new captures by hand.
//!
//! ```text
//! cargo run --example packet_fields -- FILE ip.src tcp.flags _ws.col.Info
//! cargo run --example packet_fields -- --diff FILE ip.src tcp.flags -- -o tcp.relative_sequence_numbers:FALSE
//! ```

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let diff = args.first().is_some_and(|a| a == "--diff");
    if diff {
        args.remove(0);
    }
    let (args, options) = match args.iter().position(|a| a == "--") {
        Some(i) => (args[..i].to_vec(), args[i + 1..].to_vec()),
        None => (args, Vec::new()),
    };
    let Some((file, fields)) = args.split_first() else {
        eprintln!("usage: packet_fields [--diff] FILE FIELD... [-- TSHARK OPTIONS]");
        std::process::exit(2);
    };
    let path = PathBuf::from(file);
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    let ours = common::osprey_rows(&path, &fields);
    if !diff {
        for row in ours {
            println!("{}", row.join("\t"));
        }
        return;
    }
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let theirs = common::tshark_rows(&path, &fields, &options);
    let diffs = common::differences(&fields, &ours, &theirs);
    for d in &diffs {
        println!("{d}");
    }
    println!("{} frames, {} differences", ours.len(), diffs.len());
    std::process::exit(i32::from(!diffs.is_empty()));
}
