#!/usr/bin/python3
"""pyepics through the gateway box's own ca (ca_gateway_write.sh): writes
that go through the gateway to the upstream weftd, and an upstream array
soft point served again as an array. Reads upstream directly to judge.

Usage: UPSTREAM_PORT GATEWAY_PORT PHASE
  writes:       caput wait=True to gw:up:set reaches ioc:sp:set (read upstream),
                the gateway's read-back; a put the upstream refuses fails;
                the array: its native count, values, an array write through
  disconnected: a put while the upstream is gone fails at once (prints "SECONDS s")
  hold:         one put, prints "put sent", then waits for its answer and
                prints "outcome STATUS SECONDS" (STATUS none: no answer)
"""
import os
import sys
import time

UP, GW, PHASE = sys.argv[1], sys.argv[2], sys.argv[3]
os.environ.update({"EPICS_CA_AUTO_ADDR_LIST": "NO", "EPICS_CA_ADDR_LIST": f"127.0.0.1:{UP} 127.0.0.1:{GW}",
                   "EPICS_CA_REPEATER_PORT": str(int(GW) + 1), "EPICS_CA_CONN_TMO": "5"})
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import epics  # noqa: E402
import numpy  # noqa: E402
from epics import ca, dbr  # noqa: E402
from ca_put import put_with_status  # noqa: E402

ECA_NORMAL, ECA_PUTFAIL = 1, 160


def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)
    print("ok:", what, flush=True)


def channel(name):
    chid = ca.create_channel(name, connect=True, auto_cb=False)
    check(ca.connect_channel(chid, timeout=5), f"{name} connects")
    return chid


def put_status(name, values, timeout=15.0):
    """One WRITE_NOTIFY through libca: (status or None, seconds)."""
    chid = channel(name)
    ftype = ca.field_type(chid)
    data = (len(values) * dbr.Map[ftype])()
    for i, v in enumerate(values):
        data[i] = v
    if len(values) == 1:
        ret, status, seconds = put_with_status(chid, ftype, data, timeout)
    else:  # put_with_status sends one element
        from ca_put import PUT_CB, done
        done.clear()
        t0 = time.monotonic()
        ret = ca.libca.ca_array_put_callback(ftype, len(values), chid, data, PUT_CB, None)
        ca.flush_io()
        while ret == 1 and "status" not in done and time.monotonic() - t0 < timeout:
            ca.poll(0.002)
        status, seconds = done.get("status"), time.monotonic() - t0
    check(ret == ECA_NORMAL, f"put to {name} queued ({ret})")
    return status, seconds


def get(name, **kw):
    return epics.caget(name, timeout=5, use_monitor=False, **kw)


