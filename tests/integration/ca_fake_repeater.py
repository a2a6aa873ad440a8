#!/usr/bin/python3
"""Stands in for caRepeater: prints every beacon (RSRV_IS_UP) it receives.

Usage: ca_fake_repeater.py PORT SECONDS
One line per datagram: "beacon ID TCP_PORT MINOR T" (T: seconds since start),
or "other CMD" for anything else.
"""
import socket
import struct
import sys
import time

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", int(sys.argv[1])))
end = time.monotonic() + float(sys.argv[2])
start = time.monotonic()
print("listening", flush=True)
while time.monotonic() < end:
    sock.settimeout(max(0.01, end - time.monotonic()))
    try:
        data, _ = sock.recvfrom(2048)
    except socket.timeout:
        break
    if len(data) >= 16:
        cmd, size, typ, count, p1, p2 = struct.unpack(">HHHHII", data[:16])
        if cmd == 13:
            print(f"beacon {p1} {count} {typ} {time.monotonic() - start:.3f}", flush=True)
            continue
        print(f"other {cmd}", flush=True)
