#!/usr/bin/env bash
# Run a real 3-node Apache Cassandra ring on loopback addresses for tests:
# one scripts/cassandra.sh node per address (127.0.0.2, .3, .4 by default),
# same ports on each, one token each, the first the seed. A keyspace with
# replication factor 3 on it has a replica on every node, so LOCAL_QUORUM
# (2 of 3) keeps working with any one node down.
#
# Usage:
#   scripts/cassandra-cluster.sh start     # start the nodes one after the other, wait until each
#                                          # sees the others, print "SWITCHBOARD_CQL_RING_HOSTS=..."
#   scripts/cassandra-cluster.sh stop      # stop every node, remove the ring dir (KEEP=1 keeps it)
#   scripts/cassandra-cluster.sh status    # say which nodes run; print the hosts line if all do
#   scripts/cassandra-cluster.sh kill N    # SIGKILL node N's JVM (1-3): a crashed replica
#   scripts/cassandra-cluster.sh resume N  # start node N again on its data (it rejoins the ring)
#   scripts/cassandra-cluster.sh with CMD [ARGS...]
#                                          # start, run CMD with SWITCHBOARD_CQL_RING_HOSTS
#                                          # exported, stop whatever happens; CMD's exit status
#
# Environment (besides what scripts/cassandra.sh reads: cache, version, JAVA, MVN):
#   SWITCHBOARD_RING_DIR        ring dir, one run dir per node in it (default /tmp/switchboard-cassandra-ring)
#   SWITCHBOARD_RING_ADDRESSES  the nodes' addresses (default "127.0.0.2 127.0.0.3 127.0.0.4")
#   SWITCHBOARD_RING_PORT       preferred CQL port, the same on every node (default 9042)
#   SWITCHBOARD_RING_HEAP       heap per node (default 768M)
#   SWITCHBOARD_RING_TIMEOUT    seconds to wait for each node (default 600: a loaded 2-core box is slow; nodes start one at a time)
#   CI=true                     "with": fail if the ring does not start (else warn and run CMD without it)
#
# Only the hosts line goes to stdout, so callers can do:
#   eval "export $(scripts/cassandra-cluster.sh start)"
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly CASSANDRA=$script_dir/cassandra.sh

RING_DIR=${SWITCHBOARD_RING_DIR:-/tmp/switchboard-cassandra-ring}
read -r -a ADDRESSES <<<"${SWITCHBOARD_RING_ADDRESSES:-127.0.0.2 127.0.0.3 127.0.0.4}"
PREFERRED_PORT=${SWITCHBOARD_RING_PORT:-9042}
HEAP=${SWITCHBOARD_RING_HEAP:-768M}
NODE_TIMEOUT=${SWITCHBOARD_RING_TIMEOUT:-600}
readonly RING_MARKER=.switchboard-cassandra-ring

