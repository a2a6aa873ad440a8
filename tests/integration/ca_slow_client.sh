#!/usr/bin/env bash
# A client that stops reading (a 2 KiB receive buffer, never read: what a
# SIGSTOPped client looks like to the server) beside a pyepics monitor, with
# points changing at 1 kHz: the monitor is not delayed, the stalled circuit's
# queue stays bounded and its updates squash (ca_slow_client.py).
# Usage: bash ca_slow_client.sh <weftd> <weftctl> <client.py> <python3>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
CLIENT=$3
PYTHON=$4
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

need_pyepics "$PYTHON"
ca_box_config "$PYTHON" 1ms slow - <<TOML
send_buffer = 4096
socket_send_buffer = 8192
TOML

start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 90s
wait_grep 15 "$TMP/weftd.log" "all 3 services ready"
sleep 0.3
timeout 60 "$PYTHON" "$CLIENT" "$PORT" slow "$WEFTCTL" "$TMP/weftd.sock" >"$TMP/client.out" 2>&1 ||
  fail "slow-client check failed: $(cat "$TMP/client.out")"
cat "$TMP/client.out"
running weftd || fail "weftd died"
echo "PASS"
