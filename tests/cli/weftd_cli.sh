#!/usr/bin/env bash
# Black-box test of weftd: exit codes and messages for --version, --check-config and every kind
# of config mistake (exit 2, file:line:col, the key), a disabled service's table (checked, not
# run), virtual- and real-time runs with --for, the --simulate summary, SIGHUP logged and
# survived, and a clean stop on SIGTERM. Usage: bash weftd_cli.sh <path-to-weftd> <repo-root>
set -euo pipefail

WEFTD=$1
ROOT=$2
DEMO="$ROOT/tests/cli/heartbeat_tap.toml"
TMP=$(mktemp -d)
BG_PID=""
cleanup() {
  if [[ -n "$BG_PID" ]] && kill -0 "$BG_PID" 2>/dev/null; then kill -KILL "$BG_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$TMP"/out "$TMP"/err; do [[ -f $f ]] && { echo "--- ${f##*/}:" >&2; cat "$f" >&2; }; done
  exit 1
}

# run EXPECTED_CODE ARGS...: runs weftd (bounded by timeout), output in $TMP/out and $TMP/err.
run() {
  local expected=$1 code=0
  shift
  timeout 30 "$WEFTD" "$@" >"$TMP/out" 2>"$TMP/err" || code=$?
  [[ $code == "$expected" ]] || fail "weftd $* exited $code, expected $expected"
}

# expect_err TEXT: stderr of the last run contains TEXT (a fixed string).
expect_err() { grep -qF -- "$1" "$TMP/err" || fail "stderr lacks '$1'"; }
expect_err_re() { grep -qE -- "$1" "$TMP/err" || fail "stderr does not match /$1/"; }

# --- version and a valid config
run 0 --version
grep -qE '^weftd [0-9]+\.[0-9]+\.[0-9]+' "$TMP/out" || fail "--version printed no version"

run 0 --check-config "$DEMO"
grep -qF "ok (2 services: heartbeat, tap)" "$TMP/out" || fail "--check-config printed no summary"

