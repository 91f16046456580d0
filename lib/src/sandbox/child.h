// The slot child's side: what runs after fork() in the new process.
#pragma once

#include "w/sandbox.h"

// The sanitizer build: its runtime, inherited by the slot, needs more from
// the sandbox (an alternate signal stack) and reserves terabytes of address
// space (so no address-space limit there).
#if defined(__SANITIZE_ADDRESS__)
#define W_UNDER_ASAN 1
#else
#define W_UNDER_ASAN 0
#endif

namespace w::sandbox {

/// The fd the child talks to its worker on (the socketpair end is moved here).
constexpr int kChildFd = 3;

/// Never returns: moves `sock` to kChildFd, loads the kernel, locks the process down, serves tasks
/// on kChildFd until the worker closes it, then _exit()s.
[[noreturn]] void child_main(const SlotConfig& config, int sock);

/// Why a slot refuses to load a kernel on a Linux kernel without Landlock.
inline constexpr const char* kNoLandlock =
    "this Linux kernel has no Landlock (5.13 or newer, with landlock in its lsm= list): kernels "
    "cannot be confined before they load, so none is run (--insecure-sandbox runs them under "
    "seccomp alone)";

}  // namespace w::sandbox
