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
mon = epics.PV(uptime, auto_monitor=True, callback=lambda value=None, **kw: seen.append(value))
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



class CaReader:
    """Whole CA messages from a raw circuit: (command, type, count, p1, p2, payload)."""

    def __init__(self, sk):
        self.sk, self.buf = sk, b""

    def next(self, timeout):
        self.sk.settimeout(timeout)
        while True:
            if len(self.buf) >= 16:
                cmd, size, typ, count, p1, p2 = struct.unpack(">HHHHII", self.buf[:16])
                head = 16
                if size == 0xFFFF:
                    if len(self.buf) < 24:
                        size = None
                    else:
                        size, count = struct.unpack(">II", self.buf[16:24])
                        head = 24
                if size is not None and len(self.buf) >= head + size:
                    payload = self.buf[head:head + size]
                    self.buf = self.buf[head + size:]
                    return cmd, typ, count, p1, p2, payload
            try:
                chunk = self.sk.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                return None
            self.buf += chunk


def name_payload(text):
    raw = text.encode() + b"\0"
    return raw + b"\0" * ((8 - len(raw) % 8) % 8)


def msg(cmd, typ=0, count=0, p1=0, p2=0, payload=b""):
    return struct.pack(">HHHHII", cmd, len(payload), typ, count, p1, p2) + payload


# EVENTS_OFF / EVENTS_ON: while off nothing is sent, on resume exactly the latest value.
sk = raw_circuit()
rd = CaReader(sk)
sk.sendall(msg(0, 0, 13) + msg(20, payload=name_payload("itest")) + msg(21, payload=name_payload("raw"))
           + msg(18, p1=1, p2=13, payload=name_payload(uptime)))
rights = rd.next(3)
check(rights is not None and rights[0] == 22 and rights[3] == 1 and rights[4] == 1,
      f"ACCESS_RIGHTS (read) before the CREATE_CHAN reply ({rights})")
reply = rd.next(3)
check(reply is not None and reply[0] == 18 and reply[1] == 6 and reply[2] == 1 and reply[3] == 1,
      f"CREATE_CHAN reply: DOUBLE, count 1, our CID ({reply})")
sid = reply[4]
sk.sendall(msg(1, 20, 0, sid, 7, struct.pack(">fffHH", 0, 0, 0, 5, 0)))
first = rd.next(3)
check(first is not None and first[0] == 1 and first[2] == 1 and first[3] == 1 and first[4] == 7
      and len(first[5]) == 24, f"initial TIME_DOUBLE update at once, count 1, ECA_NORMAL ({first and first[:5]})")
first_value = struct.unpack(">d", first[5][16:24])[0]
sk.sendall(msg(8))
for _ in range(20):  # updates already on the way (bounded: a server that ignores EVENTS_OFF never stops)
    if rd.next(0.3) is None:
        break
check(rd.next(1.0) is None, "EVENTS_OFF: no update for 1 s while the point keeps changing")
sk.sendall(msg(9))
resumed = rd.next(1.0)
check(resumed is not None and resumed[0] == 1 and struct.unpack(">d", resumed[5][16:24])[0] > first_value,
      "EVENTS_ON: the latest value is sent")
late = 0
while rd.next(0.05) is not None:
    late += 1
# ~10 changes were missed; a heartbeat of our own may land in the 50 ms.
check(late <= 1, f"EVENTS_ON: one update for the missed changes, not one per change ({late} more)")
print("events_off_circuit", sk.getsockname()[1], flush=True)
sk.sendall(msg(2, 20, 0, sid, 7))
while True:
    m = rd.next(2)
    check(m is not None, "cancel confirmation arrives")
    if m[0] == 1 and len(m[5]) == 0:
        check(m[3] == sid and m[4] == 7, "EVENT_CANCEL confirmed by command 1, size 0, SID and subscription ID")
        break
sk.sendall(msg(2, 20, 0, sid, 7))
err = rd.next(2)
check(err is not None and err[0] == 11 and err[4] == 242, f"a second cancel: ERROR ECA_BADMONID ({err and err[:5]})")
sk.sendall(msg(15, 20, 0, 999, 3))
err = rd.next(2)
check(err is not None and err[0] == 11 and err[4] == 410, "READ_NOTIFY on an unknown SID: ERROR ECA_BADCHID")
sk.sendall(msg(15, 20, 5, sid, 4))
bad = rd.next(2)
check(bad is not None and bad[0] == 15 and bad[3] == 176 and bad[4] == 4, "count 5 of a scalar: ECA_BADCOUNT reply")
sk.sendall(msg(15, 0, 0, sid, 5))
text = rd.next(2)
check(text is not None and text[0] == 15 and text[3] == 1 and float(text[5].split(b"\0")[0]) > 0,
      "READ_NOTIFY as DBR_STRING: the number as decimal text")
sk.sendall(msg(12, p1=sid, p2=1))
cleared = rd.next(2)
check(cleared is not None and cleared[0] == 12 and cleared[3] == sid and cleared[4] == 1, "CLEAR_CHANNEL echoed")
sk.close()

v2 = epics.caget(uptime, timeout=5)
check(isinstance(v2, float) and v2 > v, "the server still answers after the hostile input")
print("all checks passed", flush=True)
