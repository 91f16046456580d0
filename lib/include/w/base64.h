// Base64 (RFC 4648) for every module: bin values in JSON records, composite
// msgpack keys, capability MACs. One encoder, two alphabets.
#pragma once

#include <string>
#include <string_view>

#include "w/status.h"

namespace w::base64 {

/// The standard alphabet (+/) with '=' padding: bytes in JSON text.
std::string encode(std::string_view bytes);

/// The URL alphabet (-_) without padding: text that goes in URLs and
/// capability strings unescaped.
std::string encode_url(std::string_view bytes);

/// Either alphabet, padded or not; any other character is an error.
Result<std::string> decode(std::string_view text);

}  // namespace w::base64
