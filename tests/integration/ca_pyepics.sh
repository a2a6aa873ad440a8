#!/usr/bin/env bash
# The ca service against real libca (pyepics from Debian): a weftd with
# heartbeat and ca on a free loopback port; ca_pyepics_client.py runs caget,
# monitors, a refused caput and hostile raw-socket input, then weftd must
# still be running with no service failure.
# The console's `ca` command then lists the circuits and the squashed updates.
# Usage: bash ca_pyepics.sh <weftd> <weftctl> <client.py> <python3>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
CLIENT=$3
PYTHON=$4
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

need_pyepics "$PYTHON"
ca_box_config "$PYTHON" 100ms itest

# A stand-in for caRepeater on the repeater port catches the beacons.
start_bg repeater "$PYTHON" "$(dirname "$CLIENT")/ca_fake_repeater.py" $((PORT + 1)) 4
wait_grep 10 "$TMP/repeater.log" "listening"
note "weftd serves CA on 127.0.0.1:$PORT"
start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 90s --log-level debug
wait_grep 15 "$TMP/weftd.log" "ca: serving the bus"
wait_grep 15 "$TMP/weftd.log" "all 3 services ready"
sleep 0.3  # a first heartbeat: the PVs appear as their points are first published

timeout 60 "$PYTHON" "$CLIENT" "$PORT" itest >"$TMP/client.out" 2>&1 || fail "pyepics client failed: $(cat "$TMP/client.out")"
cat "$TMP/client.out"
running weftd || fail "weftd died"
timeout 20 "$WEFTCTL" --socket "$TMP/weftd.sock" --timeout 10 --exec ca >"$TMP/ctl.out" 2>&1 || fail "weftctl ca: $(cat "$TMP/ctl.out")"
cat "$TMP/ctl.out"
grep -qE "^ca: port $PORT \(TCP $PORT\), [0-9]+ PVs, [0-9]+ circuits; [1-9][0-9]* searches" "$TMP/ctl.out" || fail "ca summary line missing"
# The second of EVENTS_OFF squashed the changes it missed (about 10, all but the first due one).
grep -qE "malformed messages, ([5-9]|[1-9][0-9]+) updates squashed" "$TMP/ctl.out" || fail "expected >= 5 squashed updates"
timeout 20 "$WEFTCTL" --socket "$TMP/weftd.sock" --timeout 10 --exec "ca pv itest:box:uptime_s" >"$TMP/ctl.out" 2>&1 || fail "weftctl ca pv: $(cat "$TMP/ctl.out")"
cat "$TMP/ctl.out"
grep -qE "^itest:box:uptime_s: DOUBLE [0-9.]+ \(NO_ALARM NO_ALARM\)" "$TMP/ctl.out" || fail "ca pv line missing"
grep -q "payload size 4294967280 above the limit" "$TMP/weftd.log" || fail "no log line for the 4 GiB claim"
grep -E "\[ca\].*(error|exception|restart)" "$TMP/weftd.log" && fail "the ca service failed"
# Beacons: IDs 0, 1, 2... with our TCP port and minor 13, the interval
# doubling from 20 ms (20, 40, 80, 160, 320, 640, 1280 ms: 7 within 4 s).
wait_exit repeater 20
cat "$TMP/repeater.log"
mapfile -t beacons < <(grep '^beacon ' "$TMP/repeater.log")
((${#beacons[@]} >= 6)) || fail "expected >= 6 beacons within 4 s, got ${#beacons[@]}"
grep -q '^other' "$TMP/repeater.log" && fail "something other than beacons reached the repeater port"
for i in "${!beacons[@]}"; do
  read -r _ id port minor _ <<<"${beacons[$i]}"
  [[ $id == "$i" && $port == "$PORT" && $minor == 13 ]] || fail "beacon $i: '${beacons[$i]}' (want id $i, port $PORT, minor 13)"
done
# The gaps grow: each at least 1.5x the one before, until the 4 s window ends.
"$PYTHON" - "${beacons[@]}" <<'PY' || fail "beacon intervals do not back off"
import sys
t = [float(b.split()[4]) for b in sys.argv[1:]]
gaps = [b - a for a, b in zip(t, t[1:])]
print("beacon gaps (s):", " ".join(f"{g:.3f}" for g in gaps))
sys.exit(0 if all(b > 1.5 * a for a, b in zip(gaps[1:], gaps[2:])) else 1)
PY
echo "PASS"
