#!/usr/bin/env bash
# A start timeout that lands while record is inside its uncancellable store
# open (issue 9, defect 1): the sqlite3 CLI creates the database and holds
# BEGIN EXCLUSIVE on it until record's [service.record.restart]
# start_timeout = 1s has fired (at least 4 s), so record's open (on the
# blocking pool) is still waiting for the lock when it is cancelled.
# The supervisor cancels that run; when the open returns, record must end
# without any child outliving its TaskGroup (before the fix weftd died with
# SIGSEGV, exit 139). Then record is restarted, becomes ready and commits
# readings, and weftd stops cleanly (exit 0) with no crash report.
# Usage: bash record_start_timeout_locked.sh <weftd> <sqlite3>
set -euo pipefail
WEFTD=$1
SQLITE=$2
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

mkdir -p "$TMP/data"
DB="$TMP/data/readings.db"
cat >"$TMP/weftd.toml" <<TOML
# stop_grace well above the lock's hold: the cancelled run must end by
# itself when its open returns, not be abandoned after the grace.
[weftd]
log_level = "info"
stop_grace = "15s"
data_dir = "$TMP/data"

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

[service.record.restart]
start_timeout = "1s"
min_backoff = "100ms"
max_backoff = "200ms"
TOML

# alive_until SECONDS ERE: until weftd.log has a line matching ERE; fails
# at once, with weftd's exit status, if weftd dies first.
alive_until() {
  local deadline=$((SECONDS + $1))
  until grep -qE -- "$2" "$TMP/weftd.log"; do
    if ! running weftd; then
      wait_exit weftd 1
      fail "weftd died (exit $EXIT_STATUS$( ((EXIT_STATUS > 128)) && echo ", signal $((EXIT_STATUS - 128))")) before logging /$2/"
    fi
    ((SECONDS < deadline)) || fail "no line matching /$2/ in weftd.log within $1 s"
    sleep 0.05
  done
}

note "the sqlite3 CLI creates $DB and holds BEGIN EXCLUSIVE on it"
# The CLI executes each line as it reads it from the FIFO, and prints
# 'locked' once it holds the lock; it commits when we write COMMIT.
mkfifo "$TMP/cli.in"
start_bg cli bash -c "exec '$SQLITE' '$DB' <'$TMP/cli.in'"
exec 3>"$TMP/cli.in"
echo "BEGIN EXCLUSIVE; CREATE TABLE lock_holder(x); SELECT 'locked';" >&3
wait_fixed 10 "$TMP/cli.log" "locked"
locked_at=$SECONDS

note "weftd starts; record's store open waits for the lock past its 1 s start timeout"
start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 60s
alive_until 20 "not ready within its start timeout of 1000 ms"
# Hold the lock for 4 s in all (the issue's case); the cancelled run stays
# inside its open meanwhile.
while ((SECONDS - locked_at < 4)); do
  running weftd || break
  sleep 0.1
done
# .quit, not EOF: weftd inherited fd 3, so the FIFO stays open while it runs.
printf 'COMMIT;\n.quit\n' >&3
exec 3>&-

wait_exit cli 15
[[ $EXIT_STATUS == 0 ]] || fail "the sqlite3 CLI exited $EXIT_STATUS"
grep -vqx "locked" "$TMP/cli.log" && fail "the sqlite3 CLI complained: $(cat "$TMP/cli.log")"

note "the lock is released: the cancelled run ends, record is restarted and records"
alive_until 15 "store: committed through seq [1-9]"
grep -qF "failed: not ready within its start timeout" "$TMP/weftd.log" ||
  fail "the timed-out run was not counted as a failure"
ready_lines=$(grep -cE "\[record\].* ready$" "$TMP/weftd.log" || true)
[[ $ready_lines == 1 ]] || fail "expected record to become ready once (its second run), got $ready_lines"
grep -qF "ignored its cancellation" "$TMP/weftd.log" && fail "the timed-out run was abandoned instead of ending"

note "weftd stops cleanly"
kill -TERM "${PID_OF[weftd]}"
wait_exit weftd 10
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS on SIGTERM, expected 0"
shopt -s nullglob
reports=("$TMP/data/crash"/*)
(( ${#reports[@]} == 0 )) || fail "a crash report was left: ${reports[*]}"
rows=$("$SQLITE" "$DB" "SELECT count(*) FROM readings")
(( rows > 0 )) || fail "no readings were recorded"
note "ok: weftd survived the start timeout inside the store open; $rows readings recorded after the restart"
