//! Start-up code leaves vigil's resident set once start-up is over.
//!
//! A page of code, once touched, stays mapped (and counted in RSS) for the
//! life of the process, and the kernel maps code in whole 64 KiB windows or
//! page-cache folios around each touch: configuration parsing, option
//! parsing and set-up, run once, kept ~150 KiB resident. `release_code`
//! drops every page of vigil's code and read-only data from its page tables
//! (`MADV_DONTNEED` on a private file mapping): the pages stay in the page
//! cache, and those the event loop runs are mapped again at their next touch,
//! as they were at the first. Nothing is lost or changed; only what is never
//! touched again stops counting.
//!
//! The kernel would still map, at each of those touches, every neighbour the
//! page cache holds (fault-around, whole large folios), and start-up filled
//! it with nearly the whole binary: so the range is also marked
//! `MADV_RANDOM` (no read-ahead) and the binary's cached pages that nobody
//! maps are dropped (`POSIX_FADV_DONTNEED` on `/proc/self/exe`). From then on
//! only the pages vigil touches come back, each read from the file once.
//! The eviction waits until vigil has run for 2 s (the loop's second
//! release): a vigil that ends sooner (`vigil true`, a test) leaves its
//! binary cached for the next start, and read-ahead still in flight at
//! start-up has landed by then. The price: pages the loop first touches
//! after that (the first forwarded signal's path) are read from the file
//! once. Three probes and the status socket, steady state: 620-740 KiB ->
//! 616-620 KiB (BENCHMARKS.md, session 2026-11-30 third).

use std::ops::Range;

extern "C" {
    // The linker's: the first byte of the executable's image and the end of
    // its code (GNU ld and lld define both for a static executable).
    static __executable_start: u8;
    static etext: u8;
}

/// The page-aligned range from the image's start to the end of its code.
fn code_range() -> Range<usize> {
    // Only the addresses of the linker-defined symbols are taken; nothing is
    // read through them.
    let (start, end) = (
        std::ptr::addr_of!(__executable_start) as usize,
        std::ptr::addr_of!(etext) as usize,
    );
    let page = 4096;
    (start & !(page - 1))..(end + page - 1) & !(page - 1)
}

/// Drops vigil's code and read-only data pages from its page tables, and
/// with `evict` the binary's cached pages nobody maps. Best effort: on
/// failure nothing changes but the resident set.
pub(crate) fn release_code(evict: bool) {
    let range = code_range();
    if range.is_empty() {
        return;
    }
    // SAFETY: the range covers only the executable's own read-only, private,
    // file-backed mappings (headers, read-only data and code, which is
    // never written); MADV_DONTNEED on them only unmaps pages, which the next
    // access maps again from the file's page cache with the same contents;
    // MADV_RANDOM only stops read-ahead on those faults.
    unsafe {
        libc::madvise(
            range.start as *mut libc::c_void,
            range.end - range.start,
            libc::MADV_DONTNEED,
        );
        libc::madvise(
            range.start as *mut libc::c_void,
            range.end - range.start,
            libc::MADV_RANDOM,
        );
    }
    // The page cache still holds what start-up read (and read ahead): a fault
    // would map its neighbours too (fault-around, whole large folios). Let
    // go of the cached pages nobody maps, so that from now on only the pages
    // vigil touches are read back and mapped.
    if !evict {
        return;
    }
    if let Ok(exe) = std::fs::File::open("/proc/self/exe") {
        let _ = nix::fcntl::posix_fadvise(
            std::os::fd::AsRawFd::as_raw_fd(&exe),
            0,
            0,
            nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
        );
    }
}
