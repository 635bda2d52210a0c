#!/bin/bash
# The shell tools on a real local network: `gnr devnet up` (anvil, contract, 6 farmers, the
# mount) in a temporary directory, then gnr ls / put / get / rm with --devnet=STATE:
#   1. through the devnet's mount (via "mount");
#   2. after `gnr umount`, opening the drive in the tool itself (via "volume"): put returns
#      committed, get reads back what the mount had written, a range matches dd, rm works;
#      and after `gnr audit --once`, ls shows each file's last audit;
#   3. `gnr devnet down` leaves no mount behind.
#   shell_devnet_test.sh <gnr binary>
set -euo pipefail
GNR=$(readlink -f "$1")
SCALE="${GNR_INTEGRATION_SCALE:-1}"
if [ ! -w /dev/fuse ] || ! command -v fusermount3 >/dev/null || ! command -v jq >/dev/null; then
  echo "SKIP: needs /dev/fuse, fusermount3 and jq"
  exit 0
fi
tmp=$(mktemp -d /tmp/gnr-shell-devnet-test-XXXXXX)
STATE="$tmp/state"
MNT="$tmp/mnt"
export XDG_RUNTIME_DIR="$tmp/run" XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data"
mkdir -p "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
cleanup() {
  "$GNR" devnet down --dir "$STATE" >/dev/null 2>&1 || true
  if grep -q " $MNT " /proc/mounts; then fusermount3 -u -z "$MNT" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$tmp"/*.err; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done
  exit 1
}
expect_exit() {
  local want=$1 name=$2
  shift 2
  local got=0
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || got=$?
  [ "$got" -eq "$want" ] || fail "$name: exit $got, want $want: $(head -c 600 "$tmp/$name.err")"
}
sha() { sha256sum <"$1" | cut -d' ' -f1; }

got=0
"$GNR" devnet up --farmers 6 --dir "$STATE" --mount "$MNT" >"$tmp/up.out" 2>"$tmp/up.err" || got=$?
if [ "$got" -ne 0 ]; then
  if grep -qi "anvil" "$tmp/up.err" && grep -qi "not found\|npm" "$tmp/up.err"; then
    echo "SKIP: no anvil (run scripts/setup): $(head -c 300 "$tmp/up.err")"
    exit 0
  fi
  fail "devnet up exited $got"
fi
grep -q " $MNT " /proc/mounts || fail "devnet up did not mount $MNT"

SIZE=$(python3 -c "print(max(1 << 20, int(6 * 1048576 * $SCALE)) + 777)")
head -c "$SIZE" /dev/urandom >"$tmp/a.bin"
head -c "$SIZE" /dev/urandom >"$tmp/b.bin"

# 1. Through the mount.
expect_exit 0 put-a "$GNR" put -p "$tmp/a.bin" /t/a.bin --devnet="$STATE" --json
[ "$(jq -r .via "$tmp/put-a.out")" = mount ] || fail "put did not use the devnet's mount"
cmp -s "$tmp/a.bin" "$MNT/t/a.bin" || fail "the mount does not show what put wrote"
expect_exit 0 ls-a "$GNR" ls --json /t --devnet "$STATE"
[ "$(jq -r '.entries[0].redundancy' "$tmp/ls-a.out")" = "4+2" ] || fail "ls: $(cat "$tmp/ls-a.out")"
[ "$(jq -r '.entries[0].healthy_shards' "$tmp/ls-a.out")" -ge 5 ] || fail "ls healthy shards"
expect_exit 0 get-a "$GNR" get /t/a.bin "$tmp/a.out" --devnet "$STATE" --json
[ "$(jq -r .sha256 "$tmp/get-a.out")" = "$(sha "$tmp/a.bin")" ] || fail "get through the mount"

# 2. Without the mount: the tool opens the drive on the network itself.
expect_exit 0 umount "$GNR" umount "$MNT"
expect_exit 0 get-vol "$GNR" get /t/a.bin "$tmp/a2.out" --devnet "$STATE" --json
[ "$(jq -r .via "$tmp/get-vol.out")" = volume ] || fail "get did not open the volume"
[ "$(sha "$tmp/a2.out")" = "$(sha "$tmp/a.bin")" ] || fail "get via the volume differs"
expect_exit 0 put-vol "$GNR" put "$tmp/b.bin" /t/b.bin --devnet "$STATE" --json
[ "$(jq -r .via "$tmp/put-vol.out")" = volume ] || fail "put did not open the volume"
OFF=$((SIZE / 2 - 5))
expect_exit 0 get-range "$GNR" get /t/b.bin "$tmp/b.range" --offset "$OFF" --length 100K \
  --devnet "$STATE"
cmp -s "$tmp/b.range" <(dd if="$tmp/b.bin" bs=1M iflag=skip_bytes,count_bytes skip="$OFF" \
  count=102400 status=none) || fail "range via the volume differs from dd"
truncate -s 12345 "$tmp/a2.out"
expect_exit 0 get-resume "$GNR" get /t/a.bin "$tmp/a2.out" --devnet "$STATE" --json
[ "$(jq -r .resumed_from "$tmp/get-resume.out")" = 12345 ] || fail "no resume via the volume"
[ "$(sha "$tmp/a2.out")" = "$(sha "$tmp/a.bin")" ] || fail "resumed get differs"
# ls shows the last audit once the auditor has checked the shards (`gnr audit --once`).
J="$STATE/devnet.json"
audit_args=(--state "$(jq -r .mount.state_dir "$J")" --rpc "$(jq -r .chain.rpc_url "$J")"
  --contract "$(jq -r .contract "$J")" --bucket "$(jq -r .bucket.id "$J")"
  --keystore "$(jq -r .wallet.keystore "$J")" --password-file "$(jq -r .wallet.password_file "$J")")
for seed in $(jq -r '.farmers[] | .endpoint + "#" + .curve_public_key' "$J"); do
  audit_args+=(--bootstrap "$seed")
done
expect_exit 0 audit "$GNR" audit --once --json "${audit_args[@]}"
expect_exit 0 ls-audit "$GNR" ls --json /t/a.bin --devnet "$STATE"
[ "$(jq -r '.entries[0].last_audit.result' "$tmp/ls-audit.out")" = pass ] \
  || fail "ls shows no passed audit: $(cat "$tmp/ls-audit.out")"
expect_exit 0 ls-audit-l "$GNR" ls -l /t --devnet "$STATE"
grep -q "pass 20" "$tmp/ls-audit-l.out" || fail "ls -l shows no audit: $(cat "$tmp/ls-audit-l.out")"
expect_exit 0 rm-vol "$GNR" rm -r /t --devnet "$STATE" --json
[ "$(jq -r .removed "$tmp/rm-vol.out")" = 3 ] || fail "rm -r via the volume: $(cat "$tmp/rm-vol.out")"
expect_exit 66 get-gone "$GNR" get /t/a.bin "$tmp/x" --devnet "$STATE"

# 3. Down: nothing mounted is left.
expect_exit 0 down "$GNR" devnet down --dir "$STATE"
grep -q " $MNT " /proc/mounts && fail "still mounted after devnet down"
echo "PASS"
