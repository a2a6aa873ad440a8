#!/usr/bin/env bash
# A CA client that floods READ_NOTIFY requests and never reads the replies
# (ca_request_flood_client.py): weftd's RSS stays bounded (the circuit stops
# taking requests while its output is at send_buffer), and weftd still runs.
# Usage: bash ca_request_flood.sh <weftd> <client.py> <python3>
set -euo pipefail
WEFTD=$1
CLIENT=$2
PYTHON=$3
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

PORT=$(ca_port "$PYTHON")
[[ -n $PORT ]] || fail "no free port"
cat >"$TMP/weftd.toml" <<TOML
[service.heartbeat]
period = "100ms"
prefix = "box"

[service.ca]
port = $PORT
interfaces = ["127.0.0.1"]
device = "flood"
repeater_port = $((PORT + 1))
socket_send_buffer = 8192
TOML

start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 90s
wait_grep 15 "$TMP/weftd.log" "all 2 services ready"
sleep 0.3
timeout 60 "$PYTHON" "$CLIENT" "$PORT" flood:box:uptime_s "${PID_OF[weftd]}" 12 >"$TMP/client.out" 2>&1 ||
  fail "request flood check failed: $(cat "$TMP/client.out")"
cat "$TMP/client.out"
running weftd || fail "weftd died"
echo "PASS"
