#!/usr/bin/env bash
# The config watch's stop paths on a real weftd (watch_config = true):
#   SIGTERM while a change is mid-debounce (100 ms into the 500 ms quiet
#   time): weftd exits 0 within 5 s, the watch ends itself ("stopped
#   watching ... (weftd is stopping)") and no reload is triggered;
#   SIGTERM with no change pending: the same;
#   the config's directory moved away: one error line saying what to do,
#   weftd and its services keep running, no retry loop; moved back, a
#   `weftctl reload` (unchanged) opens the watch again, and a change
#   reloads once more.
# Usage: reload_watch_stop.sh WEFTD WEFTCTL PYTHON
WEFTD=$1 WEFTCTL=$2
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/reload_watch_common.bash"

CFG=$TMP/cfg
CONF=$CFG/box.toml
mkdir -p "$CFG"

# sigterm_exit: SIGTERM to weftd; it must exit 0 within 5 s (elapsed ms in $TOOK_MS).
sigterm_exit() {
  local t0
  t0=$(date +%s%N)
  kill -TERM "${PID_OF[box]}"
  wait_exit box 5
  TOOK_MS=$((($(date +%s%N) - t0) / 1000000))
  [[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS on SIGTERM"
  note "exited 0 in $TOOK_MS ms"
}

note "SIGTERM while a change is mid-debounce"
watch_conf "$CONF" 100ms
start_weftd box "$CONF"
wait_fixed 10 "$TMP/box.log" "config watch: watching $CONF"
watch_conf "$CONF" 150ms
sleep 0.1
sigterm_exit
grep -qF "config watch: stopped watching $CONF (weftd is stopping)" "$TMP/box.log" ||
  fail "the watch did not end itself on the stop"
[[ $(watch_reloads) == 0 ]] || fail "a change cut short by the stop triggered a reload"
! grep -qF "config watch: $CONF changed" "$TMP/box.log" || fail "the change was reported: the stop did not land mid-debounce"
mv "$TMP/box.log" "$TMP/box1.out"

note "SIGTERM with no change pending"
start_weftd box "$CONF"
wait_fixed 10 "$TMP/box.log" "config watch: watching $CONF"
sigterm_exit
grep -qF "config watch: stopped watching $CONF (weftd is stopping)" "$TMP/box.log" ||
  fail "the idle watch did not end itself on the stop"
mv "$TMP/box.log" "$TMP/box2.out"

note "the config's directory moved away: one error, weftd runs on"
start_weftd box "$CONF"
wait_fixed 10 "$TMP/box.log" "config watch: watching $CONF"
gen=$(generation heartbeat)
mv "$CFG" "$CFG.away"
wait_grep 5 "$TMP/box.log" "config watch: stopped watching $CONF for changes: its directory $CFG was removed, moved or unmounted; recreate it"
sleep 1
[[ $(grep -cF "config watch:" "$TMP/box.log") == 2 ]] || fail "more than one line from the ended watch: $(grep -F "config watch:" "$TMP/box.log")"
running box || fail "weftd exited when the config's directory went"
st=$(ctl --json --exec services | /usr/bin/python3 -c 'import json,sys; print(" ".join("%s=%s" % (s["name"], s["state"]) for s in json.load(sys.stdin)))')
[[ $st != *=stopped* && $st != *=failed* ]] || fail "a service is down: $st"
[[ $(generation heartbeat) == "$gen" ]] || fail "heartbeat restarted when the watch ended"

note "moved back: weftctl reload (unchanged) watches again, and a change reloads"
mv "$CFG.away" "$CFG"
logged=$(lines "$TMP/box.log")
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload --timeout 30
expect_out "unchanged"
wait_fixed 5 "$TMP/box.log" "config watch: watching $CONF" "$logged"
watch_conf "$CONF" 200ms
settle_watch 1
[[ $LAST == *"applied"*"restart heartbeat"* ]] || fail "the watch opened again did not reload the change: $LAST"
stop box
echo "ok"
