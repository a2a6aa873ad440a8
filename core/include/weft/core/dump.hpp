// Dumps: a text picture of the whole runtime for a person debugging a box
// they cannot see (SIGUSR1, the console's `dump`, a hang). Every service
// with its state, readiness, await site and since when, restarts, loop
// time, slices, longest slice, allocations; the bus's subscriber queues;
// loop lag; and sections contributed by drivers and services (a serial
// bus's flight recorder...) through DumpSections. Loop thread only: a hang
// dump, made on the monitor thread, formats the snapshot the loop took on
// its last health tick (core/src/hang_snapshot.hpp), so section producers
// run on the loop once a second and should be cheap.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "weft/core/clock.hpp"
#include "weft/core/loop_lag.hpp"
#include "weft/core/runtime.hpp"

namespace weft {

class DumpSections;

// Removes its section when destroyed. Movable, not copyable.
class [[nodiscard]] DumpSectionHandle {
public:
  DumpSectionHandle() = default;
  DumpSectionHandle(DumpSectionHandle&& o) noexcept;
  DumpSectionHandle& operator=(DumpSectionHandle&& o) noexcept;
  ~DumpSectionHandle();
  DumpSectionHandle(const DumpSectionHandle&) = delete;
  DumpSectionHandle& operator=(const DumpSectionHandle&) = delete;
  void reset() noexcept;

private:
  friend class DumpSections;
  DumpSectionHandle(DumpSections* sections, std::uint64_t id) noexcept : sections_(sections), id_(id) {}
  DumpSections* sections_ = nullptr;
  std::uint64_t id_ = 0;
};

// Named text producers, called (on the loop) for each dump and each health tick (the hang snapshot).
class DumpSections {
public:
  using Producer = std::function<std::string()>;
  DumpSections() = default;
  DumpSections(const DumpSections&) = delete;
  DumpSections& operator=(const DumpSections&) = delete;

  DumpSectionHandle add(std::string title, Producer producer);
  // title -> text, in registration order. A producer that throws yields
  // "(section failed: ...)" instead of spoiling the dump.
  std::vector<std::pair<std::string, std::string>> render() const;
  std::size_t size() const noexcept { return entries_.size(); }

private:
  friend class DumpSectionHandle;
  struct Entry {
    std::uint64_t id;
    std::string title;
    Producer producer;
  };
  void remove(std::uint64_t id) noexcept;
  std::vector<Entry> entries_;
  std::uint64_t next_id_ = 1;
};

struct BusQueueInfo {
  std::string owner;  // the subscribing service, or "(runtime)"
  std::string pattern;
  std::size_t depth = 0;
  std::size_t capacity = 0;
  std::uint64_t dropped = 0;
};

struct DumpInput {
  std::string reason;          // "SIGUSR1", "console", "hang: ..."
  std::int64_t wall_ns = 0;
  MonoTime now{};              // when the state below was taken ("since" is relative to it)
  std::string note;            // a line under the header (a hang dump: how old its state is), or empty
  std::vector<ServiceSnapshot> services;
  std::vector<BusQueueInfo> bus_queues;
  std::uint64_t bus_published = 0;
  std::uint64_t bus_dropped = 0;
  LoopLagSnapshot loop_lag;
  std::uint64_t stalls = 0;
  std::vector<std::pair<std::string, std::string>> sections;
};

std::string format_dump(const DumpInput& in);

// Writes `text` to <dir>/<stamp>-<pid>.txt (created if missing) atomically
// (atomic_create: a kill or a full disk leaves no dump cut short) and keeps
// the newest `keep` dumps. Blocking file I/O: the blocking pool, or the
// monitor thread. Returns the path. Throws std::runtime_error naming it.
std::string write_dump_file(const std::string& dir, const std::string& text, std::int64_t wall_ns,
                            std::size_t keep = 20);

// "1.234 s", "12.3 ms", "45 us": a duration as a person reads it.
std::string human_duration(Duration d);

}  // namespace weft
