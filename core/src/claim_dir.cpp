// ClaimDir: see claim_dir.hpp. A claim is three steps:
//   1. open_locked(<dir>/<name>, exclusive): we hold the file. A claimer
//      that lost the race sees it busy (locked) or gone (moved away).
//   2. rename it, never replacing, to claimed/<name>. Only a lock holder
//      moves a queued file, so nobody moves it between 1 and 2.
//   3. keep the lock until finish/release/death.
// Locking before moving (not after) leaves no instant where a file sits in
// claimed/ unlocked while its claimer lives, so "unlocked in claimed/"
// means "abandoned" with no pid or boot-id guesswork.
#include "weft/core/claim_dir.hpp"

#include <algorithm>
#include <functional>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string_view>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rename_no_replace.hpp"

namespace weft {
namespace {

constexpr int kClaimFlags = O_RDWR | O_NOFOLLOW | O_NONBLOCK;  // O_NONBLOCK: a FIFO put there never blocks us

bool claimable_name(std::string_view name) {
  if (name.empty() || name.front() == '.') return false;
  return !(name.size() >= 4 && name.substr(name.size() - 4) == ".tmp");
}

// Names in `dir` a claimer may try, largest first (so pop_back is smallest).
std::vector<std::string> list_claimable(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) throw std::runtime_error("claim dir " + dir + ": cannot list it: " + std::strerror(errno));
  while (const dirent* e = ::readdir(d)) {
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;  // claimed/, symlinks, FIFOs
    if (claimable_name(e->d_name)) names.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end(), std::greater<>());
  return names;
}

// Lost a race or not a plain file: skip it, quietly.
bool skippable(int err) { return err == EAGAIN || err == ENOENT || err == ELOOP || err == EISDIR || err == ENXIO; }

bool regular_file(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

std::string Claim::finish() {
  if (::unlink(path_.c_str()) != 0) return "cannot remove the claimed file " + path_ + ": " + std::strerror(errno);
  file_.close();  // after the unlink: a take-over that opened it first finds it gone, not abandoned
  return {};
}

std::string Claim::release() {
  if (const int err = detail::rename_no_replace(path_.c_str(), queued_path_.c_str()))
    return "cannot give " + path_ + " back as " + queued_path_ + ": " + std::strerror(err);
  file_.close();
  return {};
}

ClaimDir::ClaimDir(std::string dir)
    : dir_(std::move(dir)), claimed_dir_((std::filesystem::path(dir_) / kClaimedDir).string()) {
  std::error_code ec;
  std::filesystem::create_directories(claimed_dir_, ec);
  if (ec) throw std::runtime_error("claim dir " + claimed_dir_ + ": cannot create it: " + ec.message());
}

void ClaimDir::rescan() { pending_ = list_claimable(dir_); }

std::optional<Claim> ClaimDir::try_claim(const std::string& name) {
  const std::string queued = dir_ + "/" + name;
  LockError error;
  LockedFile file = open_locked(queued, kClaimFlags, LockKind::exclusive, error);
  if (!file) {
    if (skippable(error.err)) return std::nullopt;
    throw std::runtime_error("claim dir " + dir_ + ": " + error.message);
  }
  if (!regular_file(file.fd())) return std::nullopt;
  const std::string claimed = claimed_dir_ + "/" + name;
  const int err = detail::rename_no_replace(queued.c_str(), claimed.c_str());
  // EEXIST: an abandoned claim of the same name sits in claimed/; this one
  // waits in the queue until that is taken over.
  if (err == EEXIST || err == ENOENT) return std::nullopt;
  if (err != 0)
    throw std::runtime_error("claim dir " + dir_ + ": cannot move " + queued + " to " + claimed + ": " +
                             std::strerror(err));
  return Claim(std::move(file), name, claimed, queued);
}

std::optional<Claim> ClaimDir::claim() {
  bool scanned = false;
  for (;;) {
    if (pending_.empty()) {
      if (scanned) return std::nullopt;
      rescan();
      scanned = true;
    }
    while (!pending_.empty()) {
      const std::string name = std::move(pending_.back());
      pending_.pop_back();
      if (std::optional<Claim> c = try_claim(name)) return c;
    }
  }
}

std::vector<Claim> ClaimDir::take_over_abandoned() {
  std::vector<Claim> out;
  std::vector<std::string> names = list_claimable(claimed_dir_);
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    const std::string claimed = claimed_dir_ + "/" + *it;
    LockError error;
    LockedFile file = open_locked(claimed, kClaimFlags, LockKind::exclusive, error);
    if (!file) {
      if (skippable(error.err)) continue;  // held by a live claimer, or finished meanwhile
      throw std::runtime_error("claim dir " + dir_ + ": " + error.message);
    }
    if (!regular_file(file.fd())) continue;
    out.push_back(Claim(std::move(file), *it, claimed, dir_ + "/" + *it));
  }
  return out;
}

}  // namespace weft
