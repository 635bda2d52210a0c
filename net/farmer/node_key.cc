#include "net/farmer/node_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"
#include "net/farmer/env.h"

namespace gnr::farmer {
namespace {

absl::Status Errno(const char* what, const std::string& path) {
  return absl::ErrnoToStatus(errno, absl::StrCat(what, " ", path));
}

absl::StatusOr<crypto::PrivateKey> LoadKey(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open node key", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    absl::Status s = Errno("stat node key", path);
    ::close(fd);
    return s;
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return absl::PermissionDeniedError(
        absl::StrCat("node key ", path, " is readable by other users (mode ",
                     absl::StrFormat("%o", st.st_mode & 0777), "); run `chmod 600 ", path, "`"));
  }
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  if (n < 0) return Errno("read node key", path);
  std::string text(buf, static_cast<size_t>(n));
  absl::StatusOr<FixedBytes<32>> bytes =
      HexDecodeFixed<32>(StdView(absl::StripAsciiWhitespace(text)));
  if (!bytes.ok()) {
    return absl::DataLossError(
        absl::StrCat("node key ", path, " is not 64 hex digits: ", bytes.status().message()));
  }
  absl::StatusOr<crypto::PrivateKey> key = crypto::PrivateKey::FromBytes(*bytes);
  if (!key.ok()) {
    return absl::DataLossError(
        absl::StrCat("node key ", path, " is not a valid key: ", key.status().message()));
  }
  return key;
}

absl::Status StoreKey(const std::string& path, const crypto::PrivateKey& key) {
  std::string temp = path + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create", temp);
  std::string text = HexEncode(key.bytes()) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  absl::Status s = ok ? absl::OkStatus() : Errno("write", temp);
  ::close(fd);
  if (s.ok() && ::link(temp.c_str(), path.c_str()) != 0) s = Errno("create", path);
  ::unlink(temp.c_str());
  if (!s.ok()) return s;
  return PosixEnv().SyncDir(DirName(path));
}

}  // namespace

absl::StatusOr<crypto::PrivateKey> LoadOrCreateNodeKey(const std::string& path,
                                                       crypto::Random& random, bool* created) {
  if (created != nullptr) *created = false;
  if (::access(path.c_str(), F_OK) == 0) return LoadKey(path);
  crypto::PrivateKey key = crypto::PrivateKey::Generate(random);
  absl::Status s = StoreKey(path, key);
  if (absl::IsAlreadyExists(s)) return LoadKey(path);  // created concurrently
  GNR_RETURN_IF_ERROR(s);
  if (created != nullptr) *created = true;
  GNR_LOG(kInfo) << "created node key " << path;
  return key;
}

}  // namespace gnr::farmer
