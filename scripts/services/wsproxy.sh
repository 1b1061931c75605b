#!/usr/bin/env bash
# Neon's wsproxy (WebSocket -> TCP) in front of the test PostgreSQL, on 127.0.0.1:6543.
# It tries `go install github.com/neondatabase/wsproxy`; when the Go module proxy refuses that
# module (it does on some networks), it runs scripts/services/ws-tcp-proxy.mjs, a relay with
# the same interface (`/v1?address=host:port`, ALLOW_ADDR_REGEX, binary frames).
# Usage: scripts/services/wsproxy.sh install|start|stop|status
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVICE_DIR="$ROOT/.services/wsproxy"
BIN="$ROOT/.cache/bin/wsproxy"
HOST=127.0.0.1
PORT="${QUARK_WSPROXY_PORT:-6543}"
METRICS="${QUARK_WSPROXY_METRICS:-127.0.0.1:2112}"

install() {
  if [ -x "$BIN" ]; then return 0; fi
  if command -v go >/dev/null 2>&1; then
    mkdir -p "$ROOT/.cache/bin"
    if GOBIN="$ROOT/.cache/bin" GOFLAGS=-buildvcs=false timeout 300 go install github.com/neondatabase/wsproxy@latest \
      >"$ROOT/.cache/wsproxy-install.log" 2>&1; then
      return 0
    fi
  fi
  echo "wsproxy: Neon's wsproxy could not be installed ($(head -c 200 "$ROOT/.cache/wsproxy-install.log" 2>/dev/null | tr '\n' ' ')); using scripts/services/ws-tcp-proxy.mjs" >&2
}

listening() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

running_pid() {
  [ -f "$SERVICE_DIR/pid" ] || return 1
  local pid
  pid="$(cat "$SERVICE_DIR/pid")"
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

write_env() {
  echo "NEON_WS_PROXY=$HOST:$PORT/v1" >"$SERVICE_DIR/env"
}

start() {
  "$ROOT/scripts/services/postgres.sh" start >/dev/null
  mkdir -p "$SERVICE_DIR"
  if running_pid >/dev/null && listening; then
    write_env
    echo "wsproxy: already running on $HOST:$PORT (pid $(cat "$SERVICE_DIR/pid"))"
    return 0
  fi
  install
  export LISTEN_PORT="$HOST:$PORT" PROMETHEUS_BIND="$METRICS" ALLOW_ADDR_REGEX='^127\.0\.0\.1:[0-9]+$' LOG_CONN_INFO=false
  if [ -x "$BIN" ]; then
    nohup "$BIN" >"$SERVICE_DIR/log" 2>&1 &
  else
    nohup node "$ROOT/scripts/services/ws-tcp-proxy.mjs" >"$SERVICE_DIR/log" 2>&1 &
  fi
  echo $! >"$SERVICE_DIR/pid"
  local tries=0
  until listening; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ] || ! running_pid >/dev/null; then
      echo "wsproxy: did not start; see $SERVICE_DIR/log" >&2
      exit 1
    fi
    sleep 0.1
  done
  write_env
  echo "wsproxy: running on $HOST:$PORT (pid $(cat "$SERVICE_DIR/pid"))"
}

stop() {
  local pid
  if pid="$(running_pid)"; then kill "$pid" 2>/dev/null || true; fi
  rm -f "$SERVICE_DIR/pid"
  echo "wsproxy: stopped"
}

status() {
  if running_pid >/dev/null && listening; then echo "wsproxy: running on $HOST:$PORT"; else echo "wsproxy: not running"; return 1; fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
