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

/// `mi_option_allow_thp` in mimalloc 3's `mi_option_t` (mimalloc.h).
const MI_OPTION_ALLOW_THP: std::ffi::c_int = 43;

extern "C" {
    // mimalloc's own; `libmimalloc-sys` declares them only with its `extended` feature.
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    fn mi_collect(force: bool);
    #[cfg(test)]
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
}

/// No transparent huge pages, for the commands that read recordings or write Parquet
/// (`osprey read`, `osprey detect`, `osprey view`, `osprey receive`). On this kernel a huge page
/// is zeroed whole when a byte of it is first touched, again after mimalloc returns it, and the
/// statistics build, free and rebuild large trees touching memory sparsely: the fourteen Tracee
/// views over a million events had the kernel zero gigabytes (1,100–1,500 faults of 2 MiB pages,
/// 10–20% of the run's samples in `clear_page_erms`); without huge pages their system time is
/// 0.15–0.3 s instead of 0.4–1.1 s, and 10–18% less CPU in all. No change for `-T text` or
/// `detect`. (Keeping freed memory instead, mimalloc's purge delay -1, saved as much with huge
/// pages and nothing more without them.) `osprey view`'s index pass, which feeds the Statistics
/// windows' views, had 18% of its samples there; `osprey receive -w lake:`, whose Parquet
/// buffers grow and are freed file after file, 56%.
pub fn disable_huge_pages() {
    // SAFETY: sets an integer option (mimalloc reads it on each use) and the process's own
    // THP flag, which only changes how later page faults are served.
    unsafe {
        mi_option_set(MI_OPTION_ALLOW_THP, 0);
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Returns the calling thread's free memory to the system now (`mi_collect(true)`): for a
/// long-running server after a large transient computation, whose freed pages mimalloc would
/// otherwise keep for reuse.
pub fn release_free_memory() {
    // SAFETY: mi_collect only walks the calling thread's heap and the abandoned segments.
    unsafe { mi_collect(true) }
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
    fn the_option_set_is_the_one_meant() {
        if std::env::vars_os().any(|(k, _)| k.to_string_lossy().starts_with("MIMALLOC_")) {
            return;
        }
        // The default `MIMALLOC_VERBOSE=1` lists, read at the index used; and the one set.
        // SAFETY: reads and sets an integer option.
        unsafe {
            assert_eq!(mi_option_get(MI_OPTION_ALLOW_THP), 1, "allow_thp");
            disable_huge_pages();
            assert_eq!(mi_option_get(MI_OPTION_ALLOW_THP), 0, "allow_thp");
        }
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
