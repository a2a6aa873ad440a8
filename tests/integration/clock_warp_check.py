#!/usr/bin/python3
"""Judges a weftd run whose wall clock was stepped +1 day, then back (-1 day),
by libfaketime (tests/integration/clock_warp.sh): the store (SQLite, read
only) and what the upload delivered (mosquitto_sub -v output).

  clock_warp_check.py DB LOG REAL_START_NS REAL_END_NS WARP_UP_NS WARP_DOWN_NS

The *_NS arguments are real (unwarped) wall times taken by the script: its
start and end, and the moments it stepped the clock ahead and back. The
first clock event (record's start, before any warp) gives the offset O0 =
wall - mono of the real clock; a warp at real time W happened at monotonic
time W - O0. Checks (each failure is an ERROR line, exit 1):

  clock events  exactly three rows: O0 at start, O0 + 1 day, O0 again
                (within 2 s), each stored within 5 s (monotonic) of its warp.
  labels        readings recorded during the warp carry a wall label a day
                ahead (else the warp did not happen and nothing is tested).
  cadence       the polled point (meter.u16, 100 ms) and the heartbeat
                (box.uptime_s, 50 ms), in the store's monotonic time: in the
                2 s before and after each warp at least 30 % and at most all
                of the ticks due (+2: one late from before the window, one at
                its edge): no pause, no burst; no gap over 1.5 s in the whole
                run; box.uptime_s advances with mono_ns (within 1 s: a loaded
                box may hold the loop between the two reads); box.missed_ticks
                stays far below the 1.7 M ticks a day would count.
  uploaded t    every reading that arrived: t = mono_ns + O0 within 1 s and
                inside the real time of the run (+-2 s): none a day off; in
                seq order t never goes back; the polled point's consecutive
                t differ as its mono_ns do (0.5 s) and by its period (median
                within 25 %, none over 1.5 s); the day-ahead readings arrived
                with corrected t.
"""
import json
import sqlite3
import statistics
import sys

DAY_NS = 86_400 * 10**9
SEC = 10**9
POLLED = ("meter.u16", 100_000_000)
TICKED = ("box.uptime_s", 50_000_000)
WINDOW_NS = 2 * SEC


