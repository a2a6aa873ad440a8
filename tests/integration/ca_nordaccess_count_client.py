"""A monitor's count from a client without read access (grant = "none"):
its ECA_NORDACCESS update is shaped by the channel's element count, never
by the count the client asked for. Raw circuit (libca refuses such counts
before sending): EVENT_ADD of DBR_DOUBLE with count 4 (the array's
max_length: NORDACCESS, 4 zeroed elements), then with an extended header
asking 400,000,000 elements (3.2 GB were it believed: ECA_BADCOUNT with one
element, at once).
Usage: ca_nordaccess_count_client.py PORT PV
"""
import socket
import struct
import sys
import time

EVENT_ADD, CREATE_CHAN = 1, 18
DBR_DOUBLE = 6
ECA_BADCOUNT, ECA_NORDACCESS = 176, 368


def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)
    print("ok:", what, flush=True)


def msg(cmd, payload=b"", dtype=0, dcount=0, p1=0, p2=0):
    payload += b"\0" * ((8 - len(payload) % 8) % 8)
    return struct.pack(">HHHHII", cmd, len(payload), dtype, dcount, p1, p2) + payload


def extended(cmd, payload, dtype, dcount, p1, p2):
    return struct.pack(">HHHHIIII", cmd, 0xFFFF, dtype, 0, p1, p2, len(payload), dcount) + payload


MASK = struct.pack(">fffHH", 0, 0, 0, 5, 0)  # DBE_VALUE | DBE_ALARM


class Reader:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def next(self, until):
        """The next message (cmd, type, count, p1, p2, payload size), or None at `until`."""
        while True:
            if len(self.buf) >= 16:
                cmd, size, dtype, dcount, p1, p2 = struct.unpack_from(">HHHHII", self.buf)
                at = 16
                if size == 0xFFFF and len(self.buf) >= 24:
                    size, dcount = struct.unpack_from(">II", self.buf, 16)
                    at = 24
                if size != 0xFFFF and len(self.buf) >= at + size:
                    self.buf = self.buf[at + size:]
                    return cmd, dtype, dcount, p1, p2, size
            left = until - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not data:
                return None
            self.buf += data

    def wait_for(self, cmd, secs, p2=None):
        until = time.monotonic() + secs
        while (m := self.next(until)) is not None:
            if m[0] == cmd and (p2 is None or m[4] == p2):
                return m
        return None


port, pv = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
r = Reader(s)
s.sendall(msg(0, dcount=13) + msg(20, b"raw\0") + msg(21, b"localhost\0") + msg(CREATE_CHAN, pv.encode() + b"\0", p1=1, p2=13))
created = r.wait_for(CREATE_CHAN, 5)
check(created is not None and created[2] == 4, f"CREATE_CHAN {pv}: count 4 (max_length)")
sid = created[4]

s.sendall(msg(EVENT_ADD, MASK, DBR_DOUBLE, 4, sid, 10))
u = r.wait_for(EVENT_ADD, 5, p2=10)
check(u is not None and u[3] == ECA_NORDACCESS and u[2] == 4 and u[5] == 32,
      f"count 4 without read access: ECA_NORDACCESS, 4 zeroed elements ({u})")

t0 = time.monotonic()
s.sendall(extended(EVENT_ADD, MASK, DBR_DOUBLE, 400_000_000, sid, 11))
u = r.wait_for(EVENT_ADD, 3, p2=11)
check(u is not None, "count 400,000,000 without read access: an answer within 3 s")
check(u[3] == ECA_BADCOUNT and u[2] == 1 and u[5] <= 16,
      f"count 400,000,000: ECA_BADCOUNT with one element, not a payload of that count ({u}, "
      f"{time.monotonic() - t0:.2f} s)")
print("PASS")
