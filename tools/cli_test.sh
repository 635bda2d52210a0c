#!/bin/bash
# Drives the gnr binary as a user would: version, help, alias dispatch, bad input.
set -euo pipefail
GNR="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$GNR" --version | grep -Eq '^gnr [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version"
"$GNR" --help | grep -q 'Usage: gnr <command>' || fail "--help"
"$GNR" --version --json >/dev/null 2>&1 || true
"$GNR" version --json | grep -q '"version"' || fail "version --json"
ln -s "$GNR" "$tmp/gnr-version"
"$tmp/gnr-version" | grep -Eq '^gnr [0-9]' || fail "gnr-version alias"
set +e
"$GNR" no-such-command 2>"$tmp/err"; rc=$?
set -e
[ "$rc" = 64 ] || fail "unknown command exit code $rc"
grep -q "unknown command 'no-such-command'" "$tmp/err" || fail "unknown command message"
# Every listed command answers --help with exit 0.
for cmd in $("$GNR" --help | awk '/^Commands:/{f=1;next} /^$/{f=0} f{print $1}'); do
  "$GNR" "$cmd" --help >/dev/null || fail "$cmd --help"
done
echo "1 passed, 0 failed"
