#!/usr/bin/env bash
# restart_weftd.sh PREFIX CONFIG STATE_DIR WEFTCTL SOCKET: the update test's
# restart command, what `systemctl restart weftd` does for a Type=notify
# unit without systemd: stop the weftd whose pid is in STATE_DIR/weftd.pid
# (SIGTERM, SIGKILL after 10 s), start PREFIX/usr/bin/weftd on CONFIG in
# its own session (it outlives this script and the updater; log appended
# to STATE_DIR/weftd.log, NOTIFY_SOCKET=STATE_DIR/notify.sock), and return
# once its console answers (0) or it exited (1, as systemctl does when the
# start job fails), within 20 s.
set -euo pipefail
prefix=$1 config=$2 state=$3 weftctl=$4 socket=$5
if [[ -s $state/weftd.pid ]]; then
  old=$(cat "$state/weftd.pid")
  if kill -TERM "$old" 2>/dev/null; then
    for _ in $(seq 200); do kill -0 "$old" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$old" 2>/dev/null || true
  fi
fi
echo "--- start $(date +%T.%N) $prefix/usr/bin/weftd ($(cat "$prefix/version"))" >>"$state/weftd.log"
NOTIFY_SOCKET=$state/notify.sock setsid "$prefix/usr/bin/weftd" --config "$config" </dev/null >>"$state/weftd.log" 2>&1 &
pid=$!
echo "$pid" >"$state/weftd.pid"
# alive: exists and is not a zombie (an exited child not reaped yet answers kill -0)
alive() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; [[ ${s%% *} != Z ]]; }
for _ in $(seq 400); do
  if ! alive "$pid"; then
    status=0
    wait "$pid" || status=$?
    echo "weftd (pid $pid) exited at start with status $status: $(tail -n 1 "$state/weftd.log")"
    exit 1
  fi
  if "$weftctl" --socket "$socket" --timeout 2 -e version >/dev/null 2>&1; then exit 0; fi
  sleep 0.05
done
echo "weftd (pid $pid) did not answer on $socket within 20 s"
exit 1
