#!/usr/bin/env bash
# Monitor deadbands against real libca (pyepics): a fixed sequence of writes
# to soft points with mdel / adel / alarm limits, and one subscription per
# event mask; each must see its initial value and exactly the updates the
# EPICS rules give (DBE_VALUE beyond mdel from the last value sent, DBE_LOG
# beyond adel, DBE_ALARM on alarm changes only, mdel < 0 every write).
# Usage: bash ca_deadband.sh <weftd> <client.py> <python3>
set -euo pipefail
WEFTD=$1
CLIENT=$2
PYTHON=$3
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

need_pyepics "$PYTHON"
PORT=$(ca_port "$PYTHON")
[[ -n $PORT ]] || fail "no free port"
# The box is named only in [weftd]: the PV names take it ([service.ca] device's default).
cat >"$TMP/weftd.toml" <<TOML
[weftd]
device = "db"

[service.ca]
port = $PORT
interfaces = ["127.0.0.1"]
repeater_port = $((PORT + 1))

[[service.ca.access]]
pv = "db:*"
grant = "write"

[[soft_point]]
name = "level"
initial = 0.0
writable = true
mdel = 0.5
adel = 2
high = 3

[[soft_point]]
name = "plain"
initial = 0.0
writable = true

[[soft_point]]
name = "every"
initial = 0.0
writable = true
mdel = -1
TOML

start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 60s
wait_grep 15 "$TMP/weftd.log" "all 1 services ready"
timeout 45 "$PYTHON" "$CLIENT" "$PORT" db >"$TMP/client.out" 2>&1 || fail "deadband client failed: $(cat "$TMP/client.out")"
cat "$TMP/client.out"
running weftd || fail "weftd died"
echo "PASS"
