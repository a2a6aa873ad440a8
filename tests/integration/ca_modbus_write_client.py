#!/usr/bin/python3
"""Writes through Channel Access to Modbus points (ca_modbus_write.sh):
pyepics caput(wait=True), and libca's own put callback status
(ca_array_put_callback: pyepics' caput drops the status), plus a raw
WRITE_NOTIFY / WRITE for what libca refuses to send.

Usage: PORT DEVICE PHASE
  writes: the checks of the main phase (prints "RTT <ms>" lines)
  stop:   one put to the mute unit, prints "put sent", then waits for the
          answer or the disconnect and prints "outcome ..."
  order:  a burst of writes to h108 (polled every 100 ms): 59 plain WRITEs
          and a WRITE_NOTIFY, pipelined; its monitor must never step back
          (a poll or read-back from before a write taken after the write's
          read-back) and must end at the last value
"""
import os
import socket
import struct
import sys
import time

PORT, DEV, PHASE = sys.argv[1], sys.argv[2], sys.argv[3]
os.environ.update({"EPICS_CA_AUTO_ADDR_LIST": "NO", "EPICS_CA_ADDR_LIST": "127.0.0.1",
                   "EPICS_CA_SERVER_PORT": PORT, "EPICS_CA_REPEATER_PORT": str(int(PORT) + 1),
                   "EPICS_CA_CONN_TMO": "5"})
import epics  # noqa: E402
from epics import ca, dbr  # noqa: E402
from ca_put import PUT_CB, done, put_with_status  # noqa: E402

ECA_NORMAL, ECA_PUTFAIL, ECA_NOWTACCESS = 1, 160, 376


def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)
    print("ok:", what, flush=True)




def put_status(name, value, timeout=15.0):
    """WRITE_NOTIFY through libca; (status, seconds), status None when no answer came."""
    chid = ca.create_channel(name, connect=True, auto_cb=False)
    check(ca.connect_channel(chid, timeout=5), f"{name} connects")
    ftype = ca.field_type(chid)
    data = (1 * dbr.Map[ftype])()
    data[0] = value
    ret, status, seconds = put_with_status(chid, ftype, data, timeout)
    check(ret == ECA_NORMAL, f"put to {name} queued ({ret})")
    return status, seconds


def name_payload(t):
    raw = t.encode() + b"\0"
    return raw + b"\0" * ((8 - len(raw) % 8) % 8)


def msg(cmd, typ=0, count=0, p1=0, p2=0, payload=b""):
    return struct.pack(">HHHHII", cmd, len(payload), typ, count, p1, p2) + payload


def raw_write(pv, value, notify, user="raw"):
    """A raw circuit: CREATE_CHAN, then WRITE_NOTIFY (19) or WRITE (4) of a DOUBLE.
    Returns the reply (19) or the ERROR (11) as (cmd, p1, p2, text)."""
    sk = socket.create_connection(("127.0.0.1", int(PORT)), timeout=10)
    sk.sendall(msg(0, 0, 13) + msg(20, payload=name_payload(user)) + msg(21, payload=name_payload("test"))
               + msg(18, p1=5, p2=13, payload=name_payload(pv)))
    buf = b""
    while True:
        chunk = sk.recv(4096)
        check(chunk, "raw circuit stays open")
        buf += chunk
        while len(buf) >= 16:
            cmd, size, typ, count, p1, p2 = struct.unpack(">HHHHII", buf[:16])
            if len(buf) < 16 + size:
                break
            payload, buf = buf[16:16 + size], buf[16 + size:]
            if cmd == 18:
                sk.sendall(msg(19 if notify else 4, 6, 1, p2, 77 if notify else 5, struct.pack(">d", value)))
            elif cmd == 19 and notify:
                sk.close()
                return (cmd, p1, p2, "")
            elif cmd == 11:
                sk.close()
                text = payload[16:].split(b"\0")[0].decode(errors="replace")
                return (cmd, p2, p1, text)


