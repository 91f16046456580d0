// The pool protocol's public face (w-protocol(7)): its version and the
// limits every pool message is checked against. The messages themselves,
// their decoders and encoders live in lib/src/proto/ (pool and workers use
// them; tools never see a wire map).
#pragma once

#include <cstddef>
#include <cstdint>

namespace w::proto {

/// Protocol version carried in every hello and welcome.
constexpr int kProtocolVersion = 1;

/// Most replicas a campaign may ask for.
constexpr int kMaxReplicas = 16;
/// Largest group (members per task) of a coupled campaign.
constexpr int kMaxGroup = 1024;
/// Most slots a worker may announce.
constexpr int kMaxSlots = 4096;
/// Most attempts of a task.
constexpr int kMaxAttempts = 1000;
/// Longest task timeout, in ms (30 days).
constexpr int64_t kMaxTimeoutMs = int64_t{30} * 24 * 3600 * 1000;
/// Most results one page of a `results` query may ask for.
constexpr int kMaxResultsPage = 100000;

/// Longest name-like string: ids, names, platforms, versions, campaign
/// names, once-keys (bytes of UTF-8).
constexpr size_t kMaxName = 256;
/// Longest key or capability text.
constexpr size_t kMaxCredential = 4096;
/// Longest error or reason text (a worker truncates longer kernel errors).
constexpr size_t kMaxErrorText = 64 * 1024;

}  // namespace w::proto
