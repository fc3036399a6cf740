#!/usr/bin/env bash
# make bench: vigil side by side with tini-static, dumb-init and catatonit, on
# the same machine in the same run. Usage: bench/run.sh [STATIC_DIR]
# (STATIC_DIR holds the static vigil and vigil-testapp; default target/static).
# Raw results go to bench/out/ (gitignored); the markdown table is printed and
# saved as bench/out/results.md. BENCHMARKS.md explains every measurement.
#
# Knobs (environment): BENCH_STARTUP_RUNS (300), BENCH_REAP_RUNS (15),
# BENCH_ORPHANS (10000), BENCH_LATENCY_RUNS (200), BENCH_PROBE_ATTEMPTS (10000),
# BENCH_PROBE_SCHEDULE_ATTEMPTS (600), BENCH_RESTARTS (1000), BENCH_STATUS_SECONDS
# (5: each status socket request load), BENCH_STATUS_TRANSITIONS (200 readiness
# transitions per observer), BENCH_STATUS_SCHEDULE_SECONDS (30: probe schedule error
# without, then with socket load), BENCH_STATUS_READY_RUNS (200 runs of `vigil
# ready`), BENCH_ONLY (inits, probes, restart or status: one part only; default all four).
set -euo pipefail
cd "$(dirname "$0")/.."
static=$(realpath "${1:-target/static}")
out=bench/out
STARTUP_RUNS=${BENCH_STARTUP_RUNS:-300}
REAP_RUNS=${BENCH_REAP_RUNS:-15}
ORPHANS=${BENCH_ORPHANS:-10000}
LATENCY_RUNS=${BENCH_LATENCY_RUNS:-200}
PROBE_ATTEMPTS=${BENCH_PROBE_ATTEMPTS:-10000}
SCHEDULE_ATTEMPTS=${BENCH_PROBE_SCHEDULE_ATTEMPTS:-600}
RESTARTS=${BENCH_RESTARTS:-1000}
STATUS_SECONDS=${BENCH_STATUS_SECONDS:-5}
STATUS_TRANSITIONS=${BENCH_STATUS_TRANSITIONS:-200}
STATUS_SCHEDULE_SECONDS=${BENCH_STATUS_SCHEDULE_SECONDS:-30}
STATUS_READY_RUNS=${BENCH_STATUS_READY_RUNS:-200}
ONLY=${BENCH_ONLY:-}
case $ONLY in '' | inits | probes | restart | status) ;; *) echo "bench: BENCH_ONLY is inits, probes, restart or status, not '$ONLY'" >&2; exit 1 ;; esac
VIGIL=$static/vigil
APP=$static/vigil-testapp
TRUE=/bin/true

say() { echo "bench: $*" >&2; }

# --- tools -------------------------------------------------------------------
missing=()
for t in tini-static:tini dumb-init:dumb-init catatonit:catatonit hyperfine:hyperfine curl:curl ip:iproute2 gcc:gcc; do
  command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
done
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y "${missing[@]}" >&2 || { apt-get update >&2 && apt-get install -y "${missing[@]}" >&2; }
fi
for t in unshare python3 "$VIGIL" "$APP"; do
  command -v "$t" >/dev/null || { say "missing $t"; exit 1; }
done
if ! unshare --pid --fork --mount-proc "$TRUE" 2>/dev/null; then
  say "unshare --pid --fork --mount-proc does not work here (needs root / CAP_SYS_ADMIN)"
  exit 1
fi

# The inits, each as the prefix put in front of the command it wraps. As PID 1
# none needs -s; tini and vigil take "--", dumb-init takes the command as is.
names=(vigil tini-static dumb-init catatonit)
declare -A init=(
  [vigil]="$VIGIL --"
  [tini-static]="$(command -v tini-static) --"
  [dumb-init]="$(command -v dumb-init)"
  [catatonit]="$(command -v catatonit) --"
)
# Not PID 1: ask for subreaper mode where there is a flag (catatonit
# registers itself when it is not PID 1; dumb-init has no such mode).
declare -A init_sub=(
  [vigil]="$VIGIL -s --"
  [tini-static]="$(command -v tini-static) -s --"
  [dumb-init]="$(command -v dumb-init)"
  [catatonit]="$(command -v catatonit) --"
)
PID1="unshare --pid --fork --mount-proc"

rm -rf "$out"
mkdir -p "$out"
: >"$out/commands.txt"
cmd() { echo "$*" >>"$out/commands.txt"; }

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $commit != unknown && -n $(git status --porcelain -- src Cargo.toml Cargo.lock) ]]; then
  commit+=" with uncommitted changes to src/"
