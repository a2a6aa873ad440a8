// Tests of read coalescing: adjacent and overlapping points merge, gaps beyond
// max_gap and the per-request cap split, every point is placed at its offset,
// the plan does not depend on input order, and invalid points are rejected.
#include "weft/drivers/modbus/coalesce.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace weft::modbus;
using Catch::Matchers::Contains;
using Ranges = std::vector<AddressRange>;

namespace {

// Every point lies wholly inside its read, at its offset.
void check_placements(const Ranges& points, const ReadPlan& plan, std::uint16_t cap) {
  REQUIRE(plan.placements.size() == points.size());
  for (const AddressRange& read : plan.reads) {
    CHECK(read.count <= cap);
  }
  for (std::size_t i = 0; i < points.size(); ++i) {
    const Placement& place = plan.placements[i];
    REQUIRE(place.read < plan.reads.size());
    const AddressRange& read = plan.reads[place.read];
    CHECK(read.start + place.offset == points[i].start);
    CHECK(place.offset + points[i].count <= read.count);
  }
}

}  // namespace

TEST_CASE("modbus coalesce merges adjacent points", "[modbus][coalesce]") {
  const Ranges points{{100, 2}, {102, 1}, {103, 2}};
  const ReadPlan plan = coalesce(points);
  CHECK(plan.reads == Ranges{{100, 5}});
  CHECK(plan.placements == std::vector<Placement>{{0, 0}, {0, 2}, {0, 3}});
}

TEST_CASE("modbus coalesce splits at gaps wider than max_gap", "[modbus][coalesce]") {
  const Ranges points{{100, 2}, {104, 2}};
  CHECK(coalesce(points).reads == Ranges{{100, 2}, {104, 2}});
  CHECK(coalesce(points, {125, 1}).reads == Ranges{{100, 2}, {104, 2}});
  const ReadPlan bridged = coalesce(points, {125, 2});
  CHECK(bridged.reads == Ranges{{100, 6}});
  CHECK(bridged.placements == std::vector<Placement>{{0, 0}, {0, 4}});
}

TEST_CASE("modbus coalesce splits at the per-request cap", "[modbus][coalesce]") {
  Ranges points;
  for (std::uint16_t address = 0; address < 300; address += 2) {
    points.push_back({address, 2});  // 150 float32 points, back to back
  }
  const ReadPlan plan = coalesce(points);
  CHECK(plan.reads == Ranges{{0, 124}, {124, 124}, {248, 52}});  // a point never straddles two reads
  check_placements(points, plan, 125);

  const ReadPlan small = coalesce(Ranges{{0, 2}, {2, 2}, {4, 2}}, {4, 0});
  CHECK(small.reads == Ranges{{0, 4}, {4, 2}});
  CHECK(small.placements == std::vector<Placement>{{0, 0}, {0, 2}, {1, 0}});
}

TEST_CASE("modbus coalesce shares registers between overlapping points", "[modbus][coalesce]") {
  const Ranges points{{10, 2}, {10, 1}, {11, 1}, {9, 4}};
  const ReadPlan plan = coalesce(points);
  CHECK(plan.reads == Ranges{{9, 4}});
  CHECK(plan.placements == std::vector<Placement>{{0, 1}, {0, 1}, {0, 2}, {0, 0}});
}

TEST_CASE("modbus coalesce orders reads by address whatever the input order", "[modbus][coalesce]") {
  Ranges points{{500, 2}, {10, 1}, {200, 4}, {11, 1}, {204, 2}, {40000, 2}};
  const ReadPlan plan = coalesce(points);
  CHECK(plan.reads == Ranges{{10, 2}, {200, 6}, {500, 2}, {40000, 2}});
  check_placements(points, plan, 125);

  std::sort(points.begin(), points.end(), [](auto& a, auto& b) { return a.start > b.start; });
  CHECK(coalesce(points).reads == plan.reads);
  check_placements(points, coalesce(points), 125);
}

TEST_CASE("modbus coalesce handles the edges of the address space and empty input", "[modbus][coalesce]") {
  CHECK(coalesce(Ranges{}).reads.empty());
  CHECK(coalesce(Ranges{{65534, 2}, {65530, 1}}, {125, 3}).reads == Ranges{{65530, 6}});
  CHECK(coalesce(Ranges{{0, 2000}}, {2000, 0}).reads == Ranges{{0, 2000}});
}

TEST_CASE("modbus coalesce rejects invalid points and options", "[modbus][coalesce]") {
  CHECK_THROWS_WITH(coalesce(Ranges{{0, 2}, {100, 126}}),
                    Contains("point 1 (start 100, count 126) is wider than 125 per request"));
  CHECK_THROWS_WITH(coalesce(Ranges{{7, 0}}), Contains("point 0 (start 7, count 0) is empty"));
  CHECK_THROWS_WITH(coalesce(Ranges{{65535, 2}}), Contains("runs past address 65535"));
  CHECK_THROWS_WITH(coalesce(Ranges{{0, 1}}, {0, 0}), Contains("max_registers_per_request 0 out of range"));
  CHECK_THROWS_WITH(coalesce(Ranges{{0, 1}}, {2001, 0}), Contains("max_registers_per_request 2001"));
}
