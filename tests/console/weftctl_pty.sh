#!/usr/bin/env bash
# weftctl on a real terminal (a tmux pane): Tab completes command, service
# and point names (fetched from weftd), Up recalls the previous line, and
# the history file carries over to the next session.
# Usage: weftctl_pty.sh WEFTD WEFTCTL
WEFTD=$1 WEFTCTL=$2
source "$(dirname "$0")/common.bash"
command -v tmux >/dev/null || fail "tmux is not installed (tools/dev deps installs it)"

box_config "$TMP/box.toml"
start_weftd box "$TMP/box.toml"
mkdir -p "$TMP/home"
export TMUX_TMPDIR=$TMP  # a private tmux server, stopped below
SESSION=weftctl-test
tmux_() { tmux -L weft-test "$@"; }
stop_tmux() { tmux_ kill-server 2>/dev/null || true; }
trap 'stop_tmux; cleanup' EXIT
start_weftctl() {
  tmux_ new-session -d -s "$SESSION" -x 160 -y 40 "env HOME=$TMP/home TERM=xterm $WEFTCTL --socket $SOCK"
}

# capture-pane drops trailing blanks: expected texts never end in one.
screen() { tmux_ capture-pane -p -t "$SESSION"; }
wait_screen() {  # wait_screen TEXT: until the pane shows TEXT (bounded)
  local i
  for ((i = 0; i < 200; i++)); do
    [[ $(screen) == *"$1"* ]] && return 0
    sleep 0.05
  done
  fail "the terminal never showed '$1'; it shows:
$(screen)"
}
wait_gone() {  # wait_gone TEXT: until the pane no longer shows TEXT (bounded)
  local i
  for ((i = 0; i < 200; i++)); do
    [[ $(screen) != *"$1"* ]] && return 0
    sleep 0.05
  done
  fail "the terminal still shows '$1'"
}
keys() { tmux_ send-keys -t "$SESSION" "$@"; }

start_weftctl
wait_screen "weft>"

note "Tab completes a command name as far as it is unique"
keys "servi" Tab
wait_screen "weft> service"
note "a second Tab lists the candidates (service, services)"
keys Tab
wait_screen "services"
keys C-u C-l
wait_gone "services"
note "Tab completes a service name after 'service '"
keys "service hea" Tab
wait_screen "weft> service heartbeat"
keys Enter
wait_screen "restart policy:"
note "Tab completes a point name after 'read '"
keys "read box.upt" Tab
wait_screen "weft> read box.uptime_s"
keys Enter
wait_screen "point:      box.uptime_s"
note "a two-word command: 'log t' completes to 'log tail'"
keys "log t" Tab
wait_screen "weft> log tail"
keys C-u C-l
wait_gone "point:"
note "Up recalls the previous command (on a cleared screen, so only the recalled line can match)"
keys Up
wait_screen "weft> read box.uptime_s"
keys Enter
wait_screen "point:      box.uptime_s"
keys C-d  # leave
for ((i = 0; i < 100; i++)); do
  tmux_ has-session -t "$SESSION" 2>/dev/null || break
  sleep 0.05
done
# libedit's history file escapes blanks as \040.
grep -qF 'service\040heartbeat' "$TMP/home/.weftctl_history" ||
  fail "history file lacks 'service heartbeat': $(cat "$TMP/home/.weftctl_history")"
grep -qF 'read\040box.uptime_s' "$TMP/home/.weftctl_history" ||
  fail "history file lacks 'read box.uptime_s': $(cat "$TMP/home/.weftctl_history")"

note "a new session starts with that history: Up shows the last command"
start_weftctl
wait_screen "weft>"
keys Up
wait_screen "weft> read box.uptime_s"
keys C-u C-d
echo "ok"