# --- every shipped example is a valid config
for example in "$ROOT"/examples/*.toml; do
  run 0 --check-config "$example"
  grep -qF ": ok (" "$TMP/out" || fail "--check-config $example printed no summary"
done

# --- a typo'd key: exit 2, file:line:col and the key
cat >"$TMP/typo.toml" <<'EOF'
[service.heartbeat]
period = "2s"
perod = "3s"
EOF
run 2 --check-config "$TMP/typo.toml"
expect_err "$TMP/typo.toml:3:1:"
expect_err "'perod'"
run 2 --config "$TMP/typo.toml" --virtual-time --for 1s  # running rejects it the same way
expect_err "$TMP/typo.toml:3:1:"

# --- an unknown service: exit 2, lists the known ones
cat >"$TMP/unknown.toml" <<'EOF'
[service.heartbeat]

[service.hartbeat]
period = "1s"
EOF
run 2 --check-config "$TMP/unknown.toml"
expect_err "$TMP/unknown.toml:3:"
expect_err "unknown service 'hartbeat'"
expect_err_re "known services: (.*, )?heartbeat(,|$)"
expect_err_re "known services: (.*, )?tap(,|$)"

# --- a TOML syntax error: exit 2 with line:col
cat >"$TMP/syntax.toml" <<'EOF'
[service.heartbeat]
period = "2s"
prefix = = "x"
EOF
run 2 --check-config "$TMP/syntax.toml"
expect_err_re "syntax\.toml:3:[0-9]+:"

# --- a duration without a unit: exit 2, says what to write
cat >"$TMP/duration.toml" <<'EOF'
[service.heartbeat]
period = "5"
EOF
run 2 --check-config "$TMP/duration.toml"
expect_err "$TMP/duration.toml:2:"
expect_err "service.heartbeat.period"
expect_err '"5s"'
run 2 --config "$DEMO" --virtual-time --for 5  # --for follows the same rules
expect_err "no unit"

# --- a dependency cycle (tap needs tap): exit 2 naming the cycle, checked and run alike
cat >"$TMP/cycle.toml" <<'EOF'
[service.heartbeat]

[service.tap]
needs = ["tap"]
EOF
run 2 --check-config "$TMP/cycle.toml"
expect_err "dependency cycle between services: tap -> tap"
run 2 --config "$TMP/cycle.toml" --virtual-time --for 1s
expect_err "dependency cycle between services: tap -> tap"

# --- a need that is not an enabled service
cat >"$TMP/needs.toml" <<'EOF'
[service.heartbeat]
enabled = false

[service.tap]
needs = ["heartbeat"]
EOF
run 2 --check-config "$TMP/needs.toml"
expect_err "'heartbeat' is not an enabled service"

# --- enabled = false keeps the table: its keys are checked as if it ran, and it does not run
cat >"$TMP/disabled.toml" <<'EOF'
[service.heartbeat]
enabled = false
period = "2s"
prefix = "demo"

[service.tap]
pattern = "*"
EOF
run 0 --check-config "$TMP/disabled.toml"
grep -qF "ok (1 services: tap)" "$TMP/out" || fail "--check-config of a disabled heartbeat: $(cat "$TMP/out")"
run 0 --config "$TMP/disabled.toml" --virtual-time --for 10s
expect_err "[tap] stopped"
# tap logs every reading ("*"): a heartbeat that ran would show as demo.uptime_s and as [heartbeat] lines.
if grep -qF "demo.uptime_s" "$TMP/err" || grep -qF "[heartbeat]" "$TMP/err"; then fail "the disabled heartbeat ran"; fi
sed -i 's/^enabled = false$/enabled = true/' "$TMP/disabled.toml"  # switched on: a one-line change
run 0 --config "$TMP/disabled.toml" --virtual-time --for 10s
expect_err "demo.uptime_s"
cat >"$TMP/disabled_typo.toml" <<'EOF'
[service.heartbeat]
enabled = false
period = "2s"
perod = "3s"

[service.tap]
pattern = "*"
EOF
run 2 --check-config "$TMP/disabled_typo.toml"
expect_err "$TMP/disabled_typo.toml:4:1:"
expect_err "'perod'"
run 2 --config "$TMP/disabled_typo.toml" --virtual-time --for 1s
expect_err "$TMP/disabled_typo.toml:4:1:"

# --- the simulation summary counts line-busy polls apart from other errors
run 0 --simulate gather --config "$ROOT/examples/plant.toml" --virtual-time --for 10s
grep -qE '^instrument +polls +good +readings +timeouts +crc +except +busy +other +missed$' "$TMP/out" ||
  fail "the --simulate summary has no busy column"

# --- no config at all, and a missing file: usage errors
run 2
expect_err "no config given"
run 2 --config "$TMP/does-not-exist.toml"

# --- ten seconds on the virtual clock: exits 0 at once, the heartbeat publishes
start=$SECONDS
run 0 --config "$DEMO" --virtual-time --for 10s
# A run on the real clock could not end in under 10 s; the virtual one takes milliseconds.
(( SECONDS - start < 10 )) || fail "a 10 s virtual run took $((SECONDS - start)) s of real time"
expect_err "demo.uptime_s"
# The heartbeat period is 2 s: uptime readings at 2, 4, 6, 8 (and 10) s.
n=$(grep -cF "demo.uptime_s" "$TMP/err" || true)
(( n >= 4 && n <= 5 )) || fail "expected 4-5 demo.uptime_s readings in 10 virtual seconds, saw $n"
expect_err "[tap] stopped"
expect_err "[heartbeat] stopped"

# --- one second for real
run 0 --config "$DEMO" --for 1s
expect_err "[heartbeat] stopped"

# --- SIGTERM stops a running weftd cleanly (exit 0, each service logs "stopped")
"$WEFTD" --config "$DEMO" >"$TMP/out" 2>"$TMP/err" &
BG_PID=$!
for _ in $(seq 1 300); do  # wait (at most ~30 s) until it runs: signals are handled by then
  grep -qF "all 2 services ready" "$TMP/err" && break
  kill -0 "$BG_PID" 2>/dev/null || fail "weftd exited before it was ready"
  sleep 0.1
done
grep -qF "all 2 services ready" "$TMP/err" || fail "weftd never became ready"

# --- SIGHUP (what admins send to reload) does not kill weftd (its default action
# would: exit 129): one reload per signal (the file is unchanged: nothing to do), the
# services run on untouched, and it is not taken as a first stop signal (the SIGTERM
# below still stops cleanly, exit 0)
hup_lines() { grep -E "reload [0-9]+ \(signal, .*\): unchanged" "$TMP/err" | wc -l; }
readings() { grep -cF "demo.uptime_s" "$TMP/err" || true; }
for want in 1 2; do
  kill -HUP "$BG_PID"
  for _ in $(seq 1 100); do  # at most ~10 s for the warning
    (( $(hup_lines) >= want )) && break
    kill -0 "$BG_PID" 2>/dev/null || fail "weftd died on SIGHUP"
    sleep 0.1
  done
  (( $(hup_lines) == want )) || fail "expected $want SIGHUP reloads, saw $(hup_lines)"
done
before=$(readings)
for _ in $(seq 1 100); do  # heartbeat (2 s) goes on publishing: at most ~10 s for the next reading
  (( $(readings) > before )) && break
  sleep 0.1
done
(( $(readings) > before )) || fail "no reading after SIGHUP: the services did not run on"
kill -0 "$BG_PID" 2>/dev/null || fail "weftd exited after SIGHUP"
grep -qF "stopping services" "$TMP/err" && fail "SIGHUP started a stop"

kill -TERM "$BG_PID"
code=0
for _ in $(seq 1 300); do
  kill -0 "$BG_PID" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$BG_PID" 2>/dev/null && fail "weftd still running 30 s after SIGTERM"
wait "$BG_PID" || code=$?
BG_PID=""
[[ $code == 0 ]] || fail "weftd exited $code after SIGTERM, expected 0"
expect_err "signal 15"
expect_err "[tap] stopped"
expect_err "[heartbeat] stopped"

# --- SIGHUP before the runtime runs (weftd still reading its config) is no
# kill either: the config is a FIFO, so weftd waits in its open, inside main,
# until we write it; the HUP lands there. Before, this exited 129, silently.
mkfifo "$TMP/fifo.toml"
"$WEFTD" --config "$TMP/fifo.toml" --for 1s >"$TMP/out" 2>"$TMP/err" &
BG_PID=$!
for _ in $(seq 1 100); do  # at most ~10 s until it waits in the FIFO's open
  [[ "$(cat /proc/$BG_PID/wchan 2>/dev/null)" == wait_for_partner ]] && break
  sleep 0.1
done
[[ "$(cat /proc/$BG_PID/wchan 2>/dev/null)" == wait_for_partner ]] || fail "weftd never opened its FIFO config"
kill -HUP "$BG_PID"
sleep 0.2
code=0
if ! kill -0 "$BG_PID" 2>/dev/null; then
  wait "$BG_PID" || code=$?
  BG_PID=""
  fail "weftd died of a SIGHUP while reading its config (exit $code; 129: killed by it)"
fi
timeout 10 bash -c 'cat "$1" >"$2"' _ "$DEMO" "$TMP/fifo.toml" || fail "weftd did not read its FIFO config"
wait "$BG_PID" || code=$?
BG_PID=""
[[ $code == 0 ]] || fail "weftd exited $code after a SIGHUP while reading its config, expected 0 (129: killed by it)"
expect_err "[heartbeat] stopped"

echo "weftd CLI: all checks passed"
