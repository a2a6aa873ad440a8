#!/usr/bin/python3
"""Checks what the upload service delivered (mosquitto_sub -v output) against
the weft store (SQLite, read-only). Used by the upload_*.sh integration tests.

  upload_check.py check DB LOG [--upto N] [--max-resent K] [--crash-dups]
      Every message parses; its readings ascend and lie in its range; each
      reading equals its row in the DB (point, value, quality, mono_ns, boot,
      t within 1 s of the wall label); with --upto, every recorded seq <= N
      that is not a recorded gap arrived. Duplicates: a message repeated
      byte for byte is a resent in-flight batch (at most K with
      --max-resent); a reading repeated in a different message is allowed
      only with --crash-dups (batches rebuilt after a kill). With
      --delivered, every row the store marks delivered arrived. Order: once
      repeated messages are dropped, live messages ascend, and so do
      backlog messages (not with --crash-dups: each restart begins anew).
      --max-dup-readings D bounds readings repeated across messages;
      --live-first S: after seq S (an outage) the first new message is
      live data, and backlog older than it drains behind it.
      --t-offset O: t must be mono_ns + O within 1 s instead of near the
      wall label (the wall clock was stepped: labels are off, t is not).
  upload_check.py complete DB LOG N
      Exit 0 when every recorded seq <= N (not a gap) has arrived; else 1.
  upload_check.py durable DB FROM N
      Exit 0 when every seq from the first one recorded after FROM up to N
      is in the DB (or a recorded gap): what the store acknowledged survived.
  upload_check.py maxseq DB
      The highest seq in the DB (0 if none).
"""
import json
import sqlite3
import sys

QUALITY = {0: "good", 1: "stale", 2: "comm-error"}


def db_open(path):
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)


def lost_ranges(db):
    return db.execute("SELECT first_seq, last_seq FROM lost").fetchall()


def in_ranges(seq, ranges):
    return any(a <= seq <= b for a, b in ranges)


def messages(log):
    out = []
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            topic, _, payload = line.partition(" ")
            if not payload.startswith("{"):
                continue
            out.append((topic, payload, json.loads(payload)))
    return out


def arrived_seqs(log):
    seen = set()
    for _, _, m in messages(log):
        for r in m["readings"]:
            seen.add(r["seq"])
    return seen


def missing_upto(db, seen, upto):
    lost = lost_ranges(db)
    rows = db.execute("SELECT seq FROM readings WHERE seq <= ?", (upto,)).fetchall()
    return [s for (s,) in rows if s not in seen and not in_ranges(s, lost)]


