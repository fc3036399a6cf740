//! Every call into the OS that needs `unsafe` lives below this module, one
//! small wrapper per call, each with a SAFETY comment stating the invariant
//! it relies on. The rest of vigil is safe Rust.

pub mod clock;
pub mod process;
pub mod signals;
pub mod socket;
pub mod spawn;
pub mod stderr;