fi
{
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "nproc=$(nproc)"
  echo "kernel=$(uname -r)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "orphans=$ORPHANS"
  echo "hyperfine=$(hyperfine --version)"
  echo "vigil=$("$VIGIL" --version 2>&1 | head -1)"
  echo "tini-static=$(tini-static --version 2>&1 | head -1)"
  echo "dumb-init=$(dumb-init --version 2>&1 | head -1)"
  echo "catatonit=$(catatonit --version 2>&1 | head -1)"
  echo "curl=$(curl --version | head -1 | cut -d' ' -f1-2)"
  echo "commit=$commit"
} >"$out/meta.txt"

# --- the inits side by side (BENCH_ONLY=inits) ------------------------------
inits() {
  # --- 1. size ---------------------------------------------------------------
  say "1/8 binary size"
  for n in "${names[@]}"; do
    bin=${init[$n]%% *}
    if readelf -lW "$bin" | grep -q INTERP; then linkage=dynamic; else linkage=static; fi
    printf '%s\t%s\t%s\t%s\n' "$n" "$bin" "$(stat -L -c %s "$bin")" "$linkage"
  done >"$out/size.tsv"

  # --- 2. idle RSS -----------------------------------------------------------
  # The init is PID 1 of a new PID namespace and its child sleeps; we read the
  # init's own /proc/PID/status and smaps_rollup (pid as seen from outside).
  say "2/8 idle RSS"
  child_of() { # first process whose parent is $1
    local p
    for p in /proc/[0-9]*; do
      [[ $(cut -d')' -f2- "$p/stat" 2>/dev/null | awk '{print $2}') == "$1" ]] && { echo "${p#/proc/}"; return; }
    done
  }
  for n in "${names[@]}"; do
    cmd "rss:     $PID1 ${init[$n]} $APP sleep 3"
    $PID1 ${init[$n]} "$APP" sleep 3 &
    u=$!
    sleep 1.5
    pid=$(child_of "$u")
    {
      grep -E '^(Name|VmRSS|RssAnon|RssFile|RssShmem|VmHWM)' "/proc/$pid/status"
      grep -E '^Pss:' "/proc/$pid/smaps_rollup" || true
    } >"$out/rss-$n.txt"
    wait "$u"
  done

  # --- 3. startup ------------------------------------------------------------
  say "3/8 startup of INIT -- true ($STARTUP_RUNS runs each, twice)"
  args=(-N --warmup 20 --runs "$STARTUP_RUNS" --style basic)
  direct=(-n true "$TRUE")
  pid1=(-n true "unshare --pid --fork $TRUE")
  for n in "${names[@]}"; do
    direct+=(-n "$n" "${init_sub[$n]} $TRUE")
    pid1+=(-n "$n" "unshare --pid --fork ${init[$n]} $TRUE")
  done
  cmd "startup: hyperfine ${args[*]} --export-json $out/startup-direct.json $(printf "'%s' " "${direct[@]}")"
  hyperfine "${args[@]}" --export-json "$out/startup-direct.json" "${direct[@]}" >"$out/startup-direct.log" 2>&1
  cmd "startup: hyperfine ${args[*]} --export-json $out/startup-pid1.json $(printf "'%s' " "${pid1[@]}")"
  hyperfine "${args[@]}" --export-json "$out/startup-pid1.json" "${pid1[@]}" >"$out/startup-pid1.log" 2>&1

  # --- 4. reaping ------------------------------------------------------------
  say "4/8 reaping $ORPHANS orphans ($REAP_RUNS runs each, end to end and drain)"
  for n in "${names[@]}"; do
    c="$PID1 ${init[$n]} $APP orphans $ORPHANS --wait 60"
    cmd "orphans: hyperfine -N --warmup 1 --runs $REAP_RUNS --output $out/orphans-$n.log --export-json $out/orphans-$n.json '$c'"
    hyperfine -N --warmup 1 --runs "$REAP_RUNS" --style basic --output "$out/orphans-$n.log" \
      --export-json "$out/orphans-$n.json" -n "$n" "$c" >/dev/null 2>&1
  done
  for n in "${names[@]}"; do
    cmd "drain:   $APP reap-drain --runs $REAP_RUNS --n $ORPHANS --out $out/drain-$n.txt -- ${init[$n]}"
    "$APP" reap-drain --runs "$REAP_RUNS" --n "$ORPHANS" --out "$out/drain-$n.txt" -- ${init[$n]} >"$out/drain-$n.summary"
  done

  # --- 5. signal forwarding --------------------------------------------------
  say "5/8 SIGTERM forwarding latency ($LATENCY_RUNS runs each)"
  for n in "${names[@]}"; do
    cmd "latency: $APP latency --runs $LATENCY_RUNS --out $out/latency-$n.txt -- ${init[$n]}"
    "$APP" latency --runs "$LATENCY_RUNS" --out "$out/latency-$n.txt" -- ${init[$n]} >"$out/latency-$n.summary"
  done
}

