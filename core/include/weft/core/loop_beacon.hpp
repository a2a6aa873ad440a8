// The loop beacon: where the loop thread is, published for the stall
// monitor and the crash handler on other threads. One writer (the loop
// thread: a slice begins or ends, or the loop's probe timer runs); any
// number of readers, who get one whole turn's record (which service runs,
// the await site it resumed from, since when) or nothing, never a mix of two
// turns. It is a seqlock: the writer makes the sequence odd, stores the
// fields, makes it even again; a reader retries while the sequence is odd or
// changed under it, a bounded number of times. Every field is an atomic, so
// a reader racing the writer is no data race (ThreadSanitizer agrees).
// Writer cost: a handful of plain stores (x86) per slice boundary.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

namespace weft {

struct ServiceStats;

// One turn of the loop, as a reader sees it.
struct LoopTurn {
  std::uint64_t turn = 0;                  // the beacon's sequence: a new value each turn
  const ServiceStats* service = nullptr;   // whose slice runs; null: runtime code. An address, not to dereference
  std::int64_t start_ns = 0;               // steady_clock ns the turn began
  const char* site_what = nullptr;         // the await site it resumed from (static strings), or null
  const char* site_file = nullptr;
  std::uint32_t site_line = 0;
};

class LoopBeacon {
public:
  // Loop thread only. `site` is the wait `running` resumes from (empty when
  // it resumes from none); its strings are static (see AwaitSite).
  void turn(const ServiceStats* running, std::int64_t now_ns, const char* site_what = nullptr,
            const char* site_file = nullptr, std::uint32_t site_line = 0) noexcept {
    const std::uint64_t seq = seq_.load(std::memory_order_relaxed);  // only this thread writes it
    seq_.store(seq + 1, std::memory_order_relaxed);
    // Release stores: a reader that sees any of these values also sees the
    // odd sequence above when it checks again, and retries.
    service_.store(running, std::memory_order_release);
    start_ns_.store(now_ns, std::memory_order_release);
    site_what_.store(site_what, std::memory_order_release);
    site_file_.store(site_file, std::memory_order_release);
    site_line_.store(site_line, std::memory_order_release);
    seq_.store(seq + 2, std::memory_order_release);
  }
  // Loop thread only: a new turn of the same service at the same site (the
  // probe timer ran: the loop is turning).
  void restart(std::int64_t now_ns) noexcept {
    const std::uint64_t seq = seq_.load(std::memory_order_relaxed);
    seq_.store(seq + 1, std::memory_order_relaxed);
    start_ns_.store(now_ns, std::memory_order_release);
    seq_.store(seq + 2, std::memory_order_release);
  }

  // Any thread, async-signal-safe: one turn's record, or nullopt when the
  // writer was mid-store on each of `attempts` tries (the loop is turning).
  std::optional<LoopTurn> read(int attempts = 64) const noexcept;
  // The running service alone, without the consistency guarantee: for the
  // crash handler when read() fails (a crash inside turn() itself).
  const ServiceStats* service_unchecked() const noexcept { return service_.load(std::memory_order_relaxed); }

  // The loop thread's kernel thread id (crash reports say whether the crash
  // was on the loop). Set once before the loop runs.
  std::atomic<int> loop_tid{0};

private:
  std::atomic<std::uint64_t> seq_{0};  // odd: a write is under way
  std::atomic<const ServiceStats*> service_{nullptr};
  std::atomic<std::int64_t> start_ns_{0};
  std::atomic<const char*> site_what_{nullptr};
  std::atomic<const char*> site_file_{nullptr};
  std::atomic<std::uint32_t> site_line_{0};
};

// Makes SliceScope on this thread report to `beacon` (null: stop). The
// runtime sets it on its loop thread for the length of run().
void set_thread_loop_beacon(LoopBeacon* beacon) noexcept;

}  // namespace weft
