"""A fake upstream CA server for the gateway's stop tests: answers every
SEARCH on its UDP port with a reply naming its TCP port, and then, by mode:
  backlog  the TCP listener's accept queue is filled (listen(0), never
           accepted, SYN cookies off on loopback are not needed: the kernel
           drops further SYNs while the queue is full), so the gateway's
           TCP connect hangs;
  silent   searches are not answered at all (the gateway keeps searching);
  mute     connections are accepted and never answered (no VERSION), so
           the gateway's circuit sits in its read;
  refused  nothing listens on the TCP port named (its connect is refused).
Prints "listening UDP <port> TCP <port>" when ready, then one line per
search answered and per connection accepted. Runs until killed (bounded by
a 120 s alarm).
Usage: python3 ca_gateway_fake_upstream.py MODE UDP_PORT
"""
import select
import signal
import socket
import struct
import sys

signal.alarm(120)
mode, udp_port = sys.argv[1], int(sys.argv[2])
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", udp_port))
tcp = socket.socket()
tcp.bind(("127.0.0.1", 0))
tcp.listen(0)
tcp_port = tcp.getsockname()[1]
if mode == "refused":
    tcp.close()  # the port stays named in the replies; a connect to it is refused
fillers = []
if mode == "backlog":
    # Fill the accept queue: with backlog 0 the kernel queues one (or two) connections.
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", tcp_port))
        except BlockingIOError:
            pass
        fillers.append(s)
print(f"listening UDP {udp_port} TCP {tcp_port}", flush=True)
accepted = []
while True:
    ready, _, _ = select.select([udp] + ([tcp] if mode == "mute" else []), [], [], 1.0)
    if udp in ready and mode == "silent":
        udp.recvfrom(65536)
        print("ignored a search", flush=True)
    elif udp in ready:
        data, peer = udp.recvfrom(65536)
        at, out = 0, b""
        while at + 16 <= len(data):
            cmd, size, typ, count, p1, p2 = struct.unpack_from(">HHHHII", data, at)
            if cmd == 6:  # SEARCH: reply with our TCP port, the sender's IP, minor 13
                out += struct.pack(">HHHHII", 6, 8, tcp_port, 0, 0xFFFFFFFF, p2) + struct.pack(">H6x", 13)
            at += 16 + size
        if out:
            udp.sendto(out, peer)
            print("answered a search", flush=True)
    if tcp in ready:
        conn, _ = tcp.accept()
        accepted.append(conn)
        print("accepted a circuit", flush=True)
