#!/usr/bin/env bash
# The Neon HTTP (`neon()`) test endpoint: scripts/services/neon-http-bridge.mjs on
# 127.0.0.1:4444, in front of the test PostgreSQL from postgres.sh.
# Usage: scripts/services/neon-http.sh install|start|stop|status
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NAME=neon-http
HOST=127.0.0.1
PORT="${QUARK_NEON_HTTP_PORT:-4444}"
SERVICE_DIR="$ROOT/.services/neon-http"
PIDFILE="$SERVICE_DIR/pid"
LOG="$SERVICE_DIR/log"
# shellcheck source=_service.bash
. "$ROOT/scripts/services/_service.bash"

ready() { curl -fsS "http://$HOST:$PORT/healthz" >/dev/null 2>&1; }

install() {
  if [ ! -d "$ROOT/node_modules/pg" ]; then
    echo "$NAME: node_modules/pg is missing; run npm install first" >&2
    exit 1
  fi
}

write_env() {
  local url
  url="$(grep '^POSTGRES_URL=' "$ROOT/.services/postgres/env" | cut -d= -f2-)"
  printf 'NEON_HTTP_ENDPOINT=http://%s:%s/sql\nNEON_URL=%s\n' "$HOST" "$PORT" "$url" >"$SERVICE_DIR/env"
}

start() {
  "$ROOT/scripts/services/postgres.sh" start >/dev/null
  install
  mkdir -p "$SERVICE_DIR"
  if service_running && ready; then
    write_env
    echo "$NAME: already running on $HOST:$PORT (pid $(cat "$PIDFILE"))"
    return 0
  fi
  NEON_HTTP_LISTEN="$HOST:$PORT" nohup node "$ROOT/scripts/services/neon-http-bridge.mjs" >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  service_wait_ready 15
  write_env
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) service_stop ;;
  status) service_status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
