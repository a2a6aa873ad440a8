#!/usr/bin/python3
"""Persisted soft points through libca (ca_persist.sh). Modes:
  write              caput (WRITE_NOTIFY, libca's put callback status) to every persisted point and one that is not
  expect JSON        caget of each PV in JSON {pv-suffix: value} equals the value
  burst N SENT       N-1 plain WRITEs then one WRITE_NOTIFY to sp:target, SENT touched once all are flushed;
                     a read then sees N, and a monitor of sp:target never goes backwards
  stopwrite [VALUE]  one WRITE_NOTIFY to sp:target = VALUE (99) ("put sent"), then its outcome
  putfail VALUE      a WRITE_NOTIFY of VALUE to sp:target gets ECA_PUTFAIL and changes nothing
Usage: PORT DEVICE MODE [ARGS]"""
import json
import os
import sys
import time

PORT, DEV, MODE = sys.argv[1], sys.argv[2], sys.argv[3]
os.environ.update({"EPICS_CA_AUTO_ADDR_LIST": "NO", "EPICS_CA_ADDR_LIST": "127.0.0.1",
                   "EPICS_CA_SERVER_PORT": PORT, "EPICS_CA_REPEATER_PORT": str(int(PORT) + 1)})
import epics  # noqa: E402
from epics import ca, dbr  # noqa: E402
from ca_put import PUT_CB, done, put_with_status  # noqa: E402

ECA_NORMAL, ECA_PUTFAIL = 1, 160


def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)
    print("ok:", what, flush=True)




def channel(suffix):
    chid = ca.create_channel(f"{DEV}:{suffix}", connect=True, auto_cb=False)
    check(ca.connect_channel(chid, timeout=10), f"{DEV}:{suffix} connects")
    return chid


def buffer(chid, value):
    ftype = ca.field_type(chid)
    if ftype == dbr.STRING:
        data = (1 * dbr.Map[ftype])()
        data[0].value = value.encode()
    else:
        data = (1 * dbr.Map[ftype])()
        data[0] = value
    return ftype, data


def put_status(suffix, value, timeout=15.0):
    """WRITE_NOTIFY; libca's status (None: no answer)."""
    chid = channel(suffix)
    ftype, data = buffer(chid, value)
    queued, status, _ = put_with_status(chid, ftype, data, timeout)
    check(queued == ECA_NORMAL, f"put to {suffix} queued")
    return status


g = lambda suffix: epics.caget(f"{DEV}:{suffix}", timeout=10, use_monitor=False)

if MODE == "write":
    for suffix, value in (("sp:target", 72.5), ("sp:mode", 2), ("sp:note", "saved text"), ("sp:count", -3),
                          ("sp:plain", 9.0)):
        check(put_status(suffix, value) == ECA_NORMAL, f"caput {suffix} = {value!r}: ECA_NORMAL")
        check(g(suffix) == value, f"{suffix} reads back {value!r}")
elif MODE == "expect":
    for suffix, value in json.loads(sys.argv[4]).items():
        got = g(suffix)
        check(got == value, f"{suffix} is {value!r} ({got!r})")
elif MODE == "burst":
    n, sent = int(sys.argv[4]), sys.argv[5]
    chid = channel("sp:target")
    seen = []  # every monitor update of sp:target: the burst's values must never go backwards
    sub = ca.create_subscription(chid, use_time=True, mask=dbr.DBE_VALUE, callback=lambda value, **_: seen.append(value))
    t0 = time.monotonic()
    while not seen and time.monotonic() - t0 < 10:
        ca.poll(0.01)
    check(len(seen) == 1, f"the monitor's first update ({seen})")
    for k in range(1, n):
        ftype, data = buffer(chid, float(k))
        ret = ca.libca.ca_array_put(ftype, 1, chid, data)
        if ret != ECA_NORMAL:
            check(False, f"WRITE {k} queued ({ret})")
    ftype, data = buffer(chid, float(n))
    done.clear()
    check(ca.libca.ca_array_put_callback(ftype, 1, chid, data, PUT_CB, None) == ECA_NORMAL, "WRITE_NOTIFY queued")
    ca.flush_io()
    open(sent, "w").close()
    t0 = time.monotonic()
    while "status" not in done and time.monotonic() - t0 < 60:
        ca.poll(0.002)
    check(done.get("status") == ECA_NORMAL, f"the burst's last write: ECA_NORMAL ({done.get('status')})")
    got = g("sp:target")
    check(got == float(n), f"sp:target reads {n} ({got!r})")
    t0 = time.monotonic()
    while seen[-1] != float(n) and time.monotonic() - t0 < 10:
        ca.poll(0.01)
    ca.poll(0.3)  # anything the server still sends after the last value
    burst = seen[1:]  # after the value from before the burst
    back = [(a, b) for a, b in zip(burst, burst[1:]) if b < a]
    check(not back, f"{len(burst)} monitor updates in the burst, none going backwards (first backward steps: {back[:3]})")
    check(seen[-1] == float(n), f"the monitor ends at {n} ({seen[-1]})")
elif MODE == "stopwrite":
    chid = channel("sp:target")
    ftype, data = buffer(chid, float(sys.argv[4]) if len(sys.argv) > 4 else 99.0)
    done.clear()
    check(ca.libca.ca_array_put_callback(ftype, 1, chid, data, PUT_CB, None) == ECA_NORMAL, "put queued")
    ca.flush_io()
    print("put sent", flush=True)
    t0 = time.monotonic()
    while "status" not in done and ca.isConnected(chid) and time.monotonic() - t0 < 30:
        ca.poll(0.01)
    print(f"outcome status={done.get('status')} connected={ca.isConnected(chid)}", flush=True)
elif MODE == "putfail":
    before = g("sp:target")
    status = put_status("sp:target", float(sys.argv[4]))
    check(status == ECA_PUTFAIL, f"a save that fails: ECA_PUTFAIL ({status})")
    check(g("sp:target") == before, f"the value was not applied: still {before} ({g('sp:target')})")
else:
    sys.exit(f"unknown mode {MODE}")
