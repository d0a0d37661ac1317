#!/usr/bin/env bash
# make bench: a short run of every `switchboard bench` scenario against a
# fresh dev node started here (free ports, temporary data dir), reports in
# $OUT (JSON + HTML). Exits non-zero if any scenario's verification fails.
# Usage: bash bench/make-bench.sh [binary] (BENCH_DURATION, OUT override).
set -euo pipefail

BIN=${1:-bin/switchboard}
OUT=${OUT:-bench-results}
DUR=${BENCH_DURATION:-5s}
mkdir -p "$OUT"
DATA=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-bench.XXXXXX")
NODE_PID=
cleanup() {
	if [[ -n $NODE_PID ]]; then
		kill "$NODE_PID" 2>/dev/null || true
		wait "$NODE_PID" 2>/dev/null || true
	fi
	rm -rf "$DATA"
}
trap cleanup EXIT

"$BIN" serve --dev --data-dir "$DATA" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --drain-timeout 1s >"$OUT/serve.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 100); do
	[[ -s $DATA/dev/admin.json && -s $DATA/dev/server.json ]] && break
	kill -0 "$NODE_PID" 2>/dev/null || { echo "node did not start:"; cat "$OUT/serve.log"; exit 1; }
	sleep 0.1
done
[[ -s $DATA/dev/admin.json ]] || { echo "node did not write $DATA/dev/admin.json"; exit 1; }

status=0
run() {
	local name=$1
	shift
	echo "== bench $name $*"
	if ! "$BIN" bench "$@" --data-dir "$DATA" --json "$OUT/$name.json" --html "$OUT/$name.html"; then
		status=1
	fi
	echo
}
run chat chat --rate 1000 --duration "$DUR"
run group group --groups 2 --members 100 --senders 2 --rate 40 --duration "$DUR"
run group-large group --members 1000 --rate 10 --duration "$DUR"
run connect connect --conns 2000 --ramp 5s --duration "$DUR"
run sync sync --sync-users 2 --convs 200
run soak soak --users 100 --groups 2 --members 50 --rate 500 --duration "$DUR"
echo "reports in $OUT/"
exit $status
