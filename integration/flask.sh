# The EAS custom image end to end: the Flask app of examples/eas-flask/ in a
# Debian image with Python (integration/python-image.sh, cached by a content
# tag), vigil as its entrypoint, and a host agent reading vigil's socket
# through a bind mount. Sourced by run.sh (run_flask STATIC_DIR after the
# other scenarios); `integration/flask.sh STATIC_DIR` runs these alone.
#
# Per run: two app images tagged with the run id (the documented and the
# corrected variant), removed by flask_cleanup, and one host directory per
# scenario bind-mounted on /run/vigil (the socket and the ready file).

FLASK_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FLASK_DOC=vigil-eas-flask:$RUN_ID
FLASK_FIXED=vigil-eas-flask-fixed:$RUN_ID
FLASK_TMP=

flask_cleanup() {
  docker rmi -f "$FLASK_DOC" "$FLASK_FIXED" >/dev/null 2>&1 || true
  [[ -z $FLASK_TMP ]] || rm -rf "$FLASK_TMP"
}

# flask_build STATIC_DIR: the base image (built once, then cached), then both
# app images from examples/eas-flask/ and STATIC_DIR's vigil.
flask_build() {
  local base ctx t0 doc doc_rc=0 fixed_rc=0
  t0=$(date +%s)
  base=$("$FLASK_HERE/python-image.sh") || return 1
  FLASK_TMP=$(mktemp -d)
  ctx=$FLASK_TMP/ctx
  mkdir "$ctx"
  cp "$FLASK_HERE"/../examples/eas-flask/* "$ctx/"
  cp "$1/vigil" "$ctx/"
  # Side by side: the legacy builder commits a layer per instruction (seconds).
  docker build -q --build-arg "BASE=$base" -t "$FLASK_DOC" "$ctx" >/dev/null 2>"$FLASK_TMP/doc.log" &
  doc=$!
  docker build -q --build-arg "BASE=$base" -f "$ctx/Dockerfile.fixed" -t "$FLASK_FIXED" "$ctx" \
    >/dev/null 2>"$FLASK_TMP/fixed.log" || fixed_rc=$?
  wait "$doc" || doc_rc=$?
  if ((doc_rc || fixed_rc)); then
    echo "integration: the eas-flask images do not build: $(cat "$FLASK_TMP/doc.log" "$FLASK_TMP/fixed.log")" >&2
    return 1
  fi
  echo "# eas-flask images on $base built in $(($(date +%s) - t0)) s"
}

# A host directory for a container's /run/vigil; prints its path.
sock_dir() { mktemp -d "$FLASK_TMP/run.XXXX"; }

# sock_get DIR PATH: the body of PATH on the socket in DIR (the host's side).
sock_get() { curl -s -m 2 --unix-socket "$1/vigil.sock" "http://vigil$2"; }
# sock_code DIR PATH: its HTTP status (000 when nothing answers).
sock_code() { curl -s -m 2 -o /dev/null -w '%{http_code}' --unix-socket "$1/vigil.sock" "http://vigil$2" || true; }
readyz_is() { [[ $(sock_code "$1" /readyz) == "$2" ]]; }

# status_py DIR EXPR: EXPR of the JSON of /status (as `s`), printed by Python.
status_py() {
  sock_get "$1" /status | python3 -c "import json, sys; s = json.load(sys.stdin); print($2)"
}
liveness_output_has() {
  [[ $(status_py "$1" '"\n".join(a.get("output") or "" for a in (s["probes"]["liveness"] or {}).get("last", []))' 2>/dev/null) == *"$2"* ]]
}
restarts_at_least() { (($(status_py "$1" 's["command"]["restarts"]' 2>/dev/null || echo 0) >= $2)); }

health_is() { [[ $(state "$1" Health.Status) == "$2" ]]; }

# app_code C PATH [CURL ARGS...]: the app's status for PATH, from the host.
app_code() {
  local ip
  ip=$(bridge_ip "$1")
  curl -s -m 2 -o /dev/null -w '%{http_code}' "${@:3}" "http://$ip:8000$2" || true
}

# a. The service.json of the EAS documentation: its liveness probe is a GET /
# without a body, which the app answers 500 (json.loads raises), so the app is
# stopped after 4 failures and the container exits 3. The first failure's line
# shows the start of Flask's error page, and so does /status for a host agent.
flask_documented_liveness_kills_the_app() {
  local NET=bridge d c ip t0 first
  d=$(sock_dir)
  t0=$(date +%s%N)
  c=$(start flask-doc -v "$d:/run/vigil" -e VIGIL_SOCKET=/run/vigil/vigil.sock "$FLASK_DOC")
  ip=$(bridge_ip "$c")
  [[ $ip =~ ^[0-9]+(\.[0-9]+){3}$ ]] || fail "no bridge address: '$ip'"
  wait_until 20 "the first liveness failure" log_has "$c" "liveness probe failed (1/4) after"
  echo "first failure $(millis_since "$t0") ms after the start"
  expect_log "$c" "liveness probe failed (1/4) after"
  first=$(docker logs "$c" 2>&1 | grep -F "liveness probe failed (1/4)")
  [[ $first == *"HTTP probe failed with statuscode: 500 (GET http://$ip:8000/)"* ]] ||
    fail "the first failure does not say GET / answered 500: $first"
  # The start of the body, folded: Flask's error page.
  [[ $first == *'; body: "<!doctype html> <html lang=en> <title>500 Internal Server Error</title>'* ]] ||
    fail "the first failure does not show the start of Flask's error page: $first"
  wait_until 10 "Flask's error page in /status (liveness.last[].output)" liveness_output_has "$d" "Internal Server Error"
  # The app's own traceback is in the same log.
  wait_until 5 "the app's traceback" log_has "$c" "JSONDecodeError"
  wait_until 30 "the container to exit after 4 failures" stopped "$c"
  echo "exited $(millis_since "$t0") ms after the start"
  expect "exit code" "$(state "$c" ExitCode)" 3
  expect_log "$c" "liveness probe failed (4/4) after"
  expect_log "$c" "liveness probe failed 4 times in a row: stopping the command"
}

# b. The corrected variant: not ready while the model loads, startup succeeds
# after it; the host sees /readyz flip 503 -> 200 on the bind-mounted socket,
# and the ready file appear in the same directory.
flask_fixed_becomes_ready_on_the_host() {
  local NET=bridge d c t0
  d=$(sock_dir)
  t0=$(date +%s%N)
  c=$(start flask-ready -v "$d:/run/vigil" -e LOAD_SECONDS=4 "$FLASK_FIXED")
  wait_until 10 "the socket on the host" test -S "$d/vigil.sock"
  expect "/readyz while the model loads" "$(sock_code "$d" /readyz)" 503
  [[ $(sock_get "$d" /readyz) == "not ready"* ]] || fail "/readyz gives no reason while loading"
  [[ ! -e $d/ready ]] || fail "the ready file exists while the model loads"
  wait_until 30 "/readyz to answer 200" readyz_is "$d" 200
  echo "ready $(millis_since "$t0") ms after the start (LOAD_SECONDS=4)"
  expect "/readyz body" "$(sock_get "$d" /readyz)" ok
  wait_until 5 "the ready file on the host" test -e "$d/ready"
  expect_log "$c" "startup: succeeded after"
  expect_log "$c" "app: model loaded"
  expect "status ready" "$(status_py "$d" 's["ready"]')" True
}

# c. HEALTHCHECK CMD ["/vigil", "ready"] (in Dockerfile.fixed; the interval
# from docker run): starting -> healthy, then unhealthy once /health fails.
flask_healthcheck_follows_readiness() {
  local NET=bridge c
  c=$(start flask-health --health-interval 1s --health-retries 2 --health-start-period 60s \
    -e LOAD_SECONDS=2 "$FLASK_FIXED")
  expect "health at first" "$(state "$c" Health.Status)" starting
  wait_until 30 "health to be healthy" health_is "$c" healthy
  docker exec "$c" touch /tmp/fail
  wait_until 20 "health to be unhealthy" health_is "$c" unhealthy
  [[ $(docker inspect -f '{{range .State.Health.Log}}{{.Output}}{{end}}' "$c") == *"not ready"* ]] ||
    fail "the health log has no 'not ready' reason from vigil ready"
  expect "still running" "$(state "$c" Running)" true
}

# d. docker stop with --drain 2s (VIGIL_DRAIN in Dockerfile.fixed): /readyz
# answers 503 at once, the app still serves during the drain, then it gets
# SIGTERM and exits 0.
flask_docker_stop_drains() {
  local NET=bridge d c t0 stopper ms
  d=$(sock_dir)
  c=$(start flask-drain -v "$d:/run/vigil" -e LOAD_SECONDS=1 "$FLASK_FIXED")
  wait_until 30 "/readyz to answer 200" readyz_is "$d" 200
  t0=$(date +%s%N)
  docker stop -t 15 "$c" >/dev/null &
  stopper=$!
  wait_until 2 "/readyz to answer 503 after docker stop" readyz_is "$d" 503
  echo "/readyz answered 503 $(millis_since "$t0") ms after docker stop"
  [[ $(sock_get "$d" /readyz) == *draining* ]] || fail "/readyz does not say draining"
  expect "GET /health during the drain" "$(app_code "$c" /health)" 200
  expect "POST / during the drain" "$(app_code "$c" / -d '{"x": 1}')" 200
  expect "SIGTERM lines before the drain ends" "$(log_lines "$c" "app: SIGTERM received")" 0
  wait "$stopper"
  ms=$(millis_since "$t0")
  echo "the container stopped $ms ms after docker stop"
  ((ms >= 1900)) || fail "stopped after $ms ms: no 2s drain"
  expect "exit code" "$(state "$c" ExitCode)" 0
  expect_log "$c" "reporting not ready and draining for 2s"
  expect_log "$c" "app: SIGTERM received, exiting 0"
}

# e. docker run --init: Docker's init is PID 1 and vigil its child, a
# subreaper (-s): the app's orphan comes to vigil and is reaped (-w logs it),
# and docker stop still reaches the app.
flask_under_docker_init() {
  local NET=bridge d c pid
  d=$(sock_dir)
  c=$(start flask-init --init -v "$d:/run/vigil" -e LOAD_SECONDS=1 --entrypoint /vigil "$FLASK_FIXED" -s -w)
  wait_until 30 "/readyz to answer 200" readyz_is "$d" 200
  expect "PID 1" "$(docker exec "$c" cat /proc/1/comm)" docker-init
  pid=$(curl -s -m 2 "http://$(bridge_ip "$c"):8000/orphan")
  [[ $pid =~ ^[0-9]+$ ]] || fail "GET /orphan gave no pid: '$pid'"
  wait_until 10 "vigil to reap the orphan $pid" log_has "$c" "Reaped zombie process with pid=$pid"
  docker stop -t 15 "$c" >/dev/null
  expect "exit code" "$(state "$c" ExitCode)" 0
  expect_log "$c" "app: SIGTERM received, exiting 0"
}

# f. A liveness kill with --restart always: the container stays up, the app
# is started again in place, and /status counts the restart.
flask_liveness_kill_restarts_in_place() {
  local NET=bridge d c
  d=$(sock_dir)
  c=$(start flask-restart -v "$d:/run/vigil" -e LOAD_SECONDS=1 -e VIGIL_RESTART=always \
    -e VIGIL_LIVENESS_CHECK='{"http_get": {"path": "/health", "port": 8000}, "period_seconds": 1, "failure_threshold": 2}' \
    "$FLASK_FIXED")
  wait_until 30 "/readyz to answer 200" readyz_is "$d" 200
  expect "restarts before the fault" "$(status_py "$d" 's["command"]["restarts"]')" 0
  docker exec "$c" touch /tmp/fail
  wait_until 30 "/status to count a restart" restarts_at_least "$d" 1
  expect "running after the liveness kill" "$(state "$c" Running)" true
  expect_log "$c" "liveness probe failed 2 times in a row: stopping the command"
  expect_log "$c" "restarting now (attempt 1, liveness probe failed)"
  docker exec "$c" rm -f /tmp/fail
  wait_until 30 "/readyz 200 again after the restart" readyz_is "$d" 200
  expect "restarts" "$(status_py "$d" 's["command"]["restarts"]')" 1
}

# flask_scenario NAME FN: run_scenario, then its containers go, passed or not
# (the scenarios run one at a time, so the run's containers are its own).
flask_scenario() {
  run_scenario "$1" "$2"
  cleanup_containers
}

# run_flask STATIC_DIR
run_flask() {
  if ! flask_build "$1"; then
    echo "not ok - eas-flask: the Python image or the app images do not build"
    FAILED=$((FAILED + 1))
    return
  fi
  flask_scenario "eas-flask, documented service.json: GET / answers 500, 4 liveness failures, exit 3" flask_documented_liveness_kills_the_app
  flask_scenario "eas-flask, corrected: startup after the load, /readyz 503 -> 200 and the ready file on the host" flask_fixed_becomes_ready_on_the_host
  flask_scenario "eas-flask: HEALTHCHECK vigil ready goes starting -> healthy -> unhealthy" flask_healthcheck_follows_readiness
  flask_scenario "eas-flask: docker stop drains 2s (/readyz 503 at once, the app serves), then exit 0" flask_docker_stop_drains
  flask_scenario "eas-flask: docker run --init, vigil -s reaps the app's orphan, docker stop reaches the app" flask_under_docker_init
  flask_scenario "eas-flask: --restart always, a liveness kill restarts in place, /status counts it" flask_liveness_kill_restarts_in_place
}

# Alone: integration/flask.sh STATIC_DIR.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  (($# == 1)) || { echo "usage: integration/flask.sh STATIC_DIR" >&2; exit 1; }
  [[ -x $1/vigil ]] || { echo "integration: $1/vigil is missing: run \`make static\` first" >&2; exit 1; }
  timeout 30 docker info >/dev/null 2>&1 || { echo "integration: no reachable Docker engine" >&2; exit 1; }
  RUN_ID=vigil-it-$$
  FLASK_DOC=vigil-eas-flask:$RUN_ID
  FLASK_FIXED=vigil-eas-flask-fixed:$RUN_ID
  # shellcheck source=integration/lib.sh
  source "$FLASK_HERE/lib.sh"
  trap 'cleanup_containers; flask_cleanup' EXIT
  started=$(date +%s)
  run_flask "$1"
  echo "# took $(($(date +%s) - started)) s"
  echo "$PASSED passed, $FAILED failed"
  ((FAILED == 0))
fi
