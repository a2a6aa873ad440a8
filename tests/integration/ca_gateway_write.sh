#!/usr/bin/env bash
# ca_gateway stage 2 against a real upstream weftd (soft points as the IOC),
# pyepics (libca) through the gateway box's own ca service:
#   - writes: caput wait=True to gw:up:set changes the upstream's ioc:sp:set
#     (read upstream), a read through the box right after sees it, the put
#     logs of both boxes say ok; a write the upstream's monitor does not
#     report (its mdel) is still seen by a read through the box right after
#     (the gateway reads it back before it answers); a put the upstream refuses (its soft point
#     not writable) fails for the client and the box's put log row names the
#     upstream's ECA_NOWTACCESS, the PV and the server; text and an enum
#     (by its state name) converted;
#   - an upstream array soft point is an array PV on the box (native count,
#     values, an array write through); one above max_array_bytes is refused
#     by the circuit's reader, counted, logged once naming the PV, not published;
#   - `writable = "yes"` is a config error at its file:line;
#   - the upstream killed: a put fails at once, the row says "not connected";
#   - a write on the wire when the circuit is lost (upstream SIGSTOPped with
#     the write unanswered, then killed): the client is answered at once, the
#     row says the circuit ended;
#   - stop with a write on the wire: `stop ca_gateway` answers the client at
#     once; weftd stopped with a write on the wire exits 0, the client answered.
#   - an upstream that answers a WRITE_NOTIFY with an ERROR (tests/peers/ca_error_upstream.py):
#     the client's put fails, the row carries the upstream's ECA_PUTFAIL and text;
# Usage: bash ca_gateway_write.sh <weftd> <weftctl> <client.py> <python3>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
CLIENT=$3
PYTHON=$4
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

"$PYTHON" -c 'import epics' 2>/dev/null || { echo "pyepics is not installed (apt-get install python3-pyepics): skipped"; exit 77; }
UP=$(ca_port "$PYTHON")
GW=$(ca_port "$PYTHON")
for _ in 1 2 3 4 5; do
  ((GW < UP - 1 || GW > UP + 1)) && break
  GW=$(ca_port "$PYTHON")
done
[[ -n $UP && -n $GW ]] && ((GW < UP - 1 || GW > UP + 1)) || fail "no free ports"
FAKE=$(ca_port "$PYTHON")
[[ -n $FAKE ]] && ((FAKE != UP && FAKE != GW && FAKE != UP + 1 && FAKE != GW + 1)) || fail "no free port for the fake"

cat >"$TMP/up.toml" <<TOML
[weftd]
stop_grace = "2s"

[service.ca]
port = $UP
interfaces = ["127.0.0.1"]
device = "ioc"
repeater_port = $((UP + 1))
beacon_period = "1s"
max_array_bytes = 65536

[[service.ca.access]]
pv = "ioc:*"
host = "*"
user = "*"
grant = "write"

[[soft_point]]
name = "sp.set"
type = "number"
initial = 1.0
precision = 2
writable = true

[[soft_point]]
name = "sp.damped"             # a monitor deadband no write here crosses: only the gateway's read-back brings it
type = "number"
initial = 1.0
mdel = 100
writable = true

[[soft_point]]
name = "sp.locked"
type = "number"
initial = 5.0
writable = false

[[soft_point]]
name = "sp.note"
type = "text"
initial = "hello"
writable = true

[[soft_point]]
name = "sp.mode"
type = "enum"
strings = ["off", "auto", "manual"]
initial = 1
writable = true

[[soft_point]]
name = "sp.curve"
type = "array"
max_length = 8
initial = [1.0, 2.5, 3.0]
writable = true

[[soft_point]]
name = "sp.big"               # 3000 doubles now: 24,000 bytes, above the gateway's max_array_bytes (16384)
type = "array"
max_length = 4096
initial = [$(seq -s ', ' 1 3000)]
TOML

