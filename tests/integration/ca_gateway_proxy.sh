#!/usr/bin/env bash
# Downstream search proxying (issue 14): a real upstream weftd serving soft
# points and heartbeat points over CA as "ioc:*", and the gateway box with
# [service.ca_gateway] proxy = ["ioc:*"]. Clients see the box only
# (EPICS_CA_ADDR_LIST = the box, EPICS_CA_AUTO_ADDR_LIST = NO) and must:
#   - get the first caget of an upstream name on the first try (the box
#     holds the search until the upstream channel is connected; the time it
#     took is printed), with the upstream's units and enum strings;
#   - get no answer for an unknown name that matches the pattern, NOT_FOUND
#     only to DO_REPLY (after connect_timeout, then from the negative cache);
#   - create a channel for a name never searched over UDP (CREATE_CHAN alone,
#     as EPICS_CA_NAME_SERVERS clients do), CREATE_CH_FAIL for an unknown one;
#   - two monitoring clients: one upstream channel for the name;
#   - upstream killed (-9): the monitors see the disconnect; restarted on the
#     same port: both monitors through the box resume (time printed);
#   - the last client gone: the name goes inactive in the gateway's table;
#   - a flood of searches for names nobody has fills the table (max_pvs):
#     a real name asked for next is still found (a dead name gives way).
# Usage: bash ca_gateway_proxy.sh <weftd> <weftctl> <client.py> <python3>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
CLIENT=$3
PYTHON=$4
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

need_pyepics "$PYTHON"
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

[service.console]
socket = "$TMP/up.sock"

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

[[soft_point]]
name = "sp.mode"
type = "enum"
strings = ["off", "auto", "manual"]
initial = 1

[[soft_point]]
name = "sp.note"
type = "text"
initial = "hello"

[[soft_point]]
name = "sp.extra"
initial = 7
TOML

cat >"$TMP/gw.toml" <<TOML
[weftd]
stop_grace = "2s"

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
inactive_timeout = "1h"
max_pvs = 40
TOML

ctl() { timeout 20 "$WEFTCTL" --socket "$TMP/gw.sock" --timeout 10 --exec "$1"; }
upctl() { timeout 20 "$WEFTCTL" --socket "$TMP/up.sock" --timeout 10 --exec "$1"; }

note "a bad proxy pattern is a config error at its file:line"
sed 's/^proxy = .*/proxy = ["ioc:*", "ioc:[ab"]/' "$TMP/gw.toml" >"$TMP/bad.toml"
line=$(grep -n '^proxy' "$TMP/bad.toml" | cut -d: -f1)
status=0
"$WEFTD" --check-config "$TMP/bad.toml" >"$TMP/bad.out" 2>&1 || status=$?
((status == 2)) || fail "--check-config of a bad pattern exited $status: $(cat "$TMP/bad.out")"
grep -q "bad.toml:$line" "$TMP/bad.out" && grep -q "ioc:\[ab' has a '\[' without its '\]'" "$TMP/bad.out" ||
  fail "the error does not name bad.toml:$line and the pattern: $(cat "$TMP/bad.out")"
echo "ok: $(grep -m1 "bad.toml:$line" "$TMP/bad.out")"

start_bg up "$WEFTD" --config "$TMP/up.toml" --for 150s
wait_grep 15 "$TMP/up.log" "all 3 services ready"
start_bg gw "$WEFTD" --config "$TMP/gw.toml" --for 150s
wait_grep 15 "$TMP/gw.log" "all 3 services ready"
ctl gateway | grep -q "proxy patterns 1 " || fail "the gateway does not show its proxy pattern: $(ctl gateway)"

note "first caget through the box, unknown names, CREATE_CHAN without a search"
timeout 60 "$PYTHON" "$CLIENT" first "$GW" >"$TMP/first.out" 2>&1 || fail "client: $(cat "$TMP/first.out")"
grep -v "^CA.Client.Exception\|^ *Warning\|^ *Context\|^ *Source File\|^ *Current Time\|^\.\.\.\.\|^$" "$TMP/first.out"

note "repeats of a dead name: NOT_FOUND from the negative cache, no upstream search"
gw_counter() { ctl gateway | tr ' ' '\n' | grep -A1 -x "$1" | tail -1; }
before=$(gw_counter search_datagrams)
hits_before=$(gw_counter dead_hits)
for i in 1 2 3 4 5; do
  "$PYTHON" "$CLIENT" held "$GW" ioc:nosuch:b search 3 >"$TMP/rep.out" 2>&1
  grep -q "^answer \[14\]" "$TMP/rep.out" || fail "repeat $i of dead ioc:nosuch:b: $(cat "$TMP/rep.out")"
done
sleep 0.5
after=$(gw_counter search_datagrams)
hits=$(gw_counter dead_hits)
((after == before)) || fail "5 DO_REPLY searches of a dead name sent $((after - before)) upstream search datagrams"
((hits == hits_before + 5)) || fail "dead_hits $hits_before -> $hits, not +5"
echo "ok: 5 repeats: NOT_FOUND each, dead_hits +5, upstream search datagrams stayed at $after"

