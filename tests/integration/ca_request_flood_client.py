#!/usr/bin/python3
"""A CA client that sends READ_NOTIFY requests as fast as it can and never
reads the replies: weftd's memory must stay bounded (the replies are not
squashed like monitor updates; the circuit must stop taking requests while
its output is full). Usage: ca_request_flood_client.py PORT PV WEFTD_PID SECONDS
Exit 0 when weftd's RSS grew by less than 12 MiB while the client pushed
requests for SECONDS (unbounded, it grows about 2.5 MiB per MiB of requests), 1 otherwise.
"""
import socket
import struct
import sys
import time

PORT, PV, PID, SECONDS = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])


def msg(cmd, typ=0, count=0, p1=0, p2=0, payload=b""):
    return struct.pack(">HHHHII", cmd, len(payload), typ, count, p1, p2) + payload


def name_payload(text):
    raw = text.encode() + b"\0"
    return raw + b"\0" * ((8 - len(raw) % 8) % 8)


def rss_kib():
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return 0


s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
s.connect(("127.0.0.1", PORT))
s.recv(16)  # VERSION; after this we never read again
s.sendall(msg(0, 0, 13) + msg(20, payload=name_payload("flood")) + msg(21, payload=name_payload("flood")) +
          msg(18, p1=1, p2=13, payload=name_payload(PV)))
time.sleep(0.5)  # CREATE_CHAN answered (SID 1 on a fresh circuit)
before = rss_kib()
# READ_NOTIFY (15) of DBR_TIME_DOUBLE (20), count 1, SID 1, a new IOID each.
block = b"".join(msg(15, 20, 1, 1, i) for i in range(4096))
s.setblocking(False)
sent = 0
start = time.monotonic()
pending = memoryview(block)
while time.monotonic() - start < SECONDS:
    if not pending:
        pending = memoryview(block)
    try:
        n = s.send(pending)  # partial sends keep the rest: the stream stays framed
        sent += n
        pending = pending[n:]
    except BlockingIOError:
        time.sleep(0.002)
    except OSError:
        break  # the server closed the circuit: fine
    if rss_kib() - before > 256 * 1024:
        break
grown = rss_kib() - before
print(f"figure: {sent >> 20} MiB of READ_NOTIFY sent in {time.monotonic() - start:.1f} s; weftd RSS grew {grown >> 10} MiB",
      flush=True)
s.close()
if grown > 12 * 1024:
    print("FAIL: weftd's memory grew without bound for one client that never reads", flush=True)
    sys.exit(1)
print("ok: memory stayed bounded", flush=True)
