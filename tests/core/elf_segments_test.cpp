// A mapped pc to its link-time address: the load bias found from a
// /proc/PID/maps line and the module's PT_LOAD headers. First on the layout
// lld produces by default (file offset != address, one file page mapped
// twice, r-- and r-x), where a file offset names the wrong byte; then on
// this test binary itself, against the bias the dynamic loader reports.
#include "weft/core/elf_segments.hpp"

#include <catch2/catch.hpp>

#include <link.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

using weft::crash::LoadSegment;
using weft::crash::MappedRange;

constexpr std::uintptr_t kPage = 0x1000;

// ld.lld -z noseparate-code: each segment starts in the file right after
// the previous one, and one page further in memory.
const std::vector<LoadSegment> kPacked = {
    {0x0, 0x0, 0x5a0, 0x5a0, true, false, false},          // headers, .rodata
    {0x5a0, 0x15a0, 0x2000, 0x2000, true, false, true},    // .text
    {0x25a0, 0x45a0, 0x100, 0x200, true, true, false},     // .data.rel.ro, .data, .bss
};

[[gnu::noinline]] int marker() { return 42; }

// dl_iterate_phdr's first entry is the main program; dlpi_addr is its bias.
std::uintptr_t main_program_bias() {
  std::optional<std::uintptr_t> bias;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* out) {
        *static_cast<std::optional<std::uintptr_t>*>(out) = info->dlpi_addr;
        return 1;  // stop after the first
      },
      &bias);
  REQUIRE(bias.has_value());
  return *bias;
}

}  // namespace

TEST_CASE("the load bias of a packed lld layout comes from the segment, not the file offset", "[crash]") {
  const std::uintptr_t base = 0x5555'5555'0000;
  // The kernel's mappings: r-- and r-x both start at file offset 0.
  const MappedRange rodata{base, base + 0x1000, 0x0, true, false, false};
  const MappedRange text{base + 0x1000, base + 0x3000, 0x0, true, false, true};
  const MappedRange data{base + 0x4000, base + 0x5000, 0x2000, true, true, false};
  CHECK(weft::crash::load_bias(kPacked, rodata, kPage) == base);
  CHECK(weft::crash::load_bias(kPacked, text, kPage) == base);
  CHECK(weft::crash::load_bias(kPacked, data, kPage) == base);
  // A pc 0x10 into .text is link address 0x15b0, though its file offset is 0x5b0.
  CHECK(base + 0x15b0 - *weft::crash::load_bias(kPacked, text, kPage) == 0x15b0);
}

TEST_CASE("a RELRO mapping split off a writable segment still gives the bias", "[crash]") {
  const std::uintptr_t base = 0x7f00'0000'0000;
  const std::vector<LoadSegment> segs = {{0x0, 0x0, 0x1000, 0x1000, true, false, true},
                                         {0x1e10, 0x2e10, 0x3000, 0x3400, true, true, false}};
  // mprotect(PT_GNU_RELRO) turned the first pages read-only: two mappings.
  const MappedRange relro{base + 0x2000, base + 0x4000, 0x1000, true, false, false};
  const MappedRange rw{base + 0x4000, base + 0x5000, 0x3000, true, true, false};
  CHECK(weft::crash::load_bias(segs, relro, kPage) == base);
  CHECK(weft::crash::load_bias(segs, rw, kPage) == base);
}

TEST_CASE("a mapping no segment can have made has no bias", "[crash]") {
  const MappedRange beyond{0x1000, 0x2000, 0x9000, true, false, true};
  CHECK_FALSE(weft::crash::load_bias(kPacked, beyond, kPage).has_value());
  const MappedRange exec_rodata{0x1000, 0x2000, 0x3000, true, false, true};  // past .text's bytes
  CHECK_FALSE(weft::crash::load_bias(kPacked, exec_rodata, kPage).has_value());
  CHECK(weft::crash::load_segments("/nonexistent/weft-elf").empty());
  CHECK(weft::crash::load_segments("/proc/self/maps").empty());  // not ELF
}

TEST_CASE("this binary's code mapping gives the bias the dynamic loader used", "[crash]") {
  char exe[4096] = {};
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  REQUIRE(n > 0);
  const std::vector<LoadSegment> segs = weft::crash::load_segments(exe);
  REQUIRE_FALSE(segs.empty());
  const auto pc = reinterpret_cast<std::uintptr_t>(&marker);
  std::ifstream maps("/proc/self/maps");
  std::optional<std::uintptr_t> bias;
  for (std::string line; std::getline(maps, line);) {
    std::istringstream in(line);
    std::string range, perms, offset, dev, inode, path;
    in >> range >> perms >> offset >> dev >> inode >> path;
    const std::uintptr_t start = std::stoull(range.substr(0, range.find('-')), nullptr, 16),
                         end = std::stoull(range.substr(range.find('-') + 1), nullptr, 16);
    if (path != exe || pc < start || pc >= end) continue;
    const MappedRange m{start, end, std::stoull(offset, nullptr, 16), perms[0] == 'r', perms[1] == 'w',
                        perms[2] == 'x'};
    bias = weft::crash::load_bias(segs, m, static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE)));
  }
  REQUIRE(bias.has_value());
  CHECK(*bias == main_program_bias());
  CHECK(marker() == 42);
}
