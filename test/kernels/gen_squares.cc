// A generator kernel: call k returns {"x": k*k} until k reaches the static "n".
#include "w_kernel.hpp"

#include <optional>

static std::optional<std::map<std::string, long long>> squares(const msgpack::object& in) {
  const long long k = w::kernel::field<long long>(in, "call");
  const long long n = w::kernel::field<long long>(w::kernel::static_data(), "n", 10);
  if (k >= n) return std::nullopt;
  return std::map<std::string, long long>{{"x", k * k}};
}
W_KERNEL(squares)
