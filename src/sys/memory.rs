//! Start-up code and stack leave vigil's resident set once start-up is over.
//!
//! A page of code, once touched, stays mapped (and counted in RSS) for the
//! life of the process, and the kernel maps code in whole 64 KiB windows or
//! page-cache folios around each touch: configuration parsing, option
//! parsing and set-up, run once, kept ~150 KiB resident. `release_code`
//! drops every page of vigil's code and read-only data from its page tables
//! (`MADV_DONTNEED` on a private file mapping): the pages stay in the page
//! cache, and those the event loop runs are mapped again at their next touch,
//! as they were at the first. Nothing is lost or changed; only what is never
//! touched again stops counting. The stack below the current frame goes too
//! (start-up's deep frames; `startup::prepare` keeps them off the loop's
//! path).
//!
//! The kernel would still map, at each of those touches, every neighbour the
//! page cache holds (fault-around, whole large folios), and start-up filled
//! it with nearly the whole binary: so the binary's cached pages that nobody
//! maps are dropped too (`POSIX_FADV_DONTNEED` on `/proc/self/exe`), in one
//! block of system calls that leaves only its own page cached (`drop_pages`
//! says why). From then on only the pages vigil touches come back, read from
//! the file. (The range is also marked `MADV_RANDOM`, but kernels since 6.16
//! ignore that for executable mappings and read up to 128 KiB ahead of each
//! miss, within the mapping: so the loop's code sits at the end of `.text`,
//! scripts/link-static.)
//! The eviction waits until vigil has run for 2 s (the loop's second
//! release): a vigil that ends sooner (`vigil true`, a test) leaves its
//! binary cached for the next start, and read-ahead still in flight at
//! start-up has landed by then. The price: pages the loop first touches
//! after that (the first forwarded signal's path) are read from the file
//! once. Three probes and the status socket, steady state: 616-620 KiB
//! before the one-block eviction and the lean loop frames, 412-516 KiB after
//! (BENCHMARKS.md, session 2026-11-30 fourth).

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
/// the dead part of its stack (below the current frame); with `evict`, also
/// the binary's cached pages nobody maps. Best effort: on failure nothing
/// changes but the resident set.
pub(crate) fn release_code(evict: bool) {
    let range = code_range();
    if range.is_empty() {
        return;
    }
    // Opened and found before the pages go: nothing after that runs outside
    // the one page of `drop_pages`.
    let exe = if evict {
        std::fs::File::open("/proc/self/exe").ok()
    } else {
        None
    };
    let fd = exe.as_ref().map_or(-1, std::os::fd::AsRawFd::as_raw_fd);
    let stack = main_stack().unwrap_or(0..0);
    drop_pages(&range, fd, &stack);
}

/// The main thread's stack mapping, from `/proc/self/maps`.
fn main_stack() -> Option<Range<usize>> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let line = maps.lines().find(|l| l.ends_with("[stack]"))?;
    let (lo, hi) = line.split_whitespace().next()?.split_once('-')?;
    Some(usize::from_str_radix(lo, 16).ok()?..usize::from_str_radix(hi, 16).ok()?)
}

