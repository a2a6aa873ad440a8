#!/usr/bin/env bash
# systemd notify and a hung loop, as systemd would see them: a fake
# NOTIFY_SOCKET (a Unix datagram socket, notify_listener.py) with
# WATCHDOG_USEC=200ms. weft-health-box runs heartbeat, a sleeper, a service
# that holds the loop 300 ms once (named by the stall monitor) and one that
# hangs the loop after 1.5 s. Expected: READY=1, STATUS=, periodic
# WATCHDOG=1 while healthy, at most one WATCHDOG=1 after the hang began (one
# may already be on its way), a dump naming the culprit in <data>/dumps, and
# exit status 4 (hang_threshold 1 s).
# Usage: bash health_notify_hang.sh <weft-health-box> <weftd> <python3>
set -euo pipefail
BOX=$1
PY=$3
HERE=$(dirname "${BASH_SOURCE[0]}")
source "$HERE/common.bash"
ulimit -c 0

health_config "$TMP/box.toml" "$TMP/data"
start_bg notify "$PY" "$HERE/notify_listener.py" "$TMP/notify.sock" "$TMP/notify.out" 60
wait_fixed 5 "$TMP/notify.out" LISTENING

note "box with a busy and a hanging service"
start_bg box env NOTIFY_SOCKET="$TMP/notify.sock" WATCHDOG_USEC=200000 \
  "$BOX" --config "$TMP/box.toml" --test sleeper --test busy=300ms --test hang=1500ms
wait_exit box 30
[[ $EXIT_STATUS == 4 ]] || fail "weft-health-box exited $EXIT_STATUS, expected 4 (hung loop)"
cp "$TMP/notify.out" "$TMP/notify.snapshot.out"
N="$TMP/notify.snapshot.out"

note "stall and hang in the log"
grep -qE "loop stalled: service 'busy' has held the loop for [0-9.]+ ms" "$TMP/box.log" ||
  fail "the stall monitor did not name 'busy'"
grep -qF "last await: sleep at " "$TMP/box.log" || fail "the stall line has no last await site"
grep -qF "loop hung: service 'hang' has held the loop for" "$TMP/box.log" || fail "no hang line naming 'hang'"
grep -qF "exiting with status 4" "$TMP/box.log" || fail "the hang line does not say the exit status"

note "the hang dump"
dumps=("$TMP"/data/dumps/*.txt)
[[ -e ${dumps[0]} ]] || fail "no dump in $TMP/data/dumps"
grep -qF "(hang: service 'hang'" "${dumps[0]}" || fail "the dump does not name the hang"
for s in heartbeat sleeper busy hang; do
  grep -qE "^  $s: " "${dumps[0]}" || fail "the hang dump lacks service $s"
done

note "notify messages"
grep -qx "READY=1" "$N" || fail "no READY=1"
grep -qE "^STATUS=[0-9]+/4 services ready, [0-9]+ restarts, loop lag p99 " "$N" || fail "no STATUS= summary line"
marker=$(grep -nx "STATUS=test: hanging now" "$N" | cut -d: -f1)
[[ -n $marker ]] || fail "no hang marker on the notify socket"
before=$(head -n "$marker" "$N" | grep -cx "WATCHDOG=1" || true)
after=$(tail -n +"$((marker + 1))" "$N" | grep -cx "WATCHDOG=1" || true)
echo "WATCHDOG=1 before the hang: $before, after: $after"
((before >= 3)) || fail "only $before WATCHDOG=1 while healthy (1.5 s at 100 ms)"
((after <= 1)) || fail "$after WATCHDOG=1 after the loop hung"
ready_line=$(grep -nx "READY=1" "$N" | head -1 | cut -d: -f1)
((ready_line < marker)) || fail "READY=1 came after the hang"
echo "PASS health_notify_hang"
