#!/usr/bin/env bash
# `weftctl reload` of a change that restarts the console itself, against a
# real weftd: the connection that asked drops when the console restarts,
# and weftctl must still report the real outcome (it reconnects and asks
# `reload status ID`). Cases: a [service.console] key changes: exit 0,
# "applied", the console's run count went up; a console key plus a start-
# only key: refused before anything stops (the console keeps its run):
# exit 1; a console key plus a [store] path record cannot open: the
# console restarts, record fails, everything rolls back (the console
# restarts again): exit 1, "rolled back"; and weftd SIGTERMed while such a
# reload settles: weftctl exits within 10 s with 3 (weftd exited before
# the outcome reached it) or 1 (weftd reported the reload cut short by the
# stop), saying which, and never hangs until its --timeout.
# Usage: weftctl_reload_console.sh WEFTD WEFTCTL PYTHON DEVSIM
WEFTD=$1 WEFTCTL=$2 PY=${3:-/usr/bin/python3} DEVSIM=$4
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/reload_common.bash"

CONF=$TMP/box.toml
# console_box MAX_CLIENTS [EXTRA_TOML]: the reload box with the console's max_clients set.
console_box() {
  reload_box_config "$CONF" 100ms "${2:-}"
  sed -i "s|^socket = \"$SOCK\"$|socket = \"$SOCK\"\nmax_clients = $1|" "$CONF"
  grep -q "^max_clients = $1$" "$CONF" || fail "max_clients was not set in $CONF"
}
console_box 16
start_reload_box "$CONF"

note "a [service.console] key changes: weftctl reload exits 0 and prints the outcome"
gen0=$(generation console)
console_box 17
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload --timeout 60
note "$OUT"
expect_out "applied"
expect_out "restart"
[[ $OUT == "reload 1: "* ]] || fail "weftctl reload did not print reload 1's outcome first: $OUT"
gen1=$(generation console)
((gen1 > gen0)) || fail "the console was not restarted (runs $gen0 -> $gen1): the test did not drop the connection"
expect_status 0 ctl --exec "config history"
expect_out "#1 "
expect_out "restart console"

note "reload status: a kept outcome, an unknown id, a bad one"
expect_status 0 ctl --exec "reload status 1"
[[ $OUT == "reload 1: $CONF: applied"* ]] || fail "reload status 1: $OUT"
expect_status 1 ctl --exec "reload status 999"
expect_out "reload status: reload 999 is unknown"
expect_status 1 ctl --exec "reload status one"
expect_out "usage: reload status ID"

note "the same through --json: one JSON outcome"
console_box 18
expect_status 0 "$WEFTCTL" --socket "$SOCK" --json reload --timeout 60
"$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["id"] == 2 and d["result"] == "applied" and any(s["service"] == "console" for s in d["services"]), d' "$OUT" ||
  fail "weftctl --json reload: $OUT"

note "a console key and a start-only key: refused before anything stops; exit 1"
gen2=$(generation console)
console_box 19
{ printf '[weftd]\nblocking_threads = 3\n'; sed '1d' "$CONF"; } >"$TMP/next.toml"
mv "$TMP/next.toml" "$CONF"
expect_status 1 "$WEFTCTL" --socket "$SOCK" reload --timeout 60
note "$OUT"
expect_out "refused"
expect_out "blocking_threads"
[[ $(generation console) == "$gen2" ]] || fail "a refused reload restarted the console"

note "a console key and a [store] path record cannot open: rolled back while the console restarts; exit 1"
console_box 20
echo "not a directory" >"$TMP/plain"
sed -i "s|^path = \"$DB\"$|path = \"$TMP/plain/readings.db\"|" "$CONF"
grep -qF "path = \"$TMP/plain/readings.db\"" "$CONF" || fail "the store path was not changed in $CONF"
expect_status 1 "$WEFTCTL" --socket "$SOCK" reload --timeout 60
note "$OUT"
expect_out "rolled back"
expect_out "record"
((($(generation console)) > gen2)) || fail "the console did not restart during the rolled-back reload"
st=$(states)
[[ $st != *"=stopped"* && $st != *"=failed"* && $st != *"/false"* ]] || fail "not every service runs after the rollback: $st"

note "weftd SIGTERMed while a console-restarting reload settles: weftctl exits within 10 s"
stop box
rm -f "$TMP/plain"
settle_box() {  # settle_box MAX_CLIENTS: the box with a 4 s reload_settle
  console_box "$1"
  sed -i 's|^reload_settle = "200ms"$|reload_settle = "4s"|' "$CONF"
  grep -q '^reload_settle = "4s"$' "$CONF" || fail "reload_settle was not set in $CONF"
}
settle_box 21
mv "$TMP/box.log" "$TMP/box1.out"
start_weftd box "$CONF"
note "a new weftd: reload status of an old id comes from the config history"
expect_status 0 ctl --exec "reload status 1"
[[ $OUT == "reload 1: $CONF: applied"* ]] || fail "reload status 1 after a restart: $OUT"
settle_box 22
logged=$(lines "$TMP/box.log")
start_bg waiter "$WEFTCTL" --socket "$SOCK" reload --timeout 100
wait_grep 10 "$TMP/box.log" "\[console\] console: listening on" "$logged"  # the new console is up: settling
sleep 0.5
sent=$SECONDS
kill -TERM "${PID_OF[box]}"
wait_exit waiter 10
code=$EXIT_STATUS
((SECONDS - sent <= 10)) || fail "weftctl reload took $((SECONDS - sent)) s after weftd's SIGTERM"
note "weftctl reload exited $code: $(cat "$TMP/waiter.log")"
case $code in
  3) grep -q "weftd (pid [0-9]*) exited before reload [0-9]*'s outcome reached weftctl" "$TMP/waiter.log" ||
       fail "exit 3 without saying weftd exited: $(cat "$TMP/waiter.log")" ;;
  1) grep -q "weftd began stopping" "$TMP/waiter.log" || fail "exit 1 without the stop as the reason: $(cat "$TMP/waiter.log")" ;;
  *) fail "weftctl reload exited $code after weftd's SIGTERM; expected 3 or 1: $(cat "$TMP/waiter.log")" ;;
esac
wait_exit box 10
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS on SIGTERM mid-reload"
echo "ok"
