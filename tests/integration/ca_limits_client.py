#!/usr/bin/python3
"""The ca service's limits and `ca clients`, against raw circuits and a pyepics monitor (issue 13).

Usage: ca_limits_client.py PORT DEVICE WEFTCTL SOCKET LOG
weftd (ca_limits.sh) runs heartbeat every 1 ms (prefix "box"), soft points
sp.a, sp.b, sp.c, sp.d and ca with max_circuits 4, max_channels 3,
max_subscriptions 2, client_timeout 2 s, send_buffer 4096. Each refusal
must be the one the issue names, logged once, naming the client's address;
a malformed message closes only its own circuit; a circuit whose output has
not drained for client_timeout is closed, an idle one is not.
"""
import os
import re
import subprocess
import sys
import time

import ca_raw
from ca_raw import Circuit, check, create_chan, event_add, msg

PORT, DEVICE, WEFTCTL, SOCK, LOG = sys.argv[1:6]
os.environ.update({
    "EPICS_CA_AUTO_ADDR_LIST": "NO",
    "EPICS_CA_ADDR_LIST": "127.0.0.1",
    "EPICS_CA_SERVER_PORT": PORT,
    "EPICS_CA_REPEATER_PORT": str(int(PORT) + 1),
})
import epics  # noqa: E402


def console(command):
    return ca_raw.console(WEFTCTL, SOCK, command)


def log_lines(pattern):
    with open(LOG, errors="replace") as f:
        return [line for line in f if re.search(pattern, line)]


def wait_log(pattern, secs=5.0):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        found = log_lines(pattern)
        if found:
            return found
        time.sleep(0.05)
    return []


def pv(name):
    return f"{DEVICE}:{name}"


# ---- a fast pyepics monitor runs beside everything (one circuit) ----------
check(epics.caget(pv("box:uptime_s"), timeout=5) is not None, "the PVs are up")
stamps = []
mon = epics.PV(pv("box:uptime_s"), auto_monitor=True)
mon.add_callback(lambda value=None, **kw: stamps.append(time.monotonic()))
deadline = time.monotonic() + 5
while len(stamps) < 20 and time.monotonic() < deadline:
    time.sleep(0.05)
check(len(stamps) >= 20, "the pyepics monitor streams")


def monitor_alive(what):
    n = len(stamps)
    time.sleep(0.3)
    check(len(stamps) >= n + 3, f"the pyepics monitor keeps receiving {what} ({len(stamps) - n} updates in 0.3 s)")


# ---- `ca clients`: circuits grouped by user@host and address --------------
a1 = Circuit(PORT, "alice", "hosta")
a2 = Circuit(PORT, "alice", "hosta")
b1 = Circuit(PORT, "bob", "hostb")
a1.send(create_chan(1, pv("sp:a")) + create_chan(2, pv("sp:b")))
got = a1.read(4, 5)
sids = {m[3]: m[4] for m in got if m[0] == ca_raw.CREATE_CHAN}
check(sorted(sids) == [1, 2], f"alice's first circuit has 2 channels ({[m[0] for m in got]})")
a1.send(event_add(sids[1], 11) + event_add(sids[2], 12))
check(len([m for m in a1.read(2, 5) if m[0] == ca_raw.EVENT_ADD]) == 2, "its 2 monitors get their initial updates")
a2.send(create_chan(1, pv("sp:c")))
got = a2.read(2, 5)
check(got[-1][0] == ca_raw.CREATE_CHAN, "alice's second circuit has a channel")
a2.send(event_add(got[-1][4], 21))
check(a2.read(1, 5)[0][0] == ca_raw.EVENT_ADD, "and a monitor")
b1.send(create_chan(1, pv("sp:d")))
got = b1.read(2, 5)
check(got[-1][0] == ca_raw.CREATE_CHAN, "bob's circuit has a channel")
b_sid = got[-1][4]
for c in (a1, a2, b1):
    c.read_quiet(0.2)  # soft points do not change: nothing more comes

text = console("ca clients")
print(text, end="", flush=True)
check(text.startswith("ca clients: 3 clients on 4 circuits"), "3 clients (alice, bob, pyepics) on 4 circuits")
alice = f"  alice@hosta 127.0.0.1: 2 circuits, 3 channels, 3 subscriptions, 0 squashed, {a1.sent + a2.sent} bytes in, " \
        f"{a1.received + a2.received} out"
bob = f"  bob@hostb 127.0.0.1: 1 circuits, 1 channels, 0 subscriptions, 0 squashed, {b1.sent} bytes in, {b1.received} out"
check(alice in text.splitlines(), f"alice's line, bytes exact: {alice.strip()}")
check(bob in text.splitlines(), f"bob's line, bytes exact: {bob.strip()}")
check(re.search(r"^  \S+@\S+ 127\.0\.0\.1: 1 circuits, 1 channels, [12] subscriptions, \d+ squashed, [1-9]\d* bytes in, "
                r"[1-9]\d* out$", text, re.M) is not None, "the pyepics client's line")
