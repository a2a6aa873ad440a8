// The ELF build id (NT_GNU_BUILD_ID) of the running executable, as the
// linker wrote it (`readelf -n`, `file`): read from the program's own
// PT_NOTE segments in memory (dl_iterate_phdr), not from the file, so it
// is the binary that runs even after a package replaced the file on disk.
// No allocation beyond the result; no system call.
#pragma once

#include <string>

namespace weft {

// Lowercase hex ("a1b2..."), or "" when the executable carries none.
std::string own_build_id();

}  // namespace weft
