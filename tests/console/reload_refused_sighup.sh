#!/usr/bin/env bash
# A reload of a broken file, by SIGHUP and by `weftctl reload`, against a
# real weftd under a fake systemd notify socket: the old config keeps
# running (a point still updates), the log line and STATUS= name the
# refusal with file:line, systemd sees RELOADING=1 (with MONOTONIC_USEC=)
# then READY=1, `services` says the file differs, and `weftctl reload`
# exits 1 printing the file:line.
# Usage: reload_refused_sighup.sh WEFTD WEFTCTL PYTHON DEVSIM
WEFTD=$1 WEFTCTL=$2 PY=${3:-/usr/bin/python3} DEVSIM=$4
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/reload_common.bash"

NOTIFY=$TMP/notify.out
start_bg notify "$PY" "$(dirname "$0")/../health/notify_listener.py" "$TMP/notify.sock" "$NOTIFY" 100
wait_fixed 5 "$NOTIFY" LISTENING

CONF=$TMP/box.toml
reload_box_config "$CONF" 100ms
devsim_config "$TMP/sim.toml" "$TMP/dev"
start_devsim "$DEVSIM" "$TMP/sim.toml" "$TMP/dev"
export NOTIFY_SOCKET=$TMP/notify.sock
start_weftd box "$CONF"
unset NOTIFY_SOCKET
wait_fixed 10 "$NOTIFY" "READY=1"
gen_before=$(generation gather)

BAD=$(grep -n '^prefix = "box"$' "$CONF" | cut -d: -f1)
note "a broken file (line $BAD: an unquoted string), then SIGHUP"
sed -i "${BAD}s/.*/prefix = box/" "$CONF"
notified=$(lines "$NOTIFY")
logged=$(lines "$TMP/box.log")
kill -HUP "${PID_OF[box]}"
wait_grep 10 "$TMP/box.log" "reload.*refused" "$logged"
line=$(tail -n +"$((logged + 1))" "$TMP/box.log" | grep -E "reload.*refused" | head -1)
note "$line"
[[ $line == *"$CONF:$BAD"* ]] || fail "the refusal log line does not name $CONF:$BAD: $line"
[[ $line == *signal* ]] || fail "the refusal log line does not say SIGHUP (signal) triggered it: $line"
wait_grep 10 "$NOTIFY" "^READY=1" "$notified"
after=$(tail -n +"$((notified + 1))" "$NOTIFY")
note "notify after SIGHUP: $(tr '\n' ' ' <<<"$after")"
grep -q "^RELOADING=1" <<<"$after" || fail "no RELOADING=1 after SIGHUP: $after"
grep -q "^MONOTONIC_USEC=[0-9]\+$" <<<"$after" || fail "no MONOTONIC_USEC= with RELOADING=1: $after"
[[ $(grep -n "^RELOADING=1" <<<"$after" | head -1 | cut -d: -f1) -lt $(grep -n "^READY=1" <<<"$after" | tail -1 | cut -d: -f1) ]] ||
  fail "READY=1 came before RELOADING=1: $after"
wait_grep 10 "$NOTIFY" "^STATUS=.*refused.*$CONF:$BAD" "$notified"

note "the old config keeps running"
running box || fail "weftd exited on a broken file"
[[ $(generation gather) == "$gen_before" ]] || fail "gather ran again on a refused reload"
v1=$(ctl --json --exec "read box.uptime_s" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["mono_ns"])')
sleep 0.3
v2=$(ctl --json --exec "read box.uptime_s" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["mono_ns"])')
((v2 > v1)) || fail "box.uptime_s did not update after the refused reload ($v1, $v2)"
expect_status 0 ctl --exec services
expect_out "the config file differs from the running config"
st=$(states)
[[ $st != *=stopped* && $st != *=failed* ]] || fail "a service is down: $st"

note "weftctl reload of the same file: 1, with the file:line"
expect_status 1 "$WEFTCTL" --socket "$SOCK" reload --timeout 60
note "$OUT"
expect_out "$CONF:$BAD"
expect_out "refused"
expect_status 0 ctl --exec "config history"
[[ $(grep -c "refused" <<<"$OUT") -ge 2 ]] || fail "config history does not show both refusals: $OUT"
expect_out "signal"

note "the file fixed: weftctl reload says unchanged, and the note goes"
reload_box_config "$CONF" 100ms
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload --timeout 60
expect_status 0 ctl --exec services
[[ $OUT != *"differs"* ]] || fail "services still says the file differs: $OUT"
stop box
stop notify
echo "ok"
