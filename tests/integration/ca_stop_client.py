#!/usr/bin/python3
"""A raw CA circuit with a live monitor while weftd stops (ca_stop.sh).

Usage: ca_stop_client.py PORT PV READY_FILE
Creates a channel (CID 42) and a monitor, writes READY_FILE once updates
flow, then waits for the server to go: it must send SERVER_DISCONN for CID 42
before it closes the circuit. Prints what it saw; exits 1 otherwise.
"""
import socket
import struct
import sys
import time

PORT, PV, READY = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def msg(cmd, typ=0, count=0, p1=0, p2=0, payload=b""):
    return struct.pack(">HHHHII", cmd, len(payload), typ, count, p1, p2) + payload


def name_payload(text):
    raw = text.encode() + b"\0"
    return raw + b"\0" * ((8 - len(raw) % 8) % 8)


sk = socket.create_connection(("127.0.0.1", PORT), timeout=5)
sk.sendall(msg(0, 0, 13) + msg(20, payload=name_payload("stop")) + msg(21, payload=name_payload("test"))
           + msg(18, p1=42, p2=13, payload=name_payload(PV)))
buf = b""
sid = None
updates = 0
seen = []
deadline = time.time() + 60
while time.time() < deadline:
    try:
        chunk = sk.recv(65536)
    except socket.timeout:
        continue
    if not chunk:
        break
    buf += chunk
    while len(buf) >= 16:
        cmd, size, typ, count, p1, p2 = struct.unpack(">HHHHII", buf[:16])
        if len(buf) < 16 + size:
            break
        buf = buf[16 + size:]
        seen.append(cmd)
        if cmd == 18 and sid is None:
            sid = p2
            sk.sendall(msg(1, 20, 0, sid, 1, struct.pack(">fffHH", 0, 0, 0, 5, 0)))
        elif cmd == 1:
            updates += 1
            if updates == 2:
                open(READY, "w").close()
        elif cmd == 27:
            print(f"SERVER_DISCONN for CID {p1} after {updates} updates", flush=True)
            if p1 != 42:
                sys.exit(1)
            # Nothing more may come for that channel; the circuit then closes.
            rest = sk.recv(65536)
            print("then closed" if not rest else f"then {len(rest)} more bytes", flush=True)
            sys.exit(0 if not rest else 1)
print(f"FAIL: no SERVER_DISCONN (saw commands {seen[-10:]}, {updates} updates)", flush=True)
sys.exit(1)
