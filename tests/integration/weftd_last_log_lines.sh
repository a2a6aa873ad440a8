#!/usr/bin/env bash
# weftd's last log lines reach stderr before it exits, even when the log
# thread is late with them: the store's "closed; committed through seq N"
# (the acknowledgement a clean stop promises) is logged as the Store is
# destroyed, at the very end of the run. An LD_PRELOAD shim
# (slow_stderr_write.c) holds that one line's write(2) for 300 ms; weftd
# must wait for it (its final log flush, bounded at 5 s) rather than exit
# under it. Both a --for stop and SIGTERM.
# Usage: bash weftd_last_log_lines.sh <weftd> <slow_stderr_write.so>
set -euo pipefail
WEFTD=$1 SHIM=$2
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
cat >"$TMP/weftd.toml" <<TOML
[weftd]
stop_grace = "2s"
[store]
path = "$TMP/readings.db"
batch_age = "20ms"
[service.heartbeat]
period = "20ms"
prefix = "box"
[service.record]
report_period = "100ms"
TOML
LINE="closed; committed through seq"

for how in for sigterm; do
  rm -f "$TMP"/readings.db*
  args=(--config "$TMP/weftd.toml")
  [[ $how == for ]] && args+=(--for 1s)
  start_bg "weftd_$how" env WEFT_SLOW_WRITE_MATCH="$LINE" LD_PRELOAD="$(preload_list "$WEFTD" "$SHIM")" "$WEFTD" "${args[@]}"
  wait_fixed 10 "$TMP/weftd_$how.log" "store: committed through seq"
  [[ $how == sigterm ]] && kill -TERM "${PID_OF[weftd_$how]}"
  wait_exit "weftd_$how" 15
  [[ $EXIT_STATUS == 0 ]] || fail "weftd ($how) exited $EXIT_STATUS"
  grep -qF "$LINE" "$TMP/weftd_$how.log" || fail "weftd ($how) exited without its last line '$LINE ...'"
  committed=$(sed -n "s/.*$LINE \([0-9]*\).*/\1/p" "$TMP/weftd_$how.log")
  top=$(sqlite3 -readonly "$TMP/readings.db" 'SELECT max(seq) FROM readings')
  [[ $committed == "$top" ]] || fail "weftd ($how) logged committed through $committed, the store's last seq is $top"
  note "$how: '$LINE $committed' logged"
done
echo "PASS weftd_last_log_lines"
