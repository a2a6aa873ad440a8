#!/usr/bin/env bash
# A live [store] change on the same file that fails, while 1,000
# readings/s flow: batch_rows 500 -> 50 together with a CA server on a TCP
# port already taken, so ca cannot start and the whole transaction rolls
# back. No [store] setting that passes --check-config makes the store's own
# open fail on a file the running store has just closed cleanly (its open
# fails on the file system: a directory not writable, a lock held past
# busy_deadline), so the failure comes from ca. What it proves: record ran
# on the new store (batches of 50), then the new store was closed and the
# previous settings reopened on the same file (batches of 500 again),
# `weftctl reload` exits 1 naming ca and the rollback, every service runs,
# and the sqlite3 CLI finds contiguous seqs, no lost range, every heartbeat
# tick stored and integrity ok.
# Usage: reload_store_rollback.sh WEFTD WEFTCTL PYTHON
WEFTD=$1 WEFTCTL=$2 PYTHON=${3:-/usr/bin/python3}
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/reload_store_common.bash"

DEAD_PORT=$(dead_port)
CA_PORT=$(ca_port "$PYTHON")
start_bg taken "$PYTHON" -c "
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', $CA_PORT)); s.listen(1); print('listening', flush=True); time.sleep(600)"
wait_fixed 5 "$TMP/taken.log" listening

CONF=$TMP/box.toml
store_box_config "$CONF" "batch_rows = 500"
start_weftd box "$CONF"
wait_committed_past 15 2000
REC=$(gen record)

note "batch_rows 500 -> 50 and a ca on a taken port; weftctl reload"
logged=$(lines "$TMP/box.log")
seq_before=$(committed)
store_box_config "$CONF" "batch_rows = 50" "
[service.ca]
port = $CA_PORT
interfaces = [\"127.0.0.1\"]
repeater_port = $((CA_PORT + 1))"
expect_status 1 "$WEFTCTL" --socket "$SOCK" reload --timeout 60
note "$OUT"
expect_out "rolled back"
expect_out "ca: cannot listen on TCP 127.0.0.1:$CA_PORT"
wait_fixed 5 "$TMP/box.log" "closing the store $DB" "$logged"
wait_grep 5 "$TMP/box.log" "\[record\] recording .* batches of 50 rows" "$logged"
wait_fixed 5 "$TMP/box.log" "closing the new store on $DB to reopen it with the previous [store] settings" "$logged"
rolled=$(grep -nF "closing the new store on $DB" "$TMP/box.log" | tail -n 1 | cut -d: -f1)
wait_grep 5 "$TMP/box.log" "\[record\] recording .* batches of 500 rows" "$rolled"

note "the previous config runs again"
st=$(ctl --json --exec services | "$PYTHON" -c 'import json,sys; print(" ".join("%s=%s/%s" % (s["name"], s["state"], s["ready"]) for s in json.load(sys.stdin)))')
note "$st"
[[ $st != *=stopped* && $st != *=failed* && $st != */False* && $st != *ca=* ]] || fail "not every previous service runs: $st"
(($(gen record) == REC + 2)) || fail "record ran $(gen record) times, expected $((REC + 2)) (new store, then the rollback)"
wait_committed_past 10 $((seq_before + 3000))
expect_status 0 ctl --exec "config history"
expect_out "rolled back"
expect_out "rollback record"

stop box
grep -F "another Store in this process still" "$TMP/box.log" && fail "a Store waited for another on the same file"
note "store: $(ledger_check) (rows first last): contiguous, no loss, integrity ok"
echo "ok"
