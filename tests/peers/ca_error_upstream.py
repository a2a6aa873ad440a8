"""A minimal CA server that answers every WRITE_NOTIFY with an ERROR message
(the request's header copied back, ECA_PUTFAIL, a text), as old servers and
some portable servers do instead of a WRITE_NOTIFY reply with a status; no
honest weftd does, so integration.ca_gateway_write uses this peer for the
gateway's ERROR path. It serves one DOUBLE PV, NAME (value 4.5), answers only
searches for it, VERSION, CREATE_CHAN (ACCESS_RIGHTS read/write and the
reply), EVENT_ADD and READ_NOTIFY (DBR_TIME_DOUBLE 20, DBR_CTRL_DOUBLE 34),
and ignores the rest. Prints "listening UDP <port> TCP <port>", then
"refused a write" per WRITE_NOTIFY. Bounded by a 120 s alarm.
Usage: python3 ca_error_upstream.py UDP_PORT NAME
"""
import select
import signal
import socket
import struct
import sys
import time

signal.alarm(120)
udp_port, name = int(sys.argv[1]), sys.argv[2]
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", udp_port))
tcp = socket.socket()
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("127.0.0.1", 0))
tcp.listen(8)
tcp_port = tcp.getsockname()[1]
SID, VALUE, EPICS_EPOCH = 7, 4.5, 631152000
print(f"listening UDP {udp_port} TCP {tcp_port}", flush=True)


def msg(cmd, typ=0, count=0, p1=0, p2=0, payload=b""):
    payload += b"\0" * ((8 - len(payload) % 8) % 8)
    return struct.pack(">HHHHII", cmd, len(payload), typ, count, p1, p2) + payload


def dbr(typ):
    now = time.time()
    stamp = struct.pack(">II", int(now) - EPICS_EPOCH, int(now % 1 * 1e9))
    if typ == 20:  # DBR_TIME_DOUBLE: status, severity, stamp, pad, value
        return struct.pack(">hh", 0, 0) + stamp + b"\0" * 4 + struct.pack(">d", VALUE)
    # DBR_CTRL_DOUBLE: status, severity, precision, pad, units[8], 8 limits, value
    return struct.pack(">hhhh", 0, 0, 2, 0) + b"mm".ljust(8, b"\0") + struct.pack(">8d", *([0.0] * 8)) + \
        struct.pack(">d", VALUE)


def answer(conn, buf):
    """Answers every whole message in buf; returns what is left."""
    while len(buf) >= 16:
        cmd, size, typ, count, p1, p2 = struct.unpack_from(">HHHHII", buf)
        if len(buf) < 16 + size:
            break
        header, payload, buf = buf[:16], buf[16:16 + size], buf[16 + size:]
        if cmd == 0:
            conn.sendall(msg(0, 0, 13))
        elif cmd == 18:  # CREATE_CHAN: p1 = cid
            conn.sendall(msg(22, 0, 0, p1, 3) + msg(18, 6, 1, p1, SID))
        elif cmd in (1, 15) and typ in (20, 34):  # EVENT_ADD / READ_NOTIFY: p2 = subscription / ioid
            conn.sendall(msg(cmd, typ, 1, 1, p2, dbr(typ)))
        elif cmd == 19:  # WRITE_NOTIFY: an ERROR naming it (p1 of ERROR: the channel's cid is unknown here)
            conn.sendall(msg(11, 0, 0, 0xFFFFFFFF, 160, header + b"record is disabled (test peer)\0"))
            print("refused a write", flush=True)
    return buf


conns = {}
while True:
    ready, _, _ = select.select([udp, tcp] + list(conns), [], [], 1.0)
    for s in ready:
        if s is udp:
            data, peer = udp.recvfrom(65536)
            at, out = 0, b""
            while at + 16 <= len(data):
                cmd, size, typ, count, p1, p2 = struct.unpack_from(">HHHHII", data, at)
                wanted = data[at + 16:at + 16 + size].split(b"\0")[0].decode(errors="replace")
                if cmd == 6 and wanted == name:
                    out += struct.pack(">HHHHII", 6, 8, tcp_port, 0, 0xFFFFFFFF, p2) + struct.pack(">H6x", 13)
                at += 16 + size
            if out:
                udp.sendto(out, peer)
        elif s is tcp:
            conn, _ = tcp.accept()
            conns[conn] = b""
        else:
            chunk = s.recv(65536)
            if not chunk:
                del conns[s]
                s.close()
                continue
            conns[s] = answer(s, conns[s] + chunk)
