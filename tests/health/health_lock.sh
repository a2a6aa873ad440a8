#!/usr/bin/env bash
# One weftd per data dir: a second weftd on the same data_dir exits with
# status 5 and a message naming the first one's PID and the lock file; the
# first runs on; once it has stopped, a new weftd takes the dir.
# Usage: bash health_lock.sh <weft-health-box> <weftd> <python3>
set -euo pipefail
WEFTD=$2
HERE=$(dirname "${BASH_SOURCE[0]}")
source "$HERE/common.bash"

health_config "$TMP/weftd.toml" "$TMP/data"
start_bg first "$WEFTD" --config "$TMP/weftd.toml" --for 60s
first=${PID_OF[first]}
wait_fixed 10 "$TMP/first.log" "all 1 services ready"
[[ $(tr -d ' \n' <"$TMP/data/weftd.lock") == "$first" ]] || fail "the lock file does not hold PID $first"

code=0
timeout 30 "$WEFTD" --config "$TMP/weftd.toml" --for 2s >"$TMP/second.log" 2>&1 || code=$?
cat "$TMP/second.log"
[[ $code == 5 ]] || fail "the second weftd exited $code, expected 5"
grep -qF "data dir $TMP/data is in use by weftd PID $first (lock file $TMP/data/weftd.lock)" "$TMP/second.log" ||
  fail "the second weftd's message does not name PID $first and the lock file"
running first || fail "the first weftd exited"

kill -TERM "$first"
wait_exit first 10
[[ $EXIT_STATUS == 0 ]] || fail "the first weftd exited $EXIT_STATUS on SIGTERM"
code=0
timeout 30 "$WEFTD" --config "$TMP/weftd.toml" --for 500ms >"$TMP/third.log" 2>&1 || code=$?
[[ $code == 0 ]] || fail "a weftd after the first stopped exited $code"
echo "PASS health_lock"
