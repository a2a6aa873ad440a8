// The loop beacon is a seqlock: a reader on another thread gets one whole
// turn's record (service, await site, turn start) or nothing, never fields
// of two turns. A writer thread publishes turns whose fields all encode the
// same index; the reader checks every record it gets against that index.
// Bounded by counts, not time: the reader stops once it has seen the turn
// change between two back-to-back reads often enough (the threads ran at
// once: only then can a read land inside a write), or after a fixed number
// of reads; the writer runs until the reader stops.
#include "weft/core/loop_beacon.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <thread>

#include "weft/core/service_stats.hpp"

namespace {

constexpr int kServices = 4;
constexpr std::array<const char*, kServices> kWhat{"sleep", "ticker", "bus receive", "blocking work"};
constexpr std::array<const char*, kServices> kFile{"a.cpp", "b.cpp", "c.cpp", "d.cpp"};

}  // namespace

TEST_CASE("a beacon reader sees one whole turn, never fields of two", "[stall][beacon]") {
  std::array<weft::ServiceStats, kServices> stats{};
  weft::LoopBeacon beacon;
  // Turn i: service, site and line all say i % kServices, and so does start_ns = i.
  auto publish = [&](std::int64_t i) {
    const auto k = static_cast<std::size_t>(i % kServices);
    beacon.turn(&stats[k], i, kWhat[k], kFile[k], static_cast<std::uint32_t>(100 + k));
  };
  publish(0);
  constexpr std::uint64_t kRaced = 2'000, kMaxReads = 30'000'000;
  std::atomic<bool> reader_done{false};
  std::thread writer([&] {
    for (std::int64_t i = 1; !reader_done.load(std::memory_order_relaxed); ++i) publish(i);
  });

  std::uint64_t reads = 0, mixed = 0, gave_up = 0, raced = 0, last_turn = 0;
  bool went_back = false;
  for (std::uint64_t n = 1; n <= kMaxReads && raced < kRaced; ++n) {
    const auto t = beacon.read();
    if (!t) {
      ++gave_up;
      continue;
    }
    ++reads;
    const auto k = static_cast<std::size_t>(t->start_ns % kServices);
    if (t->service != &stats[k] || t->site_what != kWhat[k] || t->site_file != kFile[k] || t->site_line != 100 + k)
      ++mixed;
    if (t->turn < last_turn) went_back = true;
    if (t->turn != last_turn && last_turn != 0) ++raced;
    last_turn = t->turn;
  }
  reader_done.store(true);
  writer.join();
  INFO("reads " << reads << ", turn changes between back-to-back reads " << raced << ", reads that gave up "
                 << gave_up);
  CHECK(mixed == 0);
  CHECK_FALSE(went_back);
  // The reader must have raced the writer (seen it turn between two reads,
  // or mid-write), or the check above proved nothing.
  REQUIRE(raced + gave_up >= 10);
  // After the writer stopped, a read succeeds at once and sees its last turn.
  const auto final_turn = beacon.read();
  REQUIRE(final_turn.has_value());
  CHECK(final_turn->turn >= last_turn);
}

TEST_CASE("a probe restart is a new turn of the same service at the same site", "[stall][beacon]") {
  weft::LoopBeacon beacon;
  weft::ServiceStats stats;
  beacon.turn(&stats, 42, "sleep", "a.cpp", 7);
  const auto first = beacon.read(1);
  REQUIRE(first.has_value());
  CHECK(first->service == &stats);
  CHECK(first->start_ns == 42);
  beacon.restart(99);
  const auto second = beacon.read(1);
  REQUIRE(second.has_value());
  CHECK(second->turn != first->turn);
  CHECK(second->service == &stats);
  CHECK(second->start_ns == 99);
  CHECK(second->site_what == first->site_what);
  CHECK(second->site_line == 7U);
}
