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

run_all() {
  run_scenario "exit code passes through (7, and 143 for death by SIGTERM)" exit_code_passes_through
  run_scenario "docker stop: SIGTERM reaches the command, exit 0" docker_stop_forwards_term
  run_scenario "docker kill -s USR1 reaches the command" docker_kill_usr1_is_forwarded
  run_scenario "1000 orphans are reaped by vigil as PID 1" zombies_are_reaped
  run_scenario "a command ignoring SIGTERM is killed after --grace 1s (137)" ignored_term_is_killed_after_the_grace
  run_scenario "-e 143 turns death by SIGTERM into exit 0" dash_e_remaps_143
  run_scenario "command not found: exit 127, 'No such file or directory'" command_not_found_is_127
  run_scenario "TINI_VERBOSITY=3 gives debug lines" tini_verbosity_env_gives_debug_lines
}