g = lambda n: epics.caget(f"{DEV}:{n}", timeout=5, use_monitor=False)

if PHASE == "writes":
    check(abs(g("plc:h106") - 100.6) < 1e-9, "h106 reads the server's 1006 scaled: 100.6")
    ctrl = epics.ca.get_ctrlvars(epics.ca.create_channel(f"{DEV}:plc:h106", connect=True))
    check(ctrl["precision"] == 1 and ctrl["units"] == "degC", f"DBR_CTRL: PREC 1, EGU degC from the point's config ({ctrl})")
    want = {"upper_disp_limit": 200, "lower_disp_limit": 0, "upper_ctrl_limit": 180, "lower_ctrl_limit": 1,
            "upper_alarm_limit": 150, "upper_warning_limit": 120, "lower_warning_limit": 5, "lower_alarm_limit": 2}
    check(all(ctrl[k] == v for k, v in want.items()), f"DBR_CTRL: display, control and alarm limits from the config ({ctrl})")
    check(ctrl["severity"] == 0, f"100.6 is inside the alarm limits: NO_ALARM ({ctrl['severity']})")
    coil = epics.ca.get_ctrlvars(epics.ca.create_channel(f"{DEV}:plc:coil1", connect=True))
    check(list(coil["enum_strs"]) == ["off", "on"], f"DBR_CTRL_ENUM: the coil's states from the config ({coil})")
    check(epics.caget(f"{DEV}:plc:coil1", as_string=True, timeout=5, use_monitor=False) == "off", "the coil as text: 'off'")
    check(epics.caget(f"{DEV}:plc:h106", as_string=True, timeout=5) == "100.6", "as text with its precision: '100.6'")
    check(epics.caput(f"{DEV}:plc:h106", 12.3, wait=True, timeout=10) == 1, "caput wait=True to h106 completes")
    check(abs(g("plc:h106") - 12.3) < 1e-9, "a read straight after the put sees the device's read-back 12.3")
    status, secs = put_status(f"{DEV}:plc:h106", 45.6)
    check(status == ECA_NORMAL, f"libca's put callback: ECA_NORMAL ({status})")
    rtts = []
    for k in range(20):
        status, secs = put_status(f"{DEV}:plc:h106", 50.0 + k)
        check(status == ECA_NORMAL, f"put {k} acknowledged")
        rtts.append(secs * 1000)
    rtts.sort()
    print(f"RTT median {rtts[len(rtts) // 2]:.1f} ms max {rtts[-1]:.1f} ms (put + device ack + read-back)", flush=True)
    check(abs(g("plc:h106") - 69.0) < 1e-9, "the last put (69.0) reads back")
    for value, severity, status in ((130.0, 1, 4), (160.0, 2, 3), (4.0, 1, 6), (1.5, 2, 5), (69.0, 0, 0)):  # back to 69.0 for what follows
        check(put_status(f"{DEV}:plc:h106", value)[0] == ECA_NORMAL, f"put {value}")
        t = epics.ca.get_timevars(epics.ca.create_channel(f"{DEV}:plc:h106", connect=True))
        check((t["severity"], t["status"]) == (severity, status),
              f"{value}: the alarm limits give severity {severity}, status {status} ({t['severity']}, {t['status']})")
    # The coil: written by state name.
    check(epics.caget(f"{DEV}:plc:coil1", timeout=5, use_monitor=False) == 0, "coil1 reads off")
    check(epics.caput(f"{DEV}:plc:coil1", 1, wait=True, timeout=10) == 1
          and epics.caget(f"{DEV}:plc:coil1", timeout=5, use_monitor=False) == 1, "coil1 written on and read back")
    # Control limits DRVL 1 .. DRVH 180 clamp a put (EPICS ao); the device holds the clamped value.
    check(put_status(f"{DEV}:plc:h106", 7000.0)[0] == ECA_NORMAL, "7000 to h106 (DRVH 180): ECA_NORMAL")
    check(abs(g("plc:h106") - 180.0) < 1e-9, f"7000 was clamped to DRVH: h106 reads 180 ({g('plc:h106')})")
    check(put_status(f"{DEV}:plc:h106", 0.5)[0] == ECA_NORMAL, "0.5 to h106 (DRVL 1): ECA_NORMAL")
    check(abs(g("plc:h106") - 1.0) < 1e-9, f"0.5 was clamped to DRVL: h106 reads 1 ({g('plc:h106')})")
    check(put_status(f"{DEV}:plc:h106", 69.0)[0] == ECA_NORMAL, "back to 69.0")
    # Out of the register's range (h107 has no limits, so no clamp): refused before the wire.
    h107 = g("plc:h107")
    status, _ = put_status(f"{DEV}:plc:h107", 7000.0)
    check(status == ECA_PUTFAIL, f"7000 (raw 70000 > 65535) is ECA_PUTFAIL ({status})")
    check(g("plc:h107") == h107, "the refused value changed nothing")
    # A device exception: the write to an unmapped register.
    status, _ = put_status(f"{DEV}:bad:h200", 1.0)
    check(status == ECA_PUTFAIL, f"an exception response is ECA_PUTFAIL ({status})")
    reply = raw_write(f"{DEV}:bad:h200", 2.0, notify=False)
    check(reply[0] == 11 and reply[1] == ECA_PUTFAIL and "illegal data address" in reply[3],
          f"a plain WRITE's ERROR carries the Modbus exception text ({reply})")
    # A device that never answers.
    status, secs = put_status(f"{DEV}:mute:h100", 1.0)
    check(status == ECA_PUTFAIL, f"no answer from the device is ECA_PUTFAIL ({status}, after {secs:.2f} s)")
    check(0.4 < secs < 5, f"the timeout came after the master's attempts, not the client's ({secs:.2f} s)")
    # Not writable: libca itself refuses (rights), the server refuses a raw write with NOWTACCESS.
    try:
        epics.caput(f"{DEV}:plc:h100", 5.0, wait=True, timeout=5)
        check(False, "h100 (not writable) must refuse")
    except Exception as e:
        check("Write access denied" in str(e), f"libca refuses h100 by its rights ({e})")
    reply = raw_write(f"{DEV}:plc:h100", 5.0, notify=True)
    check(reply[:3] == (19, ECA_NOWTACCESS, 77), f"raw WRITE_NOTIFY to h100: ECA_NOWTACCESS ({reply})")
    check(g("plc:h100") == 1000, "h100 unchanged")
    print("all checks passed", flush=True)
