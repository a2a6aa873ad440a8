#!/usr/bin/python3
"""An array soft point through pyepics (ca_array.sh). Phase "first": its
native count, a count-0 read (current length) and a fixed-count read
(padded with zeros), metadata, a monitor that sees each write once, writes
of a shorter and a longer array, a write beyond max_length refused by libca
and (raw WRITE_NOTIFY) by weftd with ECA_BADCOUNT, a read beyond it
likewise; the last value written is [7.25, -1, 0.5]. Phase "restarted": that
value is back. Usage: PORT DEVICE PHASE"""
import os
import socket
import struct
import sys
import time

PORT, DEV, PHASE = sys.argv[1], sys.argv[2], sys.argv[3]
os.environ.update({"EPICS_CA_AUTO_ADDR_LIST": "NO", "EPICS_CA_ADDR_LIST": "127.0.0.1",
                   "EPICS_CA_SERVER_PORT": PORT, "EPICS_CA_REPEATER_PORT": str(int(PORT) + 1)})
import epics  # noqa: E402
import numpy  # noqa: E402

ECA_BADCOUNT = 176
PV = f"{DEV}:sp:curve"


def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)
    print("ok:", what, flush=True)


def get(**kw):
    return epics.caget(PV, timeout=5, use_monitor=False, **kw)


def same(value, want):
    return isinstance(value, numpy.ndarray) and value.tolist() == want


ch = epics.ca.create_channel(PV, connect=True)
check(epics.ca.element_count(ch) == 16, f"native count is max_length 16 ({epics.ca.element_count(ch)})")
check(epics.ca.field_type(ch) == epics.dbr.DOUBLE, "native type DBR_DOUBLE")

if PHASE == "restarted":
    check(same(get(), [7.25, -1, 0.5]), f"the persisted array is back ({get()})")
    print("all checks passed", flush=True)
    sys.exit(0)

check(same(get(), [1, 2.5, 3]), f"caget (count 0) gives the current 3 elements ({get()!r})")
check(same(get(count=5), [1, 2.5, 3, 0, 0]), f"a fixed count of 5 is padded with zeros ({get(count=5)!r})")
cv = epics.ca.get_ctrlvars(ch)
check(cv["units"] == "mm" and cv["precision"] == 2, f"DBR_CTRL_DOUBLE carries its metadata ({cv})")
tv = epics.ca.get_timevars(ch)
check(tv["severity"] == 0 and tv["status"] == 0, "no alarm")
check(epics.ca.get(ch, ftype=epics.dbr.TIME_DOUBLE, count=0).tolist() == [1, 2.5, 3], "DBR_TIME_DOUBLE, count 0")
check(epics.ca.get(ch, ftype=epics.dbr.CTRL_DOUBLE, count=3).tolist() == [1, 2.5, 3], "DBR_CTRL_DOUBLE, count 3")
check(epics.ca.get(ch, ftype=epics.dbr.DOUBLE, count=0).tolist() == [1, 2.5, 3], "plain DBR_DOUBLE, count 0")
check(epics.ca.get(ch, ftype=epics.dbr.LONG, count=3).tolist() == [1, 2, 3], "converted to DBR_LONG (2.5 -> 2)")

seen = []
mon = epics.PV(PV, auto_monitor=True, callback=lambda value=None, **kw: seen.append(list(value)))
deadline = time.time() + 5
while not seen and time.time() < deadline:
    time.sleep(0.05)
check(seen == [[1, 2.5, 3]], f"the monitor's first update is the initial array ({seen})")

check(epics.caput(PV, [4.5, 5.5], wait=True, timeout=5) == 1, "caput of a shorter array (2 elements)")
check(same(get(), [4.5, 5.5]), f"a count-0 read after it gets the new length 2 ({get()!r})")
deadline = time.time() + 3
while [4.5, 5.5] not in seen and time.time() < deadline:
    time.sleep(0.05)
check(seen.count([4.5, 5.5]) == 1, f"the monitor saw the write once ({seen})")

ten = [float(i) for i in range(10)]
check(epics.caput(PV, ten, wait=True, timeout=5) == 1 and same(get(), ten), "caput of 10 elements")

# libca itself refuses a put beyond the native count (pyepics' caput would cut it to 16 without a word).
data = (17 * epics.ca.ctypes.c_double)(*range(17))
check(epics.ca.libca.ca_array_put(epics.dbr.DOUBLE, 17, ch, data) == ECA_BADCOUNT,
      "libca refuses a 17-element put to a 16-element channel (ECA_BADCOUNT)")


def msg(cmd, typ=0, count=0, p1=0, p2=0, payload=b""):
    return struct.pack(">HHHHII", cmd, len(payload), typ, count, p1, p2) + payload


def name(t):
    raw = t.encode() + b"\0"
    return raw + b"\0" * ((8 - len(raw) % 8) % 8)


# A raw client sends what libca would not: WRITE_NOTIFY and READ_NOTIFY of 17 elements.
sk = socket.create_connection(("127.0.0.1", int(PORT)), timeout=5)
sk.sendall(msg(0, 0, 13) + msg(20, payload=name("raw")) + msg(21, payload=name("test"))
           + msg(18, p1=5, p2=13, payload=name(PV)))
buf = b""
replies = {}
while 19 not in replies or 15 not in replies:
    chunk = sk.recv(65536)
    check(chunk, "the raw circuit stays open")
    buf += chunk
    while len(buf) >= 16:
        cmd, size, typ, count, p1, p2 = struct.unpack(">HHHHII", buf[:16])
        if len(buf) < 16 + size:
            break
        buf = buf[16 + size:]
        if cmd == 18:
            check(count == 16, f"CREATE_CHAN's count is 16 ({count})")
            sk.sendall(msg(19, 6, 17, p2, 77, struct.pack(">17d", *range(17)))
                       + msg(15, 6, 17, p2, 78))
        elif cmd in (19, 15):
            replies[cmd] = (p1, p2, count)
check(replies[19][:2] == (ECA_BADCOUNT, 77), f"a 17-element WRITE_NOTIFY: ECA_BADCOUNT ({replies[19]})")
check(replies[15][:2] == (ECA_BADCOUNT, 78), f"a 17-element READ_NOTIFY: ECA_BADCOUNT ({replies[15]})")
sk.close()
check(same(get(), ten), "the refused write changed nothing")

check(epics.caput(PV, [7.25, -1, 0.5], wait=True, timeout=5) == 1 and same(get(), [7.25, -1, 0.5]),
      "the last write: [7.25, -1, 0.5]")
print("all checks passed", flush=True)
