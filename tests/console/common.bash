# shellcheck shell=bash disable=SC2034
# Shared by the console's process-level tests (sourced): the integration
# helpers (temp dir, background processes stopped by PID, bounded waits)
# plus a box config with heartbeat, tap and the console, and a weftd
# started on it and waited for until its socket answers.
# shellcheck source=../integration/common.bash
source "$(dirname "${BASH_SOURCE[0]}")/../integration/common.bash"

WEFTD=${WEFTD:?}
WEFTCTL=${WEFTCTL:?}
SOCK=$TMP/run/weftd.sock

# box_config FILE [EXTRA_CONSOLE_KEYS] [HEARTBEAT_PERIOD]
box_config() {
  cat >"$1" <<TOML
[service.heartbeat]
period = "${3:-100ms}"
prefix = "box"

[service.tap]
pattern = "box.uptime_s"
needs = ["heartbeat"]

[service.console]
socket = "$SOCK"
${2:-}
TOML
}

# start_weftd NAME CONFIG [ARGS...]: weftd in the background; returns once
# its console answers and heartbeat has published (box.uptime_s can be read).
start_weftd() {
  local name=$1 config=$2
  shift 2
  start_bg "$name" "$WEFTD" --config "$config" "$@"
  local i
  for ((i = 0; i < 200; i++)); do
    "$WEFTCTL" --socket "$SOCK" --exec "read box.uptime_s" >/dev/null 2>&1 && return 0
    running "$name" || fail "weftd ($name) exited before its console answered"
    sleep 0.05
  done
  fail "weftd's console did not answer on $SOCK, or box.uptime_s was not published, within 10 s"
}

ctl() { "$WEFTCTL" --socket "$SOCK" "$@"; }

# expect_status CODE CMD...: runs CMD, fails unless it exits with CODE; output in $OUT (stdout+stderr).
expect_status() {
  local want=$1 got=0
  shift
  OUT=$("$@" 2>&1) || got=$?
  [[ $got == "$want" ]] || fail "'$*' exited $got, expected $want; output: $OUT"
}

expect_out() {  # expect_out TEXT: $OUT contains TEXT
  [[ $OUT == *"$1"* ]] || fail "expected '$1' in: $OUT"
}
