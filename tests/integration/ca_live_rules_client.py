#!/usr/bin/python3
"""A reload that changes only ca's access rules, seen by open channels
(ca_live_rules.sh): pyepics (real libca) keeps one channel to a writable
soft point open, a raw circuit (ca_raw.py: what libca hides, statuses and
requests libca refuses to send) as user "raw" another, with a monitor.
Each phase renders the config template (@GRANT@ for everyone, @RAW@ for
raw), runs `weftctl reload`, and checks what the channels see: new
ACCESS_RIGHTS without a reconnect, refusals by the new rules, monitors
silent without read access and fed again when it returns.

Usage: PORT TEMPLATE CONFIG WEFTCTL SOCKET
"""
import os
import struct
import subprocess
import sys
import time

PORT, TEMPLATE, CONFIG, WEFTCTL, SOCK = sys.argv[1:6]
os.environ.update({"EPICS_CA_AUTO_ADDR_LIST": "NO", "EPICS_CA_ADDR_LIST": "127.0.0.1",
                   "EPICS_CA_SERVER_PORT": PORT, "EPICS_CA_REPEATER_PORT": str(int(PORT) + 1),
                   "EPICS_CA_CONN_TMO": "5"})
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import epics  # noqa: E402
from epics import ca  # noqa: E402
from ca_raw import ACCESS_RIGHTS, EVENT_ADD, Circuit, check, create_chan, event_add, msg  # noqa: E402

PV = "live:sp:target"
READ_NOTIFY, WRITE_NOTIFY, DBR_DOUBLE = 15, 19, 6
ECA_NORMAL, ECA_NORDACCESS, ECA_NOWTACCESS = 1, 368, 376


def reload(grant, raw, writable="true"):
    """The config with these grants (and the soft point's writable), then `weftctl reload`: its output (checked:
    applied live, no restart)."""
    with open(TEMPLATE) as f:
        text = f.read().replace("@GRANT@", grant).replace("@RAW@", raw).replace("writable = true", f"writable = {writable}")
    with open(CONFIG + ".tmp", "w") as f:
        f.write(text)
    os.rename(CONFIG + ".tmp", CONFIG)
    out = subprocess.run([WEFTCTL, "--socket", SOCK, "reload", "--timeout", "30"], capture_output=True,
                         text=True, timeout=40)
    print(out.stdout, end="", flush=True)
    check(out.returncode == 0, f"reload to grant={grant} raw={raw} applied ({out.returncode}: {out.stderr.strip()})")
    check(" live " in out.stdout and "ca  applied live, no restart" in out.stdout and "restart " not in out.stdout,
          "the reload applied ca's rules live, restarting nothing")
    return out.stdout


def wait_for(cond, secs=10.0):
    t0 = time.monotonic()
    while not cond() and time.monotonic() - t0 < secs:
        ca.poll(0.01)
    return cond()


# pyepics: the connection and access callbacks count what libca saw.
conns, rights = [], []
pv = epics.PV(PV, connection_callback=lambda conn=None, **kw: conns.append(conn),
              access_callback=lambda r, w, **kw: rights.append((r, w)))
check(pv.wait_for_connection(timeout=10) and pv.write_access, "pyepics: the channel connects, writable")
check(epics.caput(PV, 1.5, wait=True, timeout=10) == 1 and abs(pv.get(use_monitor=False) - 1.5) < 1e-9,
      "pyepics: caput 1.5 applies")

# The raw circuit: ACCESS_RIGHTS, CREATE_CHAN reply, and the monitor's first update.
raw = Circuit(PORT, user="raw", host="test")
raw.send(create_chan(7, PV))
got = raw.read(2, 5)
check(len(got) == 2 and got[0][0] == ACCESS_RIGHTS and got[0][4] == 3, f"raw: read-write at CREATE_CHAN ({got})")
sid = got[1][4]
raw.send(event_add(sid, 42))
first = raw.read(1, 5)
check(first and first[0][0] == EVENT_ADD and first[0][3] == ECA_NORMAL, f"raw: the monitor's first update ({first})")
ioid = [100]


def raw_request(cmd, payload=b""):
    """READ_NOTIFY or WRITE_NOTIFY of a DOUBLE on raw's channel: the reply's (status, payload)."""
    ioid[0] += 1
    raw.send(msg(cmd, DBR_DOUBLE, 1, sid, ioid[0], payload))
    for m in raw.read_quiet(0.3, 5):
        if m[0] == cmd and m[4] == ioid[0]:
            return m[3], m[5]
    check(False, f"raw: no reply to command {cmd}")


def write_payload(x):
    return struct.pack(">d", x)


print("phase 0: a rules change in a reload that rolls back (the console cannot start) never applies", flush=True)
plain = os.path.join(os.path.dirname(CONFIG), "plain")
with open(plain, "w") as f:
    f.write("a regular file: no socket can be made under it\n")
with open(TEMPLATE) as f:
    text = f.read().replace("@GRANT@", "read").replace("@RAW@", "none").replace(SOCK, os.path.join(plain, "weftd.sock"))
with open(CONFIG, "w") as f:
    f.write(text)
