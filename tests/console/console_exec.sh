#!/usr/bin/env bash
# weftctl --exec against a real weftd: every core command, the exit status
# scripts rely on (0 ok, 1 failed, 2 usage, 3 not running), --json, the
# messages when weftd is not running, a stale socket left by a killed weftd,
# a second weftd on a live socket, and the console under weftd --simulate.
# Usage: console_exec.sh WEFTD WEFTCTL
WEFTD=$1 WEFTCTL=$2
source "$(dirname "$0")/common.bash"

box_config "$TMP/box.toml"

note "not running: no socket"
expect_status 3 ctl --exec services
expect_out "weftd is not running (no socket at $SOCK); start it or pass --socket"

note "bad usage"
expect_status 2 ctl --no-such-flag

start_weftd box "$TMP/box.toml"
[[ $(stat -c %a "$SOCK") == 600 ]] || fail "socket mode is $(stat -c %a "$SOCK"), expected 600"

note "every core command"
for cmd in help "help log" services "service heartbeat" points "points box.*" "read box.uptime_s" \
           "log tail -n 3 --once" "log level" "log level tap debug" "log level info" clock mem config console \
           "complete" "complete log" "stop tap" "start tap" "restart heartbeat"; do
  expect_status 0 ctl --exec "$cmd"
done
expect_status 0 ctl --exec services
expect_out "heartbeat"
expect_out "LONGEST_MS"
expect_status 0 ctl --exec "read box.uptime_s"
expect_out "quality:    good"

note "failures exit 1 with what is wrong and the usage"
expect_status 1 ctl --exec frobnicate
expect_out "unknown command 'frobnicate'; type 'help' for the list of commands"
expect_status 1 ctl --exec "service"
expect_out "usage: service NAME"
expect_status 1 ctl --exec "stop nosuch"
expect_out "no service named 'nosuch'"

note "--json"
expect_status 0 ctl --json --exec services
/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert {s["name"] for s in d} == {"heartbeat","tap","console"}, d' "$OUT" ||
  fail "services --json is not the expected JSON: $OUT"
expect_status 1 ctl --json --exec nosuch
/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["ok"] is False' "$OUT" || fail "bad JSON error: $OUT"

note "a live tail ends on Ctrl-C (SIGINT) with status 0"
start_bg tail "$WEFTCTL" --socket "$SOCK" --exec "log tail tap"
wait_fixed 10 "$TMP/tail.log" "[tap] box.uptime_s"
kill -INT "${PID_OF[tail]}"
wait_exit tail 10
[[ $EXIT_STATUS == 0 ]] || fail "log tail ended with $EXIT_STATUS after SIGINT"

note "a second weftd on the same socket is refused; the first keeps serving"
box_config "$TMP/second.toml"
start_bg second "$WEFTD" --config "$TMP/second.toml"
wait_fixed 10 "$TMP/second.log" "is answered by another process (is another weftd running?)"
stop second
expect_status 0 ctl --exec services

note "killed weftd: the stale socket is reported, then replaced by the next start"
kill -KILL "${PID_OF[box]}"
wait_exit box 10
[[ -S $SOCK ]] || fail "expected the killed weftd's socket to remain"
expect_status 3 ctl --exec services
expect_out "weftd is not running (nobody answers on $SOCK, a stale socket)"
start_weftd box2 "$TMP/box.toml"
expect_status 0 ctl --exec services
stop box2
[[ ! -e $SOCK ]] || fail "a clean stop should remove the socket"

note "weftd --simulate keeps a configured console"
start_weftd sim "$TMP/box.toml" --simulate heartbeat --virtual-time
expect_status 0 ctl --exec services
expect_out "console"
expect_status 0 ctl --exec clock
expect_out "(virtual clock)"
stop sim
echo "ok"
