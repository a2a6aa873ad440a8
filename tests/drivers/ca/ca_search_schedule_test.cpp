// Tests of the search schedule (libca's back-off) on a virtual clock: the
// lanes libca makes of EPICS_CA_MAX_SEARCH_PERIOD, a name never answered is
// re-sent after 32 ms, 64 ms, 128 ms ... never more than the maximum apart;
// answered names leave and tighten the round-trip estimate; datagrams per
// firing grow while every search is answered and fall back to one when not;
// replies to old datagrams do not count; a beacon anomaly pulls slow names
// down to the 5 s lane, boost() to now; the disconnect governor holds names
// until its 10 s tick; 100,000 names are scheduled and answered.
#include "weft/drivers/ca/search_schedule.hpp"

#include <catch2/catch.hpp>

#include <map>

#include "weft/drivers/ca/client_search.hpp"

namespace weft::ca {

namespace {

using CaSchedClock = SearchSchedule::Clock;
using CaSchedTime = SearchSchedule::TimePoint;

const CaSchedTime ca_sched_t0 = CaSchedTime{} + std::chrono::hours(1000);

double ca_sched_secs(CaSchedTime t) { return std::chrono::duration<double>(t - ca_sched_t0).count(); }

// Runs the schedule from `from` until `until`, jumping from due time to due
// time; returns, per ID, the times it was sent (seconds after t0).
std::map<std::uint32_t, std::vector<double>> ca_sched_run(SearchSchedule& s, CaSchedTime from, CaSchedTime until) {
  std::map<std::uint32_t, std::vector<double>> sent;
  CaSchedTime now = from;
  for (int guard = 0; guard < 100000; ++guard) {
    const auto due = s.next_due();
    if (!due || *due > until) break;
    now = std::max(now, *due);
    for (const auto& d : s.take_due(now)) {
      for (const std::uint32_t id : d.ids) sent[id].push_back(ca_sched_secs(now));
    }
  }
  return sent;
}

std::size_t ca_sched_ids(const std::vector<SearchSchedule::Datagram>& ds) {
  std::size_t n = 0;
  for (const auto& d : ds) n += d.ids.size();
  return n;
}

}  // namespace

TEST_CASE("ca search schedule: libca's lanes", "[ca][client]") {
  SearchSchedule s({}, ca_sched_t0);
  CHECK(s.lane_count() == 14);  // 1 + log2(300 s / 32 ms)
  CHECK(s.beacon_anomaly_lane() == 8);
  CHECK(s.round_trip_estimate().count() == Approx(0.032));
  CHECK(s.lane_period(0).count() == Approx(0.032));
  CHECK(s.lane_period(13).count() == Approx(262.144));
  SearchSchedule low({std::chrono::duration<double>(5.0)}, ca_sched_t0);  // raised to 60 s, as libca
  CHECK(low.lane_count() == 11);
  CHECK_FALSE(s.next_due());
}

TEST_CASE("ca search schedule: an unanswered name backs off, doubling up to the maximum", "[ca][client]") {
  SearchSchedule s({}, ca_sched_t0);
  REQUIRE(s.add(1, 8, ca_sched_t0));
  CHECK_FALSE(s.add(1, 8, ca_sched_t0));  // already scheduled
  CHECK(s.next_due() == ca_sched_t0);      // a new name is searched at once
  const auto sent = ca_sched_run(s, ca_sched_t0, ca_sched_t0 + std::chrono::hours(1))[1];
  REQUIRE(sent.size() > 16);
  CHECK(sent[0] == 0.0);
  double expected = 0.032;
  for (std::size_t i = 1; i < sent.size(); ++i) {
    const double interval = sent[i] - sent[i - 1];
    CHECK(interval == Approx(expected).margin(1e-6));
    CHECK(interval <= 300.0);
    expected = std::min(expected * 2, 262.144);
  }
  CHECK(s.lane_of(1) == 13u);
}

TEST_CASE("ca search schedule: a reply removes the name and sets the round trip", "[ca][client]") {
  SearchSchedule s({}, ca_sched_t0);
  s.add(1, 8, ca_sched_t0);
  const auto first = s.take_due(ca_sched_t0);
  REQUIRE(first.size() == 1);
  REQUIRE(first[0].ids == std::vector<std::uint32_t>{1});
  CHECK(s.found(1, first[0].sequence, ca_sched_t0 + std::chrono::milliseconds(200)));
  CHECK(s.size() == 0);
  // mean 32 ms + (200 - 32) / 8 = 53 ms, deviation 168 / 4 = 42 ms: RTTE 53 + 168 = 221 ms.
  CHECK(s.round_trip_estimate().count() == Approx(0.221));
  CHECK(s.lane_period(1).count() == Approx(0.442));
  CHECK_FALSE(s.next_due());  // nothing left: no wake-ups
  CHECK_FALSE(s.found(1, std::nullopt, ca_sched_t0));  // unknown now
}

TEST_CASE("ca search schedule: a reply to an old datagram does not count", "[ca][client]") {
  SearchSchedule s({}, ca_sched_t0);
  s.add(1, 8, ca_sched_t0);
  s.add(2, 8, ca_sched_t0);
  const auto first = s.take_due(ca_sched_t0);
  REQUIRE(first.size() == 1);
  const std::uint32_t old = first[0].sequence;
  const auto t1 = ca_sched_t0 + std::chrono::milliseconds(32);
  const auto second = s.take_due(t1);  // lane 0 fires: both moved to lane 1, sent again
  REQUIRE(ca_sched_ids(second) == 2);
  CHECK(s.lane_of(1) == 1u);
  CHECK_FALSE(s.found(1, old, t1));  // answers the datagram of lane 0's firing, not lane 1's
  CHECK(s.round_trip_estimate().count() == Approx(0.032));
  CHECK(s.found(2, second[0].sequence, t1 + std::chrono::milliseconds(1)));
}

TEST_CASE("ca search schedule: datagrams per firing grow while all is answered", "[ca][client]") {
  SearchSchedule s({}, ca_sched_t0);
  const std::size_t name_length = 30;  // 48 bytes an entry: 21 a datagram
  for (std::uint32_t id = 0; id < 1000; ++id) REQUIRE(s.add(id, name_length, ca_sched_t0));
  auto now = ca_sched_t0;
  std::vector<std::size_t> frames;
  for (int round = 0; round < 4; ++round) {
    const auto ds = s.take_due(now);
    frames.push_back(ds.size());
    for (const auto& d : ds) {
      CHECK(d.ids.size() <= 21);
      for (const std::uint32_t id : d.ids) CHECK(s.found(id, d.sequence, now));
    }
    // Every search of the firing answered: the lane fires again at once.
    REQUIRE(s.next_due() == now);
  }
  CHECK(frames == std::vector<std::size_t>{1, 2, 4, 8});
  CHECK(s.frames_per_try(0) == 8);  // doubled once more at the next firing

  // One unanswered search: back to one datagram a firing.
  const auto ds = s.take_due(now);
  REQUIRE(ds.size() == 16);
  for (std::size_t i = 1; i < ds.size(); ++i) {
    for (const std::uint32_t id : ds[i].ids) s.found(id, ds[i].sequence, now);
  }
  for (std::size_t i = 1; i < ds[0].ids.size(); ++i) s.found(ds[0].ids[i], ds[0].sequence, now);
  // ds[0].ids[0] never answered: the next firing (32 ms on) sends one datagram.
  const auto later = now + std::chrono::milliseconds(40);
  std::size_t lane0 = 0;
  for (const auto& d : s.take_due(later)) {
    for (const std::uint32_t id : d.ids) lane0 += s.lane_of(id) == 0u ? 1 : 0;
  }
  CHECK(s.frames_per_try(0) == 1);
  CHECK(lane0 == 21);  // one datagram's worth from lane 0
  CHECK(s.lane_of(ds[0].ids[0]) == 1u);
}

TEST_CASE("ca search schedule: a beacon anomaly pulls slow names down, boost to now", "[ca][client]") {
  SearchSchedule s({}, ca_sched_t0);
  s.add(1, 8, ca_sched_t0);
  const auto late = ca_sched_t0 + std::chrono::hours(1);
  ca_sched_run(s, ca_sched_t0, late);
  REQUIRE(s.lane_of(1) == 13u);
  s.add(2, 8, late);  // a fresh name stays where it is
  s.take_due(late);
  REQUIRE(s.lane_of(2) == 0u);
  s.beacon_anomaly(late);
  CHECK(s.lane_of(1) == 8u);
  CHECK(s.lane_of(2) == 0u);
  CHECK(s.next_due() <= late);  // lane 8 was idle: it fires now
  const auto sent = s.take_due(late);
  CHECK(ca_sched_ids(sent) >= 1);

  // boost: its server restarted; searched at once from lane 0.
  ca_sched_run(s, late, late + std::chrono::hours(1));
  const auto later = late + std::chrono::hours(1);
  REQUIRE(s.lane_of(1) == 13u);
  CHECK(s.boost(1, later));
  CHECK(s.lane_of(1) == 0u);
  CHECK(s.next_due() <= later);
  bool resent = false;
  for (const auto& d : s.take_due(later)) {
    for (const std::uint32_t id : d.ids) resent = resent || id == 1;
  }
  CHECK(resent);
  CHECK_FALSE(s.boost(99, later));
}

TEST_CASE("ca search schedule: the disconnect governor holds names until its tick", "[ca][client]") {
  SearchSchedule s({}, ca_sched_t0);
  const auto t = ca_sched_t0 + std::chrono::milliseconds(12300);
  REQUIRE(s.add_disconnected(5, 8, t));
  CHECK_FALSE(s.lane_of(5));
  CHECK(s.next_due() == ca_sched_t0 + std::chrono::seconds(20));  // ticks every 10 s since start
  CHECK(s.take_due(t + std::chrono::seconds(7)).empty());
  const auto sent = s.take_due(ca_sched_t0 + std::chrono::seconds(20));
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].ids == std::vector<std::uint32_t>{5});
  CHECK(s.lane_of(5) == 0u);
  // boost takes a name out of the governor at once.
  REQUIRE(s.add_disconnected(6, 8, t));
  CHECK(s.boost(6, t));
  CHECK(s.lane_of(6) == 0u);
}

