#!/usr/bin/env bash
# The main job, end to end: vigil (static build in $1) runs a real model-serving
# app as its child, the demo talks to the app, then stops it the way
# `docker stop` does (SIGTERM to vigil) and shows vigil's exit status.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/static}/vigil
port=${DEMO_PORT:-8000}
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

say "vigil runs the app: $bin -s -v -- python3 demo/app.py"
LISTENING_PORT=$port "$bin" -s -v -- python3 demo/app.py &
vigil_pid=$!
trap 'kill -KILL $vigil_pid 2>/dev/null || true' EXIT

say "waiting for the app on port $port"
wait_until 30 http_get "http://127.0.0.1:$port/" || { echo "demo: the app never answered" >&2; exit 1; }
echo "GET / -> $(http_get "http://127.0.0.1:$port/")"
echo "POST /predict -> $(http_post "http://127.0.0.1:$port/predict" 'a good day')"

say "docker stop, in effect: SIGTERM to vigil (pid $vigil_pid), which forwards it to the app"
kill -TERM "$vigil_pid"
status=0
wait "$vigil_pid" || status=$?
trap - EXIT
echo "vigil exited with status $status (the app's own status)"
[ "$status" -eq 0 ]
