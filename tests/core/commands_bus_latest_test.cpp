// The bus's latest-value table (for the console's points and read): one
// entry per point, overwritten by each publish, glob queries sorted by name.
#include "weft/core/bus.hpp"

#include <catch2/catch.hpp>

using namespace weft;

namespace {
Reading reading(std::string point, Value v, std::int64_t mono_ns, Quality q = Quality::good) {
  return Reading{std::move(point), std::move(v), q, mono_ns, BootId{}, 0};
}
}  // namespace

TEST_CASE("bus latest: the newest reading of each point is kept, without subscribers", "[commands][bus]") {
  VirtualClock clock;
  Bus bus(clock);
  CHECK(bus.latest("a.x") == nullptr);
  bus.publish(reading("a.x", 1.0, 10));
  bus.publish(reading("a.y", std::int64_t{2}, 11));
  bus.publish(reading("a.x", 3.0, 12, Quality::comm_error));
  REQUIRE(bus.latest("a.x") != nullptr);
  CHECK(std::get<double>(bus.latest("a.x")->value) == 3.0);
  CHECK(bus.latest("a.x")->quality == Quality::comm_error);
  CHECK(bus.latest("a.x")->mono_ns == 12);
  CHECK(bus.latest_size() == 2);
}

TEST_CASE("bus latest: glob queries match with fnmatch and come sorted", "[commands][bus]") {
  VirtualClock clock;
  Bus bus(clock);
  for (const char* p : {"plant.b", "box.uptime", "plant.a", "plant.c.d"}) bus.publish(reading(p, 1.0, 1));
  std::vector<std::string> names;
  for (const Reading* r : bus.latest_matching("plant.*")) names.push_back(r->point);
  CHECK(names == std::vector<std::string>{"plant.a", "plant.b", "plant.c.d"});
  CHECK(bus.latest_matching("*").size() == 4);
  CHECK(bus.latest_matching("nothing*").empty());
}

TEST_CASE("bus latest: bounded by kLatestPoints, further points are counted, not kept", "[commands][bus]") {
  VirtualClock clock;
  Bus bus(clock);
  for (std::size_t i = 0; i < Bus::kLatestPoints + 3; ++i) bus.publish(reading("p" + std::to_string(i), 1.0, 1));
  CHECK(bus.latest_size() == Bus::kLatestPoints);
  CHECK(bus.latest_untracked() == 3);
  bus.publish(reading("p0", 2.0, 2));  // a kept point still updates
  CHECK(std::get<double>(bus.latest("p0")->value) == 2.0);
}
