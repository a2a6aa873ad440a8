// The record intake (record_intake.hpp) on a bus alone: a new pattern or
// capacity swaps the subscription without losing or doubling a reading
// (what waited in the old queue comes first, in order); drops are reported
// once, on the first reading taken after them, also across a swap; the
// same settings keep the subscription; release() counts what it threw away;
// assembling a config (no run) never subscribes.
#include "weft/apps/record/record_intake.hpp"

#include <catch2/catch.hpp>

#include <vector>

#include "weft/apps/assembly/assemble.hpp"

using weft::Bus;
using weft::Reading;
using weft::apps::RecordIntake;

namespace {

Reading intake_reading(std::string point, std::int64_t v) {
  Reading r;
  r.point = std::move(point);
  r.value = v;
  return r;
}

// (value, lost_before) of everything waiting, in take order.
std::vector<std::pair<std::int64_t, std::uint64_t>> intake_drain(RecordIntake& in) {
  std::vector<std::pair<std::int64_t, std::uint64_t>> out;
  while (auto item = in.try_take()) out.emplace_back(std::get<std::int64_t>(item->reading.value), item->lost_before);
  return out;
}

using IntakeTaken = std::vector<std::pair<std::int64_t, std::uint64_t>>;

}  // namespace

TEST_CASE("record intake: a new pattern or capacity loses and doubles nothing", "[record][intake]") {
  weft::VirtualClock clock;
  Bus bus(clock);
  RecordIntake in;
  CHECK(in.configure(bus, "a.*", 10));
  CHECK_FALSE(in.configure(bus, "a.*", 10));  // unchanged: the same queue
  for (std::int64_t i = 1; i <= 3; ++i) bus.publish(intake_reading("a.x", i));
  bus.publish(intake_reading("b.x", 100));  // not selected by the pattern in force
  CHECK(in.configure(bus, "*", 20));           // the reload's new settings, at record's next run
  CHECK(bus.stats().subscribers == 1);         // the old subscription is gone
  bus.publish(intake_reading("b.x", 4));
  bus.publish(intake_reading("a.x", 5));
  CHECK(in.depth() == 5);
  CHECK(intake_drain(in) == IntakeTaken{{1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 0}});
  CHECK(in.capacity() == 20);
  CHECK(in.pattern() == "*");
}

TEST_CASE("record intake: drops are reported once, before the reading after them, also across a swap",
          "[record][intake]") {
  weft::VirtualClock clock;
  Bus bus(clock);
  RecordIntake in;
  in.configure(bus, "*", 3);
  for (std::int64_t i = 1; i <= 5; ++i) bus.publish(intake_reading("p", i));  // 1, 2 dropped
  CHECK(in.dropped() == 2);
  auto first = in.try_take();
  REQUIRE(first);
  CHECK(first->lost_before == 2);
  CHECK(std::get<std::int64_t>(first->reading.value) == 3);
  for (std::int64_t i = 6; i <= 8; ++i) bus.publish(intake_reading("p", i));  // 4 and 5 dropped (queue 4, 5 -> 6, 7, 8)
  in.configure(bus, "*", 10);  // swapped while drops are unreported
  bus.publish(intake_reading("p", 9));
  CHECK(intake_drain(in) == IntakeTaken{{6, 2}, {7, 0}, {8, 0}, {9, 0}});
  CHECK(in.dropped() == 4);  // over the process, both subscriptions
  bus.publish(intake_reading("p", 10));
  in.release();
  CHECK(in.released_unrecorded() == 1);
  CHECK_FALSE(in.subscribed());
  CHECK(bus.stats().subscribers == 0);
  CHECK(in.dropped() == 4);
}

TEST_CASE("record intake: assembling (as --check-config and reload --dry-run do) subscribes nothing",
          "[record][intake]") {
  RecordIntake in;
  weft::apps::RunMode mode;
  mode.record_intake = &in;
  const auto assembly = weft::apps::assemble(
      weft::Config::parse("[store]\npath = \"/nonexistent/x.db\"\n[service.record]\ncapacity = 5\n", "box.toml"), mode);
  CHECK(assembly.services.size() == 1);
  CHECK_FALSE(in.subscribed());
  CHECK(in.depth() == 0);
}
