#!/usr/bin/python3
"""Replies stay in request order behind writes waiting for the disk (ca_persist.sh).

Usage: ca_persist_order.py PORT PV
One segment carries a WRITE_NOTIFY of 1000.0, the value it holds (staged: answered once saved) and
a WRITE_NOTIFY of the text "abc" (refused at once: not a number); then an
ECHO. The replies must come in that order: ioid 1 with ECA_NORMAL, ioid 2
with an error, then the ECHO.
"""
import struct
import sys

from ca_raw import CREATE_CHAN, ECHO, Circuit, check, create_chan, msg

WRITE_NOTIFY = 19
ECA_NORMAL = 1
c = Circuit(sys.argv[1], "order", "test")
c.send(create_chan(1, sys.argv[2]))
sids = [m[4] for m in c.read(2, 10) if m[0] == CREATE_CHAN]
check(len(sids) == 1, f"{sys.argv[2]} connects")
sid = sids[0]
text = b"abc".ljust(40, b"\0")
c.send(msg(WRITE_NOTIFY, 6, 1, sid, 1, struct.pack(">d", 1000.0)) + msg(WRITE_NOTIFY, 0, 1, sid, 2, text) + msg(ECHO))
replies = [(m[0], m[4], m[3]) for m in c.read(3, 15)]
print("replies (command, ioid, status):", replies, flush=True)
check(len(replies) == 3, "three replies")
check(replies[0][:2] == (WRITE_NOTIFY, 1) and replies[0][2] == ECA_NORMAL, "first the staged write's, saved")
check(replies[1][:2] == (WRITE_NOTIFY, 2) and replies[1][2] != ECA_NORMAL, "then the refused write's, an error")
check(replies[2][0] == ECHO, "then the ECHO")
