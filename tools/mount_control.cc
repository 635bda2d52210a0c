#include "tools/mount_control.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/hex.h"
#include "common/log.h"
#include "crypto/hash.h"

namespace gnr::tools {
namespace {

using Json = nlohmann::json;

constexpr int kRequestTimeoutMs = 10 * 60 * 1000;  // a drain may wait long

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

bool MakePrivateDir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return false;
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

absl::StatusOr<sockaddr_un> Address(const std::string& path) {
  sockaddr_un addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", path));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

// Reads until '\n' (not included) or EOF, waiting at most `timeout_ms` per read.
bool ReadLine(int fd, std::string* line, int timeout_ms) {
  char c;
  while (true) {
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return !line->empty();
    if (c == '\n') return true;
    line->push_back(c);
    if (line->size() > (1 << 20)) return false;
  }
}

bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> RuntimeDir() {
  const char* xdg = getenv("XDG_RUNTIME_DIR");
  std::string base =
      (xdg != nullptr && *xdg != '\0') ? std::string(xdg) : absl::StrCat("/tmp/gnr-", getuid());
  if (!MakePrivateDir(base)) return Errno(absl::StrCat("cannot create ", base));
  std::string dir = absl::StrCat(base, "/gnr");
  if (!MakePrivateDir(dir)) return Errno(absl::StrCat("cannot create ", dir));
  return dir;
}

absl::StatusOr<MountRecord> RecordPathsFor(const std::string& abs_mountpoint) {
  absl::StatusOr<std::string> dir = RuntimeDir();
  if (!dir.ok()) return dir.status();
  std::string id = HexEncode(crypto::Sha256(AsBytes(abs_mountpoint))).substr(0, 16);
  MountRecord r;
  r.mountpoint = abs_mountpoint;
  r.socket = absl::StrCat(*dir, "/mount-", id, ".sock");
  return r;
}

std::string RecordFile(const MountRecord& record) {
  std::string s = record.socket;
  return s.substr(0, s.size() - 5) + ".json";
}

absl::Status WriteRecord(const MountRecord& record) {
  Json j = {{"mountpoint", record.mountpoint},
            {"state_dir", record.state_dir},
            {"pid", record.pid},
            {"socket", record.socket},
            {"network", record.network}};
  std::string path = RecordFile(record);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out) return Errno(absl::StrCat("cannot write ", tmp));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) return Errno(absl::StrCat("rename ", tmp));
  return absl::OkStatus();
}

void RemoveRecord(const MountRecord& record) { unlink(RecordFile(record).c_str()); }

namespace {
std::optional<MountRecord> ParseRecord(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  Json j = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  MountRecord r;
  r.mountpoint = j.value("mountpoint", "");
  r.state_dir = j.value("state_dir", "");
  r.pid = j.value("pid", 0);
  r.socket = j.value("socket", "");
  r.network = j.value("network", "");
  if (r.mountpoint.empty() || r.socket.empty()) return std::nullopt;
  return r;
}
}  // namespace

std::optional<MountRecord> FindRecord(const std::string& abs_mountpoint) {
  absl::StatusOr<MountRecord> paths = RecordPathsFor(abs_mountpoint);
  if (!paths.ok()) return std::nullopt;
  std::optional<MountRecord> r = ParseRecord(RecordFile(*paths));
  if (r && r->mountpoint != abs_mountpoint) return std::nullopt;
  return r;
}

std::vector<MountRecord> AllRecords() {
  std::vector<MountRecord> out;
  absl::StatusOr<std::string> dir = RuntimeDir();
  if (!dir.ok()) return out;
  DIR* d = opendir(dir->c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.starts_with("mount-") && name.ends_with(".json")) {
      if (auto r = ParseRecord(absl::StrCat(*dir, "/", name))) out.push_back(*r);
    }
  }
  closedir(d);
  return out;
}

bool ProcessAlive(int pid) {
  if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM)) return false;
  // A zombie (killed, not yet reaped by its parent: e.g. a daemon killed -9 whose parent is
  // an init that does not reap) is dead: its mount record is stale.
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return true;  // no /proc: trust kill()
  size_t paren = line.rfind(')');  // the command name may contain spaces and parentheses
  return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'Z';
}

absl::StatusOr<Json> ControlRequest(const std::string& socket_path, const Json& request) {
  absl::StatusOr<sockaddr_un> addr = Address(socket_path);
  if (!addr.ok()) return addr.status();
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  if (connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0) {
    int err = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat("the mount daemon does not answer on ", socket_path,
                                               ": ", std::strerror(err)));
  }
  std::string line;
  bool ok = WriteAll(fd, request.dump() + "\n") && ReadLine(fd, &line, kRequestTimeoutMs);
  close(fd);
  if (!ok) return absl::UnavailableError("the mount daemon closed the control connection");
  Json reply = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!reply.is_object()) return absl::InternalError("malformed reply from the mount daemon");
  return reply;
}

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Start(const std::string& socket_path,
                                                                    Handler handler) {
  absl::StatusOr<sockaddr_un> addr = Address(socket_path);
  if (!addr.ok()) return addr.status();
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  unlink(socket_path.c_str());  // a stale socket of a dead daemon (the caller checked the pid)
  if (bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0 ||
      listen(fd, 16) != 0) {
    absl::Status s = Errno(absl::StrCat("cannot listen on ", socket_path));
    close(fd);
    return s;
  }
  chmod(socket_path.c_str(), 0600);
  std::unique_ptr<ControlServer> server(new ControlServer(socket_path, fd, std::move(handler)));
  server->accept_thread_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

ControlServer::ControlServer(std::string socket, int fd, Handler handler)
    : socket_(std::move(socket)), listen_fd_(fd), handler_(std::move(handler)) {}

ControlServer::~ControlServer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  accept_thread_.join();
  close(listen_fd_);
  unlink(socket_.c_str());
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* n) { return *n == 0; }, &in_flight_));
}

void ControlServer::AcceptLoop() {
  while (true) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      close(fd);
      return;
    }
    ++in_flight_;
    std::thread([this, fd] { Serve(fd); }).detach();
  }
}

void ControlServer::Serve(int fd) {
  std::string line;
  if (ReadLine(fd, &line, 5000)) {
    Json request = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    Json reply;
    if (!request.is_object()) {
      reply = {{"ok", false}, {"error", "request is not a JSON object"}};
    } else {
      reply = handler_(request);
    }
    WriteAll(fd, reply.dump() + "\n");
  }
  close(fd);
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

}  // namespace gnr::tools
