#!/usr/bin/env bash
# Round trip: weftd records heartbeat readings (every 20 ms) and uploads
# them to a real mosquitto broker; a mosquitto_sub subscriber receives
# them. Every reading that arrived equals its row in the store (point,
# value, quality, mono_ns, boot, corrected time), messages arrive in order
# with no duplicate, and after a clean stop every reading recorded before
# the last upload is there. Bounded: about 6 s.
# Usage: bash upload_roundtrip.sh <weftd>
set -euo pipefail
WEFTD=$1
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/upload_common.bash"

start_broker_and_collector

weftd_upload_config "$TMP/weftd.toml" "$PORT" "20ms"
start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 60s
LOG=$TMP/weftd.log
wait_fixed 10 "$LOG" "[upload] connected to mqtt://127.0.0.1:$PORT"
wait_grep 10 "$COLLECTED" '"seq":[0-9]+'
sleep 3

note "stop weftd; then everything recorded up to the last report must have arrived"
kill -TERM "${PID_OF[weftd]}"
wait_exit weftd 10
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS on SIGTERM"
no_service_failure "$LOG"
# Every row the store marked delivered (acknowledged by the broker) arrived,
# and, with no outage, delivery is one range from the first reading on
# (adjacent ranges merge): nothing was skipped.
first=$(sqlite3 "$TMP/readings.db" "SELECT first_seq || ' ' || last_seq FROM delivered ORDER BY first_seq LIMIT 1")
note "first delivered range: $first"
[[ ${first%% *} == 1 ]] || fail "delivery does not start at seq 1: $first"
upto=${first##* }
out=$($PY "$UPLOAD_CHECK" check "$TMP/readings.db" "$COLLECTED" --delivered --upto "$upto" --max-resent 0) ||
  fail "what arrived does not match the store: $out"
echo "$out"
marked=$(grep -oE 'marked_delivered=[0-9]+' <<<"$out" | cut -d= -f2)
((upto > 200)) || fail "only $upto readings delivered in order in 3 s"
echo "PASS upload_roundtrip"
