#!/usr/bin/python3
"""The pyepics session whose traffic becomes the CA fuzz seeds
(tests/fuzz/ca_capture.sh). Usage: ca_capture_session.py PORT DEVICE

Against a weftd serving soft points of every type (and the heartbeat's PVs)
through ca_relay.py on PORT: for every PV a get of every DBR code 0..34
(plain, STS, TIME, GR, CTRL of all seven value types, as libca requests them
with ca_array_get_callback), caget as number and as string, monitors with
TIME and CTRL types, and puts of numbers, decimal text, enum state names and
refused values ("100w", "0x10", a state that does not exist). Prints a line
per step; failures are reported, not fatal: only the traffic matters.
"""
import os
import sys
import time

PORT, DEV = sys.argv[1], sys.argv[2]
os.environ.update({"EPICS_CA_AUTO_ADDR_LIST": "NO", "EPICS_CA_ADDR_LIST": "127.0.0.1",
                   "EPICS_CA_SERVER_PORT": PORT, "EPICS_CA_REPEATER_PORT": str(int(PORT) + 1),
                   "EPICS_CA_CONN_TMO": "5"})
import epics  # noqa: E402
from epics import ca  # noqa: E402

PVS = ["sp:flow", "sp:count", "sp:on", "sp:mode", "sp:note", "box:uptime_s", "box:missed_ticks"]


def step(what, fn):
    try:
        print(what, "->", repr(fn())[:80], flush=True)
    except Exception as e:  # noqa: BLE001  (refusals are part of the traffic)
        print(what, "-> refused:", e, flush=True)


for name in PVS:
    pv = f"{DEV}:{name}"
    chid = ca.create_channel(pv, connect=True, auto_cb=False)
    if not ca.connect_channel(chid, timeout=5):
        print(pv, "did not connect", flush=True)
        continue
    # Requested without waiting: pyepics 3.4.1 fails to unpack STS, GR and
    # CTRL replies to an integer ftype in its callback (a TypeError it
    # prints), but libca has read them off the wire by then.
    for ftype in range(35):
        step(f"{pv} get DBR {ftype}", lambda: ca.get(chid, ftype=ftype, wait=False))
    ca.poll(evt=0.5)
    step(f"{pv} caget", lambda: epics.caget(pv, timeout=3))
    step(f"{pv} caget as_string", lambda: epics.caget(pv, as_string=True, timeout=3))
    step(f"{pv} ctrlvars", lambda: epics.PV(pv).get_ctrlvars(timeout=3))
    ca.clear_channel(chid)

seen = []
mons = [epics.PV(f"{DEV}:{n}", auto_monitor=True, form=form) for n, form in
        (("sp:flow", "time"), ("sp:mode", "ctrl"), ("sp:note", "native"), ("box:uptime_s", "time"))]
for m in mons:
    m.add_callback(lambda value=None, **kw: seen.append(value))
time.sleep(0.5)

puts = [("sp:flow", 3.25), ("sp:flow", "4.5"), ("sp:flow", "-1e3"), ("sp:flow", "100w"), ("sp:flow", "0x10"),
        ("sp:count", 42), ("sp:count", "17"), ("sp:count", "12.7"), ("sp:count", "1e3"), ("sp:count", "99999999999"),
        ("sp:on", 0), ("sp:on", "true"), ("sp:mode", "manual"), ("sp:mode", 0), ("sp:mode", "nosuchstate"),
        ("sp:mode", 7), ("sp:note", "bye"), ("sp:note", "a longer text of thirty-nine characters"),
        ("sp:note", 12.5), ("box:uptime_s", 1.0)]
for name, value in puts:
    step(f"caput {name} {value!r}", lambda: epics.caput(f"{DEV}:{name}", value, wait=True, timeout=3))
    step(f"caput {name} {value!r} no wait", lambda: epics.caput(f"{DEV}:{name}", value, wait=False))
time.sleep(0.5)
print("monitor updates:", len(seen), flush=True)
for m in mons:
    m.disconnect()
epics.ca.finalize_libca()
print("session done", flush=True)
