#!/usr/bin/env bash
# ca_gateway against a real upstream: a second weftd serving soft points and
# heartbeat points over CA. The gateway box gathers four of them through
# [[service.ca_gateway.record]] and must:
#   - publish them on its bus with the upstream's values and time stamps
#     (its store's wall_ns equals the upstream store's, exactly; weftctl read);
#   - serve them through its own ca service (pyepics: value, time stamp,
#     units, enum strings equal to the upstream's);
#   - answer a name nobody has as dead after connect_timeout, and repeats
#     from the negative cache without a single new search datagram;
#   - ignore its own ca server's replies (a name only the box itself serves
#     goes dead, the replies counted as loops);
#   - when the upstream is killed (-9): every point stale; restarted on the
#     same port: updating again within 2 s of its first beacon (the disconnect
#     governor is at its 10 s default: only the beacon anomaly's boost is fast).
# Usage: bash ca_gateway.sh <weftd> <weftctl> <client.py> <python3>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
CLIENT=$3
PYTHON=$4
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

need_pyepics "$PYTHON"
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI is not installed: skipped"; exit 77; }
UP=$(ca_port "$PYTHON")
GW=$(ca_port "$PYTHON")
for _ in 1 2 3 4 5; do
  ((GW < UP - 1 || GW > UP + 1)) && break
  GW=$(ca_port "$PYTHON")
done
[[ -n $UP && -n $GW ]] && ((GW < UP - 1 || GW > UP + 1)) || fail "no free ports"

cat >"$TMP/up.toml" <<TOML
[weftd]
stop_grace = "2s"

[store]
path = "$TMP/up.db"

[service.record]

[service.heartbeat]
period = "200ms"
prefix = "hb"

[service.ca]
port = $UP
interfaces = ["127.0.0.1"]
device = "ioc"
repeater_port = $((UP + 1))
beacon_period = "1s"

[[soft_point]]
name = "sp.flow"
type = "number"
initial = 2.5
unit = "l/min"
display_low = 0
display_high = 10

[[soft_point]]
name = "sp.mode"
type = "enum"
strings = ["off", "auto", "manual"]
initial = 1

[[soft_point]]
name = "sp.note"
type = "text"
initial = "hello"
TOML

cat >"$TMP/gw.toml" <<TOML
[weftd]
stop_grace = "2s"

[store]
path = "$TMP/gw.db"

[service.record]

[service.console]
socket = "$TMP/gw.sock"

[service.tap]
pattern = "up.*"

[service.ca]
port = $GW
interfaces = ["127.0.0.1"]
device = "gw"
repeater_port = $((GW + 1))

[service.ca_gateway]
upstream = ["127.0.0.1:$UP", "127.0.0.1:$GW"]   # the second is the box itself: a loop to ignore
beacon_port = $((UP + 1))

[[service.ca_gateway.record]]
name = "ioc:sp:flow"
point = "up.flow"

[[service.ca_gateway.record]]
name = "ioc:sp:mode"
point = "up.mode"

[[service.ca_gateway.record]]
name = "ioc:sp:note"
point = "up.note"

[[service.ca_gateway.record]]
name = "ioc:hb:uptime_s"
point = "up.uptime"
TOML

ctl() { timeout 20 "$WEFTCTL" --socket "$TMP/gw.sock" --timeout 10 --exec "$1"; }
# gw_counter NAME: a number from the `gateway` summary ("NAME 12").
gw_counter() { ctl gateway | tr ' ' '\n' | grep -A1 -x "$1" | tail -1; }

start_bg up "$WEFTD" --config "$TMP/up.toml" --for 120s
wait_grep 15 "$TMP/up.log" "all 3 services ready"
start_bg gw "$WEFTD" --config "$TMP/gw.toml" --for 120s
wait_grep 15 "$TMP/gw.log" "all 5 services ready"

note "the record entries connect and publish"
for p in up.flow up.mode up.note up.uptime; do wait_grep 10 "$TMP/gw.log" "\[tap\] $p = .* \(good\)"; done
ctl "read up.flow" >"$TMP/read.out" || fail "weftctl read up.flow: $(cat "$TMP/read.out")"
grep -qE "2\.5" "$TMP/read.out" && grep -q "good" "$TMP/read.out" || fail "read up.flow: $(cat "$TMP/read.out")"
echo "ok: weftctl read up.flow: 2.5 good"
ctl "gateway pvs active" >"$TMP/pvs.out"
(($(grep -c " active " "$TMP/pvs.out") == 4)) || fail "not 4 active PVs: $(cat "$TMP/pvs.out")"
echo "ok: 4 upstream PVs active"

note "the stores: the gateway's readings carry the upstream's time stamps"
q() { sqlite3 -cmd ".timeout 5000" "$1" "SELECT r.value || '|' || r.wall_ns FROM readings r JOIN points p ON p.id = r.point WHERE p.name = '$2' ORDER BY r.seq LIMIT 1"; }
timeout 10 bash -c "until [[ -n \$(sqlite3 -cmd '.timeout 5000' '$TMP/gw.db' \"SELECT 1 FROM readings r JOIN points p ON p.id = r.point WHERE p.name = 'up.note'\" 2>/dev/null) ]]; do sleep 0.1; done" ||
  fail "no up.note row in the gateway's store"
