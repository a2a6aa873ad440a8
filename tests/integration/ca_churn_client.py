#!/usr/bin/python3
"""Circuits that come and go while updates stream to them (ca_churn.sh).

Usage: ca_churn_client.py PORT DEVICE WEFTCTL SOCKET
weftd runs heartbeat (prefix "box", a 1 ms period) and ca. This process
keeps 60 raw circuits, each with 20 DBR_DOUBLE monitors over 5 heartbeat PVs,
and for 4 s ends one circuit after another the ways a client can go: a
reset (SO_LINGER 0) mid-stream, a plain close, a shutdown of its write side
only, a close with unread updates in its receive buffer, and a reset right
after its EVENT_ADD, before the first update; each is replaced by a new
one at once. The server's writer has those circuits queued when they end.
Afterwards every circuit still open must get updates, a new circuit must
get its channels and updates, and `ca` must list exactly the circuits that
are open (none of the ended ones left behind).
"""
import random
import select
import socket
import struct
import sys
import time

import ca_raw
from ca_raw import Circuit, check, create_chan, event_add

KEEP = 60
CHANNELS = 20  # per circuit, over the 5 PVs: enough output per turn that the writer yields with circuits queued
POINTS = ["uptime_s", "loop_lag_us", "missed_ticks", "rss_kib", "log_lines_dropped"]
PORT, DEVICE, WEFTCTL, SOCK = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rng = random.Random(1234)


def console(command):
    return ca_raw.console(WEFTCTL, SOCK, command)


def monitored(wait_for_channels=True):
    c = Circuit(PORT, "churn", "churn")
    c.send(b"".join(create_chan(i, f"{DEVICE}:box:{POINTS[i % len(POINTS)]}") for i in range(CHANNELS)))
    if not wait_for_channels:
        return c, None
    sids = {}
    deadline = time.monotonic() + 10
    while len(sids) < CHANNELS and time.monotonic() < deadline:
        for m in c.read(CHANNELS, 1):
            if m[0] == ca_raw.CREATE_CHAN:
                sids[m[3]] = m[4]
    check(len(sids) == CHANNELS, f"circuit :{c.port} got its {CHANNELS} channels")
    c.send(b"".join(event_add(sids[i], i) for i in range(CHANNELS)))
    return c, sids


def updates_within(c, secs):
    """Number of EVENT_ADD updates read on c within secs (stops at 3)."""
    n = 0
    deadline = time.monotonic() + secs
    while n < 3 and time.monotonic() < deadline:
        n += sum(1 for m in c.read(1, 0.2) if m[0] == ca_raw.EVENT_ADD and m[5])
    return n


def reset(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def end(c, how):
    if how == "reset":
        reset(c.sock)
    elif how == "close":
        c.sock.close()
    elif how == "half":
        c.sock.shutdown(socket.SHUT_WR)  # the server reads EOF while it still has updates for us
        c.sock.close()
    elif how == "unread":
        time.sleep(0.01)  # updates pile up unread in our receive buffer: close() then sends a reset
        c.sock.close()


circuits = [monitored()[0] for _ in range(KEEP)]
check(all(updates_within(c, 5) >= 1 for c in circuits), f"{KEEP} circuits get updates")

ended = {"reset": 0, "close": 0, "half": 0, "unread": 0, "early": 0}
deadline = time.monotonic() + 4
while time.monotonic() < deadline:
    # Keep the others draining, so the server's writer has work queued for many circuits.
    socks = [c.sock for c in circuits]
    readable, _, _ = select.select(socks, [], [], 0.002)
    for s in readable:
        try:
            s.recv(262144)
        except (BlockingIOError, ConnectionResetError, socket.timeout):
            pass
    i = rng.randrange(len(circuits))
    how = rng.choice(["reset", "close", "half", "unread", "early"])
    if how == "early":
        c, _ = monitored(wait_for_channels=False)
        reset(c.sock)  # gone before the CREATE_CHAN replies and the first update are written
    else:
        end(circuits[i], how)
        circuits[i] = monitored()[0]
    ended[how] += 1
print("ended:", ended, flush=True)
check(sum(ended.values()) >= 40, f"at least 40 circuits ended mid-stream ({sum(ended.values())})")

stale = [c.port for c in circuits if updates_within(c, 5) < 1]
check(not stale, f"every open circuit still gets updates (silent: {stale})")
fresh, sids = monitored()
check(updates_within(fresh, 5) >= 1, "a new circuit gets its channels and updates")
open_ports = {c.port for c in circuits} | {fresh.port}

listed = set()
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    text = console("ca clients")
    total = int(text.split(" clients on ")[1].split(" ")[0]) if " clients on " in text else -1
    if total == len(open_ports):
        break
    time.sleep(0.2)
check(total == len(open_ports), f"`ca clients` counts the {len(open_ports)} open circuits (it says {total})")
for c in circuits + [fresh]:
    c.sock.close()
