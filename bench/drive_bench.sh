#!/bin/bash
# The drive through a real FUSE mount, next to libfuse's own passthrough_ll example mounted
# over tmpfs and a plain tmpfs copy, all measured in the same run (issue #6's bench):
#   - sequential write of SIZE MiB, timed until fsync returns (for gnr: committed on the
#     network, so the figure includes encrypt + erasure-code + sentinels + shard puts),
#     WRITES times on each side, passthrough and gnr taking turns; the ratio is of the
#     medians (on a shared VM one run of either moves by up to 2x from minute to minute);
#   - cold sequential read of it (gnr unmounted and mounted again with its read cache
#     disabled, kernel caches dropped: the bytes come back from the farmers; with
#     --network memory only the caches are dropped, the farmers live in the daemon);
#   - creation rate of 4 KiB files (write + close), then one fsync of the directory (gnr
#     stages them and uploads in the background, as a local disk's page cache would);
#   - random 4 KiB reads of the big file, after the same remount (gnr) / cache drop.
# Both sides keep their bytes on the same tmpfs: passthrough's backing directory, and gnr's
# local storage (the devnet's farmer stores and chain, the mount's catalog, staging files and
# state; with --network memory the mount's state). The ratios measure software, not ext4
# against tmpfs. Prints absolute figures, gnr / passthrough ratios (targets: write >= 40%,
# cold read >= 50%) and the CPU seconds gnr spends per GiB written and read back, split into
# the mount daemon and the farmers (utime + stime from /proc/<pid>/stat before and after each
# phase; the write's phase ends once the remount's unmount has stored every shard). Nothing
# here asserts on time. Needs root (tmpfs mount, drop_caches) and /dev/fuse.
#
# Virtual machines whose free memory goes back to the host (virtio-balloon free page
# reporting) make every page touched again cost a fault in the host. gnr touches several
# times the fresh memory per byte written that the passthrough does (staging, the farmers'
# files, socket buffers): on such a VM its third GiB in a row wrote at half the rate of the
# first, and at the same rate once the free memory had been touched. So where the kernel
# has page reporting, the bench pauses it for the run (restored at exit) and touches the
# free memory once first: the ratios compare software, not the host's memory reclaim.
# --keep-page-reporting measures the VM as it is.
#
# Usage: bench/drive_bench.sh [--gnr PATH] [--size MIB] [--files N] [--reads N]
#                             [--writes N] [--network devnet|memory] [--mount-args "ARGS"]
#   --gnr PATH         the gnr binary (default: build-bench/tools/gnr, else build/tools/gnr)
#   --size MIB         big file size (default 1024)
#   --files N          4 KiB files to create (default 2000)
#   --reads N          random 4 KiB reads (default 4000)
#   --writes N         timed sequential writes on each side (default 3; the last one is the
#                      file the other phases use). gnr is unmounted and mounted again after
#                      each of its writes, so it has stored every shard before the
#                      passthrough's turn; the summary prints the CPU gnr's idle processes
#                      took meanwhile
#   --network devnet   (default) the real loopback network: `gnr devnet up` in a scratch
#                      directory on the tmpfs (anvil + StorageMarket + 6 farmer daemons over
#                      ZeroMQ/CURVE), the drive mounted with its flags, `gnr devnet down` at
#                      the end
#   --network memory   farmers inside the mount daemon (--in-memory-network 6): no TCP,
#                      no chain; shows what the network costs
#   --mount-args ARGS  extra flags for `gnr mount` (after the network's own)
#   --keep-page-reporting
#                      leave the VM's free page reporting on (see above)
set -uo pipefail
cd "$(dirname "$0")/.."

gnr=""
size_mib=1024
files=2000
reads=4000
writes=3
network=devnet
mount_args=""
keep_page_reporting=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --gnr) gnr="${2:?--gnr needs a PATH}"; shift 2 ;;
    --size) size_mib="${2:?--size needs MiB}"; shift 2 ;;
    --files) files="${2:?--files needs N}"; shift 2 ;;
    --reads) reads="${2:?--reads needs N}"; shift 2 ;;
    --writes) writes="${2:?--writes needs N}"; shift 2 ;;
    --network) network="${2:?--network needs devnet or memory}"; shift 2 ;;
    --mount-args) mount_args="${2?--mount-args needs ARGS}"; shift 2 ;;
    --keep-page-reporting) keep_page_reporting=1; shift ;;
    -h|--help) sed -n '2,51p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "drive_bench: unknown argument '$1' (try --help)" >&2; exit 64 ;;
  esac
