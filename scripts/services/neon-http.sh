#!/usr/bin/env bash
# The Neon HTTP (`neon()`) test endpoint: scripts/services/neon-http-bridge.mjs on
# 127.0.0.1:4444, in front of the test PostgreSQL from postgres.sh.
# Usage: scripts/services/neon-http.sh install|start|stop|status
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVICE_DIR="$ROOT/.services/neon-http"
HOST=127.0.0.1
PORT="${QUARK_NEON_HTTP_PORT:-4444}"

install() {
  if [ ! -d "$ROOT/node_modules/postgres" ]; then
    echo "neon-http: node_modules/postgres is missing; run npm install first" >&2
    exit 1
  fi
}

ready() { curl -fsS "http://$HOST:$PORT/healthz" >/dev/null 2>&1; }

running_pid() {
  [ -f "$SERVICE_DIR/pid" ] || return 1
  local pid
  pid="$(cat "$SERVICE_DIR/pid")"
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

write_env() {
  local url
  url="$(grep '^POSTGRES_URL=' "$ROOT/.services/postgres/env" | cut -d= -f2-)"
  cat >"$SERVICE_DIR/env" <<ENV
NEON_HTTP_ENDPOINT=http://$HOST:$PORT/sql
NEON_URL=$url
ENV
}

start() {
  "$ROOT/scripts/services/postgres.sh" start >/dev/null
  install
  mkdir -p "$SERVICE_DIR"
  if running_pid >/dev/null && ready; then
    write_env
    echo "neon-http: already running on $HOST:$PORT (pid $(cat "$SERVICE_DIR/pid"))"
    return 0
  fi
  NEON_HTTP_LISTEN="$HOST:$PORT" nohup node "$ROOT/scripts/services/neon-http-bridge.mjs" >"$SERVICE_DIR/log" 2>&1 &
  echo $! >"$SERVICE_DIR/pid"
  local tries=0
  until ready; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ] || ! running_pid >/dev/null; then
      echo "neon-http: did not start; see $SERVICE_DIR/log" >&2
      exit 1
    fi
    sleep 0.1
  done
  write_env
  echo "neon-http: running on $HOST:$PORT (pid $(cat "$SERVICE_DIR/pid"))"
}

stop() {
  local pid
  if pid="$(running_pid)"; then kill "$pid" 2>/dev/null || true; fi
  rm -f "$SERVICE_DIR/pid"
  echo "neon-http: stopped"
}

status() {
  if running_pid >/dev/null && ready; then echo "neon-http: running on $HOST:$PORT"; else echo "neon-http: not running"; return 1; fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
