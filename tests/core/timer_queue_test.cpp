// Proves TimerQueue's contract on a VirtualClock (no kernel timer): windows that overlap
// coalesce into one expire() at next_expiry(), nobody is woken before its deadline, cancel()
// works, stats count, and the two heaps agree with a std::multimap model over 10,000 random ops.
#include "weft/core/timer_queue.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include <boost/asio/io_context.hpp>

using namespace std::chrono_literals;
using weft::Duration;
using weft::MonoTime;
using weft::TimerNode;
using weft::TimerQueue;
using weft::VirtualClock;

namespace {

struct Fired {
  int id;
  MonoTime at;
};

// A node that records when it was woken.
struct TestNode : TimerNode {
  int id = 0;
  const VirtualClock* clock = nullptr;
  std::vector<Fired>* log = nullptr;

  TestNode() {
    on_due = [](TimerNode& n) {
      auto& self = static_cast<TestNode&>(n);
      self.log->push_back(Fired{self.id, self.clock->now()});
    };
  }
};

// Advances the clock to `t` and expires there, as the runtime does on the virtual clock.
std::size_t expire_at(VirtualClock& clock, TimerQueue& queue, MonoTime t) {
  clock.advance_to(t);
  return queue.expire(clock.now());
}

}  // namespace

TEST_CASE("timer queue coalesces overlapping windows into one expiry", "[timer_queue]") {
  VirtualClock clock;
  boost::asio::io_context ioc;
  TimerQueue queue(clock, ioc);
  std::vector<Fired> fired;
  const MonoTime t0 = clock.now();

  std::vector<TestNode> nodes(4);
  for (int i = 0; i < 4; ++i) {
    nodes[i].id = i;
    nodes[i].clock = &clock;
    nodes[i].log = &fired;
  }
  queue.schedule(nodes[0], t0 + 10ms, 1ms);
  queue.schedule(nodes[1], t0 + 10300us, 1ms);
  queue.schedule(nodes[2], t0 + 10600us, 1ms);
  queue.schedule(nodes[3], t0 + 11100us, 1ms);  // opens after the earliest window closes
  CHECK(queue.size() == 4);
  CHECK(nodes[0].latest == t0 + 11ms);

  REQUIRE(queue.next_expiry() == t0 + 11ms);  // the earliest window end
  CHECK(queue.expire(t0 + 9999us) == 0);      // before any window opens: nothing
  CHECK(fired.empty());
  CHECK(queue.stats().expiries == 0);  // an expire() that woke nobody is not counted

  CHECK(expire_at(clock, queue, *queue.next_expiry()) == 3);
  REQUIRE(fired.size() == 3);
  CHECK(fired[0].id == 0);  // earliest deadline first
  CHECK(fired[1].id == 1);
  CHECK(fired[2].id == 2);
  for (const auto& f : fired) CHECK(f.at == t0 + 11ms);
  CHECK_FALSE(nodes[0].queued());
  CHECK(nodes[3].queued());  // its deadline (11.1 ms) is after the expiry: never early
  CHECK(queue.size() == 1);
  CHECK(queue.stats().expiries == 1);
  CHECK(queue.stats().wakes == 3);
  CHECK(queue.stats().kernel_arms == 0);  // the virtual clock never arms a kernel timer

  REQUIRE(queue.next_expiry() == t0 + 12100us);
  CHECK(expire_at(clock, queue, *queue.next_expiry()) == 1);
  CHECK(fired.back().id == 3);
  CHECK(fired.back().at >= nodes[3].deadline);
  CHECK(queue.stats().expiries == 2);
  CHECK(queue.stats().wakes == 4);
  CHECK_FALSE(queue.next_expiry());
  CHECK(queue.size() == 0);
}

