#!/bin/bash
# `gnr config` as a user sees it: each source wins in turn (flag > env > file > default),
# unknown keys warn with FILE:LINE, bad values stop every command with exit 78, and the
# commands that read the configuration (farmer, wallet, market) take their defaults from it.
set -euo pipefail
GNR="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# A clean environment: no user config, no GNR_* variables.
for v in $(env | grep -o '^GNR_[A-Z_]*' || true); do unset "$v"; done
export HOME="$tmp/home" XDG_CONFIG_HOME="" XDG_DATA_HOME=""
mkdir -p "$HOME/.config/gnr"

[ "$("$GNR" config path)" = "$HOME/.config/gnr/config.toml" ] || fail "config path"
show() { "$GNR" config show --json "$@" 2>"$tmp/err"; }
show | grep -q '"chain.rpc":{"value":"http://127.0.0.1:8545","source":"default"' ||
  fail "default rpc"

cat >"$HOME/.config/gnr/config.toml" <<'TOML'
# test file
[chain]
rpc = "http://file:1"
rcp = "typo"
[farmer]
capacity = "2G"
TOML
out=$(show)
grep -q "\"chain.rpc\":{\"value\":\"http://file:1\",\"source\":\"config $HOME/.config/gnr/config.toml:3\"" \
  <<<"$out" || fail "file value: $out"
