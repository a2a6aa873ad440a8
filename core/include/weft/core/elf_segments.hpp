// Turning a pc seen through /proc/PID/maps into the address the linker gave
// it, and back: the crash decoder needs this to carry a frame from the dead
// process into this one, and addr2line wants the link-time address.
// A mapping line says (start, file offset, permissions); the address of a
// byte is not its file offset whenever a loadable segment's p_offset differs
// from its p_vaddr (lld's default layout), and one file page can then be
// mapped twice (the tail of the read-only data and the head of the code,
// r-- and r-x). So the module's load bias is found from the PT_LOAD program
// header that the mapping comes from, matched by offset and permissions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace weft::crash {

// One PT_LOAD program header.
struct LoadSegment {
  std::uint64_t offset = 0, vaddr = 0, filesz = 0, memsz = 0;
  bool read = false, write = false, exec = false;
};

// The PT_LOAD headers of the ELF file at `path` (this machine's class and
// byte order); empty if it cannot be read or is not such a file.
std::vector<LoadSegment> load_segments(const std::string& path);

// One line of /proc/PID/maps for a file.
struct MappedRange {
  std::uintptr_t start = 0, end = 0, offset = 0;
  bool read = false, write = false, exec = false;
};

// The module's load bias (run-time address minus link-time address) given
// one of its mappings, or nullopt if no segment of `segments` can have
// produced it. `page` is the page size the mapping was made with.
std::optional<std::uintptr_t> load_bias(const std::vector<LoadSegment>& segments, const MappedRange& mapping,
                                        std::uintptr_t page);

}  // namespace weft::crash