TEST_CASE("ca search schedule: removed names are not sent, the schedule idles", "[ca][client]") {
  SearchSchedule s({}, ca_sched_t0);
  s.add(1, 8, ca_sched_t0);
  s.add(2, 8, ca_sched_t0);
  s.take_due(ca_sched_t0);
  s.remove(1);
  const auto sent = ca_sched_run(s, ca_sched_t0, ca_sched_t0 + std::chrono::seconds(10));
  CHECK_FALSE(sent.contains(1));
  CHECK(sent.at(2).size() > 3);
  s.remove(2);
  CHECK_FALSE(s.next_due());
  CHECK(s.size() == 0);
  CHECK_FALSE(s.add(3, 0, ca_sched_t0));    // an empty name
  CHECK_FALSE(s.add(3, 992, ca_sched_t0));  // cannot fit a datagram
  CHECK(s.add(3, 991, ca_sched_t0));
}

TEST_CASE("ca search schedule: 100,000 names scheduled and answered", "[ca][client]") {
  SearchSchedule s({}, ca_sched_t0);
  const std::uint32_t n = 100000;
  for (std::uint32_t id = 0; id < n; ++id) REQUIRE(s.add(id, 24, ca_sched_t0));
  auto now = ca_sched_t0;
  std::size_t answered = 0;
  for (int guard = 0; guard < 100000 && s.size() > 0; ++guard) {
    const auto due = s.next_due();
    REQUIRE(due);
    now = std::max(now, *due);
    for (const auto& d : s.take_due(now)) {
      for (const std::uint32_t id : d.ids) answered += s.found(id, d.sequence, now) ? 1 : 0;
    }
  }
  CHECK(s.size() == 0);
  CHECK(answered == n);
  CHECK(s.frames_per_try(0) == SearchSchedule::max_frames_per_try);
  CHECK_FALSE(s.next_due());
}

}  // namespace weft::ca
