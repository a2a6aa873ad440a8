#!/usr/bin/env bash
# An upload restart resends only what was in flight, and the backlog in
# SQLite is never touched by a restart of upload or record (issue 12).
# weftd records heartbeat readings (every 10 ms) and uploads them to a
# mosquitto broker; the broker is paused (SIGSTOP) so batches stay in
# flight without PUBACK; then `stop upload` and `stop record` through the
# console (what a reload of [service.upload] and [store] does), a second of
# backlog piles up while both are down (record's intake holds it), both
# start again and the broker goes on. Afterwards: every recorded seq
# arrived; readings that arrived twice are only ones that were not marked
# delivered at the stop, at most the in-flight window (4 batches of 100);
# the store holds every seq 1..N with no gap and nothing deleted, and the
# heartbeat series has no hole where record was down.
# Usage: bash upload_restart_backlog.sh <weftd> <weftctl>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/upload_common.bash"

start_broker_and_collector
SOCK=$TMP/weftd.sock
weftd_upload_config "$TMP/weftd.toml" "$PORT" "10ms"
printf '\n[service.console]\nsocket = "%s"\n' "$SOCK" >>"$TMP/weftd.toml"
DB=$TMP/readings.db

ctl() {
  STATUS=0
  timeout 20 "$WEFTCTL" --socket "$SOCK" --timeout 10 --exec "$1" >"$TMP/ctl.out" 2>&1 || STATUS=$?
  [[ $STATUS == 0 ]] || fail "weftctl --exec '$1' exited $STATUS: $(cat "$TMP/ctl.out")"
}

start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 90s
wait_grep 15 "$TMP/weftd.log" "connected to mqtt://"
wait_grep 15 "$TMP/weftd.log" "store: committed through seq [1-9]"
sleep 1

note "broker paused: batches stay in flight"
kill -STOP "${PID_OF[broker]}"
sleep 0.5
ctl "stop upload"
sqlite3 "$DB" "SELECT first_seq || ' ' || last_seq FROM delivered" >"$TMP/delivered_at_stop"
ctl "stop record"
note "upload and record stopped; delivered at the stop: $(tr '\n' ',' <"$TMP/delivered_at_stop")"
sleep 1  # heartbeat goes on: its readings wait in record's intake
ctl "start record"
kill -CONT "${PID_OF[broker]}"
ctl "start upload"
sleep 1.5

ctl "store"
grep -qE "^bus queue: +[0-9]+ waiting of 65536 \('\*'\), 0 dropped" "$TMP/ctl.out" ||
  fail "\`store\` does not show record's bus queue without drops: $(cat "$TMP/ctl.out")"

final=$($PY "$UPLOAD_CHECK" maxseq "$DB")
note "everything up to seq $final must reach the broker"
timeout 60 bash -c "until $PY '$UPLOAD_CHECK' complete '$DB' '$COLLECTED' $final >/dev/null; do sleep 0.3; done" ||
  fail "not every recorded reading reached the broker: $($PY "$UPLOAD_CHECK" complete "$DB" "$COLLECTED" "$final")"
kill -TERM "${PID_OF[weftd]}"
wait_exit weftd 10
no_service_failure "$TMP/weftd.log"

$PY - "$DB" "$COLLECTED" "$TMP/delivered_at_stop" "$final" <<'PY' || fail "the restart check failed (above)"
import collections, json, sqlite3, sys
db_path, log, delivered_file, final = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
lost = db.execute("SELECT first_seq, last_seq, why FROM lost").fetchall()
rows, top = db.execute("SELECT count(*), max(seq) FROM readings").fetchone()
delivered = [tuple(map(int, l.split())) for l in open(delivered_file) if l.strip()]
counts = collections.Counter()
for line in open(log, encoding="utf-8", errors="replace"):
    _, _, payload = line.rstrip("\n").partition(" ")
    if payload.startswith("{"):
        for r in json.loads(payload)["readings"]:
            counts[r["seq"]] += 1
dups = sorted(s for s, n in counts.items() if n > 1)
# Heartbeat ticked every 10 ms through the second record was down: its
# readings waited in record's intake, so no hole in its uptime series.
mono = [m for (m,) in db.execute("SELECT r.mono_ns FROM readings r JOIN points p ON p.id = r.point "
                                  "WHERE p.name = 'box.uptime_s' ORDER BY r.seq")]
hole_ms = max((b - a for a, b in zip(mono, mono[1:])), default=0) / 1e6
resent_delivered = [s for s in dups if any(a <= s <= b for a, b in delivered)]
missing = [s for s in range(1, final + 1) if s not in counts]
print(f"rows {rows}, max seq {top}, lost {lost}; arrived {len(counts)} seqs, {len(dups)} twice "
      f"({dups[:3]}..{dups[-3:]}); delivered at the stop {delivered}")
ok = True
if lost: print("FAIL: the store recorded gaps:", lost); ok = False
print(f"heartbeat: {len(mono)} uptime readings, the longest hole {hole_ms:.1f} ms")
if hole_ms > 400: print(f"FAIL: {hole_ms:.0f} ms of heartbeat readings are missing (lost while record was down)"); ok = False
if rows != top: print(f"FAIL: {top - rows} seqs missing from the store (deleted or never recorded)"); ok = False
if missing: print(f"FAIL: {len(missing)} recorded seqs never arrived: {missing[:10]}"); ok = False
if resent_delivered: print(f"FAIL: readings delivered before the stop were sent again: {resent_delivered[:10]}"); ok = False
if len(dups) > 4 * 100: print(f"FAIL: {len(dups)} readings resent, more than the in-flight window of 400"); ok = False
if not dups: print("FAIL: nothing was in flight at the stop (the broker pause did not hold any batch)"); ok = False
sys.exit(0 if ok else 1)
PY
echo "PASS upload_restart_backlog"
