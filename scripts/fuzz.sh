#!/usr/bin/env bash
# Runs each fuzz target (fuzz/fuzz_targets/) under libFuzzer for
# FUZZ_SECONDS (default 60) each, on the stable toolchain (cargo-fuzz with
# no sanitizer needs no nightly). New inputs go to fuzz/target/corpus/<t>
# (the committed seeds in fuzz/corpus/<t> are read, never written); a crash
# or hang is saved in fuzz/artifacts/<t>/ and fails the run.
# Knobs: FUZZ_SECONDS, FUZZ_TARGETS (space-separated; default all).
# See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-config_json config_check shell_words http_response status_request}
if ! command -v cargo-fuzz >/dev/null; then
  echo "fuzz: installing cargo-fuzz from crates.io" >&2
  cargo install cargo-fuzz --locked --version '^0.13' >&2
fi
# No sanitizer: the code under test is safe Rust, so ASan finds nothing
# there that a panic does not, and costs 2-3x the executions. Debug
# assertions (-a) turn integer overflow into a crash.
fuzz=(cargo fuzz run --sanitizer none --debug-assertions)
cargo fuzz build --sanitizer none --debug-assertions >&2
mkdir -p target/logs
failed=0
for t in $targets; do
  mkdir -p "target/corpus/$t"
  log=target/logs/$t.log
  echo "fuzz: $t for ${seconds}s (log: fuzz/$log)" >&2
  # -timeout: an input taking over 10 s is a hang; -rss_limit_mb: 2 GiB is a leak.
  if ! "${fuzz[@]}" "$t" "target/corpus/$t" "corpus/$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"$log" 2>&1; then
    echo "fuzz: $t FAILED: see fuzz/$log and fuzz/artifacts/$t/" >&2
    failed=1
  fi
  # The summary: executions, edges covered, corpus size.
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  echo "fuzz: $t: ${done_line:-no summary (see the log)}" >&2
done
exit $failed
