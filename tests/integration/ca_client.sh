#!/usr/bin/env bash
# weft's CA client functions against a real CA server: ca_client_check (a
# C++ program over real sockets) searches, connects, reads, monitors and
# writes soft points of a weftd on a free loopback port, watching its
# beacons on the repeater port; then weftd is restarted on the same port and
# the client must find the name again through the beacon anomaly alone (its
# disconnect governor is set to an hour), on a new circuit.
# Usage: bash ca_client.sh <weftd> <ca_client_check> <python3>
set -euo pipefail
WEFTD=$1
CHECK=$2
PYTHON=$3
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

PORT=$(ca_port "$PYTHON")
[[ -n $PORT ]] || fail "no free port"
cat >"$TMP/weftd.toml" <<TOML
[service.ca]
port = $PORT
interfaces = ["127.0.0.1"]
device = "soft"
repeater_port = $((PORT + 1))
beacon_period = "500ms"

[[service.ca.access]]
pv = "soft:sp:*"
grant = "write"

[[soft_point]]
name = "sp.flow"
type = "number"
initial = 2.5
writable = true
unit = "l/min"
display_low = 0
display_high = 10
high = 8
hihi = 9

[[soft_point]]
name = "sp.note"
type = "text"
initial = "hello"
writable = true
TOML

start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 120s
wait_grep 15 "$TMP/weftd.log" "all 1 services ready"
start_bg check "$CHECK" "$PORT"
wait_fixed 40 "$TMP/check.log" "waiting for restart"
note "restarting weftd on port $PORT"
stop weftd
mv "$TMP/weftd.log" "$TMP/weftd-first.log"
start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 120s
wait_exit check 60
cat "$TMP/check.log"
((EXIT_STATUS == 0)) || fail "ca_client_check exited $EXIT_STATUS"
grep -q "^PASS$" "$TMP/check.log" || fail "no PASS from ca_client_check"
grep -E "ca: put soft:sp:flow by caclient@test .*: 2.5 -> 3.25: ok" "$TMP/weftd-first.log" ||
  fail "no put-log line for the client's WRITE_NOTIFY"
running weftd || fail "the restarted weftd died"
echo "PASS"
