#include "../../../lib/src/pool/kernel_check.h"

#include <catch2/catch.hpp>

#include <string>

using w::pool::check_kernel;

namespace {

// A minimal ELF64 little-endian header: type, machine, program headers at
// 64 (`phnum` of 56 bytes), no section headers; the file holds them all.
std::string elf(uint16_t type, uint16_t machine, uint16_t phnum = 1) {
  std::string f(64 + 56 * phnum, '\0');
  f.replace(0, 4,
            "\x7f"
            "ELF");
  f[4] = 2;  // ELFCLASS64
  f[5] = 1;  // ELFDATA2LSB
  f[16] = static_cast<char>(type), f[18] = static_cast<char>(machine & 0xff);
  f[19] = static_cast<char>(machine >> 8);
  f[32] = 64;  // e_phoff
  f[54] = 56;  // e_phentsize
  f[56] = static_cast<char>(phnum);
  return f;
}

std::string why(std::string_view platform, const std::string& data, size_t max = 1 << 20) {
  return check_kernel(platform, data, max).message();
}

}  // namespace

TEST_CASE("kernel_check: plausible artifacts pass, for their platform only") {
  CHECK(check_kernel("linux-x86_64", elf(3, 62), 1 << 20).ok());
  CHECK(check_kernel("linux-aarch64", elf(3, 183), 1 << 20).ok());
  CHECK(check_kernel("wasm32", std::string("\0asm\1\0\0\0\1", 9), 1 << 20).ok());
  CHECK(why("linux-aarch64", elf(3, 62)) == "built for machine 62, not AArch64 (linux-aarch64)");
  CHECK(why("wasm32", elf(3, 62)).starts_with("not a WebAssembly module"));
  CHECK(why("linux-x86_64", std::string("\0asm\1\0\0\0", 8)).starts_with("not an ELF file"));
}

TEST_CASE("kernel_check: what is wrong is named") {
  CHECK(why("linux-x86_64", elf(2, 62)) == "not a shared object (ELF type 2)");
  CHECK(why("linux-x86_64", elf(3, 62, 0)) == "has no program headers: not a loadable object");
  std::string cut = elf(3, 62, 4);
  cut.resize(100);
  CHECK(why("linux-x86_64", cut) == "truncated: its program headers end past its 100 bytes");
  std::string big = elf(3, 62);
  big[40] = 0x7f;  // e_shoff far past the end, with one section header
  big[58] = 64, big[60] = 1;
  CHECK(why("linux-x86_64", big).starts_with("truncated: its section headers"));
  CHECK(why("linux-x86_64", std::string(10, 'x')).starts_with("not an ELF file"));
  CHECK(why("wasm32", std::string("\0asm\1\0\0\0\x7f", 9)) ==
        "not a WebAssembly module (section id 127)");
  CHECK(why("linux-x86_64", elf(3, 62), 64) ==
        "120 bytes is over the pool's limit of 64 (--max-kernel)");
  CHECK(why("windows-x86_64", "MZ") ==
        "platform 'windows-x86_64' is not one of linux-x86_64, linux-aarch64, wasm32");
}
