#!/usr/bin/env bash
# A stderr whose reader went away (a log pipe's reader exited: `weftd | head`,
# a logger restarted outside systemd, which would set IgnoreSIGPIPE) must cost
# log lines, never the process: weftd's log writes then get EPIPE, and must not
# be killed by SIGPIPE (exit 141). The reader takes 200 bytes and exits; weftd
# keeps logging (debug) for 3 s and must exit 0 on its own.
# Usage: bash weftd_stderr_reader_gone.sh <weftd> <config.toml>
set -euo pipefail
WEFTD=$1
CONFIG=$2
TMP=$(mktemp -d "${TMPDIR:-/tmp}/weft-stderr-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
( set +e; timeout 30 "$WEFTD" --config "$CONFIG" --simulate gather --for 3s --log-level debug 2>&1 >/dev/null
  echo $? >"$TMP/rc" ) | head -c 200 >/dev/null
for _ in $(seq 1 100); do [[ -s $TMP/rc ]] && break; sleep 0.1; done
rc=$(cat "$TMP/rc")
echo "weftd exited with $rc after its stderr's reader went away"
[[ $rc == 0 ]] || { echo "FAIL: expected 0 (141 is SIGPIPE)"; exit 1; }
