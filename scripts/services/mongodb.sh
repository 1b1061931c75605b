#!/usr/bin/env bash
# mongo-java-server (in-memory backend): the MongoDB wire-protocol server for the mongodb
# adapter's tests and benchmark. Real MongoDB cannot be installed here.
#
#   scripts/services/mongodb.sh install   fetch the jars with Maven into .cache/mongodb/jars and compile the launcher
#   scripts/services/mongodb.sh start     install if needed, start on 127.0.0.1:$MONGODB_PORT, wait until it answers ping
#   scripts/services/mongodb.sh stop      stop the server this script started (by its recorded pid)
#   scripts/services/mongodb.sh status    say whether it runs
#
# Writes .services/mongodb/env with MONGODB_URL. Data lives in memory only: a restart empties it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NAME=mongodb
SRC="$ROOT/scripts/services/mongodb"
CACHE="$ROOT/.cache/mongodb"
JARS="$CACHE/jars"
CLASSES="$CACHE/classes"
DIR="$ROOT/.services/mongodb"
PORT="${MONGODB_PORT:-27018}"
HOST=127.0.0.1
PIDFILE="$DIR/pid"
LOG="$DIR/mongodb.log"
ENVFILE="$DIR/env"
# shellcheck source=_service.bash
. "$ROOT/scripts/services/_service.bash"

install() {
  if ! command -v javac >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    echo "mongodb: installing a JDK and Maven with apt-get" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null
  fi
  # The pom pins the versions; a changed pom refetches.
  if [ ! -f "$JARS/.pom.sha" ] || [ "$(cat "$JARS/.pom.sha")" != "$(sha256sum <"$SRC/pom.xml")" ]; then
    rm -rf "$JARS"
    mkdir -p "$JARS"
    mvn -q -B -Dstyle.color=never -f "$SRC/pom.xml" dependency:copy-dependencies -DoutputDirectory="$JARS"
    sha256sum <"$SRC/pom.xml" >"$JARS/.pom.sha"
  fi
  if [ ! -f "$CLASSES/QuarkMongoServer.class" ] || [ "$SRC/QuarkMongoServer.java" -nt "$CLASSES/QuarkMongoServer.class" ]; then
    mkdir -p "$CLASSES"
    javac -d "$CLASSES" -cp "$JARS/*" "$SRC/QuarkMongoServer.java"
  fi
}

ready() {
  # A real round trip: the driver connects and the server answers the ping command.
  if [ -d "$ROOT/node_modules/mongodb" ] && command -v node >/dev/null 2>&1; then
    (cd "$ROOT" && node --input-type=module -e "
      import { MongoClient } from 'mongodb';
      const client = new MongoClient('mongodb://$HOST:$PORT', { serverSelectionTimeoutMS: 1000, connectTimeoutMS: 1000 });
      try { await client.db('admin').command({ ping: 1 }); } catch { process.exitCode = 1; } finally { await client.close(); }
    ") >/dev/null 2>&1
  else
    (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
  fi
}

write_env() {
  mkdir -p "$DIR"
  echo "MONGODB_URL=mongodb://$HOST:$PORT" >"$ENVFILE"
}

start() {
  if service_running && ready; then
    write_env
    echo "mongodb: already running (pid $(cat "$PIDFILE")) on $HOST:$PORT"
    return 0
  fi
  install
  mkdir -p "$DIR"
  if (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; then
    echo "mongodb: port $PORT is taken by a process this script did not start" >&2
    exit 1
  fi
  nohup java -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Xms64m -Xmx1g -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -cp "$JARS/*:$CLASSES" QuarkMongoServer "$HOST" "$PORT" >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  service_wait_ready 60
  write_env
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) service_stop 5 ;;
  status) service_status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
