#!/usr/bin/env bash
# moto server: a local DynamoDB endpoint for the dynamodb adapter's tests and benchmark.
#
#   scripts/services/moto.sh install   create .cache/moto-venv and pip install 'moto[server]' and waitress
#                                      into it (no system-wide pip)
#   scripts/services/moto.sh start     install if needed, start on 127.0.0.1:$MOTO_PORT (default 5055), wait until ready
#   scripts/services/moto.sh stop      stop the server this script started (by its recorded pid)
#   scripts/services/moto.sh status    say whether it runs
#
# The server is moto's own WSGI app, run by scripts/services/moto_serial.py under one lock and
# with keep-alive (plain moto_server is neither atomic under concurrency nor keep-alive).
# Writes .services/moto/env with DYNAMODB_ENDPOINT, AWS_REGION and dummy credentials.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.cache/moto-venv"
DIR="$ROOT/.services/moto"
PORT="${MOTO_PORT:-5055}"
HOST=127.0.0.1
PIDFILE="$DIR/pid"
LOG="$DIR/moto.log"
ENVFILE="$DIR/env"

find_python() {
  local candidate
  for candidate in python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

install() {
  if [ -x "$VENV/bin/moto_server" ] && "$VENV/bin/python" -c 'import waitress' 2>/dev/null; then
    return 0
  fi
  local python
  if ! python="$(find_python)" || ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    echo "moto: installing python3 and python3-venv with apt-get" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
    python=python3
  fi
  mkdir -p "$ROOT/.cache"
  [ -x "$VENV/bin/pip" ] || "$python" -m venv "$VENV"
  # waitress serves moto with keep-alive; see scripts/services/moto_serial.py.
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]' waitress
  [ -x "$VENV/bin/moto_server" ] || { echo "moto: moto_server missing after install" >&2; exit 1; }
}

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

ready() {
  # Any HTTP answer from moto on this port means it serves requests; its dashboard path is cheap.
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 2 "http://$HOST:$PORT/moto-api/" 2>/dev/null
  else
    "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://$HOST:$PORT/moto-api/', timeout=2)" 2>/dev/null
  fi
}

write_env() {
  mkdir -p "$DIR"
  cat >"$ENVFILE" <<EOF
DYNAMODB_ENDPOINT=http://$HOST:$PORT
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=quark-test
AWS_SECRET_ACCESS_KEY=quark-test
EOF
}

start() {
  if running && ready; then
    write_env
    echo "moto: already running (pid $(cat "$PIDFILE")) on $HOST:$PORT"
    return 0
  fi
  install
  mkdir -p "$DIR"
  if ready; then
    echo "moto: port $PORT is taken by a process this script did not start" >&2
    exit 1
  fi
  local began
  began="$(date +%s.%N)"
  # moto_serial.py serves moto one request at a time over keep-alive; see that file for why.
  nohup "$VENV/bin/python" "$ROOT/scripts/services/moto_serial.py" "$HOST" "$PORT" >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 300); do
    if ready; then
      write_env
      echo "moto: ready on $HOST:$PORT (pid $(cat "$PIDFILE")) after $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $began}") s"
      return 0
    fi
    if ! running; then
      echo "moto: server exited during start-up; see $LOG" >&2
      tail -n 20 "$LOG" >&2 || true
      exit 1
    fi
    sleep 0.1
  done
  echo "moto: not ready after 30 s; see $LOG" >&2
  exit 1
}

stop() {
  if running; then
    local pid
    pid="$(cat "$PIDFILE")"
    kill "$pid"
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    echo "moto: stopped (pid $pid)"
  else
    echo "moto: not running"
  fi
  rm -f "$PIDFILE"
}

status() {
  if running && ready; then
    echo "moto: running (pid $(cat "$PIDFILE")) on $HOST:$PORT"
  else
    echo "moto: not running"
    return 1
  fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
