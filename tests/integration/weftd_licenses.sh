#!/usr/bin/env bash
# weftd's closure carries no GPL-only licence. Runs `weftd --licenses` (what
# the dynamic loader loaded for this weftd, with the Debian package, version
# and licence dpkg knows) and fails when:
#   - a loaded object's licence is GPL-only: every alternative of its
#     "or" has a GPL term (GPL-2, GPL-3+, ...: not LGPL, not AGPL-free,
#     not "with ... exception"), so "BSD-3-clause or GPL-2" passes and
#     "GPL-2+" fails;
#   - a loaded object belongs to no Debian package, or has no version;
#   - a package's licence is NOASSERTION (its copyright file is not DEP-5)
#     and it is not in the reviewed list below, each with what its
#     copyright file says: a new such library must be read and added here.
# Also: `weftd --sbom` is valid JSON, SPDX-2.3, with a package per loaded
# Debian package and the build manifest's components.
# Usage: bash weftd_licenses.sh <weftd>
set -euo pipefail
WEFTD=$1
command -v dpkg-query >/dev/null || { echo "skip: not a Debian system (no dpkg)"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

declare -A REVIEWED=(
  [libc6]="LGPL-2.1+ (glibc; copyright not DEP-5)"
  [libstdc++6]="GPL-3+ with the GCC Runtime Library Exception (copyright not DEP-5)"
  [libgcc-s1]="GPL-3+ with the GCC Runtime Library Exception (copyright not DEP-5)"
  [libgcrypt20]="LGPL-2.1+ (the library; the tools are GPL; copyright not DEP-5)"
  # Only in a sanitized test build (tools/dev test --sanitize), never shipped;
  # their copyright file is GCC's, the same as libstdc++6's.
  [libasan8]="GPL-3+ with the GCC Runtime Library Exception (sanitized test builds only; copyright not DEP-5)"
  [libubsan1]="GPL-3+ with the GCC Runtime Library Exception (sanitized test builds only; copyright not DEP-5)"
)

# gpl_only LICENCE: true when every "or" alternative has a GPL term
gpl_only() {
  local lic=$1 alt
  local IFS=$'\n'
  for alt in $(sed -E 's/ +or +/\n/gI' <<<"$lic"); do
    if grep -qiE 'with .*exception' <<<"$alt"; then return 1; fi
    if ! grep -qE '(^|[^LA])GPL' <<<"$alt"; then return 1; fi
  done
  return 0
}
# the classifier itself, so that a broken one cannot pass everything
gpl_only "GPL-2+" || fail "classifier: GPL-2+ is GPL-only"
gpl_only "GPL-2 and BSD-3-clause" || fail "classifier: GPL-2 and BSD-3-clause is GPL-only"
! gpl_only "LGPL-2.1+" || fail "classifier: LGPL-2.1+ is not GPL-only"
! gpl_only "BSD-3-clause or GPL-2" || fail "classifier: BSD-3-clause or GPL-2 is not GPL-only"
! gpl_only "GPL-3+ with GCC-exception" || fail "classifier: an exception is not GPL-only"
! gpl_only "EPL-2.0 or EDL-1.0" || fail "classifier: EPL-2.0 or EDL-1.0 is not GPL-only"

out=$("$WEFTD" --licenses) || fail "weftd --licenses exited $?"
table=$(sed -n '/^PATH\tPACKAGE/,/^$/p' <<<"$out" | sed '1d;/^$/d')
rows=$(wc -l <<<"$table")
((rows >= 5)) || fail "only $rows loaded objects listed: $out"
grep -q '^/.*/libc\.so\.6	libc6' <<<"$table" || fail "libc.so.6 is not listed as libc6's: $table"
bad=0
while IFS=$'\t' read -r path pkg version lic; do
  name=${pkg%%:*}
  if [[ $pkg == - || $version == - ]]; then echo "FAIL: $path: no Debian package or version"; bad=1; continue; fi
  if [[ $lic == NOASSERTION ]]; then
    if [[ -z ${REVIEWED[$name]:-} ]]; then
      echo "FAIL: $path ($pkg $version): licence NOASSERTION and not reviewed; read /usr/share/doc/$name/copyright and add it to REVIEWED"
      bad=1
    fi
    continue
  fi
  if gpl_only "$lic"; then echo "FAIL: $path ($pkg $version) is GPL-only: $lic"; bad=1; fi
done <<<"$table"
((bad == 0)) || exit 1
echo "# $rows loaded objects, none GPL-only"

for c in "Boost" "CLI11" "toml++"; do
  grep -q "^$c" <<<"$(sed -n '/^COMPONENT/,/^$/p' <<<"$out")" || fail "the build manifest lacks $c"
done

"$WEFTD" --sbom | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["spdxVersion"] == "SPDX-2.3", d["spdxVersion"]
names = {p["name"] for p in d["packages"]}
for want in ("weftd", "libc6", "CLI11"):
    assert want in names, (want, sorted(names))
refs = {r["licenseId"] for r in d.get("hasExtractedLicensingInfos", [])}
for p in d["packages"]:
    for tok in p["licenseDeclared"].replace("(", " ").replace(")", " ").split():
        if tok.startswith("LicenseRef-"):
            assert tok in refs, ("undeclared", tok)
print("# sbom: %d packages, %d relationships" % (len(d["packages"]), len(d["relationships"])))
' || fail "weftd --sbom is not the SPDX document expected"
echo ok
