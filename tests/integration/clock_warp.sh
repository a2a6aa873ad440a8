#!/usr/bin/env bash
# Wall-clock warps under a real weftd: libfaketime (LD_PRELOAD, the offset
# read from a file on every call, the monotonic clock left alone) steps
# weftd's wall clock +1 day, then back, while gather polls a weft-devsim
# instrument on a pty every 100 ms, heartbeat ticks every 50 ms, record
# stores (retention 1 h) and upload is cut off by a broker outage that spans
# both warps. The +1 day step lands just before the store's housekeeping
# (every 10 s from its open, located by the ballast file it makes then), so
# retention runs while the wall clock is ahead and the clock event is not
# stored yet: its worst moment. Then (clock_warp_check.py, upload_check.py,
# the sqlite3 CLI):
#   - polling and the heartbeat keep their period in monotonic time around
#     each warp (no pause, no burst), uptime is monotonic;
#   - each jump is logged ("wall clock jumped by +86400.0.. s") and stored
#     (clock_events), no other;
#   - what arrives at the broker carries t corrected to one frame (mono_ns
#     plus the start offset): none a day off, ascending with seq, gaps of
#     the poll period;
#   - retention deleted nothing (no `pruned (retention)`, seqs 1..N all in
#     the store) and every committed seq arrived, each in one message.
# Skipped (77) without libfaketime (Debian package faketime). About 20 s.
# Usage: bash clock_warp.sh <weftd> <weft-devsim> <timerfd_direct.so>
# (the shim keeps libfaketime off Asio's monotonic timerfd:
# integration/timerfd_direct.cpp)
set -euo pipefail
WEFTD=$1 DEVSIM=$2 TIMERFD_DIRECT=$3
FAKETIME_LIB=
for f in /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1; do
  [[ -e $f ]] && FAKETIME_LIB=$f && break
done
if [[ -z $FAKETIME_LIB ]]; then
  echo "SKIPPED: libfaketimeMT.so.1 not found (apt-get install faketime)"
  exit 77
fi
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/upload_common.bash"
CHECK=$(dirname "${BASH_SOURCE[0]}")/clock_warp_check.py
DB=$TMP/readings.db
LOG=$TMP/weftd.log

now_ns() { echo "${EPOCHREALTIME/./}000"; }  # the script's (real) wall clock
# warp OFFSET: weftd's wall clock is real time + OFFSET from its next read
# on (written aside and renamed: libfaketime never reads a half-written file).
warp() {
  echo "$1" >"$TMP/faketime.new"
  mv "$TMP/faketime.new" "$TMP/faketime"
}
# sleep_until NS: until the script's clock reaches NS.
sleep_until() {
  local left=$(($1 - $(now_ns)))
  ((left <= 0)) || sleep "$(printf '%d.%09d' $((left / 1000000000)) $((left % 1000000000)))"
}

REAL_START=$(now_ns)
start_broker_and_collector
mkdir -p "$TMP/lock"
devsim_config "$TMP/sim.toml" "$TMP/dev"
start_devsim "$DEVSIM" "$TMP/sim.toml" "$TMP/dev"
cat >"$TMP/weftd.toml" <<TOML
[weftd]
log_level = "info"
stop_grace = "2s"

[store]
path = "$DB"
batch_rows = 200
batch_age = "50ms"
retention = "1h"

[service.heartbeat]
period = "50ms"
prefix = "box"

[service.gather]
lock_dir = "$TMP/lock"

[[serial]]
name = "bus"
path = "$TMP/dev"
baud = 19200
parity = "E"
response_timeout = "300ms"

[[instrument]]
name = "meter"
port = "bus"
unit = 5
period = "100ms"

  [[instrument.point]]
  name = "u16"
  table = "holding"
  address = 10

[service.record]
report_period = "200ms"
prefix = "weft.store"

[service.upload]
url = "mqtt://127.0.0.1:$PORT"
device = "testbox"
topic = "weft/{device}/readings"
batch_rows = 100
max_in_flight = 4
backlog_rate = 20000
live_period = "50ms"
keepalive = "5s"
connect_timeout = "2s"
min_backoff = "100ms"
max_backoff = "400ms"
TOML

warp "+0"
start_bg weftd env FAKETIME_TIMESTAMP_FILE="$TMP/faketime" FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
  LD_PRELOAD="$(preload_list "$WEFTD" "$TIMERFD_DIRECT" "$FAKETIME_LIB")" "$WEFTD" --config "$TMP/weftd.toml" --for 120s
# The store makes its ballast as it opens and keeps housekeeping (retention)
# every 10 s from then on: the ballast's appearance dates the first pass.
timeout 10 bash -c "until [[ -e '$DB.ballast' ]]; do sleep 0.01; done" ||
  fail "no $DB.ballast within 10 s of the start (the store makes it at open; a file system without 6 MiB free?)"