gw_config() {  # gw_config WRITABLE_VALUE: the gateway box's config, writable of gw:up:set as given
  cat >"$TMP/gw.toml" <<TOML
[weftd]
stop_grace = "3s"

[service.console]
socket = "$TMP/gw.sock"

[service.tap]
pattern = "up.*"

[service.ca]
port = $GW
interfaces = ["127.0.0.1"]
device = "gw"
repeater_port = $((GW + 1))
write_timeout = "8s"

[[service.ca.access]]
pv = "gw:up:*"
host = "*"
user = "*"
grant = "write"

[service.ca_gateway]
upstream = ["127.0.0.1:$UP", "127.0.0.1:$FAKE"]
beacon_port = $((UP + 1))

[[service.ca_gateway.record]]
name = "ioc:sp:set"
point = "up.set"
writable = $1

[[service.ca_gateway.record]]
name = "ioc:sp:damped"
point = "up.damped"
writable = true

[[service.ca_gateway.record]]
name = "ioc:sp:locked"
point = "up.locked"
writable = true

[[service.ca_gateway.record]]
name = "ioc:sp:note"
point = "up.note"
writable = true

[[service.ca_gateway.record]]
name = "ioc:sp:mode"
point = "up.mode"
writable = true

[[service.ca_gateway.record]]
name = "ioc:sp:curve"
point = "up.curve"
writable = true

[[service.ca_gateway.record]]
name = "ioc:sp:big"
point = "up.big"

[[service.ca_gateway.record]]
name = "fake:set"
point = "up.fake"
writable = true
TOML
}

ctl() { timeout 20 "$WEFTCTL" --socket "$TMP/gw.sock" --timeout 10 --exec "$1"; }
client() { timeout 60 "$PYTHON" "$CLIENT" "$UP" "$GW" "$@"; }
# hold NAME: a put in the background whose upstream never answers (the upstream is stopped); waits
# until the gateway has it on the wire.
hold() {
  start_bg "$1" "$PYTHON" "$CLIENT" "$UP" "$GW" hold
  wait_fixed 15 "$TMP/$1.log" "put sent"
  timeout 10 bash -c "until timeout 20 '$WEFTCTL' --socket '$TMP/gw.sock' --timeout 10 --exec gateway | grep -q 'circuit 127.0.0.1:$UP up .* writes_in_flight 1 '; do sleep 0.05; done" ||
    fail "the gateway has no write in flight: $(ctl gateway)"
}
start_up() {
  start_bg up "$WEFTD" --config "$TMP/up.toml" --for 120s
  wait_grep 15 "$TMP/up.log" "all 1 services? ready|ca: serving the bus"
}
wait_good() { for p in up.set up.damped up.locked up.note up.mode up.curve; do wait_grep 15 "$TMP/gw.log" "\[tap\] $p = .* \(good\)" "${1:-0}"; done; }

note "writable must be a bool: a config error at its file:line"
gw_config '"yes"'
set +e
timeout 20 "$WEFTD" --check-config "$TMP/gw.toml" >"$TMP/check.out" 2>&1
rc=$?
set -e
((rc != 0)) || fail "weftd --check accepted writable = \"yes\": $(cat "$TMP/check.out")"
line=$(grep -n 'writable = "yes"' "$TMP/gw.toml" | cut -d: -f1)
grep -qE "gw\.toml:$line.*writable" "$TMP/check.out" || fail "the error does not name gw.toml:$line and writable: $(cat "$TMP/check.out")"
echo "ok: writable = \"yes\" refused at gw.toml:$line: $(grep -m1 writable "$TMP/check.out")"

gw_config true
start_bg fake "$PYTHON" "$(dirname "${BASH_SOURCE[0]}")/../peers/ca_error_upstream.py" "$FAKE" fake:set
wait_grep 10 "$TMP/fake.log" "^listening"
FAKE_TCP=$(grep -m1 "^listening" "$TMP/fake.log" | cut -d' ' -f5)
start_up
start_bg gw "$WEFTD" --config "$TMP/gw.toml" --for 120s
wait_grep 15 "$TMP/gw.log" "all 4 services ready"
wait_good

