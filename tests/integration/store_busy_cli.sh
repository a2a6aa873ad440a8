#!/usr/bin/env bash
# Lock contention from another process: weftd records heartbeat readings
# (every 20 ms) into the store while the sqlite3 CLI holds the write lock
# (BEGIN IMMEDIATE) for 3 s. weftd must retry with backoff (one warning for
# the episode, retries counted), keep the readings queued, and commit them
# all once the lock is released: afterwards the sqlite3 CLI finds seqs
# 1..max without a hole, no lost range, and `PRAGMA integrity_check` ok.
# Usage: bash store_busy_cli.sh <weftd> <sqlite3>
set -euo pipefail
WEFTD=$1
SQLITE=$2
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

DB="$TMP/data/readings.db"
cat >"$TMP/weftd.toml" <<TOML
[weftd]
log_level = "info"
stop_grace = "3s"

[store]
path = "$DB"
batch_rows = 50
batch_age = "50ms"
busy_deadline = "30s"

[service.heartbeat]
period = "20ms"
prefix = "box"

[service.record]
report_period = "200ms"
TOML

# last_committed LOG: the highest N of "store: committed through seq N" so far.
last_committed() {
  grep -oE "store: committed through seq [0-9]+" "$1" | awk '{print $NF}' | sort -n | tail -n 1
}

note "weftd records into $DB"
start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 60s
wait_grep 10 "$TMP/weftd.log" "store: committed through seq [1-9]"

note "the sqlite3 CLI holds BEGIN IMMEDIATE for 3 s"
from=$(lines "$TMP/weftd.log")
# The CLI executes each line as it reads it: the lock is held while the
# subshell sleeps. .timeout: wait for weftd's own transaction to finish.
start_bg cli bash -c "{ echo '.timeout 5000'; echo 'BEGIN IMMEDIATE;'; sleep 3; echo 'COMMIT;'; } | '$SQLITE' '$DB'"
wait_fixed 10 "$TMP/weftd.log" "is locked by another process" "$from"
locked_at=$(last_committed "$TMP/weftd.log")
wait_exit cli 15
[[ $EXIT_STATUS == 0 ]] || fail "the sqlite3 CLI exited $EXIT_STATUS"
[[ ! -s $TMP/cli.log ]] || fail "the sqlite3 CLI complained (it did not hold the lock?): $(cat "$TMP/cli.log")"
wait_fixed 10 "$TMP/weftd.log" "lock was released after" "$from"

note "recording goes on past the contention"
timeout 10 bash -c "until (( \$(grep -oE 'store: committed through seq [0-9]+' '$TMP/weftd.log' | awk '{print \$NF}' | sort -n | tail -n 1) > $locked_at + 500 )); do sleep 0.1; done" ||
  fail "the committed seq did not move 500 past $locked_at after the lock was released"
episodes=$(count_fixed "$TMP/weftd.log" "is locked by another process")
[[ $episodes == 1 ]] || fail "expected one warning for the contention episode, got $episodes"
retries=$(grep -oE "busy retries [0-9]+" "$TMP/weftd.log" | awk '{print $NF}' | sort -n | tail -n 1)
(( retries > 0 )) || fail "no busy retry was counted"
note "busy retries counted: $retries"
acknowledged=$(last_committed "$TMP/weftd.log")

stop weftd
no_service_failure "$TMP/weftd.log"
grep -qF "dropped" "$TMP/weftd.log" && fail "readings were dropped: $(grep -F dropped "$TMP/weftd.log")"

note "what the sqlite3 CLI finds"
read -r count lo hi < <("$SQLITE" -separator ' ' "$DB" "SELECT count(*), min(seq), max(seq) FROM readings")
note "rows=$count seqs=$lo..$hi acknowledged=$acknowledged"
[[ $lo == 1 ]] || fail "the first seq is $lo, not 1"
[[ $count == "$hi" ]] || fail "$count rows for seqs $lo..$hi: readings were lost"
(( hi >= acknowledged )) || fail "seq $acknowledged was acknowledged but the database stops at $hi"
lost=$("$SQLITE" "$DB" "SELECT count(*) FROM lost")
[[ $lost == 0 ]] || fail "$lost lost ranges recorded"
integrity=$("$SQLITE" "$DB" "PRAGMA integrity_check")
[[ $integrity == ok ]] || fail "integrity_check: $integrity"
points=$("$SQLITE" "$DB" "SELECT count(DISTINCT point) FROM readings")
(( points >= 5 )) || fail "only $points distinct points recorded"
note "ok: $count readings, none lost, $retries busy retries"
