#!/usr/bin/env bash
# Run a REAL single-node Apache Kafka broker (KRaft, broker+controller in one JVM)
# from Maven Central jars: no Docker, no tarball download, only java + mvn.
# Used by the integration tests and on developer laptops.
#
#   deploy/local/kafka.sh start | stop | status | logs [-f] | classpath | run-class CLASS [ARGS...]
#
# Environment:
#   KAFKA_VERSION          Kafka release to run                (default 4.1.1)
#   KAFKA_PORT             PLAINTEXT client port               (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port               (default 9093)
#   KAFKA_KEEP_DATA=1      keep topics/offsets across `start`  (default: wipe)
#   CEPHEUS_KAFKA_HOME     cache + state folder                (default ~/.cache/cepheus/kafka)
#   KAFKA_HEAP_OPTS, KAFKA_JVM_OPTS, KAFKA_START_TIMEOUT (s), KAFKA_STOP_TIMEOUT (s)
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HOST=127.0.0.1
KAFKA_HOME_DIR="${CEPHEUS_KAFKA_HOME:-$HOME/.cache/cepheus/kafka}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
# Short-lived tools (storage format, CLI): C1 only + serial GC start ~0.5 s faster.
TOOL_JVM_OPTS="-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
MVN="${MVN:-mvn}"

# Jars are cached per version (shared by every port); runtime state is per port,
# so a second broker on other ports does not trample the first one.
DIST_DIR="$KAFKA_HOME_DIR/dist/$KAFKA_VERSION"
RUN_DIR="$KAFKA_HOME_DIR/run-$KAFKA_PORT"
DATA_DIR="$RUN_DIR/data"
PID_FILE="$RUN_DIR/kafka.pid"
LOG_FILE="$RUN_DIR/kafka.log"
CONF_FILE="$RUN_DIR/server.properties"
LOG4J_FILE="$RUN_DIR/log4j2.properties"

say() { echo "kafka.sh: $*"; }
die() { echo "kafka.sh: error: $*" >&2; exit 1; }

# ---------------------------------------------------------------- jars / classpath

check_java() {
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found (Kafka $KAFKA_VERSION needs Java 17+)"
  local v
  v=$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
  [[ -n "$v" && "$v" -ge 17 ]] || die "Kafka 4.x needs Java 17+, found: $("$JAVA" -version 2>&1 | head -n1)"
}

