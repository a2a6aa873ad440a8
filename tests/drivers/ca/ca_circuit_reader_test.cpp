// Tests of the client circuit's stream reader: messages split anywhere
// (byte by byte) come out whole and in order; a monitor update claiming
// 1 GiB (plain and extended header) is refused once, its payload skipped as
// it streams past without the buffer growing, and the next message comes out
// fine; a misaligned size breaks the stream for good.
#include "weft/drivers/ca/circuit_reader.hpp"

#include <catch2/catch.hpp>

#include "weft/drivers/ca/messages.hpp"

namespace weft::ca {

using Catch::Matchers::Contains;
using CaReaderBytes = std::vector<std::uint8_t>;

namespace {

std::vector<Response> ca_reader_drain(CircuitReader& r, std::vector<Refused>* refused = nullptr) {
  std::vector<Response> out;
  const Limits limits;
  while (true) {
    auto n = r.next();
    if (std::holds_alternative<NeedMore>(n)) break;
    if (auto* f = std::get_if<Frame>(&n)) {
      auto d = decode_response(*f, limits);
      REQUIRE(std::holds_alternative<Response>(d));
      out.push_back(std::get<Response>(d));
      continue;
    }
    if (auto* x = std::get_if<Refused>(&n)) {
      REQUIRE(refused != nullptr);
      refused->push_back(*x);
      continue;
    }
    FAIL("the stream broke: " << std::get<Broken>(n).error.message());
  }
  return out;
}

// A header claiming `size` payload bytes, extended when asked.
CaReaderBytes ca_reader_header(std::uint32_t size, bool extended) {
  // EVENT_ADD update: DBR_TIME_DOUBLE, count 1, ECA_NORMAL, subscription 42.
  CaReaderBytes h(extended ? 24 : 16, 0);
  h[1] = 0x01;
  h[5] = 0x14;
  h[11] = 1;
  h[15] = 42;
  const auto put32 = [&](std::size_t at, std::uint32_t v) {
    for (std::size_t i = 0; i < 4; ++i) h[at + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
  };
  if (extended) {
    h[2] = h[3] = 0xFF;  // the marker; count 0 here, the real one after the size
    put32(16, size);
    put32(20, 1);
  } else {
    h[2] = static_cast<std::uint8_t>(size >> 8);
    h[3] = static_cast<std::uint8_t>(size);
    h[7] = 1;
  }
  return h;
}

}  // namespace

TEST_CASE("ca circuit reader: messages split anywhere come out whole", "[ca][client]") {
  CaReaderBytes stream;
  encode(stream, Version{0, 13, 0});
  encode(stream, AccessRights{1, 3});
  encode(stream, CreateChanReply{1, 2, 6, 1});
  encode(stream, EventUpdate{20, 1, Eca::normal, 4, CaReaderBytes(24, 7)});
  encode(stream, EventUpdate{20, 100000, Eca::normal, 5, CaReaderBytes(8, 1)});  // extended header (count)
  CircuitReader r{Limits{}};
  std::vector<Response> got;
  for (const std::uint8_t b : stream) {
    r.feed(std::span<const std::uint8_t>(&b, 1));
    const auto some = ca_reader_drain(r);
    got.insert(got.end(), some.begin(), some.end());
  }
  REQUIRE(got.size() == 5);
  CHECK(std::get<Version>(got[0]).minor == 13);
  CHECK(std::get<CreateChanReply>(got[2]).sid == 2);
  CHECK(std::get<EventUpdate>(got[3]).data == CaReaderBytes(24, 7));
  CHECK(std::get<EventUpdate>(got[4]).count == 100000);
  CHECK(r.buffered() == 0);
}

TEST_CASE("ca circuit reader: an oversized array is refused and skipped, the circuit goes on", "[ca][client]") {
  const bool extended = GENERATE(false, true);
  const std::uint32_t size = extended ? (1u << 30) : 0xFFF8;  // 1 GiB, or just under the 16-bit marker
  CircuitReader r{Limits{}};  // max_array_bytes 16384
  const CaReaderBytes head = ca_reader_header(size, extended);
  r.feed(head);
  std::vector<Refused> refused;
  CHECK(ca_reader_drain(r, &refused).empty());
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].header.command == 1);
  CHECK(refused[0].header.p2 == 42);  // the subscription it was for
  CHECK(refused[0].header.payload_size == size);
  CHECK(refused[0].error.code == errc::too_large);
  CHECK_THAT(refused[0].error.detail, Contains("max_array_bytes 16384") && Contains("skipped"));
  CHECK(r.skipping() == size);

  // The payload streams past in 64 KiB pieces; nothing of it is kept.
  const CaReaderBytes chunk(65536, 0xAB);
  std::uint64_t left = size;
  while (left > chunk.size()) {
    r.feed(chunk);
    left -= chunk.size();
    CHECK(r.buffered() == 0);
    CHECK(ca_reader_drain(r, &refused).empty());
  }
  // The last piece of the payload and the next message in one read.
  CaReaderBytes tail(static_cast<std::size_t>(left), 0xAB);
  encode(tail, EventUpdate{20, 1, Eca::normal, 43, CaReaderBytes(24, 9)});
  r.feed(tail);
  const auto after = ca_reader_drain(r, &refused);
  REQUIRE(after.size() == 1);
  CHECK(std::get<EventUpdate>(after[0]).subscription_id == 43);
  CHECK(refused.size() == 1);  // refused once
  CHECK(r.skipping() == 0);
  CHECK(r.refused_bytes() == head.size() + size);
}

TEST_CASE("ca circuit reader: an oversized message already in the buffer is skipped in place", "[ca][client]") {
  Limits small;
  small.max_array_bytes = 64;
  CircuitReader r{small};
  CaReaderBytes stream = ca_reader_header(1024, false);
  stream.resize(stream.size() + 1024, 0x55);
  encode(stream, Echo{});
  r.feed(stream);
  std::vector<Refused> refused;
  const auto got = ca_reader_drain(r, &refused);
  CHECK(refused.size() == 1);
  REQUIRE(got.size() == 1);
  CHECK(std::holds_alternative<Echo>(got[0]));
}

TEST_CASE("ca circuit reader: a misaligned size breaks the stream for good", "[ca][client]") {
  CircuitReader r{Limits{}};
  CaReaderBytes bad = ca_reader_header(12, false);
  bad.resize(bad.size() + 12, 0);
  r.feed(bad);
  auto n = r.next();
  REQUIRE(std::holds_alternative<Broken>(n));
  CHECK(std::get<Broken>(n).error.code == errc::misaligned);
  CaReaderBytes echo;
  encode(echo, Echo{});
  r.feed(echo);
  CHECK(std::holds_alternative<Broken>(r.next()));
  // An oversized and misaligned size is garbage too: not skipped.
  CircuitReader q{Limits{}};
  q.feed(ca_reader_header(0xFFF1, false));
  CHECK(std::holds_alternative<Broken>(q.next()));
}

}  // namespace weft::ca