elif PHASE == "property":
    # A DBE_PROPERTY subscription: the initial update, then one when a reload
    # restarts gather with a new unit for the point (ca_modbus_write.sh).
    units = []
    chid = ca.create_channel(f"{DEV}:plc:h106", connect=True)
    check(ca.connect_channel(chid, timeout=5), "h106 connects")
    sub = ca.create_subscription(chid, use_ctrl=True, mask=dbr.DBE_PROPERTY,
                                 callback=lambda units_=None, **kw: units.append(kw.get("units")))
    t0 = time.monotonic()
    while not units and time.monotonic() - t0 < 5:
        ca.poll(0.01)
    check(units == ["degC"], f"the initial update carries EGU degC ({units})")
    # coil1's rights as pushed: the reload makes it read-only without a reconnect.
    rights, conns = [], []
    coil = epics.PV(f"{DEV}:plc:coil1", access_callback=lambda r, w, **kw: rights.append((r, w)),
                    connection_callback=lambda conn=None, **kw: conns.append(conn))
    check(coil.wait_for_connection(timeout=5) and coil.write_access, "coil1 connects, writable")
    print("subscribed", flush=True)
    while (len(units) < 2 or coil.write_access) and time.monotonic() - t0 < 30:
        ca.poll(0.01)
    check(units == ["degC", "degF"], f"DBE_PROPERTY: one update when the unit changed to degF ({units})")
    check(not coil.write_access and coil.read_access and rights[-1] == (True, False),
          f"after the reload coil1 is read-only, told by ACCESS_RIGHTS ({rights})")
    check(conns == [True], f"coil1's channel stayed connected through the reload ({conns})")
    try:
        epics.caput(f"{DEV}:plc:coil1", 1, wait=True, timeout=5)
        check(False, "coil1 must refuse after the reload")
    except Exception as e:
        check("Write access denied" in str(e), f"libca refuses coil1 by its new rights ({e})")
    print("all checks passed", flush=True)