note "two monitoring clients, one upstream channel"
rm -f "$TMP/stop"
start_bg mon1 "$PYTHON" "$CLIENT" monitor "$GW" "$TMP/mon1.txt" 90 "$TMP/stop"
start_bg mon2 "$PYTHON" "$CLIENT" monitor "$GW" "$TMP/mon2.txt" 90 "$TMP/stop"
for m in mon1 mon2; do
  timeout 15 bash -c "until (( \$(grep -c '^update' '$TMP/$m.txt' 2>/dev/null || echo 0) >= 3 )); do sleep 0.1; done" ||
    fail "$m got fewer than 3 updates: $(cat "$TMP/$m.txt" 2>/dev/null)"
done
echo "ok: both monitors update through the box"
ctl "gateway pvs active" >"$TMP/pvs.out"
grep -q "^ioc:hb:uptime_s active" "$TMP/pvs.out" || fail "ioc:hb:uptime_s not active: $(cat "$TMP/pvs.out")"
upctl "ca clients" >"$TMP/upclients.out"
# The gateway is the upstream's only client (user weft): one channel per name it was asked for, whatever the
# number of downstream clients: ioc:sp:extra, ioc:sp:flow, ioc:sp:mode, ioc:sp:note, ioc:hb:uptime_s, each with its
# TIME and CTRL subscription (the dead names have none).
grep -E "weft@" "$TMP/upclients.out" >"$TMP/weft.line" || fail "the gateway is not a client upstream: $(cat "$TMP/upclients.out")"
grep -qE "\b5 channels, 10 subscriptions\b" "$TMP/weft.line" || fail "upstream channels of the gateway: $(cat "$TMP/upclients.out")"
echo "ok: upstream: $(cat "$TMP/weft.line")"

note "upstream killed: the monitors see the disconnect"
kill -KILL "${PID_OF[up]}"
wait "${PID_OF[up]}" 2>/dev/null || true
unset "PID_OF[up]"
for m in mon1 mon2; do
  timeout 15 bash -c "until grep -q '^conn .* 0$' '$TMP/$m.txt'; do sleep 0.1; done" ||
    fail "$m saw no disconnect: $(tail -5 "$TMP/$m.txt")"
done
echo "ok: both monitors disconnected"
# A disconnected name has no connect deadline upstream: the box's own hold time (connect_timeout) ends the wait.
"$PYTHON" "$CLIENT" held "$GW" ioc:sp:flow search 5 >"$TMP/held.out" 2>&1
grep -qE "^answer \[14\] after (0\.9|1\.|2\.)" "$TMP/held.out" ||
  fail "a DO_REPLY search for the disconnected ioc:sp:flow: $(cat "$TMP/held.out") (NOT_FOUND after ~1 s expected)"
echo "ok: a DO_REPLY search for the disconnected ioc:sp:flow: NOT_FOUND when the box's hold ended ($(grep answer "$TMP/held.out"))"

note "upstream restarted on the same port: the monitors resume"
mv "$TMP/up.log" "$TMP/up-first.log"
restart_at=$("$PYTHON" -c 'import time; print(f"{time.time():.3f}")')
start_bg up "$WEFTD" --config "$TMP/up.toml" --for 100s
wait_grep 15 "$TMP/up.log" "all 3 services ready"
for m in mon1 mon2; do
  timeout 20 bash -c "until awk -v t=$restart_at '\$1==\"update\" && \$2>t' '$TMP/$m.txt' | grep -q .; do sleep 0.1; done" ||
    fail "$m got no update after the restart: $(tail -8 "$TMP/$m.txt")"
  back=$(awk -v t="$restart_at" '$1=="update" && $2>t {print $2; exit}' "$TMP/$m.txt")
  took=$("$PYTHON" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$restart_at" "$back")
  echo "# $m: first update after the restart ${took} s after the upstream was started again"
done
echo "ok: both monitors resumed"

note "the clients gone: the name is inactive upstream-side (still connected, nobody holds it)"
touch "$TMP/stop"
wait_exit mon1 20
wait_exit mon2 20
deadline=$((SECONDS + 10))
until ctl "gateway pvs inactive" | grep -q "^ioc:hb:uptime_s inactive"; do
  ((SECONDS < deadline)) || fail "ioc:hb:uptime_s not inactive: $(ctl 'gateway pvs')"
  sleep 0.2
done
echo "ok: ioc:hb:uptime_s inactive once its last downstream channel closed"
ctl gateway

note "a flood of searches for names nobody has: the table at max_pvs, a real name still found"
"$PYTHON" "$CLIENT" flood "$GW" 60 >"$TMP/flood.out" 2>&1 || fail "flood: $(cat "$TMP/flood.out")"
deadline=$((SECONDS + 15))
until ctl gateway | grep -qE "^pvs 40: connecting 0 "; do  # full, the flood's names dead
  ((SECONDS < deadline)) || fail "the flood did not fill the table: $(ctl gateway | head -2)"
  sleep 0.2
done
"$PYTHON" "$CLIENT" held "$GW" ioc:weft:ca:searches search 5 >"$TMP/real.out" 2>&1
grep -q "^answer \[6\]" "$TMP/real.out" ||
  fail "ioc:weft:ca:searches after the flood: $(cat "$TMP/real.out") (a search reply expected); $(ctl gateway | head -2)"
(($(gw_counter evicted_dead) >= 1)) || fail "no dead name gave way: $(ctl gateway | head -2)"
echo "ok: after 60 names nobody has, ioc:weft:ca:searches found ($(grep answer "$TMP/real.out")), evicted_dead $(gw_counter evicted_dead)"

running gw || fail "the gateway weftd died"
stop gw
no_service_failure "$TMP/gw.log"
echo "PASS"