TEST_CASE("timer queue cancel removes a node and is false once it fired", "[timer_queue]") {
  VirtualClock clock;
  boost::asio::io_context ioc;
  TimerQueue queue(clock, ioc);
  std::vector<Fired> fired;
  const MonoTime t0 = clock.now();

  TestNode a, b, c;
  for (auto* n : {&a, &b, &c}) {
    n->clock = &clock;
    n->log = &fired;
  }
  a.id = 1;
  b.id = 2;
  c.id = 3;
  CHECK_FALSE(queue.cancel(a));  // never queued
  queue.schedule(a, t0 + 5ms, 0ms);
  queue.schedule(b, t0 + 1ms, 0ms);
  queue.schedule(c, t0 + 3ms, 10ms);
  CHECK(queue.next_expiry() == t0 + 1ms);

  CHECK(queue.cancel(b));  // the earliest: next_expiry moves on
  CHECK_FALSE(b.queued());
  CHECK_FALSE(queue.cancel(b));  // twice
  CHECK(queue.next_expiry() == t0 + 5ms);
  CHECK(queue.size() == 2);

  CHECK(expire_at(clock, queue, t0 + 5ms) == 2);
  REQUIRE(fired.size() == 2);
  CHECK(fired[0].id == 3);
  CHECK(fired[1].id == 1);
  CHECK_FALSE(queue.cancel(a));  // already fired
  CHECK_FALSE(queue.cancel(c));

  // A node may be scheduled again once fired; a node cancelled and rescheduled fires once.
  queue.schedule(b, t0 + 7ms, 0ms);
  CHECK(queue.cancel(b));
  queue.schedule(b, t0 + 8ms, 0ms);
  CHECK(expire_at(clock, queue, t0 + 20ms) == 1);
  CHECK(fired.back().id == 2);
  CHECK(queue.stats().wakes == 3);
}

TEST_CASE("timer queue on_due may schedule and cancel other nodes", "[timer_queue]") {
  VirtualClock clock;
  boost::asio::io_context ioc;
  TimerQueue queue(clock, ioc);
  const MonoTime t0 = clock.now();

  struct Chain : TimerNode {
    TimerQueue* q = nullptr;
    TimerNode* victim = nullptr;
    TimerNode* follow = nullptr;
    int fired = 0;
  };
  Chain first, victim, follow;
  std::vector<Chain*> all{&first, &victim, &follow};
  for (auto* n : all) {
    n->q = &queue;
    n->on_due = [](TimerNode& n) {
      auto& self = static_cast<Chain&>(n);
      ++self.fired;
      if (self.victim) self.q->cancel(*self.victim);
      if (self.follow) self.q->schedule(*self.follow, self.deadline, Duration::zero());  // already due
    };
  }
  first.victim = &victim;
  first.follow = &follow;
  queue.schedule(first, t0 + 1ms, 0ms);
  queue.schedule(victim, t0 + 2ms, 0ms);  // due in the same expiry, but cancelled by `first`

  CHECK(expire_at(clock, queue, t0 + 2ms) == 2);  // first, then follow (due now); victim never
  CHECK(first.fired == 1);
  CHECK(victim.fired == 0);
  CHECK(follow.fired == 1);
  CHECK(queue.size() == 0);
}