n_rights = len(rights)
out = subprocess.run([WEFTCTL, "--socket", SOCK, "reload", "--timeout", "60"], capture_output=True, text=True,
                     timeout=70)
print(out.stdout, out.stderr, end="", flush=True)
check(out.returncode == 1 and "rolled back" in out.stdout + out.stderr, f"the reload rolled back ({out.returncode})")
check("applied live" not in out.stdout + out.stderr, "the rolled-back reload applied nothing live")
ca.poll(0.3)
check(len(rights) == n_rights and pv.write_access and conns == [True],
      f"pyepics: never told of other rights, still writable, connected ({rights}, {conns})")
check(epics.caput(PV, 1.75, wait=True, timeout=10) == 1 and abs(pv.get(use_monitor=False) - 1.75) < 1e-9,
      "pyepics: the old rules hold: caput 1.75 applies")
seen = raw.read_quiet(0.3, 3)
check(len(seen) == 1 and seen[0][0] == EVENT_ADD and seen[0][3] == ECA_NORMAL,
      f"raw: no ACCESS_RIGHTS, just the monitor's update of 1.75 ({seen})")

print("phase 1: everyone read-only, raw no access", flush=True)
reload("read", "none")
# Pushed, not polled: the reload's reply came after the rights were queued.
check(wait_for(lambda: not pv.write_access, 5), f"pyepics: write_access went False ({rights})")
check(pv.read_access and rights[-1] == (True, False), f"pyepics: read-only now, told by ACCESS_RIGHTS ({rights})")
check(conns == [True] and pv.connected, f"pyepics: the channel stayed connected (connection callbacks {conns})")
try:
    epics.caput(PV, 9.0, wait=True, timeout=5)
    check(False, "pyepics: caput must be refused by the new rules")
except Exception as e:
    check("Write access denied" in str(e), f"pyepics: libca refuses the caput by the pushed rights ({e})")
pushed = raw.read(2, 5)
check(len(pushed) >= 1 and pushed[0][0] == ACCESS_RIGHTS and pushed[0][3] == 7 and pushed[0][4] == 0,
      f"raw: ACCESS_RIGHTS 0 pushed to its open channel ({pushed})")
check(len(pushed) == 2 and pushed[1][0] == EVENT_ADD and pushed[1][3] == ECA_NORDACCESS and pushed[1][4] == 42 and
      pushed[1][5] == b"\0" * 8, f"raw: its monitor got one ECA_NORDACCESS update, zeroed ({pushed})")
status, _ = raw_request(WRITE_NOTIFY, write_payload(9.0))
check(status == ECA_NOWTACCESS, f"raw: a WRITE_NOTIFY sent anyway is refused ECA_NOWTACCESS ({status})")
status, data = raw_request(READ_NOTIFY)
check(status == ECA_NORDACCESS and data == b"\0" * 8, f"raw: READ_NOTIFY refused ECA_NORDACCESS, zeroed ({status})")
check(abs(pv.get(use_monitor=False) - 1.75) < 1e-9, "pyepics: still reads 1.75 (nothing was written)")

print("phase 2: everyone read-write again, raw still no access", flush=True)
reload("write", "none")
check(wait_for(lambda: pv.write_access, 5), f"pyepics: write_access back to True ({rights})")
check(conns == [True], f"pyepics: still the one connection ({conns})")
check(epics.caput(PV, 2.5, wait=True, timeout=10) == 1 and abs(pv.get(use_monitor=False) - 2.5) < 1e-9,
      "pyepics: caput 2.5 applies again")
quiet = raw.read_quiet(0.5, 3)
check(quiet == [], f"raw: without read access its monitor stays silent through the write ({quiet})")

print("phase 3: raw may read again", flush=True)
reload("write", "read")
back = raw.read(2, 5)
check(len(back) >= 1 and back[0][0] == ACCESS_RIGHTS and back[0][4] == 1, f"raw: ACCESS_RIGHTS 1 pushed ({back})")
check(len(back) == 2 and back[1][0] == EVENT_ADD and back[1][3] == ECA_NORMAL and
      abs(struct.unpack(">d", back[1][5][:8])[0] - 2.5) < 1e-9, f"raw: its monitor got the current value 2.5 ({back})")
status, _ = raw_request(WRITE_NOTIFY, write_payload(7.0))
check(status == ECA_NOWTACCESS, f"raw: read-only: WRITE_NOTIFY still refused ({status})")

print("phase 4: the soft point's writable turned off (the rules still grant write)", flush=True)
out = reload("write", "read", writable="false")
check("applied  soft_point[sp.target].writable" in out and "access[" not in out,
      "the reload names the soft point's writable as its one live key")
check(wait_for(lambda: not pv.write_access, 5) and pv.read_access, f"pyepics: write_access went False ({rights})")
quiet = raw.read_quiet(0.3, 3)
check(quiet == [], f"raw: read-only before and after: nothing pushed to it ({quiet})")
status, _ = raw_request(WRITE_NOTIFY, write_payload(8.0))
check(status == ECA_NOWTACCESS, f"raw: the point is not writable: WRITE_NOTIFY refused ({status})")
check(conns == [True] and pv.connected, f"pyepics: connected throughout, one connection callback ({conns})")
raw.close()
print("all checks passed", flush=True)
