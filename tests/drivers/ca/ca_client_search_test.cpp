// Tests of the client's UDP name resolution: the search datagram has
// libca 4.13.5's exact bytes (channel-access.md §4.1, captured with strace),
// many names split across datagrams within the limit and read back by the
// server's own decoder; search replies resolve to the server address by
// libca's minor-version rules; NOT_FOUND, beacons; truncated, misaligned and
// 0.0.0.0 replies end the datagram with an error after what came before.
#include "weft/drivers/ca/client_search.hpp"

#include <catch2/catch.hpp>

namespace weft::ca {

using Catch::Matchers::Contains;
using CaSearchBytes = std::vector<std::uint8_t>;

namespace {

const ServerAddress ca_search_sender{0x7F000001, 40000};

CaSearchBytes ca_search_raw(std::uint16_t command, std::uint16_t size, std::uint16_t type, std::uint16_t count,
                            std::uint32_t p1, std::uint32_t p2) {
  return {static_cast<std::uint8_t>(command >> 8), static_cast<std::uint8_t>(command),
          static_cast<std::uint8_t>(size >> 8),    static_cast<std::uint8_t>(size),
          static_cast<std::uint8_t>(type >> 8),    static_cast<std::uint8_t>(type),
          static_cast<std::uint8_t>(count >> 8),   static_cast<std::uint8_t>(count),
          static_cast<std::uint8_t>(p1 >> 24),     static_cast<std::uint8_t>(p1 >> 16),
          static_cast<std::uint8_t>(p1 >> 8),      static_cast<std::uint8_t>(p1),
          static_cast<std::uint8_t>(p2 >> 24),     static_cast<std::uint8_t>(p2 >> 16),
          static_cast<std::uint8_t>(p2 >> 8),      static_cast<std::uint8_t>(p2)};
}

}  // namespace

TEST_CASE("ca client search: the datagram has libca's bytes", "[ca][client]") {
  const std::vector<SearchEntry> entries = {{1, "NO:SUCH:PV"}};
  const auto datagrams = build_search_datagrams(entries, 1);
  REQUIRE(datagrams.size() == 1);
  const CaSearchBytes expected = {
      0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x06, 0x00, 0x10, 0x00, 0x05, 0x00, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
      0x4e, 0x4f, 0x3a, 0x53, 0x55, 0x43, 0x48, 0x3a, 0x50, 0x56, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  CHECK(datagrams[0].bytes == expected);
  CHECK(datagrams[0].sequence == 1);
  CHECK(datagrams[0].search_ids == std::vector<std::uint32_t>{1});
}

TEST_CASE("ca client search: many names split across datagrams, read back by the server's decoder", "[ca][client]") {
  std::vector<SearchEntry> entries;
  for (std::uint32_t i = 0; i < 100; ++i) {
    std::string name = "box:pv:" + std::to_string(i);
    name.resize(30, 'x');  // 30 characters + NUL, padded: 32 bytes, 48 with the header
    entries.push_back({1000 + i, name});
  }
  const auto datagrams = build_search_datagrams(entries, 7);
  // (1024 - 16) / 48 = 21 names a datagram: 5 datagrams, the last with 16.
  REQUIRE(datagrams.size() == 5);
  std::size_t next = 0;
  for (std::size_t d = 0; d < datagrams.size(); ++d) {
    const SearchDatagram& g = datagrams[d];
    CHECK(g.bytes.size() <= default_search_datagram_bytes);
    CHECK(g.sequence == 7 + d);
    CHECK(g.search_ids.size() == (d < 4 ? 21u : 16u));
    const Limits limits;
    std::span<const std::uint8_t> rest(g.bytes);
    bool first = true;
    while (!rest.empty()) {
      const auto scanned = scan_frame(rest, limits);
      REQUIRE(std::holds_alternative<Frame>(scanned));
      const Frame& f = std::get<Frame>(scanned);
      const auto decoded = decode_request(f, limits);
      REQUIRE(std::holds_alternative<Request>(decoded));
      const Request& r = std::get<Request>(decoded);
      if (first) {
        REQUIRE(std::holds_alternative<Version>(r));
        CHECK(std::get<Version>(r) == Version{version_sequence_valid, 13, g.sequence});
        first = false;
      } else {
        REQUIRE(std::holds_alternative<Search>(r));
        const Search& s = std::get<Search>(r);
        REQUIRE(next < entries.size());
        CHECK(s.name == entries[next].name);
        CHECK(s.search_id == entries[next].search_id);
        CHECK_FALSE(s.do_reply);
        CHECK(s.client_minor == 13);
        ++next;
      }
      rest = rest.subspan(f.length);
    }
  }
  CHECK(next == entries.size());

  // A smaller limit: more datagrams, none above it.
  const auto small = build_search_datagrams(entries, 1, 200);
  CHECK(small.size() == 34);  // (200 - 16) / 48 = 3 a datagram
  for (const auto& g : small) CHECK(g.bytes.size() <= 200);
  CHECK(build_search_datagrams({}, 1).empty());
}

TEST_CASE("ca client search: names that cannot be searched are the caller's bug", "[ca][client]") {
  const std::vector<SearchEntry> empty = {{1, ""}};
  CHECK_THROWS_WITH(build_search_datagrams(empty, 1), Contains("does not fit"));
  const std::vector<SearchEntry> big = {{1, std::string(1000, 'a')}};
  CHECK_THROWS_WITH(build_search_datagrams(big, 1), Contains("1000 bytes"));
  CHECK(search_entry_fits(991, 1024));   // 16 + 16 + 992
  CHECK_FALSE(search_entry_fits(992, 1024));
}

TEST_CASE("ca client search: the reply libca accepted resolves to the sender and its port", "[ca][client]") {
  const CaSearchBytes reply = {
      0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x06, 0x00, 0x08, 0x3a, 0xd8, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
      0x00, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  const SearchReplies r = decode_search_replies(reply, ca_search_sender);
  CHECK_FALSE(r.error);
  CHECK(r.sequence == 1u);
  REQUIRE(r.found.size() == 1);
  CHECK(r.found[0] == SearchFound{1, ServerAddress{0x7F000001, 15064}, 13});
  CHECK(to_string(r.found[0].server) == "127.0.0.1:15064");
}

TEST_CASE("ca client search: the server address follows the server's minor version", "[ca][client]") {
  CaSearchBytes d;
  encode(d, Version{version_sequence_valid, 13, 9});
  encode(d, SearchReply{5070, 0x0A000002, 11, 13});   // 4.8+: the IP in p1
  encode(d, SearchReply{5071, 0x0A000002, 12, 7});    // 4.5..4.7: the sender, the port from the type field
  encode(d, SearchReply{5072, 0x0A000002, 13, 4});    // below 4.5: the sender and the default port
  encode(d, NotFound{13, 14});
  encode(d, Beacon{13, 5064, 1, 0});                  // not a reply: ignored
  // A reply without the version payload (a pre-4.1 server): minor unknown.
  const CaSearchBytes bare = ca_search_raw(6, 0, 5073, 0, 0x0A000002, 15);
  d.insert(d.end(), bare.begin(), bare.end());
  const SearchReplies r = decode_search_replies(d, ca_search_sender, 5064);
  CHECK_FALSE(r.error);
  CHECK(r.sequence == 9u);
  REQUIRE(r.found.size() == 4);
  CHECK(r.found[0] == SearchFound{11, ServerAddress{0x0A000002, 5070}, 13});
  CHECK(r.found[1] == SearchFound{12, ServerAddress{0x7F000001, 5071}, 7});
  CHECK(r.found[2] == SearchFound{13, ServerAddress{0x7F000001, 5064}, 4});
  CHECK(r.found[3] == SearchFound{15, ServerAddress{0x7F000001, 5064}, 0});
  CHECK(r.not_found == std::vector<std::uint32_t>{14});
  CHECK(r.ignored == 1);
}

TEST_CASE("ca client search: malformed replies stop the datagram with an error", "[ca][client]") {
  SECTION("a payload running past the datagram") {
    CaSearchBytes d;
    encode(d, SearchReply{5070, search_reply_use_sender, 1, 13});
    CaSearchBytes cut = ca_search_raw(6, 8, 5070, 0, search_reply_use_sender, 2);
    cut.push_back(0);
    d.insert(d.end(), cut.begin(), cut.end());
    const SearchReplies r = decode_search_replies(d, ca_search_sender);
    REQUIRE(r.error);
    CHECK(r.error->code == errc::truncated);
    CHECK_THAT(r.error->detail, Contains("127.0.0.1:40000") && Contains("message 1"));
    CHECK(r.found.size() == 1);  // the one before stands
  }
  SECTION("a misaligned size") {
    const CaSearchBytes d = [] {
      CaSearchBytes b = ca_search_raw(6, 3, 5070, 0, search_reply_use_sender, 2);
      b.resize(b.size() + 3, 0);
      return b;
    }();
    const SearchReplies r = decode_search_replies(d, ca_search_sender);
    REQUIRE(r.error);
    CHECK(r.error->code == errc::misaligned);
    CHECK(r.found.empty());
  }
  SECTION("a server address no circuit can reach") {
    CaSearchBytes d;
    encode(d, SearchReply{5070, 0, 1, 13});  // 0.0.0.0 (pitfall 2)
    const SearchReplies r = decode_search_replies(d, ca_search_sender);
    REQUIRE(r.error);
    CHECK_THAT(r.error->detail, Contains("0.0.0.0:5070"));
    CaSearchBytes p;
    encode(p, SearchReply{0, search_reply_use_sender, 1, 13});  // port 0
    CHECK(decode_search_replies(p, ca_search_sender).error);
  }
  SECTION("fewer bytes than a header, and a lone extended marker") {
    const CaSearchBytes seven(7, 0);
    CHECK(decode_search_replies(seven, ca_search_sender).error->code == errc::truncated);
    CaSearchBytes ext = ca_search_raw(6, 0xFFFF, 5070, 0, 0, 1);
    ext.resize(24 + 8, 0);
    ext[19] = 8;  // extended size 8
    CHECK(decode_search_replies(ext, ca_search_sender).error);
    CHECK_FALSE(decode_search_replies({}, ca_search_sender).error);
  }
  SECTION("commands a server never sends are ignored, not fatal") {
    const CaSearchBytes d = ca_search_raw(5, 0, 0, 0, 0, 0);  // SNAPSHOT
    const SearchReplies r = decode_search_replies(d, ca_search_sender);
    CHECK_FALSE(r.error);
    CHECK(r.ignored == 1);
  }
}

TEST_CASE("ca client search: beacons name the server they announce", "[ca][client]") {
  CaSearchBytes d;
  encode(d, Beacon{13, 15064, 7, 0});           // the sender's IP
  encode(d, Beacon{13, 0, 8, 0x0A000003});      // no port: the default
  encode(d, Version{0, 13, 0});                 // not a beacon
  const Beacons b = decode_beacons(d, ca_search_sender, 5064);
  CHECK_FALSE(b.error);
  REQUIRE(b.beacons.size() == 2);
  CHECK(b.beacons[0] == BeaconSeen{ServerAddress{0x7F000001, 15064}, 7, 13});
  CHECK(b.beacons[1] == BeaconSeen{ServerAddress{0x0A000003, 5064}, 8, 13});
  CHECK(b.ignored == 1);
  CaSearchBytes cut(d.begin(), d.begin() + 20);
  CHECK(decode_beacons(cut, ca_search_sender).error->code == errc::truncated);
}

}  // namespace weft::ca
