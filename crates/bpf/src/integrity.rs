//! Reading kernel words for the integrity checks (hooked_syscall, hooked_proc_fops): the
//! program of `src/bpf/integrity.bpf.c`, run with `BPF_PROG_TEST_RUN` in the calling thread
//! (nothing is attached). What the words mean — which symbols they should point to — is
//! osprey-trace's `integrity` module.

use std::os::fd::AsRawFd;

use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, ProgramInput};

use crate::integrity_skel::{IntegritySkel, IntegritySkelBuilder};
use crate::{leak_object, summarize_log, take_log};

/// Words one table read returns at most (`MAX_WORDS` in integrity.bpf.c).
pub const MAX_WORDS: usize = 512;

const READ_TABLE: u64 = 1;
const READ_FILE_OPS: u64 = 2;

/// The loaded reader.
pub struct KernelReader {
    skel: IntegritySkel<'static>,
}

/// A directory's operations as the kernel holds them for an open file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirOps {
    /// `file_operations.iterate_shared` (0 when unset).
    pub iterate_shared: u64,
    /// `file_operations.iterate` (0 when unset, or on 6.6+ where the field is gone).
    pub iterate: u64,
}

impl KernelReader {
    /// Loads the program (root or `CAP_BPF` + `CAP_PERFMON`).
    pub fn load() -> Result<KernelReader, String> {
        let _ = take_log();
        let open = IntegritySkelBuilder::default()
            .open(leak_object())
            .map_err(|e| format!("open: {e}"))?;
        let skel = open
            .load()
            .map_err(|e| format!("{e}{}", summarize_log(&take_log())))?;
        Ok(KernelReader { skel })
    }

    /// `n` words (at most [`MAX_WORDS`]) of kernel memory from `addr`.
    pub fn read_words(&self, addr: u64, n: usize) -> Result<Vec<u64>, String> {
        let n = n.min(MAX_WORDS);
        let words = self.run([READ_TABLE, addr, n as u64])?;
        if words.len() != n {
            return Err(format!("the kernel refused to read {n} words at {addr:#x}"));
        }
        Ok(words)
    }

    /// The directory operations of the file open at `file` in this process.
    pub fn dir_ops(&self, file: &impl AsRawFd) -> Result<DirOps, String> {
        let fd = u64::try_from(file.as_raw_fd()).map_err(|_| "a negative fd".to_string())?;
        match self.run([READ_FILE_OPS, fd, 0])?[..] {
            [iterate_shared, iterate] => Ok(DirOps {
                iterate_shared,
                iterate,
            }),
            _ => Err("the kernel gave no file operations for the file".into()),
        }
    }

    /// Runs the program with `args` as its raw tracepoint arguments; the words it read.
    fn run(&self, args: [u64; 3]) -> Result<Vec<u64>, String> {
        let mut ctx: Vec<u8> = args.iter().flat_map(|a| a.to_ne_bytes()).collect();
        let input = ProgramInput {
            context_in: Some(&mut ctx),
            ..Default::default()
        };
        self.skel
            .progs
            .read_kernel_words
            .test_run(input)
            .map_err(|e| format!("BPF_PROG_TEST_RUN: {e}"))?;
        let value = self
            .skel
            .maps
            .kernel_words
            .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
            .map_err(|e| format!("reading the answer: {e}"))?
            .ok_or("no answer")?;
        let mut words = value
            .chunks_exact(8)
            .map(|c| u64::from_ne_bytes(c.try_into().expect("chunks of 8")));
        let n = words.next().unwrap_or(0) as usize;
        Ok(words.take(n.min(MAX_WORDS)).collect())
    }
}