elif PHASE == "stop":
    chid = ca.create_channel(f"{DEV}:mute:h100", connect=True, auto_cb=False)
    check(ca.connect_channel(chid, timeout=15), "mute:h100 connects (its first comm-error reading comes after 5 s)")
    data = (1 * dbr.Map[ca.field_type(chid)])()
    data[0] = 3.0
    done.clear()
    check(ca.libca.ca_array_put_callback(ca.field_type(chid), 1, chid, data, PUT_CB, None) == ECA_NORMAL, "put queued")
    ca.flush_io()
    print("put sent", flush=True)
    t0 = time.monotonic()
    while "status" not in done and ca.isConnected(chid) and time.monotonic() - t0 < 20:
        ca.poll(0.01)
    print(f"outcome status={done.get('status')} connected={ca.isConnected(chid)} after "
          f"{time.monotonic() - t0:.2f} s", flush=True)
elif PHASE == "order":
    n = 60
    chid = ca.create_channel(f"{DEV}:fast:h108", connect=True, auto_cb=False)
    check(ca.connect_channel(chid, timeout=10), "fast:h108 connects")
    seen = []  # every monitor update of h108
    sub = ca.create_subscription(chid, mask=dbr.DBE_VALUE, callback=lambda value, **_: seen.append(value))
    t0 = time.monotonic()
    while not seen and time.monotonic() - t0 < 10:
        ca.poll(0.01)
    check(seen == [1008], f"the monitor's first update is the server's 1008 ({seen})")
    ftype = ca.field_type(chid)
    data = (1 * dbr.Map[ftype])()
    for k in range(1, n):
        data[0] = k
        if ca.libca.ca_array_put(ftype, 1, chid, data) != ECA_NORMAL:
            check(False, f"WRITE {k} queued")
    data[0] = n
    done.clear()
    check(ca.libca.ca_array_put_callback(ftype, 1, chid, data, PUT_CB, None) == ECA_NORMAL, "WRITE_NOTIFY queued")
    ca.flush_io()
    t0 = time.monotonic()
    while "status" not in done and time.monotonic() - t0 < 40:
        ca.poll(0.002)
    print(f"the burst took {time.monotonic() - t0:.2f} s", flush=True)
    check(done.get("status") == ECA_NORMAL, f"the burst's last write: ECA_NORMAL ({done.get('status')})")
    check(g("fast:h108") == n, f"a read after the WRITE_NOTIFY sees the device's read-back {n} ({g('fast:h108')})")
    t0 = time.monotonic()
    while seen[-1] != n and time.monotonic() - t0 < 10:
        ca.poll(0.01)
    ca.poll(0.5)  # polls of h108 go on: anything the server still sends
    burst = seen[1:]
    back = [(a, b) for a, b in zip(burst, burst[1:]) if b < a]
    print(f"{len(burst)} monitor updates in the burst: {burst}", flush=True)
    check(1008 not in burst, f"no update goes back to the value from before the burst (1008)")
    check(not back, f"no update goes backwards (first backward steps: {back[:3]})")
    check(seen[-1] == n, f"the monitor ends at the last value written, {n} ({seen[-1]})")
    print("all checks passed", flush=True)
