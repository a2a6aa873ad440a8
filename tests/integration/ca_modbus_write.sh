#!/usr/bin/env bash
# CA writes to Modbus points, end to end: pyepics/libca -> weftd's ca ->
# gather's bus owner -> the libmodbus RTU server on a socat pty. The
# register changes in the server (its own log says what it was set to), a
# read straight after the put sees the device's read-back, the put log has
# a row per attempt in the store (read with the sqlite3 CLI); a value out
# of range, a Modbus exception and a mute device each give ECA_PUTFAIL; a
# point that is not writable gives ECA_NOWTACCESS (and a row). Then a stop
# (SIGTERM) while a WRITE_NOTIFY waits for a mute device: the client gets
# an answer or a clean disconnect, weftd exits 0 promptly.
# `ca puts` on the console lists the last attempts. The points' metadata
# from the config (limits, description, a coil's states) reach DBR_CTRL, the
# alarm limits give the severity, and a reload that changes a unit reaches
# a DBE_PROPERTY monitor.
# Usage: bash ca_modbus_write.sh <weftd> <modbus_rtu_server> <client.py> <python3> <weftctl>
set -euo pipefail
WEFTD=$1
SERVER=$2
CLIENT=$3
PYTHON=$4
WEFTCTL=$5
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

need_pyepics "$PYTHON"
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI is not installed: skipped"; exit 77; }
PORT=$(ca_port "$PYTHON")
[[ -n $PORT ]] || fail "no free port"

# write_config FILE RESPONSE_TIMEOUT RETRIES WRITE_TIMEOUT
write_config() {
  mkdir -p "$TMP/lock"
  cat >"$1" <<TOML
[weftd]
log_level = "info"
stop_grace = "2s"

[store]
path = "$TMP/box.db"

[service.record]

[service.console]
socket = "$TMP/weftd.sock"

[service.gather]
lock_dir = "$TMP/lock"

[service.ca]
port = $PORT
interfaces = ["127.0.0.1"]
device = "mb"
repeater_port = $((PORT + 1))
write_timeout = "$4"

[[service.ca.access]]
pv = "mb:*"
grant = "write"

[[serial]]
name = "plc_bus"
path = "$TMP/pty/a"
baud = 19200
parity = "E"
response_timeout = "$2"
retries = $3
reopen_min = "100ms"
reopen_max = "400ms"

[[instrument]]
name = "plc"
port = "plc_bus"
unit = 17
period = "2s"

  [[instrument.point]]
  name = "h100"
  table = "holding"
  address = 100

  [[instrument.point]]
  name = "h106"
  table = "holding"
  address = 106
  scale = 0.1
  unit = "degC"
  precision = 1
  description = "boiler setpoint"
  display_low = 0
  display_high = 200
  control_low = 1
  control_high = 180
  lolo = 2
  low = 5
  high = 120
  hihi = 150
  writable = true

  [[instrument.point]]
  name = "h107"
  table = "holding"
  address = 107
  scale = 0.1
  writable = true

  [[instrument.point]]
  name = "coil1"
  table = "coil"
  address = 1
  states = ["off", "on"]
  writable = true  # coil1

# h108 on its own instrument, polled fast, for the monitor-order burst
# (phase 1c): polls and write read-backs interleave on the bus.
[[instrument]]
name = "fast"
port = "plc_bus"
unit = 17
period = "100ms"

  [[instrument.point]]
  name = "h108"
  table = "holding"
  address = 108
  writable = true

[[instrument]]
name = "bad"
port = "plc_bus"
unit = 17
period = "2s"

  [[instrument.point]]
  name = "h200"
  table = "holding"
  address = 200
  writable = true

[[serial]]
name = "mute_bus"
path = "$TMP/pty2/a"
baud = 19200
parity = "E"
response_timeout = "$2"
retries = $3
reopen_min = "100ms"
reopen_max = "400ms"

[[instrument]]
name = "mute"
port = "mute_bus"
unit = 17
period = "2s"

  [[instrument.point]]
  name = "h100"
  table = "holding"
  address = 100
  writable = true
TOML
}

