// The slot child's side: what runs after fork() in the new process.
#pragma once

#include "w/sandbox.h"

namespace w::sandbox {

/// The fd the child talks to its worker on (the socketpair end is moved here).
constexpr int kChildFd = 3;

/// Never returns: moves `sock` to kChildFd, loads the kernel, locks the process down, serves tasks
/// on kChildFd until the worker closes it, then _exit()s.
[[noreturn]] void child_main(const SlotConfig& config, int sock);

/// Installs the seccomp filter that allows only computing (see child.cc).
/// A forbidden call traps to a handler that reports its number on kChildFd.
Status install_seccomp();

}  // namespace w::sandbox
