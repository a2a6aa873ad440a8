#!/usr/bin/env bash
# Soft points of every type served to pyepics: reads, writes with
# wait=True, monitors, refusals; the put log has a line for each attempt.
# Usage: bash ca_soft_points.sh <weftd> <client.py> <python3>
set -euo pipefail
WEFTD=$1
CLIENT=$2
PYTHON=$3
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

need_pyepics "$PYTHON"
PORT=$(ca_port "$PYTHON")
[[ -n $PORT ]] || fail "no free port"
cat >"$TMP/weftd.toml" <<TOML
[service.ca]
port = $PORT
interfaces = ["127.0.0.1"]
device = "soft"
repeater_port = $((PORT + 1))

[[service.ca.access]]
pv = "soft:sp:*"
grant = "write"

[[service.ca.access]]
pv = "soft:fixed"
user = "raw"
grant = "write"

[[soft_point]]
name = "sp.flow"
type = "number"
initial = 2.5
writable = true
unit = "l/min"
description = "flow setpoint"
display_low = 0
display_high = 10
high = 8
hihi = 9

[[soft_point]]
name = "sp.count"
type = "integer"
initial = 7
writable = true

[[soft_point]]
name = "sp.on"
type = "bool"
initial = true
writable = true
states = ["stopped", "running"]

[[soft_point]]
name = "sp.mode"
type = "enum"
strings = ["off", "auto", "manual"]
initial = 1
writable = true

[[soft_point]]
name = "sp.note"
type = "text"
initial = "hello"
writable = true

[[soft_point]]
name = "fixed"
initial = 1.0
TOML

start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 90s
wait_grep 15 "$TMP/weftd.log" "all 1 services ready"
timeout 60 "$PYTHON" "$CLIENT" "$PORT" soft >"$TMP/client.out" 2>&1 || fail "soft-point client failed: $(cat "$TMP/client.out")"
cat "$TMP/client.out"
running weftd || fail "weftd died"
grep -E "ca: put soft:sp:flow by .*: 2.5 -> 3.25: ok" "$TMP/weftd.log" || fail "no put-log line for the write"
grep -E "ca: put soft:sp:mode by .*: auto -> manual: ok" "$TMP/weftd.log" || fail "no put-log line for the enum write"
grep -E "ca: put soft:sp:flow by .*: 3.25 -> 10: ok \(12 clamped to DRVH 10\)" "$TMP/weftd.log" ||
  fail "no put-log line for the clamped write"
grep -E "ca: put soft:sp:flow by .*: 10 -> 0: ok \(-1 clamped to DRVL 0\)" "$TMP/weftd.log" ||
  fail "no put-log line for the write clamped to DRVL"
# The raw client's rule grants write, but the point is not writable: refused and logged.
grep -E "ca: put soft:fixed by raw@test .*: 1 -> \?: refused \(no write access\)" "$TMP/weftd.log" ||
  fail "no put-log line for the refused write"
echo "PASS"
