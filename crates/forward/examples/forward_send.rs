//! Sends Tracee NDJSON from standard input to a Forward receiver with Osprey's sender, the way
//! `osprey trace -o forward:URL` does, and prints the delivery counters. The interop tests in
//! tests/forward/ drive it without needing root.
//!
//!     forward_send 'tcp://127.0.0.1:24224?tag=tracee&compress=gzip' < events.json

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::Arc;

use osprey_forward::sender::{Config, Sender};

fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: forward_send URL < events.ndjson");
        return ExitCode::from(2);
    };
    let cfg = match Config::from_url(&url) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("forward_send: {e}");
            return ExitCode::from(2);
        }
    };
    let endpoint = cfg.endpoint.clone();
    let mut sender = match Sender::start(cfg, Arc::new(|m: &str| eprintln!("forward_send: {m}"))) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("forward_send: {e}");
            return ExitCode::from(2);
        }
    };
    let mut stdin = std::io::stdin().lock();
    let mut line = Vec::with_capacity(4096);
    loop {
        line.clear();
        if stdin
            .read_until(b'\n', &mut line)
            .expect("reading standard input")
            == 0
        {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if line.is_empty() {
            continue;
        }
        let ns = osprey_event::peek_timestamp(&line).unwrap_or(0);
        if let Err(e) = sender.event(ns, &line) {
            eprintln!("forward_send: skipped a line that is not JSON: {e}");
        }
    }
    let stats = sender.finish();
    let _ = writeln!(
        std::io::stderr(),
        "forward_send: {}",
        stats.summary(&endpoint)
    );
    if stats.delivered == stats.events {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
