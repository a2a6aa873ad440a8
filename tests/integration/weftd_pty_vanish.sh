#!/usr/bin/env bash
# A pty that vanishes in the middle of an answer (issue 16), against a real
# weftd: pty_vanish_peer.py answers 8 polls, writes 3 bytes of the 9th
# answer and closes its pty, and brings a new pty back behind the same link
# GONE_S later. weftd judges the partial answer (a truncated frame: one
# comm-error), then finds the port hung up at the next poll (the kernel
# gives EIO on the write; end of file had the read seen the hang-up first)
# and must log `open -> absent` and `absent -> open` once each naming the
# port, publish comm-error with the last good value while it is gone, retry
# no more often than the configured back-off allows (each failed reopen
# publishes one comm-error reading, so they are counted from the tap), and
# poll good values again.
# Usage: bash weftd_pty_vanish.sh <weftd> <python3>
set -euo pipefail
WEFTD=$1
PYTHON=$2
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
PEER=$(dirname "${BASH_SOURCE[0]}")/pty_vanish_peer.py
GONE_S=3
LINK=$TMP/ttyV0

mkdir -p "$TMP/lock"
cat >"$TMP/weftd.toml" <<TOML
[weftd]
log_level = "info"

[service.gather]
lock_dir = "$TMP/lock"

[service.tap]
pattern = "plc.*"

[[serial]]
name = "plc_bus"
path = "$LINK"
baud = 19200
response_timeout = "300ms"
retries = 0
reopen_min = "100ms"
reopen_max = "400ms"

[[instrument]]
name = "plc"
port = "plc_bus"
unit = 17
period = "200ms"
quarantine_after = 1000

  [[instrument.point]]
  name = "h100"
  table = "holding"
  address = 100
TOML

start_bg peer "$PYTHON" "$PEER" "$LINK" 17 1234 8 "$GONE_S"
wait_fixed 5 "$TMP/peer.log" "ready"
start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 60s
LOG=$TMP/weftd.log
wait_fixed 10 "$LOG" "plc.h100 = 1234 (good)"
wait_fixed 10 "$TMP/peer.log" "cut after 8 requests"
wait_fixed 5 "$LOG" "port plc_bus ($LINK): open -> absent"
wait_fixed 10 "$TMP/peer.log" "back"
wait_fixed 10 "$LOG" "port plc_bus ($LINK): absent -> open"
back=$(grep -nF "port plc_bus ($LINK): absent -> open" "$LOG" | head -1 | cut -d: -f1)
wait_fixed 10 "$LOG" "plc.h100 = 1234 (good)" "$back"
sleep 1
running weftd || fail "weftd exited"
kill -TERM "${PID_OF[weftd]}"
wait_exit weftd 10
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS on SIGTERM, expected 0"

ports=$(port_lines "$LOG" plc_bus)
echo "$ports"
[[ $(grep -c . <<<"$ports") == 3 ]] || fail "expected exactly 3 port log lines (one per state change)"
[[ $(grep -cE "open -> absent: (Input/output error|End of file)" <<<"$ports") == 1 ]] ||
  fail "expected one 'open -> absent: Input/output error' (or End of file)"
# comm-errors: one for the truncated answer, one for the poll that found the
# port gone, then one per failed reopen. Waits of 100, 200, then 400 ms allow
# at most 3 + (W - 0.7) / 0.4 failed reopens while the port was absent for W
# seconds (W from the two log lines' timestamps), plus one for slack; a flat
# 100 ms retry gives about 3 times as many, a busy loop hundreds.
stamp() { grep -F "port plc_bus ($LINK): $1" "$LOG" | head -1 | cut -d' ' -f1; }
absent_s=$("$PYTHON" -c "import datetime as d, sys; f = lambda s: d.datetime.fromisoformat(s).timestamp()
print('%.3f' % (f(sys.argv[2]) - f(sys.argv[1])))" "$(stamp "open -> absent")" "$(stamp "absent -> open")")
errors=$(head -n "$back" "$LOG" | grep -cF "plc.h100 = 1234 (comm-error)" || true)  # none before the cut
bound=$("$PYTHON" -c "import math; print(2 + 3 + math.floor(($absent_s - 0.7) / 0.4) + 1)")
note "absent for $absent_s s: $errors comm-error readings (back-off bound $bound)"
((errors >= 3)) || fail "only $errors comm-error readings while the pty was gone: not retried?"
((errors <= bound)) || fail "$errors comm-error readings in $absent_s s absent: more reopen attempts than the back-off allows ($bound)"
after=$(tail -n +"$back" "$LOG" | grep -F "[tap] plc.h100" | grep -cF "(good)" || true)
((after >= 3)) || fail "only $after good readings after the pty came back"
no_service_failure "$LOG"
echo "PASS weftd_pty_vanish"
