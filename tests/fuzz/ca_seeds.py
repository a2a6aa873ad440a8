#!/usr/bin/python3
"""Turns a CA capture (ca_relay.py's directory, made by ca_capture.sh) into
the seeds of tests/fuzz/corpus/ca_request, ca_response and ca_dbr, each laid
out as its target reads its input (see the target's top comment):

- ca_request: a limits byte, a chunking byte, then what clients sent: each
  circuit's stream cut at message boundaries into pieces of at most 4000
  bytes (the fuzz runs read 4096), and each search datagram.
- ca_response: the same for what weftd sent (circuits, search replies,
  beacons).
- ca_dbr: mode 0 (decode) for every DBR payload seen (WRITE, WRITE_NOTIFY,
  READ_NOTIFY replies, monitor updates) with its header's type and count;
  mode 2 (parse) for every text written as DBR_STRING; mode 3 (format) for
  every DOUBLE value seen; mode 4 (convert) for the written texts against
  the enum state names the CTRL_ENUM replies carried.

Old ca_* seeds are replaced; names are content hashes, so a rerun over the
same traffic writes the same files.
Usage: ca_seeds.py CAPTURE_DIR
"""
import glob
import hashlib
import os
import re
import shutil
import struct
import sys

CAPTURE = sys.argv[1]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")
PIECE = 4000
NAMES = {0: "version", 1: "event_add", 2: "event_cancel", 4: "write", 6: "search", 8: "events_off", 9: "events_on",
         10: "read_sync", 11: "error", 12: "clear_channel", 13: "beacon", 14: "not_found", 15: "read_notify",
         18: "create_chan", 19: "write_notify", 20: "client_name", 21: "host_name", 22: "access_rights", 23: "echo",
         26: "create_ch_fail", 27: "server_disconn"}


def messages(stream):
    """(command, type, count, payload, raw bytes) of each whole message; stops at the first incomplete one."""
    at = 0
    while at + 16 <= len(stream):
        cmd, size, typ, count = struct.unpack(">HHHH", stream[at:at + 8])
        head = 16
        if size == 0xFFFF:
            if at + 24 > len(stream):
                return
            size, count = struct.unpack(">II", stream[at + 16:at + 24])
            head = 24
        if at + head + size > len(stream):
            yield None, 0, 0, b"", stream[at:]  # a message cut short (the hostile input does that)
            return
        yield cmd, typ, count, stream[at + head:at + head + size], stream[at:at + head + size]
        at += head + size
    if at < len(stream):
        yield None, 0, 0, b"", stream[at:]


def pieces(stream):
    piece, label = b"", set()
    for cmd, _, _, _, raw in messages(stream):
        if piece and len(piece) + len(raw) > PIECE:
            yield piece, label
            piece, label = b"", set()
        piece += raw[:PIECE]
        label.add(NAMES.get(cmd, "cut" if cmd is None else f"cmd{cmd}"))
    if piece:
        yield piece, label


written = {}


def write(target, hint, data):
    digest = hashlib.sha1(data).hexdigest()[:12]
    name = f"{hint}_{digest}"[:80]
    if (target, digest) in written:
        return
    written[(target, digest)] = name
    with open(os.path.join(OUT, target, name), "wb") as f:
        f.write(data)


for target in ("ca_request", "ca_response", "ca_dbr"):
    shutil.rmtree(os.path.join(OUT, target), ignore_errors=True)
    os.makedirs(os.path.join(OUT, target))

LIMITS, CHUNKS = 0x00, (0x00, 0x5A, 0xFF)  # limits: 16384 / 512; chunking: byte by byte, mixed, 449-byte chunks
dbr_payloads, texts, doubles, states = [], set(), set(), set()


def harvest(stream, from_client):
    for cmd, typ, count, payload, _ in messages(stream):
        if cmd in ((4, 19) if from_client else (15, 1)) and payload:
            dbr_payloads.append((typ, count, payload, NAMES[cmd]))
            if from_client and typ == 0:
                texts.add(payload.split(b"\0")[0])
            if typ == 6 and len(payload) >= 8:  # DBR_DOUBLE, DBR_TIME_DOUBLE: the value
                doubles.add(payload[:8])
            if typ == 20 and len(payload) >= 24:
                doubles.add(payload[16:24])
            if typ == 31 and len(payload) >= 6:  # CTRL_ENUM: the state names
                n = struct.unpack(">H", payload[4:6])[0]
                for i in range(min(n, 16)):
                    states.add(payload[6 + 26 * i:6 + 26 * (i + 1)].split(b"\0")[0])


def kind(path):
    return os.path.basename(path).split("_")[0]


for path in sorted(glob.glob(os.path.join(CAPTURE, "*"))):
    base = os.path.basename(path)
    data = open(path, "rb").read()
    from_client = base.endswith("c2s")
    target = "ca_request" if from_client else "ca_response"
    harvest(data, from_client)
    for i, (piece, label) in enumerate(pieces(data)):
        hint = kind(path) + "_" + "-".join(sorted(label))[:50]
        write(target, hint, bytes([LIMITS, CHUNKS[i % len(CHUNKS)]]) + piece)
# The hostile circuits again under small limits (max_array_bytes 64, names of 16).
for path in sorted(glob.glob(os.path.join(CAPTURE, "tcp_*_c2s")))[:6]:
    write("ca_request", "small_limits", bytes([0x09, 0x5A]) + open(path, "rb").read()[:PIECE])

# Two of each (command, type, count): the uptime monitor alone sends hundreds of TIME_DOUBLE updates.
kept = {}
for typ, count, payload, what in dbr_payloads:
    key = (what, typ, count)
    kept[key] = kept.get(key, 0) + 1
    if kept[key] <= 2:
        write("ca_dbr", f"decode_{what}_dbr{typ}", bytes([0, 0xC0, LIMITS]) + struct.pack(">HI", typ, count) + payload)
for t in sorted(texts):
    for bounds in (0x10, 0x23, 0x65):  # int64 / int16 / uint8 ranges (ca_dbr.cpp mode_parse)
        write("ca_dbr", "parse_" + re.sub(rb"[^A-Za-z0-9.+-]", b"_", t).decode()[:30], bytes([2, bounds]) + t)
for d in sorted(doubles)[:16]:
    for flags in (0x00, 0x01, 0x0A, 0x5E):  # shortest, integral, precision 2-20, precision 3
        write("ca_dbr", "format", bytes([3, 0xFF]) + d + bytes([flags, 0xFF]) + d)
for t in sorted(texts):
    for target_type in (1, 3, 5, 6):
        meta = bytes([8, len(states)]) + b"".join(bytes([len(s)]) + s for s in sorted(states))
        write("ca_dbr", "convert", bytes([4, 0, target_type, 1, 0, len(t)]) + t + meta)
for target in ("ca_request", "ca_response", "ca_dbr"):
    print(f"{target}: {sum(1 for k in written if k[0] == target)} seeds")