done
if [[ -z "$gnr" ]]; then
  for c in build-bench/tools/gnr build/tools/gnr; do [[ -x "$c" ]] && gnr="$c" && break; done
fi
[[ "$writes" =~ ^[1-9][0-9]*$ ]] ||
  { echo "drive_bench: --writes must be a positive count, not '$writes'" >&2; exit 64; }
[[ "$network" == devnet || "$network" == memory ]] ||
  { echo "drive_bench: --network must be devnet or memory, not '$network'" >&2; exit 64; }
[[ "$network" == memory ]] || command -v jq >/dev/null ||
  { echo "drive_bench: --network devnet needs jq (apt-get install jq)" >&2; exit 69; }
[[ -x "$gnr" ]] || { echo "drive_bench: no gnr binary; run scripts/build first" >&2; exit 66; }
gnr=$(realpath "$gnr")
[[ $(id -u) -eq 0 ]] || { echo "drive_bench: needs root (tmpfs, drop_caches)" >&2; exit 77; }
example=/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c
[[ -f "$example" ]] || { echo "drive_bench: $example missing (apt-get install libfuse3-dev)" >&2; exit 69; }

tmp=$(mktemp -d /tmp/gnr-drive-bench.XXXXXX)
# gnr's local storage lives on the tmpfs too (see the header).
devnet_dir=$tmp/tmpfs/devnet
cleanup() {
  # `gnr devnet down` unmounts the drive (waiting for uploads, then forcing) and stops the
  # chain and the farmers by the PIDs it recorded.
  [[ -f "$tmp/sampler.pid" ]] && kill "$(cat "$tmp/sampler.pid")" 2>/dev/null
  [[ -f "$devnet_dir/devnet.json" ]] && "$gnr" devnet down --dir "$devnet_dir" >/dev/null 2>&1
  mountpoint -q "$tmp/gnr" 2>/dev/null && "$gnr" umount "$tmp/gnr" --force >/dev/null 2>&1
  for m in "$tmp/pt" "$tmp/gnr"; do mountpoint -q "$m" 2>/dev/null && fusermount3 -u -z "$m"; done
  mountpoint -q "$tmp/tmpfs" && umount "$tmp/tmpfs"
  [[ -n "${reporting_order:-}" ]] && echo "$reporting_order" > "$page_reporting"
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/tmpfs" "$tmp/pt" "$tmp/gnr"
# The source, gnr's staging copy and the farmers' 1.5x (RS(4,2)) at once, and some room;
# each extra write leaves another 1.5x on the farmers.
mount -t tmpfs -o size=$((size_mib * (5 + 2 * (writes - 1)) + 1024))m tmpfs "$tmp/tmpfs" || exit 1
mkdir -p "$tmp/tmpfs/src" "$tmp/tmpfs/copy" "$tmp/tmpfs/pt" "$tmp/tmpfs/state"

page_reporting=/sys/module/page_reporting/parameters/page_reporting_order
reporting_note="no free page reporting on this machine"
if [[ -w "$page_reporting" ]]; then
  if ((keep_page_reporting)); then
    reporting_note="the VM's free page reporting left on (--keep-page-reporting)"
  else
    # Pages of an order above the largest are never reported.
    reporting_order=$(cat "$page_reporting")
    echo 11 > "$page_reporting" || exit 1
    free_mib=$(awk '/^MemFree:/ { printf "%d", $2 / 1024 }' /proc/meminfo)
    fill_mib=$((free_mib - 1024))
    echo "== touching ${fill_mib} MiB of free memory (the VM's free page reporting is paused)"
    mkdir -p "$tmp/fill"
    mount -t tmpfs -o size=${fill_mib}m tmpfs "$tmp/fill" || exit 1
    dd if=/dev/zero of="$tmp/fill/zero" bs=1M count="$fill_mib" status=none
    umount "$tmp/fill"
    reporting_note="the VM's free page reporting paused, ${fill_mib} MiB of free memory touched first"
  fi
fi

echo "== building libfuse's passthrough_ll example"
# shellcheck disable=SC2046
gcc -O2 -w -o "$tmp/passthrough_ll" "$example" $(pkg-config fuse3 --cflags --libs) || exit 1

now() { date +%s.%N; }
rate() { awk -v b="$1" -v t0="$2" -v t1="$3" 'BEGIN { printf "%.1f", b / (t1 - t0) / 1048576 }'; }  # MiB/s
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

echo "== source: $size_mib MiB of random bytes in tmpfs"
head -c $((size_mib * 1048576)) /dev/urandom > "$tmp/tmpfs/src/big" || exit 1
bytes=$((size_mib * 1048576))

clk_tck=$(getconf CLK_TCK)
# Sets TICKS to the utime + stime (clock ticks) of the processes whose PIDs are given; gone
# ones count 0. Bash builtins only: the sampler below runs it during the timed write, and
# forking sed and awk ten times a second took ~4% of a 2-core machine from gnr.
sum_ticks() {
  local pid stat f
  TICKS=0
  for pid in "$@"; do
    read -r stat 2>/dev/null < "/proc/$pid/stat" || continue
    # The fields after "pid (comm) ": utime and stime are the 12th and 13th.
    read -r -a f <<< "${stat##*) }"
    TICKS=$((TICKS + f[11] + f[12]))
  done
}
seconds_of() { awk -v t="$1" -v hz="$clk_tck" 'BEGIN { printf "%.2f", t / hz }'; }
# CPU seconds (utime + stime) of the processes whose PIDs are given; gone ones count 0.
cpu_of() { sum_ticks "$@"; seconds_of "$TICKS"; }
# The mount daemon (a zombie once unmounted: its /proc entry then still holds its times).
daemon_pid() { pgrep -n -f -- "mount $tmp/gnr --state"; }
farmer_pids() { pgrep -f -- "farmer run .*--data $devnet_dir/"; }
# gnr's CPU accounting, called by measure at each phase boundary: writes $tmp/cpu.<phase>
# as "daemon farmers" (CPU seconds so far). The write's phase runs until the remount's
# unmount has stored every shard (the daemon exits then: a sampler keeps its last figure).
gnr_cpu() {
  local d
  case "$1" in
    write_start)
      d=$(daemon_pid)
      echo "$d" > "$tmp/cpu.write_daemon"
      echo "$(cpu_of "$d") $(cpu_of $(farmer_pids))" > "$tmp/cpu.write_start"
      sum_ticks "$d"; echo "$TICKS" > "$tmp/cpu.daemon_last"
      ( while [[ -r "/proc/$d/stat" ]]; do
          sum_ticks "$d"; [[ "$TICKS" != 0 ]] && echo "$TICKS" > "$tmp/cpu.daemon_last"
          sleep 0.2
        done ) &
      echo $! > "$tmp/sampler.pid" ;;
    read_start)  # after `between`: the write is stored, the daemon is fresh (devnet)
      d=$(cat "$tmp/cpu.write_daemon")
      if [[ -r "/proc/$d/stat" ]]; then
        sum_ticks "$d"; [[ "$TICKS" != 0 ]] && echo "$TICKS" > "$tmp/cpu.daemon_last"
      fi
      kill "$(cat "$tmp/sampler.pid")" 2>/dev/null
      echo "$(seconds_of "$(cat "$tmp/cpu.daemon_last")") $(cpu_of $(farmer_pids))" > "$tmp/cpu.write_end"
      echo "$(cpu_of "$(daemon_pid)") $(cpu_of $(farmer_pids))" > "$tmp/cpu.read_start" ;;
    read_end)
      echo "$(cpu_of "$(daemon_pid)") $(cpu_of $(farmer_pids))" > "$tmp/cpu.read_end" ;;
  esac
}

