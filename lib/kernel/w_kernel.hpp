// w_kernel.hpp — write a wkit kernel in C++ on msgpack-c. See w_kernel(3).
//
//   #include "w_kernel.hpp"
//   static long long square(const msgpack::object& in) {
//     long long x = w::kernel::field<long long>(in, "x");
//     return x * x;
//   }
//   W_KERNEL(square)
//
// The function gets the dataset as a msgpack::object and returns anything
// msgpack-c can pack (numbers, strings, std::vector, std::map, ...), or a
// std::optional of it to return nothing. Throwing fails the task with the
// exception's message. W_KERNEL_WITH_INIT(init, fn) also runs
// `void init(const msgpack::object& static_data)` once per process;
// w::kernel::static_data() returns the campaign's static dataset either way.
//
// A long task saves its state with w::kernel::checkpoint(value) (any value
// msgpack-c can pack) and, when it is run again after its worker was lost,
// gets the last one back from w::kernel::restored<T>():
//
//   static long long count(const msgpack::object& in) {
//     long long steps = w::kernel::field<long long>(in, "steps");
//     long long i = w::kernel::restored<long long>().value_or(0);
//     for (; i < steps; ++i) { step(i); w::kernel::checkpoint(i + 1); }
//     return steps;
//   }
//
// A member of a coupled task (wrun --group K, wpool submit --group K) talks
// to the others with rank(), size(), send(to, value), recv<T>(from) and
// barrier(); each throws w::kernel::group_error (failing the task with a
// message that names the call and the rank) when the host answers W_E*:
//
//   static std::vector<long long> ring(const msgpack::object& in) {
//     int r = w::kernel::rank(), k = w::kernel::size();
//     w::kernel::send((r + 1) % k, r);
//     long long left = w::kernel::recv<long long>((r + k - 1) % k, 5000);
//     w::kernel::barrier();
//     return {left};
//   }
#pragma once

#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST
#endif
#include <msgpack.hpp>

#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "w_kernel.h"

namespace w::kernel {

namespace detail {
inline msgpack::object_handle& static_handle() {
  static msgpack::object_handle handle;
  return handle;
}
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

// Lets msgpack::packer write straight into the w_out buffer.
struct OutBuffer {
  w_out* out;
  void write(const char* data, size_t n) {
    if (w_out_write(out, data, n) != 0) throw std::bad_alloc();
  }
};

// The w_out of the w_main call in progress (kernels run one task at a time
// per process), so checkpoint() and restored() need no argument.
inline w_out*& current_out() {
  static w_out* out = nullptr;
  return out;
}
struct CurrentOut {
  explicit CurrentOut(w_out* out) { current_out() = out; }
  ~CurrentOut() { current_out() = nullptr; }
  CurrentOut(const CurrentOut&) = delete;
  CurrentOut& operator=(const CurrentOut&) = delete;
};

inline int fail(w_out* out, const char* prefix, const char* what) {
  std::string message = std::string(prefix) + what;
  return w_fail(out, message.c_str());
}
}  // namespace detail

/// The campaign's static dataset (nil when there is none).
inline const msgpack::object& static_data() {
  return detail::static_handle().get();
}

/// The value of `key` in a map, converted to T; throws if missing or mistyped.
template <class T>
T field(const msgpack::object& map, std::string_view key) {
  if (map.type == msgpack::type::MAP) {
    for (uint32_t i = 0; i < map.via.map.size; ++i) {
      const msgpack::object_kv& kv = map.via.map.ptr[i];
      if (kv.key.type == msgpack::type::STR &&
          std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key) {
        try {
          return kv.val.as<T>();
        } catch (const msgpack::type_error&) {
          throw std::runtime_error("field '" + std::string(key) + "' has the wrong type");
        }
      }
    }
  }
  throw std::runtime_error("missing field '" + std::string(key) + "'");
}

/// Like field(), but `fallback` when the key is absent.
template <class T>
T field(const msgpack::object& map, std::string_view key, T fallback) {
  if (map.type == msgpack::type::MAP) {
    for (uint32_t i = 0; i < map.via.map.size; ++i) {
      const msgpack::object_kv& kv = map.via.map.ptr[i];
      if (kv.key.type == msgpack::type::STR &&
          std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key)
        return field<T>(map, key);
    }
  }
  return fallback;
}

/// Saves `state` as the task's checkpoint (see w_checkpoint). False when
/// the packed state is larger than W_CHECKPOINT_MAX or the host keeps none.
/// REQUIRES: called while the kernel function runs.
template <class T>
bool checkpoint(const T& state) {
  w_out* out = detail::current_out();
  if (!out) return false;
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, state);
  return w_checkpoint(out, buffer.data(), buffer.size()) == 0;
}

/// The state last saved with checkpoint() when this task is run again after
/// its worker was lost, converted to T; std::nullopt on a fresh start.
/// Throws (failing the task) if the saved state does not convert to T.
template <class T>
std::optional<T> restored() {
  w_out* out = detail::current_out();
  if (!out || !out->restore) return std::nullopt;
  try {
    msgpack::object_handle handle =
        msgpack::unpack(reinterpret_cast<const char*>(out->restore), out->restore_n);
    return handle.get().as<T>();
  } catch (const msgpack::type_error&) {
    throw std::runtime_error("the checkpoint has the wrong type");
  } catch (const msgpack::unpack_error&) {
    throw std::runtime_error("the checkpoint is not msgpack");
  }
}

