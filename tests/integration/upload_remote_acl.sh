#!/usr/bin/env bash
# The broker's ACL refuses upload's subscription to config/set (SUBACK
# 0x80): remote config cannot work, and weftd says so instead of waiting
# in silence. The broker is mosquitto with its dynamic-security plugin
# (anonymous clients may publish anywhere and subscribe to nothing; its
# plain acl_file, in 2.0, grants every SUBSCRIBE and filters at delivery:
# no SUBACK would tell). Expected: one error in the log naming the topic,
# the broker and the ACL, no "accepting remote config" line, the `upload`
# console command showing "NOT WORKING" with the same reason, and upload
# still uploading readings (the refusal is no reason to stop).
# Bounded: about 5 s. Usage: bash upload_remote_acl.sh <weftd> <weftctl>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/upload_common.bash"

DYNSEC=/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so
[[ -f $DYNSEC ]] || fail "mosquitto's dynamic-security plugin is not at $DYNSEC (package mosquitto)"
cat >"$TMP/dynsec.json" <<'JSON'
{"clients":[],"groups":[{"groupname":"anon","roles":[{"rolename":"box"}],"clients":[]}],
 "anonymousGroup":"anon",
 "roles":[{"rolename":"box","acls":[{"acltype":"publishClientSend","topic":"#","allow":true}]}],
 "defaultACLAccess":{"publishClientSend":false,"publishClientReceive":true,"subscribe":false,"unsubscribe":true}}
JSON
chmod 644 "$TMP/dynsec.json"
PORT=$(free_port)
broker_config "$PORT" "allow_anonymous true
plugin $DYNSEC
plugin_opt_config_file $TMP/dynsec.json"
start_broker broker

SOCK=$TMP/weftd.sock
CONF=$TMP/weftd.toml
weftd_upload_config "$CONF" "$PORT" 50ms 'accept_config = true'
printf '\n[service.console]\nsocket = "%s"\n' "$SOCK" >>"$CONF"
start_bg weftd "$WEFTD" --config "$CONF" --for 60s
LOG=$TMP/weftd.log
wait_grep 10 "$LOG" "remote config does not work"
line=$(grep -F "remote config does not work" "$LOG")
note "$line"
for want in "'weft/testbox/config/set'" "mqtt://127.0.0.1:$PORT" "SUBACK 0x80" "ACL" "weft/testbox/config/result"; do
  [[ $line == *"$want"* ]] || fail "the error does not say '$want': $line"
done
[[ $line == *" error "* || $line == *"error"* ]] || fail "not logged as an error: $line"
! grep -qF "accepting remote config" "$LOG" || fail "upload claims to accept remote config: $(grep -F accepting "$LOG")"

STATUS=0
timeout 20 "$WEFTCTL" --socket "$SOCK" --timeout 10 --exec upload >"$TMP/ctl.out" 2>&1 || STATUS=$?
[[ $STATUS == 0 ]] || fail "weftctl --exec upload exited $STATUS: $(cat "$TMP/ctl.out")"
note "$(grep -F 'remote config' "$TMP/ctl.out")"
grep -qF "remote config NOT WORKING: broker mqtt://127.0.0.1:$PORT refused the subscription to 'weft/testbox/config/set'" \
  "$TMP/ctl.out" || fail "\`upload\` does not show the refusal: $(cat "$TMP/ctl.out")"
# Readings still go out: the refusal concerns remote config only.
timeout 10 bash -c 'until "$1" --socket "$2" --exec upload 2>/dev/null | grep -qE "rows delivered [1-9]"; do sleep 0.2; done' \
  _ "$WEFTCTL" "$SOCK" || fail "upload delivered nothing: $(cat "$TMP/ctl.out")"
stop weftd
echo PASS
