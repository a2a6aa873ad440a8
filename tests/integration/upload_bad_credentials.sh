#!/usr/bin/env bash
# A broker that refuses weftd (password_file, allow_anonymous false, wrong
# password): weftd keeps running, the upload service is ready anyway (a box
# starts with its broker unusable), retries with backoff, and logs the
# refusal ONCE with the broker's reason code, not once per retry. Readings
# are still recorded. With the right password the same broker accepts it.
# Bounded: about 5 s.
# Usage: bash upload_bad_credentials.sh <weftd>
set -euo pipefail
WEFTD=$1
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/upload_common.bash"

PORT=$(free_port)
printf 'weft:secret\n' >"$TMP/passwd"
/usr/bin/mosquitto_passwd -U "$TMP/passwd"
chmod 644 "$TMP/passwd"
broker_config "$PORT" "allow_anonymous false
password_file $TMP/passwd"
start_broker broker

weftd_upload_config "$TMP/weftd.toml" "$PORT" "100ms" 'username = "weft"
password = "wrong"'
start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 60s
LOG=$TMP/weftd.log
wait_fixed 10 "$LOG" "[upload] ready"
wait_fixed 5 "$LOG" "refused the connection"
sleep 2  # several retries (100 ms doubling to 400 ms)
running weftd || fail "weftd exited with a refusing broker"
refused=$(grep -F "[upload]" "$LOG" | grep -F "refused the connection" || true)
echo "$refused"
[[ $(grep -c . <<<"$refused") == 1 ]] || fail "the refusal must be logged exactly once"
grep -qE "not authori[sz]ed \(CONNACK 5\)|bad user name or password \(CONNACK 4\)" <<<"$refused" ||
  fail "the refusal line lacks the broker's reason code"
attempts=$(grep -cE "New client connected|Client .* disconnected, not authori" "$TMP/broker.log" || true)
((attempts >= 3)) || fail "weftd tried only $attempts times in 2 s; expected retries with backoff"
grep -qF "[record] store: committed through seq" "$LOG" || fail "readings are not recorded while upload is refused"
no_service_failure "$LOG"
kill -TERM "${PID_OF[weftd]}"
wait_exit weftd 10

note "the right password: accepted"
sed -i 's/password = "wrong"/password = "secret"/' "$TMP/weftd.toml"
start_bg weftd2 "$WEFTD" --config "$TMP/weftd.toml" --for 60s
wait_fixed 10 "$TMP/weftd2.log" "[upload] connected to mqtt://127.0.0.1:$PORT"
echo "PASS upload_bad_credentials"
