#!/usr/bin/env bash
# SIGTERM to weftd while a live [store] change on the same file is between
# the old store's close and the new one's open, with 1,000 readings/s
# flowing. Landed there deterministically: a reader (Python's sqlite3)
# holds a read transaction, so the old store's final checkpoint waits out
# busy_deadline (3 s) inside its close, with record and upload stopped and
# the new store not opened. weftd exits 0, the waiting `weftctl reload`
# exits 3 (no outcome), and the sqlite3 CLI finds integrity ok, contiguous
# seqs, no lost range, every heartbeat tick stored, and every seq record
# acknowledged ("committed through seq N") present. The next weftd, on the
# new settings, goes on at the next seq with no gap.
# Usage: reload_store_stop.sh WEFTD WEFTCTL PYTHON
WEFTD=$1 WEFTCTL=$2 PYTHON=${3:-/usr/bin/python3}
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/reload_store_common.bash"

DEAD_PORT=$(dead_port)
CONF=$TMP/box.toml
store_box_config "$CONF" "batch_rows = 500
busy_deadline = \"3s\""
start_weftd box "$CONF"
wait_committed_past 15 2000

note "a reader holds a snapshot of $DB"
start_bg reader "$PYTHON" -c "
import sqlite3, time
c = sqlite3.connect('$DB', isolation_level=None)
c.execute('BEGIN'); c.execute('SELECT count(*) FROM readings').fetchone()
print('holding', flush=True); time.sleep(600)"
wait_fixed 5 "$TMP/reader.log" holding

note "batch_rows 500 -> 50; reload; SIGTERM while the old store closes"
logged=$(lines "$TMP/box.log")
store_box_config "$CONF" "batch_rows = 50
busy_deadline = \"3s\""
start_bg client "$WEFTCTL" --socket "$SOCK" reload --timeout 60
wait_fixed 10 "$TMP/box.log" "closing the store $DB" "$logged"
sleep 0.5
tail -n +"$((logged + 1))" "$TMP/box.log" | grep -F "$DB: closed;" && fail "the old store closed before the stop landed"
tail -n +"$((logged + 1))" "$TMP/box.log" | grep -F "batches of 50 rows" && fail "record opened the new store already"
acked=$(committed)
kill -TERM "${PID_OF[box]}"
wait_exit box 20
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS on SIGTERM between the stores"
wait_exit client 10
[[ $EXIT_STATUS == 3 ]] || fail "weftctl reload exited $EXIT_STATUS, expected 3 (weftd stopped): $(cat "$TMP/client.log")"
grep -F "$DB: closed; committed through seq" "$TMP/box.log" >/dev/null || fail "the old store did not close cleanly"
tail -n +"$((logged + 1))" "$TMP/box.log" | grep -F "batches of 50 rows" && fail "record started on the new store during the stop"
stop reader

note "acknowledged through seq $acked; the ledger"
read -r _ _ hi <<<"$(ledger_check)"
((hi >= acked)) || fail "seqs up to $acked were acknowledged, the file ends at $hi"
((acked > 0)) || fail "nothing was acknowledged before the stop"

note "the next weftd runs the new settings and goes on at seq $((hi + 1))"
mv "$TMP/box.log" "$TMP/box1.out"
start_weftd box "$CONF"
wait_grep 10 "$TMP/box.log" "\[record\] recording .* batches of 50 rows"
wait_committed_past 10 $((hi + 1000))
stop box
no_service_failure "$TMP/box.log"
read -r _ lo2 hi2 <<<"$(ledger_check 4)"
note "store: seq $lo2..$hi2, contiguous across the stop, no loss, integrity ok"
echo "ok"
