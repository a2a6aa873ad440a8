#!/usr/bin/env bash
# A corrupt readings.db does not stop the box. weftd (heartbeat, record,
# upload to a real mosquitto, console) records, stops cleanly; every page
# of the database but the first is overwritten with random bytes (SQLite's
# quick_check confirms the damage); weftd is started again under a fake
# systemd notify socket. Expected: it keeps running (no crash loop, no exit
# 3), the file is beside it as readings.db.corrupt-<time>, a new database
# records and upload delivers readings with seqs above every old one, the
# old seqs are a gap, and `store` and STATUS= show the incident.
# Usage: bash store_corrupt_weftd.sh <weftd> <weftctl> <python3>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
HERE=$(dirname "${BASH_SOURCE[0]}")
source "$HERE/common.bash"
source "$HERE/upload_common.bash"
PY=$3
SQLITE=$(command -v sqlite3)
DB="$TMP/readings.db"
SOCK="$TMP/weftd.sock"

start_broker_and_collector
weftd_upload_config "$TMP/weftd.toml" "$PORT" "10ms"
cat >>"$TMP/weftd.toml" <<TOML

[service.console]
socket = "$SOCK"
TOML

note "first run: records, stops cleanly"
start_bg weftd1 "$WEFTD" --config "$TMP/weftd.toml" --for 60s
wait_grep 20 "$TMP/weftd1.log" "store: committed through seq [0-9]{3,}"
stop weftd1
old_top=$("$SQLITE" "$DB" 'SELECT max(seq) FROM readings')
old_delivered=$("$SQLITE" "$DB" 'SELECT coalesce(max(last_seq), 0) FROM delivered')
note "old database holds seqs up to $old_top, delivered up to $old_delivered"

note "overwrite every page but the first with random bytes"
pages=$(($(stat -c %s "$DB") / 4096))
((pages >= 3)) || fail "the database has only $pages pages"
dd if=/dev/urandom of="$DB" bs=4096 seek=1 count=$((pages - 1)) conv=notrunc status=none
check=$("$SQLITE" "$DB" 'PRAGMA quick_check' 2>&1 || true)
[[ $check != ok ]] || fail "the scrambled file still passes quick_check"

note "second run on the corrupt file, with a notify socket"
start_bg notify "$PY" "$HERE/../health/notify_listener.py" "$TMP/notify.sock" "$TMP/notify.out" 60
wait_fixed 5 "$TMP/notify.out" LISTENING
start_bg weftd2 env NOTIFY_SOCKET="$TMP/notify.sock" "$WEFTD" --config "$TMP/weftd.toml" --for 60s
wait_grep 20 "$TMP/weftd2.log" "was corrupt .*: moved aside to "
wait_grep 20 "$TMP/weftd2.log" "\[record\] ready"
wait_fixed 20 "$TMP/weftd2.log" "all 4 services ready"
aside=("$DB".corrupt-*)
[[ -f ${aside[0]} ]] || fail "no readings.db.corrupt-* beside the database"
note "moved aside: ${aside[0]##*/}"

note "new readings are recorded and uploaded with seqs above $old_top"
deadline=$((SECONDS + 20))
while :; do
  new_min=$("$SQLITE" "$DB" 'SELECT coalesce(min(seq), 0) FROM readings' 2>/dev/null || echo 0)
  delivered=$("$SQLITE" "$DB" 'SELECT coalesce(max(last_seq), 0) FROM delivered' 2>/dev/null || echo 0)
  ((new_min > 0 && delivered > new_min)) && break
  ((SECONDS < deadline)) || fail "no readings recorded and delivered in the new database (min $new_min, delivered $delivered)"
  sleep 0.2
done
((new_min > old_top)) || fail "the new database reuses seqs: min $new_min <= old top $old_top"
uploaded_max=$("$PY" -c '
import json, sys
top = 0
for line in open(sys.argv[1], errors="replace"):
    _, _, payload = line.partition(" ")
    try:
        top = max([top] + [r["seq"] for r in json.loads(payload)["readings"]])
    except Exception:
        pass
print(top)' "$COLLECTED")
((uploaded_max > old_top)) || fail "the broker got nothing above seq $old_top (max $uploaded_max)"
# What the old file held beyond the delivered prefix is the gap. Upload may
# have delivered everything before the clean stop (a quiet machine, 10 ms
# heartbeats): then nothing was lost and there must be no gap.
gap=$("$SQLITE" "$DB" "SELECT first_seq || '..' || last_seq FROM lost WHERE why LIKE 'database corrupt: moved aside to readings.db.corrupt-%'")
if ((old_delivered < old_top)); then
  [[ $gap == "$((old_delivered + 1))..$old_top" ]] ||
    fail "expected the 'database corrupt' gap $((old_delivered + 1))..$old_top, lost table: $("$SQLITE" "$DB" 'SELECT * FROM lost')"
else
  [[ -z $gap ]] || fail "every old seq was delivered, yet a 'database corrupt' gap $gap was recorded"
fi
note "gap '${gap}', new seqs from $new_min, uploaded up to $uploaded_max"

note "console store and STATUS= show the incident"
timeout 20 "$WEFTCTL" --socket "$SOCK" --timeout 10 --exec store >"$TMP/ctl.out" 2>&1 || fail "weftctl store failed: $(cat "$TMP/ctl.out")"
grep -qF "incidents" "$TMP/ctl.out" || fail "store shows no incidents: $(cat "$TMP/ctl.out")"
grep -qF "was corrupt" "$TMP/ctl.out" || fail "store does not name the corrupt file: $(cat "$TMP/ctl.out")"
wait_grep 10 "$TMP/notify.out" "^STATUS=.*; record: store incident: .*was corrupt"

note "still running, nothing escalated"
running weftd2 || fail "weftd exited"
if grep -q "exceed its restart intensity" "$TMP/weftd2.log"; then fail "a service escalated"; fi
stop weftd2
note "ok"
