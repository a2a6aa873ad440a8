#!/usr/bin/python3
"""Clients of ca_gateway_proxy.sh and ca_gateway_proxy_stop.sh, talking to the
gateway box only (EPICS_CA_ADDR_LIST = the box, no auto list): upstream names
("ioc:*", served by the upstream weftd) through the box's proxy.

  first GW        pyepics caget of upstream names (the first one timed), an
                  unknown name matching the pattern (no answer; NOT_FOUND to
                  DO_REPLY), raw UDP searches and a raw CREATE_CHAN of a name
                  never searched over UDP (EPICS_CA_NAME_SERVERS clients)
  monitor GW OUT SECONDS STOPFILE
                  camonitor of ioc:hb:uptime_s, every update and connection
                  change written to OUT ("update T VALUE", "conn T 0|1"), until
                  STOPFILE exists or SECONDS passed
  held GW NAME KIND [wait]
                  a raw request for NAME held by the box: KIND "search" (UDP
                  DO_REPLY) or "create" (CREATE_CHAN on a circuit); prints
                  "held" once sent, then "answer ..." with what came and when
  flood GW N      DONT_REPLY searches for N distinct names nobody has
                  ("ioc:flood:0".."ioc:flood:N-1"), 20 to a datagram
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ca_raw  # noqa: E402
from ca_raw import check  # noqa: E402

MODE, GW = sys.argv[1], sys.argv[2]
os.environ.update({"EPICS_CA_AUTO_ADDR_LIST": "NO", "EPICS_CA_ADDR_LIST": f"127.0.0.1:{GW}",
                   "EPICS_CA_REPEATER_PORT": str(int(GW) + 1)})

SEARCH, NOT_FOUND, CREATE_CHAN, CREATE_CH_FAIL, ACCESS_RIGHTS = 6, 14, 18, 26, 22
DO_REPLY, DONT_REPLY = 10, 5


def udp_search(name, do_reply, cid, wait):
    """One search datagram (VERSION + SEARCH) to the box: [(cmd, p1, p2, seconds after sending)]."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    dgram = ca_raw.msg(0, 0, 13, 0, 0) + ca_raw.msg(SEARCH, DO_REPLY if do_reply else DONT_REPLY, 13, cid, cid,
                                                    ca_raw.name_payload(name))
    sent = time.monotonic()
    s.sendto(dgram, ("127.0.0.1", int(GW)))
    got = []
    deadline = sent + wait
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data, _ = s.recvfrom(4096)
        except socket.timeout:
            break
        msgs, _ = ca_raw.parse(data)
        got += [(m[0], m[3], m[4], time.monotonic() - sent) for m in msgs if m[0] != 0]
        if got:
            break
    s.close()
    return got