grep -q "config.toml:4: unknown key 'chain.rcp'" "$tmp/err" || fail "unknown key warning"
out=$(GNR_RPC=http://env:2 show)
grep -q '"chain.rpc":{"value":"http://env:2","source":"env GNR_RPC"' <<<"$out" || fail "env"
out=$(GNR_RPC=http://env:2 show --rpc http://flag:3)
grep -q '"chain.rpc":{"value":"http://flag:3","source":"flag"' <<<"$out" || fail "flag"
"$GNR" config show 2>/dev/null | grep -Eq '^farmer.capacity +2G +config ' || fail "human output"

# Bad values: exit 78 everywhere, naming the key and line.
printf '[drive]\ndata_shards = "four"\n' >"$tmp/bad.toml"
set +e
"$GNR" config show --config "$tmp/bad.toml" 2>"$tmp/err"; rc=$?
[ "$rc" = 78 ] || fail "bad file: exit $rc"
grep -q "bad.toml:2: drive.data_shards must be an integer" "$tmp/err" || fail "bad message"
for cmd in "wallet show" "market status" "farmer status"; do
  GNR_CONFIG="$tmp/bad.toml" $GNR $cmd >/dev/null 2>&1; rc=$?
  [ "$rc" = 78 ] || fail "$cmd with a bad config: exit $rc"
done
"$GNR" config show --config "$tmp/missing.toml" 2>/dev/null; rc=$?
[ "$rc" = 78 ] || fail "missing --config file: exit $rc"
GNR_DATA_SHARDS=x "$GNR" config show 2>"$tmp/err" >/dev/null; rc=$?
[ "$rc" = 78 ] && grep -q GNR_DATA_SHARDS "$tmp/err" || fail "bad env value: exit $rc"
# The farmer takes its data dir from the file: status looks there.
printf '[farmer]\ndata = "%s/farm"\n' "$tmp" >"$tmp/farmer.toml"
"$GNR" farmer status --config "$tmp/farmer.toml" 2>"$tmp/err"; rc=$?
[ "$rc" = 66 ] && grep -q "no farmer data in $tmp/farm" "$tmp/err" || fail "farmer data from config"
# The wallet takes its keystore from the environment.
GNR_KEYSTORE="$tmp/w.json" "$GNR" wallet show 2>"$tmp/err"; rc=$?
[ "$rc" = 66 ] && grep -q "no wallet at $tmp/w.json" "$tmp/err" || fail "wallet keystore from env"
# The mount takes its network from the file: a malformed bucket there is named (exit 64)
# before anything is mounted, and a bad config stops it with 78 like every command.
printf '[chain]\ncontract = "0x5FbDB2315678afecb367f032d93F642f64180aa3"\n[drive]\nbucket = "zz"\nbootstrap = ["tcp://127.0.0.1:9#00"]\n' >"$tmp/drive.toml"
mkdir -p "$tmp/mnt"
"$GNR" mount "$tmp/mnt" --config "$tmp/drive.toml" 2>"$tmp/err"; rc=$?
[ "$rc" = 64 ] && grep -q "bucket id is 64 hex digits" "$tmp/err" ||
  fail "mount did not take its bucket from the config file: exit $rc: $(cat "$tmp/err")"
"$GNR" mount "$tmp/mnt" --config "$tmp/bad.toml" 2>/dev/null; rc=$?
[ "$rc" = 78 ] || fail "mount with a bad config: exit $rc"
# upload_while_writing is a boolean wherever it is given.
"$GNR" mount "$tmp/mnt" --upload-while-writing maybe 2>"$tmp/err"; rc=$?
[ "$rc" = 64 ] && grep -q "upload-while-writing takes true or false" "$tmp/err" ||
  fail "bad --upload-while-writing: exit $rc: $(cat "$tmp/err")"
printf '[drive]\nupload_while_writing = "no"\n' >"$tmp/upload.toml"
"$GNR" mount "$tmp/mnt" --config "$tmp/upload.toml" 2>"$tmp/err"; rc=$?
[ "$rc" = 78 ] && grep -q "drive.upload_while_writing" "$tmp/err" ||
  fail "string upload_while_writing in the config: exit $rc: $(cat "$tmp/err")"
# `gnr audit` takes the drive's settings from the file too (flag > env > file): the state dir
# for every form, and for --once the chain, contract, wallet, bucket and seeds, each in turn
# the first thing missing. A bad config stops it with 78.
"$GNR" audit --config "$tmp/bad.toml" 2>/dev/null; rc=$?
[ "$rc" = 78 ] || fail "audit with a bad config: exit $rc"
printf '[drive]\nstate = "%s/audit-state"\n' "$tmp" >"$tmp/audit.toml"
"$GNR" audit --config "$tmp/audit.toml" 2>"$tmp/err"; rc=$?
[ "$rc" = 66 ] && grep -q "no drive catalog in $tmp/audit-state " "$tmp/err" ||
  fail "audit did not take its state dir from the config file: exit $rc: $(cat "$tmp/err")"
GNR_STATE="$tmp/env-state" "$GNR" audit --config "$tmp/audit.toml" 2>"$tmp/err"; rc=$?
[ "$rc" = 66 ] && grep -q "no drive catalog in $tmp/env-state " "$tmp/err" || fail "audit: env state"
GNR_STATE="$tmp/env-state" "$GNR" audit --config "$tmp/audit.toml" --state "$tmp/flag-state" \
  2>"$tmp/err"; rc=$?
[ "$rc" = 66 ] && grep -q "no drive catalog in $tmp/flag-state " "$tmp/err" || fail "audit: flag state"
"$GNR" audit --once --config "$tmp/drive.toml" 2>"$tmp/err"; rc=$?
[ "$rc" = 64 ] && grep -q "bucket id is 64 hex digits" "$tmp/err" ||
  fail "audit --once did not take its bucket from the config file: exit $rc: $(cat "$tmp/err")"
mkdir -p "$tmp/audit-state"
: >"$tmp/audit-state/catalog.db"  # an empty catalog
seed="tcp://127.0.0.1:9#$(printf 'cd%.0s' {1..32})"
audit_config() {  # [password file line]
  printf '[chain]\nrpc = "http://127.0.0.1:1"\ncontract = "0x5FbDB2315678afecb367f032d93F642f64180aa3"\nkeystore = "%s/audit-wallet.json"\n%s\n[drive]\nstate = "%s/audit-state"\nbucket = "%s"\nbootstrap = ["%s"]\n' \
    "$tmp" "${1:-}" "$tmp" "$(printf 'ab%.0s' {1..32})" "$seed" >"$tmp/audit.toml"
}
audit_config
"$GNR" audit --once --config "$tmp/audit.toml" 2>"$tmp/err"; rc=$?
[ "$rc" = 69 ] && grep -q "no wallet at $tmp/audit-wallet.json" "$tmp/err" ||
  fail "audit --once did not take its wallet from the config file: exit $rc: $(cat "$tmp/err")"
echo pw >"$tmp/audit-pw"
"$GNR" wallet new --keystore "$tmp/audit-wallet.json" --password-file "$tmp/audit-pw" \
  --light-kdf >/dev/null 2>&1 || fail "wallet new"
audit_config "password_file = \"$tmp/audit-pw\""
"$GNR" audit --once --config "$tmp/audit.toml" 2>"$tmp/err"; rc=$?
[ "$rc" = 69 ] && grep -q "cannot reach the chain at http://127.0.0.1:1" "$tmp/err" ||
  fail "audit --once did not take its chain from the config file: exit $rc: $(cat "$tmp/err")"
GNR_RPC=http://127.0.0.1:2 "$GNR" audit --once --config "$tmp/audit.toml" 2>"$tmp/err"; rc=$?
[ "$rc" = 69 ] && grep -q "cannot reach the chain at http://127.0.0.1:2" "$tmp/err" ||
  fail "audit --once: GNR_RPC does not beat the config file: exit $rc: $(cat "$tmp/err")"
set -e
echo "1 passed, 0 failed"
