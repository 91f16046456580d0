// A user generator kernel, run in the same sandbox as wrun's slots (as
// Distribute.js ran its dataset generators in a worker).
#include <climits>
#include <cstdlib>

#include <fmt/format.h>

#include "w/executor.h"
#include "w/gen.h"
#include "w/kernel_path.h"
#include "w/msgpack.h"
#include "w/stream.h"

namespace w::gen {

Status kernel(const KernelOptions& o, stream::RecordWriter& out) {
  auto found = kernel::find(o.kernel);  // a bare name: W_KERNEL_PATH, the installed ones
  if (!found.ok()) return found.status();
  char resolved[PATH_MAX];
  if (::realpath(found->c_str(), resolved) == nullptr)
    return errno_status(fmt::format("kernel '{}'", o.kernel), errno);
  auto static_data = stream::load_static(o.static_arg);
  if (!static_data.ok()) return static_data.status();
  sandbox::ExecutorConfig config;
  config.slot.kernel_path = resolved;
  config.slot.static_data = std::move(*static_data);
  config.slot.memory_mb = o.memory_mb;
  config.slot.insecure_sandbox = o.insecure_sandbox;
  config.slots = 1;
  config.timeout = o.timeout;
  sandbox::Executor executor(std::move(config));
  W_RETURN_IF_ERROR(executor.start());
  std::vector<std::string_view> items;
  for (uint64_t call = 0;; ++call) {
    executor.submit({call, mp::MapBuilder().integer("call", static_cast<int64_t>(call)).done()});
    std::vector<sandbox::Outcome> done;
    while (done.empty()) W_RETURN_IF_ERROR(executor.poll(-1, done));
    const sandbox::Outcome& r = done.front();
    if (!r.ok) return Status(Code::kFailed, fmt::format("generator call {}: {}", call, r.error));
    if (r.output.empty() || r.output == "\xc0") return {};
    if (!mp::is_one_object(r.output))
      return Status::Invalid(fmt::format("generator call {}: output is not msgpack", call));
    if (mp::starts_map(static_cast<uint8_t>(r.output[0]))) {
      W_RETURN_IF_ERROR(out.write(r.output));
      continue;
    }
    if (!mp::decode_array(r.output, items))
      return Status::Invalid(
          fmt::format("generator call {}: return a map, an array of maps, or nil", call));
    if (items.empty()) return {};
    for (auto item : items) {
      if (item.empty() || !mp::starts_map(static_cast<uint8_t>(item[0])))
        return Status::Invalid(fmt::format("generator call {}: every dataset must be a map", call));
      W_RETURN_IF_ERROR(out.write(item));
    }
  }
}

}  // namespace w::gen