def first():
    # One search datagram, never repeated, for an upstream name nobody asked for yet: held by the box
    # and answered once the upstream channel is connected (not dropped, waiting for a retry).
    got = udp_search("ioc:sp:extra", False, 100, 3.0)
    check(len(got) == 1 and got[0][0] == SEARCH and got[0][2] == 100,
          f"a single DONT_REPLY search for the new ioc:sp:extra is answered, in "
          f"{got[0][3] * 1000 if got else -1:.1f} ms ({got})")
    import epics
    t0 = time.monotonic()
    pv = epics.PV("ioc:sp:flow", form="ctrl")
    value = pv.get(timeout=5, use_monitor=False)
    took = time.monotonic() - t0
    check(value == 2.5, f"first caget ioc:sp:flow through the box = {value!r} (2.5), on the first try")
    print(f"# first connect and read of ioc:sp:flow through the box took {took * 1000:.0f} ms", flush=True)
    pv.get_ctrlvars(timeout=5)
    check(pv.units == "l/min", f"its units {pv.units!r} are the upstream's")
    t0 = time.monotonic()
    again = epics.PV("ioc:sp:flow").get(timeout=5, use_monitor=False)
    print(f"# a second PV object for it (already connected in this context) read in "
          f"{(time.monotonic() - t0) * 1000:.0f} ms", flush=True)
    check(again == 2.5, "a repeat read answers")
    mode = epics.caget("ioc:sp:mode", as_string=True, timeout=5)
    check(mode == "auto", f"caget ioc:sp:mode as text = {mode!r} (its enum strings through the box)")
    t0 = time.monotonic()
    none = epics.caget("ioc:nosuch", timeout=3)
    check(none is None, f"caget ioc:nosuch (matches the pattern, no upstream has it) = {none!r} after "
                        f"{time.monotonic() - t0:.1f} s")

    # A connected proxied name: answered at once, even to DONT_REPLY.
    got = udp_search("ioc:sp:flow", False, 101, 2.0)
    check(len(got) == 1 and got[0][0] == SEARCH and got[0][2] == 101,
          f"a search for the connected ioc:sp:flow is answered at once ({got})")
    # Unknown, matching the pattern: nothing to DONT_REPLY (never NOT_FOUND)...
    got = udp_search("ioc:nosuch:a", False, 102, 2.5)
    check(got == [], f"DONT_REPLY search for ioc:nosuch:a: no answer within 2.5 s ({got})")
    # ...NOT_FOUND to DO_REPLY once connect_timeout made it dead, at once from the negative cache after.
    got = udp_search("ioc:nosuch:b", True, 103, 5.0)
    check(len(got) == 1 and got[0][0] == NOT_FOUND and got[0][2] == 103,
          f"DO_REPLY search for ioc:nosuch:b: NOT_FOUND after {got[0][3] if got else '-'} s ({got})")
    got = udp_search("ioc:nosuch:b", True, 104, 2.0)
    check(len(got) == 1 and got[0][0] == NOT_FOUND and got[0][3] < 0.5,
          f"again: NOT_FOUND from the negative cache in {got[0][3] * 1000 if got else -1:.0f} ms")
    # The same DO_REPLY search twice (as libca repeats it) while the name is looked for: answered once.
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    dgram = ca_raw.msg(0, 0, 13, 0, 0) + ca_raw.msg(SEARCH, DO_REPLY, 13, 106, 106, ca_raw.name_payload("ioc:nosuch:d"))
    sock.sendto(dgram, ("127.0.0.1", int(GW)))
    time.sleep(0.05)
    sock.sendto(dgram, ("127.0.0.1", int(GW)))
    answers = []
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data, _ = sock.recvfrom(4096)
        except socket.timeout:
            break
        answers += [m[0] for m in ca_raw.parse(data)[0] if m[0] != 0]
    sock.close()
    check(answers == [NOT_FOUND], f"a search repeated while held is answered once ({answers})")
    got = udp_search("other:thing", True, 105, 2.0)
    check(len(got) == 1 and got[0][0] == NOT_FOUND and got[0][3] < 0.5,
          f"DO_REPLY for other:thing (no pattern matches): NOT_FOUND at once ({got})")

    # A CREATE_CHAN for a name never searched over UDP (a name-server client).
    c = ca_raw.Circuit(GW, user="ns", host="client")
    t0 = time.monotonic()
    c.send(ca_raw.create_chan(7, "ioc:sp:note"))
    got = [m for m in c.read(2, 5.0)]
    cmds = [m[0] for m in got]
    check(cmds == [ACCESS_RIGHTS, CREATE_CHAN] and got[1][3] == 7,
          f"CREATE_CHAN ioc:sp:note without a search: ACCESS_RIGHTS, then the channel in "
          f"{(time.monotonic() - t0) * 1000:.1f} ms ({cmds})")
    check(got[0][4] == 1, f"read-only downstream (ACCESS_RIGHTS {got[0][4]})")
    t0 = time.monotonic()
    c.send(ca_raw.create_chan(8, "ioc:nosuch:c"))
    got = c.read(1, 5.0)
    check(len(got) == 1 and got[0][0] == CREATE_CH_FAIL and got[0][3] == 8,
          f"CREATE_CHAN ioc:nosuch:c: CREATE_CH_FAIL after {time.monotonic() - t0:.1f} s ({got})")
    c.close()
    print("PASS", flush=True)


def monitor(out, seconds, stopfile):
    import epics
    f = open(out, "a", buffering=1)

    def on_update(value=None, **_):
        f.write(f"update {time.time():.3f} {value}\n")

    def on_conn(conn=None, **_):
        f.write(f"conn {time.time():.3f} {1 if conn else 0}\n")

    pv = epics.PV("ioc:hb:uptime_s", callback=on_update, connection_callback=on_conn, auto_monitor=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not os.path.exists(stopfile):
        time.sleep(0.1)
    pv.disconnect()
    f.close()


def held(name, kind, wait):
    t0 = time.monotonic()
    if kind == "search":
        print("held", flush=True)
        got = udp_search(name, True, 201, wait)
        print(f"answer {[m[0] for m in got]} after {time.monotonic() - t0:.2f} s", flush=True)
    else:
        c = ca_raw.Circuit(GW, user="held", host="client")
        c.send(ca_raw.create_chan(9, name))
        print("held", flush=True)
        got = c.read(1, wait)
        print(f"answer {[m[0] for m in got]} after {time.monotonic() - t0:.2f} s", flush=True)


def flood(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    for k in range(0, n, 20):
        dgram = ca_raw.msg(0, 0, 13, 0, 0)
        for j in range(k, min(n, k + 20)):
            dgram += ca_raw.msg(SEARCH, DONT_REPLY, 13, 500 + j, 500 + j, ca_raw.name_payload(f"ioc:flood:{j}"))
        s.sendto(dgram, ("127.0.0.1", int(GW)))
    s.close()
    print(f"flooded {n}", flush=True)


if MODE == "first":
    first()
elif MODE == "monitor":
    monitor(sys.argv[3], float(sys.argv[4]), sys.argv[5])
elif MODE == "held":
    held(sys.argv[3], sys.argv[4], float(sys.argv[5]) if len(sys.argv) > 5 else 10.0)
elif MODE == "flood":
    flood(int(sys.argv[3]))
else:
    sys.exit(f"unknown mode {MODE}")
