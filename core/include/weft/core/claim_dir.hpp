// Claim-a-file: a directory as a work queue that several processes (or
// several owners in one process) take files from. A claim moves
// `<dir>/<name>` to `<dir>/claimed/<name>` and hands over the file open and
// locked; two claimers never get the same file. The claimer holds an
// exclusive OFD lock (locked_file.hpp) on the file from before it is moved
// until it is finished, released or the claimer dies, so a file in
// claimed/ that nobody holds locked is exactly a claim left by a crash:
// take_over_abandoned() finds those (at the next start, or any time).
//
// Producers put files in with atomic_create (never replacing; unique names).
// Names starting with '.' or ending in ".tmp" are never claimed (a
// producer's temp files). Exactly once among running processes; over a
// power cut at-least-once: the moves are not fsynced, so a claim or a
// finish may be undone and the file handed out again.
// Blocking syscalls: off the loop thread (ctx.blocking).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "weft/core/locked_file.hpp"

namespace weft {

// One claimed file. Dropping it without finish() or release() leaves it
// abandoned in claimed/, as a crash would.
class Claim {
public:
  const std::string& name() const noexcept { return name_; }  // its name in the queue
  const std::string& path() const noexcept { return path_; }  // where it is: <dir>/claimed/<name>
  int fd() const noexcept { return file_.fd(); }              // O_RDWR, locked, at offset 0

  // Done with it: removes the file. Empty on success, else why not (the
  // claim is then still held).
  std::string finish();
  // Gives it back to the queue (as <dir>/<name>) for the next claimer.
  // Empty on success, else why not (still held; EEXIST: a new file of that
  // name is in the queue).
  std::string release();

private:
  friend class ClaimDir;
  Claim(LockedFile file, std::string name, std::string path, std::string queued_path)
      : file_(std::move(file)), name_(std::move(name)), path_(std::move(path)), queued_path_(std::move(queued_path)) {}
  LockedFile file_;
  std::string name_;
  std::string path_;
  std::string queued_path_;
};

class ClaimDir {
public:
  static constexpr const char* kClaimedDir = "claimed";

  // Creates `dir` and `dir/claimed` if missing. Throws std::runtime_error naming the directory.
  explicit ClaimDir(std::string dir);

  const std::string& dir() const noexcept { return dir_; }

  // Claims the next file (smallest name first, from a listing refreshed
  // when it runs out), or nothing when no file is left to claim. Files
  // another claimer took meanwhile are skipped. Throws std::runtime_error
  // naming the file for an unexpected failure (EMFILE, EIO...).
  std::optional<Claim> claim();

  // Every claim in claimed/ with no live holder, now held by us: finish or
  // release each. Claims that other claimers hold are left alone.
  std::vector<Claim> take_over_abandoned();

private:
  std::optional<Claim> try_claim(const std::string& name);
  void rescan();

  std::string dir_;
  std::string claimed_dir_;
  std::vector<std::string> pending_;  // names from the last listing not yet tried, largest first
};

}  // namespace weft
