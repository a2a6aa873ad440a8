#!/usr/bin/python3
"""Soft points through pyepics (ca_soft_points.sh): caget of every type (as
number and as string), caput wait=True read back and seen by a monitor, a
write refused by libca (read-only rights) and one refused by the server
(raw WRITE_NOTIFY: ECA_NOWTACCESS). Usage: PORT DEVICE"""
import os
import socket
import struct
import sys
import time

PORT, DEV = sys.argv[1], sys.argv[2]
os.environ.update({"EPICS_CA_AUTO_ADDR_LIST": "NO", "EPICS_CA_ADDR_LIST": "127.0.0.1",
                   "EPICS_CA_SERVER_PORT": PORT, "EPICS_CA_REPEATER_PORT": str(int(PORT) + 1)})
import epics  # noqa: E402


def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)
    print("ok:", what, flush=True)


g = lambda n, **kw: epics.caget(f"{DEV}:{n}", timeout=5, **kw)
check(g("sp:flow") == 2.5, "number soft point reads 2.5")
check(g("sp:count") == 7 and isinstance(g("sp:count"), int), "integer soft point reads 7")
check(g("sp:on") == 1 and g("sp:on", as_string=True) == "running", "bool reads 1 / 'running' (its states)")
cv = epics.ca.get_ctrlvars(epics.ca.create_channel(f"{DEV}:sp:flow", connect=True))
check((cv["units"], cv["precision"], cv["upper_disp_limit"], cv["lower_disp_limit"], cv["upper_warning_limit"],
       cv["upper_alarm_limit"]) == ("l/min", 0, 10, 0, 8, 9), f"a soft point's metadata from its config ({cv})")
check(cv["upper_ctrl_limit"] == 10 and cv["lower_ctrl_limit"] == 0, "control limits default to the display limits")
check(cv["lower_warning_limit"] != cv["lower_warning_limit"], "an unset alarm limit is NaN, as EPICS 7 sends it")
check(g("sp:mode") == 1 and g("sp:mode", as_string=True) == "auto", "enum reads 1 / 'auto'")
check(g("sp:note") == "hello", "text reads 'hello'")

seen = []
mon = epics.PV(f"{DEV}:sp:flow", auto_monitor=True, callback=lambda value=None, **kw: seen.append(value))
time.sleep(0.5)
check(epics.caput(f"{DEV}:sp:flow", 3.25, wait=True, timeout=5) == 1, "caput wait=True completes")
check(g("sp:flow") == 3.25, "the written value reads back")
deadline = time.time() + 3
while 3.25 not in seen and time.time() < deadline:
    time.sleep(0.05)
check(3.25 in seen and seen.count(3.25) == 1, f"the monitor saw the write once ({seen})")
check(epics.caput(f"{DEV}:sp:flow", 8.5, wait=True, timeout=5) == 1
      and epics.ca.get_timevars(epics.ca.create_channel(f"{DEV}:sp:flow", connect=True))["severity"] == 1,
      "8.5 is above high = 8: MINOR")
f = lambda field, **kw: epics.caget(f"{DEV}:sp:flow.{field}", timeout=5, use_monitor=False, **kw)
check(f("SEVR") == 1 and f("SEVR", as_string=True) == "MINOR", f"sp:flow.SEVR is MINOR ({f('SEVR', as_string=True)})")
check(f("STAT") == 4 and f("STAT", as_string=True) == "HIGH", f"sp:flow.STAT is HIGH ({f('STAT', as_string=True)})")
sc = epics.ca.get_ctrlvars(epics.ca.create_channel(f"{DEV}:sp:flow.STAT", connect=True))
check(len(sc["enum_strs"]) == 16 and sc["enum_strs"][4] == "HIGH" and sc["enum_strs"][15] == "SOFT",
      f".STAT's DBR_CTRL_ENUM carries the first 16 of its 22 menu strings, as EPICS base ({sc['enum_strs']})")
sevr_seen = []
# The callback is given to the constructor: the channel is already connected
# (caget above), so pyepics subscribes inside PV() and the first update can
# arrive before an add_callback afterwards would be in place.
sevr_mon = epics.PV(f"{DEV}:sp:flow.SEVR", auto_monitor=True,
                    callback=lambda value=None, **kw: sevr_seen.append(value))
# The first update (MINOR) must come before the write: on a loaded machine a
# fixed sleep was not enough to connect, and the monitor then began at NO_ALARM.
deadline = time.time() + 5
while not sevr_seen and time.time() < deadline:
    time.sleep(0.05)
