#!/usr/bin/env bash
# Stopping weftd while a CA client monitors a PV (the stop lands amid a
# stream of updates at 1 kHz): the client gets SERVER_DISCONN for its
# channel, then the circuit closes, and weftd exits 0 within its grace.
# Usage: bash ca_stop.sh <weftd> <client.py> <python3>
set -euo pipefail
WEFTD=$1
CLIENT=$2
PYTHON=$3
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

PORT=$(ca_port "$PYTHON")
[[ -n $PORT ]] || fail "no free port"
cat >"$TMP/weftd.toml" <<TOML
[service.heartbeat]
period = "1ms"
prefix = "box"

[service.ca]
port = $PORT
interfaces = ["127.0.0.1"]
device = "stop"
repeater_port = $((PORT + 1))
TOML

start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 90s
wait_grep 15 "$TMP/weftd.log" "all 2 services ready"
sleep 0.3
start_bg client timeout 60 "$PYTHON" "$CLIENT" "$PORT" stop:box:uptime_s "$TMP/ready"
for _ in $(seq 1 200); do [[ -e $TMP/ready ]] && break; sleep 0.05; done
[[ -e $TMP/ready ]] || fail "the client saw no updates"
note "stopping weftd while its monitor streams"
kill -TERM "${PID_OF[weftd]}"
wait_exit weftd 15
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS after SIGTERM"
wait_exit client 15
cat "$TMP/client.log"
[[ $EXIT_STATUS == 0 ]] || fail "the client did not see SERVER_DISCONN then the close"
echo "PASS"
