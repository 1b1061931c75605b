# Shared pieces of scripts/services/*.sh: source it after setting NAME, HOST, PORT, PIDFILE
# and LOG, and defining a `ready` function that probes the server for real. (It ends in
# .bash, not .sh, so orchestrators that run every scripts/services/*.sh skip it.)

# Whether the process whose pid this script recorded is alive. When PROCESS_MATCH is set, its
# command line must also contain that text, so a pid reused by another process does not count.
service_running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null || return 1
  [ -z "${PROCESS_MATCH:-}" ] || tr '\0' ' ' <"/proc/$(cat "$PIDFILE")/cmdline" 2>/dev/null | grep -qF -- "$PROCESS_MATCH"
}

# Waits until `ready` succeeds, the process dies, or $1 seconds pass; prints the start-up time.
service_wait_ready() {
  local timeout="$1" began
  began="$(date +%s.%N)"
  while ! ready; do
    if ! service_running; then
      echo "$NAME: server exited during start-up; last lines of $LOG:" >&2
      tail -n 20 "$LOG" >&2 || true
      rm -f "$PIDFILE"
      return 1
    fi
    if awk "BEGIN{exit !($(date +%s.%N) - $began > $timeout)}"; then
      echo "$NAME: not ready after ${timeout}s; see $LOG" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "$NAME: ready on $HOST:$PORT (pid $(cat "$PIDFILE")) after $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $began}")s"
}

# Stops the recorded pid: SIGTERM, then SIGKILL after $1 seconds (default 5).
service_stop() {
  local grace="${1:-5}" pid
  if ! service_running; then
    rm -f "$PIDFILE"
    echo "$NAME: not running"
    return 0
  fi
  pid="$(cat "$PIDFILE")"
  kill "$pid"
  for _ in $(seq 1 $((grace * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$NAME: pid $pid ignored SIGTERM for ${grace}s; sending SIGKILL" >&2
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  echo "$NAME: stopped (pid $pid)"
}

service_status() {
  if service_running && ready; then
    echo "$NAME: running (pid $(cat "$PIDFILE")) on $HOST:$PORT"
  elif service_running; then
    echo "$NAME: pid $(cat "$PIDFILE") is running but does not answer"
    return 1
  else
    echo "$NAME: not running"
    return 1
  fi
}
