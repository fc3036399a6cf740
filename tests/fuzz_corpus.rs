//! The fuzz smoke pass: every committed corpus input of every fuzz target
//! (fuzz/corpus/<target>/) through the same checks the fuzzers run
//! (fuzz/src/lib.rs), as a plain test, no fuzzer needed; and the
//! differential of vigil's JSON reader against serde_json on every input of
//! every corpus. Then each crash or hang the fuzzers found, by name.
//! See docs/fuzzing.md.

#[allow(dead_code, unreachable_pub)]
#[path = "../fuzz/src/lib.rs"]
mod checks;

use checks::Agreement;
use std::path::{Path, PathBuf};

const TARGETS: [&str; 5] = [
    "config_json",
    "config_check",
    "shell_words",
    "http_response",
    "status_request",
];

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
}

/// Runs `check` on each input of `target`'s corpus, naming the input that fails.
fn pass(target: &str, check: fn(&[u8])) {
    for file in corpus(target) {
        let data = std::fs::read(&file).unwrap();
        let run = std::panic::catch_unwind(|| check(&data));
        assert!(run.is_ok(), "{target}: {} fails", file.display());
    }
}

#[test]
fn corpus_config_json() {
    pass("config_json", checks::config_json);
}

#[test]
fn corpus_config_check() {
    pass("config_check", checks::config_check);
}

#[test]
fn corpus_shell_words() {
    pass("shell_words", checks::shell_words);
}

#[test]
fn corpus_http_response() {
    pass("http_response", checks::http_response);
}

#[test]
fn corpus_status_request() {
    pass("status_request", checks::status_request);
}

/// The differential on every input of every corpus: each either agrees with
/// serde_json or differs in one of the documented classes (`Agreement`), and
/// the corpus holds an example of each class, so none is untested.
#[test]
fn json_differential_on_every_input() {
    let mut seen = Vec::new();
    for target in TARGETS {
        for file in corpus(target) {
            let data = std::fs::read(&file).unwrap();
            let run = std::panic::catch_unwind(|| checks::json_differential(&data));
            let agreement = run.unwrap_or_else(|_| panic!("{} differs", file.display()));
            if !seen.contains(&agreement) {
                seen.push(agreement);
            }
        }
    }
    for class in [
        Agreement::BothAccept,
        Agreement::BothReject,
        Agreement::VigilKeepsHugeNumber,
        Agreement::VigilRejectsDuplicateKey,
        Agreement::VigilRejectsDepth,
    ] {
        assert!(seen.contains(&class), "no corpus input shows {class:?}");
    }
}

// What the fuzzers found, each as it was minimized. The inputs are also in
// the corpus (fuzz/corpus/<target>/found-*), so the fuzzers start from them.

/// config_check: a key holding `\n` (`"co\ntainers"`) put a raw newline in
/// the diagnostic's path, so one error took two lines of stderr (and of the
/// log). Diagnostics now escape control characters.
#[test]
fn found_key_with_newline_made_a_two_line_error() {
    checks::config_check(br#"{"co\ntainers": ?}"#);
    checks::config_check(b"{\"containers\": [{\"command\": \"a\", \"port\": \"\\u001b[2J\\n\"}]}");
}

/// http_response: `HTTP/1.1 050 ...` is read as status 50, a failure (as Go's
/// client reads it); the check wrongly wanted at least 100.
#[test]
fn found_status_050_is_a_failure_not_a_crash() {
    checks::http_response(
        b"HTTP/1.1 050 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    );
}
