// What the pool accepts as a kernel artifact (wpool(1) "LIMITS"): an
// allow-list of platforms, each with the file format its workers load, and
// a size bound, checked before anything is stored. A plausible artifact is
// not a safe one (workers confine kernels, w_kernel(3)); the check keeps
// the store from holding arbitrary blobs under a kernel's name.
#pragma once

#include <cstddef>
#include <string_view>

#include "w/status.h"

namespace w::pool {

/// Ok if `data` looks like a kernel for `platform`: an ELF 64-bit
/// little-endian shared object for that machine (linux-x86_64,
/// linux-aarch64) or a WebAssembly module (wasm32), with its headers inside
/// the file, of at most `max_bytes`. Invalid names the first thing wrong.
Status check_kernel(std::string_view platform, std::string_view data, size_t max_bytes);

}  // namespace w::pool