out = subprocess.run([WEFTCTL, "--socket", SOCK, "--timeout", "10", "--exec", "ca clients extra"], capture_output=True,
                     text=True, timeout=20)
check(out.returncode != 0 and "usage: ca clients" in out.stdout + out.stderr, "ca clients refuses arguments")

# ---- max_channels = 3 per circuit: CREATE_CH_FAIL, logged once ------------
a1.send(create_chan(3, pv("sp:c")) + create_chan(4, pv("sp:d")) + create_chan(5, pv("sp:a")))
got = a1.read(4, 5)
kinds = [(m[0], m[3]) for m in got]
check(kinds == [(ca_raw.ACCESS_RIGHTS, 3), (ca_raw.CREATE_CHAN, 3), (ca_raw.CREATE_CH_FAIL, 4),
                (ca_raw.CREATE_CH_FAIL, 5)], f"the 3rd channel is created, the 4th and 5th get CREATE_CH_FAIL ({kinds})")
lines = wait_log(r"max_channels")
time.sleep(0.2)
lines = log_lines(r"max_channels")
check(len(lines) == 1, f"the channel refusals are logged once ({len(lines)} lines)")
check(f"127.0.0.1:{a1.port} (alice@hosta)" in lines[0], f"naming the client: {lines[0].strip()}")

# ---- max_subscriptions = 2 per channel: ERROR ECA_ALLOCMEM, logged once ---
b1.send(event_add(b_sid, 1) + event_add(b_sid, 2) + event_add(b_sid, 3) + event_add(b_sid, 4))
got = b1.read(4, 5)
kinds = [(m[0], m[4] if m[0] == ca_raw.EVENT_ADD else m[4]) for m in got]
check([m[0] for m in got] == [ca_raw.EVENT_ADD, ca_raw.EVENT_ADD, ca_raw.ERROR, ca_raw.ERROR],
      f"2 subscriptions get updates, the 3rd and 4th ERROR ({[m[0] for m in got]})")
check(all(m[4] == ca_raw.ECA_ALLOCMEM and m[3] == 1 for m in got[2:]), "ECA_ALLOCMEM, for the channel's CID")
check([struct_sub for struct_sub in (int.from_bytes(m[5][12:16], "big") for m in got[2:])] == [3, 4],
      "each ERROR carries the refused request's header (subscription 3, 4)")
wait_log(r"max_subscriptions")
time.sleep(0.2)
lines = log_lines(r"max_subscriptions")
check(len(lines) == 1, f"the subscription refusals are logged once ({len(lines)} lines)")
check(f"127.0.0.1:{b1.port} (bob@hostb)" in lines[0], f"naming the client: {lines[0].strip()}")


# ---- the counts stay exact as monitors come and go (kept, not counted) -----
def bob_counts():
    found = re.search(r"^  bob@hostb 127\.0\.0\.1: 1 circuits, (\d+) channels, (\d+) subscriptions,",
                      console("ca clients"), re.M)
    return (int(found.group(1)), int(found.group(2))) if found else None


check(bob_counts() == (1, 2), f"bob: 1 channel, 2 subscriptions ({bob_counts()})")
b1.send(event_add(b_sid, 2))  # the same ID again: replaces that monitor, one more initial update
check([m[0] for m in b1.read(1, 5)] == [ca_raw.EVENT_ADD], "subscription 2 added again is answered")
check(bob_counts() == (1, 2), f"re-adding an ID counts it once ({bob_counts()})")
b1.send(msg(ca_raw.EVENT_CANCEL, ca_raw.DBR_DOUBLE, 1, b_sid, 1))
check([m[0] for m in b1.read(1, 5)] == [ca_raw.EVENT_ADD], "EVENT_CANCEL of subscription 1 is answered")
check(bob_counts() == (1, 1), f"a cancel counts one fewer ({bob_counts()})")
b1.send(msg(ca_raw.CLEAR_CHANNEL, p1=b_sid, p2=1))
check([m[0] for m in b1.read(1, 5)] == [ca_raw.CLEAR_CHANNEL], "CLEAR_CHANNEL is answered")
check(bob_counts() == (0, 0), f"clearing a channel takes its monitors with it ({bob_counts()})")
b1.send(create_chan(7, pv("sp:d")))
got = b1.read(2, 5)
check(got[-1][0] == ca_raw.CREATE_CHAN, "bob creates a channel again")
b_sid = got[-1][4]
b1.send(event_add(b_sid, 5))
check([m[0] for m in b1.read(1, 5)] == [ca_raw.EVENT_ADD], "and monitors it")
check(bob_counts() == (1, 1), f"counted from zero again ({bob_counts()})")

# ---- max_circuits = 4: more are accepted and closed at once, logged once --
extra = [Circuit(PORT, read_version=False) for _ in range(3)]
check(all(c.closed_within(3) for c in extra), "3 circuits beyond max_circuits are closed at once")
check(all(c.buf == b"" for c in extra), "without a VERSION: never served")
for c in extra:
    c.close()
