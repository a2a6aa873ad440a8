"""A Modbus RTU client on pymodbus 3.0 (Debian's python3-pymodbus), a second
implementation independent of both weft and libmodbus, for weft's
integration tests: it polls weft-devsim's simulated instruments over a pty.

    /usr/bin/python3 pymodbus_client.py TTY BAUD PARITY UNIT CHECK...

CHECKs as in modbus_rtu_client.c: hr:ADDR=V1,V2  ir:ADDR=...  co:ADDR=B1,B2
di:ADDR=...  ex:T:ADDR:COUNT=E (expect exception E). Prints one line per
check and exits 0 only if all passed (1 if any failed, 2 on usage errors).
Run it with /usr/bin/python3: another python3 on PATH may not see Debian's
packages.
"""
import sys

from pymodbus.client import ModbusSerialClient
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.pdu import ExceptionResponse


def read(client, table, addr, count, unit):
    if table == "hr":
        return client.read_holding_registers(addr, count, slave=unit)
    if table == "ir":
        return client.read_input_registers(addr, count, slave=unit)
    if table == "co":
        return client.read_coils(addr, count, slave=unit)
    if table == "di":
        return client.read_discrete_inputs(addr, count, slave=unit)
    raise ValueError(f"unknown table {table!r}")


def values_of(table, response, count):
    if table in ("hr", "ir"):
        return list(response.registers[:count])
    return [int(b) for b in response.bits[:count]]  # bits come padded to whole bytes


def run_check(client, unit, check):
    kind, _, rest = check.partition(":")
    if kind == "ex":
        spec, _, code = rest.partition("=")
        table, addr, count = spec.split(":")
        response = read(client, table, int(addr), int(count), unit)
        if not isinstance(response, ExceptionResponse):
            print(f"FAIL {check}: got {response!r}, expected exception {code}")
            return False
        if response.exception_code != int(code):
            print(f"FAIL {check}: exception {response.exception_code}, expected {code}")
            return False
        print(f"ok {check}: exception {response.exception_code}")
        return True
    addr, _, values = rest.partition("=")
    expected = [int(v) for v in values.split(",")]
    response = read(client, kind, int(addr), len(expected), unit)
    if response.isError():
        print(f"FAIL {check}: {response!r}")
        return False
    got = values_of(kind, response, len(expected))
    ok = got == expected
    print(f"{'ok' if ok else 'FAIL'} {check}: got {','.join(map(str, got))}")
    return ok


def main(argv):
    if len(argv) < 6:
        print(__doc__, file=sys.stderr)
        return 2
    tty, baud, parity, unit = argv[1], int(argv[2]), argv[3], int(argv[4])
    # pymodbus 3.0: framer is a class; timeout in seconds; retries are ours to avoid.
    client = ModbusSerialClient(port=tty, framer=ModbusRtuFramer, baudrate=baud, bytesize=8, parity=parity,
                                stopbits=1, timeout=1, retries=0)
    if not client.connect():
        print(f"cannot open {tty}", file=sys.stderr)
        return 2
    try:
        failed = sum(not run_check(client, unit, c) for c in argv[5:])
    finally:
        client.close()
    print(f"{len(argv) - 5} checks, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
