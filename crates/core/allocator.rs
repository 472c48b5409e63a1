//! The global allocator: mimalloc, entered through its plain `malloc` for ordinary alignments.
//!
//! Dissection allocates many small, short-lived values on every thread; mimalloc's per-thread
//! free lists make that markedly cheaper than glibc's allocator (see BENCHMARKS.md). The
//! `mimalloc` crate's allocator calls `mi_malloc_aligned` for everything, and mimalloc 3 takes
//! its slow, generic path there for every block above 1 KiB (a frame's line, a tree's items):
//! about a hundred instructions more per allocation, measured with callgrind. Every mimalloc
//! block is aligned to at least a machine word, so word-aligned layouts (nearly all) use the
//! plain entry points.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_t` (mimalloc.h).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

extern "C" {
    // mimalloc's own; `libmimalloc-sys` declares it only with its `extended` feature.
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    #[cfg(test)]
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
}

/// Keeps freed memory in the process for reuse instead of returning it to the kernel, for
/// commands that read a recording and end (`osprey read`, `osprey detect`): their memory peaks
/// are bounded, and the statistics free and rebuild large trees. mimalloc returns freed memory
/// after a second, and on this kernel that memory comes back as transparent huge pages that the
/// kernel zeroes again on the next touch: the fourteen Tracee views over a million events
/// zeroed about 3 GB that way (1,100–1,500 faults against 430 with this, 0.4 s of CPU).
pub fn keep_freed_memory() {
    // SAFETY: sets an integer option; mimalloc reads its options on each use.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

/// The alignment every mimalloc block has: block sizes are multiples of a word.
const WORD: usize = std::mem::size_of::<usize>();

/// mimalloc behind Rust's allocator interface.
pub struct Mimalloc;

// SAFETY: each method hands the layout's size (and, above word alignment, its alignment) to the
// matching mimalloc function, which returns null on failure as `GlobalAlloc` requires; blocks
// are freed with `mi_free`, which takes blocks from any of these functions.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= WORD {
            mi::mi_malloc(layout.size()) as *mut u8
        } else {
            mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= WORD {
            mi::mi_zalloc(layout.size()) as *mut u8
        } else {
            mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi::mi_free(ptr as *mut c_void)
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= WORD {
            mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8
        } else {
            mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads an integer option.
        assert_eq!(
            unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) },
            1000,
            "mimalloc's default"
        );
    }

    #[test]
    fn blocks_have_the_alignment_asked_for() {
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 7, 8, 24, 1000, 1025, 5000, 100_000] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a non-zero size; the block is freed with its layout.
                unsafe {
                    let p = Mimalloc.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size}, align {align}");
                    p.write_bytes(0xab, size);
                    let q = Mimalloc.realloc(p, layout, size * 3);
                    assert_eq!(
                        q as usize % align,
                        0,
                        "realloc to {}, align {align}",
                        size * 3
                    );
                    assert_eq!(*q.add(size - 1), 0xab);
                    Mimalloc.dealloc(q, Layout::from_size_align(size * 3, align).unwrap());
                    let z = Mimalloc.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0);
                    assert!(std::slice::from_raw_parts(z, size).iter().all(|&b| b == 0));
                    Mimalloc.dealloc(z, layout);
                }
            }
        }
    }
}
