"""Console clients for the process-level tests, speaking the wire protocol
(apps/include/weft/apps/console_protocol.hpp) with the standard library.

  clients.py many SOCKET N   N clients connected at once, each runs `services`;
                             while all are connected a further one checks that
                             weftd counts them; exits 0 when all got replies
  clients.py silent SOCKET   asks for `log tail`, then never reads (until killed)
"""
import json
import socket
import sys
import time


def read_frame(sock, buf):
    while True:
        nl = buf.find(b"\n")
        if nl >= 0:
            kind, length = buf[:1], int(buf[2:nl])
            if len(buf) >= nl + 1 + length:
                payload = buf[nl + 1:nl + 1 + length]
                return kind, payload.decode(), buf[nl + 1 + length:]
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("weftd closed the connection")
        buf += chunk


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    kind, payload, rest = read_frame(s, b"")
    if kind != b"H":
        raise RuntimeError("no hello: %r %r" % (kind, payload))
    return s, rest


def request(s, rest, line):
    s.sendall(line.encode() + b"\n")
    while True:
        kind, payload, rest = read_frame(s, rest)
        if kind in (b"O", b"E"):
            return kind, payload, rest


def many(path, n):
    clients = [connect(path) for _ in range(n)]
    for s, _ in clients:
        s.sendall(b"services\n")
    for i, (s, rest) in enumerate(clients):
        while True:
            kind, payload, rest = read_frame(s, rest)
            if kind in (b"O", b"E"):
                break
        if kind != b"O" or "heartbeat" not in payload:
            raise RuntimeError("client %d: unexpected reply %r %r" % (i, kind, payload))
        clients[i] = (s, rest)
    probe, rest = connect(path)
    kind, payload, _ = request(probe, rest, "--json console")
    counted = json.loads(payload)["clients"]
    if counted < n + 1:
        raise RuntimeError("weftd counts %d clients, expected at least %d" % (counted, n + 1))
    print("%d clients connected at once, all served; weftd counted %d" % (n, counted))
    for s, _ in clients:
        s.close()
    probe.close()


def silent(path):
    s, _ = connect(path)
    s.sendall(b"log tail\n")
    print("silent client asked for the live log; not reading any more", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    if sys.argv[1] == "many":
        many(sys.argv[2], int(sys.argv[3]))
    else:
        silent(sys.argv[2])
