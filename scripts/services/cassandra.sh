#!/usr/bin/env bash
# Apache Cassandra 5.0 on JDK 17, run from Maven Central jars, for the cassandra adapter's
# tests and benchmark. One node, bound to 127.0.0.1, CQL on port 9042.
#
#   scripts/services/cassandra.sh install   fetch the jars into .cache/cassandra/jars (mvn), JDK 17 and Maven via apt-get if missing
#   scripts/services/cassandra.sh start     install if needed, start in the background, wait for a CQL answer
#   scripts/services/cassandra.sh stop      stop the server this script started (by its recorded pid)
#   scripts/services/cassandra.sh status    say whether it runs and answers CQL
#
# Writes .services/cassandra/env with CASSANDRA_CONTACT_POINTS and CASSANDRA_DC.
# Data lives in .services/cassandra/data and is kept across restarts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/scripts/services/cassandra"
CACHE="$ROOT/.cache/cassandra"
JARS="$CACHE/jars"
DIR="$ROOT/.services/cassandra"
PIDFILE="$DIR/pid"
LOG="$DIR/cassandra.log"
ENVFILE="$DIR/env"
HOST=127.0.0.1
PORT=9042
VERSION="$(sed -n 's:.*<version>\(5\.0\.[0-9]*\)</version>.*:\1:p' "$HERE/pom.xml" | head -n1)"
START_TIMEOUT="${CASSANDRA_START_TIMEOUT:-180}"
NAME=cassandra
PROCESS_MATCH=org.apache.cassandra.service.CassandraDaemon
# shellcheck source=scripts/services/_service.bash
. "$ROOT/scripts/services/_service.bash"

java17() {
  local candidate
  for candidate in "${CASSANDRA_JAVA:-}" /usr/lib/jvm/java-17-openjdk-amd64/bin/java /usr/lib/jvm/java-17-openjdk-arm64/bin/java; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  if command -v java >/dev/null 2>&1 && java -version 2>&1 | grep -q 'version "17'; then command -v java; return 0; fi
  return 1
}

install() {
  if ! java17 >/dev/null || ! command -v mvn >/dev/null 2>&1; then
    echo "cassandra: installing openjdk-17-jdk-headless and maven with apt-get" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null
  fi
  if [ -f "$JARS/.complete-$VERSION" ]; then return 0; fi
  echo "cassandra: fetching cassandra-all $VERSION and its dependencies with mvn" >&2
  rm -rf "$JARS"
  mkdir -p "$JARS"
  (cd "$HERE" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$JARS")
  ls "$JARS"/cassandra-all-*.jar "$JARS"/jamm-*.jar >/dev/null
  touch "$JARS/.complete-$VERSION"
}

ready() {
  # A bare port check first, so the CQL probe (a node process) only runs once something listens.
  (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null && node "$HERE/probe.mjs" "$HOST" "$PORT" >/dev/null 2>&1
}

write_env() {
  mkdir -p "$DIR"
  cat >"$ENVFILE" <<ENV
CASSANDRA_CONTACT_POINTS=$HOST:$PORT
CASSANDRA_DC=datacenter1
ENV
}

start() {
  if service_running && ready; then
    write_env
    echo "cassandra: already running (pid $(cat "$PIDFILE")) on $HOST:$PORT"
    return 0
  fi
  if service_running; then
    echo "cassandra: pid $(cat "$PIDFILE") is running but does not answer CQL yet; waiting for it" >&2
  else
    if ready; then
      echo "cassandra: something not started by this script already answers on $HOST:$PORT; stop it first" >&2
      exit 1
    fi
    install
    local java jamm
    java="$(java17)"
    jamm="$(ls "$JARS"/jamm-*.jar | head -n1)"
    mkdir -p "$DIR/data"
    cp "$HERE/cassandra.yaml" "$DIR/cassandra.yaml"
    # -Dcassandra.unsafesystem skips fsync of system tables; fine for a throwaway test node.
    nohup "$java" @"$HERE/jvm17.args" -Xms1g -Xmx1g -Xss512k -XX:+ExitOnOutOfMemoryError \
      -javaagent:"$jamm" \
      -Dcassandra.config="file://$DIR/cassandra.yaml" \
      -Dcassandra.storagedir="$DIR/data" \
      -Dcassandra.logdir="$DIR" \
      -Dcassandra-foreground=yes \
      -Dcassandra.unsafesystem=true \
      -Dcassandra.skip_wait_for_gossip_to_settle=0 \
      -Dlogback.configurationFile="file://$HERE/logback.xml" \
      -cp "$JARS/*" org.apache.cassandra.service.CassandraDaemon \
      >"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
  fi
  service_wait_ready "$START_TIMEOUT"
  write_env
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) service_stop 30 ;;
  status) service_status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
