#!/usr/bin/env bash
# prefix_install.sh PREFIX DEB: the update test's install command, dpkg -i
# into PREFIX instead of /: the package's files are unpacked beside their
# place and renamed into it one by one (as dpkg does), then PREFIX/version
# is replaced (rename) with the package's Version: the test's
# "installed version" (its --version-cmd is `cat PREFIX/version`).
# With PREFIX/slow-install present it sleeps 4 s before the version is
# written, so a test can kill the updater mid-install.
set -euo pipefail
prefix=$1 deb=$2
stage=$(mktemp -d "$prefix/.install.XXXXXX")
trap 'rm -rf "$stage"' EXIT
dpkg-deb -x "$deb" "$stage"
(cd "$stage" && find . -type f -o -type l) | while read -r f; do
  mkdir -p "$prefix/$(dirname "$f")"
  mv -f "$stage/$f" "$prefix/$f"
done
if [[ -e $prefix/slow-install ]]; then sleep 4; fi
dpkg-deb -f "$deb" Version >"$prefix/version.new"
mv -f "$prefix/version.new" "$prefix/version"
echo "installed $(cat "$prefix/version") into $prefix"
