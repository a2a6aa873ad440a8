#!/usr/bin/env bash
# The ca service's limits (issue 13), small in this config so a test reaches
# them: max_circuits, max_channels per circuit, max_subscriptions per
# channel, client_timeout for a circuit that stops reading, a malformed
# message; and `ca clients`. Raw circuits and a pyepics monitor in
# ca_limits_client.py; every refusal is logged once, naming the client.
# Usage: bash ca_limits.sh <weftd> <weftctl> <client.py> <python3>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
CLIENT=$3
PYTHON=$4
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

need_pyepics "$PYTHON"
ca_box_config "$PYTHON" 1ms lim - <<TOML
max_circuits = 4
max_channels = 3
max_subscriptions = 2
client_timeout = "2s"
send_buffer = 4096
socket_send_buffer = 8192

[[soft_point]]
name = "sp.a"

[[soft_point]]
name = "sp.b"

[[soft_point]]
name = "sp.c"

[[soft_point]]
name = "sp.d"
TOML

start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 90s
wait_grep 15 "$TMP/weftd.log" "all 3 services ready"
sleep 0.3
timeout 75 "$PYTHON" "$CLIENT" "$PORT" lim "$WEFTCTL" "$TMP/weftd.sock" "$TMP/weftd.log" >"$TMP/client.out" 2>&1 ||
  fail "limits check failed: $(cat "$TMP/client.out")"
cat "$TMP/client.out"
running weftd || fail "weftd died"
grep -E "\[ca\].*(error|exception|restart)" "$TMP/weftd.log" && fail "the ca service failed"
echo "PASS"
