# Harness of the container tests, sourced by run.sh. Needs IMG and RUN_ID.
#
# Each scenario runs in its own subshell under `set -eE`: `fail WHY` (or any
# command that fails unexpectedly) ends that scenario only; the first reason
# given wins. run_scenario prints `ok - NAME`, or `not ok - NAME: WHY` followed
# by the scenario's output as `#   ` lines.

PASSED=0
FAILED=0

# The reason a failing scenario gives, written to $WHY_FILE by the subshell.
fail() {
  printf '%s\n' "$*" >"$WHY_FILE"
  exit 1
}

run_scenario() {
  local name=$1 fn=$2 log rc
  WHY_FILE=$(mktemp) log=$(mktemp)
  # Not `( ... ) || rc=$?`: on the left of || bash would ignore set -e inside.
  set +e
  (
    set -eE
    trap '[[ -s $WHY_FILE ]] || echo "line $LINENO: \`$BASH_COMMAND\` failed" >"$WHY_FILE"' ERR
    "$fn"
  ) >"$log" 2>&1
  rc=$?
  set -e
  if ((rc == 0)); then
    echo "ok - $name"
    PASSED=$((PASSED + 1))
  else
    echo "not ok - $name: $(cat "$WHY_FILE" 2>/dev/null || echo "exit $rc")"
    sed 's/^/#   /' "$log"
    FAILED=$((FAILED + 1))
  fi
  rm -f "$WHY_FILE" "$log"
}

# wait_until SECS WHAT CMD...: polls CMD every 0.1 s until it succeeds; fails
# the scenario with "timed out ..." once SECS have passed.
wait_until() {
  local secs=$1 what=$2 deadline
  shift 2
  deadline=$(($(date +%s%N) + secs * 1000000000))
  until "$@"; do
    if (($(date +%s%N) > deadline)); then
      fail "timed out after ${secs}s waiting for $what"
    fi
    sleep 0.1
  done
}

# expect WHAT GOT WANT
expect() {
  [[ "$2" == "$3" ]] || fail "$1: got '$2', want '$3'"
}

# expect_log C TEXT: `docker logs C` contains TEXT.
expect_log() {
  local logs
  logs=$(docker logs "$1" 2>&1)
  [[ "$logs" == *"$2"* ]] || fail "docker logs lack '$2': $logs"
}

# log_has C TEXT: `docker logs C` contains TEXT (a wait_until condition).
log_has() { [[ $(docker logs "$1" 2>&1) == *"$2"* ]]; }

# log_lines C TEXT: how many lines of `docker logs C` contain TEXT.
log_lines() { docker logs "$1" 2>&1 | grep -cF -- "$2" || true; }

# log_lines_at_least N C TEXT: a wait_until condition.
log_lines_at_least() { (($(log_lines "$2" "$3") >= $1)); }

# Every container is labelled with this run's id, so cleanup finds them all.
# No network unless a scenario sets NET (probes need a pod IP: NET=bridge).
drun() {
  docker run --network "${NET:-none}" --label "vigil-it=$RUN_ID" "$@"
}

# start NAME ARGS...: a detached container named $RUN_ID-NAME; prints its name.
start() {
  local name=$RUN_ID-$1
  shift
  drun -d --name "$name" "$@" >/dev/null
  echo "$name"
}

state() { docker inspect -f "{{.State.$2}}" "$1"; }
# The container's address on the default bridge: the pod IP of its probes.
bridge_ip() { docker inspect -f '{{.NetworkSettings.IPAddress}}' "$1"; }
stopped() { [[ $(state "$1" Running) == false ]]; }

# has_line C FILE LINE: FILE inside the running container C has the line LINE.
has_line() {
  grep -qxF "$3" <<<"$(docker exec "$1" /bin/cat "$2" 2>/dev/null)"
}

# put_file C FILE TEXT: FILE inside the running container C becomes TEXT (and a
# newline) at once: written beside it, then renamed over it.
put_file() {
  docker exec "$1" /bin/sh -c 'printf "%s\n" "$2" >"$1.new" && mv "$1.new" "$1"' sh "$2" "$3"
}

# millis since START (a `date +%s%N` value), for information only.
millis_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

cleanup_containers() {
  local ids
  mapfile -t ids < <(docker ps -aq --filter "label=vigil-it=$RUN_ID" 2>/dev/null)
  ((${#ids[@]} == 0)) || docker rm -f "${ids[@]}" >/dev/null 2>&1 || true
}
