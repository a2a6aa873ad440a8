#!/usr/bin/env bash
# The stop paths of downstream search proxying, each at its worst moment,
# with the gateway box under valgrind (any read of freed memory fails it):
#   A. `stop ca_gateway` while the box holds a DO_REPLY search and a
#      CREATE_CHAN for a name the gateway is still looking for, and a client
#      monitors a proxied name: the search gets NOT_FOUND and the create
#      CREATE_CH_FAIL at once (not at connect_timeout), the monitor sees its
#      channel disconnected; while the gateway is stopped a proxied name is
#      not served (NOT_FOUND to DO_REPLY at once); `start ca_gateway`: the
#      monitor resumes.
#   B. `stop ca` while the gateway holds the monitor's name for it and still
#      has to resolve a held search: the gateway releases the name (inactive)
#      and forgets what the stopped ca asked for (consumer_gone), so the
#      name's death later calls nothing; `start ca`: the monitor resumes; a
#      restart of ca with a search held: the name dies, the new run serves.
#   The box then exits 0 on SIGTERM with no valgrind error.
# Usage: bash ca_gateway_proxy_stop.sh <weftd> <weftctl> <client.py> <python3>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
CLIENT=$3
PYTHON=$4
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
need_pyepics "$PYTHON"
memcheck_prefix "$WEFTD"  # valgrind, or an ASan weftd bare

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
initial = 2.5
TOML

cat >"$TMP/gw.toml" <<TOML
[weftd]
stop_grace = "5s"
hang_threshold = "60s"   # valgrind is slow: no hang verdict on a loaded machine
stall_threshold = "5s"

[service.console]
socket = "$TMP/gw.sock"

[service.ca]
port = $GW
interfaces = ["127.0.0.1"]
device = "gw"
repeater_port = $((GW + 1))

[service.ca_gateway]
upstream = ["127.0.0.1:$UP"]
beacon_port = $((UP + 1))
proxy = ["ioc:*"]
connect_timeout = "6s"   # the window in which a request for a name nobody has is held
TOML

ctl() { timeout 60 "$WEFTCTL" --socket "$TMP/gw.sock" --timeout 50 --exec "$1"; }
# wait_ctl SECONDS COMMAND ERE: until the command's answer has a line matching ERE.
wait_ctl() {
  local deadline=$((SECONDS + $1))
  until ctl "$2" 2>/dev/null | grep -qE -- "$3"; do
    ((SECONDS < deadline)) || fail "'$2' never showed /$3/: $(ctl "$2" 2>&1)"
    sleep 0.2
  done
}
# answer_of NAME: the "answer [...] after S s" line of a held client, once it exited.
answer_of() {
  wait_exit "$1" 40
  grep "^answer" "$TMP/$1.log" || fail "$1 printed no answer: $(cat "$TMP/$1.log")"
}
# updates_after FILE T: monitor updates in FILE after wall time T.
updates_after() { awk -v t="$2" '$1=="update" && $2>t' "$1" | wc -l; }
now() { "$PYTHON" -c 'import time; print(f"{time.time():.3f}")'; }

start_bg up "$WEFTD" --config "$TMP/up.toml" --for 200s
wait_grep 15 "$TMP/up.log" "all 2 services ready"
start_bg gw "${MEMCHECK[@]}" "$WEFTD" --config "$TMP/gw.toml" --for 200s
wait_grep 90 "$TMP/gw.log" "all 3 services ready"

rm -f "$TMP/stop"
start_bg mon "$PYTHON" "$CLIENT" monitor "$GW" "$TMP/mon.txt" 180 "$TMP/stop"
timeout 60 bash -c "until (( \$(grep -c '^update' '$TMP/mon.txt' 2>/dev/null || echo 0) >= 3 )); do sleep 0.2; done" ||
  fail "the monitor got fewer than 3 updates through the box: $(cat "$TMP/mon.txt" 2>/dev/null)"
echo "ok: a monitor of ioc:hb:uptime_s through the box"

note "A: stop ca_gateway with a search and a create held"
start_bg s1 "$PYTHON" "$CLIENT" held "$GW" ioc:absent:1 search 30
start_bg c1 "$PYTHON" "$CLIENT" held "$GW" ioc:absent:2 create 30
wait_ctl 20 gateway "waiting 2$"
ctl "stop ca_gateway" >/dev/null
a1=$(answer_of s1)
a2=$(answer_of c1)
echo "# search: $a1; create: $a2"
[[ $a1 == "answer [14] "* ]] || fail "the held DO_REPLY search got '$a1', not NOT_FOUND (14)"
[[ $a2 == "answer [26] "* ]] || fail "the held create got '$a2', not CREATE_CH_FAIL (26)"
for a in "$a1" "$a2"; do
  "$PYTHON" -c "import sys; sys.exit(0 if float(sys.argv[1].split()[-2]) < 5.5 else 1)" "$a" ||
    fail "'$a': answered at connect_timeout, not by the stop"
