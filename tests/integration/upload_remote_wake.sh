#!/usr/bin/env bash
# A remote config's outcome is published at once, not at upload's next live
# poll: with live_period (20 s) far above remote_settle (2 s), a remote
# change that does not restart upload (heartbeat's period) must be
# confirmed and applied. Before upload was woken by a posted result, it
# slept to its next poll and the change was rolled back ("did not publish
# the outcome within remote_settle ... (upload: connected)").
# Bounded: about 10 s. Usage: bash upload_remote_wake.sh <weftd>
set -euo pipefail
WEFTD=$1
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/upload_common.bash"

start_broker_and_collector
start_result_sub
KEYS='accept_config = true
remote_settle = "2s"'
config() {
  weftd_upload_config "$1" "$PORT" "$2" "$KEYS"
  grep -q '^live_period = "50ms"' "$1" || fail "the upload config has no live_period line to change"
  sed -i 's/^live_period = "50ms"/live_period = "20s"/' "$1"
}
CONF=$TMP/weftd.toml
config "$CONF" 50ms
start_bg weftd "$WEFTD" --config "$CONF" --for 60s
LOG=$TMP/weftd.log
wait_fixed 10 "$LOG" "accepting remote config on 'weft/testbox/config/set'"
sleep 1  # upload is now asleep until its next live poll, 20 s away
config "$TMP/a.toml" 30ms
/usr/bin/mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 -t weft/testbox/config/set -f "$TMP/a.toml"
timeout 15 bash -c 'until (( $(wc -l <"$1") >= 1 )); do sleep 0.05; done' _ "$RESULTS" ||
  fail "no result within 15 s: $(grep -E 'reload|remote' "$LOG" | tail -5)"
first=$(head -1 "$RESULTS")
note "$first"
[[ $first == *'"result":"applied"'* ]] || fail "the remote change was not applied: $first; $(grep -E 'reload 1 ' "$LOG" | tail -2)"
cmp -s "$TMP/a.toml" "$CONF" || fail "the applied remote config was not written to the file"
stop weftd
echo PASS