# timed_write FILE: prints the MiB/s of writing the source to FILE, until fsync returns.
timed_write() {
  local t0 t1
  t0=$(now); dd if="$tmp/tmpfs/src/big" of="$1" bs=1M conv=fsync status=none || return 1
  t1=$(now); rate "$bytes" "$t0" "$t1"
}
# median X...: the median of the numbers given.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.1f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# measure DIR BETWEEN [HOOK]: prints "write read create randread" (MiB/s, MiB/s, files/s,
# reads/s). BETWEEN = a command run between the write and the cold read (drops what is
# cached). The time of each `between` goes to $tmp/between.<n> (for gnr: the uploads unmount
# waits for). HOOK (optional) is called with write_start, read_start and read_end.
measure() {
  local dir=$1 between=$2 hook=${3:-:} t0 t1 w r c q
  $hook write_start
  w=$(timed_write "$dir/big") || return 1
  t0=$(now); eval "$between"; now > "$tmp/between.1"; echo "$t0" >> "$tmp/between.1"
  $hook read_start
  t0=$(now); dd if="$dir/big" of=/dev/null bs=1M status=none || return 1
  t1=$(now); r=$(rate "$bytes" "$t0" "$t1")
  $hook read_end
  c=$(python3 - "$dir/small" "$files" <<'EOF'
import os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
block = os.urandom(4096)
t = time.monotonic()
for i in range(n):
    with open(os.path.join(d, f"f{i:05d}"), "wb") as f:
        f.write(block)
fd = os.open(d, os.O_RDONLY)
os.fsync(fd)
os.close(fd)
print(f"{n / (time.monotonic() - t):.1f}")
EOF
  ) || return 1
  t0=$(now); eval "$between"; now > "$tmp/between.2"; echo "$t0" >> "$tmp/between.2"
  q=$(python3 - "$dir/big" "$reads" <<'EOF'
import os, random, sys, time
path, n = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_RDONLY)
size = os.fstat(fd).st_size
rnd = random.Random(7)
t = time.monotonic()
for _ in range(n):
    off = rnd.randrange(0, size // 4096) * 4096
    if len(os.pread(fd, 4096, off)) != 4096:
        sys.exit("short read")
os.close(fd)
print(f"{n / (time.monotonic() - t):.1f}")
EOF
  ) || return 1
  echo "$w $r $c $q"
}

