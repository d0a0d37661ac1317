# What scripts/cassandra.sh and scripts/kafka.sh share to run one
# background Java service from a run dir of its own. Sourced; the caller
# defines log, die, RUN_DIR, RUN_MARKER (a file that marks the run dir as
# ours), PID_NAME (the pid file's name in RUN_DIR) and STOP_TIMEOUT.

# pid_alive: true if the service's recorded pid is running.
pid_alive() {
  [[ -f $RUN_DIR/$PID_NAME ]] || return 1
  local pid
  pid=$(<"$RUN_DIR/$PID_NAME")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

# wipe_run_dir removes the run dir, but only if it is ours (or empty).
wipe_run_dir() {
  [[ -e $RUN_DIR ]] || return 0
  if [[ -f $RUN_DIR/$RUN_MARKER ]] || [[ -z $(ls -A "$RUN_DIR") ]]; then
    rm -rf "$RUN_DIR"
  else
    die "$RUN_DIR exists and was not created by this script; refusing to delete it"
  fi
}

# wait_gone PID SECONDS: wait until PID has exited; false on timeout.
wait_gone() {
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# stop_service NAME: TERM (a clean shutdown), KILL after STOP_TIMEOUT
# seconds; the pid file is removed either way.
stop_service() {
  if pid_alive; then
    local pid
    pid=$(<"$RUN_DIR/$PID_NAME")
    log "stopping $1 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
      log "still running after ${STOP_TIMEOUT}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 10 || log "pid $pid did not go away"
    fi
  else
    log "not running"
  fi
  rm -f "$RUN_DIR/$PID_NAME"
}
