#!/usr/bin/env bash
# packaging/weftd.service (the unit the .deb installs) as systemd judges it: `systemd-analyze verify`
# (its binaries pointed at this build) has nothing to say; ExecReload is
# the blocking `weftctl reload` on the socket the unit's weftd listens on,
# and TimeoutStartSec, which bounds a reload job too, is longer than
# weftctl reload's own --timeout, so weftctl reports before systemd kills it.
# Skipped (77) without systemd-analyze (Debian package systemd).
# Usage: weftd_unit.sh WEFTD WEFTCTL
WEFTD=$1 WEFTCTL=$2
source "$(dirname "$0")/common.bash"
UNIT=$(cd "$(dirname "$0")/../.." && pwd)/packaging/weftd.service
command -v systemd-analyze >/dev/null || { echo "skip: no systemd-analyze (apt-get install systemd)"; exit 77; }

note "systemd-analyze verify: no complaint"
# Documentation=man:weftd(8): systemd-analyze runs man; the repo's page, as installed
mkdir -p "$TMP/man/man8"
cp "$(dirname "$UNIT")/man/weftd.8" "$TMP/man/man8/"
export MANPATH=$TMP/man
sed -e "s|/usr/bin/weftd|$WEFTD|g" -e "s|/usr/bin/weftctl|$WEFTCTL|g" "$UNIT" >"$TMP/weftd.service"
OUT=$(systemd-analyze verify "$TMP/weftd.service" 2>&1) || fail "systemd-analyze verify failed: $OUT"
[[ -z $OUT ]] || fail "systemd-analyze verify complains about packaging/weftd.service: $OUT"

note "the reload is synchronous and bounded below systemd's bound"
value() { sed -n "s/^$1=//p" "$UNIT"; }
[[ $(value Type) == notify ]] || fail "Type= is not notify"
reload=$(value ExecReload)
[[ $reload == "/usr/bin/weftctl --socket /run/weft/weftd.sock reload --timeout "* ]] ||
  fail "ExecReload is not the blocking weftctl reload on /run/weft/weftd.sock: $reload"
[[ $(value RuntimeDirectory) == weft ]] ||
  fail "RuntimeDirectory= is not weft: the console's default socket (RUNTIME_DIRECTORY/weftd.sock) is not ExecReload's /run/weft/weftd.sock"
for key in User=weft SupplementaryGroups=dialout StateDirectory=weft ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
  NoNewPrivileges=yes CapabilityBoundingSet= Restart=on-failure; do
  grep -qx "$key" "$UNIT" || fail "the unit lacks $key"
done
[[ -n $(value WatchdogSec) ]] || fail "no WatchdogSec="
reload_timeout=${reload##* }
start_timeout=$(value TimeoutStartSec)
start_timeout=${start_timeout%s}
((start_timeout > reload_timeout)) || fail "TimeoutStartSec=${start_timeout}s does not cover weftctl reload --timeout $reload_timeout"

note "the unit's weftctl reload line parses (against no weftd: 3, not a usage error)"
args=${reload#/usr/bin/weftctl }
args=${args/\/run\/weft\/weftd.sock/$TMP/none.sock}
read -r -a words <<<"$args"
expect_status 3 "$WEFTCTL" "${words[@]}"
expect_out "weftctl reload: weftd is not running"
echo "ok"