# Is CLASS (a/b/C.class) inside any jar of DIR? Zip central directories store
# entry names uncompressed, so a byte grep is enough and needs no unzip/jar tool.
jar_has_class() {
  local dir=$1 entry=$2 j
  for j in "$dir"/*.jar; do
    LC_ALL=C grep -aq -- "$entry" "$j" && return 0
  done
  return 1
}

# Quiet Maven run in DIR; its output (some versions print stray ANSI codes even
# with -q) is shown only when it fails.
mvn_in() {
  local dir=$1; shift
  if ! (cd "$dir" && "$MVN" -q -B "$@") >"$dir/mvn.log" 2>&1; then
    cat "$dir/mvn.log" >&2; return 1
  fi
}

# Resolve kafka_2.13 (broker) + kafka-tools (CLI classes) and all their runtime
# dependencies into $DIST_DIR/libs once; later starts only read $DIST_DIR/classpath.
ensure_dist() {
  [[ -s "$DIST_DIR/classpath" && -s "$DIST_DIR/main-classes" ]] && return 0
  command -v "$MVN" >/dev/null 2>&1 || die "mvn not found; it is needed once to fetch Kafka $KAFKA_VERSION jars"
  say "fetching Kafka $KAFKA_VERSION jars with Maven (first run only) ..."
  # Build in a temp folder and rename at the end, so an interrupted fetch never
  # leaves a half-filled cache that later starts would trust.
  local tmp="$DIST_DIR.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  trap 'rm -rf "'"$tmp"'"' EXIT
  cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.cepheus</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
  </dependencies>
  <build><pluginManagement><plugins>
    <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>3.8.1</version></plugin>
  </plugins></pluginManagement></build>
</project>
EOF
  mvn_in "$tmp" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=libs \
    || die "Maven could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION"

  # Kafka's poms ship slf4j-api and log4j-core but no slf4j->log4j2 bridge (the
  # binary distribution adds it), so without this the broker would log nothing.
  local log4j="" slf4j="" bridge j
  for j in "$tmp"/libs/log4j-core-*.jar; do [[ -f "$j" ]] && log4j=${j##*/log4j-core-} && log4j=${log4j%.jar}; done
  for j in "$tmp"/libs/slf4j-api-*.jar; do [[ -f "$j" ]] && slf4j=${j##*/slf4j-api-} && slf4j=${slf4j%.jar}; done
  if [[ -n "$log4j" && -n "$slf4j" ]]; then
    if [[ "$slf4j" == 1.* ]]; then bridge="log4j-slf4j-impl"; else bridge="log4j-slf4j2-impl"; fi
    mvn_in "$tmp" dependency:copy -Dartifact="org.apache.logging.log4j:$bridge:$log4j" -DoutputDirectory=libs \
      || die "Maven could not resolve org.apache.logging.log4j:$bridge:$log4j"
  else
    say "warning: no log4j-core/slf4j-api among the jars; broker logging may be silent"
  fi

  # The storage formatter moved between Scala and Java over releases: look it up.
  local storage_tool
  if jar_has_class "$tmp/libs" 'org/apache/kafka/tools/StorageTool.class'; then
    storage_tool=org.apache.kafka.tools.StorageTool
  elif jar_has_class "$tmp/libs" 'kafka/tools/StorageTool.class'; then
    storage_tool=kafka.tools.StorageTool
  else
    die "no StorageTool class in Kafka $KAFKA_VERSION jars"
  fi
  jar_has_class "$tmp/libs" 'kafka/Kafka.class' || die "no kafka.Kafka main class in Kafka $KAFKA_VERSION jars"

  # Paths in the classpath point at the final location, written last as the
  # "cache complete" marker (see the check at the top).
  local cp="" n=0
  for j in "$tmp"/libs/*.jar; do cp="${cp:+$cp:}$DIST_DIR/libs/${j##*/}"; n=$((n + 1)); done
  printf 'STORAGE_TOOL=%s\nBROKER_MAIN=kafka.Kafka\n' "$storage_tool" >"$tmp/main-classes"
  echo "$cp" >"$tmp/classpath.pending"
  if [[ -s "$DIST_DIR/classpath" ]]; then  # a parallel run finished first: keep its copy
    rm -rf "$tmp"; trap - EXIT; return 0
  fi
  rm -rf "$DIST_DIR"; mkdir -p "$(dirname "$DIST_DIR")"
  mv "$tmp" "$DIST_DIR"
  trap - EXIT
  mv "$DIST_DIR/classpath.pending" "$DIST_DIR/classpath"
  say "cached $n jars in $DIST_DIR"
}

classpath() { cat "$DIST_DIR/classpath"; }
main_class() { sed -n "s/^$1=//p" "$DIST_DIR/main-classes"; }

# ---------------------------------------------------------------- process state

# Serialise start/stop per port, so two test runs calling `start` at once end up
# sharing one broker instead of racing two. flock is Linux-only; elsewhere skip.
lock_run_dir() {
  mkdir -p "$RUN_DIR"
  command -v flock >/dev/null 2>&1 || return 0
  exec 9>"$RUN_DIR/.lock"
  flock -w $((START_TIMEOUT + STOP_TIMEOUT + 60)) 9 || die "timed out waiting for another kafka.sh on $RUN_DIR"
}

