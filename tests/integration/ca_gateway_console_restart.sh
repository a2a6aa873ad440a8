#!/usr/bin/env bash
# `gateway get NAME` cut short by a restart of ca_gateway: the console call
# waits for a name nobody answers (connect_timeout 60 s) when `restart
# ca_gateway` ends the run whose Gateway the call's handler refers to. The
# console cancels the call; the handler must then touch nothing of that
# Gateway (it is destroyed). weftd runs under valgrind, which reports any
# read of the freed Gateway: the test fails on any valgrind error, and on
# the call not ending as "removed (its service stopped)". An ASan weftd
# (tools/dev test --sanitize) runs bare: ASan reports the read itself (and
# valgrind cannot run an ASan binary).
# Usage: bash ca_gateway_console_restart.sh <weftd> <weftctl> <python3>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
PYTHON=$3
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
memcheck_prefix "$WEFTD"  # valgrind, or an ASan weftd bare

ctl() { timeout 60 "$WEFTCTL" --socket "$TMP/gw.sock" --timeout 50 --exec "$1"; }

port=$(ca_port "$PYTHON")
[[ -n $port ]] || fail "no free port"
cat >"$TMP/gw.toml" <<TOML
[weftd]
stop_grace = "5s"
hang_threshold = "60s"   # valgrind is slow: no hang verdict on a loaded machine
stall_threshold = "5s"

[service.console]
socket = "$TMP/gw.sock"

[service.ca_gateway]
upstream = ["127.0.0.1:$port"]
beacon_port = $((port + 1))
connect_timeout = "60s"
TOML
start_bg gw "${MEMCHECK[@]}" "$WEFTD" --config "$TMP/gw.toml" --for 120s
wait_grep 90 "$TMP/gw.log" "all 2 services ready"
start_bg get timeout 60 "$WEFTCTL" --socket "$TMP/gw.sock" --timeout 50 --exec "gateway get nobody:here"
# The call waits once the name is in the table (connecting).
deadline=$((SECONDS + 30))
until ctl "gateway pvs" 2>/dev/null | grep -q "^nobody:here connecting"; do
  ((SECONDS < deadline)) || fail "gateway get never put its name in the table: $(ctl 'gateway pvs')"
  sleep 0.2
done
ctl "restart ca_gateway"
wait_exit get 30
((EXIT_STATUS == 1)) || fail "gateway get exited $EXIT_STATUS, expected 1 (removed)"
grep -q "was removed (its service stopped)" "$TMP/get.log" || fail "gateway get did not end as removed"
ctl gateway >/dev/null  # the restarted run serves its commands
kill -TERM "${PID_OF[gw]}"
wait_exit gw 60
((EXIT_STATUS == 0)) || fail "weftd ${MEMCHECK[*]:+under valgrind }exited $EXIT_STATUS (9: valgrind found errors; 134: ASan): $(grep -A12 -E 'Invalid|ERROR: AddressSanitizer' "$TMP/valgrind.txt" "$TMP/gw.log" 2>/dev/null | head -40)"
echo "PASS"
