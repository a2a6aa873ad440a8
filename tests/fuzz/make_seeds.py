#!/usr/bin/env python3
# Writes the seed corpora of tests/fuzz/corpus/<target>/ (checked in; run
# again after changing a target's input layout). Each seed is laid out as
# its target reads the input (see the target's top comment). Modbus frames
# are those libmodbus sends and answers in tests/peers (read holding 0..9,
# write single/multiple, an exception, an echo), NMEA and kv lines those the
# ASCII tests use, console lines those tests/console sends; the config
# seeds are examples/*.toml (copied) and a document of the fuzzed sections.
# The ca_* corpora are not written here: they are recorded traffic
# (ca_capture.sh, ca_seeds.py; corpus/README.md).
import os, shutil, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")


def crc16(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes([crc & 0xFF, crc >> 8])


def adu(*b):
    body = bytes(b)
    return body + crc16(body)


def write(target, name, data):
    os.makedirs(os.path.join(OUT, target), exist_ok=True)
    with open(os.path.join(OUT, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def u16(v):
    return struct.pack(">H", v)


# modbus_response: mode, function index (0..7), unit-1, start, count-1, values..., then the line.
regs10 = adu(1, 3, 20, *sum(([0, i] for i in range(10)), []))
write("modbus_response", "read_holding_10", bytes([0, 2, 0]) + u16(0) + u16(9) + regs10)
write("modbus_response", "read_holding_noise", bytes([0x07, 2, 0]) + u16(0) + u16(9) + b"\x00\xff\x17" + regs10)
write("modbus_response", "exception", bytes([0, 2, 0]) + u16(0) + u16(9) + adu(1, 0x83, 2))
write("modbus_response", "bad_crc", bytes([0, 2, 0]) + u16(0) + u16(9) + regs10[:-1] + b"\x00")
write("modbus_response", "read_coils", bytes([0, 0, 0]) + u16(0) + u16(9) + adu(1, 1, 2, 0xA5, 0x01))
write("modbus_response", "write_single", bytes([0, 5, 0]) + u16(1) + u16(0) + u16(0x1234) + adu(1, 6, 0, 1, 0x12, 0x34))
write("modbus_response", "write_multiple", bytes([0, 7, 0]) + u16(0) + u16(1) + bytes([5, 6]) + adu(1, 16, 0, 0, 0, 2))
write("modbus_response", "round_trip", bytes([0x80, 3, 0]) + u16(100) + u16(3) + bytes([2, 0xFF, 0xFE]) + bytes(range(8)))

# modbus_request: 0 + a request ADU; 1 + builder arguments; 2 + register type, order, 4 registers.
write("modbus_request", "read_holding", b"\x00" + adu(1, 3, 0, 0, 0, 10))
write("modbus_request", "write_single_coil", b"\x00" + adu(1, 5, 0, 7, 0xFF, 0))
write("modbus_request", "write_multiple_registers", b"\x00" + adu(1, 16, 0, 0, 0, 2, 4, 0, 5, 0, 6))
write("modbus_request", "write_multiple_coils", b"\x00" + adu(1, 15, 0, 0, 0, 10, 2, 0xFF, 0x03))
write("modbus_request", "broadcast", b"\x00" + adu(0, 6, 0, 1, 0, 1))
write("modbus_request", "build", b"\x01\x01" + u16(0) + u16(10) + b"\x02")
write("modbus_request", "float32_cdab", b"\x02\x04\x01" + u16(0x0000) + u16(0x41A8) + u16(0) + u16(0))

# ascii_framer: shape (terminator), max_line-1, chunking, then the stream.
lines = "T=21.5 H=40\r\nT=21.6 H=41\r\n$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\npartial"
write("ascii_framer", "kv_crlf", bytes([0x40, 95, 0x35]) + lines.encode())
write("ascii_framer", "crlf_terminator", bytes([1, 20, 0x03]) + lines.encode())
write("ascii_framer", "etx", bytes([3, 10, 0xFF]) + b"\x0221.5\x03\x0221.6\x03" + b"x" * 40 + b"\x03")

# ascii_parse: the first bytes are read twice: as the escape length and as the spec
# (kind, field count, fields..., separators), then lines.
gga = "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47"
rmc = "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A"
write("ascii_parse", "kv_all", bytes([0, 0, 0, 0]) + b'T=21.5 H=40 S="two words, or more"\nT=21.6\n=5\n')
write("ascii_parse", "kv_declared", bytes([0, 2, 0, 0, 5, 0, 0, 0, 6, 1, 1, 1]) + b"T=21.5 RH=40\nT=x\n")
write("ascii_parse", "csv", bytes([1, 2, 0, 0, 0, 0, 2, 1, 3, 1, 0, 1]) + b'21.5,40,"a, b",7\n1,,3\n')
write("ascii_parse", "nmea", bytes([2, 2, 0, 2, 3, 0, 0, 1, 3, 4, 2, 1, 1]) + (gga + "\n" + rmc + "\n$GPGGA,1*00\n").encode())
write("ascii_parse", "utf8", bytes([0, 0, 0, 0]) + "T=\"21,5 °C\" \xe2\x82".encode("utf-8", "surrogateescape") + b"\xff\xc0\x80\n")

# console: 0 + a request line; 1 + chunking + server bytes; 2 + frames to encode; 3 + text for JSON.
for i, line in enumerate(["points box.*", 'read "a b" "q\\"x" ""', "--json services", "log tail", 'read "open',
                          "restart gather", "config diff examples/plant.toml", "reload --dry-run"]):
    write("console", "line_%d" % i, b"\x00" + line.encode())
write("console", "frames", b"\x01\x05" + b"H 20\nweft console, pid 1\nD 0\nD 6\nline 1O 3\nok\nE 12\nunknown cmd\n")
write("console", "bad_header", b"\x01\x00" + b"X 1\na")
write("console", "encode", b"\x02\x03\x05hello\x04\x00")
write("console", "json", b"\x03" + "tab\there \"q\" \\ \x01 \xc2\x80 é ".encode() + b"\xff\xed\xa0\x80")

# mqtt: odd first byte + a broker URL; even + device, point (length-prefixed) + template.
for i, url in enumerate(["mqtt://127.0.0.1:1883", "mqtts://[::1]:8883", "mqtt://broker.example:1884/",
                         "mqtt://user:pw@host", "http://host", "mqtt://host:0"]):
    write("mqtt", "url_%d" % i, b"\x01" + url.encode())
write("mqtt", "topic", b"\x00\x03box\x0bboiler/temp" + b"weft/{device}/{point}")
write("mqtt", "topic_bad", b"\x00\x01a\x01b" + b"site/{devce}/#")

# crash_report: a dump as the crash handler writes it (crash_handler.cpp).
dump = """time 2026-11-22T17:48:07Z
pid 4242
cause SIGSEGV (fault address 0x0)
service gather
thread loop
pc 0x1010
mono 123456789000
ring serial ttyS1
layout 48 4 0 8 9 10 12 14
verdicts sent ok bad_crc timeout
count 2 812
000000000000000000010800000000000000000000000000000000000000000000000000000000000000000000000000
00e1f5050000000001010800080008000103020000000000000000000000000000000000000000000000000000000000
end rings
maps
00001000-00002000 r-xp 00000000 08:01 @INODE@ @EXE@
7f0000000000-7f0000001000 r--p 00000000 08:01 1234 /usr/lib/x86_64-linux-gnu/libc.so.6
frames 3
0x1010
0x1020
0x7f0000000010
"""
write("crash_report", "signal_dump", dump)
write("crash_report", "cut_short", dump[:200])
write("crash_report", "terminate", "time 2026-11-22T17:48:07Z\npid 1\ncause uncaught exception std::runtime_error: boom\nservice (none)\nframes 0\n")
# A torn layout whose offset wraps (the bug crash_report_test.cpp keeps fixed).
write("crash_report", "ring_offset_wrap", "cause x\nmono 0\nring r\nlayout 16 1 18446744073709551608 8 9 10 12 14\n"
      "count 1 1\n" + "0" * 32 + "\nend rings\n")
with open("/proc/self/exe", "rb") as f:
    write("crash_report", "elf_header", f.read(4096))

# config: the example configs, and the sections the fuzzed readers read.
write("config", "store_upload_console", """[store]
path = "/var/lib/weft/readings.db"
batch_rows = 500
batch_age = "200ms"
synchronous = "full"
retention = "30d"
max_db_size = "64MiB"

[service.upload]
url = "mqtts://[::1]:8883"
topic = "site/{device}/{point}"
username = "box"
password = "secret"
live_period = "1.5s"
needs = ["record", "gather"]

[service.console]
socket = "/run/weft/weftd.sock"
idle_timeout = "10m"
max_clients = 128

[[instrument]]
name = "boiler"
period = "250ms"
points = [ { name = "t", address = 0, type = "float32", order = "cdab" } ]
""")
for name in ("demo.toml", "plant.toml"):
    shutil.copy(os.path.join(ROOT, "examples", name), os.path.join(OUT, "config", name))
print("seeds written to", OUT)