TEST_CASE("timer queue matches a multimap model over 10,000 random operations", "[timer_queue]") {
  struct Mode {
    const char* name;
    bool expire_at_next_expiry;
  };
  const Mode mode = GENERATE(Mode{"driver expires at next_expiry()", true},
                             Mode{"driver expires at random times", false});
  INFO(mode.name);

  VirtualClock clock;
  boost::asio::io_context ioc;
  TimerQueue queue(clock, ioc);
  std::vector<Fired> fired;
  std::mt19937_64 rng(20240611);
  auto uniform = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };

  constexpr int kNodes = 1000;
  std::vector<TestNode> nodes(kNodes);
  for (int i = 0; i < kNodes; ++i) {
    nodes[i].id = i;
    nodes[i].clock = &clock;
    nodes[i].log = &fired;
  }
  // The model: deadline -> node id, plus each queued node's window.
  std::multimap<MonoTime, int> model;
  std::vector<std::optional<std::pair<MonoTime, MonoTime>>> window(kNodes);  // queued: [deadline, latest]
  std::uint64_t scheduled = 0, cancelled = 0, woken = 0, expiries = 0;
  std::size_t max_size = 0;

  auto model_erase = [&](int id) {
    auto range = model.equal_range(window[id]->first);
    for (auto it = range.first; it != range.second; ++it)
      if (it->second == id) {
        model.erase(it);
        window[id].reset();
        return;
      }
    FAIL("node missing from the model");
  };
  auto model_next_expiry = [&]() -> std::optional<MonoTime> {
    std::optional<MonoTime> best;
    for (const auto& w : window)
      if (w && (!best || w->second < *best)) best = w->second;
    return best;
  };

  auto do_expire = [&](MonoTime t) {
    clock.advance_to(t);
    const MonoTime now = clock.now();
    // Expected: every queued node with deadline <= now, in deadline order.
    std::vector<int> expected;
    for (auto it = model.begin(); it != model.end() && it->first <= now; ++it) expected.push_back(it->second);
    fired.clear();
    const std::size_t n = queue.expire(now);
    REQUIRE(n == expected.size());
    REQUIRE(fired.size() == expected.size());
    for (std::size_t i = 0; i < fired.size(); ++i) {
      const int id = fired[i].id;
      REQUIRE(window[id]);  // fired exactly once: it was queued until now
      REQUIRE(fired[i].at >= window[id]->first);  // never before its deadline
      if (mode.expire_at_next_expiry) REQUIRE(fired[i].at <= window[id]->second);  // by its window end
      if (i > 0) REQUIRE(window[fired[i - 1].id]->first <= window[id]->first);  // earliest deadline first
      REQUIRE_FALSE(nodes[id].queued());
    }
    std::vector<int> got;
    for (const auto& f : fired) got.push_back(f.id);
    std::sort(got.begin(), got.end());
    std::sort(expected.begin(), expected.end());
    REQUIRE(got == expected);
    for (int id : got) model_erase(id);
    woken += n;
    if (n > 0) ++expiries;
  };

  for (int op = 0; op < 10'000; ++op) {
    const auto roll = uniform(0, 99);
    if (roll < 55) {
      const int id = static_cast<int>(uniform(0, kNodes - 1));
      if (nodes[id].queued()) continue;
      const MonoTime deadline = clock.now() + Duration(uniform(0, 20'000'000));
      const auto kind = uniform(0, 3);  // no slack, a wide window, or a narrow one
      const Duration slack(kind == 0 ? 0 : kind == 1 ? uniform(0, 2'000'000) : uniform(0, 200'000));
      queue.schedule(nodes[id], deadline, slack);
      model.emplace(deadline, id);
      window[id] = std::pair{deadline, deadline + slack};
      ++scheduled;
    } else if (roll < 75) {
      // Mostly a queued node (removal from the middle of both heaps), sometimes any node.
      int id = static_cast<int>(uniform(0, kNodes - 1));
      if (!model.empty() && uniform(0, 3) != 0)
        id = std::next(model.begin(), static_cast<std::ptrdiff_t>(uniform(0, model.size() - 1)))->second;
      const bool was_queued = window[id].has_value();
      REQUIRE(queue.cancel(nodes[id]) == was_queued);
      if (was_queued) {
        model_erase(id);
        ++cancelled;
      }
    } else {
      if (mode.expire_at_next_expiry) {
        const auto next = queue.next_expiry();
        REQUIRE(next == model_next_expiry());
        if (next) do_expire(*next);
      } else {
        REQUIRE(queue.next_expiry() == model_next_expiry());
        do_expire(clock.now() + Duration(uniform(0, 100'000)));
      }
    }
    REQUIRE(queue.size() == model.size());
    max_size = std::max(max_size, model.size());
  }
  // Drain: everything still queued fires exactly once.
  while (const auto next = queue.next_expiry()) do_expire(*next);
  CHECK(model.empty());
  CHECK(queue.size() == 0);
  CHECK(scheduled == woken + cancelled);
  CHECK(queue.stats().wakes == woken);
  CHECK(queue.stats().expiries == expiries);
  // The mix really exercised the heaps: many nodes queued at once, many removed from the middle.
  INFO("scheduled " << scheduled << ", cancelled " << cancelled << ", max size " << max_size);
  CHECK(scheduled > 3'000);
  CHECK(cancelled > 500);
  CHECK(max_size > 50);
}
