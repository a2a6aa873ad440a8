#!/usr/bin/env bash
# A hang dump is made from the loop's snapshot, never from loop-owned state:
# weft-health-box runs hangfree, whose dump section reads state that is
# valid only between its slices; after 1.5 s it frees that state and hangs
# the loop. The monitor thread must dump without calling the section (the
# loop rendered it on its last health tick): expected exit status 4 (not a
# SIGSEGV from the section), a dump in <data>/dumps with every service, the
# section as the loop rendered it, and the note saying how old that is.
# Usage: bash health_hang_snapshot.sh <weft-health-box> <weftd> <python3>
set -euo pipefail
BOX=$1
HERE=$(dirname "${BASH_SOURCE[0]}")
source "$HERE/common.bash"
ulimit -c 0

health_config "$TMP/box.toml" "$TMP/data"
note "box whose hanging service freed what its dump section reads"
start_bg box "$BOX" --config "$TMP/box.toml" --test sleeper --test hangfree=1500ms
wait_exit box 30
[[ $EXIT_STATUS == 4 ]] || fail "weft-health-box exited $EXIT_STATUS, expected 4 (hung loop, dump from the snapshot)"
grep -qF "loop hung: service 'hangfree' has held the loop for" "$TMP/box.log" || fail "no hang line naming 'hangfree'"

note "the hang dump"
dumps=("$TMP"/data/dumps/*.txt)
[[ -e ${dumps[0]} ]] || fail "no dump in $TMP/data/dumps"
cat "${dumps[0]}"
grep -qF "(hang: service 'hangfree'" "${dumps[0]}" || fail "the dump does not name the hang"
grep -qE "^\(the loop is hung: services, bus, loop lag and sections as the loop last saw them, [0-9.]+ (s|ms|us) before this dump\)$" \
  "${dumps[0]}" || fail "the dump does not say its state is the loop's snapshot"
for s in heartbeat sleeper hangfree; do
  grep -qE "^  $s: running, ready" "${dumps[0]}" || fail "the hang dump lacks service $s"
done
grep -qxF -- "--- hangfree: scratch ---" "${dumps[0]}" || fail "the dump lacks hangfree's section"
grep -qxF "scratch state of hangfree (rendered on the loop thread)" "${dumps[0]}" ||
  fail "hangfree's section in the dump was not rendered on the loop thread"
[[ ! -e "$TMP"/data/crash ]] || [[ -z $(ls -A "$TMP"/data/crash) ]] || fail "a crash report: $(ls "$TMP"/data/crash)"
echo "PASS health_hang_snapshot"
