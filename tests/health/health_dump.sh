#!/usr/bin/env bash
# SIGUSR1 dump: weft-health-box with heartbeat and a sleeping service gets
# SIGUSR1; a dump appears in <data>/dumps listing every service, the
# sleeper's await site (this binary's file:line) and the bus queues; the
# process runs on and stops cleanly on SIGTERM.
# Usage: bash health_dump.sh <weft-health-box> <weftd> <python3>
set -euo pipefail
BOX=$1
HERE=$(dirname "${BASH_SOURCE[0]}")
source "$HERE/common.bash"

health_config "$TMP/box.toml" "$TMP/data"
start_bg box "$BOX" --config "$TMP/box.toml" --test sleeper
wait_fixed 10 "$TMP/box.log" "all 2 services ready"
kill -USR1 "${PID_OF[box]}"
wait_fixed 10 "$TMP/box.log" "dump written to "
dump=$(grep -oE "dump written to [^ ]+\.txt" "$TMP/box.log" | head -1 | cut -d' ' -f4)
[[ -f $dump ]] || fail "dump file $dump does not exist"
cat "$dump"
grep -qF "(SIGUSR1)" "$dump" || fail "the dump does not say SIGUSR1"
grep -qE "^  heartbeat: running, ready" "$dump" || fail "the dump lacks heartbeat"
grep -qE "^  sleeper: running, ready" "$dump" || fail "the dump lacks sleeper"
sleeper_line=$(grep -n "for (;;) co_await ctx.sleep(std::chrono::hours(1));" "$HERE/weft_health_box.cpp" | head -1 | cut -d: -f1)
grep -A1 -E "^  sleeper: " "$dump" | grep -qE "waiting: sleep at .*weft_health_box.cpp:$sleeper_line for " ||
  fail "the dump does not show the sleeper's await site (weft_health_box.cpp:$sleeper_line)"
grep -qE "^loop lag \([0-9]+ samples\)" "$dump" || fail "the dump has no loop lag line"
running box || fail "the box exited after SIGUSR1"
kill -TERM "${PID_OF[box]}"
wait_exit box 10
[[ $EXIT_STATUS == 0 ]] || fail "exited $EXIT_STATUS on SIGTERM"
echo "PASS health_dump"