start_socat socat "$TMP/pty"
start_bg server "$SERVER" "$TMP/pty/b" 19200 E 17
wait_grep 5 "$TMP/server.log" "^ready"
# The mute device: a bus of its own whose server receives and never answers
# (libmodbus as a server on a shared bus swallows the frame after one for
# another unit, taking it for that unit's answer: not a mute device).
start_socat socat2 "$TMP/pty2"
start_bg mute "$SERVER" "$TMP/pty2/b" 19200 E 17 silent-after 0
wait_grep 5 "$TMP/mute.log" "^ready"

note "phase 1: writes"
write_config "$TMP/weftd.toml" 300ms 1 5s
start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 120s
wait_grep 15 "$TMP/weftd.log" "all [0-9]+ services ready"
timeout 90 "$PYTHON" "$CLIENT" "$PORT" mb writes >"$TMP/client.out" 2>&1 || fail "client failed: $(cat "$TMP/client.out")"
cat "$TMP/client.out"
running weftd || fail "weftd died"

# The device itself was set: the server's own account of its registers.
grep -qx "wrote holding 106 = 123" "$TMP/server.log" || fail "the server never had holding 106 set to 123 (12.3 / 0.1)"
grep -qx "wrote holding 106 = 690" "$TMP/server.log" || fail "the server never had holding 106 set to 690"
grep -qx "wrote coil 1 = 1" "$TMP/server.log" || fail "the server never had coil 1 set"
grep -q "= 70000" "$TMP/server.log" && fail "the out-of-range value reached the wire"
# DRVH 180 / DRVL 1 clamp a put, as an EPICS ao record does; the put log says so.
grep -qx "wrote holding 106 = 1800" "$TMP/server.log" || fail "7000 was not clamped to DRVH 180 (holding 106 = 1800)"
grep -qx "wrote holding 106 = 10" "$TMP/server.log" || fail "0.5 was not clamped to DRVL 1 (holding 106 = 10)"
grep -E "ca: put mb:plc:h106 by .*: 69(\.0)? -> 180(\.0)?: ok \(7000 clamped to DRVH 180\)" "$TMP/weftd.log" ||
  fail "no put-log line for the clamped write"
# FC 6 for the single register, FC 5 for the coil.
grep -q "fc 6$" "$TMP/server.log" || fail "no FC 6 request reached the server"
grep -q "fc 5$" "$TMP/server.log" || fail "no FC 5 request reached the server"

# The put log, in the log and in the store (committed within batch_age; give it a moment).
grep -E "ca: put mb:plc:h106 by .*: 100\.6[0-9]* -> 12\.3: ok" "$TMP/weftd.log" || fail "no put-log line for the first write"
sleep 1
rows() { sqlite3 -cmd ".timeout 5000" "$TMP/box.db" "$1"; }
row=$(rows "SELECT who, pv, old_value, new_value, result FROM put_log WHERE pv = 'mb:plc:h106' ORDER BY id LIMIT 1")
echo "first row: $row"
[[ $row == *"|mb:plc:h106|100.6"*"|12.3|ok" ]] || fail "put_log's first h106 row is '$row'"
[[ $row == *@* ]] || fail "put_log's row names no user@host: '$row'"
n=$(rows "SELECT count(*) FROM put_log WHERE pv = 'mb:plc:h106' AND result = 'ok'")
((n >= 22)) || fail "put_log has $n ok rows for h106, expected 22"
rows "SELECT result FROM put_log WHERE pv = 'mb:plc:h107' AND new_value LIKE '7000%'" | grep -q "outside the register's range 0..6553.5" ||
  fail "no put_log row for the out-of-range write naming the range"
rows "SELECT result FROM put_log WHERE pv = 'mb:bad:h200'" | grep -q "exception 2 (illegal data address)" ||
  fail "no put_log row with the Modbus exception"
rows "SELECT result FROM put_log WHERE pv = 'mb:mute:h100'" | grep -q "timeout" || fail "no put_log row for the timeout"
rows "SELECT who, result FROM put_log WHERE pv = 'mb:plc:h100'" | grep -q "^raw@test|refused (no write access)" ||
  fail "no put_log row for the refused write (raw@test)"