for pair in sp.flow:up.flow sp.mode:up.mode sp.note:up.note; do
  upv=$(q "$TMP/up.db" "${pair%%:*}")
  gwv=$(q "$TMP/gw.db" "${pair##*:}")
  [[ -n $upv && $upv == "$gwv" ]] || fail "${pair##*:} in the gateway's store is '$gwv', upstream ${pair%%:*} '$upv'"
  echo "ok: ${pair##*:} stored as value|wall_ns $gwv, the upstream's exactly"
done

note "pyepics through the gateway box's own ca service"
timeout 60 "$PYTHON" "$CLIENT" "$UP" "$GW" >"$TMP/client.out" 2>&1 || fail "pyepics client: $(cat "$TMP/client.out")"
cat "$TMP/client.out"

note "a name nobody has: dead, and repeats send no search"
ctl "gateway get ioc:nosuch" >"$TMP/get.out" 2>&1 && fail "gateway get ioc:nosuch succeeded: $(cat "$TMP/get.out")"
grep -q "ioc:nosuch dead" "$TMP/get.out" || fail "ioc:nosuch is not dead: $(cat "$TMP/get.out")"
echo "ok: ioc:nosuch dead after connect_timeout"
before=$(gw_counter search_datagrams)
hits_before=$(gw_counter dead_hits)
for _ in 1 2 3 4 5; do
  ctl "gateway get ioc:nosuch" >"$TMP/get.out" 2>&1 && fail "a repeat succeeded"
  grep -q "(dead)" "$TMP/get.out" || fail "a repeat was not answered from the negative cache: $(cat "$TMP/get.out")"
done
sleep 0.5
after=$(gw_counter search_datagrams)
hits=$(gw_counter dead_hits)
((after == before)) || fail "5 repeats of a dead name sent $((after - before)) search datagrams"
((hits == hits_before + 5)) || fail "dead_hits $hits_before -> $hits, not +5"
echo "ok: 5 repeats answered dead from the negative cache, search datagrams stayed at $after"

note "the box's own ca server is a loop"
ctl "gateway get gw:up:flow" >"$TMP/get.out" 2>&1 && fail "the gateway connected to its own server: $(cat "$TMP/get.out")"
loops=$(gw_counter own_replies_ignored)
((loops > 0)) || fail "no own reply counted (own_replies_ignored $loops)"
echo "ok: gw:up:flow (served only by this box) ignored as a loop: $loops replies, dead"

note "upstream killed: the points go stale"
from=$(lines "$TMP/gw.log")
kill -KILL "${PID_OF[up]}"
wait "${PID_OF[up]}" 2>/dev/null || true
unset "PID_OF[up]"
for p in up.flow up.mode up.note up.uptime; do wait_grep 10 "$TMP/gw.log" "\[tap\] $p = .* \(stale\)" "$from"; done
echo "ok: every point stale after the kill"
ctl "gateway pvs disconnected" >"$TMP/pvs.out"
(($(grep -c " disconnected " "$TMP/pvs.out") == 4)) || fail "not 4 disconnected: $(cat "$TMP/pvs.out")"
sleep 1

note "upstream restarted on the same port: updates within 2 s of its first beacon"
from=$(lines "$TMP/gw.log")
mv "$TMP/up.log" "$TMP/up-first.log"
start_bg up "$WEFTD" --config "$TMP/up.toml" --for 120s
wait_grep 15 "$TMP/up.log" "ca: serving the bus"
for p in up.flow up.uptime; do wait_grep 15 "$TMP/gw.log" "\[tap\] $p = .* \(good\)" "$from"; done
# Log time stamps (one host clock): the upstream's first beacon goes out as its ca service starts.
beacon_at=$(grep -m1 "ca: serving the bus" "$TMP/up.log" | cut -d' ' -f1)
back_at=$(tail -n +"$((from + 1))" "$TMP/gw.log" | grep -m1 -E "\[tap\] up.flow = .* \(good\)" | cut -d' ' -f1)
took=$("$PYTHON" -c "import datetime as d, sys; f=lambda s: d.datetime.fromisoformat(s); print(f'{(f(sys.argv[2]) - f(sys.argv[1])).total_seconds():.3f}')" "$beacon_at" "$back_at")
echo "# first beacon $beacon_at, up.flow good again $back_at: $took s"
"$PYTHON" -c "import sys; sys.exit(0 if float(sys.argv[1]) < 2.0 else 1)" "$took" ||
  fail "up.flow updated again $took s after the upstream's first beacon (more than 2 s)"
grep -q "beacon anomaly from 127.0.0.1:$UP (restarted)" "$TMP/gw.log" || fail "no beacon anomaly logged for the restart"
echo "ok: updating again $took s after the restarted upstream's first beacon"
ctl gateway

running gw || fail "the gateway weftd died"
stop gw
no_service_failure "$TMP/gw.log"
echo "PASS"
