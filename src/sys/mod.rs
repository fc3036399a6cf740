//! Every call into the OS that needs `unsafe` lives below this module, one
//! small wrapper per call, each with a SAFETY comment stating the invariant
//! it relies on. The rest of vigil is safe Rust.

pub(crate) mod clock;
pub(crate) mod memory;
pub(crate) mod notify;
pub(crate) mod privileges;
pub(crate) mod process;
pub(crate) mod signals;
pub(crate) mod socket;
pub(crate) mod spawn;
pub(crate) mod stderr;
