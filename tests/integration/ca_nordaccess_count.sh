#!/usr/bin/env bash
# A client without read access (grant = "none") asks a monitor of an
# absurd element count (an extended EVENT_ADD, 400,000,000 DOUBLEs): its
# ECA_NORDACCESS update must not be sized by that count (a 3.2 GB zeroed
# payload held the loop until the hang watchdog restarted the box). It gets
# ECA_BADCOUNT with one element, as a readable channel does; weftd goes on.
# Usage: bash ca_nordaccess_count.sh <weftd> <client.py> <python3>
set -euo pipefail
WEFTD=$1
CLIENT=$2
PYTHON=$3
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

ca_box_config "$PYTHON" 1s nra - <<TOML

[[service.ca.access]]
pv = "nra:*"
grant = "none"

[[soft_point]]
name = "sp.wave"
type = "array"
max_length = 4
initial = [1.0, 2.0]
TOML
start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 60s
wait_grep 15 "$TMP/weftd.log" "all 3 services ready"
timeout 30 "$PYTHON" "$CLIENT" "$PORT" nra:sp:wave >"$TMP/client.out" 2>&1 || fail "$(cat "$TMP/client.out")"
cat "$TMP/client.out"
sleep 0.5
running weftd || fail "weftd died"
grep -E "loop hung|\[ca\].*(error|exception)" "$TMP/weftd.log" && fail "the ca service failed or the loop hung"
echo "PASS"
