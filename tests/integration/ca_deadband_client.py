#!/usr/bin/python3
"""Deadbands through pyepics (ca_deadband.sh): subscriptions with
DBE_VALUE, DBE_LOG and DBE_ALARM on soft points, a fixed sequence of
caput wait=True, then the exact lists of values each one received.
Usage: PORT DEVICE"""
import os
import sys
import time

PORT, DEV = sys.argv[1], sys.argv[2]
os.environ.update({"EPICS_CA_AUTO_ADDR_LIST": "NO", "EPICS_CA_ADDR_LIST": "127.0.0.1",
                   "EPICS_CA_SERVER_PORT": PORT, "EPICS_CA_REPEATER_PORT": str(int(PORT) + 1)})
import epics  # noqa: E402
from epics import ca, dbr  # noqa: E402


def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)
    print("ok:", what, flush=True)


seen = {}
keep = []  # the callbacks and subscriptions must outlive this loop


def subscribe(pv, label, mask):
    chid = ca.create_channel(f"{DEV}:{pv}", connect=True)
    check(ca.connect_channel(chid, timeout=5), f"{pv} connects")
    seen[label] = []

    def on_update(value=None, severity=None, **kw):
        seen[label].append((round(float(value), 6), severity))

    cb, uarg, evid = ca.create_subscription(chid, use_time=True, mask=mask, callback=on_update)
    keep.append((chid, cb, uarg, evid))


subscribe("level", "value", dbr.DBE_VALUE)
subscribe("level", "log", dbr.DBE_LOG)
subscribe("level", "alarm", dbr.DBE_ALARM)
subscribe("plain", "plain", dbr.DBE_VALUE)
subscribe("every", "every", dbr.DBE_VALUE)
time.sleep(0.5)  # the initial updates

# level: mdel 0.5, adel 2, high 3 (MINOR at or above 3).
for v in (0.3, 0.5, 0.6, 1.0, 1.2, 1.2, 2.1, 3.5, 3.4, 0.0):
    check(epics.caput(f"{DEV}:level", v, wait=True, timeout=5) == 1, f"level <- {v}")
for v in (0.0, 0.25, 0.25, 1.0):
    check(epics.caput(f"{DEV}:plain", v, wait=True, timeout=5) == 1, f"plain <- {v}")
for v in (1.0, 1.0, 1.0):
    check(epics.caput(f"{DEV}:every", v, wait=True, timeout=5) == 1, f"every <- {v}")

want = {
    # DBE_VALUE beyond 0.5 from the last value sent: 0 (initial), 0.6 (from 0), 1.2, 2.1, 3.5, 0.0 (3.4 is 0.1 from 3.5).
    "value": [(0.0, 0), (0.6, 0), (1.2, 0), (2.1, 0), (3.5, 1), (0.0, 0)],
    # DBE_LOG beyond 2 from the last value logged: 0, 2.1, 0.0 (3.5 is 1.4 from 2.1; 3.4 is 1.3).
    "log": [(0.0, 0), (2.1, 0), (0.0, 0)],
    # DBE_ALARM: the initial update, then into MINOR at 3.5 and out of it at 0.0; 3.4 stays MINOR.
    "alarm": [(0.0, 0), (3.5, 1), (0.0, 0)],
    # mdel 0: every change, no repeats (0.0 onto 0.0 and the second 0.25 are none).
    "plain": [(0.0, 0), (0.25, 0), (1.0, 0)],
    # mdel -1: every write, changed or not.
    "every": [(0.0, 0), (1.0, 0), (1.0, 0), (1.0, 0)],
}
deadline = time.time() + 5
while time.time() < deadline and any(len(seen[k]) < len(w) for k, w in want.items()):
    time.sleep(0.05)
time.sleep(0.5)  # anything extra would have arrived by now
for label, w in want.items():
    check(seen[label] == w, f"{label}: {seen[label]} (want {w})")
print("all checks passed", flush=True)
