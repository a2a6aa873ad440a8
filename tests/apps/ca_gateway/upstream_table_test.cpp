// The gateway's upstream PV table on a virtual time line (time points passed
// in, nothing sleeps): ca-gateway's states and default timeouts (connect
// 1 s -> dead, dead 120 s -> forgotten or, held, searched again, inactive and
// disconnect 2 h -> forgotten), the negative cache (a repeat of a dead name
// asks for no search), waiters joining a pending connect, circuit loss,
// the deadline heap's next_deadline(), and max_pvs.
#include "weft/apps/ca_gateway/upstream_table.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "weft/core/clock.hpp"

namespace weft::apps::ca_gateway {
namespace {

using namespace std::chrono_literals;

constexpr MonoTime t0 = VirtualClock::kStart;
const ca::ServerAddress server_a{0x7F000001, 5064};
const ca::ServerAddress server_b{0x7F000001, 6064};

ca::ChannelInfo channel_of(std::uint32_t id) {
  ca::ChannelInfo c;
  c.cid = id;
  c.sid = 100 + id;
  return c;
}

UpstreamTable table() { return UpstreamTable(Timeouts{}, 16, 1000); }

}  // namespace

TEST_CASE("gateway table: a new name is searched, connects, and is active while held", "[ca_gateway][table]") {
  UpstreamTable t = table();
  CHECK(t.want("ioc:a", t0, true) == WantResult::search);
  const UpstreamPv* pv = t.find("ioc:a");
  REQUIRE(pv != nullptr);
  CHECK(pv->state == PvState::connecting);
  CHECK(t.find(pv->id) == pv);
  CHECK(t.next_deadline() == t0 + 1s);  // the connect timeout
  CHECK(t.found(pv->id, server_a, t0 + 10ms));
  CHECK(t.connected(pv->id, channel_of(pv->id), t0 + 20ms));
  CHECK(pv->state == PvState::active);
  CHECK(pv->connects == 1);
  CHECK_FALSE(t.next_deadline().has_value());  // active: no timeout
  CHECK(t.expire(t0 + 24h).died.empty());
  CHECK(pv->state == PvState::active);
  CHECK(t.counts().by_state[static_cast<std::size_t>(PvState::active)] == 1);
}

TEST_CASE("gateway table: not found within connect timeout is dead, and repeats hit the negative cache", "[ca_gateway][table]") {
  UpstreamTable t = table();
  REQUIRE(t.want("nosuch", t0) == WantResult::search);
  const std::uint32_t id = t.find("nosuch")->id;
  CHECK(t.expire(t0 + 999ms).died.empty());
  CHECK(t.find("nosuch")->state == PvState::connecting);
  const Expired e = t.expire(t0 + 1s);
  CHECK(e.died == std::vector<std::uint32_t>{id});
  CHECK(t.find("nosuch")->state == PvState::dead);
  // Repeats: answered dead at once, no search asked for.
  int called = 0;
  for (int i = 0; i < 100; ++i) {
    CHECK(t.want("nosuch", t0 + 2s, false, [&](const UpstreamPv& pv) {
      CHECK(pv.state == PvState::dead);
      ++called;
    }) == WantResult::dead);
  }
  CHECK(called == 100);
  CHECK(t.counts().dead_hits == 100);
  // A late search reply for a dead name is not taken.
  CHECK_FALSE(t.found(id, server_a, t0 + 3s));
  // 120 s later it is forgotten; the next want searches again.
  CHECK(t.next_deadline() == t0 + 1s + 120s);
  CHECK(t.expire(t0 + 1s + 119s).forgotten.empty());
  const Expired gone = t.expire(t0 + 1s + 120s);
  CHECK(gone.forgotten == std::vector<std::string>{"nosuch"});
  CHECK(t.find("nosuch") == nullptr);
  CHECK(t.want("nosuch", t0 + 122s) == WantResult::search);
}

TEST_CASE("gateway table: a held dead name is searched again after the dead timeout", "[ca_gateway][table]") {
  UpstreamTable t = table();
  REQUIRE(t.want("later", t0, true) == WantResult::search);
  const std::uint32_t id = t.find("later")->id;
  CHECK(t.expire(t0 + 1s).died.size() == 1);
  const Expired e = t.expire(t0 + 121s);
  CHECK(e.research == std::vector<std::uint32_t>{id});
  CHECK(e.forgotten.empty());
  CHECK(t.find("later")->state == PvState::connecting);
}

TEST_CASE("gateway table: waiters join a pending connect and are called once", "[ca_gateway][table]") {
  UpstreamTable t = table();
  std::vector<std::string> calls;
  auto waiter = [&](const std::string& who) {
    return [&calls, who](const UpstreamPv& pv) { calls.push_back(who + ":" + std::string(to_string(pv.state))); };
  };
  CHECK(t.want("ioc:b", t0, false, waiter("first")) == WantResult::search);
  CHECK(t.want("ioc:b", t0 + 1ms, false, waiter("second")) == WantResult::waiting);
  CHECK(calls.empty());
  const std::uint32_t id = t.find("ioc:b")->id;
  REQUIRE(t.found(id, server_a, t0 + 2ms));
  REQUIRE(t.connected(id, channel_of(id), t0 + 3ms));
  CHECK(calls == std::vector<std::string>{"first:inactive", "second:inactive"});
  // Connected now: a third is answered at once; the first two not again.
  CHECK(t.want("ioc:b", t0 + 4ms, false, waiter("third")) == WantResult::connected);
  CHECK(calls.size() == 3);
  // A waiter on a name that dies hears "dead".
  calls.clear();
  CHECK(t.want("ioc:none", t0, false, waiter("w")) == WantResult::search);
  t.expire(t0 + 1s);
  CHECK(calls == std::vector<std::string>{"w:dead"});
}

TEST_CASE("gateway table: a waiter may call back into the table", "[ca_gateway][table]") {
  UpstreamTable t = table();
  bool again = false;
  t.want("x", t0, false, [&](const UpstreamPv&) { again = t.want("x", t0 + 1s, false) == WantResult::dead; });
  t.expire(t0 + 1s);
  CHECK(again);
}

TEST_CASE("gateway table: circuit loss disconnects that server's names only", "[ca_gateway][table]") {
  UpstreamTable t = table();
  std::vector<std::uint32_t> ids;
  for (const char* n : {"a:1", "a:2", "b:1"}) {
    t.want(n, t0, true);
    ids.push_back(t.find(n)->id);
  }
  t.found(ids[0], server_a, t0);
  t.found(ids[1], server_a, t0);
  t.found(ids[2], server_b, t0);
  for (auto id : ids) t.connected(id, channel_of(id), t0);
  t.reading(ids[0], ca::Value{});
  auto down = t.circuit_down(server_a, t0 + 5s);
  std::sort(down.begin(), down.end());
  CHECK(down == std::vector<std::uint32_t>{ids[0], ids[1]});
  CHECK(t.find("a:1")->state == PvState::disconnected);
  CHECK(t.find("a:1")->last.has_value());  // the last reading is kept (published stale)
  CHECK_FALSE(t.find("a:1")->channel.has_value());
  CHECK(t.find("b:1")->state == PvState::active);
  CHECK(t.disconnected_on(server_a).size() == 2);
  CHECK(t.disconnected_on(server_b).empty());
  // A reading for a disconnected name is not taken.
  CHECK(t.reading(ids[0], ca::Value{}) == nullptr);
  // Held: never forgotten, however long.
  CHECK(t.expire(t0 + 48h).forgotten.empty());
  // Found again on the restarted server: active again.
  CHECK(t.found(ids[0], server_a, t0 + 49h));
  CHECK(t.connected(ids[0], channel_of(ids[0]), t0 + 49h));
  CHECK(t.find("a:1")->state == PvState::active);
  CHECK(t.find("a:1")->connects == 2);
  CHECK(t.find("a:1")->disconnects == 1);
}

TEST_CASE("gateway table: unheld names are forgotten after inactive and disconnect timeouts", "[ca_gateway][table]") {
  UpstreamTable t = table();
  t.want("idle", t0);
  t.want("gone", t0);
  const std::uint32_t idle = t.find("idle")->id, gone = t.find("gone")->id;
  for (auto id : {idle, gone}) {
    t.found(id, server_a, t0);
    t.connected(id, channel_of(id), t0);
  }
  CHECK(t.find("idle")->state == PvState::inactive);
  t.found(gone, server_a, t0);
  REQUIRE(t.lost(gone, t0 + 1h));
  CHECK(t.find("gone")->state == PvState::disconnected);
  CHECK(t.expire(t0 + 2h - 1ns).forgotten.empty());
  CHECK(t.expire(t0 + 2h).forgotten == std::vector<std::string>{"idle"});
  CHECK(t.expire(t0 + 3h - 1ns).forgotten.empty());
  CHECK(t.expire(t0 + 3h).forgotten == std::vector<std::string>{"gone"});
  CHECK(t.size() == 0);
  CHECK(t.counts().forgotten == 2);
}

TEST_CASE("gateway table: hold and release move between active and inactive", "[ca_gateway][table]") {
  UpstreamTable t = table();
  t.want("p", t0);
  const std::uint32_t id = t.find("p")->id;
  t.found(id, server_a, t0);
  t.connected(id, channel_of(id), t0);
  CHECK(t.find("p")->state == PvState::inactive);
  t.want("p", t0 + 1h, true);
  CHECK(t.find("p")->state == PvState::active);
  CHECK(t.expire(t0 + 10h).forgotten.empty());  // the inactive timeout was cancelled
  t.release("p", t0 + 10h);
  CHECK(t.find("p")->state == PvState::inactive);
  CHECK(t.next_deadline() == t0 + 12h);
}

TEST_CASE("gateway table: a stale deadline does not fire after a state change", "[ca_gateway][table]") {
  UpstreamTable t = table();
  t.want("q", t0);
  const std::uint32_t id = t.find("q")->id;
  t.found(id, server_a, t0 + 100ms);
  t.connected(id, channel_of(id), t0 + 200ms);  // the connect deadline at t0+1s is stale now
  CHECK(t.expire(t0 + 1s).died.empty());
  CHECK(t.find("q")->state == PvState::inactive);
  CHECK(t.next_deadline() == t0 + 200ms + 2h);
}

TEST_CASE("gateway table: max_pvs refuses new names, not known ones", "[ca_gateway][table]") {
  UpstreamTable t(Timeouts{}, 4, 3);
  for (const char* n : {"a", "b", "c"}) CHECK(t.want(n, t0) == WantResult::search);
  CHECK(t.want("d", t0) == WantResult::full);
  CHECK(t.want("a", t0) == WantResult::waiting);
  CHECK(t.counts().refused_full == 1);
  CHECK(t.size() == 3);
}

TEST_CASE("gateway table: at max_pvs a new name takes the place of the first dead one nobody holds",
          "[ca_gateway][table]") {
  // A flood of searches for names nobody has (a client's typos, a scan)
  // must not keep every real name out for the dead time (120 s).
  UpstreamTable t(Timeouts{}, 4, 3);
  CHECK(t.want("rec", t0, true) == WantResult::search);  // held (a record entry): never evicted
  CHECK(t.want("x1", t0) == WantResult::search);
  CHECK(t.want("x2", t0 + 100ms) == WantResult::search);
  CHECK(t.want("y", t0 + 200ms) == WantResult::full);  // all still connecting: nothing to give way
  const auto died = t.expire(t0 + 1100ms).died;
  CHECK(died.size() == 3);
  CHECK(t.want("x1", t0 + 1200ms) == WantResult::dead);  // a known dead name: still the negative cache
  CHECK(t.want("real", t0 + 1200ms) == WantResult::search);  // x1, the first to die, gave way
  CHECK(t.find("x1") == nullptr);
  CHECK(t.find("rec") != nullptr);
  CHECK(t.want("real2", t0 + 1200ms) == WantResult::search);  // then x2
  CHECK(t.find("x2") == nullptr);
  CHECK(t.want("real3", t0 + 1200ms) == WantResult::full);  // only the held dead one is left: refused
  CHECK(t.find("rec")->state == PvState::dead);
  const TableCounts c = t.counts();
  CHECK(c.evicted_dead == 2);
  CHECK(c.forgotten == 2);
  CHECK(c.refused_full == 2);
  CHECK(c.by_state[static_cast<std::size_t>(PvState::dead)] == 1);
  CHECK(c.total == 3);
  // The evicted names' dead deadlines are stale now; the held one is searched again.
  const Expired later = t.expire(t0 + 1100ms + 120s);
  CHECK(later.forgotten.empty());
  CHECK(later.research.size() == 1);
}

TEST_CASE("gateway table: reserved for 10^5 names, lookups stay in place", "[ca_gateway][table]") {
  UpstreamTable t(Timeouts{}, 100'000, 200'000);
  const std::size_t buckets = t.bucket_count();
  CHECK(buckets >= 100'000);
  for (int i = 0; i < 100'000; ++i) t.want("ioc:pv" + std::to_string(i), t0, true);
  CHECK(t.bucket_count() == buckets);  // no rehash within the reservation
  CHECK(t.size() == 100'000);
  CHECK(t.find("ioc:pv99999") != nullptr);
  // Every one dies together at the connect timeout.
  CHECK(t.expire(t0 + 1s).died.size() == 100'000);
  CHECK(t.counts().by_state[static_cast<std::size_t>(PvState::dead)] == 100'000);
}

}  // namespace weft::apps::ca_gateway
