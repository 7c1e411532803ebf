// A minimal leveled logger to stderr. Thread-safe (one write per line).
#pragma once

#include <string_view>

namespace podmeter {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

/// Parses "debug", "info", "warn", "error".
bool ParseLogLevel(std::string_view text, LogLevel* out);
void SetLogLevel(LogLevel level);
void Log(LogLevel level, std::string_view message);

}  // namespace podmeter
