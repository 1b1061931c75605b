#!/usr/bin/env bash
# PostgreSQL for the tests: a private cluster (own initdb) on 127.0.0.1:15432, run as the
# `postgres` OS user, with a database `quark` owned by a password user `quark`.
# Usage: scripts/services/postgres.sh install|start|stop|status
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVICE_DIR="$ROOT/.services/postgres"
PORT="${QUARK_POSTGRES_PORT:-15432}"
DB_USER=quark
DB_PASSWORD=quark
DB_NAME=quark

pg_bindir() {
  local dir
  if command -v pg_config >/dev/null 2>&1; then
    dir="$(pg_config --bindir 2>/dev/null || true)"
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
  fi
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
  return 1
}

# The server runs as `postgres`, which must be able to reach the data directory. When the
# checkout sits somewhere that user cannot traverse (such as under /root), the data goes to a
# per-checkout folder under /var/tmp instead, and .services/postgres/data links to it.
data_dir() {
  if runuser -u postgres -- test -x "$ROOT" 2>/dev/null; then
    echo "$SERVICE_DIR/data"
  else
    echo "/var/tmp/quark-postgres-$(echo -n "$ROOT" | md5sum | cut -c1-12)/data"
  fi
}

install() {
  if pg_bindir >/dev/null; then return 0; fi
  echo "postgres: installing the Debian postgresql package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  # The Debian package starts a cluster of its own on 5432; ours is separate and it is not needed.
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    for cluster in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster "$cluster" main stop >/dev/null 2>&1 || true
    done
  fi
  pg_bindir >/dev/null
}

# From /, so the server user never needs to enter the checkout.
as_postgres() { (cd / && runuser -u postgres -- "$@"); }

is_ready() {
  local bin
  bin="$(pg_bindir)"
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$PORT" -d "$DB_NAME" -U "$DB_USER" >/dev/null 2>&1
}

write_env() {
  mkdir -p "$SERVICE_DIR"
  cat >"$SERVICE_DIR/env" <<EOF
POSTGRES_URL=postgres://$DB_USER:$DB_PASSWORD@127.0.0.1:$PORT/$DB_NAME
EOF
}

start() {
  install
  local bin data socket_dir
  bin="$(pg_bindir)"
  data="$(data_dir)"
  socket_dir="$(dirname "$data")/run"
  mkdir -p "$SERVICE_DIR"
  if [ -f "$data/postmaster.pid" ] && is_ready; then
    head -n 1 "$data/postmaster.pid" >"$SERVICE_DIR/pid"
    write_env
    echo "postgres: already running on 127.0.0.1:$PORT (pid $(cat "$SERVICE_DIR/pid"))"
    return 0
  fi
  mkdir -p "$(dirname "$data")" "$socket_dir"
  chown postgres:postgres "$(dirname "$data")" "$socket_dir"
  if [ "$data" != "$SERVICE_DIR/data" ] && [ ! -e "$SERVICE_DIR/data" ]; then ln -s "$data" "$SERVICE_DIR/data"; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    echo "postgres: initdb in $data" >&2
    as_postgres "$bin/initdb" -D "$data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$SERVICE_DIR/initdb.log" 2>&1 \
      || as_postgres "$bin/initdb" -D "$data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
        -E UTF8 --locale=C >"$SERVICE_DIR/initdb.log" 2>&1
    # A throwaway test cluster: durability is traded for speed (see docs/backends/postgres.md).
    cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$socket_dir'
max_connections = 300
shared_buffers = 64MB
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
EOF
  fi
  # A pid file left by a crash would stop pg_ctl; the server removes a stale one itself.
  as_postgres "$bin/pg_ctl" -D "$data" -l "$(dirname "$data")/server.log" -w -t 60 -o "-p $PORT" start >/dev/null
  head -n 1 "$data/postmaster.pid" >"$SERVICE_DIR/pid"
  # The role and database are created once, over the peer-authenticated Unix socket.
  as_postgres "$bin/psql" -h "$socket_dir" -p "$PORT" -d postgres -v ON_ERROR_STOP=1 -qAt >/dev/null <<EOF
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD';
  END IF;
END \$\$;
EOF
  if [ "$(as_postgres "$bin/psql" -h "$socket_dir" -p "$PORT" -d postgres -qAt -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != "1" ]; then
    as_postgres "$bin/psql" -h "$socket_dir" -p "$PORT" -d postgres -q -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" >/dev/null
  fi
  local tries=0
  until is_ready; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ]; then echo "postgres: not ready after 20 s" >&2; exit 1; fi
    sleep 0.2
  done
  write_env
  echo "postgres: running on 127.0.0.1:$PORT (pid $(cat "$SERVICE_DIR/pid"))"
}

stop() {
  local data bin
  data="$(data_dir)"
  if [ -f "$data/postmaster.pid" ] && bin="$(pg_bindir)"; then
    as_postgres "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$SERVICE_DIR/pid" ]; then
    local pid
    pid="$(cat "$SERVICE_DIR/pid")"
    if kill -0 "$pid" 2>/dev/null; then kill -INT "$pid" 2>/dev/null || true; fi
    rm -f "$SERVICE_DIR/pid"
  fi
  echo "postgres: stopped"
}

status() {
  if pg_bindir >/dev/null && is_ready; then
    echo "postgres: running on 127.0.0.1:$PORT"
  else
    echo "postgres: not running"
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
