#include "tests/integration/farmer_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/status.h"

extern char** environ;

namespace gnr::integration {

std::string GnrBinary() {
  if (const char* env = std::getenv("GNR_BINARY"); env != nullptr && *env != '\0') return env;
#ifdef GNR_BINARY_PATH
  return GNR_BINARY_PATH;
#else
  return "gnr";
#endif
}

FarmerProcess::~FarmerProcess() {
  if (running()) Kill();
}

absl::Status FarmerProcess::Start(absl::Duration timeout) {
  if (running()) return absl::FailedPreconditionError("already running");
  std::filesystem::create_directories(options_.data_dir);
  std::vector<std::string> args = {GnrBinary(),
                                   "farmer",
                                   "run",
                                   "--config",
                                   "/dev/null",  // no user config in tests
                                   "--data",
                                   options_.data_dir,
                                   "--capacity",
                                   options_.capacity,
                                   "--listen",
                                   "tcp://127.0.0.1:0",
                                   "--status-interval",
                                   "1"};
  for (const std::string& b : options_.bootstrap) {
    args.push_back("--bootstrap");
    args.push_back(b);
  }
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::string log = options_.data_dir + ".log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, STDIN_FILENO);
  // The child must not inherit a blocked-signal mask from a test thread.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("cannot spawn ", args[0], ": ", std::strerror(rc)));
  }
  pid_ = pid;

  const std::string contact = options_.data_dir + "/farmer.json";
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(
          absl::StrCat("farmer exited during start-up (status ", status, "): ", LogTail()));
    }
    absl::StatusOr<farmer::FarmerContactFile> file = farmer::ReadFarmerContactFile(contact);
    if (file.ok() && file->pid == pid_) {
      address_ = shard::FarmerAddress{file->node_id, file->endpoint, file->curve_public_key};
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  Kill();
  return absl::DeadlineExceededError(
      absl::StrCat("farmer in ", options_.data_dir, " did not come up: ", LogTail()));
}

void FarmerProcess::Kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

absl::Status FarmerProcess::Terminate(absl::Duration timeout) {
  if (!running()) return absl::OkStatus();
  ::kill(pid_, SIGTERM);
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
      return absl::InternalError(
          absl::StrCat("farmer exited with status ", status, " after SIGTERM: ", LogTail()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  Kill();
  return absl::DeadlineExceededError("farmer did not stop within the timeout after SIGTERM");
}

uint64_t FarmerProcess::ShardDiskUsage() const {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(options_.data_dir + "/shards", ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (it->is_regular_file(ec) && ::stat(it->path().c_str(), &st) == 0) {
      total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  return total;
}

size_t FarmerProcess::CountFiles(bool temp_only) const {
  size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(options_.data_dir + "/shards", ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    bool temp = it->path().string().ends_with(".tmp");
    if (!temp_only || temp) ++n;
  }
  return n;
}

absl::StatusOr<std::string> FarmerProcess::StatusJson() const {
  std::string command =
      absl::StrCat("'", GnrBinary(), "' farmer status --json --data '", options_.data_dir, "'");
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError("popen failed");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  int rc = ::pclose(pipe);
  if (rc != 0) return absl::InternalError(absl::StrCat("`", command, "` failed: ", rc));
  return out;
}

std::string FarmerProcess::LogTail(size_t bytes) const {
  std::ifstream in(options_.data_dir + ".log");
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

}  // namespace gnr::integration
