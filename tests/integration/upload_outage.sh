#!/usr/bin/env bash
# Broker outage: weftd uploads heartbeat readings (every 20 ms); the broker
# is stopped for 3 s while readings keep being recorded, then started again
# on the same port. Every reading recorded arrives, each once except whole
# messages resent because they were in flight (at most weftd's 4 plus the
# broker's 10 towards the subscriber), in order (live and backlog streams
# each ascending), newest data first after the outage with the backlog
# draining behind it; the outage is logged once, not once per retry.
# The subscriber keeps a persistent session, so what the broker accepts
# while it reconnects is queued for it. Bounded: about 10 s.
# Usage: bash upload_outage.sh <weftd>
set -euo pipefail
WEFTD=$1
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/upload_common.bash"

start_broker_and_collector

weftd_upload_config "$TMP/weftd.toml" "$PORT" "20ms"
start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 120s
LOG=$TMP/weftd.log
wait_fixed 10 "$LOG" "[upload] connected to mqtt://127.0.0.1:$PORT"
wait_grep 10 "$COLLECTED" '"seq":[0-9]+'
sleep 1

note "broker down for 3 s"
stop broker
down_at=$($PY "$UPLOAD_CHECK" maxseq "$TMP/readings.db")
wait_fixed 5 "$LOG" "lost"
sleep 3
running weftd || fail "weftd exited while the broker was down"
lost_lines=$(grep -F "[upload]" "$LOG" | grep -cE "lost|cannot connect" || true)
note "upload logged $lost_lines line(s) about the outage"
((lost_lines <= 2)) || fail "the outage was logged $lost_lines times; expected once per state change"

note "broker back on port $PORT"
up_at=$($PY "$UPLOAD_CHECK" maxseq "$TMP/readings.db")
((up_at - down_at > 300)) || fail "only $((up_at - down_at)) readings recorded during the outage"
start_broker broker2
timeout 30 bash -c "until $PY '$UPLOAD_CHECK' complete '$TMP/readings.db' '$COLLECTED' $up_at >/dev/null; do sleep 0.2; done" ||
  fail "not every reading recorded up to seq $up_at arrived within 30 s"
grep -qF "[upload] connected to mqtt://127.0.0.1:$PORT" <(tail -n +2 "$LOG") || fail "no reconnect line"
sleep 0.5
kill -TERM "${PID_OF[weftd]}"
wait_exit weftd 10
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS on SIGTERM"
no_service_failure "$LOG"
out=$($PY "$UPLOAD_CHECK" check "$TMP/readings.db" "$COLLECTED" --upto "$up_at" --delivered \
  --max-resent 14 --live-first "$down_at") || fail "what arrived is wrong: $out"
echo "$out"
echo "PASS upload_outage"
