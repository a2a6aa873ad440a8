#!/usr/bin/env bash
# record switched off by a live reload (enabled = false), then on again,
# while 1,000 readings/s flow, with a bus queue (capacity) of 200: the
# reload releases the process's record intake once record is off, so the
# queue does not fill while nobody records (record is off by config:
# nothing is owed) and the re-enabled record neither records the stale
# readings of the off interval nor a "dropped (bus queue full)" gap for
# it: the sqlite3 CLI finds contiguous seqs, no lost range, integrity ok,
# and no reading stamped inside the off interval.
# Usage: reload_record_off.sh WEFTD WEFTCTL PYTHON
WEFTD=$1 WEFTCTL=$2
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/reload_store_common.bash"

CONF=$TMP/box.toml
# off_config FILE ENABLED
off_config() {
  mkdir -p "$TMP/data"
  cat >"$1" <<TOML
[weftd]
data_dir = "$TMP/data"
reload_settle = "300ms"

[store]
path = "$DB"
batch_age = "20ms"

[service.heartbeat]
period = "5ms"
prefix = "box"

[service.console]
socket = "$SOCK"

[service.record]
enabled = $2
capacity = 200
report_period = "100ms"
TOML
}
off_config "$CONF" true
start_weftd box "$CONF"
wait_committed_past 15 1000

note "record off; weftctl reload"
logged=$(lines "$TMP/box.log")
off_config "$CONF" false
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload --timeout 60
note "$OUT"
expect_out "stop     record"
wait_fixed 5 "$TMP/box.log" "its bus queue is released" "$logged"
off_ns=$(date +%s%N)
sleep 1.5
on_ns=$(date +%s%N)

note "record on again; weftctl reload"
seq_before=$(committed)
off_config "$CONF" true
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload --timeout 60
note "$OUT"
expect_out "start    record"
wait_committed_past 10 $((seq_before + 1000))
stop box
no_service_failure "$TMP/box.log"
grep -F "dropped before they reached the store" "$TMP/box.log" && fail "record reported bus drops for the off interval"

read -r n lo hi <<<"$(ledger_check -)"
inside=$(q "SELECT count(*) FROM readings WHERE wall_ns > $off_ns + 100000000 AND wall_ns < $on_ns - 100000000")
[[ $inside == 0 ]] || fail "$inside readings stamped inside the off interval were recorded (stale ones the queue kept)"
note "store: $n rows, seq $lo..$hi, contiguous, no lost range, none from the off interval"
echo "ok"
