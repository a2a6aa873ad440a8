#!/usr/bin/env bash
# The product's promise under kill -9: weftd records heartbeat readings
# (every 10 ms, ~600 readings/s with record's own counters) and uploads
# them; it is killed with SIGKILL at random moments (ROUNDS times, default
# 22) and restarted each time. After each kill: `PRAGMA integrity_check`
# (sqlite3 CLI) is ok, and every reading the store acknowledged before the
# kill (its last "store: committed through seq N" line) is in the DB. At
# the end one more run drains everything: every recorded reading reaches
# the broker; duplicates only from batches in flight at a kill (at most 4
# batches of 100 rows per kill). Bounded: about 40 s (well under 2 min).
# Usage: bash upload_kill9.sh <weftd> [ROUNDS] [SEED]
set -euo pipefail
WEFTD=$1
ROUNDS=${2:-22}
RANDOM=${3:-$$}
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/upload_common.bash"

start_broker_and_collector
weftd_upload_config "$TMP/weftd.toml" "$PORT" "10ms"
DB=$TMP/readings.db

for ((round = 1; round <= ROUNDS; round++)); do
  before=0
  [[ -e $DB ]] && before=$($PY "$UPLOAD_CHECK" maxseq "$DB")
  start_bg "run$round" "$WEFTD" --config "$TMP/weftd.toml" --for 60s
  # A random moment: 100..1299 ms after the start (some before the store
  # reports anything, most in the middle of recording and uploading).
  sleep "$(printf '0.%03d' $((RANDOM % 900 + 100)))"
  if ((RANDOM % 3 == 0)); then sleep 0.4; fi
  kill -KILL "${PID_OF[run$round]}"
  wait_exit "run$round" 5
  [[ $EXIT_STATUS == 137 ]] || fail "round $round: weftd exited $EXIT_STATUS before the kill"
  mv "$TMP/run$round.log" "$TMP/run.last.log"
  acked=$(grep -oE "store: committed through seq [0-9]+" "$TMP/run.last.log" | tail -1 | grep -oE "[0-9]+$" || echo "$before")
  integrity=$(sqlite3 "$DB" 'PRAGMA integrity_check')
  [[ $integrity == ok ]] || fail "round $round: integrity_check: $integrity"
  if ((acked > before)); then
    $PY "$UPLOAD_CHECK" durable "$DB" "$before" "$acked" >"$TMP/durable.out" ||
      fail "round $round: acknowledged readings missing after kill -9: $(cat "$TMP/durable.out")"
  fi
  note "round $round: killed; acknowledged through $acked (previous run ended at $before); integrity ok"
done

final=$($PY "$UPLOAD_CHECK" maxseq "$DB")
note "final run: everything up to seq $final must reach the broker"
start_bg final "$WEFTD" --config "$TMP/weftd.toml" --for 90s
timeout 60 bash -c "until $PY '$UPLOAD_CHECK' complete '$DB' '$COLLECTED' $final >/dev/null; do sleep 0.3; done" ||
  fail "not every recorded reading reached the broker: $($PY "$UPLOAD_CHECK" complete "$DB" "$COLLECTED" "$final")"
kill -TERM "${PID_OF[final]}"
wait_exit final 10
no_service_failure "$TMP/final.log"
out=$($PY "$UPLOAD_CHECK" check "$DB" "$COLLECTED" --upto "$final" --crash-dups \
  --max-dup-readings $((ROUNDS * 4 * 100))) || fail "what arrived is wrong: $out"
echo "$out"
echo "PASS upload_kill9 ($ROUNDS kills)"
