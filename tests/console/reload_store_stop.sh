#!/usr/bin/env bash
# SIGTERM landing between the running store's close and the new one's open
# during a live [store] change on the same file (batch_rows 500 -> 50),
# while 1,000 readings/s flow. The test hook WEFT_TEST_STORE_SWAP_FIFO
# (apps/reload/record_reload.cpp) holds the reload right after the close,
# on the blocking pool, until this script writes the fifo: the SIGTERM is
# sent while it waits, so it lands in that window every time.
# Expected: weftd exits 0 within its bounds once released, record never
# opens the new Store (the transaction ends at the stop), the database
# passes integrity_check with contiguous seqs and no lost range, the next
# weftd opens it and goes on at the next seq, and `config history` there
# shows the reload as interrupted. Readings published while record was
# down for the reload die with the process (they were in memory only,
# acknowledged to nobody): counted and reported, not hidden.
# Usage: reload_store_stop.sh WEFTD WEFTCTL PYTHON
WEFTD=$1 WEFTCTL=$2
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/reload_store_common.bash"

DEAD_PORT=$(dead_port)
CONF=$TMP/box.toml
FIFO=$TMP/swap.fifo
mkfifo "$FIFO"
store_box_config "$CONF" "batch_rows = 500"
WEFT_TEST_STORE_SWAP_FIFO=$FIFO start_weftd box "$CONF"
wait_committed_past 15 1000

note "batch_rows 500 -> 50 on the same file; SIGTERM once the running store is closed"
logged=$(lines "$TMP/box.log")
store_box_config "$CONF" "batch_rows = 50"
start_bg first "$WEFTCTL" --socket "$SOCK" reload --timeout 30
wait_fixed 10 "$TMP/box.log" "$DB: closed; committed through seq" "$logged"
wait_fixed 10 "$TMP/box.log" "test hook: the running store is closed; waiting on $FIFO" "$logged"
closed_at=$(grep -oE "$DB: closed; committed through seq [0-9]+" "$TMP/box.log" | tail -n 1 | awk '{print $NF}')
kill -TERM "${PID_OF[box]}"
sleep 0.3
running box || fail "weftd exited while the reload was held after the close"
echo go >"$FIFO"
wait_exit box 15
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS on SIGTERM between the store's close and open"
wait_exit first 10
[[ $EXIT_STATUS == 3 ]] || fail "weftctl reload exited $EXIT_STATUS, expected 3 (weftd stopped): $(cat "$TMP/first.log")"
grep -qF "test hook: released" "$TMP/box.log" || fail "the hook was not released"
tail -n +"$((logged + 1))" "$TMP/box.log" | grep -E "\[record\] recording .* batches of 50 rows" &&
  fail "record opened the new store after the stop"
no_service_failure "$TMP/box.log"
read -r n lo hi <<<"$(ledger_check -)"
((hi == closed_at)) || fail "the store holds seqs up to $hi, but the close committed through $closed_at"
note "after the stop: $n rows, seq $lo..$hi (committed at the close: $closed_at): contiguous, no lost range, integrity ok"

note "the next weftd: opens the file and goes on at the next seq; history says interrupted"
mv "$TMP/box.log" "$TMP/box1.out"
start_weftd box "$CONF"
wait_committed_past 15 $((hi + 500))
expect_status 0 ctl --exec "config history"
grep -qE '^#1  .*  console  interrupted in ' <<<"$OUT" || fail "the reload is not in the history as interrupted: $OUT"
stop box
read -r n2 lo2 hi2 <<<"$(ledger_check -)"
((lo2 == lo && n2 == hi2 - lo2 + 1)) || fail "seqs not contiguous across the restart: $n2 rows, $lo2..$hi2"
# What heartbeat published while record was down (stopped for the reload,
# then weftd stopping) was in record's intake only: gone with the process.
gap=$(q "SELECT r.value FROM readings r JOIN points p ON p.id = r.point WHERE p.name = 'box.uptime_s' AND r.seq <= $hi ORDER BY r.seq DESC LIMIT 1")
note "store: $n2 rows, seq $lo2..$hi2 contiguous; the last uptime stored before the stop: ${gap}s (readings published after the close and before the exit were not recorded)"
echo "ok"
