#!/usr/bin/env bash
# start_limited_systemctl.sh STATE_DIR RESTART INTERVAL_S ARGS...: the
# update tests' `systemctl` (a wrapper on PATH execs it), for the two
# calls weftctl update's default restart command makes, with the start
# rate limit systemd applies to weftd.service (it sets no StartLimit*, so
# DefaultStartLimitBurst=5 starts per DefaultStartLimitIntervalSec, 10 s),
# as systemd 252 does it (ratelimit_below() in src/basic/ratelimit.c,
# unit_reset_failed() in src/core/unit.c):
#   restart weftd       every start counts, manual or Restart='s own; a
#                       6th within the interval of the 1st is refused with
#                       systemd's message, exit 1, and nothing is started;
#                       else RESTART runs (restart_weftd.sh) and its status
#                       is this one's
#   reset-failed weftd  flushes the count (any unit state)
# INTERVAL_S is the test's (long, so no timing decides the outcome).
# State: STATE_DIR/start-limit holds "BEGIN_S COUNT".
set -euo pipefail
state=$1 restart=$2 interval=$3
shift 3
limit=$state/start-limit burst=5
case "$*" in
  "reset-failed weftd")
    rm -f "$limit"
    ;;
  "restart weftd")
    now=$(date +%s)
    read -r begin count <"$limit" 2>/dev/null || { begin=0 count=0; }
    if ((begin == 0 || now - begin > interval)); then
      begin=$now count=1
    else
      count=$((count + 1))
    fi
    echo "$begin $count" >"$limit"
    if ((count > burst)); then
      echo "Job for weftd.service failed because start of the service was attempted too often." >&2
      echo "See \"systemctl status weftd.service\" and \"journalctl -xeu weftd.service\" for details." >&2
      exit 1
    fi
    exec $restart
    ;;
  *)
    echo "start_limited_systemctl.sh: only 'restart weftd' and 'reset-failed weftd', not '$*'" >&2
    exit 1
    ;;
esac
