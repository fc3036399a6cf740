# The container scenarios, sourced by run.sh; helpers are in lib.sh. Each one
# runs vigil as the container's PID 1 and states what Docker must observe.

APP=/vigil-testapp

exit_code_passes_through() {
  local rc=0
  drun --rm "$IMG" $APP exit 7 || rc=$?
  expect "exit 7" "$rc" 7
  rc=0
  drun --rm "$IMG" $APP die TERM || rc=$?
  expect "die TERM" "$rc" 143
}

# A recorder container, once its signal handlers are in place.
start_recorder() {
  local c
  c=$(start "$1" "$IMG" $APP signals --out /tmp/rec)
  wait_until 10 "the recorder to be ready" has_line "$c" /tmp/rec ready
  echo "$c"
}

# The recorder's file of the stopped container C, by `docker cp`.
recorded() { docker cp "$1:/tmp/rec" - | tar -xO; }

docker_stop_forwards_term() {
  local c t0
  c=$(start_recorder stop)
  t0=$(date +%s%N)
  docker stop -t 10 "$c" >/dev/null
  echo "docker stop took $(millis_since "$t0") ms"
  # Exit 0 is the recorder's own exit on SIGTERM; Docker's SIGKILL after the
  # 10 s timeout would give 137.
  expect "exit code" "$(state "$c" ExitCode)" 0
  expect "last signal recorded" "$(recorded "$c" | tail -n 1)" SIGTERM
}

docker_kill_usr1_is_forwarded() {
  local c
  c=$(start_recorder usr1)
  docker kill -s USR1 "$c" >/dev/null
  wait_until 10 "SIGUSR1 in /tmp/rec" has_line "$c" /tmp/rec SIGUSR1
  docker stop -t 10 "$c" >/dev/null
  expect "exit code" "$(state "$c" ExitCode)" 0
  expect "signals recorded" "$(recorded "$c" | tr '\n' ' ')" "ready SIGUSR1 SIGTERM "
}

zombies_are_reaped() {
  # The test app checks /proc itself: exit 1 if any orphan is left a zombie.
  local rc=0
  drun --rm "$IMG" $APP orphans 1000 --wait 15 || rc=$?
  expect "orphans 1000 --wait 15" "$rc" 0
}

ignored_term_is_killed_after_the_grace() {
  local c stopper
  c=$(start grace --entrypoint /vigil "$IMG" --grace 1s -- $APP ignore-term --ready /tmp/ready)
  wait_until 10 "ignore-term to be ready" has_line "$c" /tmp/ready ready
  docker stop -t 20 "$c" >/dev/null &
  stopper=$!
  # Docker's own SIGKILL would come after 20 s; vigil's after 1 s.
  wait_until 10 "the container to stop (vigil's 1s grace)" stopped "$c"
  wait "$stopper"
  expect "exit code" "$(state "$c" ExitCode)" 137
  expect_log "$c" "did not exit within the 1s grace period"
}

dash_e_remaps_143() {
  local rc=0
  drun --rm --entrypoint /vigil "$IMG" -e 143 -- $APP die TERM || rc=$?
  expect "-e 143 with die TERM" "$rc" 0
}

command_not_found_is_127() {
  local c
  c=$(start notfound "$IMG" /no/such/command)
  wait_until 10 "the container to exit" stopped "$c"
  expect "exit code" "$(state "$c" ExitCode)" 127
  expect_log "$c" "No such file or directory"
}

tini_verbosity_env_gives_debug_lines() {
  local quiet loud
  quiet=$(start quiet "$IMG" $APP exit 0)
  loud=$(start loud -e TINI_VERBOSITY=3 "$IMG" $APP exit 0)
  wait_until 10 "both containers to exit" stopped "$quiet"
  wait_until 10 "both containers to exit" stopped "$loud"
  expect_log "$loud" " DEBUG vigil "
  [[ $(docker logs "$quiet" 2>&1) != *" DEBUG "* ]] || fail "debug lines without TINI_VERBOSITY"
  # As PID 1, vigil has no reason to warn about reaping.
  [[ $(docker logs "$loud" 2>&1) != *"not running as PID 1"* ]] || fail "vigil is not PID 1"
}

# The probe and configuration scenarios run vigil from the service.json files
# of integration/config/ (in the image's /config) on Docker's default bridge,
# whose address is the container's pod IP. vigil logs warnings only by
# default: VIGIL_VERBOSITY=2 adds the `readiness: ready` lines, 3 each probe
# success.

# The environment of pid PID in the running container C, one variable a line.
environ_of() { docker exec "$1" /bin/cat "/proc/$2/environ" | tr '\0' '\n'; }

