// Peer ids, tokens, group names and group capabilities.
//
// An id is what the PeerJS client accepts: runs of [A-Za-z0-9] joined by
// single '-', '_' or ' ' ("exp1-node_7"), at most kMaxId bytes. The group of
// an id is the part before its first '-' ("exp1" for "exp1-node_7"), which is
// how the WebRTC blog grouped peers by prefix.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace w::sig {

constexpr size_t kMaxId = 255;  ///< relay frames carry an id's length in one byte
constexpr size_t kMaxToken = 255;

bool valid_id(std::string_view id);
/// Any non-empty string of printable ASCII up to kMaxToken bytes.
bool valid_token(std::string_view token);

/// A random UUID (version 4): what the stock server hands out.
std::string random_id();

/// "exp1" for "exp1-node_7"; "" if the id has no '-'.
std::string_view group_of(std::string_view id);

/// True if `prefix` is a group prefix: a valid id followed by one of "-_ ".
bool valid_group_prefix(std::string_view prefix);

/// True if `cap` is a valid, unexpired wsig capability under `secret` that
/// covers `group` and grants `right` (a GroupRight from w/sig.h).
bool check_group_capability(std::string_view secret, std::string_view cap, std::string_view group,
                            uint32_t right);

}  // namespace w::sig