if PHASE == "writes":
    check(get("ioc:sp:set") == 1.0 and get("gw:up:set") == 1.0, "ioc:sp:set and gw:up:set start at 1.0")
    check(epics.caput("gw:up:set", 7.5, wait=True, timeout=10) == 1, "caput gw:up:set 7.5 wait=True completes")
    check(get("ioc:sp:set") == 7.5, f"the upstream's ioc:sp:set is now 7.5 ({get('ioc:sp:set')})")
    check(get("gw:up:set") == 7.5, f"a read through the gateway right after sees 7.5 ({get('gw:up:set')})")
    # No monitor update comes for this one (upstream mdel 100): the gateway's read-back brings it.
    check(epics.caput("gw:up:damped", 7.5, wait=True, timeout=10) == 1, "caput gw:up:damped 7.5 wait=True")
    check(get("ioc:sp:damped") == 7.5, f"the upstream's ioc:sp:damped is 7.5 ({get('ioc:sp:damped')})")
    check(get("gw:up:damped") == 7.5, f"read through the gateway right after: 7.5 ({get('gw:up:damped')})")
    status, seconds = put_status("gw:up:set", [-3.25])
    check(status == ECA_NORMAL, f"libca's put callback status for gw:up:set is ECA_NORMAL ({status})")
    check(get("ioc:sp:set") == -3.25, "the upstream holds -3.25")
    # The upstream refuses (its soft point is not writable): the pyepics client sees a failed put.
    status, seconds = put_status("gw:up:locked", [9])
    check(status == ECA_PUTFAIL and seconds < 2.0,
          f"a put the upstream refuses comes back ECA_PUTFAIL at once ({status}, {seconds:.3f} s; write_timeout 8 s)")
    check(get("ioc:sp:locked") == 5.0, "the upstream's ioc:sp:locked is still 5")
    # An upstream that answers the WRITE_NOTIFY with an ERROR (the test peer).
    status, seconds = put_status("gw:up:fake", [1])
    check(status == ECA_PUTFAIL and seconds < 2.0,
          f"a put the upstream answers with an ERROR fails at once ({status}, {seconds:.3f} s; write_timeout 8 s)")
    # A text point: converted upstream to its native type.
    check(epics.caput("gw:up:note", "written", wait=True, timeout=10) == 1, "caput gw:up:note 'written'")
    check(get("ioc:sp:note") == "written", f"the upstream's text point took it ({get('ioc:sp:note')!r})")
    # An enum: its state name through the box, the index upstream.
    check(epics.caput("gw:up:mode", "manual", wait=True, timeout=10) == 1, "caput gw:up:mode 'manual'")
    check(epics.caget("ioc:sp:mode", as_string=True, timeout=5, use_monitor=False) == "manual",
          f"the upstream's enum is 'manual' ({epics.caget('ioc:sp:mode', as_string=True, use_monitor=False)!r})")
    # The array: served by the box as an array PV with the upstream's native count.
    chid = channel("gw:up:curve")
    check(ca.element_count(chid) == 8, f"gw:up:curve's native count is the upstream's 8 ({ca.element_count(chid)})")
    check(ca.field_type(chid) == dbr.DOUBLE, "gw:up:curve is DBR_DOUBLE")
    up, gw = get("ioc:sp:curve"), get("gw:up:curve")
    check(isinstance(gw, numpy.ndarray) and gw.tolist() == up.tolist() == [1, 2.5, 3],
          f"gw:up:curve {gw!r} is the upstream's {up!r}")
    tv = ca.get(chid, ftype=dbr.TIME_DOUBLE, count=0)
    check(tv is not None and tv.tolist() == [1, 2.5, 3], "DBR_TIME_DOUBLE (count 0) of the array through the gateway")
    status, _ = put_status("gw:up:curve", [4, 5, 6, 7, 8])
    check(status == ECA_NORMAL, f"an array write of 5 elements through the gateway ({status})")
    check(get("ioc:sp:curve").tolist() == [4, 5, 6, 7, 8], f"the upstream holds it ({get('ioc:sp:curve')!r})")
    check(get("gw:up:curve").tolist() == [4, 5, 6, 7, 8], f"read back through the gateway ({get('gw:up:curve')!r})")
    check(get("gw:up:curve", count=8).tolist() == [4, 5, 6, 7, 8, 0, 0, 0], "a count of 8 padded with zeros")
    print("PASS", flush=True)
elif PHASE == "disconnected":
    status, seconds = put_status("gw:up:set", [2])
    check(status == ECA_PUTFAIL, f"a put to a disconnected upstream PV fails ({status})")
    check(seconds < 2.0, f"at once ({seconds:.3f} s; the box's write_timeout is 8 s)")
    print(f"{seconds:.3f} s", flush=True)
elif PHASE == "hold":
    chid = channel("gw:up:set")
    from ca_put import PUT_CB, done
    data = (1 * dbr.Map[dbr.DOUBLE])()
    data[0] = 11
    done.clear()
    t0 = time.monotonic()
    ret = ca.libca.ca_array_put_callback(dbr.DOUBLE, 1, chid, data, PUT_CB, None)
    ca.flush_io()
    print("put sent", flush=True)
    while ret == 1 and "status" not in done and time.monotonic() - t0 < 20:
        ca.poll(0.002)
    print(f"outcome {done.get('status', 'none')} {time.monotonic() - t0:.3f}", flush=True)
