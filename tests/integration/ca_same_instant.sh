#!/usr/bin/env bash
# Two publishes of one point in one instant are two readings to ca. On the
# virtual clock time stands still while the loop works, so three WRITEs to a
# soft point in one TCP segment are published at one monotonic and one wall
# time; the PV must take each (the read that follows and the monitor end at
# the last value, the put log shows each change), not drop the later ones
# as copies of the first (ca once told readings apart by their stamps).
# Usage: bash ca_same_instant.sh <weftd> <client.py> <python3>
set -euo pipefail
WEFTD=$1
CLIENT=$2
PYTHON=$3
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

PORT=$(ca_port "$PYTHON")
[[ -n $PORT ]] || fail "no free port"
cat >"$TMP/weftd.toml" <<TOML
[weftd]
stop_grace = "2s"

[service.ca]
port = $PORT
interfaces = ["127.0.0.1"]
device = "vt"
repeater_port = $((PORT + 1))

[[service.ca.access]]
pv = "vt:*"
grant = "write"

[[soft_point]]
name = "sp.level"
initial = 0.0
writable = true
TOML
# No --for: on the virtual clock it would pass in an instant (time jumps to
# the next timer whenever the loop is idle); the test stops weftd itself.
start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --virtual-time
wait_grep 15 "$TMP/weftd.log" "all [0-9]+ services ready"
grep -q "on the virtual clock" "$TMP/weftd.log" || fail "weftd did not run on the virtual clock"
timeout 30 "$PYTHON" "$CLIENT" "$PORT" >"$TMP/client.out" 2>&1 || fail "client failed: $(cat "$TMP/client.out")"
cat "$TMP/client.out"
running weftd || fail "weftd died"
grep -E "ca: put vt:sp:level by raw@test .*: 1 -> 2: ok" "$TMP/weftd.log" || fail "no put-log line for 1 -> 2"
grep -E "ca: put vt:sp:level by raw@test .*: 2 -> 3: ok" "$TMP/weftd.log" || fail "no put-log line for 2 -> 3"
stop weftd
echo "PASS ca_same_instant"
