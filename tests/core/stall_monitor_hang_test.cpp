// The stall monitor acts on a hang only after looking again: right before
// the hang hook it re-reads the clock and the beacon, and a turn that ended
// in between (the loop ran again just as the hang threshold passed) is no
// hang, only a stall that is over. Driven deterministically: no thread, an
// injected clock, poll() called by the test, the loop's turn ended from the
// hooks that run between the poll's age computation and the action.
#include "weft/core/stall_monitor.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <vector>

#include "weft/core/service_stats.hpp"

using namespace std::chrono_literals;

namespace {

std::int64_t ns(weft::Duration d) { return d.count(); }

struct Harness {
  weft::LoopBeacon beacon;
  weft::ServiceStats stats;
  std::int64_t now = 0;
  int prepared = 0;
  std::vector<weft::StallEvent> stalls, ends, hangs;
  std::function<void()> in_prepare;  // runs inside prepare_hang
  std::function<void()> in_poll;     // runs inside on_poll

  weft::StallMonitor make() {
    weft::StallMonitorOptions o;
    o.stall_threshold = 100ms;
    o.hang_threshold = 1s;
    o.clock = [this] { return now; };
    weft::StallMonitor::Hooks h;
    h.describe = [this](const weft::LoopTurn& t, weft::StallEvent& e) {
      e.culprit = t.service == &stats ? "service 'stuck'" : "other";
    };
    h.on_stall = [this](const weft::StallEvent& e) { stalls.push_back(e); };
    h.on_stall_end = [this](const weft::StallEvent& e) { ends.push_back(e); };
    h.on_poll = [this](bool) {
      if (in_poll) in_poll();
    };
    h.prepare_hang = [this](const weft::StallEvent&) {
      ++prepared;
      if (in_prepare) in_prepare();
    };
    h.on_hang = [this](const weft::StallEvent& e) { hangs.push_back(e); };
    return weft::StallMonitor(beacon, o, std::move(h));
  }
};

}  // namespace

TEST_CASE("a stall that ends while the monitor prepares the hang is no hang", "[stall][hang]") {
  Harness t;
  t.in_prepare = [&t] { t.beacon.turn(nullptr, t.now); };  // the loop runs again meanwhile
  weft::StallMonitor monitor = t.make();
  t.beacon.turn(&t.stats, 0, "sleep", "x.cpp", 7);
  t.now = ns(500ms);
  monitor.poll();
  REQUIRE(t.stalls.size() == 1);
  CHECK(t.stalls[0].culprit == "service 'stuck'");

  t.now = ns(1s) + 1;  // just past the hang threshold, and the turn ends just then
  monitor.poll();
  CHECK(t.prepared == 1);  // the hang path was entered...
  CHECK(t.hangs.empty());  // ...and left: no exit

  t.now += ns(25ms);
  monitor.poll();
  CHECK(t.hangs.empty());
  REQUIRE(t.ends.size() == 1);  // reported as a stall that is over
  CHECK_FALSE(monitor.counters().stalled_now);
  CHECK_FALSE(monitor.counters().last->hang);
}

TEST_CASE("a stall that ends between the age computation and the hang is no hang", "[stall][hang]") {
  Harness t;
  weft::StallMonitor monitor = t.make();
  t.beacon.turn(&t.stats, 0, "sleep", "x.cpp", 7);
  t.now = ns(1s) + 1;
  // on_poll runs after the age is computed (in weftd it sends systemd its
  // datagrams, which can block): the loop turns there.
  t.in_poll = [&t] { t.beacon.turn(nullptr, t.now); };
  monitor.poll();
  CHECK(t.stalls.size() == 1);
  CHECK(t.hangs.empty());
}

TEST_CASE("a stall still running at the re-check is a hang, once per turn", "[stall][hang]") {
  Harness t;
  t.in_prepare = [&t] { t.now += ns(40ms); };  // preparing takes a while; the loop stays stuck
  weft::StallMonitor monitor = t.make();
  t.beacon.turn(&t.stats, 0, "sleep", "x.cpp", 7);
  t.now = ns(1s) + 1;
  monitor.poll();
  REQUIRE(t.hangs.size() == 1);
  CHECK(t.hangs[0].hang);
  CHECK(t.hangs[0].culprit == "service 'stuck'");
  CHECK(t.hangs[0].stalled_for == weft::Duration(ns(1s) + 1 + ns(40ms)));  // the age at the re-check
  t.now += ns(25ms);
  monitor.poll();
  CHECK(t.hangs.size() == 1);  // the same turn: not again

  // A later turn that hangs is a hang of its own.
  t.beacon.turn(&t.stats, t.now, "sleep", "x.cpp", 8);
  t.now += ns(2s);
  monitor.poll();
  CHECK(t.hangs.size() == 2);
  CHECK(t.prepared == 2);
}