eas_liveness_failure_stops_the_app() {
  local NET=bridge c ip pid env t0
  c=$(start eas -e VIGIL_VERBOSITY=3 --entrypoint /vigil "$IMG" --config /config/eas.json)
  ip=$(bridge_ip "$c")
  [[ $ip =~ ^[0-9]+(\.[0-9]+){3}$ ]] || fail "no bridge address: '$ip'"
  wait_until 15 "'readiness: ready' in the log" log_has "$c" "readiness: ready"
  expect_log "$c" "probes connect to $ip unless a probe names its host"
  expect_log "$c" "startup: succeeded after"
  # The command has the file's env and LISTENING_PORT from its port.
  pid=$(docker logs "$c" 2>&1 | sed -n 's/.*spawned \/vigil-testapp as pid \([0-9]*\)$/\1/p')
  [[ -n $pid ]] || fail "no 'spawned /vigil-testapp as pid N' line"
  env=$(environ_of "$c" "$pid")
  grep -qxF VAR_NAME=var_value <<<"$env" || fail "VAR_NAME=var_value not in the app's environment: $env"
  grep -qxF LISTENING_PORT=8000 <<<"$env" || fail "LISTENING_PORT=8000 not in the app's environment: $env"
  # Healthy, the liveness probe passes again and again.
  wait_until 15 "3 liveness successes" log_lines_at_least 3 "$c" "liveness probe succeeded (1/1)"
  expect "running before the fault" "$(state "$c" Running)" true
  (($(log_lines "$c" "liveness probe failed") == 0)) || fail "liveness failed while the app answered 200"
  t0=$(date +%s%N)
  put_file "$c" /tmp/control "* status 500"
  wait_until 15 "the container to exit after the fault" stopped "$c"
  echo "the container exited $(millis_since "$t0") ms after the fault"
  expect "exit code" "$(state "$c" ExitCode)" 3
  for n in 1 2 3; do
    expect_log "$c" "liveness probe failed ($n/3) after"
  done
  expect_log "$c" "liveness probe failed 3 times in a row: stopping the command (pid $pid): HTTP probe failed with statuscode: 500 (GET http://$ip:8000/)"
  expect_log "$c" "command (pid $pid) ended: killed by SIGTERM"
}

ready_or_refused_5_times() {
  log_has "$1" "readiness: ready" || log_lines_at_least 5 "$1" "readiness probe failed (3/3) after"
}

# The app binds 127.0.0.1 only; the probes go to the pod IP.
loopback_app_is_never_ready() {
  local NET=bridge c ip ready
  c=$(start loopback -e VIGIL_VERBOSITY=2 -e VIGIL_CONFIG=/config/loopback.json --entrypoint /vigil "$IMG")
  ip=$(bridge_ip "$c")
  [[ $ip =~ ^[0-9]+(\.[0-9]+){3}$ ]] || fail "no bridge address: '$ip'"
  wait_until 15 "5 failed readiness probes (or ready)" ready_or_refused_5_times "$c"
  expect_log "$c" "connection refused (tcp $ip:8000)"
  expect_log "$c" "listens on port 8000 on loopback only (127.0.0.1:8000), but the probe connects to $ip as the platform probes the pod IP: have the app bind 0.0.0.0 (or ::)"
  (($(log_lines "$c" "on loopback only") == 1)) || fail "the loopback diagnosis said more than once"
  (($(log_lines "$c" "readiness: ready") == 0)) || fail "ready although the app listens on 127.0.0.1 only"
  expect "still running" "$(state "$c" Running)" true
  # The same app probed on 127.0.0.1 (a flag overrides the file's probe; its
  # port is still the file's): ready, and no hint.
  ready=$(start loopback-ready -e VIGIL_VERBOSITY=2 -e VIGIL_CONFIG=/config/loopback.json --entrypoint /vigil "$IMG" \
    --readiness '{"tcp_socket": {"host": "127.0.0.1"}, "period_seconds": 0.2}')
  wait_until 15 "'readiness: ready' with host 127.0.0.1" log_has "$ready" "readiness: ready"
  (($(log_lines "$ready" "on loopback only") == 0)) || fail "a loopback diagnosis for a probe of 127.0.0.1"
}

# vigil_once ARGS...: `vigil ARGS` in a throwaway container; sets OUT (its
# stdout and stderr, also printed for a failure's report) and RC.
vigil_once() {
  RC=0
  OUT=$(drun --rm --entrypoint /vigil "$IMG" "$@" 2>&1) || RC=$?
  printf '%s\n' "$OUT"
}