note "an upstream array above max_array_bytes: refused by the circuit's reader, counted, logged once with its PV"
wait_grep 5 "$TMP/gw.log" "ca_gateway: 127.0.0.1:$UP: a message of 24[0-9]{3} payload bytes \(a (monitor update|read reply) of ioc:sp:big\) is above the limits"
refused=$(ctl gateway | grep "circuit 127.0.0.1:$UP " | grep -o "refused [0-9]*" | cut -d' ' -f2)
((refused >= 2)) || fail "the circuit counted $refused refused messages, not >= 2 (the TIME update, the CTRL update and read)"
(($(count_fixed "$TMP/gw.log" "above the limits") == 1)) || fail "the refusal was logged more than once"
grep -q "\[tap\] up.big" "$TMP/gw.log" && fail "the oversized array was published"
ctl "gateway pvs active" | grep -q "^ioc:sp:big active" || fail "ioc:sp:big is not active: $(ctl "gateway pvs active")"
echo "ok: ioc:sp:big (24,000 bytes) refused $refused times, logged once, not published; the circuit goes on"

note "writes through the gateway; an upstream array as an array PV"
client writes >"$TMP/client.out" 2>&1 || fail "pyepics writes: $(cat "$TMP/client.out")"
cat "$TMP/client.out"
wait_grep 5 "$TMP/gw.log" "ca: put gw:up:set by .*: 1.00 -> 7.50: ok"
wait_grep 5 "$TMP/up.log" "ca: put ioc:sp:set by weft@.*: 1.00 -> 7.50: ok"
echo "ok: both put logs: gw:up:set 1.00 -> 7.50 ok (the upstream's row is the gateway's, user weft; PREC 2 carried)"
wait_fixed 5 "$TMP/gw.log" "-> 9: failed: ca_gateway: the upstream refused the write: ECA_NOWTACCESS (Write access denied) (PV ioc:sp:locked, upstream 127.0.0.1:$UP)"
grep -F "ca: put gw:up:locked" "$TMP/gw.log" | tail -1
echo "ok: the refused write's put log row names ECA_NOWTACCESS, the PV and the upstream"
wait_grep 5 "$TMP/gw.log" "ca: put gw:up:curve by .*: \[1, 2.5, 3\] -> \[4, 5, 6, 7, 8\]: ok"
echo "ok: the array write's row"

wait_grep 5 "$TMP/gw.log" "ca: put gw:up:fake .*-> 1.00: failed: ca_gateway: the upstream refused the write: ECA_PUTFAIL .* for WRITE_NOTIFY .*: record is disabled \(test peer\) \(PV fake:set, upstream 127.0.0.1:$FAKE_TCP\)"
grep -q "refused a write" "$TMP/fake.log" || fail "the write never reached the fake upstream"
echo "ok: an upstream's ERROR for the WRITE_NOTIFY: the row carries its ECA_PUTFAIL and text"

note "the upstream killed: a write fails at once"
from=$(lines "$TMP/gw.log")
kill -KILL "${PID_OF[up]}"
wait "${PID_OF[up]}" 2>/dev/null || true
unset "PID_OF[up]"
wait_grep 10 "$TMP/gw.log" "\[tap\] up.set = .* \(stale\)" "$from"
client disconnected >"$TMP/client.out" 2>&1 || fail "pyepics disconnected: $(cat "$TMP/client.out")"
cat "$TMP/client.out"
wait_grep 5 "$TMP/gw.log" "ca: put gw:up:set .*-> 2.00: failed: ca_gateway: not connected upstream \(disconnected for [0-9.]+ s\); the write was not sent \(PV ioc:sp:set, upstream 127.0.0.1:$UP\)" "$from"
echo "ok: its row: not connected upstream (disconnected), not sent"

