#!/usr/bin/env bash
# weft-devsim serves simulated ASCII instruments on ptys; pyserial
# (ascii_line_peer.py, no weft code) reads them as any serial program would.
# 1. An NMEA GPS streaming GGA and RMC sentences with 20 % bad checksums:
#    every sentence is well formed, most checksums verify (computed by the
#    reader itself), some do not, and the values are the configured ones.
# 2. A polled CSV meter: the reader sends "MEAS?\r\n" and gets the line.
# Usage: bash devsim_ascii_pyserial.sh <weft-devsim> <ascii_line_peer.py> [python]
set -euo pipefail
DEVSIM=$1
PEER=$2
PYTHON=${3:-/usr/bin/python3}
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

timeout 20 "$PYTHON" -c 'import serial' 2>"$TMP/import.err" ||
  fail "$PYTHON cannot import serial: install python3-serial (tools/dev deps)"

cat >"$TMP/sim.toml" <<TOML
[service.gather]

[[serial]]
name = "nav"
path = "/dev/ttyUSB7"

[[serial]]
name = "lab"
path = "/dev/ttyUSB8"

[[instrument]]
name = "gps"
port = "nav"
protocol = "ascii"
format = "nmea"
period = "50ms"

  [[instrument.point]]
  name = "lat"
  sentence = "GGA"
  field = 2
  sim = { model = "constant", value = 4807.038 }

  [[instrument.point]]
  name = "sats"
  sentence = "GGA"
  field = 7
  type = "integer"
  sim = { model = "constant", value = 8 }

  [[instrument.point]]
  name = "speed"
  sentence = "RMC"
  field = 7
  sim = { model = "constant", value = 22.4 }

  [instrument.sim]
  bad_checksum = 0.2

[[instrument]]
name = "meter"
port = "lab"
protocol = "ascii"
format = "csv"
request = "MEAS?\r\n"

  [[instrument.point]]
  name = "volts"
  column = 1
  sim = { model = "constant", value = 230.1 }
TOML

note "NMEA GPS on a pty, read by pyserial"
start_bg devsim "$DEVSIM" --config "$TMP/sim.toml" --port nav --pty-link "$TMP/gps" --seed 3
wait_file 5 "$TMP/gps"
wait_grep 5 "$TMP/devsim.log" "serving ascii instrument gps of port nav"
timeout 40 "$PYTHON" "$PEER" nmea "$TMP/gps" 200 30 >"$TMP/nmea.out" 2>&1 || fail "the pyserial NMEA reader failed"
summary=$(tail -n 1 "$TMP/nmea.out")
echo "$summary"
[[ $summary =~ ^sentences=200\ good=([0-9]+)\ bad_checksum=([0-9]+)\ malformed=0$ ]] ||
  fail "unexpected summary: $summary"
good=${BASH_REMATCH[1]}
bad=${BASH_REMATCH[2]}
# 100 GGAs (20 % of them with a wrong checksum) and 100 RMCs.
((bad >= 5 && bad <= 40)) || fail "$bad bad checksums in 200 sentences, expected about 20"
((good + bad == 200)) || fail "good $good + bad $bad != 200"
grep -qE '^\$GPGGA,,4807\.038,,,,,8\*[0-9A-F]{2}$' "$TMP/nmea.out" || fail "no GGA with the configured lat and sats"
grep -qE '^\$GPRMC,,,,,,,22\.4\*[0-9A-F]{2}$' "$TMP/nmea.out" || fail "no RMC with the configured speed"
running devsim || fail "weft-devsim exited"

note "polled CSV meter on a pty, asked by pyserial"
start_bg devsim_lab "$DEVSIM" --config "$TMP/sim.toml" --port lab --pty-link "$TMP/meter"
wait_file 5 "$TMP/meter"
wait_grep 5 "$TMP/devsim_lab.log" "serving ascii instrument meter of port lab .*answering requests"
for i in 1 2 3; do
  answer=$(timeout 20 "$PYTHON" "$PEER" ask "$TMP/meter" 'MEAS?\r\n' 5) || fail "no answer to request $i"
  [[ $answer == ",230.1" ]] || fail "answer '$answer' to request $i, expected ',230.1'"
done
note "3 requests answered: ,230.1"
echo "PASS devsim_ascii_pyserial"