wait_log(r"refusing a circuit from")
time.sleep(0.2)
lines = log_lines(r"refusing a circuit from")
check(len(lines) == 1, f"refused circuits are logged once per address ({len(lines)} lines)")
check("refusing a circuit from 127.0.0.1:" in lines[0] and "max_circuits" in lines[0],
      f"naming the address: {lines[0].strip()}")
check(re.search(r"4 circuits; .*, 3 circuits refused,", console("ca")) is not None, "`ca` counts 3 refused circuits")
monitor_alive("while circuits were refused")

# ---- a malformed message closes that circuit only, one log line -----------
# CREATE_CHAN whose name has no NUL: a decode error, not an unknown command.
a2.send(msg(ca_raw.CREATE_CHAN, p1=9, p2=13, payload=b"ABCDEFGH"))
check(a2.closed_within(3), "the circuit that sent a name without NUL is closed")
a2.close()
lines = wait_log(rf"127\.0\.0\.1:{a2.port} .*closing it")
time.sleep(0.2)
lines = log_lines(rf"127\.0\.0\.1:{a2.port}\b")
check(len(lines) == 1, f"one log line for it, naming its address ({lines})")
a1.send(msg(ca_raw.ECHO))
check([m[0] for m in a1.read(1, 3)] == [ca_raw.ECHO], "alice's other circuit goes on (ECHO answered)")
b1.send(msg(ca_raw.ECHO))
check([m[0] for m in b1.read(1, 3)] == [ca_raw.ECHO], "bob's circuit goes on")
monitor_alive("after the malformed circuit closed")

# ---- a burst of accepts: with 3 open and room for 1, exactly 1 is served --
burst = [Circuit(PORT, read_version=False) for _ in range(4)]
closed = [c.closed_within(2) for c in burst]
served = [c for c, gone in zip(burst, closed) if not gone]
check(len(served) == 1, f"a burst of 4 circuits with room for 1: 1 served, 3 closed ({closed})")
check(served[0].read(1, 2)[0][0] == ca_raw.VERSION, "the one served got VERSION")
check(len(log_lines(r"refusing a circuit from")) == 1, "still one refusal line for this address")
for c in burst:
    c.close()
time.sleep(0.3)

# ---- client_timeout = 2 s: an undrained circuit is closed, an idle one not --
stalled = Circuit(PORT, "stuck", "hostc", rcvbuf=2048)
adds = b""
for cid, p in enumerate(["uptime_s", "loop_lag_us", "missed_ticks"], start=1):
    adds += create_chan(cid, pv("box:" + p))
stalled.send(adds)
got = stalled.read(6, 5)
stalled_sids = [m[4] for m in got if m[0] == ca_raw.CREATE_CHAN]
check(len(stalled_sids) == 3, "the client that will stop reading has 3 channels")
stalled.send(b"".join(event_add(sid, 100 + i) for i, sid in enumerate(stalled_sids)))
started = time.monotonic()
# It never reads again: its receive buffer, the server's socket buffer and send_buffer fill, then 2 s pass.
lines = wait_log(rf"127\.0\.0\.1:{stalled.port} \(stuck@hostc\): output not drained for 2000 ms", 15)
took = time.monotonic() - started
check(len(lines) == 1, f"the undrained circuit is closed after client_timeout ({took:.1f} s after it stopped reading)")
check(2.0 <= took < 12, f"not before 2 s, not much later ({took:.1f} s)")
print(f"figure: the stalled circuit was closed {took:.1f} s after it stopped reading (client_timeout 2 s)", flush=True)
check(f":{stalled.port} " not in console("ca"), "it is gone from `ca`")
check(stalled.closed_within(5), "its socket is closed")
stalled.close()
a1.send(msg(ca_raw.ECHO))
check([m[0] for m in a1.read_quiet(0.3)] == [ca_raw.ECHO], "an idle circuit (no output for > 2 s) stays open")
b1.send(msg(ca_raw.ECHO))
check([m[0] for m in b1.read_quiet(0.3)] == [ca_raw.ECHO], "so does bob's")
monitor_alive("after the stalled circuit was closed")
gaps = [b - a for a, b in zip(stamps, stamps[1:])]
worst = max(gaps)
print(f"figure: pyepics monitor: {len(stamps)} updates, worst gap {worst * 1000:.1f} ms through all of the above",
      flush=True)
check(worst < 1.0, f"no update of the pyepics monitor was delayed by 1 s or more ({worst * 1000:.1f} ms)")
text = console("ca clients")
print(text, end="", flush=True)
check(text.startswith("ca clients: 3 clients on 3 circuits"), "alice, bob and pyepics are left, one circuit each")
mon.clear_callbacks()
a1.close()
b1.close()
print("all checks passed", flush=True)
