// Atomic files: a small file replaced or created whole. The text goes to a
// temp file in the same directory, `<path>.<pid>-<n>.tmp` (unique per writer:
// two threads or processes never share one), which is fsynced, renamed into
// place and the directory fsynced. A kill at any instant leaves the old or
// the new content, never a torn file; once a call returns ok the new
// content survives a power cut. Temps left by a writer that died are
// removed by the next replace of the same file (remove_abandoned_temps).
// Blocking (fsync): call these off the loop thread (ctx.blocking, the
// blocking pool, the store's writer thread, the monitor thread).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace weft {

struct AtomicWriteError {
  int err = 0;            // errno of the failed step; 0: the file was written
  const char* doing = ""; // the step: "create", "write", "fsync", "rename", "fsync the directory of"
  std::string path;       // what that step worked on (the temp file, the target, or the directory)
  explicit operator bool() const noexcept { return err != 0; }
  // "cannot fsync /data/x.toml.12-3.tmp: No space left on device"
  std::string message() const;
};

// Replaces `path` with `text` (creating it if missing). A failed attempt
// removes the temp file it made, so it holds on to no space.
AtomicWriteError atomic_replace(const std::string& path, std::string_view text);

// Creates `path` with `text`, but never replaces a file already there: then
// it fails with EEXIST (doing "rename") and leaves that file alone. For
// files with unique names (dumps, reports, files put into a ClaimDir).
AtomicWriteError atomic_create(const std::string& path, std::string_view text);

// Removes temp files of writers that died in `dir`: names `<target>.<pid>-<n>.tmp`
// whose pid is not a live process. `target` empty: any target's temps (a
// directory weft owns, like the dumps dir); else only that file's. A pid
// that is alive (ours, or reused by another process) keeps its temp: it is
// ignored by readers and removed once that pid is gone. Returns how many
// were removed; errors are ignored (this is housekeeping).
std::size_t remove_abandoned_temps(const std::string& dir, std::string_view target = {});

}  // namespace weft
