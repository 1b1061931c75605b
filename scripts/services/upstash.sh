#!/usr/bin/env bash
# Upstash Redis REST for the tests: our REST bridge (scripts/services/upstash-bridge.mjs) on
# 127.0.0.1:8079, speaking the Upstash REST protocol in front of the real redis-server that
# redis.sh runs (and starts first). The bearer token is made once, kept in
# .services/upstash/token. `stop` stops the bridge only; redis.sh stop stops Redis.
# Usage: scripts/services/upstash.sh install|start|stop|status
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVICE_DIR="$ROOT/.services/upstash"
NAME=upstash
HOST=127.0.0.1
PORT="${QUARK_UPSTASH_PORT:-8079}"
PIDFILE="$SERVICE_DIR/pid"
LOG="$SERVICE_DIR/bridge.log"
REDIS_SH="$ROOT/scripts/services/redis.sh"
# shellcheck source=_service.bash
. "$ROOT/scripts/services/_service.bash"

install() {
  "$REDIS_SH" install
  command -v node >/dev/null || { echo "upstash: node is required for the bridge" >&2; return 1; }
}

token() {
  mkdir -p "$SERVICE_DIR"
  if [ ! -s "$SERVICE_DIR/token" ]; then
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$SERVICE_DIR/token"
  fi
  cat "$SERVICE_DIR/token"
}

redis_url() {
  sed -n 's/^REDIS_URL=//p' "$ROOT/.services/redis/env"
}

ready() {
  curl -fsS -m 2 -X POST -H "Authorization: Bearer $(token)" -d '["PING"]' \
    "http://$HOST:$PORT/" 2>/dev/null | grep -q '"PONG"'
}

write_env() {
  cat >"$SERVICE_DIR/env" <<ENV
UPSTASH_REDIS_REST_URL=http://$HOST:$PORT
UPSTASH_REDIS_REST_TOKEN=$(token)
REDIS_URL=$(redis_url)
ENV
}

start() {
  install
  "$REDIS_SH" start
  mkdir -p "$SERVICE_DIR"
  exec 9>"$SERVICE_DIR/start.lock"
  flock 9
  # A bridge started from an older upstash-bridge.mjs is restarted, so its behaviour (such as
  # the request size cap) is always the checked-in one.
  local bridge_sha
  bridge_sha="$(sha256sum <"$ROOT/scripts/services/upstash-bridge.mjs")"
  if service_running && ready; then
    if [ "$(cat "$SERVICE_DIR/bridge.sha" 2>/dev/null)" = "$bridge_sha" ]; then
      write_env
      echo "upstash: bridge already running on $HOST:$PORT (pid $(cat "$PIDFILE"))"
      return 0
    fi
    echo "upstash: upstash-bridge.mjs changed; restarting the bridge"
    service_stop 5
  fi
  # Expanded before the background job starts, so the probe and the bridge agree on the token.
  local bridge_token redis
  bridge_token="$(token)"
  redis="$(redis_url)"
  UPSTASH_BRIDGE_TOKEN="$bridge_token" UPSTASH_BRIDGE_PORT="$PORT" UPSTASH_BRIDGE_HOST="$HOST" \
    REDIS_URL="$redis" nohup node "$ROOT/scripts/services/upstash-bridge.mjs" >"$LOG" 2>&1 9>&- &
  echo $! >"$PIDFILE"
  echo "$bridge_sha" >"$SERVICE_DIR/bridge.sha"
  service_wait_ready 30
  write_env
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) service_stop ;;
  status) service_status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
