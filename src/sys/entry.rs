//! The process entry point. The binary is built with `#![no_main]`, so the C
//! runtime calls this `main` directly and Rust's runtime start-up does not run:
//! that start-up would set SIGPIPE to ignored and reopen closed fds 0-2, and a
//! command run under vigil must inherit exactly what vigil inherited.

use std::ffi::{CStr, OsString};
use std::os::unix::ffi::OsStringExt;

#[no_mangle]
extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    let count = usize::try_from(argc).unwrap_or(0);
    let mut args = (0..count).map(|i| {
        // SAFETY: the C runtime passes argc valid, NUL-terminated strings in
        // argv[0..argc]; they live for the whole process.
        let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
        OsString::from_vec(arg.to_bytes().to_vec())
    });
    let argv0 = args.next().unwrap_or_default();
    vigil::main(argv0, args.collect())
}
