#!/usr/bin/python3
"""A serial line peer for weft's ASCII instrument tests, written with pyserial
and nothing of weft's: it plays an instrument (writer) or reads one (reader).

  ascii_line_peer.py write PORT STEP...   steps, in order:
      line:TEXT          TEXT + CRLF
      repeat:N:SECS:TEXT TEXT + CRLF, N times, SECS apart
      garbage            a line of bytes that are not UTF-8 (and controls)
      overlong:N         a line of N 'x' bytes
      sleep:SECS         silence
  ascii_line_peer.py nmea PORT LINES TIMEOUT_S
      reads LINES NMEA sentences (the first, maybe partial, is skipped),
      checks each one's shape and checksum and prints every sentence and a
      summary "sentences=N good=G bad_checksum=B malformed=M".
  ascii_line_peer.py ask PORT REQUEST TIMEOUT_S
      writes REQUEST (escapes \\r \\n allowed) and prints the answer line.
"""
import re
import sys
import time

import serial

SENTENCE = re.compile(rb"^\$([A-Z0-9]{1,8}(?:,[^*$\r\n]*)*)\*([0-9A-F]{2})$")


def open_port(path, timeout):
    return serial.Serial(path, 9600, timeout=timeout)


def write(path, steps):
    port = open_port(path, 1)
    for step in steps:
        kind, _, rest = step.partition(":")
        if kind == "line":
            port.write(rest.encode() + b"\r\n")
        elif kind == "repeat":
            n, secs, text = rest.split(":", 2)
            for _ in range(int(n)):
                port.write(text.encode() + b"\r\n")
                port.flush()
                time.sleep(float(secs))
        elif kind == "garbage":
            port.write(b"\xfe\xff\x01\x80junk\xc3\x28\x07\r\n")
        elif kind == "overlong":
            port.write(b"x" * int(rest) + b"\r\n")
        elif kind == "sleep":
            time.sleep(float(rest))
        else:
            sys.exit("unknown step " + step)
        port.flush()
    port.close()


def checksum(body):
    value = 0
    for b in body:
        value ^= b
    return value


def nmea(path, count, timeout_s):
    port = open_port(path, 0.5)
    deadline = time.monotonic() + timeout_s
    # What queued up before we opened may end in a line the simulator gave up
    # writing (nobody was reading): drop it, and the line we join mid-way.
    port.reset_input_buffer()
    port.readline()
    good = bad = malformed = 0
    seen = 0
    while seen < count:
        if time.monotonic() > deadline:
            sys.exit("timed out after %d sentences" % seen)
        raw = port.readline()
        if not raw.endswith(b"\r\n"):
            continue  # the read timed out mid-line: keep waiting
        seen += 1
        line = raw[:-2]
        print(line.decode("ascii", "backslashreplace"))
        m = SENTENCE.match(line)
        if not m:
            malformed += 1
        elif checksum(m.group(1)) == int(m.group(2), 16):
            good += 1
        else:
            bad += 1
    print("sentences=%d good=%d bad_checksum=%d malformed=%d" % (seen, good, bad, malformed))


def ask(path, request, timeout_s):
    port = open_port(path, timeout_s)
    port.reset_input_buffer()
    port.write(request.encode().decode("unicode_escape").encode("latin-1"))
    answer = port.readline()
    if not answer.endswith(b"\n"):
        sys.exit("no answer line within %s s (got %r)" % (timeout_s, answer))
    print(answer.decode("ascii", "backslashreplace").rstrip("\r\n"))


def main():
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "write":
        write(path, sys.argv[3:])
    elif mode == "nmea":
        nmea(path, int(sys.argv[3]), float(sys.argv[4]))
    elif mode == "ask":
        ask(path, sys.argv[3], float(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
