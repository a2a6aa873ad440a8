#!/usr/bin/env bash
# weftd stopped (SIGTERM) while a reload transaction settles: weftd exits 0
# promptly, the waiting `weftctl reload` exits 3 (no outcome), and the
# transaction's id was reserved in the data dir's history before it ran, so
# the next weftd's first reload gets the next id, never the same one again;
# and that reservation left its line: `config history` in the next weftd
# shows reload 1 as "interrupted" (durable when it began, since no outcome
# could be written once weftd was stopping), then reload 2 (unchanged).
# Usage: reload_stop_midway.sh WEFTD WEFTCTL PYTHON
WEFTD=$1 WEFTCTL=$2
source "$(dirname "$0")/common.bash"

CONF=$TMP/box.toml
mkdir -p "$TMP/data"
midway_config() {
  box_config "$TMP/part.toml" "" "$1"
  { printf '[weftd]\ndata_dir = "%s"\nreload_settle = "3s"\n\n' "$TMP/data"; cat "$TMP/part.toml"; } >"$CONF"
}
midway_config 100ms
start_weftd box "$CONF"

note "heartbeat's period changes; SIGTERM while the reload settles (3 s)"
midway_config 200ms
logged=$(lines "$TMP/box.log")
start_bg first "$WEFTCTL" --socket "$SOCK" reload --timeout 30
wait_grep 10 "$TMP/box.log" "\[heartbeat\] reload: restarting" "$logged"
sleep 0.3
kill -TERM "${PID_OF[box]}"
wait_exit box 10
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS on SIGTERM mid-reload"
wait_exit first 10
[[ $EXIT_STATUS == 3 ]] || fail "weftctl reload exited $EXIT_STATUS, expected 3 (weftd stopped): $(cat "$TMP/first.log")"
grep -qE "reload 1 \(console" "$TMP/box.log" || fail "the cut-short transaction was not logged as reload 1"

note "the next weftd: reload 1 is in the history as interrupted; its first reload is number 2"
mv "$TMP/box.log" "$TMP/box1.out"
start_weftd box "$CONF"
expect_status 0 ctl --exec "config history"
note "$OUT"
grep -qE '^#1  .*  console  interrupted in ' <<<"$OUT" || fail "reload 1 is not in the history as interrupted: $OUT"
grep -qF "weftd stopped (or died) before this reload ended" <<<"$OUT" || fail "the interrupted entry says not why: $OUT"
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload --timeout 30
note "$OUT"
[[ $OUT == "reload 2: "* ]] || fail "the first reload after the restart reused an id: $OUT"
expect_status 0 ctl --exec "config history"
grep -qE '^#1  .*interrupted' <<<"$OUT" && grep -qE '^#2  .*unchanged' <<<"$OUT" ||
  fail "expected #1 interrupted and #2 unchanged in the history: $OUT"
stop box
echo "ok"
