#!/usr/bin/env bash
# A live [store] change on the same database file while 1,000 readings/s
# flow (heartbeat, 5 points every 5 ms): `[store] batch_rows` 500 -> 50,
# then `synchronous` normal -> full. Each `weftctl reload` exits 0 with
# record and upload restarted (heartbeat and console untouched): the
# running store was closed before record opened the new one (its log says
# so, and the new record run logs the new batch size). Afterwards the
# sqlite3 CLI finds contiguous seqs, no lost range, every heartbeat tick
# stored (nothing lost while record was down: the intake buffered), and
# `PRAGMA integrity_check` ok.
# Usage: reload_store.sh WEFTD WEFTCTL PYTHON
WEFTD=$1 WEFTCTL=$2
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/reload_store_common.bash"

DEAD_PORT=$(dead_port)
CONF=$TMP/box.toml
store_box_config "$CONF" "batch_rows = 500"
start_weftd box "$CONF"
wait_committed_past 15 2000
HB=$(gen heartbeat) CON=$(gen console) REC=$(gen record) UP=$(gen upload)

note "batch_rows 500 -> 50 on the same file; weftctl reload"
logged=$(lines "$TMP/box.log")
seq_before=$(committed)
store_box_config "$CONF" "batch_rows = 50"
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload --timeout 60
note "$OUT"
expect_out "applied"
expect_out "restart  record"
expect_out "restart  upload"
wait_fixed 5 "$TMP/box.log" "closing the store $DB" "$logged"
wait_fixed 5 "$TMP/box.log" "$DB: closed; committed through seq" "$logged"
wait_grep 5 "$TMP/box.log" "\[record\] recording .* batches of 50 rows" "$logged"
[[ $(gen heartbeat) == "$HB" && $(gen console) == "$CON" ]] || fail "heartbeat or console restarted"
(($(gen record) == REC + 1 && $(gen upload) == UP + 1)) || fail "record/upload did not run once more each"
wait_committed_past 10 $((seq_before + 3000))

note "synchronous normal -> full; weftctl reload"
logged=$(lines "$TMP/box.log")
seq_before=$(committed)
store_box_config "$CONF" "batch_rows = 50
synchronous = \"full\""
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload --timeout 60
note "$OUT"
expect_out "applied"
expect_out "restart  record"
wait_fixed 5 "$TMP/box.log" "closing the store $DB" "$logged"
(($(gen record) == REC + 2)) || fail "record did not restart for synchronous"
wait_committed_past 10 $((seq_before + 3000))
expect_status 0 ctl --exec store
[[ $OUT =~ gaps:\ +0\ ranges ]] || fail "the store reports gaps: $OUT"

note "stopped: the ledger, by the sqlite3 CLI"
stop box
no_service_failure "$TMP/box.log"
grep -F "another Store in this process still" "$TMP/box.log" && fail "a new Store waited for the old one"
note "store: $(ledger_check) (rows first last): contiguous, no loss, integrity ok"
echo "ok"
