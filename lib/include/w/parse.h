// Text a person types into a number: counts ("10k", "1e9") and durations
// ("250ms", "2m"). In util/ so that every module may parse the same way:
// flags (cli/), ports in URLs (net/), generator arguments (gen/).
#pragma once

#include <string_view>

#include "w/status.h"

namespace w::util {

/// Parses a count a person types: "1000", "1e9", "10k", "2M" (no fractions
/// left after scaling). Used by CLI11 transforms and generators alike.
Result<long long> parse_count(std::string_view text);

/// Parses a duration: "30" (seconds), "1.5s", "250ms", "2m", "1h".
Result<double> parse_seconds(std::string_view text);

}  // namespace w::util
