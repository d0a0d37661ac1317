#!/usr/bin/env bash
# with-kafka.sh CMD [ARGS...]: run CMD with SWITCHBOARD_TEST_KAFKA_BROKERS set.
#
# The tests read SWITCHBOARD_TEST_KAFKA_BROKERS (or SWITCHBOARD_KAFKA_BROKERS).
# Not SWITCHBOARD_KAFKA_BROKERS itself: serve takes every flag from
# SWITCHBOARD_<FLAG>, so that name would switch the export on in every node
# the other tests start.
#
# If either is already set, CMD runs against that broker.
# Otherwise a throw-away broker is started with scripts/kafka.sh (in its own
# run dir), CMD runs, and the broker is stopped whatever CMD's exit status.
# If the broker cannot be started: with CI=true this fails; otherwise a
# warning is printed and CMD runs without it (the Kafka tests skip).
set -euo pipefail

if (($# == 0)); then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi
if [[ -n ${SWITCHBOARD_TEST_KAFKA_BROKERS:-${SWITCHBOARD_KAFKA_BROKERS:-}} ]]; then
  export SWITCHBOARD_TEST_KAFKA_BROKERS=${SWITCHBOARD_TEST_KAFKA_BROKERS:-$SWITCHBOARD_KAFKA_BROKERS}
  exec "$@"
fi

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kafka=$script_dir/kafka.sh
export SWITCHBOARD_KAFKA_DIR=${SWITCHBOARD_KAFKA_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/switchboard-kafka.XXXXXX")}
# Tests that stop and restart the broker use the same script and run dir.
export SWITCHBOARD_KAFKA_SCRIPT=$kafka

# shellcheck disable=SC2317 # called from the EXIT trap
stop_kafka() { bash "$kafka" stop || true; }

if line=$(bash "$kafka" start); then
  trap stop_kafka EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  export SWITCHBOARD_TEST_KAFKA_BROKERS=${line#*=}
  echo "[with-kafka] SWITCHBOARD_TEST_KAFKA_BROKERS=${SWITCHBOARD_TEST_KAFKA_BROKERS}" >&2
else
  KEEP=1 bash "$kafka" stop || true
  if [[ ${CI:-} == true ]]; then
    echo "[with-kafka] ERROR: Kafka did not start (logs in $SWITCHBOARD_KAFKA_DIR)" >&2
    exit 1
  fi
  echo "[with-kafka] WARNING: Kafka did not start (logs in $SWITCHBOARD_KAFKA_DIR); the Kafka tests will be SKIPPED" >&2
  exec "$@"
fi

status=0
"$@" || status=$?
exit "$status"
