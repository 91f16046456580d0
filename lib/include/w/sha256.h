// SHA-256 as lower-case hex, for kernel artifacts (named by their hash).
#pragma once

#include <string>
#include <string_view>

namespace w {

std::string sha256_hex(std::string_view bytes);

}  // namespace w
