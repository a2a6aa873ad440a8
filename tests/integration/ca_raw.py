"""Raw Channel Access circuits for the CA tests that need what libca hides:
exact bytes, many circuits in one process, a client that never reads.

Imported by ca_limits_client.py and ca_fanout_client.py (same folder). Only
the few client-side messages the tests send, in the wire format of
/work/shared/docs/channel-access.md §2-3 (16-byte header, payload padded
to 8, big-endian).
"""
import select
import socket
import struct
import subprocess
import sys
import time

VERSION, EVENT_ADD, EVENT_CANCEL, ERROR, CLEAR_CHANNEL, CLIENT_NAME, HOST_NAME, ACCESS_RIGHTS, CREATE_CHAN, ECHO, \
    CREATE_CH_FAIL = (0, 1, 2, 11, 12, 20, 21, 22, 18, 23, 26)
ECA_ALLOCMEM = 48
DBR_DOUBLE = 6
DBE_VALUE_ALARM = 5


def check(cond, what):
    """One line per check; the first failure ends the test (exit 1)."""
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)
    print("ok:", what, flush=True)


def console(weftctl, sock, command):
    """weftctl's answer to one console command (checked to succeed)."""
    out = subprocess.run([weftctl, "--socket", sock, "--timeout", "10", "--exec", command], capture_output=True,
                         text=True, timeout=20)
    check(out.returncode == 0, f"weftctl {command} answers")
    return out.stdout


def name_payload(text):
    raw = text.encode() + b"\0"
    return raw + b"\0" * ((8 - len(raw) % 8) % 8)


def msg(cmd, typ=0, count=0, p1=0, p2=0, payload=b""):
    return struct.pack(">HHHHII", cmd, len(payload), typ, count, p1, p2) + payload


def create_chan(cid, name):
    return msg(CREATE_CHAN, p1=cid, p2=13, payload=name_payload(name))


def event_add(sid, subscription, dbr_type=DBR_DOUBLE):
    return msg(EVENT_ADD, dbr_type, 1, sid, subscription, struct.pack(">fffHH", 0, 0, 0, DBE_VALUE_ALARM, 0))


def parse(buf):
    """Whole messages at the front of buf: ([(cmd, type, count, p1, p2, payload)], rest)."""
    out = []
    at = 0
    while len(buf) - at >= 16:
        cmd, size, typ, count, p1, p2 = struct.unpack_from(">HHHHII", buf, at)
        if len(buf) - at < 16 + size:
            break
        out.append((cmd, typ, count, p1, p2, bytes(buf[at + 16:at + 16 + size])))
        at += 16 + size
    return out, buf[at:]


class Circuit:
    """One TCP circuit; counts every byte sent and received."""

    def __init__(self, port, user=None, host=None, rcvbuf=None, read_version=True, timeout=5.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", int(port)))
        self.port = self.sock.getsockname()[1]
        self.sent = 0
        self.received = 0
        self.buf = b""
        if read_version:
            first = self.read(1, timeout)
            assert first and first[0][0] == VERSION, f"no VERSION first on circuit :{self.port}: {first}"
        hello = msg(VERSION, 0, 13)
        if user is not None:
            hello += msg(CLIENT_NAME, payload=name_payload(user))
        if host is not None:
            hello += msg(HOST_NAME, payload=name_payload(host))
        if read_version:
            self.send(hello)

    def send(self, data):
        self.sock.sendall(data)
        self.sent += len(data)

    def read(self, want, timeout):
        """Until `want` messages arrived (or timeout): the messages."""
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < want:
            parsed, self.buf = parse(self.buf)
            got += parsed
            if len(got) >= want:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            self.received += len(chunk)
            self.buf += chunk
        return got

    def read_quiet(self, quiet=0.3, limit=5.0):
        """Everything until nothing came for `quiet` seconds."""
        got = []
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            more = self.read(1 << 30, quiet)
            if not more:
                break
            got += more
        return got

    def closed_within(self, secs):
        """True once the server closed the circuit (EOF or reset) within secs, reading whatever comes."""
        deadline = time.monotonic() + secs
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.sock], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                continue
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True
            self.received += len(chunk)
            self.buf += chunk
        return False

    def close(self):
        self.sock.close()
