#![no_main]
// See fuzz/src/lib.rs for what is checked; docs/fuzzing.md for how to run.
libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::shell_words(data));