done
echo "ok: the stop answered both held requests (NOT_FOUND, CREATE_CH_FAIL) before connect_timeout"
timeout 30 bash -c "until grep -q '^conn .* 0$' '$TMP/mon.txt'; do sleep 0.1; done" ||
  fail "the monitor saw no disconnect when the gateway stopped: $(tail -5 "$TMP/mon.txt")"
echo "ok: the monitor's channel was disconnected"
start_bg s2 "$PYTHON" "$CLIENT" held "$GW" ioc:sp:flow search 10
a=$(answer_of s2)
[[ $a == "answer [14] "* ]] || fail "with the gateway stopped, a DO_REPLY search for ioc:sp:flow got '$a'"
echo "ok: gateway stopped: ioc:sp:flow is not served ($a)"
t=$(now)
ctl "start ca_gateway" >/dev/null
timeout 60 bash -c "until (( \$(awk -v t=$t '\$1==\"update\" && \$2>t' '$TMP/mon.txt' | wc -l) >= 2 )); do sleep 0.2; done" ||
  fail "the monitor did not resume after start ca_gateway: $(tail -5 "$TMP/mon.txt")"
echo "ok: the monitor resumed after start ca_gateway"

note "B: stop ca with the monitor's name held and a search still to resolve"
start_bg s3 "$PYTHON" "$CLIENT" held "$GW" ioc:absent:3 search 4
wait_ctl 20 gateway "waiting 1$"
ctl "stop ca" >/dev/null
ctl gateway >"$TMP/gw_after_stop.out"
ctl "gateway pvs connecting" >"$TMP/pvs_after_stop.out"
grep -q "^ioc:absent:3 connecting" "$TMP/pvs_after_stop.out" ||
  fail "ioc:absent:3 is no longer connecting: too late to see what the stop did ($(cat "$TMP/pvs_after_stop.out"))"
grep -qE "waiting 0$" "$TMP/gw_after_stop.out" ||
  fail "ca stopped, yet the gateway still waits to answer it: $(grep proxy "$TMP/gw_after_stop.out")"
echo "ok: ca stopped: the gateway forgot the held search at once (ioc:absent:3 still connecting upstream)"
wait_ctl 20 "gateway pvs inactive" "^ioc:hb:uptime_s inactive"
echo "ok: ca stopped: the gateway released ioc:hb:uptime_s (inactive)"
wait_ctl 30 "gateway pvs dead" "^ioc:absent:3 dead"
wait_ctl 10 gateway "waiting 0$"
echo "ok: the held name died with no ca to tell (nothing called)"
wait_exit s3 20
t=$(now)
ctl "start ca" >/dev/null
timeout 60 bash -c "until (( \$(awk -v t=$t '\$1==\"update\" && \$2>t' '$TMP/mon.txt' | wc -l) >= 2 )); do sleep 0.2; done" ||
  fail "the monitor did not resume after start ca: $(tail -5 "$TMP/mon.txt")"
echo "ok: the monitor resumed after start ca"
start_bg s4 "$PYTHON" "$CLIENT" held "$GW" ioc:absent:4 search 4
wait_ctl 20 gateway "waiting 1$"
ctl "restart ca" >/dev/null
wait_ctl 30 "gateway pvs dead" "^ioc:absent:4 dead"
wait_exit s4 20
ctl "ca" >/dev/null  # the new run serves
echo "ok: a restart of ca with a search held: the old run's resolution went nowhere"

touch "$TMP/stop"
wait_exit mon 30
running gw || fail "the box died: $(tail -20 "$TMP/gw.log")"
kill -TERM "${PID_OF[gw]}"
wait_exit gw 90
((EXIT_STATUS == 0)) ||
  fail "the box ${MEMCHECK[*]:+under valgrind }exited $EXIT_STATUS (9: valgrind found errors; 134: ASan): $(grep -B2 -A20 'Invalid\|uninit\|ERROR: AddressSanitizer' "$TMP/valgrind.txt" "$TMP/gw.log" 2>/dev/null | head -60)"
no_service_failure "$TMP/gw.log"
echo "PASS"