def check(args):
    db_path, log = args[0], args[1]
    upto = None
    max_resent = None
    crash_dups = False
    delivered_check = False
    max_dup_readings = None
    live_first = None
    t_offset = None
    arrivals = []  # first copies of messages, in arrival order
    i = 2
    while i < len(args):
        if args[i] == "--upto":
            upto = int(args[i + 1]); i += 2
        elif args[i] == "--max-resent":
            max_resent = int(args[i + 1]); i += 2
        elif args[i] == "--crash-dups":
            crash_dups = True; i += 1
        elif args[i] == "--delivered":
            delivered_check = True; i += 1
        elif args[i] == "--max-dup-readings":
            max_dup_readings = int(args[i + 1]); i += 2
        elif args[i] == "--live-first":
            live_first = int(args[i + 1]); i += 2
        elif args[i] == "--t-offset":
            t_offset = int(args[i + 1]); i += 2
        else:
            sys.exit(f"unknown argument {args[i]}")
    db = db_open(db_path)
    rows = {}
    for seq, name, value, quality, mono_ns, boot, wall_ns in db.execute(
            "SELECT r.seq, p.name, r.value, r.quality, r.mono_ns, b.boot_id, r.wall_ns FROM readings r "
            "JOIN points p ON p.id = r.point JOIN boots b ON b.id = r.boot"):
        rows[seq] = (name, value, QUALITY.get(quality, "stale"), mono_ns, boot, wall_ns)
    errors = []
    seen_payloads = set()
    seen_seqs = set()
    resent = 0
    crash_dup_readings = 0
    last_first = {False: 0, True: 0}
    counts = {False: 0, True: 0}
    msgs = messages(log)
    for topic, payload, m in msgs:
        if (topic, payload) in seen_payloads:
            resent += 1
            continue
        seen_payloads.add((topic, payload))
        arrivals.append(m)
        if m.get("device") != "testbox" or topic != "weft/testbox/readings":
            errors.append(f"unexpected device/topic {topic} {m.get('device')}")
        readings = m["readings"]
        seqs = [r["seq"] for r in readings]
        if seqs != sorted(seqs) or len(set(seqs)) != len(seqs):
            errors.append(f"batch {m['batch']}: readings not ascending: {seqs[:10]}")
        if seqs and (seqs[0] != m["first_seq"] or seqs[-1] != m["last_seq"] or m["batch"] != m["first_seq"]):
            errors.append(f"batch {m['batch']}: range {m['first_seq']}..{m['last_seq']} vs readings {seqs[0]}..{seqs[-1]}")
        backlog = bool(m["backlog"])
        counts[backlog] += 1
        if not crash_dups:
            if m["first_seq"] <= last_first[backlog]:
                errors.append(f"{'backlog' if backlog else 'live'} message {m['first_seq']} after {last_first[backlog]}: order broken")
            last_first[backlog] = m["first_seq"]
        for r in readings:
            seq = r["seq"]
            if seq in seen_seqs:
                crash_dup_readings += 1
                if not crash_dups:
                    errors.append(f"seq {seq} arrived twice in different messages")
            seen_seqs.add(seq)
            row = rows.get(seq)
            if row is None:
                errors.append(f"seq {seq} arrived but is not in the DB")
                continue
            name, value, quality, mono_ns, boot, wall_ns = row
            got = (r["point"], r["value"], r["quality"], r["mono_ns"], r["boot"])
            if got != (name, value, quality, mono_ns, boot):
                errors.append(f"seq {seq}: arrived {got}, DB has {(name, value, quality, mono_ns, boot)}")
            if t_offset is not None:
                if abs(r["t"] - (mono_ns + t_offset)) > 1_000_000_000:
                    errors.append(f"seq {seq}: t {r['t']} is not mono_ns {mono_ns} + {t_offset} (within 1 s)")
            elif abs(r["t"] - wall_ns) > 1_000_000_000:
                errors.append(f"seq {seq}: t {r['t']} is far from the wall label {wall_ns}")
    if max_dup_readings is not None and crash_dup_readings > max_dup_readings:
        errors.append(f"{crash_dup_readings} readings arrived twice, at most {max_dup_readings} expected")
    if live_first is not None:
        after = [m for m in arrivals if m["readings"] and m["last_seq"] > live_first]
        if not after or after[0]["backlog"]:
            errors.append(f"the first message with readings after seq {live_first} is not live data")
        elif not any(m["backlog"] and m["first_seq"] < after[0]["first_seq"] for m in after):
            errors.append(f"no backlog drained behind the first live message {after[0]['first_seq']}")
    if max_resent is not None and resent > max_resent:
        errors.append(f"{resent} messages resent, at most {max_resent} expected (in flight at outages)")
    missing = missing_upto(db, seen_seqs, upto) if upto is not None else []
    if missing:
        errors.append(f"{len(missing)} recorded readings <= {upto} never arrived, e.g. {missing[:10]}")
    delivered = db.execute("SELECT first_seq, last_seq FROM delivered").fetchall()
    marked = [s for s in rows if in_ranges(s, delivered)]
    if delivered_check:
        unseen = [s for s in marked if s not in seen_seqs]
        if unseen:
            errors.append(f"{len(unseen)} readings marked delivered never arrived, e.g. {sorted(unseen)[:10]}")
    print(f"messages={len(msgs)} live={counts[False]} backlog={counts[True]} resent={resent} "
          f"readings_unique={len(seen_seqs)} crash_dup_readings={crash_dup_readings} db_rows={len(rows)} "
          f"marked_delivered={len(marked)}")
    for e in errors[:20]:
        print("ERROR:", e)
    return 1 if errors else 0


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "check":
        return check(args)
    if cmd == "complete":
        db = db_open(args[0])
        missing = missing_upto(db, arrived_seqs(args[1]), int(args[2]))
        print(f"missing={len(missing)}")
        return 0 if not missing else 1
    if cmd == "durable":
        # Every seq from the first one recorded after FROM up to N is a row or a recorded gap.
        db = db_open(args[0])
        start, upto = int(args[1]), int(args[2])
        first = db.execute("SELECT min(seq) FROM readings WHERE seq > ?", (start,)).fetchone()[0]
        if first is None:
            print(f"no readings after {start}")
            return 1 if upto > start else 0
        present = {s for (s,) in db.execute("SELECT seq FROM readings WHERE seq BETWEEN ? AND ?", (first, upto))}
        lost = lost_ranges(db)
        missing = [s for s in range(first, upto + 1) if s not in present and not in_ranges(s, lost)]
        print(f"first={first} upto={upto} missing={len(missing)} {missing[:10]}")
        return 0 if not missing else 1
    if cmd == "maxseq":
        print(db_open(args[0]).execute("SELECT coalesce(max(seq), 0) FROM readings").fetchone()[0])
        return 0
    sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    sys.exit(main())
