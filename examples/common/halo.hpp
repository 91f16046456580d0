// halo.hpp — what the coupled case-study kernels (poisson, randomwalk) share:
// their parameters read from the dataset or the static dataset, and a link
// to the other group members whose sends and receives throw on failure, so
// a halo exchange is a plain loop of link.send and link.recv. Header-only,
// over w_kernel.hpp alone, as a kernel may include nothing else.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include "w_kernel.hpp"

namespace halo {

// A parameter from the dataset, else the static dataset, else `fallback`.
template <class T>
T param(const msgpack::object& in, const char* key, T fallback) {
  using w::kernel::field;
  return field<T>(in, key, field<T>(w::kernel::static_data(), key, fallback));
}

inline const char* error_name(long code) {
  switch (code) {
    case W_ETIMEOUT:
      return "timed out";
    case W_EGROUP:
      return "a member was lost";
    case W_ERANK:
      return "no such rank";
    case W_ETOOBIG:
      return "message too large";
    default:
      return "failed";
  }
}

// One member's link to the others: sends and receives that throw on failure.
struct Link {
  w_out* out;
  int timeout_ms;
  void send(int to, const void* bytes, size_t n) const {
    if (int rc = w_send(out, to, bytes, n); rc != 0)
      throw std::runtime_error("w_send to rank " + std::to_string(to) + ": " + error_name(rc));
  }
  // Receives exactly n bytes from `from`.
  void recv(int from, void* buffer, size_t n) const {
    const long got = w_recv(out, from, buffer, n, timeout_ms);
    if (got < 0)
      throw std::runtime_error("w_recv from rank " + std::to_string(from) + ": " + error_name(got));
    if (static_cast<size_t>(got) != n)
      throw std::runtime_error("w_recv from rank " + std::to_string(from) + ": " +
                               std::to_string(got) + " bytes, expected " + std::to_string(n));
  }
};

}  // namespace halo
