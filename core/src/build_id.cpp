// own_build_id (build_id.hpp): the first object dl_iterate_phdr reports is
// the executable; its PT_NOTE segments hold the GNU build-id note.
#include "weft/core/build_id.hpp"

#include <elf.h>
#include <link.h>

#include <cstdint>
#include <cstring>

namespace weft {
namespace {

// Note headers and descriptors are 4-byte aligned in ELF64 and ELF32 alike.
constexpr std::size_t align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

int find_in_executable(dl_phdr_info* info, std::size_t, void* data) {
  auto* out = static_cast<std::string*>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const auto* p = reinterpret_cast<const unsigned char*>(info->dlpi_addr + ph.p_vaddr);
    const unsigned char* end = p + ph.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      ElfW(Nhdr) n;
      std::memcpy(&n, p, sizeof n);
      const unsigned char* name = p + sizeof n;
      const unsigned char* desc = name + align4(n.n_namesz);
      if (desc + n.n_descsz > end) break;
      if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
        static constexpr char kHex[] = "0123456789abcdef";
        for (std::size_t k = 0; k < n.n_descsz; ++k) {
          *out += kHex[desc[k] >> 4];
          *out += kHex[desc[k] & 0xf];
        }
        return 1;
      }
      p = desc + align4(n.n_descsz);
    }
  }
  return 1;  // only the first object (the executable) is looked at
}

}  // namespace

std::string own_build_id() {
  std::string id;
  dl_iterate_phdr(find_in_executable, &id);
  return id;
}

}  // namespace weft
