#!/usr/bin/env bash
# `weft-bench ca` at tiny sizes (20 points, 3 circuits, 100 searches): the
# whole benchmark runs against a real weftd and weft-devsim and prints every
# figure, and the figures say the path worked (monitor updates delivered,
# channels made, NOT_FOUND answered). Timing figures are not judged here:
# they belong to the benchmark run on a quiet machine (README).
# Usage: bash ca_bench_smoke.sh <weft-bench>
set -euo pipefail
BENCH=$1
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

timeout 60 "$BENCH" ca --points 20 --clients 3 --ports 1 --warmup-s 0.5 --idle-s 0.5 --seconds 1 \
  --searches 100 --search-s 0.2 >"$TMP/bench.out" 2>"$TMP/bench.err" || fail "weft-bench ca failed: $(cat "$TMP/bench.out" "$TMP/bench.err")"
cat "$TMP/bench.out"

figure() {  # figure KEY: the value of "ca KEY=VALUE"; fails when the line is missing
  local v
  v=$(sed -n "s/^ca $1=//p" "$TMP/bench.out")
  [[ -n $v ]] || fail "no figure '$1' in the output"
  echo "$v"
}
for key in offered_per_s kib_per_idle_circuit bytes_per_channel loop_cpu_us_per_update ca_loop_us_per_update \
  console_rtt_us_p99_search lateness_us_p99_fanout lateness_us_p99_search; do
  figure "$key" >/dev/null
done
# 20 points at 10 Hz to 3 circuits: 600 updates/s offered. Delivered must be
# more than none (a broken path delivers 0); the exact rate is the benchmark's.
awk -v d="$(figure delivered_per_s)" 'BEGIN { exit !(d > 0) }' || fail "no monitor update delivered"
[[ $(figure searches_sent) -eq 100 ]] || fail "not every search was sent"
[[ $(figure not_found_received) -gt 0 ]] || fail "no NOT_FOUND answered a DO_REPLY search"
[[ $(figure weftd_exit_status) -eq 0 ]] || fail "weftd did not exit 0"
echo "PASS"