/// Unmaps `code` and, when the stack pointer is on the main thread's
/// `stack`, that stack from its lowest page to a page below the stack
/// pointer; with a descriptor of the binary (`exe >= 0`) drops its cached
/// pages too, so precisely that the page cache keeps only this function's
/// own two pages.
///
/// Why it is a single block of system calls: code that runs between the
/// unmapping and the page-cache drop faults its page back in, and the kernel
/// maps, with it, every cached neighbour in its 64 KiB fault-around window,
/// which the drop then cannot let go of (the previous version, with library
/// calls in between, kept 127 of the binary's 233 pages cached and about 30
/// of them mapped in steady state). Here only this block runs: after the
/// first drop it unmaps its window's neighbours again and drops once more.
#[cfg(target_arch = "x86_64")]
fn drop_pages(code: &Range<usize>, exe: i32, stack: &Range<usize>) {
    // SAFETY: only system calls, on addresses that hold nothing live:
    // `code` covers the executable's own read-only, private, file-backed
    // mappings (headers, read-only data, code: never written), from which
    // MADV_DONTNEED only removes page-table entries (the next access maps
    // the same contents again from the file); the stack range is only taken
    // when the stack pointer lies in the main thread's stack mapping (never
    // on another thread's stack) and ends at least one page below it, where
    // no frame is (the kernel gives zeroed pages there at the next touch, as
    // for untouched stack);
    // POSIX_FADV_DONTNEED and MADV_RANDOM change only caching. The block
    // uses no memory (registers only) and restores the stack pointer it
    // never moves; every register a system call clobbers is declared.
    unsafe {
        std::arch::asm!(
            // This block's page (it may run into the next one: two kept).
            "lea r11, [rip]",
            "and r11, -4096",
            "mov r15, r11",
            // madvise(code, MADV_DONTNEED)
            "mov eax, 28",
            "mov rdi, r12",
            "mov rsi, r13",
            "sub rsi, r12",
            "mov edx, 4",
            "syscall",
            // madvise(stack start .. a page below the stack pointer,
            // MADV_DONTNEED), if the stack pointer is on that stack
            "cmp rsp, r9",
            "jae 2f",
            "cmp rsp, r14",
            "jbe 2f",
            "lea rsi, [rsp - 4096]",
            "and rsi, -4096",
            "cmp rsi, r14",
            "jbe 2f",
            "mov eax, 28",
            "mov rdi, r14",
            "sub rsi, r14",
            "mov edx, 4",
            "syscall",
            "2:",
            "test r8, r8",
            "js 3f",
            // fadvise64(exe, 0, 0, POSIX_FADV_DONTNEED): everything not mapped
            "mov eax, 221",
            "mov edi, r8d",
            "xor esi, esi",
            "xor edx, edx",
            "mov r10d, 4",
            "syscall",
            // madvise(code start .. this page, MADV_DONTNEED)
            "mov eax, 28",
            "mov rdi, r12",
            "mov rsi, r15",
            "sub rsi, r12",
            "mov edx, 4",
            "syscall",
            // madvise(two pages on .. code end, MADV_DONTNEED)
            "mov eax, 28",
            "lea rdi, [r15 + 8192]",
            "mov rsi, r13",
            "sub rsi, rdi",
            "jbe 4f",
            "mov edx, 4",
            "syscall",
            "4:",
            // fadvise64 again: the fault-around window of this page is
            // unmapped now, so only these two pages stay cached.
            "mov eax, 221",
            "mov edi, r8d",
            "xor esi, esi",
            "xor edx, edx",
            "mov r10d, 4",
            "syscall",
            "3:",
            // madvise(code, MADV_RANDOM): no read-ahead on later faults
            "mov eax, 28",
            "mov rdi, r12",
            "mov rsi, r13",
            "sub rsi, r12",
            "mov edx, 1",
            "syscall",
            in("r12") code.start,
            in("r13") code.end,
            in("r14") stack.start,
            in("r9") stack.end,
            in("r8") exe as i64,
            out("rax") _, out("rcx") _, out("rdx") _, out("rsi") _, out("rdi") _,
            out("r10") _, out("r11") _, out("r15") _,
            options(nostack),
        );
    }
}

/// Elsewhere: the same calls through the C library (its pages may stay
/// cached; correct, only less precise).
#[cfg(not(target_arch = "x86_64"))]
fn drop_pages(code: &Range<usize>, exe: i32, _stack: &Range<usize>) {
    let len = code.end - code.start;
    // SAFETY: as for the x86_64 version: only page-table entries of the
    // executable's own read-only file mappings are removed.
    unsafe {
        libc::madvise(code.start as *mut libc::c_void, len, libc::MADV_DONTNEED);
        libc::madvise(code.start as *mut libc::c_void, len, libc::MADV_RANDOM);
        if exe >= 0 {
            libc::posix_fadvise(exe, 0, 0, libc::POSIX_FADV_DONTNEED);
        }
    }
}
