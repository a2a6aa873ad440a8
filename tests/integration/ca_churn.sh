#!/usr/bin/env bash
# Circuits ended every way a client can end them while updates stream to
# them (ca_churn_client.py says how): weftd keeps serving the rest, counts
# exactly the open circuits afterwards, logs no failure of the ca service,
# and stops cleanly.
# Usage: bash ca_churn.sh <weftd> <weftctl> <client.py> <python3>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
CLIENT=$3
PYTHON=$4
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

ca_box_config "$PYTHON" 1ms churn - <<TOML
send_buffer = 16384
socket_send_buffer = 8192
TOML

start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 120s
wait_grep 15 "$TMP/weftd.log" "all 3 services ready"
timeout 90 "$PYTHON" "$CLIENT" "$PORT" churn "$WEFTCTL" "$TMP/weftd.sock" >"$TMP/client.out" 2>&1 ||
  fail "churn check failed: $(cat "$TMP/client.out")"
cat "$TMP/client.out"
running weftd || fail "weftd died"
grep -E "\[ca\].*(error|exception|restart)" "$TMP/weftd.log" && fail "the ca service failed"
kill -TERM "${PID_OF[weftd]}"
wait_exit weftd 15
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS after SIGTERM"
echo "PASS"
