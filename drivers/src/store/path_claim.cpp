// The process-wide set of database files a writer holds: see path_claim.hpp.
#include "path_claim.hpp"

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>

namespace weft::store {
namespace {

struct Claims {
  std::mutex mutex;
  std::condition_variable released;
  std::set<std::string> held;
};

Claims& claims() {
  static Claims c;  // process lifetime: writers of static Stores may release it during exit
  return c;
}

std::string key_of(const std::string& db_path) {
  std::error_code ec;
  const auto abs = std::filesystem::absolute(db_path, ec);
  return (ec ? std::filesystem::path(db_path) : abs).lexically_normal().string();
}

}  // namespace

bool PathClaim::acquire(const std::string& db_path, std::chrono::steady_clock::duration limit) {
  release();
  std::string key = key_of(db_path);
  Claims& c = claims();
  std::unique_lock lock(c.mutex);
  if (!c.released.wait_for(lock, limit, [&] { return !c.held.contains(key); })) return false;
  c.held.insert(key);
  key_ = std::move(key);
  return true;
}

void PathClaim::release() noexcept {
  if (key_.empty()) return;
  Claims& c = claims();
  {
    std::lock_guard lock(c.mutex);
    c.held.erase(key_);
  }
  key_.clear();
  c.released.notify_all();
}

}  // namespace weft::store
