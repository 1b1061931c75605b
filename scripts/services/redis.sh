#!/usr/bin/env bash
# Redis for the tests: our own redis-server (Debian package) on 127.0.0.1:16379, in memory
# only (no RDB snapshots, no AOF). The Upstash REST bridge (upstash.sh) sits in front of it.
# Usage: scripts/services/redis.sh install|start|stop|status
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVICE_DIR="$ROOT/.services/redis"
NAME=redis
HOST=127.0.0.1
PORT="${QUARK_REDIS_PORT:-16379}"
PIDFILE="$SERVICE_DIR/pid"
LOG="$SERVICE_DIR/redis.log"
# shellcheck source=_service.bash
. "$ROOT/scripts/services/_service.bash"

install() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then return 0; fi
  echo "redis: installing the Debian redis-server package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq redis-server >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
  # Where init scripts may run, the package starts its own instance on 6379; ours is separate.
  if command -v service >/dev/null 2>&1; then service redis-server stop >/dev/null 2>&1 || true; fi
  command -v redis-server >/dev/null
}

ready() {
  [ "$(redis-cli -h "$HOST" -p "$PORT" ping 2>/dev/null || true)" = "PONG" ]
}

write_env() {
  echo "REDIS_URL=redis://$HOST:$PORT" >"$SERVICE_DIR/env"
}

start() {
  install
  mkdir -p "$SERVICE_DIR"
  # upstash.sh starts Redis too; a lock keeps two concurrent starts from racing for the port.
  exec 9>"$SERVICE_DIR/start.lock"
  flock 9
  if service_running && ready; then
    write_env
    echo "redis: already running on $HOST:$PORT (pid $(cat "$PIDFILE"))"
    return 0
  fi
  if ready; then
    # Our server outlived its pid file (say .services/ was wiped): adopt it so stop works.
    redis-cli -h "$HOST" -p "$PORT" info server | tr -d '\r' | sed -n 's/^process_id://p' >"$PIDFILE"
    write_env
    echo "redis: adopted the server already on $HOST:$PORT (pid $(cat "$PIDFILE"))"
    return 0
  fi
  nohup redis-server --bind "$HOST" --port "$PORT" --protected-mode yes --save '' --appendonly no \
    --daemonize no --dir "$SERVICE_DIR" --logfile "$LOG" >/dev/null 2>&1 9>&- &
  echo $! >"$PIDFILE"
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