/// A w_send, w_recv or w_barrier that failed; code() is the W_E* code.
class group_error : public std::runtime_error {
 public:
  group_error(const std::string& what, int code) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

namespace detail {
inline std::string group_reason(int code, int timeout_ms) {
  switch (code) {
    case W_ETIMEOUT:
      return "timed out after " + std::to_string(timeout_ms) + " ms";
    case W_EGROUP:
      return "a member of the group was lost";
    case W_ERANK:
      return "no such rank (or the caller's own), or the task is not coupled";
    case W_ETOOBIG:
      return "the message is larger than W_MESSAGE_MAX";
    default:
      return "error " + std::to_string(code);
  }
}
inline w_out* member_out(const char* call) {
  w_out* out = current_out();
  if (!out) throw std::logic_error(std::string(call) + " called outside the kernel function");
  return out;
}
[[noreturn]] inline void group_fail(const std::string& call, int code, int timeout_ms) {
  throw group_error(call + ": " + group_reason(code, timeout_ms), code);
}
// One buffer per process for w_recv, as large as the largest message;
// allocated untouched, so only the bytes received are ever paged in.
inline char* recv_buffer() {
  static std::unique_ptr<char[]> buffer(new char[W_MESSAGE_MAX]);
  return buffer.get();
}
}  // namespace detail

/// This member's rank in 0..size()-1 (0 when the task is not coupled).
/// REQUIRES (like the calls below): called while the kernel function runs.
inline int rank() {
  return w_rank(detail::member_out("w::kernel::rank"));
}

/// The number of members in the group, K (1 when the task is not coupled).
inline int size() {
  return w_size(detail::member_out("w::kernel::size"));
}

/// Sends raw bytes to member `to`; throws group_error on W_E*.
inline void send_bytes(int to, std::string_view bytes) {
  const int rc = w_send(detail::member_out("w_send"), to, bytes.data(), bytes.size());
  if (rc != 0) detail::group_fail("w_send to rank " + std::to_string(to), rc, 0);
}

/// Sends any value msgpack-c can pack to member `to`, packed.
template <class T>
void send(int to, const T& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  send_bytes(to, std::string_view(buffer.data(), buffer.size()));
}

/// The next message from member `from`, as raw bytes; waits up to
/// timeout_ms (< 0: for ever). Throws group_error on W_E* (W_ETIMEOUT when
/// nothing came in time).
inline std::string recv_bytes(int from, int timeout_ms = -1) {
  char* buffer = detail::recv_buffer();
  const long n = w_recv(detail::member_out("w_recv"), from, buffer, W_MESSAGE_MAX, timeout_ms);
  if (n < 0)
    detail::group_fail("w_recv from rank " + std::to_string(from), static_cast<int>(n), timeout_ms);
  return std::string(buffer, static_cast<size_t>(n));
}

/// The next message from member `from`, unpacked and converted to T.
/// Throws group_error as recv_bytes does, std::runtime_error if the message
/// is not msgpack or not a T.
template <class T>
T recv(int from, int timeout_ms = -1) {
  const std::string bytes = recv_bytes(from, timeout_ms);
  try {
    msgpack::object_handle handle = msgpack::unpack(bytes.data(), bytes.size());
    return handle.get().as<T>();
  } catch (const msgpack::type_error&) {
    throw std::runtime_error("w_recv from rank " + std::to_string(from) +
                             ": the message has the wrong type");
  } catch (const msgpack::unpack_error&) {
    throw std::runtime_error("w_recv from rank " + std::to_string(from) +
                             ": the message is not msgpack");
  }
}

/// Waits until every member has called barrier(); throws group_error on W_E*.
/// After a timeout, calling barrier() again waits for the same barrier.
inline void barrier(int timeout_ms = -1) {
  const int rc = w_barrier(detail::member_out("w_barrier"), timeout_ms);
  if (rc != 0) detail::group_fail("w_barrier", rc, timeout_ms);
}

/// Calls `fn` on one dataset and packs its result into `out`.
template <class Fn>
int run_main(const uint8_t* in, size_t n, w_out* out, Fn&& fn) {
  detail::CurrentOut current(out);
  try {
    msgpack::object_handle handle = msgpack::unpack(reinterpret_cast<const char*>(in), n);
    auto result = fn(handle.get());
    detail::OutBuffer buffer{out};
    msgpack::packer<detail::OutBuffer> packer(buffer);
    if constexpr (detail::is_optional<decltype(result)>::value) {
      if (result) packer.pack(*result);
    } else {
      packer.pack(result);
    }
    return 0;
  } catch (const std::bad_alloc&) {
    return w_fail(out, "out of memory");
  } catch (const msgpack::type_error&) {
    return w_fail(out, "input has the wrong type");
  } catch (const std::exception& e) {
    return w_fail(out, e.what());
  }
}

/// Keeps the static dataset and calls `init` (if any) with it.
template <class Init>
int run_init(const uint8_t* data, size_t n, Init&& init) {
  try {
    if (n > 0) detail::static_handle() = msgpack::unpack(reinterpret_cast<const char*>(data), n);
    init(static_data());
    return 0;
  } catch (...) {
    return 1;
  }
}

}  // namespace w::kernel

#define W_KERNEL_WITH_INIT(init_fn, main_fn)                                \
  extern "C" W_EXPORT int w_init(const uint8_t* data, size_t n) {           \
    return ::w::kernel::run_init(data, n, init_fn);                         \
  }                                                                         \
  extern "C" W_EXPORT int w_main(const uint8_t* in, size_t n, w_out* out) { \
    return ::w::kernel::run_main(in, n, out, main_fn);                      \
  }

#define W_KERNEL(main_fn) W_KERNEL_WITH_INIT([](const msgpack::object&) {}, main_fn)
