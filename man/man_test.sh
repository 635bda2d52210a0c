#!/bin/bash
# Checks the man pages against the binary, for every command `gnr --help` lists:
#   - `gnr <cmd> --help` exits 0 and prints a "Usage:" line;
#   - man/gnr-<cmd>.1 or man/gnr-<cmd>.8 exists, has the standard sections, and mentions
#     every --flag and GNR_* variable that the command's --help mentions;
#   - `man -l` renders it with MANWIDTH=80 and nothing on stderr (groff warnings on).
# gnr(1) and gnr-config.toml(5) are rendered too, and gnr(1) must list every command.
# Finally the script runs itself on a copy of man/ without one page and must fail then.
# Usage: man_test.sh GNR_BINARY MAN_SOURCE_DIR
set -uo pipefail
GNR="$1"
MANDIR="$2"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
command -v man >/dev/null || { echo "FAIL: man is not installed (scripts/setup installs man-db)" >&2; exit 1; }

SECTIONS=("NAME" "SYNOPSIS" "DESCRIPTION" "OPTIONS" "ENVIRONMENT" "FILES" "EXIT STATUS"
          "EXAMPLES" "SEE ALSO")

# The roff source as plain words: \- -> -, font escapes dropped.
plain() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(..//g' "$1"; }

check_page() {  # page
  local page="$1" err s
  err=$(MANWIDTH=80 MANPAGER=cat LC_ALL=C.UTF-8 man --warnings=w -l "$page" 2>&1 >/dev/null)
  [ -z "$err" ] || fail "$(basename "$page"): man -l wrote to stderr: $err"
  [ -n "$(MANWIDTH=80 MANPAGER=cat man -l "$page" 2>/dev/null)" ] || fail "$page renders empty"
  for s in "${SECTIONS[@]}"; do
    grep -q "^\.SH \"\?$s\"\?\$" "$page" || fail "$(basename "$page"): no $s section"
  done
}

commands=$("$GNR" --help | awk '/^Commands:/{f=1;next} /^$/{f=0} f{print $1}')
[ -n "$commands" ] || fail "gnr --help lists no commands"
count=0
for cmd in $commands; do
  count=$((count + 1))
  help=$("$GNR" "$cmd" --help 2>&1)
  rc=$?
  [ "$rc" = 0 ] || fail "gnr $cmd --help exited $rc"
  grep -q '^Usage:' <<<"$help" || fail "gnr $cmd --help prints no 'Usage:' line"
  page=""
  for section in 1 8; do
    [ -f "$MANDIR/gnr-$cmd.$section" ] && page="$MANDIR/gnr-$cmd.$section"
  done
  if [ -z "$page" ]; then
    fail "command '$cmd' has no man page (expected man/gnr-$cmd.1 or man/gnr-$cmd.8)"
    continue
  fi
  check_page "$page"
  text=$(plain "$page")
  for word in $(grep -oE -- '--[a-z][a-z0-9-]*|GNR_[A-Z_]+' <<<"$help" | sort -u); do
    grep -qE -- "${word}([^A-Za-z0-9_-]|\$)" <<<"$text" ||
      fail "$(basename "$page") does not mention $word (from gnr $cmd --help)"
  done
  grep -qE "^\.BR? $cmd\$" "$MANDIR/gnr.1" || fail "gnr.1 does not list the command '$cmd'"
done
for page in "$MANDIR/gnr.1" "$MANDIR/gnr-config.toml.5"; do
  if [ -f "$page" ]; then check_page "$page"; else fail "missing $page"; fi
done

# The check must catch a missing page: drop one and expect a failure.
if [ -z "${GNR_MAN_TEST_INNER:-}" ] && [ "$failures" = 0 ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cp "$MANDIR"/* "$tmp"/
  first=$(awk 'NR==1' <<<"$commands")
  rm -f "$tmp/gnr-$first.1" "$tmp/gnr-$first.8"
  if GNR_MAN_TEST_INNER=1 "$0" "$GNR" "$tmp" >/dev/null 2>"$tmp/err"; then
    fail "the test passed although gnr-$first has no man page"
  elif ! grep -q "command '$first' has no man page" "$tmp/err"; then
    fail "a missing page gave an unexpected message: $(cat "$tmp/err")"
  fi
fi

if [ "$failures" != 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "man pages: $count commands checked, 0 failures"
