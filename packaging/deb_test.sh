#!/bin/bash
# Builds the gnrfs .deb from an existing build tree (cpack), unpacks it into a scratch root
# with dpkg-deb -x, and checks what a user gets: the binary runs, the aliases point at it,
# the man pages, the systemd unit and the farmer configuration are in place, the control
# scripts create the gnr-farmer user.
# Usage: deb_test.sh BUILD_DIR GNR_BINARY
set -euo pipefail
BUILD="$1"
GNR="$2"
tmp=$(mktemp -d /tmp/gnr-deb-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
for tool in cpack dpkg-deb dpkg-shlibdeps man; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (run scripts/setup)"
done
[ -x "$GNR" ] || fail "build gnr first: $GNR"

cpack --config "$BUILD/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log" >&2; fail "cpack failed"; }
debs=("$tmp"/out/gnrfs_*.deb)
[ -f "${debs[0]}" ] || { cat "$tmp/cpack.log" >&2; fail "no gnrfs_*.deb in $tmp/out"; }
deb="${debs[0]}"
echo "built $(basename "$deb") ($(du -h "$deb" | cut -f1))"

# Control data.
dpkg-deb -f "$deb" Package | grep -qx gnrfs || fail "Package is not gnrfs"
depends=$(dpkg-deb -f "$deb" Depends)
grep -q 'libc6' <<<"$depends" || fail "Depends lacks the shared libraries: '$depends'"
grep -q 'passwd' <<<"$depends" || fail "Depends lacks passwd (useradd): '$depends'"
mkdir "$tmp/control"
dpkg-deb -e "$deb" "$tmp/control"
for f in postinst prerm postrm conffiles; do
  [ -f "$tmp/control/$f" ] || fail "control.tar lacks $f"
done
[ -x "$tmp/control/postinst" ] || fail "postinst is not executable"
grep -q 'useradd --system' "$tmp/control/postinst" || fail "postinst does not create the user"
grep -qx '/etc/gnr/farmer.toml' "$tmp/control/conffiles" || fail "farmer.toml is not a conffile"
sh -n "$tmp/control/postinst" && sh -n "$tmp/control/prerm" && sh -n "$tmp/control/postrm" ||
  fail "a maintainer script has a syntax error"

# Contents.
root="$tmp/root"
dpkg-deb -x "$deb" "$root"
[ -x "$root/usr/bin/gnr" ] || fail "no /usr/bin/gnr"
for alias in gnr-version gnr-farmer gnr-mount gnr-wallet gnr-market; do
  [ "$(readlink "$root/usr/bin/$alias")" = gnr ] || fail "/usr/bin/$alias is not a link to gnr"
done
pages=0
for src in "$(dirname "$0")"/../man/*.[158]; do
  name=$(basename "$src")
  page="man${name##*.}/$name"
  pages=$((pages + 1))
  f="$root/usr/share/man/$page.gz"
  [ -f "$f" ] || fail "no /usr/share/man/$page.gz"
  err=$(MANWIDTH=80 MANPAGER=cat man --warnings=w -l "$f" 2>&1 >/dev/null)
  [ -z "$err" ] || fail "$page.gz renders with warnings: $err"
done
[ "$pages" -ge 12 ] || fail "only $pages man pages found in the source tree"
unit="$root/usr/lib/systemd/system/gnr-farmer.service"
[ -f "$unit" ] || fail "no /usr/lib/systemd/system/gnr-farmer.service"
grep -qx 'ExecStart=/usr/bin/gnr farmer run --config /etc/gnr/farmer.toml' "$unit" ||
  fail "unexpected ExecStart in the unit: $(grep ExecStart "$unit")"
grep -qx 'User=gnr-farmer' "$unit" || fail "the unit does not run as gnr-farmer"
grep -qx 'StateDirectory=gnr-farmer' "$unit" || fail "the unit has no StateDirectory"
[ -f "$root/etc/gnr/farmer.toml" ] || fail "no /etc/gnr/farmer.toml"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify --root="$root" "$unit" 2>"$tmp/verify" || true
  grep -i 'unknown\|invalid' "$tmp/verify" && fail "systemd-analyze verify complains"
  # Hardening: systemd's own exposure score (0 best, 10 worst); "OK" is below 4.
  exposure=$(systemd-analyze security --offline=yes "$unit" 2>/dev/null |
    sed -n 's/.*Overall exposure level for gnr-farmer.service: \([0-9.]*\).*/\1/p')
  if [ -n "$exposure" ]; then
    echo "systemd exposure level: $exposure"
    awk -v e="$exposure" 'BEGIN { exit !(e < 4.0) }' || fail "exposure level $exposure >= 4"
  fi
fi

# The packaged binary runs, through its alias too, and reads the packaged configuration.
"$root/usr/bin/gnr" --version | grep -Eq '^gnr [0-9]+\.[0-9]+\.[0-9]+$' ||
  fail "/usr/bin/gnr --version"
"$root/usr/bin/gnr-version" | grep -Eq '^gnr [0-9]' || fail "/usr/bin/gnr-version"
[ "$("$root/usr/bin/gnr" --version)" = "$("$GNR" --version)" ] ||
  fail "the packaged gnr is not the built one"
show=$(env -u GNR_FARMER_DATA "$root/usr/bin/gnr" config show --json \
  --config "$root/etc/gnr/farmer.toml")
grep -q '"farmer.data":{"value":"/var/lib/gnr-farmer"' <<<"$show" ||
  fail "the packaged farmer.toml does not set farmer.data: $show"
echo "1 passed, 0 failed"
