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
#pragma once

#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST
#endif
#include <msgpack.hpp>

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
