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

/// Drops vigil's code and read-only data pages from its page tables. Best
/// effort: on failure nothing changes but the resident set.
pub(crate) fn release_code() {
    let range = code_range();
    if range.is_empty() {
        return;
    }
    // SAFETY: the range covers only the executable's own read-only, private,
    // file-backed mappings (headers, read-only data and code, which is
    // never written); MADV_DONTNEED on them only unmaps pages, which the next
    // access maps again from the file's page cache with the same contents.
    unsafe {
        libc::madvise(
            range.start as *mut libc::c_void,
            range.end - range.start,
            libc::MADV_DONTNEED,
        );
    }
}
