#!/bin/bash
# Integration test of the shell tools (gnr ls / put / get / rm) as a script uses them, on a
# TEST MODE drive: `gnr mount --in-memory-network 6` in a temporary directory.
#   shell_cli_test.sh <gnr binary>
# Checks: every tool has --help and its gnr-<name> alias; put (--json parsed with jq, -p,
# into a directory) returns once committed; ls --json shows size, version, 4+2, segments
# and 6/6 healthy shards; get of the whole file, of a range (compared with dd) and to
# stdout; get resumes a truncated DST (sha256 equal) and refuses a DST that is not a
# partial copy (65) unless --overwrite; an interrupted put leaves DST unchanged (143);
# rm (-r for directories); errors exit with the documented codes and say what to do;
# without a mount, put explains that a TEST MODE drive needs its mount (69) and that
# another drive needs a network (78); the mount is gone and its daemon exited at the end.
set -euo pipefail
GNR=$(readlink -f "$1")
BIN=$(dirname "$GNR")
SCALE="${GNR_INTEGRATION_SCALE:-1}"
if [ ! -w /dev/fuse ] || ! command -v fusermount3 >/dev/null || ! command -v jq >/dev/null; then
  echo "SKIP: needs /dev/fuse, fusermount3 and jq"
  exit 0
