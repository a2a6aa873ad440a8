#!/usr/bin/env bash
# libmodbus, the reference C library, as the Modbus RTU MASTER against
# weft's simulated instruments: weft-devsim serves a config's port on a pty
# and tests/peers/modbus_rtu_client reads holding and input registers,
# coils and discrete inputs from two units and checks the exact values the
# config's constant `sim` models define (int16, float32, scaled and uint32
# encodings included), exception 2 for unmapped addresses, and that a
# write-single-register is acknowledged. Proves devsim's framing, CRC,
# addressing and exceptions are what libmodbus expects.
# Usage: bash libmodbus_master_devsim.sh <weft-devsim> <modbus_rtu_client>
set -euo pipefail
DEVSIM=$1
CLIENT=$2
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

devsim_config "$TMP/sim.toml" "$TMP/dev"
start_devsim "$DEVSIM" "$TMP/sim.toml" "$TMP/dev"

note "libmodbus client, unit 5"
timeout 20 "$CLIENT" "$TMP/dev" 19200 E 5 "${DEVSIM_UNIT5_CHECKS[@]}" "w6:10=4321" >"$TMP/client5.out" 2>&1 ||
  fail "libmodbus client checks against unit 5 failed"
cat "$TMP/client5.out"
grep -q "^11 checks, 0 failed$" "$TMP/client5.out" || fail "unexpected summary"

note "libmodbus client, unit 6"
timeout 20 "$CLIENT" "$TMP/dev" 19200 E 6 "hr:0=77" "ex:hr:1:1=2" "ex:hr:10:1=2" >"$TMP/client6.out" 2>&1 ||
  fail "libmodbus client checks against unit 6 failed"
cat "$TMP/client6.out"

note "a unit that is not on the bus does not answer"
code=0
timeout 20 "$CLIENT" "$TMP/dev" 19200 E 9 "hr:10=1234" >"$TMP/client9.out" 2>&1 || code=$?
cat "$TMP/client9.out"
[[ $code == 1 ]] || fail "client against absent unit 9 exited $code, expected 1 (a failed check)"
grep -qi "timed out" "$TMP/client9.out" || fail "absent unit 9: no timeout reported"

running devsim || fail "weft-devsim exited"
echo "PASS libmodbus_master_devsim"
