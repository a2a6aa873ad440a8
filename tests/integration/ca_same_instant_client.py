#!/usr/bin/python3
"""ca_same_instant.sh's client: one raw circuit (ca_raw.py) that sends, in
one segment, EVENT_ADD on vt:sp:level, three plain WRITEs (1, 2, 3) and a
READ_NOTIFY. The read must see 3, the monitor must end at 3 without going
back. Usage: PORT"""
import socket
import struct
import sys
import time

from ca_raw import check, create_chan, event_add, msg, name_payload, parse

PORT = int(sys.argv[1])
VERSION, EVENT_ADD, WRITE, READ_NOTIFY, CLIENT_NAME, HOST_NAME, CREATE_CHAN = 0, 1, 4, 15, 20, 21, 18
DBR_DOUBLE = 6

sk = socket.create_connection(("127.0.0.1", PORT), timeout=10)
sk.sendall(msg(VERSION, 0, 13) + msg(CLIENT_NAME, payload=name_payload("raw")) +
           msg(HOST_NAME, payload=name_payload("test")) + create_chan(5, "vt:sp:level"))
buf, updates, reads = b"", [], []
deadline = time.monotonic() + 15
while time.monotonic() < deadline and not (reads and updates and updates[-1] == reads[-1]):
    chunk = sk.recv(65536)
    if not chunk:
        check(False, "the circuit stays open")
    buf += chunk
    messages, buf = parse(buf)
    for cmd, typ, count, p1, p2, payload in messages:
        if cmd == CREATE_CHAN:
            sid = p2
            burst = event_add(sid, 9)
            for k, value in enumerate((1.0, 2.0, 3.0)):
                burst += msg(WRITE, DBR_DOUBLE, 1, sid, 100 + k, struct.pack(">d", value))
            sk.sendall(burst + msg(READ_NOTIFY, DBR_DOUBLE, 1, sid, 7))
        elif cmd == EVENT_ADD and count == 1:
            updates.append(struct.unpack(">d", payload[:8])[0])
        elif cmd == READ_NOTIFY:
            check(p1 == 1, f"READ_NOTIFY answered ECA_NORMAL ({p1})")
            reads.append(struct.unpack(">d", payload[:8])[0])
# Anything still on its way (a late update would show here).
sk.settimeout(0.5)
try:
    while chunk := sk.recv(65536):
        buf += chunk
except socket.timeout:
    pass
messages, buf = parse(buf)
updates += [struct.unpack(">d", m[5][:8])[0] for m in messages if m[0] == EVENT_ADD and m[2] == 1]
print(f"read {reads} monitor {updates}", flush=True)
check(reads == [3.0], f"the read after the three writes sees the last, 3 ({reads})")
check(updates and updates[0] == 0.0, f"the monitor starts at the initial 0 ({updates})")
check(all(b > a for a, b in zip(updates, updates[1:])), f"the monitor never goes back or repeats ({updates})")
check(updates[-1] == 3.0, f"the monitor ends at 3 ({updates})")
print("all checks passed", flush=True)
