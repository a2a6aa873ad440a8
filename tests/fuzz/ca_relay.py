#!/usr/bin/python3
"""A recording Channel Access relay, to capture real traffic for the CA fuzz
seeds (tests/fuzz/ca_capture.sh; tests/fuzz/corpus/README.md).

Usage: ca_relay.py LISTEN_PORT SERVER_PORT BEACON_PORT OUT_DIR SECONDS

On 127.0.0.1 it listens on LISTEN_PORT (UDP and TCP), where the clients are
pointed (EPICS_CA_SERVER_PORT), and relays to the CA server on SERVER_PORT:
- UDP: each client datagram goes to the server from a socket of its own for
  that client; the server's replies go back. A SEARCH reply's TCP port (its
  data type field) is rewritten from SERVER_PORT to LISTEN_PORT, so that the
  client opens its circuit through the relay too.
- TCP: each circuit is piped both ways; a close on one side closes the other.
- BEACON_PORT (UDP) stands in for caRepeater and records the beacons.
Every datagram and every circuit's two byte streams are written to OUT_DIR
as received, unmodified: udp_<n>_c2s / udp_<n>_s2c, tcp_<n>_c2s /
tcp_<n>_s2c, beacon_<n>. Prints "listening" once ready; exits after SECONDS.
"""
import os
import socket
import struct
import sys
import threading
import time

LISTEN, SERVER, BEACON = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
OUT, SECONDS = sys.argv[4], float(sys.argv[5])
os.makedirs(OUT, exist_ok=True)
lock = threading.Lock()
counters = {}


def record(kind, data, n=None):
    with lock:
        if n is None:
            n = counters[kind] = counters.get(kind, 0) + 1
        with open(os.path.join(OUT, f"{kind.replace('*', str(n))}"), "ab") as f:
            f.write(data)
    return n


def rewrite_search_replies(data):
    """The TCP port of every SEARCH reply (command 6 from the server) -> LISTEN."""
    out, at = bytearray(data), 0
    while at + 16 <= len(out):
        cmd, size, typ = struct.unpack(">HHH", out[at:at + 6])
        if size == 0xFFFF:
            break
        if cmd == 6 and typ == SERVER:
            out[at + 4:at + 6] = struct.pack(">H", LISTEN)
        at += 16 + size
    return bytes(out)


def udp_relay():
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", LISTEN))
    uplinks = {}

    def pump(client, up):
        while True:
            try:
                data = up.recv(65536)
            except OSError:
                return
            record("udp_*_s2c", data)
            front.sendto(rewrite_search_replies(data), client)

    while True:
        data, client = front.recvfrom(65536)
        record("udp_*_c2s", data)
        up = uplinks.get(client)
        if up is None:
            up = uplinks[client] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            up.connect(("127.0.0.1", SERVER))
            threading.Thread(target=pump, args=(client, up), daemon=True).start()
        up.send(data)


def beacon_sink():
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", BEACON))
    while True:
        data, _ = sink.recvfrom(65536)
        record("beacon_*", data)


def tcp_relay():
    front = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    front.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    front.bind(("127.0.0.1", LISTEN))
    front.listen(64)

    def pipe(src, dst, kind, n):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return
            record(kind, data, n)
            try:
                dst.sendall(data)
            except OSError:
                return

    n = 0
    while True:
        client, _ = front.accept()
        n += 1
        try:
            server = socket.create_connection(("127.0.0.1", SERVER), timeout=5)
            server.settimeout(None)
        except OSError:
            client.close()
            continue
        threading.Thread(target=pipe, args=(client, server, "tcp_*_c2s", n), daemon=True).start()
        threading.Thread(target=pipe, args=(server, client, "tcp_*_s2c", n), daemon=True).start()


for target in (udp_relay, beacon_sink, tcp_relay):
    threading.Thread(target=target, daemon=True).start()
time.sleep(0.2)
print("listening", flush=True)
time.sleep(SECONDS)
