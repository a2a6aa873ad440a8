#!/usr/bin/env bash
# Unplugging the serial adapter under a polling weftd: weftd polls the
# libmodbus server through a socat pty; socat is killed (the pty vanishes,
# as a USB adapter does) and, a while later, started again with the same
# links, and the server with it. weftd must not crash, must log the port's
# state changes exactly once each (closed -> open, open -> absent,
# absent -> open: not one line per reopen attempt), publish comm-error
# while the port is gone, and poll good values again after the replug.
# Bounded: every wait has a timeout, the whole run takes about 10 s.
# Usage: bash weftd_unplug.sh <weftd> <modbus_rtu_server>
set -euo pipefail
WEFTD=$1
SERVER=$2
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

start_socat socat1 "$TMP/pty"
start_server server1 "$TMP/pty/b"
# Probe a quarantined instrument every period, so the first good poll after
# the replug is not 30 s away (the unplug makes it fail in a row).
weftd_config "$TMP/weftd.toml" "$TMP/pty/a" 'probe_period = "250ms"'
start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 60s
LOG=$TMP/weftd.log
wait_fixed 10 "$LOG" "plc.h100 = 1000 (good)"
wait_fixed 5 "$LOG" "plc.di4 = false (good)"

note "unplug: kill socat"
stop socat1
wait_exit server1 5  # the server's tty went away too: it exits by itself
wait_fixed 5 "$LOG" "port plc_bus ($TMP/pty/a): open -> absent"
unplugged=$(lines "$LOG")
wait_fixed 5 "$LOG" "plc.h100 = 1000 (comm-error)" "$unplugged"  # the outage is data, with the last good value
sleep 2  # several reopen attempts (100 ms doubling to 400 ms) while the port is gone
running weftd || fail "weftd exited while the port was gone"

note "replug: socat and the server again, same links"
replugged=$(lines "$LOG")
start_socat socat2 "$TMP/pty"
start_server server2 "$TMP/pty/b"
wait_fixed 10 "$LOG" "port plc_bus ($TMP/pty/a): absent -> open" "$replugged"
for expected in "${PLC_EXPECTED[@]}"; do wait_fixed 10 "$LOG" "$expected" "$replugged"; done
sleep 1
running weftd || fail "weftd exited after the replug"

note "stop weftd"
kill -TERM "${PID_OF[weftd]}"
wait_exit weftd 10
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS on SIGTERM, expected 0"

ports=$(port_lines "$LOG" plc_bus)
echo "$ports"
[[ $(grep -c . <<<"$ports") == 3 ]] || fail "expected exactly 3 port log lines (one per state change)"
[[ $(grep -cF "closed -> open" <<<"$ports") == 1 ]] || fail "expected one 'closed -> open' line"
[[ $(grep -cF "open -> absent" <<<"$ports") == 1 ]] || fail "expected one 'open -> absent' line"
[[ $(grep -cF "absent -> open" <<<"$ports") == 1 ]] || fail "expected one 'absent -> open' line"
no_service_failure "$LOG"
# After the replug, good readings only once the first good poll is in.
after=$(tail -n +"$((replugged + 1))" "$LOG" | grep -F "[tap] plc.h100" | grep -cF "(good)" || true)
((after >= 3)) || fail "only $after good readings of plc.h100 after the replug"
requests=$(grep -c "^request " "$TMP/server2.log" || true)
note "the restarted server answered $requests requests"
((requests > 0)) || fail "the restarted server saw no requests"
echo "PASS weftd_unplug"
