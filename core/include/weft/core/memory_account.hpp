// A service's held heap bytes and its [service.NAME] memory_limit.
//
// "Held" is the bytes of the blocks the service allocated (operator new on
// the loop thread while its handlers ran) and nobody has freed yet, whoever
// frees them: each such block carries its account in a 16-byte header
// (alloc_accounting.cpp says why and what it costs), so a buffer handed over
// the bus and freed by another service, the runtime or a pool thread is
// credited back to the service that allocated it.
//
// Accounts live in a fixed table for the whole process and are never freed:
// a block may outlive its service's record (a reload removed the service),
// and its header must still point at something. A service name keeps its
// account across restarts and reloads, so blocks an earlier run left behind
// stay charged to it. Written on the loop thread, except `held`, which a
// free on any thread lowers (relaxed atomic). Readers on the loop see exact
// figures; other threads, figures a few frees old.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "weft/core/clock.hpp"

namespace weft {

// A steady rise of the floor (the leak rule, README "Memory budgets"): the
// smallest held figure seen in each window of kWindow; a service whose floor
// rose in every one of the last kRises windows (an hour) is a suspected leak.
// Memory that is only busy comes back down between bursts and leaves the
// floor alone; a leak keeps lifting it. Loop thread only.
class LeakWatch {
public:
  static constexpr Duration kWindow = std::chrono::minutes(10);
  static constexpr int kRises = 6;

  void sample(MonoTime now, std::int64_t held) noexcept;
  bool suspected() const noexcept { return suspected_; }
  // The floor's rise over the last kRises windows (bytes), 0 unless suspected.
  std::int64_t rise() const noexcept { return suspected_ ? floors_[kRises] - floors_[0] : 0; }

private:
  bool started_ = false;
  MonoTime window_start_{};
  std::int64_t window_min_ = 0;
  std::array<std::int64_t, kRises + 1> floors_{};  // oldest first
  int floors_seen_ = 0;
  bool suspected_ = false;
};

struct MemoryAccount {
  std::atomic<std::int64_t> held{0};  // bytes requested by its live blocks
  std::int64_t high = 0;              // the most it ever held
  std::int64_t limit = 0;             // [service.NAME] memory_limit; 0: none
  std::uint64_t refusals = 0;         // allocations refused at the limit (bad_alloc thrown)
  std::int64_t refused_bytes = 0;     // the last refused request
  std::int64_t refused_held = 0;      // what it held then
  std::uint64_t refusals_logged = 0;  // refusals already in the log (memory_budget.cpp)
  LeakWatch leak;
};

namespace detail {
// The account of the service called `name` (loop thread): the same one for
// every run and reload of that name; nullptr once kMaxMemoryAccounts names
// have one (the service is then not tracked and its limit not enforced:
// the supervisor says so in the log).
inline constexpr std::size_t kMaxMemoryAccounts = 8192;
MemoryAccount* memory_account_for(std::string_view name);
// False under valgrind (alloc_accounting.cpp): no service is then tracked.
bool memory_accounting_enabled() noexcept;
}  // namespace detail

}  // namespace weft
