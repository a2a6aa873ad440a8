// Atomic replace of a small file: write `<path>.tmp`, fsync it, rename it
// over `path`, fsync the directory. A crash at any instant leaves the old or
// the new content, never a torn file; once it returns ok the new content
// survives a power cut. Blocking (fsync): call it off the loop thread.
#pragma once

#include <string>
#include <string_view>

namespace weft {

struct AtomicWriteError {
  int err = 0;            // errno of the failed step; 0: the file was replaced
  const char* doing = ""; // the step: "create", "write", "fsync", "rename", "fsync the directory of"
  std::string path;       // what that step worked on (the temp file, the target, or the directory)
  explicit operator bool() const noexcept { return err != 0; }
};

// A failed attempt removes the temp file it made, so it holds on to no space.
AtomicWriteError atomic_replace(const std::string& path, std::string_view text);

}  // namespace weft
