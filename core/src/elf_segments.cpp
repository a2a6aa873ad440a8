// Reads ELF program headers and matches a /proc/PID/maps line to the PT_LOAD
// segment it maps (see elf_segments.hpp for why offsets are not addresses).
// Reads only the ELF header and the program header table; never throws.
#include "weft/core/elf_segments.hpp"

#include <elf.h>
#include <link.h>  // ElfW: this machine's ELF class

#include <cstring>
#include <fstream>

namespace weft::crash {

std::vector<LoadSegment> load_segments(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ElfW(Ehdr) eh{};
  if (!in.read(reinterpret_cast<char*>(&eh), sizeof eh)) return {};
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return {};
  const unsigned char native_class = sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32;
  const unsigned char native_data = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
  if (eh.e_ident[EI_CLASS] != native_class || eh.e_ident[EI_DATA] != native_data) return {};
  // PN_XNUM (more than 65534 headers, count kept elsewhere) is not handled:
  // no executable or library has that many segments.
  if (eh.e_phentsize != sizeof(ElfW(Phdr)) || eh.e_phnum == 0 || eh.e_phnum == PN_XNUM) return {};
  if (!in.seekg(static_cast<std::streamoff>(eh.e_phoff))) return {};
  std::vector<LoadSegment> out;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    ElfW(Phdr) ph{};
    if (!in.read(reinterpret_cast<char*>(&ph), sizeof ph)) return {};
    if (ph.p_type != PT_LOAD) continue;
    out.push_back(LoadSegment{ph.p_offset, ph.p_vaddr, ph.p_filesz, ph.p_memsz, (ph.p_flags & PF_R) != 0,
                              (ph.p_flags & PF_W) != 0, (ph.p_flags & PF_X) != 0});
  }
  return out;
}

std::optional<std::uintptr_t> load_bias(const std::vector<LoadSegment>& segments, const MappedRange& mapping,
                                        std::uintptr_t page) {
  const auto down = [page](std::uint64_t v) { return v & ~static_cast<std::uint64_t>(page - 1); };
  // The kernel maps segment S from file offset down(S.offset) at address
  // bias + down(S.vaddr); a later mprotect (RELRO) can split that mapping,
  // so a mapping may start further into S, at the same distance in the file
  // and in memory. Code is never re-protected: a mapping's exec bit is its
  // segment's. Read and write must match too unless RELRO made the mapping
  // read-only, so an exact match wins over a writable segment's.
  const LoadSegment* best = nullptr;
  bool best_exact = false;
  for (const LoadSegment& s : segments) {
    if (s.exec != mapping.exec || s.filesz == 0) continue;
    if (mapping.offset < down(s.offset) || mapping.offset >= s.offset + s.filesz) continue;
    const bool exact = s.read == mapping.read && s.write == mapping.write;
    if (best == nullptr || (exact && !best_exact)) {
      best = &s;
      best_exact = exact;
    }
  }
  if (best == nullptr) return std::nullopt;
  const std::uint64_t link_start = down(best->vaddr) + (mapping.offset - down(best->offset));
  return static_cast<std::uintptr_t>(mapping.start - link_start);
}

}  // namespace weft::crash
