#!/usr/bin/env bash
# weftd's log under systemd's journal: with JOURNAL_STREAM naming its
# stderr's real dev:inode, every line starts with a syslog priority "<N>"
# (6 info, 7 debug) and carries no time stamp of its own; with a
# JOURNAL_STREAM that names another file (a child whose stderr was
# redirected inherits the variable) or a malformed one, the normal
# "TIME LEVEL [logger] message" format stays. As root, a warning (a
# console client refused: user nobody) is "<4>warn", the priority
# `journalctl -p warning` selects.
# Usage: bash weftd_journal_stream.sh <weftd> [<weftctl>]
set -euo pipefail
WEFTD=$1
WEFTCTL=${2:-}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/weft-journal-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; for f in "$TMP"/*.log; do echo "--- $f"; head -20 "$f"; done; exit 1; }
# a config of its own (no shared socket or data dir: runs beside other tests)
printf '[service.console]\nsocket = "%s"\n[service.heartbeat]\nperiod = "100ms"\n' "$TMP/run.sock" >"$TMP/run.toml"
stamp='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}'

# run NAME JOURNAL_STREAM-VALUE: weftd for 1 s on its own config, stderr to $TMP/NAME.log
run() {
  local log="$TMP/$1.log"
  : >"$log"
  local value=$2
  [[ $value != real ]] || value="$(stat -c %d "$log"):$(stat -c %i "$log")"
  JOURNAL_STREAM=$value timeout 30 "$WEFTD" --config "$TMP/run.toml" --for 1s \
    --log-level debug 2>"$log" >/dev/null || fail "weftd exited $? (JOURNAL_STREAM=$value)"
  [[ -s $log ]] || fail "weftd logged nothing (JOURNAL_STREAM=$value)"
}

echo "# JOURNAL_STREAM is stderr: priority prefixes, no time stamps"
run journal real
bad=$(grep -cv '^<[0-7]>' "$TMP/journal.log" || true)
((bad == 0)) || fail "$bad lines without a <N> prefix"
grep -q '^<6>info  \[' "$TMP/journal.log" || fail "no <6> info line"
grep -q '^<7>debug \[' "$TMP/journal.log" || fail "no <7> debug line (--log-level debug)"
! grep -Eq "$stamp" "$TMP/journal.log" || fail "a time stamp under the journal"
head -2 "$TMP/journal.log"

echo "# JOURNAL_STREAM names another file: the normal format"
other="$TMP/other"
: >"$other"
run redirected "$(stat -c %d "$other"):$(stat -c %i "$other")"
! grep -q '^<[0-7]>' "$TMP/redirected.log" || fail "a <N> prefix although stderr is not the journal's stream"
grep -Eq "^$stamp" "$TMP/redirected.log" || fail "no time stamps in the normal format"
head -1 "$TMP/redirected.log"

if ((EUID == 0)) && [[ -n $WEFTCTL ]] && id nobody >/dev/null 2>&1; then
  echo "# a warning under the journal is <4>"
  chmod 755 "$TMP"
  log="$TMP/warn.log"
  : >"$log"
  printf '[service.console]\nsocket = "%s"\n' "$TMP/weftd.sock" >"$TMP/console.toml"
  JOURNAL_STREAM="$(stat -c %d "$log"):$(stat -c %i "$log")" "$WEFTD" --config "$TMP/console.toml" 2>"$log" &
  pid=$!
  for _ in $(seq 100); do [[ -S $TMP/weftd.sock ]] && break; sleep 0.05; done
  [[ -S $TMP/weftd.sock ]] || { kill "$pid"; fail "no console socket within 5 s"; }
  chmod 777 "$TMP/weftd.sock"
  runuser -u nobody -- "$WEFTCTL" --socket "$TMP/weftd.sock" --timeout 5 -e services >/dev/null 2>&1 || true
  for _ in $(seq 100); do grep -q 'refused' "$log" && break; sleep 0.05; done
  kill "$pid"
  wait "$pid" || true
  grep -q '^<4>warning \[console\] console: refused' "$log" || fail "the refused client's warning is not <4>"
  grep '^<4>' "$log" | head -1
fi

echo "# a malformed JOURNAL_STREAM: the normal format"
run malformed "12345"
! grep -q '^<[0-7]>' "$TMP/malformed.log" || fail "a <N> prefix with a malformed JOURNAL_STREAM"
echo ok