OPENED=$(now_ns)
wait_fixed 10 "$LOG" "[upload] connected to mqtt://127.0.0.1:$PORT"
wait_grep 10 "$COLLECTED" '"seq":[0-9]+'
wait_grep 10 "$COLLECTED" '"point":"meter.u16"'

sleep_until $((OPENED + 3000000000))
note "broker down; the wall clock of weftd goes +1 day just before housekeeping, then back"
stop broker
sleep_until $((OPENED + 9900000000))
WARP_UP=$(now_ns)
warp "+1d"
wait_grep 10 "$LOG" "wall clock jumped by \+86(39[89]|40[01])\.[0-9]+ s"
lines_up=$(lines "$LOG")
sleep 2.5
running weftd || fail "weftd exited while its wall clock was a day ahead"
WARP_DOWN=$(now_ns)
warp "+0"
wait_grep 10 "$LOG" "wall clock jumped by -86(39[89]|40[01])\.[0-9]+ s" "$lines_up"
sleep 1

note "broker back on port $PORT"
up_at=$($PY "$UPLOAD_CHECK" maxseq "$DB")
start_broker broker2
timeout 30 bash -c "until $PY '$UPLOAD_CHECK' complete '$DB' '$COLLECTED' $up_at >/dev/null; do sleep 0.2; done" ||
  fail "not every reading recorded up to seq $up_at arrived within 30 s"
sleep 1
kill -TERM "${PID_OF[weftd]}"
wait_exit weftd 10
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS on SIGTERM"
REAL_END=$(now_ns)
no_service_failure "$LOG"
committed=$(sed -n 's/.*closed; committed through seq \([0-9]*\).*/\1/p' "$LOG" | tail -1)
[[ -n $committed ]] || fail "no 'closed; committed through seq N' line"
# Whatever was committed after the last batch went out may not have been sent
# before the stop: judge delivery up to what had been sent for sure.
sent=$($PY - "$COLLECTED" <<'PY'
import json, sys
top = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    _, _, p = line.partition(" ")
    if p.startswith("{"):
        top = max(top, json.loads(p)["last_seq"])
print(top)
PY
)
((sent >= up_at)) || fail "the broker got seqs up to $sent only, $up_at were recorded before it came back"

note "jumps logged"
grep -E "wall clock jumped by" "$LOG" | sed 's/^/#   /'
n_jumps=$(grep -cE "wall clock jumped by" "$LOG" || true)
((n_jumps == 2)) || fail "$n_jumps 'wall clock jumped' lines, expected 2"

note "retention kept the backlog"
read -r rows lo hi < <(sqlite3 -readonly "$DB" 'SELECT count(*), min(seq), max(seq) FROM readings' | tr '|' ' ')
pruned=$(sqlite3 -readonly "$DB" "SELECT count(*), coalesce(sum(last_seq - first_seq + 1), 0) FROM lost WHERE why LIKE 'pruned (retention)%'")
lost=$(sqlite3 -readonly "$DB" "SELECT group_concat(first_seq || '..' || last_seq || ' ' || why, '; ') FROM lost")
note "store: $rows rows, seqs $lo..$hi, committed $committed; lost: ${lost:-none}"
[[ $pruned == "0|0" ]] || fail "retention pruned readings (ranges|rows: $pruned) with the wall clock a day ahead: $lost"
[[ -z $lost ]] || fail "the store recorded lost readings: $lost"
((lo == 1 && rows == hi && hi == committed)) ||
  fail "the store holds $rows rows, seqs $lo..$hi, committed $committed: readings were deleted"
! grep -F "retention" "$LOG" | grep -F "deleted" || fail "weftd logged a retention deletion"

# Both judges run, so a failure shows everything they found.
note "delivery: every committed seq up to $sent arrived, each in one message"
O0=$(sqlite3 -readonly "$DB" 'SELECT offset_ns FROM clock_events ORDER BY mono_ns LIMIT 1')
delivery_ok=1
delivery=$($PY "$UPLOAD_CHECK" check "$DB" "$COLLECTED" --upto "$sent" --delivered --max-resent 14 --t-offset "$O0") ||
  delivery_ok=0
echo "$delivery"
note "timing and time stamps"
timing_ok=1
timing=$($PY "$CHECK" "$DB" "$COLLECTED" "$REAL_START" "$REAL_END" "$WARP_UP" "$WARP_DOWN") || timing_ok=0
echo "$timing"
((delivery_ok)) || fail "what arrived is wrong (upload_check.py, above)"
((timing_ok)) || fail "clock warp checks failed (clock_warp_check.py, above)"
echo "PASS clock_warp"
