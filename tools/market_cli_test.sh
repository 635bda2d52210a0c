#!/bin/bash
# Drives `gnr wallet` and `gnr market` as a user would, against a real anvil started here:
# create and import wallets, deploy the contract, stake, buy space and traffic, bind and
# unbind a node, supplement a bucket, read the status as JSON; and the errors (exit codes
# from tools/exit_codes.h).
#   market_cli_test.sh <gnr binary> <source dir>
set -euo pipefail
GNR=$(readlink -f "$1")
SRC="${2:-$(dirname "$0")/..}"
ANVIL="${GNR_ANVIL:-$SRC/node_modules/.bin/anvil}"
tmp=$(mktemp -d)
anvil_pid=""
cleanup() {
  if [ -n "$anvil_pid" ]; then kill "$anvil_pid" 2>/dev/null || true; wait "$anvil_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# jget FILTER: reads JSON on stdin (jq, else python3).
jget() {
  if command -v jq >/dev/null; then jq -r "$1"; else
    python3 -c 'import json,sys
v=json.load(sys.stdin)
for k in sys.argv[1].lstrip(".").replace("[",".").replace("]","").split("."):
    if k: v=v[int(k)] if k.isdigit() else v[k]
print(str(v).lower() if isinstance(v,bool) else v)' "$1"
  fi
}
# expect_exit CODE CMD...: runs CMD, checks its exit code, leaves stderr in $tmp/err.
expect_exit() {
  local want="$1"; shift
  set +e; "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?; set -e
  [ "$rc" = "$want" ] || fail "$* exited $rc, expected $want: $(cat "$tmp/err")"
}

[ -x "$ANVIL" ] || fail "anvil not found at $ANVIL (run scripts/setup, or set GNR_ANVIL)"
"$ANVIL" --host 127.0.0.1 --port 0 --accounts 3 >"$tmp/anvil.log" 2>&1 &
anvil_pid=$!
for _ in $(seq 100); do
  grep -q 'Listening on' "$tmp/anvil.log" && break
  sleep 0.1
done
port=$(grep -o 'Listening on 127.0.0.1:[0-9]*' "$tmp/anvil.log" | cut -d: -f2)
[ -n "$port" ] || fail "anvil did not start: $(cat "$tmp/anvil.log")"
key=$(grep -A3 '^Private Keys' "$tmp/anvil.log" | grep -o '0x[0-9a-f]\{64\}' | head -1)
address=$(grep -A3 '^Available Accounts' "$tmp/anvil.log" | grep -o '0x[0-9a-fA-F]\{40\}' | head -1)
[ -n "$key" ] && [ -n "$address" ] || fail "cannot read anvil's dev account"

export HOME="$tmp/home" XDG_DATA_HOME="" GNR_RPC="http://127.0.0.1:$port"
unset GNR_PASSWORD GNR_MARKET_CONTRACT
echo 'correct horse' >"$tmp/pw"
echo 'battery staple' >"$tmp/pw2"
echo "${key#0x}" >"$tmp/key"
lower() { tr 'A-F' 'a-f'; }

# ---- wallet ----
"$GNR" wallet new --keystore "$tmp/fresh.json" --password-file "$tmp/pw" --light-kdf >/dev/null
[ "$(stat -c %a "$tmp/fresh.json")" = 600 ] || fail "keystore mode is not 0600"
"$GNR" wallet show --keystore "$tmp/fresh.json" | grep -Eq '^0x[0-9a-fA-F]{40}$' || fail "show"
expect_exit 73 "$GNR" wallet new --keystore "$tmp/fresh.json" --password-file "$tmp/pw" --light-kdf
grep -q -- '--force' "$tmp/err" || fail "overwrite refusal does not mention --force"

"$GNR" wallet import --private-key-file "$tmp/key" --password-file "$tmp/pw" --light-kdf >/dev/null
[ -f "$HOME/.local/share/gnr/wallet.json" ] || fail "default keystore path"
shown=$("$GNR" wallet show --json | jget .address)
[ "$(echo "$shown" | lower)" = "$(echo "$address" | lower)" ] || fail "imported $shown, expected $address"
ln -s "$GNR" "$tmp/gnr-wallet"
[ "$("$tmp/gnr-wallet" show)" = "$shown" ] || fail "gnr-wallet alias"
# A geth/ethers keystore re-encrypted under a new password.
"$GNR" wallet import --from-keystore "$HOME/.local/share/gnr/wallet.json" \
  --from-password-file "$tmp/pw" --keystore "$tmp/copy.json" --password-file "$tmp/pw2" \
  --light-kdf --json >"$tmp/out"
[ "$(jget .address <"$tmp/out" | lower)" = "$(echo "$address" | lower)" ] || fail "import keystore"

balance=$("$GNR" wallet balance --json | jget .balance)
[ "$balance" = 10000 ] || fail "balance $balance"

# ---- market ----
expect_exit 78 "$GNR" market status
grep -q 'GNR_MARKET_CONTRACT' "$tmp/err" || fail "missing contract message"
expect_exit 64 "$GNR" market buy-space --size 10 --contract 0x0000000000000000000000000000000000000001
grep -q 'needs --days' "$tmp/err" || fail "missing --days message"

contract=$("$GNR" market deploy --password-file "$tmp/pw" --json | jget .contract)
export GNR_MARKET_CONTRACT="$contract"
expect_exit 78 "$GNR" market status --contract 0x0000000000000000000000000000000000000001
grep -q 'no contract at' "$tmp/err" || fail "wrong contract message"

expect_exit 1 "$GNR" market stake 0.5 --password-file "$tmp/pw"
grep -q 'stake below minimum' "$tmp/err" || fail "small stake reason: $(cat "$tmp/err")"
expect_exit 77 "$GNR" market stake 2 --password-file "$tmp/pw2"

"$GNR" market stake 2 --password-file "$tmp/pw" --json >"$tmp/out"
[ "$(jget .stake_wei <"$tmp/out")" = 2000000000000000000 ] || fail "stake event"
GNR_PASSWORD='correct horse' "$GNR" market buy-space --size 10 --days 30 --json >"$tmp/out"
bucket=$(jget .bucket_id <"$tmp/out")
[ ${#bucket} = 64 ] || fail "bucket id '$bucket'"
"$GNR" market buy-traffic --gb 5 --password-file "$tmp/pw" | grep -q 'Bought 5 GB of traffic' \
  || fail "buy-traffic output"
echo 4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318 >"$tmp/node.key"
"$GNR" market bind-node --node-key "$tmp/node.key" --password-file "$tmp/pw" --json >"$tmp/out"
node=$(jget .node_id <"$tmp/out")
[ "$("$GNR" market status --json | jget '.nodes[0]')" = "$node" ] || fail "bound node in status"
expect_exit 1 "$GNR" market unstake 2 --password-file "$tmp/pw"
grep -q 'unbind nodes first' "$tmp/err" || fail "unstake reason: $(cat "$tmp/err")"
"$GNR" market unbind-node --node-key "$tmp/node.key" --password-file "$tmp/pw" >/dev/null
"$GNR" market supplement --bucket "$bucket" --add-gb 5 --password-file "$tmp/pw" >/dev/null
"$GNR" market unstake 1 --password-file "$tmp/pw" | grep -q 'unstake --withdraw' || fail "unstake"

"$GNR" market status --json >"$tmp/status.json"
[ "$(jget .stake_wei <"$tmp/status.json")" = 1000000000000000000 ] || fail "status stake"
[ "$(jget .pending_unstake.amount_wei <"$tmp/status.json")" = 1000000000000000000 ] || fail "pending"
[ "$(jget .traffic_gb <"$tmp/status.json")" = 5 ] || fail "status traffic"
[ "$(jget '.buckets[0].bucket_id' <"$tmp/status.json")" = "$bucket" ] || fail "status bucket"
[ "$(jget '.buckets[0].size_gb' <"$tmp/status.json")" = 15 ] || fail "status bucket size"
[ "$(jget '.buckets[0].expired' <"$tmp/status.json")" = false ] || fail "status expiry"
[ "$(jget .balance_verified <"$tmp/status.json")" = true ] || fail "balance not verified"
"$GNR" market status | grep -q '^Traffic      5 GB' || fail "human status"

# The chain is gone: unavailable.
kill "$anvil_pid"; wait "$anvil_pid" 2>/dev/null || true; anvil_pid=""
expect_exit 69 "$GNR" wallet balance
echo "1 passed, 0 failed"
