#include "kernel_check.h"

#include <cstdint>

#include <fmt/format.h>

namespace w::pool {
namespace {

// The platforms a kernel may be stored for, and the ELF machine of each
// (0: a WebAssembly module).
struct Platform {
  std::string_view name;
  uint16_t machine;
  std::string_view machine_name;
};
constexpr Platform kPlatforms[] = {
    {"linux-x86_64", 62, "x86-64"},     // EM_X86_64
    {"linux-aarch64", 183, "AArch64"},  // EM_AARCH64
    {"wasm32", 0, ""},
};

uint64_t le(std::string_view data, size_t at, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<uint8_t>(data[at + i])) << (8 * i);
  return v;
}

// An ELF64 header (the System V gABI): e_ident[16], e_type@16, e_machine@18,
// e_phoff@32, e_shoff@40, e_phentsize@54, e_phnum@56, e_shentsize@58,
// e_shnum@60. Sizes are checked in 64 bits with no product past 2^32.
Status check_elf(const Platform& p, std::string_view data) {
  constexpr size_t kHeader = 64;
  if (data.size() < 4 || data.substr(0, 4) !=
                             "\x7f"
                             "ELF")
    return Status::Invalid(fmt::format("not an ELF file ({} wants an ELF shared object)", p.name));
  if (data.size() < kHeader || data[4] != 2 || data[5] != 1)
    return Status::Invalid("not a 64-bit little-endian ELF file");
  if (const uint64_t type = le(data, 16, 2); type != 3)  // ET_DYN
    return Status::Invalid(fmt::format("not a shared object (ELF type {})", type));
  if (const uint64_t machine = le(data, 18, 2); machine != p.machine)
    return Status::Invalid(
        fmt::format("built for machine {}, not {} ({})", machine, p.machine_name, p.name));
  const uint64_t phoff = le(data, 32, 8), phentsize = le(data, 54, 2), phnum = le(data, 56, 2);
  if (phnum == 0 || phentsize < 56)
    return Status::Invalid("has no program headers: not a loadable object");
  if (phoff > data.size() || phentsize * phnum > data.size() - phoff)
    return Status::Invalid(
        fmt::format("truncated: its program headers end past its {} bytes", data.size()));
  const uint64_t shoff = le(data, 40, 8), shentsize = le(data, 58, 2), shnum = le(data, 60, 2);
  if (shoff != 0 && (shoff > data.size() || shentsize * shnum > data.size() - shoff))
    return Status::Invalid(
        fmt::format("truncated: its section headers end past its {} bytes", data.size()));
  return {};
}

// A WebAssembly binary: the magic "\0asm", version 1, then sections whose
// ids are 0 (custom) to 12 (data count).
Status check_wasm(std::string_view data) {
  if (data.size() < 8 || data.substr(0, 8) != std::string_view("\0asm\1\0\0\0", 8))
    return Status::Invalid("not a WebAssembly module (wasm32 wants the magic \\0asm, version 1)");
  if (data.size() > 8 && static_cast<uint8_t>(data[8]) > 12)
    return Status::Invalid(
        fmt::format("not a WebAssembly module (section id {})", static_cast<uint8_t>(data[8])));
  return {};
}

}  // namespace

Status check_kernel(std::string_view platform, std::string_view data, size_t max_bytes) {
  const Platform* p = nullptr;
  for (const Platform& known : kPlatforms)
    if (known.name == platform) p = &known;
  if (!p) {
    std::string names;
    for (const Platform& known : kPlatforms)
      names += fmt::format("{}{}", names.empty() ? "" : ", ", known.name);
    return Status::Invalid(fmt::format("platform '{}' is not one of {}", platform, names));
  }
  if (data.size() > max_bytes)
    return Status::Invalid(fmt::format("{} bytes is over the pool's limit of {} (--max-kernel)",
                                       data.size(), max_bytes));
  return p->machine == 0 ? check_wasm(data) : check_elf(*p, data);
}

}  // namespace w::pool