vigil_check_in_the_container() {
  local OUT RC
  vigil_once check /config/bad-port.json
  expect "vigil check bad-port.json" "$RC" 2
  [[ $OUT == *'/config/bad-port.json:5:15: containers[0].port: expected an integer 1-65535, found the string "8000"'* ]] ||
    fail "vigil check names no path and line:column"
  # Started with it, vigil runs nothing (its command would exit 9).
  vigil_once --config /config/bad-port.json
  expect "vigil --config bad-port.json" "$RC" 2
  [[ $OUT == *'/config/bad-port.json:5:15: containers[0].port:'* ]] || fail "start-up names no path and line:column"
  # The EAS file is valid, with warnings (decimal seconds) that --strict counts.
  vigil_once check /config/eas.json
  expect "vigil check eas.json" "$RC" 0
  [[ $OUT == *'liveness   http_get http://<pod-ip>:8000/ '* ]] || fail "vigil check shows no liveness probe"
  vigil_once check --strict /config/eas.json
  expect "vigil check --strict eas.json" "$RC" 2
  [[ $OUT == *'vigil accepts decimals, but EAS and Kubernetes take whole seconds'* ]] || fail "no decimal-seconds warning"
}

# The restart policy restarts the command in place: same container, same PID 1.
# A command that always exits 1: restarted at once, then after 100 and 200 ms,
# then vigil gives up with the command's last status.
restart_on_failure_backs_off_then_gives_up() {
  local c t0
  t0=$(date +%s%N)
  c=$(start restart-backoff --entrypoint /vigil "$IMG" \
    --restart on-failure --backoff-initial 100ms --max-restarts 3 -- $APP exit 1)
  wait_until 15 "the container to exit" stopped "$c"
  echo "the container ran for about $(millis_since "$t0") ms (start to seen stopped)"
  expect "exit code" "$(state "$c" ExitCode)" 1
  expect_log "$c" "restarting now (attempt 1, exit status 1)"
  expect_log "$c" "restarting in 100ms (attempt 2, exit status 1)"
  expect_log "$c" "restarting in 200ms (attempt 3, exit status 1)"
  expect_log "$c" "giving up: the command was restarted 3 times"
  expect "restart lines" "$(log_lines "$c" "restarting ")" 3
}

# A liveness probe stops the app; --restart always starts it again, the
# probe stops it again (the control file still says 500), and with
# --max-restarts 1 vigil gives up with 3, a probe kill's status. No startup
# probe (the EAS file's would fail on 500s for 10 s before giving up), and the
# probe targets 127.0.0.1, so no network is needed.
restart_after_a_liveness_kill() {
  local c liveness
  liveness='{"http_get": {"path": "/", "port": 8000, "host": "127.0.0.1"},
    "initial_delay_seconds": 0.2, "period_seconds": 0.1, "failure_threshold": 2}'
  c=$(start restart-liveness -e VIGIL_VERBOSITY=3 --entrypoint /vigil "$IMG" \
    --restart always --max-restarts 1 --liveness "$liveness" \
    -- $APP http --port 8000 --bind 127.0.0.1 --control /tmp/control)
  wait_until 15 "a liveness success" log_has "$c" "liveness probe succeeded"
  put_file "$c" /tmp/control "* status 500"
  wait_until 15 "the container to exit after the fault" stopped "$c"
  expect "exit code" "$(state "$c" ExitCode)" 3
  expect_log "$c" "restarting now (attempt 1, liveness probe failed)"
  expect_log "$c" "giving up: the command was restarted 1 time"
  expect "liveness kills" "$(log_lines "$c" "liveness probe failed 2 times in a row: stopping the command")" 2
  expect "starts of the app" "$(log_lines "$c" "spawned /vigil-testapp as pid")" 2
}

run_all() {
  run_scenario "exit code passes through (7, and 143 for death by SIGTERM)" exit_code_passes_through
  run_scenario "docker stop: SIGTERM reaches the command, exit 0" docker_stop_forwards_term
  run_scenario "docker kill -s USR1 reaches the command" docker_kill_usr1_is_forwarded
  run_scenario "1000 orphans are reaped by vigil as PID 1" zombies_are_reaped
  run_scenario "a command ignoring SIGTERM is killed after --grace 1s (137)" ignored_term_is_killed_after_the_grace
  run_scenario "-e 143 turns death by SIGTERM into exit 0" dash_e_remaps_143
  run_scenario "command not found: exit 127, 'No such file or directory'" command_not_found_is_127
  run_scenario "TINI_VERBOSITY=3 gives debug lines" tini_verbosity_env_gives_debug_lines
  run_scenario "service.json (EAS): ready, then liveness fails 3 times on 500s: exit 3" eas_liveness_failure_stops_the_app
  run_scenario "an app on 127.0.0.1 only: the pod IP probe is refused with a hint, never ready" loopback_app_is_never_ready
  run_scenario "vigil check: a bad port is exit 2 with its JSON path and line:column" vigil_check_in_the_container
  run_scenario "--restart on-failure: restarted now, in 100ms, in 200ms, then gives up with exit 1" restart_on_failure_backs_off_then_gives_up
  run_scenario "--restart always: a liveness kill restarts the app once, then exit 3" restart_after_a_liveness_kill
}
