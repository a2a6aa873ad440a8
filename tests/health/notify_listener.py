#!/usr/bin/python3
# A stand-in for systemd's notify socket: binds a Unix datagram socket at
# PATH and appends every datagram it receives to OUT, one line per message
# (a datagram with several assignments gives several lines), flushed at
# once. Stops after SECONDS (bounded) or on SIGTERM.
# Usage: notify_listener.py PATH OUT SECONDS
import os
import socket
import sys
import time

path, out_path, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
if os.path.exists(path):
    os.unlink(path)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
deadline = time.monotonic() + seconds
with open(out_path, "a", buffering=1) as out:
    print("LISTENING", file=out)
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(4096)
        except socket.timeout:
            continue
        for line in data.decode("utf-8", "replace").splitlines():
            print(line, file=out)