log() { printf '[cassandra-ring] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

((${#ADDRESSES[@]} >= 1)) || die "SWITCHBOARD_RING_ADDRESSES is empty"

node_dir() { echo "$RING_DIR/node$1"; }

# node N CMD: run scripts/cassandra.sh CMD for node N (1-based).
node() {
  local i=$1
  shift
  SWITCHBOARD_CASSANDRA_DIR=$(node_dir "$i") \
    SWITCHBOARD_CASSANDRA_ADDRESS=${ADDRESSES[i - 1]} \
    bash "$CASSANDRA" "$@"
}

# True if something listens on $1:$2, or on every address at port $2.
listening() {
  if command -v ss >/dev/null 2>&1 && ss -Hltn "sport = :$2" 2>/dev/null |
      awk '{print $4}' | grep -qxF -e "$1:$2" -e "*:$2" -e "0.0.0.0:$2" -e "[::]:$2"; then
    return 0
  fi
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# free_everywhere PORT: true if PORT is free on every node address.
free_everywhere() {
  local a
  for a in "${ADDRESSES[@]}"; do
    listening "$a" "$1" && return 1
  done
  return 0
}

# ring_port PREFERRED AVOID: PREFERRED if free on every address, else a free
# one in 20000-59999 other than AVOID.
ring_port() {
  local p=$1 _
  free_everywhere "$p" && [[ $p != "$2" ]] && { echo "$p"; return 0; }
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    [[ $p == "$2" ]] && continue
    free_everywhere "$p" && { echo "$p"; return 0; }
  done
  die "no port free on all of ${ADDRESSES[*]}"
}

hosts_line() {
  local port hosts=() a
  port=$(<"$RING_DIR/port")
  for a in "${ADDRESSES[@]}"; do hosts+=("$a:$port"); done
  local IFS=,
  echo "SWITCHBOARD_CQL_RING_HOSTS=${hosts[*]}"
}

# Murmur3 tokens spread evenly over the ring, one per node.
token() {
  local n=${#ADDRESSES[@]} i=$1 t=$((-9223372036854775807 - 1)) k
  # -2^63 + (i-1) * ~2^64/n, step by step so bash's 64 bits never overflow.
  for ((k = 1; k < i; k++)); do t=$((t + 9223372036854775807 / n * 2)); done
  echo "$t"
}

# wait_up LOG ADDR:PORT SECONDS: wait until LOG says ADDR:PORT is up.
wait_up() {
  local file=$1 peer=$2 deadline=$((SECONDS + $3))
  until grep -qF "/$peer is now UP" "$file" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

running_nodes() {
  local i n=0
  for i in $(seq 1 ${#ADDRESSES[@]}); do
    [[ -f $(node_dir "$i")/cassandra.pid ]] && kill -0 "$(<"$(node_dir "$i")/cassandra.pid")" 2>/dev/null && n=$((n + 1))
  done
  echo "$n"
}

cmd_start() {
  local n=${#ADDRESSES[@]}
  if [[ -f $RING_DIR/port ]] && (($(running_nodes) == n)); then
    log "already running in $RING_DIR"
    hosts_line
    return 0
  fi
  if [[ -e $RING_DIR ]]; then
    [[ -f $RING_DIR/$RING_MARKER ]] || die "$RING_DIR exists and was not created by this script"
    cmd_stop
  fi
  # Linux routes all of 127/8 to lo; elsewhere each address needs an alias
  # (macOS: sudo ifconfig lo0 alias 127.0.0.2).
  if [[ $(uname) != Linux ]]; then
    local a
    for a in "${ADDRESSES[@]}"; do
      ifconfig 2>/dev/null | grep -q "inet $a " || die "$a is not on a loopback interface"
    done
  fi
  bash "$CASSANDRA" fetch

  local started=$SECONDS cql_port storage_port
  mkdir -p "$RING_DIR"
  touch "$RING_DIR/$RING_MARKER"
  cql_port=$(ring_port "$PREFERRED_PORT" "")
  storage_port=$(ring_port 7000 "$cql_port")
  echo "$cql_port" >"$RING_DIR/port"
  local seed=${ADDRESSES[0]}:$storage_port
  log "starting ${n} nodes on ${ADDRESSES[*]} (CQL port $cql_port, storage port $storage_port, heap $HEAP each), one at a time"

  # One at a time: on a small machine nodes starting together starve each
  # other, and a node joins fastest when the ones before it are settled.
  local i
  for i in $(seq 1 "$n"); do
    SWITCHBOARD_CASSANDRA_PORT=$cql_port \
      SWITCHBOARD_CASSANDRA_STORAGE_PORT=$storage_port \
      SWITCHBOARD_CASSANDRA_SEEDS=$seed \
      SWITCHBOARD_CASSANDRA_CLUSTER=switchboard-ring \
      SWITCHBOARD_CASSANDRA_TOKEN=$(token "$i") \
      SWITCHBOARD_CASSANDRA_RING_DELAY_MS=30000 \
      SWITCHBOARD_CASSANDRA_UNSAFE_SYSTEM=0 \
      SWITCHBOARD_CASSANDRA_HEAP=$HEAP \
      SWITCHBOARD_CASSANDRA_TIMEOUT=$NODE_TIMEOUT \
      node "$i" start >/dev/null || die "node $i (${ADDRESSES[i - 1]}) did not start (logs in $(node_dir "$i"))"
    [[ $(<"$(node_dir "$i")/port") == "$cql_port" ]] ||
      die "node $i took CQL port $(<"$(node_dir "$i")/port"), not $cql_port"
    # The new node and every node before it must see each other.
    local j
    for j in $(seq 1 $((i - 1))); do
      wait_up "$(node_dir "$j")/system.log" "${ADDRESSES[i - 1]}:$storage_port" 60 ||
        die "node $j does not see node $i up after 60s (logs in $RING_DIR)"
      wait_up "$(node_dir "$i")/system.log" "${ADDRESSES[j - 1]}:$storage_port" 60 ||
        die "node $i does not see node $j up after 60s (logs in $RING_DIR)"
    done
    log "node $i (${ADDRESSES[i - 1]}) is up and in the ring, $((SECONDS - started))s"
  done
  log "ring of $n is up after $((SECONDS - started))s"
  hosts_line
}

cmd_stop() {
  if [[ ! -d $RING_DIR ]]; then
    log "not running"
    return 0
  fi
  [[ -f $RING_DIR/$RING_MARKER ]] || die "$RING_DIR was not created by this script; refusing to touch it"
  local i pids=()
  for i in $(seq 1 ${#ADDRESSES[@]}); do
    [[ -d $(node_dir "$i") ]] || continue
    # In parallel: each drains for a few seconds.
    KEEP=${KEEP:-0} node "$i" stop &
    pids+=($!)
  done
  local status=0 p
  for p in "${pids[@]}"; do wait "$p" || status=1; done
  if [[ ${KEEP:-0} == 1 ]]; then
    log "keeping $RING_DIR"
  else
    rm -rf "$RING_DIR"
  fi
  return "$status"
}

cmd_status() {
  local i up
  up=$(running_nodes)
  for i in $(seq 1 ${#ADDRESSES[@]}); do
    if [[ -d $(node_dir "$i") ]]; then
      node "$i" status >/dev/null 2>&1 && log "node $i (${ADDRESSES[i - 1]}) runs" || log "node $i (${ADDRESSES[i - 1]}) is down"
    fi
  done
  if [[ -f $RING_DIR/port ]] && ((up == ${#ADDRESSES[@]})); then
    hosts_line
  else
    log "$up of ${#ADDRESSES[@]} nodes run"
    return 1
  fi
}

node_arg() {
  [[ ${1:-} =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= ${#ADDRESSES[@]})) ||
    die "node number must be 1-${#ADDRESSES[@]}, got '${1:-}'"
}

cmd_kill() {
  node_arg "${1:-}"
  local f pid
  f=$(node_dir "$1")/cassandra.pid
  [[ -f $f ]] || die "node $1 has no pid file"
  pid=$(<"$f")
  kill -0 "$pid" 2>/dev/null || die "node $1 (pid $pid) is not running"
  log "killing node $1 (${ADDRESSES[$1 - 1]}, pid $pid) with SIGKILL"
  kill -KILL "$pid"
  local deadline=$((SECONDS + 20))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || die "pid $pid still there 20s after SIGKILL"
    sleep 0.1
  done
}

cmd_resume() {
  node_arg "${1:-}"
  local started=$SECONDS
  SWITCHBOARD_CASSANDRA_HEAP=$HEAP SWITCHBOARD_CASSANDRA_TIMEOUT=$NODE_TIMEOUT \
    SWITCHBOARD_CASSANDRA_RING_DELAY_MS=30000 SWITCHBOARD_CASSANDRA_UNSAFE_SYSTEM=0 node "$1" resume >/dev/null
  log "node $1 (${ADDRESSES[$1 - 1]}) serves CQL again after $((SECONDS - started))s"
}

cmd_with() {
  (($# > 0)) || die "usage: $0 with CMD [ARGS...]"
  local line
  if line=$(cmd_start); then
    # shellcheck disable=SC2317 # called from the EXIT trap
    trap 'cmd_stop || true' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    export "${line?}"
    log "$line"
  else
    KEEP=1 cmd_stop || true
    if [[ ${CI:-} == true ]]; then
      die "the ring did not start (logs in $RING_DIR)"
    fi
    log "WARNING: the ring did not start (logs in $RING_DIR); running without SWITCHBOARD_CQL_RING_HOSTS: its test will be SKIPPED"
    exec "$@"
  fi
  local status=0
  "$@" || status=$?
  exit "$status"
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  kill) cmd_kill "${2:-}" ;;
  resume) cmd_resume "${2:-}" ;;
  with)
    shift
    cmd_with "$@"
    ;;
  *)
    echo "usage: $0 start|stop|status|kill N|resume N|with CMD..." >&2
    exit 2
    ;;
esac
