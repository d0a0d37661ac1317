#!/usr/bin/env bash
# Run a command with a Cassandra node available in SWITCHBOARD_CQL_HOSTS.
#
# Usage:
#   scripts/with-cassandra.sh CMD [ARGS...]
#   e.g. scripts/with-cassandra.sh go test ./storage/...
#
# - If SWITCHBOARD_CQL_HOSTS is already set, CMD runs against that cluster.
# - Otherwise a throw-away node is started with scripts/cassandra.sh in its own
#   run dir, CMD runs with SWITCHBOARD_CQL_HOSTS exported, and the node is
#   stopped afterwards whatever happens. The exit status is CMD's.
# - If the node cannot start: with CI=true this fails; otherwise a warning is
#   printed and CMD runs without SWITCHBOARD_CQL_HOSTS (the CQL tests skip).
set -euo pipefail

if (($# == 0)); then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

if [[ -n ${SWITCHBOARD_CQL_HOSTS:-} ]]; then
  exec "$@"
fi

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cassandra=$script_dir/cassandra.sh

# A run dir of our own, so this never touches a node started by hand.
export SWITCHBOARD_CASSANDRA_DIR=${SWITCHBOARD_CASSANDRA_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/switchboard-cassandra.XXXXXX")}

# shellcheck disable=SC2317 # called from the EXIT trap
stop_cassandra() {
  bash "$cassandra" stop || true
}

if hosts_line=$(bash "$cassandra" start); then
  trap stop_cassandra EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  export "${hosts_line?}"
  echo "[with-cassandra] ${hosts_line}" >&2
else
  # cassandra.sh has printed the tail of the logs already. Kill whatever is
  # left, but keep the run dir so the logs can be read.
  KEEP=1 bash "$cassandra" stop || true
  if [[ ${CI:-} == true ]]; then
    echo "[with-cassandra] ERROR: Cassandra did not start (logs in $SWITCHBOARD_CASSANDRA_DIR)" >&2
    exit 1
  fi
  cat >&2 <<EOF

************************************************************************
* WARNING: Cassandra did not start (logs in $SWITCHBOARD_CASSANDRA_DIR).
* Running the command WITHOUT SWITCHBOARD_CQL_HOSTS: the CQL tests will
* be SKIPPED. Set CI=true to make this an error.
************************************************************************

EOF
  exec "$@"
fi

# Not exec: the EXIT trap must run to stop Cassandra.
status=0
"$@" || status=$?
exit "$status"
