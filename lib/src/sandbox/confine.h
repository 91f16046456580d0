// How a slot process is confined before any byte of the kernel runs.
//
// Loading a kernel runs its code: ifunc resolvers while dlopen relocates
// it, ELF constructors and C++ static initializers of the kernel and of
// every library it links. So the slot confines itself *before* dlopen, in
// two stages, each stricter than the last (Linux stacks seccomp filters and
// Landlock domains; nothing can lift them):
//
//   load stage   Landlock: read-only access to the kernel file and the
//                system library directories, nothing else (no writes
//                anywhere; on Landlock ABI >= 4 no TCP bind/connect, on
//                ABI >= 6 no signals or abstract sockets outside the slot).
//                seccomp (load filter): what dlopen needs (open read-only,
//                read, mmap including PROT_EXEC, mprotect, close, fstat) and
//                what libc needs to compute, report and exit. No clone,
//                fork, exec, socket: a constructor cannot start a thread or
//                a process that would outlive the confinement.
//   run stage    seccomp (run filter), after dlopen and before w_init: only
//                computing (read/write on the worker's socket and stderr,
//                memory without PROT_EXEC, clocks, exit). A canary proves
//                the filter really went on (see install_run_filter).
//
// A forbidden call traps (SIGSYS) to a handler that reports the call's
// number to the worker on kChildFd and exits.
#pragma once

#include <string>

#include "w/status.h"

namespace w::sandbox {

/// The Landlock ABI version the running kernel offers; 0 when Landlock is
/// not built in or not enabled (lsm=...,landlock).
int landlock_abi();

/// Restricts the calling process (and its future children) to reading the
/// kernel file and the system library directories. Requires no_new_privs.
Status restrict_filesystem(const std::string& kernel_path);

/// Installs the load-stage seccomp filter. Requires no_new_privs.
Status install_load_filter();

/// Installs the run-stage seccomp filter and checks that it is in force: a
/// kernel's constructor could have installed a filter of its own that makes
/// the seccomp() call succeed without doing anything.
Status install_run_filter();

}  // namespace w::sandbox
