//! The `vigil` binary: see `sys/entry.rs` for why there is no Rust `main`.
#![no_main]

#[path = "sys/entry.rs"]
mod entry;
