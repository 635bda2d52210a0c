#include "fs/catalog/types.h"

#include <sys/stat.h>

#include <bit>

namespace gnr::catalog {

uint32_t ModeTypeBits(NodeType type) {
  switch (type) {
    case NodeType::kFile:
      return S_IFREG;
    case NodeType::kDirectory:
      return S_IFDIR;
    case NodeType::kSymlink:
      return S_IFLNK;
    case NodeType::kFifo:
      return S_IFIFO;
    case NodeType::kSocket:
      return S_IFSOCK;
    case NodeType::kCharDevice:
      return S_IFCHR;
    case NodeType::kBlockDevice:
      return S_IFBLK;
  }
  return 0;
}

std::optional<NodeType> NodeTypeFromMode(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return NodeType::kFile;
    case S_IFDIR:
      return NodeType::kDirectory;
    case S_IFLNK:
      return NodeType::kSymlink;
    case S_IFIFO:
      return NodeType::kFifo;
    case S_IFSOCK:
      return NodeType::kSocket;
    case S_IFCHR:
      return NodeType::kCharDevice;
    case S_IFBLK:
      return NodeType::kBlockDevice;
    default:
      return std::nullopt;
  }
}

std::string_view NodeTypeName(NodeType type) {
  switch (type) {
    case NodeType::kFile:
      return "file";
    case NodeType::kDirectory:
      return "directory";
    case NodeType::kSymlink:
      return "symlink";
    case NodeType::kFifo:
      return "fifo";
    case NodeType::kSocket:
      return "socket";
    case NodeType::kCharDevice:
      return "char-device";
    case NodeType::kBlockDevice:
      return "block-device";
  }
  return "unknown";
}

std::string_view VersionKindName(VersionKind kind) {
  switch (kind) {
    case VersionKind::kInline:
      return "inline";
    case VersionKind::kSharded:
      return "sharded";
  }
  return "unknown";
}

std::string_view VersionStateName(VersionState state) {
  switch (state) {
    case VersionState::kPending:
      return "pending";
    case VersionState::kCommitted:
      return "committed";
    case VersionState::kObsolete:
      return "obsolete";
  }
  return "unknown";
}

std::string_view PlacementStateName(PlacementState state) {
  switch (state) {
    case PlacementState::kPending:
      return "pending";
    case PlacementState::kAcked:
      return "acked";
    case PlacementState::kBad:
      return "bad";
    case PlacementState::kLost:
      return "lost";
    case PlacementState::kRepaired:
      return "repaired";
  }
  return "unknown";
}

std::string_view UploadStateName(UploadState state) {
  switch (state) {
    case UploadState::kQueued:
      return "queued";
    case UploadState::kUploading:
      return "uploading";
    case UploadState::kCommitted:
      return "committed";
    case UploadState::kFailed:
      return "failed";
  }
  return "unknown";
}

std::string_view AuditKindName(AuditKind kind) {
  switch (kind) {
    case AuditKind::kSentinel:
      return "sentinel";
    case AuditKind::kMerkle:
      return "merkle";
  }
  return "unknown";
}

std::string_view AuditResultName(AuditResult result) {
  switch (result) {
    case AuditResult::kPass:
      return "pass";
    case AuditResult::kFail:
      return "fail";
    case AuditResult::kTimeout:
      return "timeout";
    case AuditResult::kError:
      return "error";
  }
  return "unknown";
}

std::string_view FarmerStatusName(FarmerStatus status) {
  switch (status) {
    case FarmerStatus::kActive:
      return "active";
    case FarmerStatus::kSuspect:
      return "suspect";
    case FarmerStatus::kBad:
      return "bad";
    case FarmerStatus::kGone:
      return "gone";
  }
  return "unknown";
}

bool GroupUsed(ByteView bitmap, uint32_t group) {
  size_t byte = group / 8;
  if (byte >= bitmap.size()) return false;
  return (bitmap[byte] >> (group % 8)) & 1;
}

void SetGroupUsed(Bytes& bitmap, uint32_t group) {
  size_t byte = group / 8;
  if (byte >= bitmap.size()) bitmap.resize(byte + 1, 0);
  bitmap[byte] = static_cast<uint8_t>(bitmap[byte] | (1u << (group % 8)));
}

uint32_t CountGroupsUsed(ByteView bitmap) {
  uint32_t n = 0;
  for (uint8_t b : bitmap) n += static_cast<uint32_t>(std::popcount(b));
  return n;
}

std::optional<uint32_t> FirstUnusedGroup(ByteView bitmap, uint32_t start, uint32_t group_count) {
  if (group_count == 0) return std::nullopt;
  start %= group_count;
  for (uint32_t i = 0; i < group_count; ++i) {
    uint32_t g = start + i;
    if (g >= group_count) g -= group_count;
    // Skip whole used bytes quickly.
    if (g % 8 == 0 && g / 8 < bitmap.size() && bitmap[g / 8] == 0xff && g + 8 <= group_count &&
        i + 8 <= group_count) {
      i += 7;
      continue;
    }
    if (!GroupUsed(bitmap, g)) return g;
  }
  return std::nullopt;
}

}  // namespace gnr::catalog
