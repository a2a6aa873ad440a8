#!/usr/bin/env bash
# An upstream that answers searches but refuses the circuit (nothing
# listens on the TCP port its replies name: ca_gateway_fake_upstream.py
# refused). The name's circuit fails; it must be searched again through the
# disconnect governor, not at once: an immediate re-search was answered at
# once and connected to again, some 4,600 times (and as many warnings)
# within the 1 s connect_timeout, for one name. Here: at most 2 circuit
# attempts and 3 searches answered before the name is dead.
# Usage: bash ca_gateway_refused.sh <weftd> <weftctl> <fake_upstream.py> <python3>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
FAKE=$3
PYTHON=$4
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

ctl() { timeout 20 "$WEFTCTL" --socket "$TMP/gw.sock" --timeout 10 --exec "$1"; }

port=$(ca_port "$PYTHON")
[[ -n $port ]] || fail "no free port"
cat >"$TMP/gw.toml" <<TOML
[weftd]
stop_grace = "2s"

[service.console]
socket = "$TMP/gw.sock"

[service.ca_gateway]
upstream = ["127.0.0.1:$port"]
beacon_port = $((port + 1))
connect_timeout = "1s"
dead_timeout = "60s"

[[service.ca_gateway.record]]
name = "refused:pv"
TOML
start_bg fake "$PYTHON" "$FAKE" refused "$port"
wait_grep 10 "$TMP/fake.log" "^listening"
start_bg gw "$WEFTD" --config "$TMP/gw.toml" --for 60s
wait_grep 15 "$TMP/gw.log" "all 2 services ready"
wait_grep 15 "$TMP/gw.log" "refused:pv not found within 1000 ms: dead"
summary=$(ctl gateway)
echo "$summary" | sed 's/^/# /'
failed=$(echo "$summary" | sed -nE 's/^circuits [0-9]+ opened [0-9]+ lost [0-9]+ failed ([0-9]+)$/\1/p')
[[ -n $failed ]] || fail "no circuit counters in: $summary"
((failed >= 1)) || fail "the circuit was never tried (failed $failed)"
((failed <= 2)) || fail "$failed circuit attempts within connect_timeout (a connect storm)"
answered=$(grep -c "answered a search" "$TMP/fake.log" || true)
((answered <= 3)) || fail "$answered searches answered within connect_timeout (a search storm)"
ended=$(grep -c "circuit to .* ended" "$TMP/gw.log" || true)
((ended <= 2)) || fail "$ended 'circuit ended' warnings"
echo "ok: $failed circuit attempt(s), $answered search(es) answered before the name went dead"
stop gw
stop fake
echo "PASS"
