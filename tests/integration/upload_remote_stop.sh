#!/usr/bin/env bash
# Remote config, the edges (issue 12, "Remote"), against a real mosquitto:
#  1. accept_config = false (the default): weftd does not subscribe to
#     config/set; a config published there changes nothing, gets no result;
#  2. weftd stopped (SIGTERM) while a remote change waits for its
#     confirmation (upload pointed at a dead port, remote_settle 30 s):
#     it exits 0 within the stop bound, and the file is unchanged (a
#     change is written only once confirmed), so the next start runs the
#     config that reached the broker.
# Bounded: about 10 s.
# Usage: bash upload_remote_stop.sh <weftd>
set -euo pipefail
WEFTD=$1
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/upload_common.bash"

start_broker_and_collector
start_result_sub
publish() { /usr/bin/mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 -t weft/testbox/config/set -f "$1"; }

note "1. accept_config = false: config/set is not even subscribed to"
CONF=$TMP/weftd.toml
weftd_upload_config "$CONF" "$PORT" "50ms" 'remote_settle = "2s"'
cp "$CONF" "$TMP/original.toml"
start_bg weftd "$WEFTD" --config "$CONF" --for 60s
LOG=$TMP/weftd.log
wait_fixed 10 "$LOG" "[upload] connected to mqtt://127.0.0.1:$PORT"
weftd_upload_config "$TMP/other.toml" "$PORT" "30ms" 'remote_settle = "2s"'
publish "$TMP/other.toml"
sleep 1.5
[[ ! -s $RESULTS ]] || fail "a result was published with accept_config = false: $(cat "$RESULTS")"
! grep -qF "remote config" "$LOG" || fail "weftd took a remote config with accept_config = false"
! grep -qE "Received SUBSCRIBE from weft-testbox" "$TMP/broker.log" || fail "weftd subscribed with accept_config = false"
cmp "$CONF" "$TMP/original.toml" || fail "the file changed"
kill -TERM "${PID_OF[weftd]}"
wait_exit weftd 10
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS on SIGTERM"

note "2. SIGTERM while a remote change waits for its confirmation"
REMOTE_KEYS='accept_config = true
remote_settle = "30s"'
weftd_upload_config "$CONF" "$PORT" "50ms" "$REMOTE_KEYS"
cp "$CONF" "$TMP/original.toml"
mv "$LOG" "$TMP/weftd-1.log"
start_bg weftd "$WEFTD" --config "$CONF" --for 60s
wait_fixed 10 "$LOG" "accepting remote config on 'weft/testbox/config/set'"
weftd_upload_config "$TMP/dead.toml" "$(free_port)" "50ms" "$REMOTE_KEYS"
publish "$TMP/dead.toml"
wait_fixed 10 "$LOG" "(remote_settle) for upload to publish the outcome"
sleep 0.3
stopped_at=$(date +%s%N)
kill -TERM "${PID_OF[weftd]}"
wait_exit weftd 10
ms=$((($(date +%s%N) - stopped_at) / 1000000))
note "exited $EXIT_STATUS after $ms ms"
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS on SIGTERM during the confirmation"
((ms < 5000)) || fail "weftd took $ms ms to stop during the confirmation"
cmp "$CONF" "$TMP/original.toml" || fail "an unconfirmed remote config was written to the file"
grep -qF "weftd began stopping during the reload" "$LOG" || fail "the transaction did not end with the stop"
no_service_failure "$LOG"
echo "PASS upload_remote_stop"