echo "== tmpfs copy (the ceiling)"
t0=$(now); cp "$tmp/tmpfs/src/big" "$tmp/tmpfs/copy/big"; t1=$(now)
tmpfs_rate=$(rate "$bytes" "$t0" "$t1")
rm -f "$tmp/tmpfs/copy/big"

echo "== libfuse passthrough_ll over tmpfs"
"$tmp/passthrough_ll" -o source="$tmp/tmpfs/pt" "$tmp/pt" || exit 1

if [[ "$network" == devnet ]]; then
  echo "== gnr devnet up (anvil + 6 farmer daemons on loopback, state in $devnet_dir)"
  if ! "$gnr" devnet up --dir "$devnet_dir" --mount "$tmp/gnr" --farmers 6 --json \
       > "$tmp/devnet.json" 2> "$tmp/devnet.log"; then
    cat "$tmp/devnet.log" >&2
    exit 1
  fi
  # devnet mounted the drive with its read cache on; the bench mounts it itself, cache off,
  # with the same flags devnet used (its summary prints them).
  "$gnr" umount "$tmp/gnr" >/dev/null || exit 1
  state=$(jq -r .mount.state_dir "$tmp/devnet.json")
  mapfile -t net_args < <(jq -r '"--rpc", .chain.rpc_url, "--contract", .contract,
      "--keystore", .wallet.keystore, "--password-file", .wallet.password_file,
      "--bucket", .bucket.id,
      (.farmers[] | "--bootstrap", "\(.endpoint)#\(.curve_public_key)"),
      "--data-shards", (.mount.data_shards | tostring),
      "--parity-shards", (.mount.parity_shards | tostring)' "$tmp/devnet.json")
else
  state=$tmp/tmpfs/state
  net_args=(--in-memory-network 6)
fi
# shellcheck disable=SC2086
mount_gnr() { "$gnr" mount "$tmp/gnr" --state "$state" --cache-size 0 "${net_args[@]}" $mount_args >/dev/null; }
# A cold start: unmount (waits for every upload), mount again (read cache off), drop the
# kernel's caches.
remount_gnr() { "$gnr" umount "$tmp/gnr" --timeout 900 >/dev/null && mount_gnr && drop_caches; }

echo "== gnr mount (--network $network${mount_args:+ $mount_args})"
mount_gnr || exit 1
# In-memory farmers live in the daemon: a remount would lose them, so that mode only drops
# the kernel's caches (its read cache is off).
between=remount_gnr
[[ "$network" == memory ]] && between=drop_caches

# gnr's processes (the mount daemon; with devnet also the farmers and the chain): their CPU
# time while the passthrough is measured is printed (they are idle then, not stopped:
# stopping them trips the network's heartbeats and timeouts).
gnr_pids() {
  daemon_pid
  if [[ "$network" == devnet ]]; then
    farmer_pids
    jq -r '.chain.pid' "$devnet_dir/devnet.json" 2>/dev/null
  fi
}
idle_ticks=0
# idle_begin / idle_end: add the CPU ticks gnr's processes take in between to idle_ticks.
# shellcheck disable=SC2046
idle_begin() { sum_ticks $(gnr_pids); idle_from=$TICKS; }
# shellcheck disable=SC2046
idle_end() { sum_ticks $(gnr_pids); idle_ticks=$((idle_ticks + TICKS - idle_from)); }

# The sequential writes take turns: WRITES - 1 here, then the one `measure` times on each
# side. After each of its writes gnr is unmounted and mounted again: the next run starts
# with every shard of the last one stored.
pt_writes=() g_writes=()
if ((writes > 1)); then echo "== sequential writes, passthrough and gnr taking turns ($writes each)"; fi
for ((run = 1; run < writes; run++)); do
  idle_begin
  w=$(timed_write "$tmp/pt/warm") || exit 1
  idle_end
  pt_writes+=("$w")
  rm -f "$tmp/pt/warm"
  w=$(timed_write "$tmp/gnr/warm.$run") || { echo "gnr write failed" >&2; exit 1; }
  g_writes+=("$w")
  if [[ "$network" == devnet ]]; then remount_gnr || exit 1; fi
done
idle_begin
read -r pt_w pt_r pt_c pt_q < <(measure "$tmp/pt" drop_caches) || exit 1
idle_end
fusermount3 -u "$tmp/pt"
rm -rf "$tmp/tmpfs/pt"/*
read -r g_w g_r g_c g_q < <(measure "$tmp/gnr" "$between" gnr_cpu) || { echo "gnr measurement failed" >&2; exit 1; }
pt_writes+=("$pt_w") g_writes+=("$g_w")
pt_w=$(median "${pt_writes[@]}") g_w=$(median "${g_writes[@]}")
g_up=$(awk '{ t[NR] = $1 } END { printf "%.1f", t[1] - t[2] }' "$tmp/between.2")
"$gnr" umount "$tmp/gnr" --timeout 600 >/dev/null || fusermount3 -u -z "$tmp/gnr"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }
# cpu_per_gib START END COLUMN: CPU seconds per GiB of the big file between two samples.
cpu_per_gib() {
  awk -v col="$3" -v gib="$(awk -v b="$bytes" 'BEGIN { print b / 1073741824 }')" \
    'NR == 1 { a = $col } NR == 2 { printf "%.2f", ($col - a) / gib }' "$tmp/cpu.$1" "$tmp/cpu.$2"
}
echo
echo "== drive summary (network: $network; $size_mib MiB file, $files files of 4 KiB, $reads random reads; $(nproc) CPUs)"
echo "   (passthrough's backing store and gnr's farmers, catalog and staging are on one tmpfs:"
echo "    the ratios compare software, not disks)"
printf "  %-34s %12s %12s %8s %8s\n" "" "gnr" "passthrough" "ratio" "target"
printf "  %-34s %8s MiB/s %6s MiB/s %8s %8s\n" "sequential write (until fsync)" "$g_w" "$pt_w" "$(ratio "$g_w" "$pt_w")" ">=40%"
if ((writes > 1)); then
  echo "    (medians of $writes runs each, in turns; gnr: ${g_writes[*]}, passthrough: ${pt_writes[*]})"
fi
echo "    (gnr's idle processes took $(seconds_of "$idle_ticks") CPU-s while the passthrough was measured)"
printf "  %-34s %8s MiB/s %6s MiB/s %8s %8s\n" "cold sequential read" "$g_r" "$pt_r" "$(ratio "$g_r" "$pt_r")" ">=50%"
printf "  %-34s %8s /s    %6s /s    %8s\n" "4 KiB file creation" "$g_c" "$pt_c" "$(ratio "$g_c" "$pt_c")"
printf "  %-34s %8s /s    %6s /s    %8s\n" "random 4 KiB reads" "$g_q" "$pt_q" "$(ratio "$g_q" "$pt_q")"
printf "  %-34s %8s MiB/s\n" "tmpfs copy (reference)" "$tmpfs_rate"
farmer_note="farmers"
[[ "$network" == memory ]] && farmer_note="(in daemon)"
printf "  %-34s %12s %12s\n" "gnr CPU seconds per GiB:" "mount daemon" "$farmer_note"
printf "  %-34s %12s %12s\n" "  sequential write (until stored)" \
  "$(cpu_per_gib write_start write_end 1)" "$(cpu_per_gib write_start write_end 2)"
printf "  %-34s %12s %12s\n" "  cold sequential read" \
  "$(cpu_per_gib read_start read_end 1)" "$(cpu_per_gib read_start read_end 2)"
if [[ "$network" == devnet ]]; then
  printf "  %-34s %8s s\n" "gnr: unmount + remount after files" "$g_up"
  echo "    (unmount waits until the $files small files are uploaded)"
fi
echo "  (load average $(cut -d' ' -f1-3 /proc/loadavg); $reporting_note)"
