#!/usr/bin/env bash
# End to end: the real weftd (gather + tap, real clock, real tty path: lock
# file, open_exclusive, termios) polls the libmodbus server through a socat
# pty pair. Its log must show every configured point with the value the
# server holds and quality good (uint16, scaled, uint32 in abcd and cdab
# word order, input registers, coils, discrete inputs: coalesced reads of
# functions 1-4), the unmapped point as comm-error with exception 2 named
# in the quarantine warning, and weftd must stop by itself (--for) with
# status 0, with no service failure and one port log line.
# Usage: bash weftd_libmodbus_server.sh <weftd> <modbus_rtu_server>
set -euo pipefail
WEFTD=$1
SERVER=$2
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

start_socat socat "$TMP/pty"
start_server server "$TMP/pty/b"
weftd_config "$TMP/weftd.toml" "$TMP/pty/a"

note "weftd --for 5s"
code=0
timeout 30 "$WEFTD" --config "$TMP/weftd.toml" --for 5s >"$TMP/weftd.log" 2>&1 || code=$?
[[ $code == 0 ]] || fail "weftd exited $code, expected 0"
grep -m 12 -F "[tap]" "$TMP/weftd.log" || true

for expected in "${PLC_EXPECTED[@]}"; do
  n=$(count_fixed "$TMP/weftd.log" "$expected")
  # 250 ms period for 5 s: about 20 polls; demand a steady stream, not one lucky poll.
  ((n >= 10)) || fail "'$expected' appears $n times in weftd's log, expected at least 10"
done
bad=$(grep -F "[tap] plc." "$TMP/weftd.log" | grep -vF "(good)" || true)
[[ -z $bad ]] || fail "plc readings that are not good:"$'\n'"$bad"

grep -qF "ghost.h200 = nan (comm-error)" "$TMP/weftd.log" || fail "the unmapped point is not published as comm-error"
quarantine=$(grep -F "instrument ghost on plc_bus: 3 failed polls" "$TMP/weftd.log" || true)
echo "$quarantine"
[[ $quarantine == *"illegal data address"* ]] ||
  fail "no quarantine warning naming exception 2 (illegal data address) for ghost"

ports=$(port_lines "$TMP/weftd.log" plc_bus)
echo "$ports"
[[ $(grep -c . <<<"$ports") == 1 && $ports == *"port plc_bus ($TMP/pty/a): closed -> open" ]] ||
  fail "expected exactly one port log line, 'closed -> open'"
no_service_failure "$TMP/weftd.log"

# The server saw the requests (and is still up): the readings came over the wire.
running server || fail "the libmodbus server exited"
requests=$(grep -c "^request " "$TMP/server.log" || true)
((requests >= 40)) || fail "the server saw only $requests requests"
note "server answered $requests requests"
echo "PASS weftd_libmodbus_server"
