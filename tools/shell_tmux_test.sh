#!/bin/bash
# The progress bar as a person sees it: `gnr-put` of a large file (200 MiB, times
# $GNR_INTEGRATION_SCALE) onto a TEST MODE drive, run in a detached tmux session (a real
# terminal); `tmux capture-pane -p` must show a progress line with a percentage and a rate,
# and the put must end committed. The same put without a terminal prints no progress.
#   shell_tmux_test.sh <gnr binary>
set -euo pipefail
GNR=$(readlink -f "$1")
BIN=$(dirname "$GNR")
SCALE="${GNR_INTEGRATION_SCALE:-1}"
if [ ! -w /dev/fuse ] || ! command -v fusermount3 >/dev/null || ! command -v tmux >/dev/null; then
  echo "SKIP: needs /dev/fuse, fusermount3 and tmux"
  exit 0
fi
tmp=$(mktemp -d /tmp/gnr-tmux-test-XXXXXX)
MNT="$tmp/mnt"
STATE="$tmp/state"
SOCK="gnr-tmux-test-$$"
export XDG_RUNTIME_DIR="$tmp/run" XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data"
mkdir -p "$MNT" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
cleanup() {
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  if grep -q " $MNT " /proc/mounts; then
    "$GNR" umount --force "$MNT" >/dev/null 2>&1 || fusermount3 -u -z "$MNT" 2>/dev/null || true
  fi
  if [ -n "${DAEMON_PID:-}" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then kill "$DAEMON_PID" || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [ -f "$tmp/pane.txt" ] && { echo "--- last pane" >&2; cat "$tmp/pane.txt" >&2; }
  [ -f "$tmp/frames.txt" ] && { echo "--- progress lines seen" >&2; tail -n 20 "$tmp/frames.txt" >&2; }
  [ -f "$STATE/mount.log" ] && { echo "--- mount.log" >&2; tail -n 30 "$STATE/mount.log" >&2; }
  exit 1
}

"$GNR" mount "$MNT" --state "$STATE" --in-memory-network 6 >"$tmp/mount.out" 2>&1 \
  || fail "mount: $(cat "$tmp/mount.out")"
DAEMON_PID=$(sed -n 's/.*daemon pid \([0-9]*\).*/\1/p' "$tmp/mount.out")

SIZE_MB=$(python3 -c "print(max(8, int(200 * $SCALE)))")
head -c "$((SIZE_MB * 1048576))" /dev/urandom >"$tmp/big.bin"

# Without a terminal: no progress output at all (no carriage returns).
"$GNR" put "$tmp/big.bin" /quiet.bin --state "$STATE" >"$tmp/notty.out" 2>&1 \
  || fail "put without a tty: $(cat "$tmp/notty.out")"
if grep -q $'\r' "$tmp/notty.out"; then fail "progress drawn although stdout is not a TTY"; fi

# In a terminal: the bar is redrawn in place while the put runs.
tmux -L "$SOCK" new-session -d -s put -x 120 -y 12 \
  "XDG_RUNTIME_DIR='$XDG_RUNTIME_DIR' XDG_CONFIG_HOME='$XDG_CONFIG_HOME' '$BIN/gnr-put' '$tmp/big.bin' /big.bin --state '$STATE'; echo \"PUT-EXIT \$?\"; sleep 600"
: >"$tmp/frames.txt"
deadline=$((SECONDS + 150))
while [ $SECONDS -lt $deadline ]; do
  tmux -L "$SOCK" capture-pane -p -t put >"$tmp/pane.txt" 2>/dev/null || fail "tmux capture-pane"
  grep -E '[0-9]+%' "$tmp/pane.txt" >>"$tmp/frames.txt" || true
  grep -q "PUT-EXIT" "$tmp/pane.txt" && break
  sleep 0.2
done
grep -q "PUT-EXIT 0" "$tmp/pane.txt" || fail "gnr-put did not finish with exit 0 in time"
grep -q "committed in" "$tmp/pane.txt" || fail "no final summary line"
# A progress line: "<phase> NN% [====>   ] X MiB / Y MiB  R MiB/s  ETA m:ss".
grep -Eq '^(copy|upload) +[0-9]+% \[[=> ]+\] .* / .*[0-9.]+ (B|KiB|MiB|GiB)/s +ETA [0-9:-]+' \
  "$tmp/frames.txt" || fail "no progress line with a percentage and a rate was shown"
grep -Eq '^upload +[0-9]+%' "$tmp/frames.txt" || fail "the upload phase showed no progress"
# Redrawn in place: the pane never holds more than one progress line at a time.
[ "$(grep -cE '^(copy|upload) +[0-9]+%' "$tmp/pane.txt")" -le 1 ] || fail "progress not redrawn in place"
tmux -L "$SOCK" kill-server 2>/dev/null || true

"$GNR" umount "$MNT" >/dev/null 2>&1 || fail "umount"
for _ in $(seq 1 100); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$DAEMON_PID" 2>/dev/null && fail "the mount daemon did not exit"
echo "PASS ($(sort -u "$tmp/frames.txt" | wc -l) distinct progress frames captured)"
