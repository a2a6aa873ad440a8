#!/usr/bin/env python3
"""A misbehaving RS-485 line between a Modbus master and a real server.

Relays bytes between two ptys (the master's side and the server's side),
and puts noise in front of every answer the server sends, as a line
turnaround glitch does: "zero" one 0x00 byte, "several" three bytes,
"fake-start" five bytes that begin like an answer from UNIT (unit, function
3, a byte count) but are no frame. Prints "ready", then "noise N" per
answer. Stops on SIGTERM or when a side closes. Plain os/select: no weft code.
Usage: noise_relay.py MASTER_SIDE_PTY SERVER_SIDE_PTY MODE UNIT
"""
import os
import select
import sys
import termios
import tty


def open_raw(path):
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd, termios.TCSANOW)
    return fd


def main():
    master_side, server_side, mode, unit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    noise = {
        "zero": bytes([0x00]),
        "several": bytes([0xFF, 0x00, 0xFE]),
        "fake-start": bytes([unit, 0x03, 0x14, 0x00, 0x00]),
    }[mode]
    to_master, to_server = open_raw(master_side), open_raw(server_side)
    print("ready", flush=True)
    answer_started = False
    while True:
        readable, _, _ = select.select([to_master, to_server], [], [], 30)
        if not readable:
            return
        for fd in readable:
            data = os.read(fd, 512)
            if not data:
                return
            if fd == to_master:  # a request: the next bytes from the server are its answer
                os.write(to_server, data)
                answer_started = False
            else:
                if not answer_started:
                    os.write(to_master, noise + data)
                    print(f"noise {len(noise)}", flush=True)
                    answer_started = True
                else:
                    os.write(to_master, data)


if __name__ == "__main__":
    try:
        main()
    except OSError as e:  # a pty closed under us: the test is over
        print(f"relay: {e}", file=sys.stderr)
