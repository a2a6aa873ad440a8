#!/usr/bin/env bash
# End to end: the real weftd (gather + tap, real clock, real tty path: lock
# file, open_exclusive, termios) reads an ASCII key=value instrument played
# by a pyserial writer (ascii_line_peer.py, no weft code) on the other end of
# a socat pty pair. The writer sends good lines, a run of garbage (non-UTF-8)
# and an over-long line, falls silent past stale_after, then sends new
# values. weftd's log must show the values as good, exactly one "bad line"
# warning per run of bad lines, the points published once as stale during
# the silence, the new values good again (and stale once more after the
# writer has gone), and weftd must stop by itself with status 0 and no
# service failure.
# Usage: bash weftd_ascii_pty.sh <weftd> <ascii_line_peer.py> [python]
set -euo pipefail
WEFTD=$1
PEER=$2
PYTHON=${3:-/usr/bin/python3}  # Debian's: it sees python3-serial
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

timeout 20 "$PYTHON" -c 'import serial' 2>"$TMP/import.err" ||
  fail "$PYTHON cannot import serial: install python3-serial (tools/dev deps)"

start_socat socat "$TMP/pty"
mkdir -p "$TMP/lock"
cat >"$TMP/weftd.toml" <<TOML
[weftd]
log_level = "info"
stop_grace = "2s"

[service.gather]
lock_dir = "$TMP/lock"

[service.tap]
pattern = "weather.*"

[[serial]]
name = "met"
path = "$TMP/pty/a"
baud = 9600
reopen_min = "100ms"

[[instrument]]
name = "weather"
port = "met"
protocol = "ascii"
format = "kv"
terminator = "\r\n"
max_line = 64
period = "100ms"
stale_after = "1500ms"

  [[instrument.point]]
  name = "temperature"
  key = "T"

  [[instrument.point]]
  name = "humidity"
  key = "H"
  type = "integer"
TOML

note "weftd --for 14s, the writer after the port is open"
start_bg weftd timeout 40 "$WEFTD" --config "$TMP/weftd.toml" --for 14s
wait_fixed 10 "$TMP/weftd.log" "port met ($TMP/pty/a): closed -> open"
timeout 30 "$PYTHON" "$PEER" write "$TMP/pty/b" \
  "repeat:15:0.1:T=21.5 H=40" garbage garbage overlong:200 "repeat:10:0.1:T=21.5 H=40" \
  "sleep:3.5" "repeat:15:0.1:T=22.5 H=41" >"$TMP/writer.out" 2>&1 || fail "the pyserial writer failed"
wait_exit weftd 30
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS, expected 0"
grep -F "[tap]" "$TMP/weftd.log" | uniq -c || true

for expected in "weather.temperature = 21.5 (good)" "weather.humidity = 40 (good)" \
  "weather.temperature = 22.5 (good)" "weather.humidity = 41 (good)"; do
  n=$(count_fixed "$TMP/weftd.log" "$expected")
  ((n >= 10)) || fail "'$expected' appears $n times in weftd's log, expected at least 10"
done
for point in "temperature = 21.5" "humidity = 40"; do
  n=$(count_fixed "$TMP/weftd.log" "weather.$point (stale)")
  [[ $n == 1 ]] || fail "'weather.$point (stale)' appears $n times, expected once (one episode of silence)"
done
# In order: good, stale during the silence, good with the new values, and
# stale again once the writer has gone.
order=$(grep -F "[tap] weather.temperature" "$TMP/weftd.log" | sed 's/.*\[tap\] //' | uniq)
expected_order=$'weather.temperature = 21.5 (good)\nweather.temperature = 21.5 (stale)\nweather.temperature = 22.5 (good)\nweather.temperature = 22.5 (stale)'
[[ $order == "$expected_order" ]] || fail "temperature readings out of order:"$'\n'"$order"

bad=$(grep -F "instrument weather on met: bad line" "$TMP/weftd.log" || true)
echo "$bad"
[[ $(grep -c . <<<"$bad") == 1 ]] || fail "expected one 'bad line' warning for the one run of bad lines"
[[ $bad == *'\xfe\xff\x01\x80junk\xc3(\x07'* ]] || fail "the garbage line is not logged escaped"
grep -qF "instrument weather on met: good lines again after 3 bad" "$TMP/weftd.log" ||
  fail "no 'good lines again after 3 bad' (2 garbage lines + 1 over-long)"
[[ $(count_fixed "$TMP/weftd.log" "instrument weather on met: no good line for 1.5 s") == 2 ]] ||
  fail "expected two stale warnings (the silence, and after the writer left)"
[[ $(count_fixed "$TMP/weftd.log" "instrument weather on met: good lines again; points fresh") == 1 ]] ||
  fail "expected one 'points fresh' line"
no_service_failure "$TMP/weftd.log"
echo "PASS weftd_ascii_pty"