fi
tmp=$(mktemp -d /tmp/gnr-shell-test-XXXXXX)
MNT="$tmp/mnt"
STATE="$tmp/state"
export XDG_RUNTIME_DIR="$tmp/run" XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data"
mkdir -p "$MNT" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
cleanup() {
  if grep -q " $MNT " /proc/mounts; then
    "$GNR" umount --force "$MNT" >/dev/null 2>&1 || fusermount3 -u -z "$MNT" 2>/dev/null || true
  fi
  if [ -n "${DAEMON_PID:-}" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then kill "$DAEMON_PID" || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$tmp"/*.err; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done
  [ -f "$STATE/mount.log" ] && { echo "--- mount.log" >&2; tail -n 30 "$STATE/mount.log" >&2; }
  exit 1
}
# expect_exit CODE NAME CMD...: runs CMD with stdout in $tmp/NAME.out, stderr in $tmp/NAME.err.
expect_exit() {
  local want=$1 name=$2
  shift 2
  local got=0
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || got=$?
  [ "$got" -eq "$want" ] || fail "$name: exit $got, want $want: $(head -c 600 "$tmp/$name.err")"
}
# expect_err NAME TEXT: the command's stderr says TEXT.
expect_err() { grep -qF -- "$2" "$tmp/$1.err" || fail "$1: stderr lacks '$2': $(cat "$tmp/$1.err")"; }

# --- help and aliases (no drive needed) ---
for c in ls put get rm; do
  expect_exit 0 "help-$c" "$GNR" "$c" --help
  grep -q "^Usage: gnr $c" "$tmp/help-$c.out" || fail "gnr $c --help has no usage line"
  grep -q "Exit status:" "$tmp/help-$c.out" || fail "gnr $c --help does not document exit codes"
  grep -q -- "--mount DIR" "$tmp/help-$c.out" || fail "gnr $c --help does not explain the mount"
  [ -L "$BIN/gnr-$c" ] || fail "alias gnr-$c missing next to $GNR"
  expect_exit 0 "alias-$c" "$BIN/gnr-$c" --help
  cmp -s "$tmp/help-$c.out" "$tmp/alias-$c.out" || fail "gnr-$c --help differs from gnr $c --help"
done
expect_exit 64 usage-put "$GNR" put only-one-arg
expect_exit 64 usage-flag "$GNR" get --bogus /a b
expect_err usage-flag "unknown argument '--bogus'"

# --- the TEST MODE drive ---
expect_exit 0 mount "$GNR" mount "$MNT" --state "$STATE" --in-memory-network 6
DAEMON_PID=$(sed -n 's/.*daemon pid \([0-9]*\).*/\1/p' "$tmp/mount.out")
[ -n "$DAEMON_PID" ] || fail "no daemon pid in: $(cat "$tmp/mount.out")"

SIZE_MB=$(python3 -c "print(max(1, int(12 * $SCALE)))")
head -c "$((SIZE_MB * 1048576 + 12345))" /dev/urandom >"$tmp/src.bin"
SRC_SHA=$(sha256sum "$tmp/src.bin" | cut -d' ' -f1)
SRC_SIZE=$(stat -c %s "$tmp/src.bin")
echo "small" >"$tmp/small.txt"

# put: --json, -p for the missing parent, and into an existing directory.
expect_exit 66 put-noparent "$GNR" put "$tmp/src.bin" /docs/src.bin --mount "$MNT"
expect_err put-noparent "pass -p"
expect_exit 0 put "$GNR" put -p "$tmp/src.bin" /docs/src.bin --mount "$MNT" --json
[ "$(jq -r .ok "$tmp/put.out")" = true ] || fail "put --json: $(cat "$tmp/put.out")"
[ "$(jq -r .bytes "$tmp/put.out")" = "$SRC_SIZE" ] || fail "put --json bytes: $(cat "$tmp/put.out")"
[ "$(jq -r .via "$tmp/put.out")" = mount ] || fail "put did not go through the mount"
expect_exit 0 put-dir "$GNR" put "$tmp/small.txt" /docs --state "$STATE" --quiet
[ ! -s "$tmp/put-dir.out" ] || fail "put --quiet printed: $(cat "$tmp/put-dir.out")"
cmp -s "$tmp/small.txt" "$MNT/docs/small.txt" || fail "put into a directory: content differs"

# Replacing a file is atomic: an interrupted put leaves the old content and no temporary file.
mkfifo "$tmp/fifo"
(head -c 3000000 /dev/urandom; exec sleep 60) >"$tmp/fifo" &
FEEDER=$!
"$GNR" put "$tmp/fifo" /docs/small.txt --state "$STATE" >"$tmp/put-int.out" 2>"$tmp/put-int.err" &
PUTPID=$!
for _ in $(seq 1 100); do
  [ "$(find "$MNT/docs" -name '.small.txt.gnr-put-*' -size +1M | wc -l)" -ge 1 ] && break
  sleep 0.1
done
kill -TERM "$PUTPID"
rc=0
wait "$PUTPID" || rc=$?
kill "$FEEDER" 2>/dev/null || true
wait "$FEEDER" 2>/dev/null || true
[ "$rc" -eq 143 ] || fail "interrupted put exited $rc, want 143: $(cat "$tmp/put-int.err")"
expect_err put-int "is unchanged"
cmp -s "$tmp/small.txt" "$MNT/docs/small.txt" || fail "an interrupted put changed the file"
[ -z "$(find "$MNT/docs" -name '*.gnr-put-*')" ] || fail "an interrupted put left its temp file"
echo "replaced" >"$tmp/small2.txt"
expect_exit 0 put-replace "$GNR" put "$tmp/small2.txt" /docs/small.txt --state "$STATE"
cmp -s "$tmp/small2.txt" "$MNT/docs/small.txt" || fail "put did not replace the file"
cp "$tmp/small2.txt" "$tmp/small.txt"

# ls --json: the file's version, redundancy and shards (committed: put returned).
expect_exit 0 ls-json "$GNR" ls --json /docs --state "$STATE"
q() { jq -r "$1" "$tmp/ls-json.out"; }
[ "$(q '.entries | length')" = 2 ] || fail "ls /docs: $(cat "$tmp/ls-json.out")"
[ "$(q '.entries[] | select(.name=="src.bin") | .size')" = "$SRC_SIZE" ] || fail "ls size"
[ "$(q '.entries[] | select(.name=="src.bin") | .redundancy')" = "4+2" ] || fail "ls k+m"
[ "$(q '.entries[] | select(.name=="src.bin") | .healthy_shards')" = 6 ] || fail "ls healthy"
[ "$(q '.entries[] | select(.name=="src.bin") | .version')" != null ] || fail "ls version"
[ "$(q '.entries[] | select(.name=="src.bin") | .segments')" -ge 1 ] || fail "ls segments"
[ "$(q '.entries[] | select(.name=="small.txt") | .kind')" = inline ] || fail "ls inline"
[ "$(q '.mountpoint')" = "$MNT" ] || fail "ls did not find the mount"
expect_exit 0 ls-long "$GNR" ls -l /docs/src.bin --mount "$MNT"
grep -q "4+2.*6/6.*src.bin" "$tmp/ls-long.out" || fail "ls -l: $(cat "$tmp/ls-long.out")"
expect_exit 0 ls-root "$GNR" ls --state "$STATE"
grep -qx "docs/" "$tmp/ls-root.out" || fail "ls /: $(cat "$tmp/ls-root.out")"

# get: whole file, a range (compared with dd), to stdout.
expect_exit 0 get "$GNR" get /docs/src.bin "$tmp/out.bin" --state "$STATE" --json
[ "$(jq -r .sha256 "$tmp/get.out")" = "$SRC_SHA" ] || fail "get --json sha256"
[ "$(sha256sum <"$tmp/out.bin" | cut -d' ' -f1)" = "$SRC_SHA" ] || fail "get: content differs"
OFF=$((SRC_SIZE / 3 + 7))
LEN=$((1048576 + 4321))
expect_exit 0 get-range "$GNR" get /docs/src.bin "$tmp/range.bin" --offset "$OFF" --length "$LEN" \
  --state "$STATE"
dd if="$tmp/src.bin" of="$tmp/range.ref" bs=1M iflag=skip_bytes,count_bytes skip="$OFF" \
  count="$LEN" status=none
cmp -s "$tmp/range.bin" "$tmp/range.ref" || fail "get --offset/--length differs from dd"
expect_exit 0 get-suffix "$GNR" get /docs/src.bin "$tmp/k.bin" --offset 1K --length 2K --state "$STATE"
dd if="$tmp/src.bin" of="$tmp/k.ref" bs=1024 skip=1 count=2 status=none
cmp -s "$tmp/k.bin" "$tmp/k.ref" || fail "get --offset 1K --length 2K differs"
# Standard output as a file and as a pipe (more than one chunk: sequential writes).
"$GNR" get /docs/src.bin - --offset 100 --length 2500000 --state "$STATE" >"$tmp/stdout.bin" \
  || fail "get to stdout failed"
dd if="$tmp/src.bin" of="$tmp/stdout.ref" bs=1M iflag=skip_bytes,count_bytes skip=100 \
  count=2500000 status=none
cmp -s "$tmp/stdout.bin" "$tmp/stdout.ref" || fail "get to stdout (a file) differs"
[ "$("$GNR" get /docs/src.bin - --state "$STATE" | sha256sum | cut -d' ' -f1)" = "$SRC_SHA" ] \
  || fail "get to stdout (a pipe) differs"

# get resumes a partial DST.
truncate -s $((SRC_SIZE / 2 + 3)) "$tmp/out.bin"
expect_exit 0 get-resume "$GNR" get /docs/src.bin "$tmp/out.bin" --state "$STATE" --json
[ "$(jq -r .resumed_from "$tmp/get-resume.out")" = $((SRC_SIZE / 2 + 3)) ] \
  || fail "get did not resume: $(cat "$tmp/get-resume.out")"
[ "$(sha256sum <"$tmp/out.bin" | cut -d' ' -f1)" = "$SRC_SHA" ] || fail "resumed get differs"
head -c 5000 /dev/zero >"$tmp/other.bin"
expect_exit 65 get-mismatch "$GNR" get /docs/src.bin "$tmp/other.bin" --state "$STATE"
expect_err get-mismatch "not a partial copy"
expect_exit 0 get-overwrite "$GNR" get /docs/src.bin "$tmp/other.bin" --overwrite --state "$STATE"
cmp -s "$tmp/other.bin" "$tmp/src.bin" || fail "get --overwrite differs"

# Errors: what happened, what to do, the documented exit code.
expect_exit 66 get-missing "$GNR" get /docs/nope.bin "$tmp/x" --state "$STATE"
expect_err get-missing "no such file"
expect_exit 66 get-missing-json "$GNR" get /docs/nope.bin "$tmp/x" --state "$STATE" --json
[ "$(jq -r .exit_code "$tmp/get-missing-json.out")" = 66 ] || fail "error --json"
expect_exit 66 put-missing-src "$GNR" put "$tmp/nope" /x --state "$STATE"
expect_exit 64 get-offset "$GNR" get /docs/src.bin "$tmp/x" --offset $((SRC_SIZE + 1)) --state "$STATE"
expect_err get-offset "past the end"
expect_exit 64 get-badlen "$GNR" get /docs/src.bin "$tmp/x" --length 1.5M --state "$STATE"
expect_exit 66 ls-missing "$GNR" ls /nope --state "$STATE"
expect_exit 66 ls-nomount "$GNR" ls --mount "$tmp" 
expect_err ls-nomount "is not a running gnr mount"
expect_exit 66 ls-nostate "$GNR" ls --state "$tmp/no-such-state"

# rm: a directory needs -r.
expect_exit 1 rm-dir "$GNR" rm /docs --state "$STATE"
expect_err rm-dir "pass -r"
expect_exit 0 rm-file "$GNR" rm /docs/small.txt --state "$STATE"
[ ! -e "$MNT/docs/small.txt" ] || fail "rm left the file"
expect_exit 66 rm-missing "$GNR" rm /docs/small.txt --state "$STATE"
expect_exit 0 rm-force "$GNR" rm -f /docs/small.txt --state "$STATE"
expect_exit 0 rm-r "$GNR" rm -r /docs --state "$STATE" --json
[ "$(jq -r .removed "$tmp/rm-r.out")" = 2 ] || fail "rm -r: $(cat "$tmp/rm-r.out")"
expect_exit 0 ls-empty "$GNR" ls --json --state "$STATE"
[ "$(jq -r '.entries | length' "$tmp/ls-empty.out")" = 0 ] || fail "drive not empty after rm -r"

# Unmounted: ls still reads the catalog; put cannot reach TEST MODE farmers without their
# mount, and on another drive needs a network and says so.
expect_exit 0 umount "$GNR" umount "$MNT"
for _ in $(seq 1 100); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$DAEMON_PID" 2>/dev/null && fail "the mount daemon did not exit"
grep -q " $MNT " /proc/mounts && fail "still mounted"
expect_exit 0 ls-unmounted "$GNR" ls --json --state "$STATE"
[ "$(jq -r '.mountpoint // "none"' "$tmp/ls-unmounted.out")" = none ] || fail "ls saw a mount"
expect_exit 69 put-testmode "$GNR" put "$tmp/small.txt" /a --state "$STATE"
expect_err put-testmode "TEST MODE drive"
expect_exit 78 put-nonet "$GNR" put "$tmp/small.txt" /a --state "$tmp/other-state"
expect_err put-nonet "no network is configured"
echo "PASS"
