//! A progress bar on standard error for long reads: shown only when standard error is a
//! terminal and the work has taken more than a second.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Watches `bytes_read` grow towards `total` (unknown for standard input).
    pub fn start(bytes_read: Arc<AtomicU64>, total: Option<u64>) -> Progress {
        let done = Arc::new(AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return Progress { done, thread: None };
        }
        let stop = done.clone();
        let thread = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                let started = Instant::now();
                let mut bar: Option<ProgressBar> = None;
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                    if started.elapsed() < Duration::from_secs(1) {
                        continue;
                    }
                    let bar = bar.get_or_insert_with(|| new_bar(total));
                    bar.set_position(bytes_read.load(Ordering::Relaxed));
                }
                if let Some(bar) = bar {
                    bar.finish_and_clear();
                }
            })
            .ok();
        Progress { done, thread }
    }

    /// Removes the bar.
    pub fn finish(mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn new_bar(total: Option<u64>) -> ProgressBar {
    match total {
        Some(total) => {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template("{spinner} reading {bytes}/{total_bytes} {wide_bar} {bytes_per_sec}, {eta} left")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        }
        None => {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} reading {bytes} ({bytes_per_sec})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        }
    }
}
