#pragma once
// Internal to fs/fuse: the low-level operation table and the state its handlers share.
// This folder is the only place that includes fuse_lowlevel.h (STYLE.md rule 1); nothing
// outside fs/fuse includes this header.

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 35
#endif
#include <fuse_lowlevel.h>

#include <atomic>
#include <cstdint>

#include "fs/fuse/lookup_counts.h"
#include "fs/fuse/mounted_drive.h"
#include "fs/volume/volume.h"

namespace gnr::fuse {

// The session's userdata: what every handler reaches through fuse_req_userdata().
// Thread-safety: `volume` is thread-safe; the counters are atomic; `options` is read-only
// after the mount.
struct Adapter {
  volume::Volume* volume = nullptr;
  // For notifications to the kernel from handlers; set before the session serves requests.
  fuse_session* session = nullptr;
  // Write-only handles get FOPEN_DIRECT_IO (decided in Init from the kernel's protocol).
  std::atomic<bool> direct_writes{false};
  MountOptions options;
  LookupCounts lookups;
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> errors{0};
};

// One handler per operation (fs/fuse/operations.cc). Each translates its arguments, calls
// the Volume, maps a failure through ErrnoFromStatus (fs/fuse/errno_map.h), logs the cause,
// and sends exactly one reply.
const fuse_lowlevel_ops& LowLevelOps();

}  // namespace gnr::fuse