note "a circuit lost with a write on the wire: answered at once"
mv "$TMP/up.log" "$TMP/up-1.log"
from=$(lines "$TMP/gw.log")
start_up
wait_good "$from"
kill -STOP "${PID_OF[up]}"
hold held
from=$(lines "$TMP/gw.log")
t0=$(date +%s.%N)
kill -KILL "${PID_OF[up]}"
wait "${PID_OF[up]}" 2>/dev/null || true
unset "PID_OF[up]"
wait_grep 10 "$TMP/held.log" "^outcome "
grep -q "^outcome $((160)) " "$TMP/held.log" || fail "the held put's outcome is not ECA_PUTFAIL: $(cat "$TMP/held.log")"
"$PYTHON" -c "import sys, time; sys.exit(0 if time.time() - float(sys.argv[1]) < 3.0 else 1)" "$t0" ||
  fail "the held put was answered more than 3 s after the upstream was killed"
wait_grep 5 "$TMP/gw.log" "ca: put gw:up:set .*-> 11.00: failed: ca_gateway: the circuit ended \(.*\) with the write on the wire \(the upstream may have applied it\) \(PV ioc:sp:set, upstream 127.0.0.1:$UP\)" "$from"
echo "ok: the client's put failed (ECA_PUTFAIL) at once after the kill; the row says the circuit ended with it on the wire"

note "stop ca_gateway with a write on the wire: the asker is answered"
mv "$TMP/up.log" "$TMP/up-2.log"
from=$(lines "$TMP/gw.log")
start_up
wait_good "$from"
kill -STOP "${PID_OF[up]}"
hold held2
from=$(lines "$TMP/gw.log")
ctl "stop ca_gateway" >/dev/null
wait_grep 10 "$TMP/held2.log" "^outcome "
grep -q "^outcome 160 " "$TMP/held2.log" || fail "the held put's outcome is not ECA_PUTFAIL: $(cat "$TMP/held2.log")"
"$PYTHON" -c "import sys; sys.exit(0 if float(sys.argv[1]) < 3.0 else 1)" "$(grep "^outcome" "$TMP/held2.log" | cut -d' ' -f3)" ||
  fail "the held put was answered only after $(grep "^outcome" "$TMP/held2.log" | cut -d' ' -f3) s (the box's write_timeout is 8 s)"
wait_grep 5 "$TMP/gw.log" "ca: put gw:up:set .*-> 11.00: failed: ca_gateway: ca_gateway stopped with the write on the wire" "$from"
echo "ok: stop ca_gateway answered the held put ($(cut -d' ' -f2- "$TMP/held2.log" | tail -1))"
ctl "start ca_gateway" >/dev/null
kill -CONT "${PID_OF[up]}"
wait_good "$from"

note "weftd stopped with a write on the wire: the client answered, exit 0"
kill -STOP "${PID_OF[up]}"
hold held3
kill -TERM "${PID_OF[gw]}"
wait_exit gw 15
((EXIT_STATUS == 0)) || fail "the gateway weftd exited $EXIT_STATUS"
wait_grep 10 "$TMP/held3.log" "^outcome "
# The ca service has the gateway's answer (its put log row); the client gets it as ECA_PUTFAIL or, when
# ca's circuit closes in the same instant, as the disconnect (ECA_DISCONN 192): never no answer.
grep -qE "^outcome (160|192) " "$TMP/held3.log" || fail "the held put got no answer or an odd one: $(cat "$TMP/held3.log")"
row=$(grep -E "ca: put gw:up:set .*-> 11.00: failed: .*stopped" "$TMP/gw.log" | tail -1)
[[ -n $row ]] || fail "no put log row for the write held over the stop"
echo "$row"
echo "ok: weftd exited 0 with a write on the wire; the client's put: $(tail -1 "$TMP/held3.log")"
kill -CONT "${PID_OF[up]}"
no_service_failure "$TMP/gw.log"
stop up
stop fake
echo "PASS"
