// Writes through the gateway, one circuit's bookkeeping (upstream_writes.hpp):
// bus values as CA elements, IOIDs apart from the CTRL reads', an abandoned
// request dropped before it is sent (and only then), a lost channel or
// circuit failing exactly its entries, each answered once.
#include "weft/apps/ca_gateway/upstream_writes.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "weft/drivers/ca/client_channel.hpp"

namespace weft::apps::ca_gateway {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<PendingWrite> request(double v) { return std::make_shared<PendingWrite>("gw.p", Value{v}, "test"); }

// An asker that gave up: its wait timed out (PendingWrite::wait marks it abandoned).
std::shared_ptr<PendingWrite> abandoned_request(double v) {
  auto r = request(v);
  boost::asio::io_context ioc;
  boost::asio::co_spawn(ioc, [r]() -> boost::asio::awaitable<void> { (void)co_await r->wait(0ms); },
                        boost::asio::detached);
  ioc.run();
  REQUIRE(r->abandoned());
  return r;
}

UpstreamWrites::Entry entry(std::uint32_t cid, std::shared_ptr<PendingWrite> r, std::vector<std::uint8_t> bytes) {
  UpstreamWrites::Entry e;
  e.cid = cid;
  e.pv = "ioc:p" + std::to_string(cid);
  e.request = std::move(r);
  e.bytes = std::move(bytes);
  return e;
}

}  // namespace

TEST_CASE("gateway writes: bus values become CA elements for WRITE_NOTIFY", "[ca_gateway][writes]") {
  auto d = write_elements(Value{2.5});
  CHECK(d.from == ca::ValueType::float64);
  CHECK(std::get<std::vector<double>>(d.elements) == std::vector<double>{2.5});
  CHECK(std::get<std::vector<double>>(write_elements(Value{std::int64_t{-7}}).elements) == std::vector<double>{-7});
  CHECK(std::get<std::vector<double>>(write_elements(Value{true}).elements) == std::vector<double>{1});
  auto t = write_elements(Value{std::string("auto")});
  CHECK(t.from == ca::ValueType::string);
  CHECK(std::get<std::vector<std::string>>(t.elements) == std::vector<std::string>{"auto"});
  const std::vector<double> three{1, 2, 3};
  CHECK(std::get<std::vector<double>>(write_elements(Value{NumberArray(three)}).elements) == three);

  // Through the client encoder: converted to the channel's native type, count checked.
  ca::ChannelInfo ch;
  ch.cid = 1;
  ch.sid = 9;
  ch.native_type = ca::ValueType::int16;
  ch.count = 1;
  ch.server_minor = 13;
  std::vector<std::uint8_t> out;
  const ca::Limits limits;
  CHECK_FALSE(ca::append_write_notify(out, ch, kWriteIoid | 1, d.elements, d.from, limits).has_value());
  CHECK(out.size() == 16 + 8);  // header + one DBR_SHORT padded to 8
  const auto e = write_elements(Value{NumberArray(three)});
  out.clear();
  const auto err = ca::append_write_notify(out, ch, kWriteIoid | 2, e.elements, e.from, limits);
  REQUIRE(err.has_value());
  CHECK(err->code == ca::errc::bad_count);
  CHECK(out.empty());
}

TEST_CASE("gateway writes: IOIDs carry the write bit and are never reused while in use", "[ca_gateway][writes]") {
  UpstreamWrites w(8);
  const std::uint32_t a = w.next_ioid();
  CHECK(is_write_ioid(a));
  CHECK_FALSE(is_write_ioid(12345));  // a CTRL read's IOID is the channel's CID
  w.queue(a, entry(1, request(1), {1}));
  const std::uint32_t b = w.next_ioid();
  CHECK(b != a);
  CHECK(is_write_ioid(b));
}

TEST_CASE("gateway writes: flush sends what an asker waits for and drops what it abandoned", "[ca_gateway][writes]") {
  UpstreamWrites w(8);
  auto live = request(1);
  auto gone = abandoned_request(2);
  auto late = request(3);
  const std::uint32_t a = w.next_ioid();
  w.queue(a, entry(1, live, {0xAA, 0xAB}));
  const std::uint32_t b = w.next_ioid();
  w.queue(b, entry(1, gone, {0xBB}));
  const std::uint32_t c = w.next_ioid();
  w.queue(c, entry(2, late, {0xCC}));
  CHECK(w.queued() == 3);
  std::vector<std::uint8_t> out{0x01};
  CHECK(w.flush(out) == 1);
  CHECK(out == std::vector<std::uint8_t>{0x01, 0xAA, 0xAB, 0xCC});  // appended in submit order, the abandoned one not
  CHECK(w.queued() == 0);
  CHECK(w.size() == 2);
  CHECK(w.find(b) == nullptr);
  CHECK_FALSE(gone->done());  // dropped, not answered: nobody reads it
  REQUIRE(w.find(a) != nullptr);
  CHECK(w.find(a)->sent);
  // Abandoned once on the wire: kept until the upstream answers (it may apply it).
  out.clear();
  CHECK(w.flush(out) == 0);
  CHECK(out.empty());
  CHECK(w.size() == 2);
}

TEST_CASE("gateway writes: a lost channel fails its writes, a lost circuit all, each once", "[ca_gateway][writes]") {
  UpstreamWrites w(8);
  auto a1 = request(1), a2 = request(2), b1 = request(3);
  const std::uint32_t i1 = w.next_ioid();
  w.queue(i1, entry(1, a1, {1}));
  std::vector<std::uint8_t> out;
  w.flush(out);  // a1 on the wire
  const std::uint32_t i2 = w.next_ioid();
  w.queue(i2, entry(1, a2, {2}));  // a2 queued
  const std::uint32_t i3 = w.next_ioid();
  w.queue(i3, entry(2, b1, {3}));
  auto why = [](const UpstreamWrites::Entry& e) { return "lost " + e.pv; };
  CHECK(w.fail_channel(1, why) == 2);
  REQUIRE(a1->done());
  CHECK_FALSE(a1->outcome()->ok);
  CHECK(a1->outcome()->error == "lost ioc:p1");
  REQUIRE(a2->done());
  CHECK_FALSE(b1->done());
  CHECK(w.size() == 1);
  out.clear();
  CHECK(w.flush(out) == 0);  // a2's bytes are not sent after it failed
  CHECK(out == std::vector<std::uint8_t>{3});
  CHECK(w.fail_all(why) == 1);
  REQUIRE(b1->done());
  CHECK(b1->outcome()->error == "lost ioc:p2");
  CHECK(w.size() == 0);
  CHECK(w.fail_all(why) == 0);
}

TEST_CASE("gateway writes: take removes the answered one, full at max", "[ca_gateway][writes]") {
  UpstreamWrites w(2);
  auto a = request(1), b = request(2);
  const std::uint32_t i1 = w.next_ioid();
  w.queue(i1, entry(1, a, {1}));
  CHECK_FALSE(w.full());
  const std::uint32_t i2 = w.next_ioid();
  w.queue(i2, entry(1, b, {2}));
  CHECK(w.full());
  UpstreamWrites::Entry e = w.take(i1);
  CHECK(e.request == a);
  CHECK(w.find(i1) == nullptr);
  CHECK_FALSE(w.full());
  CHECK(write_error("ECA_NOWTACCESS (Write access denied)", "ioc:p", "127.0.0.1:5064") ==
        "ca_gateway: ECA_NOWTACCESS (Write access denied) (PV ioc:p, upstream 127.0.0.1:5064)");
}

}  // namespace weft::apps::ca_gateway
