#!/usr/bin/env bash
# pymodbus 3.0 (Debian's python3-pymodbus), an implementation independent
# of weft and of libmodbus, as the Modbus RTU master against weft-devsim:
# the same exact register, coil and exception checks as the libmodbus
# client (libmodbus_master_devsim.sh), over a pty, with pyserial.
# Usage: bash pymodbus_devsim.sh <weft-devsim> <pymodbus_client.py> [python]
set -euo pipefail
DEVSIM=$1
PYCLIENT=$2
PYTHON=${3:-/usr/bin/python3}  # Debian's: a python3 earlier on PATH may not see python3-pymodbus
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

if ! timeout 20 "$PYTHON" -c 'import pymodbus.client' 2>"$TMP/import.err"; then
  cat "$TMP/import.err" >&2
  fail "$PYTHON cannot import pymodbus.client: install python3-pymodbus, python3-serial and python3-serial-asyncio (tools/dev deps)"
fi

devsim_config "$TMP/sim.toml" "$TMP/dev"
start_devsim "$DEVSIM" "$TMP/sim.toml" "$TMP/dev"

# Parity N on pymodbus's side: a pty has no parity bit (the kernel drops
# PARENB), and glibc's tcsetattr then reports EINVAL, which pyserial raises.
# weft's own open path does the same (8N1 on ptys); libmodbus ignores it.
note "pymodbus client, unit 5"
timeout 30 "$PYTHON" "$PYCLIENT" "$TMP/dev" 19200 N 5 "${DEVSIM_UNIT5_CHECKS[@]}" >"$TMP/py5.out" 2>&1 ||
  fail "pymodbus client checks against unit 5 failed"
cat "$TMP/py5.out"
grep -q "^10 checks, 0 failed$" "$TMP/py5.out" || fail "unexpected summary"

note "pymodbus client, unit 6"
timeout 30 "$PYTHON" "$PYCLIENT" "$TMP/dev" 19200 N 6 "hr:0=77" "ex:hr:1:1=2" >"$TMP/py6.out" 2>&1 ||
  fail "pymodbus client checks against unit 6 failed"
cat "$TMP/py6.out"

running devsim || fail "weft-devsim exited"
echo "PASS pymodbus_devsim"
