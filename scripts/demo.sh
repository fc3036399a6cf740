#!/usr/bin/env bash
# The main job, end to end: vigil (static build in $1) checks and loads a real
# EAS service.json (demo/service.json), runs the model-serving app it names
# with its startup, liveness and readiness checks, the demo talks to the app
# once vigil says it is ready, then stops it the way `docker stop` does
# (SIGTERM to vigil) and shows vigil's exit status.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/static}/vigil
config=demo/service.json
port=8000 # the file's "port"
log=$(mktemp)
command -v python3 >/dev/null || { echo "demo: python3 is needed for the demo app" >&2; exit 1; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
wait_until() { # wait_until SECONDS COMMAND...: poll COMMAND until it succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || return 1
    sleep 0.05 # poll interval; the deadline bounds the wait
  done
}
http_get() { python3 -c 'import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=1).read().decode(), end="")' "$1"; }
http_post() { python3 -c 'import sys,urllib.request; print(urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=sys.argv[2].encode()), timeout=2).read().decode())' "$1" "$2"; }

say "vigil check $config: what EAS and vigil will run, and what may fail on EAS"
"$bin" check "$config"

say "vigil runs the app: $bin -s --restart on-failure --config $config"
"$bin" -s --restart on-failure --config "$config" 2> >(tee "$log" >&2) &
vigil_pid=$!
trap 'kill -KILL $vigil_pid 2>/dev/null || true; rm -f "$log"' EXIT

say "waiting until vigil's probes say the app is ready"
wait_until 60 grep -q "readiness: ready" "$log" || { echo "demo: the app never became ready" >&2; exit 1; }
echo "GET / -> $(http_get "http://127.0.0.1:$port/")"
echo "POST /predict -> $(http_post "http://127.0.0.1:$port/predict" 'a good day')"

say "docker stop, in effect: SIGTERM to vigil (pid $vigil_pid), which forwards it to the app"
kill -TERM "$vigil_pid"
status=0
wait "$vigil_pid" || status=$?
trap - EXIT
rm -f "$log"
echo "vigil exited with status $status (the app's own status)"
[ "$status" -eq 0 ]
