#pragma once
// A small leveled logger. Logs explain decisions ("farmer X refused: bucket expired"), so they
// are for people: one line per event, with time, level, source position and message.
//
//   GNR_LOG(kInfo) << "uploaded " << n << " shards";
//   gnr::SetLogLevel(gnr::LogLevel::kDebug);
//
// Thread-safe: each line is written whole. The default sink is stderr; tests may capture
// lines with SetLogSink().

#include <functional>
#include <sstream>
#include <string>
#include <string_view>

namespace gnr {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

// Lines below this level are dropped (default kInfo, or $GNR_LOG_LEVEL if set at start-up:
// debug|info|warning|error|off).
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();

// Parses "debug", "info", "warning", "error", "off". Returns false if unknown.
bool ParseLogLevel(std::string_view name, LogLevel* level);

// Replaces where finished lines go; an empty function restores stderr.
using LogSink = std::function<void(LogLevel level, std::string_view line)>;
void SetLogSink(LogSink sink);

// One log line under construction; written when destroyed. Use through GNR_LOG.
class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;

  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

}  // namespace gnr

#define GNR_LOG(level)                                             \
  if (::gnr::LogLevel::level < ::gnr::GetLogLevel()) {             \
  } else                                                           \
    ::gnr::LogMessage(::gnr::LogLevel::level, __FILE__, __LINE__).stream()
