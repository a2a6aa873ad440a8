// The parts compiled into weftd that no loaded shared object shows: the
// header-only and static libraries, with the versions CMake found at
// configure time (build_manifest.cpp.in, configured into the build dir).
// weftd --licenses and --sbom print them.
#pragma once

#include <span>

namespace weftd::build_manifest {

struct Component {
  const char* name;
  const char* version;
  const char* license;  // SPDX identifier
  const char* how;      // "header-only", "headers; shared library listed above", ...
};

extern const char* const kVersion;   // weft's version (CMake project version)
extern const char* const kCompiler;  // compiler id and version
extern const std::span<const Component> kComponents;

}  // namespace weftd::build_manifest
