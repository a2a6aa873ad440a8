#!/usr/bin/python3
"""A CA client that stops reading must not hurt the others (issue 13).

Usage: ca_slow_client.py PORT DEVICE WEFTCTL SOCKET
weftd runs heartbeat every 1 ms (prefix "box") and ca with send_buffer 4096.
A raw circuit with a 2 KiB receive buffer monitors every box PV and never
reads (what a SIGSTOPped client looks like from the server). Meanwhile a
pyepics monitor must keep receiving without gaps, and the console must show
the stalled circuit's queue bounded and its updates squashed.
"""
import os
import re
import socket
import struct
import subprocess
import sys
import time

PORT, DEVICE, WEFTCTL, SOCK = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
os.environ.update({
    "EPICS_CA_AUTO_ADDR_LIST": "NO",
    "EPICS_CA_ADDR_LIST": "127.0.0.1",
    "EPICS_CA_SERVER_PORT": PORT,
    "EPICS_CA_REPEATER_PORT": str(int(PORT) + 1),
})
import epics  # noqa: E402


def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)
    print("ok:", what, flush=True)


def msg(cmd, typ=0, count=0, p1=0, p2=0, payload=b""):
    return struct.pack(">HHHHII", cmd, len(payload), typ, count, p1, p2) + payload


def name_payload(text):
    raw = text.encode() + b"\0"
    return raw + b"\0" * ((8 - len(raw) % 8) % 8)


def ca_status():
    out = subprocess.run([WEFTCTL, "--socket", SOCK, "--timeout", "10", "--exec", "ca"], capture_output=True,
                         text=True, timeout=20)
    check(out.returncode == 0, "weftctl ca answers")
    return out.stdout


points = ["uptime_s", "loop_lag_us", "missed_ticks", "rss_kib", "log_lines_dropped"]
check(epics.caget(f"{DEVICE}:box:uptime_s", timeout=5) is not None, "the PVs are up")

slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
slow.connect(("127.0.0.1", int(PORT)))
slow.recv(16)  # VERSION; after this we never read again
setup = msg(0, 0, 13) + msg(20, payload=name_payload("stalled")) + msg(21, payload=name_payload("slow"))
for cid, p in enumerate(points, start=1):
    setup += msg(18, p1=cid, p2=13, payload=name_payload(f"{DEVICE}:box:{p}"))
slow.sendall(setup)
time.sleep(0.3)
# SIDs are allocated from 1 in order on a fresh circuit: subscribe to each, several times.
adds = b""
for sid in range(1, len(points) + 1):
    for sub in range(4):
        adds += msg(1, 20, 0, sid, sid * 10 + sub, struct.pack(">fffHH", 0, 0, 0, 5, 0))
slow.sendall(adds)
port = slow.getsockname()[1]

seen = []
mon = epics.PV(f"{DEVICE}:box:uptime_s", auto_monitor=True)
mon.add_callback(lambda value=None, **kw: seen.append(time.monotonic()))
time.sleep(1.0)
seen.clear()
start = time.monotonic()
time.sleep(3.0)
stamps = list(seen)
gaps = [b - a for a, b in zip(stamps, stamps[1:])]
worst = max(gaps) if gaps else 99
print(f"figure: fast client got {len(stamps)} updates in 3 s beside the stalled one; worst gap {worst * 1000:.1f} ms",
      flush=True)
check(len(stamps) >= 300, f"the fast client keeps receiving ({len(stamps)} updates in 3 s)")
check(worst < 0.25, f"no update of the fast client was delayed by 250 ms or more (worst {worst * 1000:.1f} ms)")


def stalled_line(text):
    for line in text.splitlines():
        if f":{port} stalled@slow" in line:
            return line
    return None


first = stalled_line(ca_status())
check(first is not None, "the stalled circuit is listed by `ca`")
print(first, flush=True)
time.sleep(1.0)
second = stalled_line(ca_status())
print(second, flush=True)


def field(line, name):
    return int(re.search(r"(\d+) " + name, line).group(1))


check(field(second, "squashed") > field(first, "squashed") > 0, "its updates are squashed, more and more")
check(field(second, "queued") <= 4096 + 512, f"its queue stays bounded ({field(second, 'queued')} bytes queued)")
check(field(second, "due") <= 20, "at most one due update per subscription")
slow.close()
time.sleep(0.2)
check(epics.caget(f"{DEVICE}:box:uptime_s", timeout=5) is not None, "the server answers after the stalled client left")
print("all checks passed", flush=True)
