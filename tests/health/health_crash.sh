#!/usr/bin/env bash
# Crash reports: a test-only service dereferences a null pointer (a real
# SIGSEGV); the process dies by SIGSEGV leaving <data>/crash/*.dump; the
# next start decodes it into a readable report and logs one line naming the
# signal, the service and the function. The same for an exception thrown
# out of a loop handler (std::terminate, then SIGABRT). Last, a crash while
# gather polls a silent socat pty: the report holds the port's last frames.
# Usage: bash health_crash.sh <weft-health-box> <weftd> <python3>
set -euo pipefail
BOX=$1
HERE=$(dirname "${BASH_SOURCE[0]}")
source "$HERE/common.bash"
ulimit -c 0

health_config "$TMP/box.toml" "$TMP/data"

# crash_then_restart TEST EXPECTED_STATUS: runs the box with --test TEST
# (dies), then again for 1 s (the next start).
crash_then_restart() {
  local code=0
  timeout 30 "$BOX" --config "$TMP/box.toml" --test sleeper --test "$1" >"$TMP/crash.log" 2>&1 || code=$?
  [[ $code == "$2" ]] || fail "--test $1 exited $code, expected $2"
  ls "$TMP"/data/crash/*.dump >/dev/null 2>&1 || fail "--test $1 left no dump in $TMP/data/crash"
  code=0
  timeout 30 "$BOX" --config "$TMP/box.toml" --for 1s >"$TMP/next.log" 2>&1 || code=$?
  [[ $code == 0 ]] || fail "the next start exited $code"
  if ls "$TMP"/data/crash/*.dump >/dev/null 2>&1; then fail "the next start left the dump undecoded"; fi
}

note "SIGSEGV"
crash_then_restart crash=300ms 139
grep -E "previous run crashed: SIGSEGV \(fault address 0x0\) in service crash at .*crash_now" "$TMP/next.log" ||
  fail "the next start did not report the SIGSEGV in crash_now"
report=$(grep -oE "report: [^)]+\.txt" "$TMP/next.log" | head -1 | cut -d' ' -f2)
[[ -f $report ]] || fail "the report $report does not exist"
grep -qx "cause: SIGSEGV (fault address 0x0)" "$report" || fail "report: no cause line"
grep -qx "service: crash" "$report" || fail "report: no service line"
grep -qE "^thread: [0-9]+ loop$" "$report" || fail "report: the crash is not marked as on the loop thread"
grep -qE "#[0-9]+ .*crash_now.* at .*weft_health_box.cpp:[0-9]+" "$report" || fail "report: no symbolised crash_now frame"
cat "$report"

note "uncaught exception out of a loop handler"
crash_then_restart throw=300ms 134
grep -E "previous run crashed: uncaught exception std::runtime_error: deliberate test exception in service throw at .*throw_now" "$TMP/next.log" ||
  fail "the next start did not report the uncaught exception in throw_now"
[[ $(ls "$TMP"/data/crash/*.txt | wc -l) == 2 ]] || fail "expected two reports in $TMP/data/crash"

note "SIGSEGV while gather polls a silent pty: the report has the serial frames"
rm -rf "$TMP/data/crash"
start_socat pty "$TMP/pty"
health_config "$TMP/gather.toml" "$TMP/data" "$(cat <<TOML
[service.gather]
lock_dir = "$TMP"

[[serial]]
name = "rs485"
path = "$TMP/pty/a"
baud = 19200
response_timeout = "100ms"
retries = 0

[[instrument]]
name = "boiler"
port = "rs485"
unit = 3
period = "200ms"
  [[instrument.point]]
  name = "temperature"
  address = 100
TOML
)"
code=0
timeout 30 "$BOX" --config "$TMP/gather.toml" --test crash=1500ms >"$TMP/crash.log" 2>&1 || code=$?
[[ $code == 139 ]] || fail "--test crash with gather exited $code, expected 139"
timeout 30 "$BOX" --config "$TMP/gather.toml" --for 1s >"$TMP/next.log" 2>&1 || fail "the next start failed"
report=$(grep -oE "report: [^)]+\.txt" "$TMP/next.log" | head -1 | cut -d' ' -f2)
[[ -f $report ]] || fail "the next start named no report"
grep -q "^serial rs485: last frames" "$report" || fail "report: no serial rs485 section"
grep -qE "ms tx 03 03 00 64 00 01 [0-9a-f ]+ sent$" "$report" || fail "report: no request frame to unit 3"
grep -qE "ms rx .*timeout$" "$report" || fail "report: no timeout verdict"
sed -n '/^serial rs485/,/^$/p' "$report"
echo "PASS health_crash"
