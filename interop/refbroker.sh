#!/usr/bin/env bash
# The reference broker for the differential suite: Debian's rabbitmq-server, run as a private
# node on 127.0.0.1:${REFBROKER_PORT:-5673} (guest/guest), never on port 5672.
#
#   interop/refbroker.sh install   apt-get install rabbitmq-server, unless it is already there
#   interop/refbroker.sh start     start a node (fresh state under a temp dir) and wait until it
#                                  answers the AMQP protocol header; already up: nothing to do
#   interop/refbroker.sh stop      stop the node this script started
#   interop/refbroker.sh status    exit 0 if something answers AMQP on the port
#
# The management plugin listens on 127.0.0.1:${REFBROKER_PORT + 10000} (15673): the
# differential suite makes users, permissions and vhosts through its HTTP API.
#
# Environment: REFBROKER_PORT (5673), REFBROKER_DIST_PORT (REFBROKER_PORT + 20000),
# REFBROKER_NODE (refbroker<port>@localhost), REFBROKER_DIR (${TMPDIR:-/tmp}/amqpbroker-
# refbroker-<port>), REFBROKER_TIMEOUT (seconds to wait for start-up, 90).
set -u

PORT=${REFBROKER_PORT:-5673}
HOST=127.0.0.1
DIST_PORT=${REFBROKER_DIST_PORT:-$((PORT + 20000))}
MANAGEMENT_PORT=$((PORT + 10000))
PROMETHEUS_PORT=$((PORT + 10020))  # (15693: rabbitmq_prometheus, for interop/test_prometheus_interop)
NODE=${REFBROKER_NODE:-refbroker${PORT}@localhost}
BASE=${REFBROKER_DIR:-${TMPDIR:-/tmp}/amqpbroker-refbroker-${PORT}}
TIMEOUT=${REFBROKER_TIMEOUT:-90}
RMQ_BIN=/usr/lib/rabbitmq/bin

say() { echo "refbroker: $*"; }

if [ "$PORT" = 5672 ] || [ "$DIST_PORT" = 5672 ]; then
  say "refusing to use port 5672 (it belongs to the broker under test)"
  exit 2
fi

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root (or sudo) for: $*"; return 1
  fi
}

installed() { [ -x "$RMQ_BIN/rabbitmq-server" ]; }

install() {
  installed && return 0
  say "installing rabbitmq-server (apt-get)"
  # Keep the package's system service from starting (it would listen on 5672).
  local policy=/usr/sbin/policy-rc.d added=""
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod +x $policy" && added=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    rabbitmq-server >/dev/null
  local status=$?
  [ -n "$added" ] && as_root rm -f "$policy"
  [ $status = 0 ] && installed
}

# RabbitMQ's own variables, pointing everything at our private directory.
node_env() {
  export HOME=$BASE  # the Erlang cookie shared by the node and rabbitmqctl lives here
  export RABBITMQ_NODENAME=$NODE RABBITMQ_NODE_IP_ADDRESS=$HOST RABBITMQ_NODE_PORT=$PORT
  export RABBITMQ_DIST_PORT=$DIST_PORT
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_MNESIA_BASE=$BASE/mnesia RABBITMQ_LOG_BASE=$BASE/log
  export RABBITMQ_CONFIG_FILE=$BASE/rabbitmq RABBITMQ_CONF_ENV_FILE=$BASE/rabbitmq-env.conf
  export RABBITMQ_ENABLED_PLUGINS_FILE=$BASE/enabled_plugins RABBITMQ_PID_FILE=$BASE/pid
  export RABBITMQ_ADVANCED_CONFIG_FILE=$BASE/advanced.config
}

# True when the port answers an AMQP 0-9-1 protocol header with a frame (connection.start).
accepts_amqp() {
  local first
  first=$(timeout 3 bash -c "exec 3<>/dev/tcp/$HOST/$PORT || exit 1
    printf 'AMQP\000\000\011\001' >&3; head -c 1 <&3" 2>/dev/null | od -An -tx1 | tr -d ' ')
  [ "$first" = 01 ]
}

# True when the management HTTP API answers on its port.
management_answers() {
  local status
  status=$(timeout 3 bash -c "exec 3<>/dev/tcp/$HOST/$MANAGEMENT_PORT || exit 1
    printf 'GET /api/overview HTTP/1.0\r\nHost: $HOST\r\n\r\n' >&3; head -c 12 <&3" 2>/dev/null)
  [[ $status == HTTP/1.* ]]
}

node_pid() { [ -s "$BASE/pid" ] && kill -0 "$(cat "$BASE/pid")" 2>/dev/null && cat "$BASE/pid"; }

start() {
  if accepts_amqp; then say "already up on $HOST:$PORT"; return 0; fi
  install || { say "could not install rabbitmq-server"; return 1; }
  node_pid >/dev/null && { say "node $NODE is running but not answering; run stop first"; return 1; }
  rm -rf "$BASE/mnesia" "$BASE/pid"
  mkdir -p "$BASE/log" "$BASE/mnesia"
  printf 'listeners.tcp.default = %s:%s\nmanagement.tcp.ip = %s\nmanagement.tcp.port = %s\n' \
    "$HOST" "$PORT" "$HOST" "$MANAGEMENT_PORT" > "$BASE/rabbitmq.conf"
  printf 'prometheus.tcp.ip = %s\nprometheus.tcp.port = %s\n' "$HOST" "$PROMETHEUS_PORT" \
    >> "$BASE/rabbitmq.conf"
  echo '[rabbitmq_management,rabbitmq_prometheus].' > "$BASE/enabled_plugins"
  # RabbitMQ's core metrics GC (every 2 minutes) drops the counters of a closed channel that
  # the management collector (every 5 s) has not read yet: the management API's publish and
  # get run on one-request channels, so a GC in that window loses their message_stats and
  # the statistics comparisons fail.  Once an hour is longer than the suites run.
  echo '[{rabbit, [{core_metrics_gc_interval, 3600000}]}].' > "$BASE/advanced.config"
  : > "$BASE/rabbitmq-env.conf"
  node_env
  setsid nohup "$RMQ_BIN/rabbitmq-server" > "$BASE/log/console.log" 2>&1 < /dev/null &
  local launcher=$! deadline=$((SECONDS + TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if accepts_amqp && management_answers; then
      say "RabbitMQ up on $HOST:$PORT, management on $MANAGEMENT_PORT (node $NODE, state in $BASE)"
      return 0
    fi
    if ! kill -0 "$launcher" 2>/dev/null && ! node_pid >/dev/null; then break; fi
    sleep 1
  done
  say "RabbitMQ did not start within ${TIMEOUT}s; last lines of $BASE/log/console.log:"
  tail -n 20 "$BASE/log/console.log" 2>/dev/null
  stop >/dev/null
  return 1
}

stop() {
  node_env
  local pid
  pid=$(node_pid)
  if installed && timeout 60 "$RMQ_BIN/rabbitmqctl" -n "$NODE" stop >/dev/null 2>&1; then
    say "stopped node $NODE"
  elif [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    say "stopped node $NODE (pid $pid)"
  else
    say "node $NODE was not running"
  fi
  rm -f "$BASE/pid"
}

case ${1:-} in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) if accepts_amqp; then say "up on $HOST:$PORT"; else say "down ($HOST:$PORT)"; exit 1; fi ;;
  *) echo "usage: $0 install|start|stop|status"; exit 2 ;;
esac
