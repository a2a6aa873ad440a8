#!/usr/bin/env bash
# make_deb.sh OUT VERSION WEFTD WEFTCTL [good|bad|dies|schema2]: a weft package for the update
# test, built with dpkg-deb from the built binaries (not the CPack package:
# no unit, no maintainer scripts; what `weftctl update` looks at is the
# control file and usr/bin/weftd). "bad": usr/bin/weftd answers
# --build-info and --check-config through the real binary
# (usr/lib/weft/weftd.real) but exits 1 at start, as a broken release would;
# "dies": runs, then is killed (SIGKILL) 5 s after its start, a crash in the
# settle window; "schema2": says it writes store schema 2 (--build-info);
# "stalls": runs HEALTH_BOX (6th argument: weft-health-box, weftd's run path
# plus test services) with --test busy=3s@4s, a loop held 3 s from 4 s
# after its start, in the settle window (its --build-info says the health
# box's build id, so the gate takes it for the package's weftd).
set -euo pipefail
out=$1 version=$2 weftd=$3 weftctl=$4 kind=${5:-good} health_box=${6:-}
root=$(mktemp -d "${out%.deb}.root.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/DEBIAN" "$root/usr/bin"
cat >"$root/DEBIAN/control" <<CONTROL
Package: weft
Version: $version
Architecture: $(dpkg --print-architecture)
Maintainer: weft developers <weft@example.org>
Description: weft test package $version ($kind)
CONTROL
cp "$weftctl" "$root/usr/bin/weftctl"
if [[ $kind != good ]]; then
  mkdir -p "$root/usr/lib/weft"
  cp "$weftd" "$root/usr/lib/weft/weftd.real"
  case $kind in
    bad) start='echo "weftd: this test build exits at start (bad package)" >&2; exit 1' ;;
    dies) start='exec timeout -s KILL 5 "$real" "$@"' ;;
    schema2) start='exec "$real" "$@"' ;;
    stalls) start='exec "$(dirname "$0")/../lib/weft/weft-health-box" "$@" --test busy=3s@4s' ;;
  esac
  build_info='exec "$real" "$@"'
  [[ $kind != schema2 ]] || build_info='"$real" --build-info | sed "s/^store_schema=.*/store_schema=2/"; exit 0'
  if [[ $kind == stalls ]]; then
    cp "$health_box" "$root/usr/lib/weft/weft-health-box"
    box_id=$(readelf -n "$health_box" | awk '/Build ID/ { print substr($3, 1, 16) }')
    build_info='"$real" --build-info | sed "s/^build_id=.*/build_id='"$box_id"'/"; exit 0'
  fi
  cat >"$root/usr/bin/weftd" <<SH
#!/bin/sh
# test package ($kind): passes or fails weftctl update's checks, then behaves as named
real="\$(dirname "\$0")/../lib/weft/weftd.real"
case "\${1:-}" in
  --build-info) $build_info ;;
  --check-config|--version) exec "\$real" "\$@" ;;
esac
$start
SH
  chmod 755 "$root/usr/bin/weftd"
else
  cp "$weftd" "$root/usr/bin/weftd"
fi
dpkg-deb -Znone --root-owner-group -b "$root" "$out" >/dev/null
