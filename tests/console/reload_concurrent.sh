#!/usr/bin/env bash
# Reloads that arrive while one runs, against a real weftd: a first
# `weftctl reload` applies a change and settles for 1.5 s; meanwhile two
# more `weftctl reload`s and a SIGHUP arrive. As the coordinator documents,
# they are merged into ONE next transaction, which reads the file when it
# starts: every waiter gets an outcome (the first "applied", the later two
# the same next id, "unchanged"), and `config history` holds exactly two.
# Usage: reload_concurrent.sh WEFTD WEFTCTL PYTHON
WEFTD=$1 WEFTCTL=$2 PY=${3:-/usr/bin/python3}
source "$(dirname "$0")/common.bash"

CONF=$TMP/box.toml
mkdir -p "$TMP/data"
conc_config() {
  box_config "$TMP/part.toml" "" "$2"
  { printf '[weftd]\ndata_dir = "%s"\nreload_settle = "1500ms"\n\n' "$TMP/data"; cat "$TMP/part.toml"; } >"$1"
}
conc_config "$CONF" 100ms
start_weftd box "$CONF"

conc_config "$CONF" 200ms
logged=$(lines "$TMP/box.log")
start_bg first "$WEFTCTL" --socket "$SOCK" reload --timeout 60
wait_grep 10 "$TMP/box.log" "heartbeat" "$logged"  # the first transaction touches heartbeat: it runs
ctl --exec "config history" | grep -q "^#" && fail "the first transaction ended before the others were sent (settle 1.5 s)"
start_bg second "$WEFTCTL" --socket "$SOCK" reload --timeout 60
start_bg third "$WEFTCTL" --socket "$SOCK" reload --timeout 60
kill -HUP "${PID_OF[box]}"
for w in first second third; do
  wait_exit "$w" 30
  [[ $EXIT_STATUS == 0 ]] || fail "weftctl reload ($w) exited $EXIT_STATUS: $(cat "$TMP/$w.log")"
  note "$w: $(head -1 "$TMP/$w.log")"
done
first_id=$(sed -n 's/^reload \([0-9]*\): .*/\1/p' "$TMP/first.log" | head -1)
second_id=$(sed -n 's/^reload \([0-9]*\): .*/\1/p' "$TMP/second.log" | head -1)
third_id=$(sed -n 's/^reload \([0-9]*\): .*/\1/p' "$TMP/third.log" | head -1)
[[ -n $first_id && -n $second_id ]] || fail "no transaction id in the replies"
grep -q "applied" "$TMP/first.log" || fail "the first reload was not applied: $(cat "$TMP/first.log")"
((second_id == first_id + 1)) || fail "the second reload got transaction $second_id, expected the next one, $((first_id + 1))"
[[ $third_id == "$second_id" ]] || fail "the third reload got transaction $third_id, not the one it was merged into ($second_id)"
grep -q "unchanged" "$TMP/second.log" || fail "the merged reload read a file already applied: expected unchanged: $(cat "$TMP/second.log")"
expect_status 0 ctl --exec "config history"
note "$OUT"
n=$(grep -c "^#" <<<"$OUT")
((n == 2)) || fail "expected 2 transactions in the history, got $n: $OUT"
grep -q "merged with the reload already queued" "$TMP/box.log" || fail "no 'merged' log line"
stop box
no_service_failure "$TMP/box.log"
echo "ok"
