#!/usr/bin/env bash
# Another uid may not use the console: weftctl run as nobody (setpriv) is
# refused by the socket's mode 0600 (exit 3, a clear message); and when the
# mode is opened up, by weftd's own SO_PEERCRED check, which answers with
# the reason and logs the uid and pid. Runs as root (the tests do).
# Usage: console_refusal.sh WEFTD WEFTCTL
WEFTD=$1 WEFTCTL=$2
source "$(dirname "$0")/common.bash"
[[ $(id -u) == 0 ]] || { echo "skipped: needs root to run a client as nobody"; exit 0; }

box_config "$TMP/box.toml"
start_weftd box "$TMP/box.toml"
chmod 755 "$TMP" "$TMP/run"  # traversable for nobody: only the socket's own mode stands in the way
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
NOBODY=$(id -u nobody)

note "mode 0600: the kernel refuses the connect"
expect_status 3 as_nobody "$WEFTCTL" --socket "$SOCK" --exec services
expect_out "access refused by weftd: uid $NOBODY may not open $SOCK"

note "mode opened up: weftd's peer credential check refuses, says why and logs it"
chmod 666 "$SOCK"
expect_status 3 as_nobody "$WEFTCTL" --socket "$SOCK" --exec services
expect_out "access refused by weftd: uid $NOBODY is not root, the owner (uid 0), and no [service.console] group is configured"
wait_grep 10 "$TMP/box.log" "console: refused uid $NOBODY pid [0-9]+: not root, the owner or in the console group"
expect_status 0 ctl --exec console
expect_out "refused:      1"

note "root is still served"
expect_status 0 ctl --exec services
echo "ok"
