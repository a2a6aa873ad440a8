#!/usr/bin/env bash
# Captures real Channel Access traffic for the CA fuzz seeds
# (tests/fuzz/corpus/README.md): a weftd serving soft points of every type
# and the heartbeat's PVs on a free loopback port, ca_relay.py in front of it
# recording every datagram and circuit, and pyepics (Debian's libca 4.13)
# sessions through the relay: ca_capture_session.py, then the integration
# clients ca_pyepics_client.py and ca_soft_points_client.py (their hostile
# raw-socket input included; their checks may fail through the relay's
# added latency, only the traffic matters). ca_seeds.py then turns the
# recording into tests/fuzz/corpus/ca_{request,response,dbr}/.
# Usage: bash tests/fuzz/ca_capture.sh <weftd> [python3]   (run again after a change of the seed layout)
set -euo pipefail
WEFTD=$(realpath "$1")
PYTHON=${2:-/usr/bin/python3}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/common.bash
source "$HERE/../integration/common.bash"

"$PYTHON" -c 'import epics' 2>/dev/null || fail "pyepics is not installed for $PYTHON (apt-get install python3-pyepics)"
SERVER=$(ca_port "$PYTHON")  # weftd; SERVER+1 its beacon port, where the relay records beacons
LISTEN=$(ca_port "$PYTHON")  # the relay; LISTEN+1 the clients' repeater port
[[ -n $SERVER && -n $LISTEN && $SERVER != "$LISTEN" && $((SERVER + 1)) != "$LISTEN" && $((LISTEN + 1)) != "$SERVER" ]] ||
  fail "no free ports"
cat >"$TMP/weftd.toml" <<TOML
[service.heartbeat]
period = "100ms"
prefix = "box"

[service.ca]
port = $SERVER
interfaces = ["127.0.0.1"]
device = "cap"
repeater_port = $((SERVER + 1))

[[service.ca.access]]
pv = "cap:sp:*"
grant = "write"

[[soft_point]]
name = "sp.flow"
type = "number"
initial = 2.5
writable = true

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

start_bg relay "$PYTHON" "$HERE/ca_relay.py" "$LISTEN" "$SERVER" $((SERVER + 1)) "$TMP/capture" 240
wait_grep 10 "$TMP/relay.log" "listening"
start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 240s
wait_grep 15 "$TMP/weftd.log" "all 2 services ready"
sleep 0.3
note "weftd on $SERVER, relay on $LISTEN"
# The soft-point client first: it expects the initial values.
timeout 60 "$PYTHON" "$HERE/../integration/ca_soft_points_client.py" "$LISTEN" cap >"$TMP/soft.out" 2>&1 ||
  note "ca_soft_points_client through the relay: $(tail -1 "$TMP/soft.out")"
timeout 120 "$PYTHON" "$HERE/ca_capture_session.py" "$LISTEN" cap >"$TMP/session.out" 2>&1 ||
  fail "capture session failed: $(tail -5 "$TMP/session.out")"
grep -c -- "->" "$TMP/session.out" | sed 's/^/# session steps: /'
grep -q "session done" "$TMP/session.out" || fail "the session did not finish"
timeout 60 "$PYTHON" "$HERE/../integration/ca_pyepics_client.py" "$LISTEN" cap >"$TMP/pyepics.out" 2>&1 ||
  note "ca_pyepics_client through the relay: $(tail -1 "$TMP/pyepics.out")"
running weftd || fail "weftd died"
stop weftd
stop relay
find "$TMP/capture" -type f -printf '%f\n' | sed 's/_[0-9]*//' | sort | uniq -c | sed 's/^/# recorded /'
"$PYTHON" "$HERE/ca_seeds.py" "$TMP/capture"
