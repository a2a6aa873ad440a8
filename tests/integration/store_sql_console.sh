#!/usr/bin/env bash
# The store's console commands against a real weftd (heartbeat, record,
# console in a temp dir): `weftctl --exec 'sql SELECT count(*) FROM
# readings'` answers a count > 0, `--json` gives JSON, a DELETE exits 1
# with the read-only message and deletes nothing, and `store` shows the
# counters.
# Usage: bash store_sql_console.sh <weftd> <weftctl>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

DB="$TMP/data/readings.db"
SOCK="$TMP/weftd.sock"
cat >"$TMP/weftd.toml" <<TOML
[store]
path = "$DB"
batch_age = "20ms"

[service.heartbeat]
period = "20ms"
prefix = "box"

[service.record]
report_period = "200ms"

[service.console]
socket = "$SOCK"
TOML

# ctl ARGS...: weftctl on our socket, bounded; its output in $TMP/ctl.out, status in $STATUS.
ctl() {
  STATUS=0
  timeout 20 "$WEFTCTL" --socket "$SOCK" --timeout 10 "$@" >"$TMP/ctl.out" 2>&1 || STATUS=$?
}

note "weftd records into $DB with the console on $SOCK"
start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 60s
wait_grep 15 "$TMP/weftd.log" "store: committed through seq [1-9]"

note "sql SELECT count(*) FROM readings"
ctl --exec 'sql SELECT count(*) FROM readings'
[[ $STATUS == 0 ]] || fail "sql SELECT exited $STATUS: $(cat "$TMP/ctl.out")"
count=$(sed -n 2p "$TMP/ctl.out" | tr -d ' ')
[[ $count =~ ^[0-9]+$ ]] && ((count > 0)) || fail "expected a count > 0 on line 2, got: $(cat "$TMP/ctl.out")"
grep -qxF "(1 row)" "$TMP/ctl.out" || fail "no '(1 row)' footer: $(cat "$TMP/ctl.out")"
note "count: $count"

ctl --json --exec 'sql SELECT seq FROM readings ORDER BY seq LIMIT 2'
[[ $STATUS == 0 ]] || fail "--json sql exited $STATUS: $(cat "$TMP/ctl.out")"
grep -qF '{"columns":["seq"],"rows":[[1],[2]],"truncated":false' "$TMP/ctl.out" ||
  fail "unexpected JSON: $(cat "$TMP/ctl.out")"

note "sql DELETE FROM readings is refused"
ctl --exec 'sql DELETE FROM readings'
[[ $STATUS == 1 ]] || fail "sql DELETE exited $STATUS, expected 1: $(cat "$TMP/ctl.out")"
grep -qF "sql: only read-only statements (SELECT, WITH, EXPLAIN, read-only PRAGMA) are allowed" "$TMP/ctl.out" ||
  fail "no read-only message: $(cat "$TMP/ctl.out")"
ctl --exec 'sql SELECT min(seq) FROM readings'
[[ $(sed -n 2p "$TMP/ctl.out" | tr -d ' ') == 1 ]] || fail "rows were deleted: $(cat "$TMP/ctl.out")"

note "store"
ctl --exec store
[[ $STATUS == 0 ]] || fail "store exited $STATUS: $(cat "$TMP/ctl.out")"
grep -qE "^rows written: +[1-9]" "$TMP/ctl.out" || fail "no rows written in: $(cat "$TMP/ctl.out")"
grep -qE "^gaps: +0 ranges, 0 readings lost" "$TMP/ctl.out" || fail "unexpected gaps in: $(cat "$TMP/ctl.out")"

stop weftd
no_service_failure "$TMP/weftd.log"
note "ok"
