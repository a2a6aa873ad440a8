#!/usr/bin/python3
"""pyepics against both boxes of ca_gateway.sh: the upstream weftd (its own
PVs "ioc:*") and the gateway box's own ca service, which serves the points
the gateway publishes ("gw:up:*"). The proxied PVs must carry the
upstream's values, time stamps (to the microsecond: pyepics' float), units
and enum strings.
Usage: UPSTREAM_PORT GATEWAY_PORT"""
import os
import sys

UP, GW = sys.argv[1], sys.argv[2]
os.environ.update({"EPICS_CA_AUTO_ADDR_LIST": "NO", "EPICS_CA_ADDR_LIST": f"127.0.0.1:{UP} 127.0.0.1:{GW}",
                   "EPICS_CA_REPEATER_PORT": str(int(GW) + 1)})
import epics  # noqa: E402


def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)
    print("ok:", what, flush=True)


def read(name):
    pv = epics.PV(name, form="ctrl")
    value = pv.get(timeout=10, use_monitor=False)
    check(value is not None, f"caget {name} answers")
    pv.get_ctrlvars(timeout=10)
    timed = epics.PV(name, form="time")
    timed.get(timeout=10, use_monitor=False)
    return value, timed.timestamp, pv.units, pv.enum_strs


for up_name, gw_name in [("ioc:sp:flow", "gw:up:flow"), ("ioc:sp:mode", "gw:up:mode"), ("ioc:sp:note", "gw:up:note")]:
    uv, ut, uu, ue = read(up_name)
    gv, gt, gu, ge = read(gw_name)
    check(gv == uv, f"{gw_name} = {gv!r}, as {up_name} upstream ({uv!r})")
    check(abs(gt - ut) < 1e-6 and ut > 1.7e9, f"{gw_name} time stamp {gt:.6f} is the upstream's ({ut:.6f})")
    if up_name.endswith("flow"):
        check(gu == uu == "l/min", f"{gw_name} units {gu!r} as upstream's {uu!r}")
    if up_name.endswith("mode"):
        check(tuple(ge or ()) == tuple(ue or ()) == ("off", "auto", "manual"),
              f"{gw_name} enum strings {ge} as upstream's {ue}")
print("PASS", flush=True)
