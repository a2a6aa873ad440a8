// weftd --licenses and --sbom: what exactly runs here. The shared objects
// the dynamic loader loaded into THIS process (dl_iterate_phdr), each with
// the Debian package that owns its file (/var/lib/dpkg/info/*.list), that
// package's installed version (/var/lib/dpkg/status) and licence (the
// `Files: *` paragraph of its DEP-5 /usr/share/doc/PKG/copyright, else
// NOASSERTION), plus the parts compiled into the binary (header-only and
// static libraries) from the build manifest CMake generated
// (build_manifest.cpp.in). --licenses prints a table, --sbom the same as an
// SPDX 2.3 JSON document (the build writes it into the package:
// packaging/CMakeLists.txt, target weft-sbom).
// One-shot command-line modes: plain blocking reads, no event loop runs.
#pragma once

#include <iosfwd>

namespace weftd {

// Prints the table to `out`; 0, or 1 when a file could not be read (said on `err`).
int print_licenses(std::ostream& out, std::ostream& err);
// Prints the SPDX 2.3 JSON document to `out`; 0 or 1 as above.
int print_sbom(std::ostream& out, std::ostream& err);

}  // namespace weftd
