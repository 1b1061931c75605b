#!/usr/bin/env bash
# Neon's wsproxy (WebSocket -> TCP) in front of the test PostgreSQL, on 127.0.0.1:6543.
# It tries `go install github.com/neondatabase/wsproxy`; when the Go module proxy refuses that
# module (it answers 403 on some networks, including the one this project is built on), it
# runs scripts/services/ws-tcp-proxy.mjs, a relay with the same interface
# (`/v1?address=host:port`, LISTEN_PORT, ALLOW_ADDR_REGEX, binary frames both ways).
# Usage: scripts/services/wsproxy.sh install|start|stop|status
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NAME=wsproxy
HOST=127.0.0.1
PORT="${QUARK_WSPROXY_PORT:-6543}"
METRICS="${QUARK_WSPROXY_METRICS:-127.0.0.1:2112}"
SERVICE_DIR="$ROOT/.services/wsproxy"
PIDFILE="$SERVICE_DIR/pid"
LOG="$SERVICE_DIR/log"
BIN="$ROOT/.cache/bin/wsproxy"
# shellcheck source=_service.bash
. "$ROOT/scripts/services/_service.bash"

ready() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

install() {
  if [ -x "$BIN" ]; then return 0; fi
  if command -v go >/dev/null 2>&1; then
    mkdir -p "$ROOT/.cache/bin"
    if GOBIN="$ROOT/.cache/bin" GOFLAGS=-buildvcs=false timeout 300 go install github.com/neondatabase/wsproxy@latest \
      >"$ROOT/.cache/wsproxy-install.log" 2>&1; then
      return 0
    fi
  fi
  echo "wsproxy: Neon's wsproxy could not be installed ($(head -c 160 "$ROOT/.cache/wsproxy-install.log" 2>/dev/null | tr '\n' ' ')); using scripts/services/ws-tcp-proxy.mjs" >&2
}

write_env() { echo "NEON_WS_PROXY=$HOST:$PORT/v1" >"$SERVICE_DIR/env"; }

start() {
  "$ROOT/scripts/services/postgres.sh" start >/dev/null
  mkdir -p "$SERVICE_DIR"
  if service_running && ready; then
    write_env
    echo "$NAME: already running on $HOST:$PORT (pid $(cat "$PIDFILE"))"
    return 0
  fi
  install
  export LISTEN_PORT="$HOST:$PORT" PROMETHEUS_BIND="$METRICS" ALLOW_ADDR_REGEX='^127\.0\.0\.1:[0-9]+$' LOG_CONN_INFO=false
  if [ -x "$BIN" ]; then
    nohup "$BIN" >"$LOG" 2>&1 &
  else
    nohup node "$ROOT/scripts/services/ws-tcp-proxy.mjs" >"$LOG" 2>&1 &
  fi
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
