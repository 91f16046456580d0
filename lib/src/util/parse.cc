#include "w/parse.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

namespace w::util {

Result<long long> parse_count(std::string_view text) {
  std::string s(text);
  if (s.empty()) return Status::Invalid("empty number");
  double scale = 1;
  switch (s.back()) {
    case 'k':
    case 'K':
      scale = 1e3;
      s.pop_back();
      break;
    case 'M':
      scale = 1e6;
      s.pop_back();
      break;
    case 'G':
      scale = 1e9;
      s.pop_back();
      break;
    default:
      break;
  }
  char* end = nullptr;
  errno = 0;
  // Plain integers go through strtoll so values past 2^53 stay exact.
  long long as_int = std::strtoll(s.c_str(), &end, 10);
  if (!s.empty() && *end == '\0' && errno == 0) {
    double scaled = static_cast<double>(as_int) * scale;
    if (scale == 1) return as_int;
    if (std::fabs(scaled) < 9.2e18) return static_cast<long long>(scaled);
    return Status::Invalid(fmt::format("number out of range: '{}'", text));
  }
  errno = 0;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || errno != 0 || !std::isfinite(d))
    return Status::Invalid(fmt::format("not a number: '{}'", text));
  d *= scale;
  if (std::fabs(d) >= 9.2e18)
    return Status::Invalid(fmt::format("number out of range: '{}'", text));
  if (d != std::floor(d)) return Status::Invalid(fmt::format("not a whole number: '{}'", text));
  return static_cast<long long>(d);
}

Result<double> parse_seconds(std::string_view text) {
  std::string s(text);
  double scale = 1;
  auto ends_with = [&](std::string_view suffix) {
    return s.size() > suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with("ms")) {
    scale = 1e-3;
    s.resize(s.size() - 2);
  } else if (ends_with("s")) {
    s.pop_back();
  } else if (ends_with("m")) {
    scale = 60;
    s.pop_back();
  } else if (ends_with("h")) {
    scale = 3600;
    s.pop_back();
  }
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || errno != 0 || !std::isfinite(d) || d < 0)
    return Status::Invalid(fmt::format("not a duration: '{}' (try 30, 1.5s, 250ms, 2m)", text));
  return d * scale;
}

}  // namespace w::util
