#!/usr/bin/env bash
# A live reload applied to a real weftd (heartbeat, tap, console, gather
# polling a weft-devsim instrument on a pty, record into a [store]): one
# instrument's period changes in the file, `weftctl reload` exits 0, only
# gather restarts (every other service keeps its generation, no restart
# count moves), readings keep arriving, the store's seqs stay contiguous
# (nothing lost across gather's restart) and `config history` shows the
# transaction as applied.
# Usage: reload_apply.sh WEFTD WEFTCTL PYTHON DEVSIM
WEFTD=$1 WEFTCTL=$2 DEVSIM=$4
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/reload_common.bash"

CONF=$TMP/box.toml
reload_box_config "$CONF" 100ms
start_reload_box "$CONF"
wait_grep 15 "$TMP/box.log" "store: committed through seq [1-9]"

declare -A GEN_BEFORE
for s in heartbeat tap console gather record; do GEN_BEFORE[$s]=$(generation "$s"); done
restarts_before=$(restarts_json)
rows_before=$(seq_check)

note "meter's period 100ms -> 250ms in the file; weftctl reload"
reload_box_config "$CONF" 250ms
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload --timeout 60
note "$OUT"
expect_out "gather"

note "only gather ran again"
for s in heartbeat tap console record; do
  g=$(generation "$s")
  [[ $g == "${GEN_BEFORE[$s]}" ]] || fail "$s's generation moved ${GEN_BEFORE[$s]} -> $g; only gather restarts"
done
g=$(generation gather)
((g == GEN_BEFORE[gather] + 1)) || fail "gather's generation ${GEN_BEFORE[gather]} -> $g, expected one more"
[[ $(restarts_json) == "$restarts_before" ]] || fail "restart counts moved: $restarts_before -> $(restarts_json)"
st=$(states)
[[ $st != *=stopped* && $st != *=failed* && $st != */False* ]] || fail "a service is not running and ready: $st"

note "readings keep arriving"
read -r n0 _ hi0 <<<"$rows_before"
for ((i = 0; i < 200; i++)); do
  read -r n _ hi <<<"$(seq_check)"
  ((hi > hi0 + 20)) && break
  sleep 0.05
done
((hi > hi0 + 20)) || fail "the store grew only from seq $hi0 to $hi after the reload"
ctl --exec "read meter.u16" | grep -q 1234 || fail "meter.u16 is not read after the reload"
age=$(ctl --json --exec "read meter.u16" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["age_s"])')
/usr/bin/python3 -c "import sys; sys.exit(0 if $age < 2 else 1)" || fail "meter.u16 is $age s old after the reload"
note "store: $(seq_check) (count min max), contiguous"
expect_status 0 ctl --exec store
[[ $OUT =~ gaps:\ +0\ ranges ]] || fail "the store reports gaps: $OUT"

note "config history: the transaction, applied"
expect_status 0 ctl --exec "config history"
note "$OUT"
expect_out "applied"
expect_out "restart gather"
[[ $OUT != *"restart heartbeat"* && $OUT != *"restart record"* ]] || fail "history names a service that did not restart: $OUT"
[[ -s $TMP/data/reload-history.toml ]] || fail "no $TMP/data/reload-history.toml"

note "the file now runs: nothing differs"
expect_status 0 ctl --exec "config diff"
expect_out "has the running config's effect"
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload
stop box
no_service_failure "$TMP/box.log"
echo "ok"
