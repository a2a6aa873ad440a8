"""A Modbus RTU unit on a pty that vanishes in the middle of an answer, for
weftd_pty_vanish.sh (standard library only).

  pty_vanish_peer.py LINK UNIT VALUE CUT_AFTER GONE_S

Makes a pty and points LINK at its slave; answers read holding registers
(function 3) for UNIT with VALUE in every register. The answer to request
number CUT_AFTER + 1 is cut: its first 3 bytes are written, then the master
is closed and LINK removed (the pty vanishes, as a USB adapter pulled
mid-frame). GONE_S seconds later a new pty appears behind LINK and answers
as before, until killed. Prints one line per event ("ready", "cut after N
requests", "back", "request N").
"""
import os
import select
import sys
import time
import tty


def crc16(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes([crc & 0xFF, crc >> 8])


def make_pty(link):
    master, slave = os.openpty()
    tty.setraw(slave)
    tmp = link + ".new"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(os.ttyname(slave), tmp)
    os.rename(tmp, link)  # atomic: weftd never sees a half-made link
    os.close(slave)  # weftd opens it by name; the pty lives while the master is open
    return master


def answers(master, unit, value, limit, counter):
    """Serves requests until `limit` were answered (None: for ever). Returns
    the request it did not answer, once one arrives past the limit."""
    buf = b""
    while True:
        r, _, _ = select.select([master], [], [], 1.0)
        if not r:
            buf = b""  # a silence ends any partial frame
            continue
        try:
            buf += os.read(master, 256)
        except OSError:  # EIO: nobody holds the slave yet
            time.sleep(0.05)
            continue
        while len(buf) >= 8:
            frame, buf = buf[:8], buf[8:]
            if frame[6:] != crc16(frame[:6]) or frame[0] != unit or frame[1] != 3:
                buf = b""
                break
            counter[0] += 1
            print("request %d" % counter[0], flush=True)
            count = int.from_bytes(frame[4:6], "big")
            pdu = bytes([unit, 3, 2 * count]) + value.to_bytes(2, "big") * count
            answer = pdu + crc16(pdu)
            if limit is not None and counter[0] > limit:
                return answer
            os.write(master, answer)


def main():
    link, unit, value, cut_after, gone_s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(
        sys.argv[5])
    counter = [0]
    master = make_pty(link)
    print("ready", flush=True)
    answer = answers(master, unit, value, cut_after, counter)
    os.write(master, answer[:3])
    time.sleep(0.02)  # let weftd read the partial frame
    os.unlink(link)
    os.close(master)
    print("cut after %d requests: 3 of %d bytes sent, pty gone" % (cut_after, len(answer)), flush=True)
    time.sleep(gone_s)
    master = make_pty(link)
    print("back", flush=True)
    answers(master, unit, value, None, counter)


if __name__ == "__main__":
    main()