def main():
    db_path, log = sys.argv[1], sys.argv[2]
    real_start, real_end, warp_up, warp_down = (int(a) for a in sys.argv[3:7])
    errors = []
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)

    # Clock events.
    events = db.execute("SELECT mono_ns, offset_ns FROM clock_events ORDER BY mono_ns").fetchall()
    if not events:
        print("ERROR: no clock_events row at all (record stores the offset at its start)")
        return 1
    o0 = events[0][1]
    m_up, m_down = warp_up - o0, warp_down - o0
    print(f"clock_events={len(events)} offsets_s={[round((o - o0) / SEC, 3) for _, o in events]}")
    if len(events) != 3:
        errors.append(f"{len(events)} clock_events rows, expected 3 (start, +1 day, -1 day): {events}")
    else:
        for (mono, off), want, at, what in ((events[1], o0 + DAY_NS, m_up, "+1 day"),
                                           (events[2], o0, m_down, "back")):
            if abs(off - want) > 2 * SEC:
                errors.append(f"clock event {what}: offset {off}, expected {want} within 2 s")
            if not at <= mono <= at + 5 * SEC:
                errors.append(f"clock event {what} stored at mono {mono}, {(mono - at) / SEC:.3f} s after the warp "
                              "(expected within 5 s)")

    # Readings in the store.
    rows = db.execute("SELECT r.seq, p.name, r.value, r.mono_ns, r.wall_ns FROM readings r "
                      "JOIN points p ON p.id = r.point ORDER BY r.seq").fetchall()
    ahead = [r for r in rows if abs(r[4] - r[3] - o0 - DAY_NS) < 2 * SEC]
    print(f"store_rows={len(rows)} labelled_a_day_ahead={len(ahead)}")
    if len(ahead) < 10:
        errors.append(f"only {len(ahead)} readings carry a wall label a day ahead: the warp did not take effect")
    ahead_seqs = {r[0] for r in ahead}

    def series(name):
        return [r for r in rows if r[1] == name]

    for name, period in (POLLED, TICKED):
        s = series(name)
        monos = [r[3] for r in s]
        if len(monos) < 2:
            errors.append(f"{name}: {len(monos)} readings in the store")
            continue
        gaps = [b - a for a, b in zip(monos, monos[1:])]
        print(f"{name}: readings={len(monos)} max_gap_ms={max(gaps) / 1e6:.1f} "
              f"median_gap_ms={statistics.median(gaps) / 1e6:.1f}")
        if max(gaps) > 1.5 * SEC:
            errors.append(f"{name}: a {max(gaps) / 1e9:.3f} s gap between readings (monotonic): a pause")
        due = WINDOW_NS // period
        for what, m in (("+1 day", m_up), ("back", m_down)):
            for side, lo, hi in (("before", m - WINDOW_NS, m), ("after", m, m + WINDOW_NS)):
                n = sum(1 for x in monos if lo <= x < hi)
                print(f"{name}: {n} readings in the 2 s {side} the warp {what} ({due} due)")
                if n < 0.3 * due:
                    errors.append(f"{name}: {n} readings in the 2 s {side} the warp {what}, {due} due: a pause")
                if n > due + 2:
                    errors.append(f"{name}: {n} readings in the 2 s {side} the warp {what}, {due} due: a burst")
    up = series(TICKED[0])
    if up:
        v0, m0 = up[0][2], up[0][3]
        worst = max(abs((v - v0) - (m - m0) / 1e9) for _, _, v, m, _ in up)
        print(f"{TICKED[0]}: worst drift against mono_ns {worst * 1e3:.1f} ms")
        if worst > 1.0:
            errors.append(f"{TICKED[0]} drifts {worst:.3f} s from mono_ns: uptime is not monotonic time")
    missed = series("box.missed_ticks")
    if not missed:
        errors.append("no box.missed_ticks readings")
    elif missed[-1][2] > 10_000:
        errors.append(f"heartbeat counts {missed[-1][2]} missed ticks: its ticker followed the wall clock")

    # What the upload delivered.
    by_seq = {}
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            _, _, payload = line.rstrip("\n").partition(" ")
            if payload.startswith("{"):
                for r in json.loads(payload)["readings"]:
                    by_seq.setdefault(r["seq"], r)
    arrived = [by_seq[s] for s in sorted(by_seq)]
    print(f"uploaded_readings={len(arrived)} day_ahead_uploaded={len(ahead_seqs & by_seq.keys())}")
    if len(ahead_seqs & by_seq.keys()) < 10:
        errors.append("fewer than 10 of the readings labelled a day ahead arrived: the corrected path is not tested")
    off_frame = [r for r in arrived if abs(r["t"] - r["mono_ns"] - o0) > SEC]
    if off_frame:
        r = off_frame[0]
        errors.append(f"{len(off_frame)} readings arrived with t off the frame mono_ns + O0, e.g. seq {r['seq']} "
                      f"({r['point']}) t - mono_ns - O0 = {(r['t'] - r['mono_ns'] - o0) / 1e9:+.3f} s")
    outside = [r for r in arrived if not real_start - 2 * SEC <= r["t"] <= real_end + 2 * SEC]
    if outside:
        r = outside[0]
        errors.append(f"{len(outside)} readings arrived with t outside the run's real time, e.g. seq {r['seq']} "
                      f"t {(r['t'] - real_start) / 1e9:+.3f} s from the start")
    back = [(a["seq"], b["seq"]) for a, b in zip(arrived, arrived[1:]) if b["t"] < a["t"]]
    if back:
        errors.append(f"t goes back in seq order {len(back)} times, e.g. seq {back[0][0]} -> {back[0][1]}")
    polled = [r for r in arrived if r["point"] == POLLED[0]]
    if len(polled) < 2:
        errors.append(f"{POLLED[0]}: {len(polled)} readings arrived")
    else:
        dt = [b["t"] - a["t"] for a, b in zip(polled, polled[1:])]
        skew = max(abs((b["t"] - a["t"]) - (b["mono_ns"] - a["mono_ns"])) for a, b in zip(polled, polled[1:]))
        med = statistics.median(dt)
        print(f"{POLLED[0]} uploaded: median_gap_ms={med / 1e6:.1f} max_gap_ms={max(dt) / 1e6:.1f} "
              f"min_gap_ms={min(dt) / 1e6:.1f} worst_t_vs_mono_ms={skew / 1e6:.3f}")
        if skew > 500_000_000:
            errors.append(f"{POLLED[0]}: consecutive t differ from their mono_ns by up to {skew / 1e6:.1f} ms")
        if abs(med - POLLED[1]) > POLLED[1] // 4:
            errors.append(f"{POLLED[0]}: median gap between t {med / 1e6:.1f} ms, poll period {POLLED[1] / 1e6:.0f} ms")
        if max(dt) > 1.5 * SEC or min(dt) <= 0:
            errors.append(f"{POLLED[0]}: a gap between consecutive t of {max(dt) / 1e9:.3f} s / {min(dt) / 1e9:.3f} s")
    for e in errors[:20]:
        print("ERROR:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
