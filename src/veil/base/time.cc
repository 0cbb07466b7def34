#include "veil/base/time.h"

#include <ctime>

#include <fmt/format.h>

namespace veil {

std::string ToIso8601Utc(std::chrono::system_clock::time_point tp) {
  using namespace std::chrono;
  auto secs = time_point_cast<seconds>(tp);
  auto micros = duration_cast<microseconds>(tp - secs).count();
  std::time_t t = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

std::string NowIso8601Utc() { return ToIso8601Utc(std::chrono::system_clock::now()); }

}  // namespace veil