# Pid from the pid file, only if that process is alive AND is our broker
# (a stale pid file may name an unrelated process after a reboot).
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid=$(cat "$PID_FILE" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  ps -p "$pid" -o args= 2>/dev/null | grep -q "kafka.Kafka $CONF_FILE" || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$KAFKA_HOST/$1") 2>/dev/null; }

# A real protocol check without starting a JVM: send a raw Metadata v8 request
# (no topics) and read the broker list from the answer. A broker lists itself
# only once it is unfenced, i.e. once clients can create topics and produce.
#   request : size | api_key=3 | version=8 | correlation_id=42 | client_id "cepheus"
#             | topics=[] | allow_auto_create=0 | cluster_ops=0 | topic_ops=0
#   response: size | correlation_id | throttle_time_ms | brokers count | ...
kafka_serving() {
  local out
  # shellcheck disable=SC2016  # $0/$1 are expanded by the inner bash
  out=$(timeout 5 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "\x00\x00\x00\x18\x00\x03\x00\x08\x00\x00\x00\x2a\x00\x07cepheus\x00\x00\x00\x00\x00\x00\x00" >&3
    head -c 16 <&3 | od -An -tu1
  ' "$KAFKA_HOST" "$KAFKA_PORT" 2>/dev/null) || return 1
  # shellcheck disable=SC2086
  set -- $out
  [[ $# -eq 16 ]] || return 1
  local corr=$(( ($5 << 24) | ($6 << 16) | ($7 << 8) | $8 ))
  local brokers=$(( (${13} << 24) | (${14} << 16) | (${15} << 8) | ${16} ))
  [[ $corr -eq 42 && $brokers -ge 1 ]]
}

log_tail() {
  echo "---- last lines of $LOG_FILE ----" >&2
  tail -n 60 "$LOG_FILE" >&2 2>/dev/null || true
  echo "----" >&2
}

wait_ready() {
  local pid=$1 deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log_tail; rm -f "$PID_FILE"; die "broker exited during startup"
    fi
    if port_open "$KAFKA_PORT" && kafka_serving; then return 0; fi
    sleep 0.5
  done
  log_tail; die "broker not serving on $KAFKA_HOST:$KAFKA_PORT after ${START_TIMEOUT}s (pid $pid still running; see '$0 stop')"
}

# ---------------------------------------------------------------- config files

write_config() {
  cat >"$CONF_FILE" <<EOF
# Generated by deploy/local/kafka.sh on every start; edit the script, not this file.
node.id=1
process.roles=broker,controller
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA_DIR
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
# Single node: internal topics cannot have 3 replicas.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Few internal partitions: the first consumer group / transaction starts faster.
offsets.topic.num.partitions=4
transaction.state.log.num.partitions=4
# Tests want their consumer group to start consuming at once.
group.initial.rebalance.delay.ms=0
EOF
  # Plain text to the log file; Kafka's chatty request/state loggers stay at WARN.
  cat >"$LOG4J_FILE" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
logger.controller.name = org.apache.kafka.controller
logger.controller.level = info
EOF
}

# ---------------------------------------------------------------- commands

cmd_start() {
  local pid
  if pid=$(running_pid); then
    if kafka_serving; then
      say "already running (pid $pid) on $KAFKA_HOST:$KAFKA_PORT"
      return 0
    fi
    say "already starting (pid $pid), waiting until it serves ..."
    wait_ready "$pid"
    say "ready on $KAFKA_HOST:$KAFKA_PORT (pid $pid)"
    return 0
  fi
  # Something else (another Kafka, a container) owns the port: say so instead of
  # starting a broker that dies on "Address already in use".
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_open "$p" && die "port $KAFKA_HOST:$p is already in use by another process"
  done

  check_java
  ensure_dist
  local t0=$SECONDS
  mkdir -p "$RUN_DIR"
  rm -f "$PID_FILE"
  [[ -f "$LOG_FILE" ]] && mv -f "$LOG_FILE" "$LOG_FILE.1"
  if [[ "${KAFKA_KEEP_DATA:-0}" != 1 ]]; then rm -rf "$DATA_DIR"; fi
  mkdir -p "$DATA_DIR"
  write_config

  # KRaft needs formatted storage (cluster id + metadata version) before the first
  # start. Reuse the id of kept data; --ignore-formatted makes re-runs a no-op.
  local cluster_id
  cluster_id=$(sed -n 's/^cluster.id=//p' "$DATA_DIR/meta.properties" 2>/dev/null || true)
  if [[ -z "$cluster_id" ]]; then
    # A Kafka Uuid is 16 random bytes in unpadded URL-safe base64 (22 chars).
    cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  fi
  local cp
  cp=$(classpath)
  # shellcheck disable=SC2086  # the *_OPTS strings are meant to split into words
  if ! "$JAVA" $TOOL_JVM_OPTS "-Dlog4j2.configurationFile=$LOG4J_FILE" -cp "$cp" \
      "$(main_class STORAGE_TOOL)" format --ignore-formatted \
      -t "$cluster_id" -c "$CONF_FILE" >>"$LOG_FILE" 2>&1; then
    log_tail; die "formatting KRaft storage in $DATA_DIR failed"
  fi

  # nohup + own log file: the broker outlives this script and the terminal.
  # 9>&- : the broker must not inherit (and so hold forever) the start/stop lock.
  # shellcheck disable=SC2086
  nohup "$JAVA" $KAFKA_HEAP_OPTS $KAFKA_JVM_OPTS "-Dlog4j2.configurationFile=$LOG4J_FILE" \
    "-Dkafka.logs.dir=$RUN_DIR" -cp "$cp" "$(main_class BROKER_MAIN)" "$CONF_FILE" \
    >>"$LOG_FILE" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"
  say "starting Kafka $KAFKA_VERSION (pid $pid, cluster $cluster_id, data $DATA_DIR) ..."
  wait_ready "$pid"
  say "ready on $KAFKA_HOST:$KAFKA_PORT in $((SECONDS - t0))s (pid $pid, log $LOG_FILE)"
}

cmd_stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$PID_FILE"
    say "not running"
    return 0
  fi
  # SIGTERM lets Kafka shut down cleanly (flush logs, leave the quorum).
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.3; done
  if kill -0 "$pid" 2>/dev/null; then
    say "still alive after ${STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
  rm -f "$PID_FILE"
  say "stopped (pid $pid)"
}

cmd_status() {
  local pid
  if pid=$(running_pid) && kafka_serving; then
    say "running (pid $pid), serving on $KAFKA_HOST:$KAFKA_PORT"
    return 0
  fi
  if [[ -n "${pid:-}" ]]; then say "process $pid alive but not serving on $KAFKA_HOST:$KAFKA_PORT"
  else say "not running"; fi
  return 1
}

cmd_logs() {
  [[ -f "$LOG_FILE" ]] || die "no log yet at $LOG_FILE"
  if [[ "${1:-}" == "-f" ]]; then exec tail -n 100 -f "$LOG_FILE"; fi
  tail -n 200 "$LOG_FILE"
}

# For tests and humans: Kafka's own CLI classes from the same jars, e.g.
#   kafka.sh run-class org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 --list
cmd_run_class() {
  [[ $# -ge 1 ]] || die "usage: $0 run-class CLASS [ARGS...]"
  check_java
  ensure_dist >&2
  # CLI tools print their data on stdout: keep their own logging on stderr at WARN.
  local cfg="$KAFKA_HOME_DIR/tools-log4j2.properties"
  printf '%s\n' 'status = warn' 'appender.err.type = Console' 'appender.err.name = ERR' \
    'appender.err.target = SYSTEM_ERR' 'appender.err.layout.type = PatternLayout' \
    'appender.err.layout.pattern = [%d] %p %m (%c)%n' 'rootLogger.level = warn' \
    'rootLogger.appenderRef.err.ref = ERR' >"$cfg"
  # shellcheck disable=SC2086
  exec "$JAVA" $TOOL_JVM_OPTS "-Dlog4j2.configurationFile=$cfg" -cp "$(classpath)" "$@"
}

case "${1:-}" in
  start) lock_run_dir; cmd_start ;;
  stop) lock_run_dir; cmd_stop ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  classpath) check_java; ensure_dist >&2; classpath ;;
  run-class) shift; cmd_run_class "$@" ;;
  *) echo "usage: $0 start|stop|status|logs [-f]|classpath|run-class CLASS [ARGS...]" >&2; exit 2 ;;
esac
