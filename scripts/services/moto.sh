#!/usr/bin/env bash
# moto server: local DynamoDB endpoints for the dynamodb adapter's tests and benchmark.
#
#   scripts/services/moto.sh install   create .cache/moto-venv and pip install 'moto[server]' and waitress
#                                      into it (no system-wide pip)
#   scripts/services/moto.sh start     install if needed, start $MOTO_INSTANCES (default 5) servers on
#                                      127.0.0.1 from port $MOTO_PORT (default 5055), wait until ready
#   scripts/services/moto.sh stop      stop the servers this script started (by their recorded pids)
#   scripts/services/moto.sh status    say whether they run
#
# Each server is moto's own WSGI app, run by scripts/services/moto_serial.py under one lock and
# with keep-alive (plain moto_server is neither atomic under concurrency nor keep-alive).
#
# One server per runtime (node20, node24, deno, bun) plus one for everything else: the test
# orchestrator runs the runtimes side by side, and a server handles one request at a time, so
# 64-writer races queued on one server slow each other down far more than separate servers
# sharing the CPU. tests/adapters/dynamodb.test.ts picks its server from DYNAMODB_ENDPOINTS (the
# first four ports) by runtime; DYNAMODB_ENDPOINT (the last port) serves the rest (benchmarks,
# the workerd and edge-runtime harnesses).
#
# Writes .services/moto/env with DYNAMODB_ENDPOINT, DYNAMODB_ENDPOINTS, AWS_REGION and dummy
# credentials, and .services/moto/pid with the servers' pids, one per line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.cache/moto-venv"
DIR="$ROOT/.services/moto"
PORT="${MOTO_PORT:-5055}"
INSTANCES="${MOTO_INSTANCES:-5}"
HOST=127.0.0.1
PIDFILE="$DIR/pid"
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

ports() {
  seq "$PORT" $((PORT + INSTANCES - 1))
}

ready_on() {
  # Any HTTP answer from moto on this port means it serves requests; its dashboard path is cheap.
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 2 "http://$HOST:$1/moto-api/" 2>/dev/null
  else
    "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://$HOST:$1/moto-api/', timeout=2)" 2>/dev/null
  fi
}

pid_of() {
  [ -f "$DIR/pid.$1" ] && cat "$DIR/pid.$1"
}

running_on() {
  local pid
  pid="$(pid_of "$1")" && kill -0 "$pid" 2>/dev/null
}

all_ready() {
  local port
  for port in $(ports); do
    running_on "$port" && ready_on "$port" || return 1
  done
}

pids() {
  local port
  for port in $(ports); do pid_of "$port" || true; done | tr '\n' ' '
}

write_env() {
  mkdir -p "$DIR"
  local endpoints="" port last
  last=$((PORT + INSTANCES - 1))
  for port in $(ports); do
    if [ "$port" -lt "$last" ] || [ "$INSTANCES" -eq 1 ]; then endpoints="${endpoints:+$endpoints,}http://$HOST:$port"; fi
  done
  cat >"$ENVFILE" <<EOF
DYNAMODB_ENDPOINT=http://$HOST:$last
DYNAMODB_ENDPOINTS=$endpoints
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=quark-test
AWS_SECRET_ACCESS_KEY=quark-test
EOF
  for port in $(ports); do pid_of "$port"; done >"$PIDFILE"
}

start() {
  if all_ready; then
    write_env
    echo "moto: already running on $HOST ports $PORT-$((PORT + INSTANCES - 1)) (pids $(pids))"
    return 0
  fi
  install
  mkdir -p "$DIR"
  local began port
  began="$(date +%s.%N)"
  for port in $(ports); do
    running_on "$port" && continue
    if ready_on "$port"; then
      echo "moto: port $port is taken by a process this script did not start" >&2
      exit 1
    fi
    # moto_serial.py serves moto one request at a time over keep-alive; see that file for why.
    nohup "$VENV/bin/python" "$ROOT/scripts/services/moto_serial.py" "$HOST" "$port" >"$DIR/moto-$port.log" 2>&1 &
    echo $! >"$DIR/pid.$port"
  done
  for _ in $(seq 1 600); do
    if all_ready; then
      write_env
      echo "moto: $INSTANCES servers ready on $HOST ports $PORT-$((PORT + INSTANCES - 1)) after $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $began}") s"
      return 0
    fi
    for port in $(ports); do
      if ! running_on "$port"; then
        echo "moto: the server on port $port exited during start-up; see $DIR/moto-$port.log" >&2
        tail -n 20 "$DIR/moto-$port.log" >&2 || true
        stop >/dev/null
        exit 1
      fi
    done
    sleep 0.1
  done
  echo "moto: not ready after 60 s; see $DIR/moto-*.log" >&2
  exit 1
}

stop() {
  local stopped="" pid file
  for file in "$DIR"/pid.*; do
    [ -f "$file" ] || continue
    pid="$(cat "$file")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
      stopped="$stopped $pid"
    fi
    rm -f "$file"
  done
  rm -f "$PIDFILE"
  if [ -n "$stopped" ]; then echo "moto: stopped (pids$stopped)"; else echo "moto: not running"; fi
}

status() {
  if all_ready; then
    echo "moto: running on $HOST ports $PORT-$((PORT + INSTANCES - 1)) (pids $(pids))"
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