check(epics.caput(f"{DEV}:sp:flow", 3.25, wait=True, timeout=5) == 1, "back to 3.25")
deadline = time.time() + 3
while sevr_seen != [1, 0] and time.time() < deadline:
    time.sleep(0.05)
check(sevr_seen == [1, 0], f"a monitor on .SEVR sees MINOR, then NO_ALARM ({sevr_seen})")
check(f("SEVR", as_string=True) == "NO_ALARM" and f("STAT", as_string=True) == "NO_ALARM", "3.25: no alarm")
check(f("EGU") == "l/min" and f("DESC") == "flow setpoint" and f("NAME") == f"{DEV}:sp:flow",
      "EGU, DESC, NAME as strings")
check((f("HOPR"), f("LOPR"), f("HIGH"), f("HIHI"), f("DRVH"), f("DRVL"), f("PREC")) == (10, 0, 8, 9, 10, 0, 0),
      "HOPR, LOPR, HIGH, HIHI, DRVH, DRVL, PREC as numbers")
ch = epics.ca.create_channel(f"{DEV}:sp:flow.EGU", connect=True)
check(epics.ca.field_type(ch) == epics.dbr.STRING, "EGU's native type is DBR_STRING")
ch = epics.ca.create_channel(f"{DEV}:sp:flow.PREC", connect=True)
check(epics.ca.field_type(ch) == epics.dbr.SHORT, "PREC's native type is DBR_SHORT")
ch = epics.ca.create_channel(f"{DEV}:sp:flow.SEVR", connect=True)
check(epics.ca.field_type(ch) == epics.dbr.ENUM, "SEVR's native type is DBR_ENUM")
check(not epics.ca.write_access(ch), "a field is read-only (no write access)")
check(epics.caget(f"{DEV}:sp:flow.SCAN", timeout=1) is None, "a field not served is not found")
check(f("VAL") == 3.25, ".VAL is the value")
check(epics.caput(f"{DEV}:sp:on", "stopped", wait=True, timeout=5) == 1 and g("sp:on") == 0,
      "the bool written by its state name")
check(epics.caput(f"{DEV}:sp:mode", "manual", wait=True, timeout=5) == 1
      and g("sp:mode", as_string=True) == "manual", "enum written by state name")
check(epics.caput(f"{DEV}:sp:note", "bye", wait=True, timeout=5) == 1 and g("sp:note") == "bye", "text written")
# Control limits (DRVL 0 .. DRVH 10, from the display limits) clamp a put, as an EPICS ao record does.
check(epics.caput(f"{DEV}:sp:flow", 12, wait=True, timeout=5) == 1 and g("sp:flow") == 10, "12 clamped to DRVH 10")
check(epics.caput(f"{DEV}:sp:flow", -1, wait=True, timeout=5) == 1 and g("sp:flow") == 0, "-1 clamped to DRVL 0")
check(epics.caput(f"{DEV}:sp:count", 123456, wait=True, timeout=5) == 1 and g("sp:count") == 123456,
      "a point without limits (DRVH = DRVL = 0) is not clamped")
try:
    epics.caput(f"{DEV}:fixed", 2.0, wait=True, timeout=5)
    check(False, "a non-writable soft point must refuse")
except Exception as e:
    check("Write access denied" in str(e), f"non-writable soft point refused by rights ({e})")


def msg(cmd, typ=0, count=0, p1=0, p2=0, payload=b""):
    return struct.pack(">HHHHII", cmd, len(payload), typ, count, p1, p2) + payload


def name(t):
    raw = t.encode() + b"\0"
    return raw + b"\0" * ((8 - len(raw) % 8) % 8)


sk = socket.create_connection(("127.0.0.1", int(PORT)), timeout=5)
sk.sendall(msg(0, 0, 13) + msg(20, payload=name("raw")) + msg(21, payload=name("test"))
           + msg(18, p1=5, p2=13, payload=name(f"{DEV}:fixed")))
buf = b""
sid = None
status = None
while status is None:
    chunk = sk.recv(4096)
    check(chunk, "circuit stays open")
    buf += chunk
    while len(buf) >= 16:
        cmd, size, typ, count, p1, p2 = struct.unpack(">HHHHII", buf[:16])
        if len(buf) < 16 + size:
            break
        buf = buf[16 + size:]
        if cmd == 18:
            sid = p2
            sk.sendall(msg(19, 6, 1, sid, 77, struct.pack(">d", 9.0)))
        elif cmd == 19:
            status = (p1, p2)
check(status == (376, 77), f"raw WRITE_NOTIFY to a read-only PV: ECA_NOWTACCESS for our IOID ({status})")
check(g("fixed") == 1.0, "the refused write changed nothing")
print("all checks passed", flush=True)
