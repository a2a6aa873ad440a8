#!/usr/bin/env bash
# 100 circuits x 100 monitored channels and one client stopped with SIGSTOP
# (issue 13): the others' updates are not delayed, the stopped client's
# queue stays bounded and its updates squash (ca_fanout_client.py prints
# the figures).
# Usage: bash ca_fanout.sh <weftd> <weftctl> <client.py> <python3>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
CLIENT=$3
PYTHON=$4
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

SEND_BUFFER=8192
ca_box_config "$PYTHON" 100ms fan - <<TOML
send_buffer = $SEND_BUFFER
socket_send_buffer = 8192
TOML

start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 120s
wait_grep 15 "$TMP/weftd.log" "all 3 services ready"
sleep 0.3
timeout 90 "$PYTHON" "$CLIENT" "$PORT" fan "$WEFTCTL" "$TMP/weftd.sock" "$SEND_BUFFER" >"$TMP/client.out" 2>&1 ||
  fail "fan-out check failed: $(cat "$TMP/client.out")"
cat "$TMP/client.out"
running weftd || fail "weftd died"
grep -E "\[ca\].*(error|exception|restart)" "$TMP/weftd.log" && fail "the ca service failed"
echo "PASS"
