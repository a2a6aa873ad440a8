#!/usr/bin/env bash
# An array soft point end to end, against real peers: pyepics/libca reads
# and monitors it and writes shorter and full arrays; a write longer than
# max_length is refused (libca refuses it itself; a raw WRITE_NOTIFY gets
# ECA_BADCOUNT from weftd); the put log shows it compactly; every value is
# recorded in the store (sqlite3 CLI) and uploaded as a JSON array
# (mosquitto_sub); persist = true keeps the last one across a restart.
# Usage: bash ca_array.sh <weftd> <client.py> <python3>
set -euo pipefail
WEFTD=$1
CLIENT=$2
PYTHON=$3
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
"$PYTHON" -c 'import epics, numpy' 2>/dev/null || { echo "pyepics is not installed: skipped"; exit 77; }
[[ -x /usr/sbin/mosquitto && -x /usr/bin/sqlite3 ]] || { echo "mosquitto or sqlite3 missing: skipped"; exit 77; }
source "$(dirname "${BASH_SOURCE[0]}")/upload_common.bash"

start_broker_and_collector
MQTT_PORT=$PORT
CA_PORT=$(ca_port "$PYTHON")
[[ -n $CA_PORT ]] || fail "no free port"
mkdir -p "$TMP/data"
cat >"$TMP/weftd.toml" <<TOML
[weftd]
data_dir = "$TMP/data"
stop_grace = "2s"

[store]
path = "$TMP/readings.db"
batch_rows = 50
batch_age = "50ms"

[service.record]

[service.upload]
url = "mqtt://127.0.0.1:$MQTT_PORT"
device = "testbox"
topic = "weft/{device}/readings"
live_period = "50ms"
min_backoff = "100ms"
max_backoff = "400ms"

[service.ca]
port = $CA_PORT
interfaces = ["127.0.0.1"]
device = "arr"
repeater_port = $((CA_PORT + 1))

[[service.ca.access]]
pv = "arr:sp:*"
grant = "write"

[[soft_point]]
name = "sp.curve"
type = "array"
max_length = 16
initial = [1, 2.5, 3]
unit = "mm"
precision = 2
writable = true
persist = true
TOML

start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 90s
wait_grep 20 "$TMP/weftd.log" "all 3 services ready"
timeout 60 "$PYTHON" "$CLIENT" "$CA_PORT" arr first >"$TMP/client.out" 2>&1 || fail "array client failed"
cat "$TMP/client.out"
running weftd || fail "weftd died"

grep -E "ca: put arr:sp:curve by .*: \[1, 2.5, 3\] -> \[4.5, 5.5\]: ok" "$TMP/weftd.log" ||
  fail "no put-log line for the shorter array"
grep -E "ca: put arr:sp:curve by .*: \[4.5, 5.5\] -> \[0, 1, 2, 3, 4, 5, 6, 7, \.\.\. \(10 elements\)\]: ok" \
  "$TMP/weftd.log" || fail "no compact put-log line for the 10-element array"
grep -E "ca: put arr:sp:curve by raw@test .*: refused \(bad count: 17 elements, at most 16\)" "$TMP/weftd.log" ||
  fail "no put-log line for the refused 17-element write"

# Recorded: every value the point took, as JSON text of kind 4 (the sqlite3 CLI reads it as it is).
want=$'4|[1,2.5,3]\n4|[4.5,5.5]\n4|[0,1,2,3,4,5,6,7,8,9]\n4|[7.25,-1,0.5]'
timeout 10 bash -c 'until [[ $(sqlite3 "$1" "SELECT r.kind, r.value FROM readings r JOIN points p ON p.id = r.point
    WHERE p.name = '"'"'sp.curve'"'"' ORDER BY r.seq") == "$2" ]]; do sleep 0.1; done' _ "$TMP/readings.db" "$want" ||
  fail "the store holds $(sqlite3 "$TMP/readings.db" "SELECT r.kind, r.value FROM readings r JOIN points p ON p.id = r.point WHERE p.name = 'sp.curve' ORDER BY r.seq" | tr '\n' ' '), not the four arrays"
echo "ok: the store holds the four arrays as JSON text (kind 4)"
# Uploaded: the value is a JSON array in the MQTT message.
timeout 10 bash -c 'until grep -qF "\"point\":\"sp.curve\",\"value\":[7.25,-1,0.5]," "$1"; do sleep 0.1; done' _ "$COLLECTED" ||
  fail "no upload message with sp.curve's last array"
grep -qF '"point":"sp.curve","value":[4.5,5.5],' "$COLLECTED" || fail "no upload message with the shorter array"
echo "ok: the uploads carry the arrays as JSON arrays"
grep -qF 'value = [7.25, -1.0, 0.5]' "$TMP/data/ca-soft-points.toml" || fail "the state file does not hold the last array"

note "restart: the persisted array comes back"
stop weftd
mv "$TMP/weftd.log" "$TMP/weftd.first.log"
start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 60s
wait_grep 20 "$TMP/weftd.log" "all 3 services ready"
grep -F "soft point sp.curve restored to [7.25, -1, 0.5]" "$TMP/weftd.log" || fail "no restore line"
timeout 30 "$PYTHON" "$CLIENT" "$CA_PORT" arr restarted >"$TMP/client.out" 2>&1 || fail "array client (after the restart) failed"
cat "$TMP/client.out"
echo "PASS"
