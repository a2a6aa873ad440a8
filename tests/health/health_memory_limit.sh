#!/usr/bin/env bash
# Per-service memory budgets in a real box (weft-health-box: weftd's run
# path plus the test-only memhog, memory_limit 256 KiB, which 1 s in
# allocates 4 KiB blocks until refused). Expected: the refusal is a
# std::bad_alloc in memhog only; memhog fails, is restarted by its
# supervisor (its run 2 starts), and the log line names the service, the
# limit and the high-water mark, once; the rest of the box runs on:
# heartbeat (a 10 ms ticker) keeps ticking past the refusal, record stores
# every reading (no lost rows, no seq gap) and never fails, and the console's
# `mem` shows memhog's held bytes, high-water mark and limit. Then a stop
# landing in the slice of the failing allocation (memhog_stop sends its
# process SIGTERM at the refusal, then rethrows): the box exits 0, the
# refusal logged once, memhog not started again.
# Usage: bash health_memory_limit.sh <weft-health-box> <weftctl> <sqlite3>
set -euo pipefail
BOX=$1
WEFTCTL=$2
SQLITE=$3
HERE=$(dirname "${BASH_SOURCE[0]}")
source "$HERE/common.bash"

mkdir -p "$TMP/data"
DB="$TMP/data/readings.db"
SOCK="$TMP/weftd.sock"
cat >"$TMP/box.toml" <<TOML
[weftd]
log_level = "info"
stop_grace = "2s"
data_dir = "$TMP/data"

[store]
path = "$DB"
batch_rows = 50
batch_age = "50ms"

[service.heartbeat]
period = "10ms"
prefix = "box"

[service.record]
report_period = "200ms"

[service.console]
socket = "$SOCK"
TOML

uptime_rows() { "$SQLITE" "$DB" "SELECT count(*) FROM readings JOIN points ON points.id = point WHERE name = 'box.uptime_s'"; }

note "memhog goes over its limit 1 s in"
start_bg box "$BOX" --config "$TMP/box.toml" --test memhog=1s --for 60s
wait_fixed 20 "$TMP/box.log" "all 4 services ready"
wait_grep 20 "$TMP/box.log" "went over its memory_limit of 262144 bytes"
line=$(grep -F "went over its memory_limit" "$TMP/box.log")
note "$line"
[[ $line == *"[memhog] service memhog went over its memory_limit of 262144 bytes"* ]] ||
  fail "the refusal line does not name memhog and its limit: $line"
[[ $line =~ high-water\ mark\ ([0-9]+)\ bytes ]] || fail "the refusal line has no high-water mark: $line"
high=${BASH_REMATCH[1]}
((high > 240 * 1024 && high <= 262144)) || fail "high-water mark $high is not just under the 262144-byte limit"
wait_grep 10 "$TMP/box.log" "\[memhog\] failed: std::bad_alloc; restarting in"
wait_fixed 10 "$TMP/box.log" "[memhog] run 2"
rows_at_refusal=$(uptime_rows)

note "heartbeat keeps ticking and record keeps storing ($rows_at_refusal uptime readings so far)"
deadline=$((SECONDS + 20))
until (($(uptime_rows) >= rows_at_refusal + 100)); do
  running box || fail "the box exited"
  ((SECONDS < deadline)) || fail "heartbeat's readings stopped growing after the refusal: $(uptime_rows)"
  sleep 0.1
done

note "console mem: memhog's held, high-water mark and limit"
timeout 20 "$WEFTCTL" --socket "$SOCK" --timeout 10 --exec mem >"$TMP/mem.out" 2>&1 || fail "weftctl mem failed: $(cat "$TMP/mem.out")"
cat "$TMP/mem.out"
row=$(grep -E "^memhog " "$TMP/mem.out") || fail "mem has no memhog row"
read -r -a cols <<<"$row"  # SERVICE ALLOCATIONS BYTES HELD HIGH LIMIT LEAK
((cols[3] < 64 * 1024)) || fail "memhog still holds ${cols[3]} bytes after its failed run was unwound"
[[ ${cols[4]} == "$high" ]] || fail "mem's high-water mark ${cols[4]} is not the logged $high"
[[ ${cols[5]} == 262144 ]] || fail "mem's limit for memhog is ${cols[5]}"
timeout 20 "$WEFTCTL" --socket "$SOCK" --timeout 10 --json --exec mem >"$TMP/mem.json" 2>&1 || fail "weftctl --json mem failed"
grep -qE '"name":"memhog"[^}]*"limit_bytes":262144[^}]*"refusals":1' "$TMP/mem.json" ||
  fail "--json mem does not show memhog's limit and its one refusal: $(cat "$TMP/mem.json")"

stop box
[[ $(count_fixed "$TMP/box.log" "went over its memory_limit") == 1 ]] || fail "the refusal was not logged exactly once"
if grep -E "\[(heartbeat|record|console)\] (failed|stopped with an error)" "$TMP/box.log"; then
  fail "another service failed"
fi
lost=$("$SQLITE" "$DB" 'SELECT count(*) FROM lost')
[[ $lost == 0 ]] || fail "record lost readings: $("$SQLITE" "$DB" 'SELECT * FROM lost')"
read -r lo hi n < <("$SQLITE" -separator ' ' "$DB" 'SELECT min(seq), max(seq), count(*) FROM readings')
((hi - lo + 1 == n)) || fail "the stored seqs $lo..$hi have gaps ($n rows)"
note "stored $n readings, seqs $lo..$hi, none lost"

note "a stop landing in the failing allocation's slice"
code=0
timeout 30 "$BOX" --config "$TMP/box.toml" --test memhog_stop=1s --for 30s >"$TMP/stop.log" 2>&1 || code=$?
[[ $code == 0 ]] || fail "the box exited $code, expected 0: $(tail -20 "$TMP/stop.log")"
[[ $(count_fixed "$TMP/stop.log" "went over its memory_limit of 262144 bytes") == 1 ]] ||
  fail "the refusal was not logged exactly once: $(grep -F memhog "$TMP/stop.log")"
if grep -qF "[memhog] run 2" "$TMP/stop.log"; then fail "memhog was started again into the shutdown"; fi
if grep -qE "exceed its restart intensity|\[(heartbeat|record|console)\] (failed|stopped with an error)" "$TMP/stop.log"; then
  fail "the stop escalated or failed another service"
fi
note "ok"
