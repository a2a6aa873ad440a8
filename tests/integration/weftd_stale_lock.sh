#!/usr/bin/env bash
# UUCP locks on a real port, judged by whether the holder has the device
# open: the libmodbus server on a socat pty, and weftd started while
# LCK..<pty> names (1) a live process that does not have the pty open (a
# `sleep`): weftd takes it over with one log line naming the old holder and
# polls good values; then (2) a live process that has the pty open (a
# `sleep` with the pty as stdin): weftd honours it, names the holder, and
# publishes comm-error.
# Usage: bash weftd_stale_lock.sh <weftd> <modbus_rtu_server>
set -euo pipefail
WEFTD=$1
SERVER=$2
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

start_socat socat "$TMP/pty"
start_server server "$TMP/pty/b"
weftd_config "$TMP/weftd.toml" "$TMP/pty/a"
lock="$TMP/lock/LCK..$(basename "$(readlink -f "$TMP/pty/a")")"

note "a lock naming a live process that does not have the port open"
start_bg idle sleep 60
printf '%10d\n' "${PID_OF[idle]}" >"$lock"
start_bg weftd1 "$WEFTD" --config "$TMP/weftd.toml" --for 60s
wait_fixed 10 "$TMP/weftd1.log" "plc.h100 = 1000 (good)"
took=$(grep -F "took over stale lock file $lock" "$TMP/weftd1.log" || true)
echo "$took"
[[ $(grep -c . <<<"$took") == 1 ]] || fail "expected one takeover line, got:"$'\n'"$took"
[[ $took == *"PID ${PID_OF[idle]} is running but does not have $TMP/pty/a open"* ]] ||
  fail "the takeover line does not name the old holder"
[[ $(tr -d ' \n' <"$lock") == "${PID_OF[weftd1]}" ]] || fail "the lock file does not hold weftd's PID"
stop weftd1
[[ ! -e $lock ]] || fail "weftd left its lock file behind"

note "a lock naming a live process that has the port open"
start_bg holder bash -c 'exec sleep 60 <"$0"' "$TMP/pty/a"
for _ in $(seq 100); do
  [[ $(readlink -f "/proc/${PID_OF[holder]}/fd/0") == "$(readlink -f "$TMP/pty/a")" ]] && break
  sleep 0.05
done
printf '%10d\n' "${PID_OF[holder]}" >"$lock"
code=0
timeout 30 "$WEFTD" --config "$TMP/weftd.toml" --for 2s >"$TMP/weftd2.log" 2>&1 || code=$?
[[ $code == 0 ]] || fail "weftd exited $code, expected 0"
ports=$(port_lines "$TMP/weftd2.log" plc_bus)
echo "$ports"
[[ $ports == *"is in use by PID ${PID_OF[holder]} (lock file $lock)"* ]] || fail "weftd did not name the holder"
grep -qF "plc.h100 = nan (comm-error)" "$TMP/weftd2.log" || fail "weftd does not publish comm-error"
[[ $(tr -d ' \n' <"$lock") == "${PID_OF[holder]}" ]] || fail "weftd touched a live holder's lock file"
echo "PASS weftd_stale_lock"
