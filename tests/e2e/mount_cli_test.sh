#!/bin/bash
# `gnr mount` / `gnr umount` / `gnr status` as a user runs them, through a real FUSE mount,
# on the TEST MODE in-memory network. Every command runs under `timeout`; whatever happens,
# the trap force-unmounts and stops the daemons this script started.
#   usage: mount_cli_test.sh <path to gnr>
set -euo pipefail
GNR="$1"
tmp=$(mktemp -d /tmp/gnr-e2e-cli-XXXXXX)
mnt="$tmp/mnt"
mkdir -p "$mnt" "$tmp/run"
chmod 700 "$tmp/run"
export XDG_RUNTIME_DIR="$tmp/run"  # a private registry of mounts for this test
pids=()

cleanup() {
  set +e
  if grep -q " $mnt " /proc/self/mountinfo; then
    umount -l "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null
  fi
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$tmp"/state*/mount.log; do [ -f "$f" ] && tail -20 "$f" >&2; done; exit 1; }
is_mounted() { awk -v m="$mnt" '$5==m {for(i=6;i<=NF;i++) if ($i=="-") {print $(i+1); exit}}' /proc/self/mountinfo | grep -q '^fuse.gnrfs$'; }
wait_until() {  # wait_until <seconds> <command...>
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.1; done
}
# A process that is gone, or a zombie (exited, not yet reaped by its parent), has exited.
exited() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
daemon_pid() { sed -n 's/.*daemon pid \([0-9]*\).*/\1/p' "$1"; }
passed=0
ok() { passed=$((passed + 1)); }

[ -e /dev/fuse ] || fail "/dev/fuse is missing: these tests need FUSE (--device /dev/fuse)"

# 1. Without a network, say what is missing (exit 78, EX_CONFIG).
set +e
timeout 20 "$GNR" mount "$mnt" 2>"$tmp/err"; rc=$?
set -e
[ "$rc" = 78 ] || fail "mount without network: exit $rc"
grep -q "no shard network configured" "$tmp/err" || fail "mount without network: message: $(cat "$tmp/err")"
"$GNR" mount --help | grep -q "TEST MODE" || fail "mount --help does not label the test mode"
ok

# 2. Background mount in test mode; it shows as fuse.gnrfs; files round-trip.
timeout 30 "$GNR" mount "$mnt" --state "$tmp/state1" --in-memory-network 6 \
  --test-farmer-delay-ms 1500 >"$tmp/out" || fail "mount: $(cat "$tmp/out")"
pid=$(daemon_pid "$tmp/out"); pids+=("$pid")
grep -q "mounted $mnt" "$tmp/out" || fail "mount output: $(cat "$tmp/out")"
is_mounted || fail "$mnt is not a fuse.gnrfs mount"
mount | grep -q "^gnrfs on $mnt type fuse.gnrfs" || fail "mount(8) does not show gnrfs on $mnt"
head -c 3000000 /dev/urandom >"$tmp/data"
cp "$tmp/data" "$mnt/file"
cmp -s "$tmp/data" "$mnt/file" || fail "file read back differs"
ok

# 3. A second mount on the same directory is refused clearly.
set +e
timeout 20 "$GNR" mount "$mnt" --in-memory-network 6 2>"$tmp/err"; rc=$?
set -e
[ "$rc" != 0 ] || fail "second mount succeeded"
grep -qi "already" "$tmp/err" || fail "second mount message: $(cat "$tmp/err")"
ok

# 4. gnr status lists the mount and the pending upload.
timeout 20 "$GNR" status --json >"$tmp/status.json" || fail "status --json"
grep -q "\"mountpoint\": \"$mnt\"" "$tmp/status.json" || fail "status: $(cat "$tmp/status.json")"
grep -q '"pending_uploads"' "$tmp/status.json" || fail "status has no pending_uploads"
timeout 20 "$GNR" status | grep -q "uploads:" || fail "human status"
ok

# 5. umount refuses while uploads are pending and lists them (exit 75).
set +e
timeout 30 "$GNR" umount "$mnt" --timeout 0 2>"$tmp/err"; rc=$?
set -e
[ "$rc" = 75 ] || fail "umount with pending uploads: exit $rc: $(cat "$tmp/err")"
grep -q "/file" "$tmp/err" || fail "umount did not say what is pending: $(cat "$tmp/err")"
is_mounted || fail "umount refused but unmounted anyway"
ok

# 6. A busy mount (an open file) is refused too, after the uploads finish.
exec 3<"$mnt/file"
set +e
timeout 120 "$GNR" umount "$mnt" 2>"$tmp/err"; rc=$?
set -e
exec 3<&-
[ "$rc" = 75 ] || fail "busy umount: exit $rc: $(cat "$tmp/err")"
grep -q "busy" "$tmp/err" || fail "busy umount message: $(cat "$tmp/err")"
ok

# 7. A clean umount waits for the uploads, unmounts, and the daemon exits.
timeout 120 "$GNR" umount "$mnt" >"$tmp/out" 2>"$tmp/err" || fail "umount: $(cat "$tmp/err")"
is_mounted && fail "still mounted after umount"
exited "$pid" || fail "daemon $pid still running after umount"
timeout 20 "$GNR" status | grep -q "no gnrfs drive is mounted" || fail "status after umount"
ok

# 8. --force unmounts with uploads pending and says what stays staged.
timeout 30 "$GNR" mount "$mnt" --state "$tmp/state2" --in-memory-network 6 \
  --test-farmer-delay-ms 2000 >"$tmp/out" || fail "mount 2"
pid=$(daemon_pid "$tmp/out"); pids+=("$pid")
head -c 100000 /dev/urandom >"$mnt/pending"
timeout 60 "$GNR" umount "$mnt" --force --timeout 0 >"$tmp/out" 2>"$tmp/err" ||
  fail "umount --force: $(cat "$tmp/err")"
grep -q "/pending" "$tmp/err" || fail "umount --force did not list the pending file"
is_mounted && fail "still mounted after umount --force"
wait_until 30 exited "$pid" || fail "daemon did not exit after --force"
ok

# 9. Foreground: SIGTERM unmounts cleanly.
"$GNR" mount "$mnt" --foreground --in-memory-network 6 --state "$tmp/state3" \
  2>"$tmp/fg.log" &
pid=$!; pids+=("$pid")
wait_until 20 is_mounted || fail "foreground mount did not appear: $(cat "$tmp/fg.log")"
echo hello >"$mnt/x"
[ "$(cat "$mnt/x")" = hello ] || fail "foreground read back"
kill -TERM "$pid"
set +e
timeout 60 tail --pid="$pid" -f /dev/null; wait "$pid"; rc=$?
set -e
[ "$rc" = 0 ] || fail "foreground daemon exit $rc: $(tail -5 "$tmp/fg.log")"
is_mounted && fail "still mounted after SIGTERM"
ok

# 10. umount of something that is not a gnrfs mount (exit 66).
set +e
timeout 20 "$GNR" umount "$tmp" 2>"$tmp/err"; rc=$?
set -e
[ "$rc" = 66 ] || fail "umount of a plain dir: exit $rc"
grep -q "not a gnrfs mount" "$tmp/err" || fail "umount of a plain dir message"
ok

echo "$passed passed, 0 failed"
