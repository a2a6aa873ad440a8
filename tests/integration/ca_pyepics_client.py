#!/usr/bin/python3
"""pyepics (Debian's libca 4.13) against a real weftd serving CA on loopback.

Usage: ca_pyepics_client.py PORT DEVICE
The weftd runs heartbeat (prefix "box", 100 ms) and the ca service on PORT,
bound to 127.0.0.1. Prints one line per check and exits non-zero on the first
failure. Raw-socket checks at the end feed hostile headers to the server and
then prove that it still answers.
"""
import os
import socket
import struct
import sys
import time

PORT = sys.argv[1]
DEVICE = sys.argv[2]
os.environ.update({
    "EPICS_CA_AUTO_ADDR_LIST": "NO",
    "EPICS_CA_ADDR_LIST": "127.0.0.1",
    "EPICS_CA_SERVER_PORT": PORT,
    "EPICS_CA_REPEATER_PORT": str(int(PORT) + 1),
    "EPICS_CA_CONN_TMO": "5",
})
import epics  # noqa: E402  (the variables must be set first)


def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)
    print("ok:", what, flush=True)


uptime = f"{DEVICE}:box:uptime_s"
ticks = f"{DEVICE}:box:missed_ticks"

v = epics.caget(uptime, timeout=5)
check(isinstance(v, float) and v > 0, f"caget {uptime} is a positive double ({v!r})")
i = epics.caget(ticks, timeout=5)
check(isinstance(i, int), f"caget {ticks} is an integer ({i!r})")
check(epics.caget(uptime + ".VAL", timeout=5) is not None, "NAME.VAL is the same PV")
s = epics.caget(ticks, as_string=True, timeout=5)
check(isinstance(s, str) and s == str(int(s)), f"an integer as string is decimal text ({s!r})")

pv = epics.PV(uptime)
check(pv.wait_for_connection(timeout=5), "PV connects")
check(pv.type == "time_double" or pv.ftype == epics.dbr.TIME_DOUBLE, f"native type DOUBLE ({pv.type})")
check(pv.count == 1, "element count 1")
check(pv.read_access and not pv.write_access, "access rights: read, no write")
tv = pv.get_timevars(timeout=5)
check(tv is not None and abs(tv["timestamp"] - time.time()) < 2.0,
      f"TIME stamp within 2 s of now ({tv and tv['timestamp']} vs {time.time()})")
check(tv["severity"] == 0 and tv["status"] == 0, "no alarm")
cv = pv.get_ctrlvars(timeout=5)
check(cv is not None and "precision" in cv, "CTRL_DOUBLE answered")

seen = []
mon = epics.PV(uptime, auto_monitor=True)
mon.add_callback(lambda value=None, **kw: seen.append(value))
deadline = time.time() + 5
while len(seen) < 5 and time.time() < deadline:
    time.sleep(0.05)
check(len(seen) >= 5, f"camonitor sees updates ({len(seen)} in <= 5 s)")
check(all(b > a for a, b in zip(seen, seen[1:])), "each update is a new, larger uptime")

check(epics.caget(f"{DEVICE}:no:such:point", timeout=1.0) is None, "an unknown name does not connect")
try:
    epics.caput(uptime, 1.0, wait=True, timeout=2)
    check(False, "caput to a read-only PV must fail")
except Exception as e:  # libca refuses locally: ACCESS_RIGHTS said read-only
    check("Write access denied" in str(e), f"caput refused: {e}")


def raw_circuit():
    sk = socket.create_connection(("127.0.0.1", int(PORT)), timeout=3)
    hdr = sk.recv(16)
    check(len(hdr) == 16 and struct.unpack(">HHHHII", hdr)[0] == 0, "server sends VERSION at once")
    return sk


def recv_all_until_closed(sk, limit=5.0):
    sk.settimeout(limit)
    data = b""
    try:
        while True:
            chunk = sk.recv(4096)
            if not chunk:
                return data, True
            data += chunk
    except socket.timeout:
        return data, False


# An extended header that claims 4 GiB: refused at once (circuit closed), not buffered.
sk = raw_circuit()
sk.sendall(struct.pack(">HHHHIIII", 4, 0xFFFF, 6, 0, 1, 1, 0xFFFFFFF0, 1))
_, closed = recv_all_until_closed(sk)
check(closed, "a 4 GiB payload claim closes that circuit")
sk.close()

# A truncated header followed by silence: nothing happens, the server stays up.
sk = raw_circuit()
sk.sendall(b"\x00\x06\x00")
sk.close()

# An unknown command gets ERROR; the circuit stays open and ECHO still answers.
sk = raw_circuit()
sk.sendall(struct.pack(">HHHHII", 99, 0, 0, 0, 0, 0) + struct.pack(">HHHHII", 23, 0, 0, 0, 0, 0))
sk.settimeout(3)
got = b""
while len(got) < 16 + 32 + 16:
    chunk = sk.recv(4096)
    if not chunk:
        break
    got += chunk
cmd, size = struct.unpack(">HH", got[:4])
check(cmd == 11, f"unknown command 99 answered with ERROR (got command {cmd})")
check(struct.unpack(">H", got[16 + size:16 + size + 2])[0] == 23, "ECHO answered after it: circuit still open")
sk.close()

# A SEARCH name without NUL over UDP: ignored, no reply, no crash.
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(0.5)
u.sendto(struct.pack(">HHHHII", 0, 0, 1, 13, 1, 0) + struct.pack(">HHHHII", 6, 8, 10, 13, 9, 9) + b"ABCDEFGH",
         ("127.0.0.1", int(PORT)))
try:
    u.recvfrom(1024)
    check(False, "no reply to an unterminated name")
except socket.timeout:
    check(True, "an unterminated SEARCH name gets no reply")
# DO_REPLY for an unknown name: NOT_FOUND after the VERSION.
name = b"no:such:pv\0" + b"\0" * 5
u.sendto(struct.pack(">HHHHII", 0, 0, 1, 13, 7, 0) + struct.pack(">HHHHII", 6, 16, 10, 13, 5, 5) + name,
         ("127.0.0.1", int(PORT)))
data, _ = u.recvfrom(1024)
check(struct.unpack(">HHHHII", data[:16]) == (0, 0, 1, 13, 7, 0), "reply starts with VERSION carrying our sequence")
check(struct.unpack(">HHHHII", data[16:32]) == (14, 0, 10, 13, 5, 5), "DO_REPLY for an unknown name: NOT_FOUND")

v2 = epics.caget(uptime, timeout=5)
check(isinstance(v2, float) and v2 > v, "the server still answers after the hostile input")
print("all checks passed", flush=True)
