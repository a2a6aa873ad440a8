"""Console clients that misbehave, for console_churn.sh, speaking the wire
protocol (apps/include/weft/apps/console/console_protocol.hpp) with the
standard library. Each mode exits 0 only if weftd behaved; it prints its
figures on stdout and, on failure, why on stderr.

  churn_client.py churn SOCKET N THREADS
      N connections opened and dropped, spread over THREADS threads; the
      i-th ends in one of six ways (i % 6): closed at once (hello unread);
      closed mid-command (request sent, reply unread); closed after half a
      request line; closed with SO_LINGER 0 and a reply unread (an AF_UNIX
      socket has no RST: the server's write then fails with EPIPE or
      ECONNRESET); closed inside a streaming reply (`log tail`); a whole
      request answered. The answered ones must get their reply.
  churn_client.py hold SOCKET N MIN_S MAX_S
      N half-open connections held at once: even ones never send a byte,
      odd ones send half a request ("serv", no newline). Waits until weftd
      closes every one; each must be closed no sooner than MIN_S and no later
      than MAX_S after it connected (the idle timeout), with the last frame
      "closing: idle too long" (MIN_S 0: any closure counts, e.g. a stop).
      Prints "held N" once all are connected.
  churn_client.py slow SOCKET LINE answered|closed
      sends LINE and its newline one byte per second; `answered`: the final
      reply must arrive; `closed`: weftd must close the connection before the
      line is complete (a trickle does not extend the idle timeout).
"""
import socket
import struct
import sys
import threading
import time

IDLE_FRAME = "closing: idle too long\n"


def read_frame(sock, buf):
    """(kind, payload, rest), or (None, None, buf) at end of file."""
    while True:
        nl = buf.find(b"\n")
        if nl >= 0:
            kind, length = buf[:1], int(buf[2:nl])
            if len(buf) >= nl + 1 + length:
                return kind, buf[nl + 1:nl + 1 + length].decode(), buf[nl + 1 + length:]
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return None, None, buf
        buf += chunk


def connect(path, timeout=30):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def hello(s):
    kind, payload, rest = read_frame(s, b"")
    if kind != b"H":
        raise RuntimeError("expected a hello frame, got %r %r" % (kind, payload))
    return rest


def final_reply(s, rest):
    while True:
        kind, payload, rest = read_frame(s, rest)
        if kind is None:
            raise RuntimeError("connection closed before the final reply")
        if kind in (b"O", b"E"):
            return kind, payload, rest


def churn_one(path, i):
    way = i % 6
    s = connect(path)
    try:
        if way == 0:  # closed at once, the hello unread
            return
        rest = hello(s)
        if way == 1:  # mid-command
            s.sendall(b"services\n")
        elif way == 2:  # half a request line
            s.sendall(b"serv")
        elif way == 3:  # SO_LINGER 0 with the reply unread
            s.sendall(b"services\n")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif way == 4:  # inside a streaming reply
            s.sendall(b"log tail\n")
            kind, _, rest = read_frame(s, rest)
            if kind != b"D":
                raise RuntimeError("log tail: expected the empty data frame opening the stream, got %r" % kind)
        else:  # answered
            s.sendall(b"services\n")
            kind, payload, _ = final_reply(s, rest)
            if kind != b"O" or "console" not in payload:
                raise RuntimeError("connection %d: unexpected reply %r %r" % (i, kind, payload))
    finally:
        s.close()


def churn(path, n, threads):
    errors = []
    started = time.monotonic()

    def worker(k):
        try:
            for i in range(k, n, threads):
                churn_one(path, i)
        except Exception as e:  # reported below, the others go on
            errors.append("thread %d: %s" % (k, e))

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise RuntimeError("; ".join(errors))
    elapsed = time.monotonic() - started
    print("churn: %d connections opened and dropped in %.2f s (%.0f/s, %d threads)" % (n, elapsed, n / elapsed, threads))


def hold(path, n, min_s, max_s):
    held = []
    for i in range(n):
        s = connect(path, timeout=max_s + 30)
        t0 = time.monotonic()
        rest = hello(s)
        if i % 2:
            s.sendall(b"serv")
        held.append((s, t0, rest))
    print("held %d" % n, flush=True)
    lifetimes = []
    for i, (s, t0, rest) in enumerate(held):
        last = None
        while True:
            kind, payload, rest = read_frame(s, rest)
            if kind is None:
                break
            last = (kind, payload)
        lifetime = time.monotonic() - t0
        lifetimes.append(lifetime)
        s.close()
        what = "silent" if i % 2 == 0 else "half a request"
        if min_s > 0 and last != (b"E", IDLE_FRAME):
            raise RuntimeError("connection %d (%s): closed without the idle frame; last frame %r" % (i, what, last))
        if lifetime < min_s or lifetime > max_s:
            raise RuntimeError("connection %d (%s): closed after %.2f s, expected %.1f..%.1f s" %
                               (i, what, lifetime, min_s, max_s))
    print("hold: %d half-open connections closed by weftd after %.2f..%.2f s" % (n, min(lifetimes), max(lifetimes)))


def slow(path, line, expect):
    s = connect(path, timeout=60)
    rest = hello(s)
    data = line.encode() + b"\n"
    t0 = time.monotonic()
    sent = 0
    for byte in data:
        try:
            s.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += 1
        if sent < len(data):
            time.sleep(1)
    kind, payload, rest = read_frame(s, rest)
    elapsed = time.monotonic() - t0
    if expect == "answered":
        if kind != b"O":
            raise RuntimeError("slow %r: expected its reply, got %r %r after %.1f s" % (line, kind, payload, elapsed))
        print("slow: %r sent a byte a second, answered after %.1f s" % (line, elapsed))
    else:
        if (kind, payload) != (b"E", IDLE_FRAME) or read_frame(s, rest)[0] is not None:
            raise RuntimeError("slow %r: expected the idle frame then end of file, got %r %r" % (line, kind, payload))
        if sent >= len(data):
            raise RuntimeError("slow %r: the whole line went out before weftd closed the connection" % line)
        print("slow: %r sent a byte a second, closed by weftd after %d of %d bytes, %.1f s" %
              (line, sent, len(data), elapsed))
    s.close()


if __name__ == "__main__":
    try:
        mode, path = sys.argv[1], sys.argv[2]
        if mode == "churn":
            churn(path, int(sys.argv[3]), int(sys.argv[4]))
        elif mode == "hold":
            hold(path, int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
        elif mode == "slow":
            slow(path, sys.argv[3], sys.argv[4])
        else:
            raise SystemExit("unknown mode " + mode)
    except Exception as e:
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
