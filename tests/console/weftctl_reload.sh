#!/usr/bin/env bash
# `weftctl reload` as systemd's ExecReload runs it: the exit status says
# whether the reload applied. Against a real weftd: `--dry-run` (0 for a
# plan that would apply, 1 for one that would be refused, text and --json),
# a plain `reload` of a file whose change is refused (1, whatever weftd
# builds: "not built yet" or the refusal), no weftd (3). Against a fake
# console that accepts and never answers, or hangs up mid-request: 3 with
# what happened, within the --timeout bound.
# Usage: weftctl_reload.sh WEFTD WEFTCTL PYTHON
WEFTD=$1 WEFTCTL=$2 PY=${3:-/usr/bin/python3}
source "$(dirname "$0")/common.bash"

note "no weftd: 3, and nothing was reloaded"
expect_status 3 "$WEFTCTL" --socket "$TMP/none.sock" reload
expect_out "weftctl reload: weftd is not running (no socket at $TMP/none.sock); start it or pass --socket; nothing was reloaded"
expect_status 2 "$WEFTCTL" --socket "$TMP/none.sock" --exec services reload
expect_status 2 "$WEFTCTL" reload --timeout -1

CONF=$TMP/box.toml
box_config "$CONF"
start_weftd box "$CONF"

note "--dry-run of the running file: 0"
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload --dry-run
expect_out "reload --dry-run: $CONF is valid and has the running config's effect; a reload would change nothing"
box_config "$CONF" "" "250ms"
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload --dry-run --timeout 30
expect_out "restart heartbeat  its config changed"
expect_status 0 "$WEFTCTL" --socket "$SOCK" --json reload --dry-run
"$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["valid"] and not d["refused"], d' "$OUT" ||
  fail "weftctl --json reload --dry-run: $OUT"

note "a change that only applies at start: --dry-run 1, and a plain reload 1"
{ printf '[weftd]\nblocking_threads = 3\n\n'; cat "$CONF"; } >"$TMP/next.toml"
mv "$TMP/next.toml" "$CONF"
expect_status 1 "$WEFTCTL" --socket "$SOCK" reload --dry-run
expect_out "[weftd] blocking_threads changed (2 -> 3)"
OUT=$("$WEFTCTL" --socket "$SOCK" reload --dry-run 2>/dev/null) || true
[[ -z $OUT ]] || fail "a failed reply goes to stderr, not stdout: $OUT"
expect_status 1 "$WEFTCTL" --socket "$SOCK" reload
[[ $OUT == *"not built yet"* || $OUT == *"blocking_threads"* ]] || fail "weftctl reload: no reason given: $OUT"
expect_status 1 "$WEFTCTL" --socket "$SOCK" --json reload --dry-run
"$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["refused"], d' "$OUT" || fail "--json refused: $OUT"
stop box

# A console that says hello, reads the request, then (silent) never answers
# or (hangup) closes. Bounded: it exits after 60 s whatever happens.
FAKE=$TMP/fake.sock
fake_console() {
  "$PY" - "$FAKE" "$1" <<'PY'
import os, socket, sys, time
path, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(1); s.settimeout(60)
c, _ = s.accept()
hello = b"weft console, pid %d\n" % os.getpid()
c.sendall(b"H %d\n" % len(hello) + hello)
c.settimeout(60)
data = b""
while not data.endswith(b"\n"):
    chunk = c.recv(4096)
    if not chunk: break
    data += chunk
print("request:", data.decode().strip(), flush=True)
if mode == "hangup":
    c.close()
else:
    time.sleep(60)
PY
}
wait_socket() {
  local i
  for ((i = 0; i < 200; i++)); do [[ -S $FAKE ]] && return 0; sleep 0.05; done
  fail "the fake console did not listen on $FAKE"
}

note "no reply within --timeout: 3, and where to look"
start_bg fake fake_console silent
wait_socket
started=$SECONDS
expect_status 3 "$WEFTCTL" --socket "$FAKE" reload --timeout 1
((SECONDS - started <= 10)) || fail "weftctl reload --timeout 1 took $((SECONDS - started)) s"
expect_out "weftctl reload: no answer from weftd within 1 s (--timeout); the reload may still be running"
expect_out "config history"
grep -q "request: reload --no-wait$" "$TMP/fake.log" || fail "the fake console did not get 'reload': $(cat "$TMP/fake.log")"
stop fake
rm -f "$FAKE"

note "the connection lost mid-request: 3"
start_bg fake fake_console hangup
wait_socket
expect_status 3 "$WEFTCTL" --socket "$FAKE" reload --dry-run
expect_out "weftctl reload --dry-run: weftd closed the connection before its reply"
grep -q "request: reload --dry-run$" "$TMP/fake.log" || fail "the fake console did not get 'reload --dry-run'"
stop fake
echo "ok"