ts=$(rows "SELECT wall_ns FROM put_log ORDER BY id DESC LIMIT 1")
now=$(date +%s%N)
(((now - ts) < 120000000000)) || fail "the last row's time $ts is not within 2 minutes of now $now"
# The schema stays at version 1 (an older weftd still opens this file): the table is an addition.
[[ $(rows "SELECT version FROM schema_version") == 1 ]] || fail "schema_version moved"
[[ $(rows "SELECT count(*) FROM sqlite_master WHERE name = 'put_log'") == 1 ]] || fail "no put_log table"
puts=$("$WEFTCTL" --socket "$TMP/weftd.sock" --exec 'ca puts 3')
echo "$puts"
[[ $puts == "ca puts: "*" this run (also in $TMP/box.db, table put_log), last 3:"* ]] || fail "ca puts header: $puts"
[[ $(grep -c "^  20.*Z raw@test (127.0.0.1:[0-9]*) mb:plc:h100: 1000 -> ?: refused (no write access)$" <<<"$puts") == 1 ]] ||
  fail "ca puts does not end with the refused raw write"
[[ $(grep -c "^  " <<<"$puts") == 3 ]] || fail "ca puts 3 did not list 3 entries"

note "phase 1b: a reload gives h106 a new unit (a DBE_PROPERTY monitor hears of it) and makes coil1 read-only (its open channel gets ACCESS_RIGHTS)"
start_bg property timeout 60 "$PYTHON" "$CLIENT" "$PORT" mb property
wait_grep 20 "$TMP/property.log" "^subscribed"
sed -i 's/unit = "degC"/unit = "degF"/; s/writable = true  # coil1/writable = false  # coil1/' "$TMP/weftd.toml"
"$WEFTCTL" --socket "$TMP/weftd.sock" --timeout 30 --exec reload || fail "reload failed"
wait_exit property 40
cat "$TMP/property.log"
((EXIT_STATUS == 0)) || fail "the DBE_PROPERTY client failed"
note "phase 1c: a burst of writes to h108 while it is polled every 100 ms: its monitor never steps back"
timeout 60 "$PYTHON" "$CLIENT" "$PORT" mb order >"$TMP/order.out" 2>&1 || fail "order client failed: $(cat "$TMP/order.out")"
cat "$TMP/order.out"
grep -qx "wrote holding 108 = 60" "$TMP/server.log" || fail "the burst's last write (60) never reached the server"
running weftd || fail "weftd died"
stop weftd

note "phase 2: SIGTERM while a WRITE_NOTIFY waits for a mute device"
write_config "$TMP/weftd2.toml" 5s 0 20s
start_bg weftd2 "$WEFTD" --config "$TMP/weftd2.toml" --for 120s
wait_grep 15 "$TMP/weftd2.log" "all [0-9]+ services ready"
mute_seen=$(lines "$TMP/mute.log")
start_bg client2 timeout 40 "$PYTHON" "$CLIENT" "$PORT" mb stop
wait_fixed 20 "$TMP/client2.log" "put sent"
# The worst moment: the write is on the wire, the device silent, the master
# inside its 5 s response timeout.
wait_grep 15 "$TMP/mute.log" "fc 6$" "$mute_seen"
sleep 0.2
start=$(date +%s%N)
kill -TERM "${PID_OF[weftd2]}"
wait_exit weftd2 10
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
note "weftd exited $EXIT_STATUS ${elapsed_ms} ms after SIGTERM"
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS after SIGTERM, expected 0"
((elapsed_ms < 5000)) || fail "weftd took $elapsed_ms ms to stop"
wait_exit client2 20
cat "$TMP/client2.log"
grep -qE "^outcome status=(160|None) connected=(True|False)" "$TMP/client2.log" || fail "the client got no outcome"
grep -qE "^outcome status=None connected=True" "$TMP/client2.log" && fail "the client was left hanging"
no_service_failure "$TMP/weftd2.log"
grep -E "ca: put mb:mute:h100 by .*: failed: .*(stopped|gather stopped)" "$TMP/weftd2.log" ||
  fail "no put-log line for the write cut short by the stop"
grep -qiE "segfault|terminate called|fatal signal" "$TMP/weftd2.log" && fail "weftd crashed"
grep -q "^request" "$TMP/mute.log" || fail "the mute server saw no request"
echo "PASS ca_modbus_write"
