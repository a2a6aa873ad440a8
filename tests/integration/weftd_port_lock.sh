#!/usr/bin/env bash
# Two weftd on one port: the first polls the libmodbus server through a
# socat pty; a second weftd with the same config (same tty, same lock dir)
# cannot take the port, and says so once (not once per retry) in a message
# that names the first weftd's PID and the lock file; it publishes the
# points as comm-error, stops by itself with status 0, and the first one
# polls on undisturbed and stops cleanly on SIGTERM.
# Usage: bash weftd_port_lock.sh <weftd> <modbus_rtu_server>
set -euo pipefail
WEFTD=$1
SERVER=$2
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

start_socat socat "$TMP/pty"
start_server server "$TMP/pty/b"
weftd_config "$TMP/weftd.toml" "$TMP/pty/a"

note "first weftd"
start_bg weftd1 "$WEFTD" --config "$TMP/weftd.toml" --for 60s
first=${PID_OF[weftd1]}
wait_fixed 10 "$TMP/weftd1.log" "plc.h100 = 1000 (good)"
lock_files=("$TMP"/lock/LCK..*)
[[ -e ${lock_files[0]} ]] || fail "no lock file in $TMP/lock"
[[ $(tr -d ' \n' <"${lock_files[0]}") == "$first" ]] || fail "lock file ${lock_files[0]} does not hold PID $first"

note "second weftd on the same port"
code=0
timeout 30 "$WEFTD" --config "$TMP/weftd.toml" --for 2s >"$TMP/weftd2.log" 2>&1 || code=$?
[[ $code == 0 ]] || fail "the second weftd exited $code, expected 0 (a busy port is a state, not a crash)"
ports=$(port_lines "$TMP/weftd2.log" plc_bus)
echo "$ports"
[[ $(grep -c . <<<"$ports") == 1 ]] || fail "expected one port log line (retries are silent), got:"$'\n'"$ports"
[[ $ports == *"closed -> failed: port $TMP/pty/a is in use by PID $first "* ]] ||
  fail "the second weftd's port line does not name PID $first"
[[ $ports == *"lock file ${lock_files[0]}"* ]] || fail "the second weftd's port line does not name the lock file"
no_service_failure "$TMP/weftd2.log"
grep -qF "plc.h100 = nan (comm-error)" "$TMP/weftd2.log" || fail "the second weftd does not publish comm-error"
if grep -qF "(good)" "$TMP/weftd2.log"; then fail "the second weftd read the port it must not have"; fi

note "the first weftd is undisturbed"
running weftd1 || fail "the first weftd exited"
[[ $(tr -d ' \n' <"${lock_files[0]}") == "$first" ]] || fail "the lock file no longer holds PID $first"
mark=$(lines "$TMP/weftd1.log")
wait_fixed 5 "$TMP/weftd1.log" "plc.h100 = 1000 (good)" "$mark"
kill -TERM "$first"
wait_exit weftd1 10
[[ $EXIT_STATUS == 0 ]] || fail "the first weftd exited $EXIT_STATUS on SIGTERM, expected 0"
[[ ! -e ${lock_files[0]} ]] || fail "the first weftd left its lock file behind"
no_service_failure "$TMP/weftd1.log"
echo "PASS weftd_port_lock"