# --- 6. probes (BENCH_ONLY=probes) -------------------------------------------
# vigil alone: CPU per probe attempt (with an exec curl probe as the baseline),
# schedule error and RSS with three probes. bench/probes.py runs it all and
# appends its command lines to commands.txt.
probes() {
  say "6/8 probes: CPU of $PROBE_ATTEMPTS attempts per handler, schedule error, RSS (2-3 minutes)"
  echo "loadavg_probes=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/meta.txt"
  python3 bench/probes.py --vigil "$VIGIL" --app "$APP" --out "$out" \
    --attempts "$PROBE_ATTEMPTS" --schedule-attempts "$SCHEDULE_ATTEMPTS"
}

# --- 7. restart (BENCH_ONLY=restart) -----------------------------------------
# vigil alone: from the command's exit to the next run's start, with zero
# backoff. The command is `vigil-testapp restart-child FILE`, which appends
# `START_NS EXIT_NS` (CLOCK_MONOTONIC) to FILE and exits 0; N restarts give
# N+1 lines and N gaps (report.py). The references run the same command again
# and again from a shell loop, also as PID 1: dash (`sh`, which starts it with
# vfork) and bash (fork), each then exec and wait.
restart() {
  say "7/8 restart: $RESTARTS restarts with zero backoff, and shell loops as the reference"
  echo "loadavg_restart=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/meta.txt"
  local stamps=$PWD/$out/restart-vigil.txt rc=0 shell
  local c=($PID1 "$VIGIL" --restart always --backoff-initial 0 --max-restarts "$RESTARTS" -- "$APP" restart-child "$stamps")
  : >"$stamps"
  cmd "restart: ${c[*]} 2>$out/restart-vigil.log"
  "${c[@]}" 2>"$out/restart-vigil.log" || rc=$?
  if ((rc != 0)) || [[ $(wc -l <"$stamps") != $((RESTARTS + 1)) ]] ||
    ! grep -q "giving up: the command was restarted $RESTARTS times" "$out/restart-vigil.log"; then
    say "restart: vigil exited $rc with $(wc -l <"$stamps") runs recorded, want 0 and $((RESTARTS + 1)); see $out/restart-vigil.log"
    exit 1
  fi
  local script='i=0; while [ $i -le "$1" ]; do "$2" restart-child "$3"; i=$((i + 1)); done'
  for shell in sh bash; do
    stamps=$PWD/$out/restart-$shell.txt
    : >"$stamps"
    cmd "restart: $PID1 $shell -c '$script' $shell $RESTARTS $APP $stamps"
    $PID1 "$shell" -c "$script" "$shell" "$RESTARTS" "$APP" "$stamps"
  done
}

# --- 8. status socket (BENCH_ONLY=status) -------------------------------------
# vigil alone (no other init has one): requests per second and vigil's CPU per
# request on /readyz and /status; a readiness transition (sd_notify READY=1 /
# RELOADING=1) to the ready file, the /events line and /readyz; probe schedule
# error under socket load; RSS with --socket; `vigil ready` wall time.
# bench/status.py runs it all and appends its command lines to commands.txt.
status() {
  say "8/8 status socket: requests/s, readiness transitions, schedule error under load, RSS, vigil ready (about 2.5 minutes at the defaults)"
  echo "loadavg_status=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/meta.txt"
  python3 bench/status.py --vigil "$VIGIL" --app "$APP" --out "$out" \
    --seconds "$STATUS_SECONDS" --transitions "$STATUS_TRANSITIONS" \
    --schedule-seconds "$STATUS_SCHEDULE_SECONDS" --ready-runs "$STATUS_READY_RUNS"
}

if [[ -z $ONLY || $ONLY == inits ]]; then inits; fi
if [[ -z $ONLY || $ONLY == probes ]]; then probes; fi
if [[ -z $ONLY || $ONLY == restart ]]; then restart; fi
if [[ -z $ONLY || $ONLY == status ]]; then status; fi
echo "loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/meta.txt"
python3 bench/report.py "$out" | tee "$out/results.md"
