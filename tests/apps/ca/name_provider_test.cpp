// The name-provider seam between ca and a provider (name_provider.hpp): each
// side told when the other unregisters, with the slot already empty (so a
// call back finds nobody); one of each per bus; the bus's rendezvous gone
// once nobody is registered; PendingNames' holds and deadlines on a virtual
// time line. And the gateway's `proxy` pattern check.
#include "weft/apps/ca/name_provider.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

#include "weft/apps/ca_gateway/upstream_table.hpp"
#include "weft/core/bus.hpp"
#include "weft/core/clock.hpp"

namespace weft::apps::ca_gateway {
std::string proxy_pattern_fault(const std::string& pattern, std::size_t max_name_length);  // gateway_proxy.cpp
}

namespace weft::apps::ca_server {
namespace {

using namespace std::chrono_literals;

struct FakeProvider final : NameProvider {
  NameProviders* seam = nullptr;
  int gone = 0;
  bool consumer_seen_at_gone = true;
  Lookup lookup(const std::string&) override { return Lookup::pending; }
  Duration hold_time() const override { return 1s; }
  std::optional<ProvidedValue> value(const std::string&) override { return std::nullopt; }
  void hold(const std::string&) override {}
  void release(const std::string&) override {}
  void consumer_gone() override {
    ++gone;
    consumer_seen_at_gone = seam->consumer() != nullptr;
  }
};

struct FakeConsumer final : NameConsumer {
  NameProviders* seam = nullptr;
  int gone = 0;
  bool provider_seen_at_gone = true;
  void resolved(const std::string&, bool) override {}
  void update(const std::string&, const ProvidedValue&) override {}
  void lost(const std::string&) override {}
  void provider_gone() override {
    ++gone;
    provider_seen_at_gone = seam->provider() != nullptr;
  }
};

TEST_CASE("name providers: each side is told the other went, with its slot already empty", "[ca][name_provider]") {
  NameProviders seam;
  FakeProvider p;
  FakeConsumer c;
  p.seam = c.seam = &seam;
  auto consumer = seam.add_consumer(c);
  {
    auto provider = seam.add_provider(p);
    CHECK(seam.provider() == &p);
    CHECK(seam.consumer() == &c);
    CHECK_THROWS_AS(seam.add_provider(p), std::runtime_error);  // one per box
  }
  CHECK(c.gone == 1);
  CHECK_FALSE(c.provider_seen_at_gone);  // a call back from provider_gone() finds no provider
  CHECK(seam.provider() == nullptr);
  CHECK(p.gone == 0);

  auto provider = seam.add_provider(p);  // a restarted provider
  consumer.reset();
  CHECK(p.gone == 1);
  CHECK_FALSE(p.consumer_seen_at_gone);
  CHECK(seam.consumer() == nullptr);
  consumer.reset();  // twice: nothing more
  CHECK(p.gone == 1);
  provider = NameProviders::Registration{};  // a move-assign unregisters the old one
  CHECK(seam.provider() == nullptr);
  CHECK(c.gone == 1);  // no consumer was registered: nobody told
}

TEST_CASE("name providers: one rendezvous per bus, gone when nobody is registered", "[ca][name_provider]") {
  VirtualClock clock;
  Bus a(clock), b(clock);
  FakeProvider p;
  FakeConsumer c;
  NameProviders& on_a = NameProviders::of(a);
  p.seam = c.seam = &on_a;
  CHECK(&NameProviders::of(a) == &on_a);
  CHECK(&NameProviders::of(b) != &on_a);
  {
    auto provider = on_a.add_provider(p);
    auto consumer = on_a.add_consumer(c);
    CHECK(NameProviders::of(b).provider() == nullptr);  // another runtime's bus sees nothing of it
    CHECK(NameProviders::of(a).consumer() == &c);
  }
  // Both gone: a later look-up starts afresh (nothing stale under the bus's address).
  CHECK(NameProviders::of(a).provider() == nullptr);
  CHECK(NameProviders::of(a).consumer() == nullptr);
}

TEST_CASE("pending names: taken together, expired one by one, bounded", "[ca][name_provider]") {
  const MonoTime t0 = VirtualClock::kStart;
  PendingNames<int> held(3);
  REQUIRE(held.add("ioc:a", 1, t0 + 1s));
  REQUIRE(held.add("ioc:a", 2, t0 + 2s));
  REQUIRE(held.add("ioc:b", 3, t0 + 1500ms));
  CHECK_FALSE(held.add("ioc:c", 4, t0 + 1s));  // full: not held
  CHECK(held.size() == 3);
  CHECK(held.next_deadline() == t0 + 1s);

  CHECK(held.expire(t0 + 999ms).empty());
  const auto first = held.expire(t0 + 1s);  // the deadline itself is due
  REQUIRE(first.size() == 1);
  CHECK(first[0] == std::pair<std::string, int>{"ioc:a", 1});
  CHECK(held.waiting("ioc:a"));
  CHECK(held.next_deadline() == t0 + 1500ms);

  CHECK(held.holds("ioc:a", [](int r) { return r == 2; }));  // a repeat of a held request is found
  CHECK_FALSE(held.holds("ioc:a", [](int r) { return r == 1; }));  // expired: gone
  CHECK_FALSE(held.holds("ioc:zz", [](int) { return true; }));
  CHECK(held.take("ioc:a") == std::vector<int>{2});
  CHECK_FALSE(held.waiting("ioc:a"));
  CHECK(held.take("ioc:a").empty());  // answered once
  CHECK(held.add("ioc:c", 4, t0 + 3s));
  held.remove_if([](int r) { return r == 3; });  // a circuit that closed
  CHECK_FALSE(held.waiting("ioc:b"));
  const auto rest = held.take_all();
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].second == 4);
  CHECK(held.size() == 0);
  CHECK_FALSE(held.next_deadline().has_value());
}

TEST_CASE("gateway proxy patterns: a glob of PV names or a fault saying why", "[ca_gateway][proxy]") {
  using ca_gateway::proxy_pattern_fault;
  CHECK(proxy_pattern_fault("ioc:*", 60).empty());
  CHECK(proxy_pattern_fault("ioc?:temp[0-9]", 60).empty());
  CHECK(proxy_pattern_fault("", 60).find("empty") != std::string::npos);
  CHECK(proxy_pattern_fault("ioc: *", 60).find("position 5") != std::string::npos);
  CHECK(proxy_pattern_fault("ioc:[ab", 60).find("'['") != std::string::npos);
  CHECK(proxy_pattern_fault("ioc:\\*", 60).find("'\\'") != std::string::npos);
  CHECK(proxy_pattern_fault(std::string(61, 'a'), 60).find("61 characters") != std::string::npos);
}

}  // namespace
}  // namespace weft::apps::ca_server
