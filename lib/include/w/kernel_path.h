// Where kernels are found by name: `wrun -k divisible.so`, `wpool submit
// --kernel primes`, `wgen kernel gen.so`.
//
// A name with a '/' is a file, taken as it is. A bare name is looked up in
// the current directory, then in each directory of W_KERNEL_PATH (colon-
// separated, like PATH), then among the kernels installed with this
// program (PREFIX/lib/wkit/kernels beside PREFIX/bin; build/kernels in a
// build tree). A name without an extension also matches NAME.so.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "w/status.h"

namespace w::kernel {

/// The directories a bare name is looked up in, in order (see the top of
/// the file); the current directory is the first, as ".".
std::vector<std::string> search_path();

/// The file `name` means: a name with '/' as it is (whether it exists is
/// the caller's to find out), else the first match along search_path();
/// kNotFound lists where it looked.
Result<std::string> find(std::string_view name);

}  // namespace w::kernel
