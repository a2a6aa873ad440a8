#!/usr/bin/env bash
# Black-box test of array soft points' config (weftd --check-config): a
# good one passes; every mistake exits 2 naming file:line:col, the key and
# what to do: max_length missing, below 1, beyond what [service.ca]
# max_array_bytes carries (and accepted once that is raised), an initial
# list longer than max_length or holding a non-number, alarm or control
# limits or states on an array, max_length on a scalar point.
# Usage: bash ca_array_config.sh <path-to-weftd> <repo-root>
set -euo pipefail
WEFTD=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$TMP"/out "$TMP"/err; do [[ -f $f ]] && { echo "--- ${f##*/}:" >&2; cat "$f" >&2; }; done
  exit 1
}
# check EXPECTED_CODE SOFT_POINT_LINES [SERVICE_CA_LINES]: --check-config of a config with that soft point.
check() {
  local expected=$1 code=0
  printf '[service.ca]\nport = 0\n%s\n\n[[soft_point]]\nname = "sp.a"\ntype = "array"\n%s\n' "${3:-}" "$2" \
    >"$TMP/c.toml"
  timeout 30 "$WEFTD" --check-config "$TMP/c.toml" >"$TMP/out" 2>"$TMP/err" || code=$?
  [[ $code == "$expected" ]] || fail "weftd --check-config exited $code, expected $expected for: $2"
}
expect_err() { grep -qF -- "$1" "$TMP/err" || fail "stderr lacks '$1'"; }

check 0 $'max_length = 4\ninitial = [1, 2.5]'
check 0 $'max_length = 2048'  # 16384 / 8, the default max_array_bytes
check 2 $'initial = [1.0]'
expect_err "$TMP/c.toml:5:1:"  # at the table: the key is missing
expect_err "soft_point[0].max_length: an array soft point needs max_length = N"
expect_err "1 to 2048 with [service.ca] max_array_bytes = 16384"
check 2 $'max_length = 0'
expect_err "$TMP/c.toml:8:14:"
expect_err "max_length: must be at least 1"
check 2 $'max_length = 2049'
expect_err "$TMP/c.toml:8:14:"
expect_err "2049 doubles are 16392 bytes"
expect_err "use at most 2048, or raise max_array_bytes to 16392 or more"
check 0 $'max_length = 2049' 'max_array_bytes = 16392'
check 2 $'max_length = 2\ninitial = [1, 2, 3]'
expect_err "$TMP/c.toml:9:11:"
expect_err "initial: 3 elements, more than max_length = 2: shorten the list or raise max_length"
check 2 $'max_length = 3\ninitial = [1, "2"]'
expect_err "$TMP/c.toml:9:15:"
expect_err "initial[1]: expected a number"
check 2 $'max_length = 3\ninitial = 1.5'
expect_err "initial: expected a list of numbers"
for key in hihi control_high; do
  check 2 $'max_length = 3\n'"$key = 5"
  expect_err "$TMP/c.toml:9:"
  expect_err "$key: an array soft point takes no alarm or control limits and no states"
done
check 2 $'max_length = 3\nstates = ["a", "b"]'
expect_err "states: an array soft point takes no alarm or control limits and no states"
# max_length on a scalar point
printf '[service.ca]\nport = 0\n\n[[soft_point]]\nname = "sp.n"\ntype = "number"\nmax_length = 3\n' >"$TMP/c.toml"
code=0
timeout 30 "$WEFTD" --check-config "$TMP/c.toml" >"$TMP/out" 2>"$TMP/err" || code=$?
[[ $code == 2 ]] || fail "max_length on a number point: exit $code"
expect_err "$TMP/c.toml:7:14:"
expect_err "only an array soft point (type = \"array\") has a max_length"
echo PASS
