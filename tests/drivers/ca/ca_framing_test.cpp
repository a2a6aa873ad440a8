// Tests of CA message framing: the exact bytes of a real libca search
// datagram and of a reply libca accepted (channel-access.md §4.1), padding,
// the extended header both ways, a stream split at every byte and batched
// messages (pitfall 9), and hostile headers: sizes up to 4 GiB refused as soon
// as the header is complete (never buffered), misaligned sizes, truncation.
#include "weft/drivers/ca/framing.hpp"

#include <catch2/catch.hpp>

#include "weft/drivers/ca/messages.hpp"

// Inside weft::ca, not `using namespace`: in a unity batch another file's
// using-directive would make names like Value or Error ambiguous.
namespace weft::ca {

using Catch::Matchers::Contains;
using CaFramingBytes = std::vector<std::uint8_t>;

namespace {

Frame ca_framing_expect_frame(const ScanResult& r) {
  REQUIRE(std::holds_alternative<Frame>(r));
  return std::get<Frame>(r);
}

const CaFramingBytes ca_framing_libca_search = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,  // VERSION
    0x00, 0x06, 0x00, 0x10, 0x00, 0x05, 0x00, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,  // SEARCH
    0x4e, 0x4f, 0x3a, 0x53, 0x55, 0x43, 0x48, 0x3a, 0x50, 0x56, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // name
};

}  // namespace

TEST_CASE("ca framing reads a real libca search datagram", "[ca][framing]") {
  const Limits limits;
  std::span<const std::uint8_t> rest(ca_framing_libca_search);
  const Frame version = ca_framing_expect_frame(scan_frame(rest, limits));
  CHECK(version.header == Header{0, 0, 1, 13, 1, 0});
  CHECK_FALSE(version.extended);
  CHECK(version.length == 16);
  rest = rest.subspan(version.length);
  const Frame search = ca_framing_expect_frame(scan_frame(rest, limits));
  CHECK(search.header == Header{6, 16, 5, 13, 1, 1});
  CHECK(search.payload.size() == 16);
  CHECK(search.length == 32);
  CHECK(rest.size() == search.length);

  const auto decoded = decode_request(search, limits);
  REQUIRE(std::holds_alternative<Request>(decoded));
  const auto& s = std::get<Search>(std::get<Request>(decoded));
  CHECK(s.name == "NO:SUCH:PV");
  CHECK_FALSE(s.do_reply);
  CHECK(s.client_minor == 13);
  CHECK(s.search_id == 1);

  // Encoding the same two messages gives libca's bytes back, padding included.
  CaFramingBytes out;
  encode(out, Version{version_sequence_valid, 13, 1});
  encode(out, Search{"NO:SUCH:PV", false, 13, 1});
  CHECK(out == ca_framing_libca_search);
}

TEST_CASE("ca framing writes the search reply libca accepted", "[ca][framing]") {
  CaFramingBytes out;
  encode(out, Version{version_sequence_valid, 13, 1});
  encode(out, SearchReply{15064, search_reply_use_sender, 1, 13});
  const CaFramingBytes expected = {
      0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x06, 0x00, 0x08, 0x3a, 0xd8, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
      0x00, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  CHECK(out == expected);
}

TEST_CASE("ca framing pads every payload to 8 with zeros and counts the padding", "[ca][framing]") {
  for (std::size_t n = 0; n <= 17; ++n) {
    CaFramingBytes out;
    const CaFramingBytes payload(n, 0xAB);
    REQUIRE(append_message(out, Header{4, 0, 6, 1, 7, 8}, payload));
    const std::size_t padded = (n + 7) / 8 * 8;
    REQUIRE(out.size() == header_size + padded);
    CHECK(((out[2] << 8) | out[3]) == static_cast<int>(padded));
    for (std::size_t i = header_size + n; i < out.size(); ++i) CHECK(out[i] == 0);
  }
}

TEST_CASE("ca framing switches to the extended header at 0xFFFF bytes or elements", "[ca][framing]") {
  const Limits big{.max_array_bytes = 1u << 20};
  CaFramingBytes out;
  const CaFramingBytes payload(0x10000, 0x11);
  REQUIRE(append_message(out, Header{15, 0, 6, 0x2000, 1, 2}, payload));
  REQUIRE(out.size() == extended_header_size + 0x10000);
  CHECK(out[2] == 0xFF);
  CHECK(out[3] == 0xFF);
  CHECK(out[6] == 0);
  CHECK(out[7] == 0);  // the 16-bit count is 0 in an extended header
  const Frame f = ca_framing_expect_frame(scan_frame(out, big));
  CHECK(f.extended);
  CHECK(f.header == Header{15, 0x10000, 6, 0x2000, 1, 2});
  CHECK(f.header_bytes.size() == 24);

  // A count of 0xFFFF alone needs it too, even with a small payload.
  CaFramingBytes counted;
  REQUIRE(append_message(counted, Header{1, 0, 4, 0xFFFF, 0, 0}, CaFramingBytes(8, 0)));
  CHECK(counted.size() == extended_header_size + 8);
  CHECK(ca_framing_expect_frame(scan_frame(counted, big)).header.data_count == 0xFFFF);

  // Below 4.9 a client cannot read it: the encoder refuses and writes nothing.
  CaFramingBytes old;
  CHECK_FALSE(append_message(old, Header{15, 0, 6, 0x2000, 1, 2}, payload, false));
  CHECK(old.empty());
  // 0xFFF8 bytes is the largest standard payload.
  CaFramingBytes edge;
  REQUIRE(append_message(edge, Header{15, 0, 6, 1, 1, 2}, CaFramingBytes(0xFFF8, 0), false));
  CHECK(edge.size() == header_size + 0xFFF8);
}

TEST_CASE("ca framing waits for split messages and separates batched ones", "[ca][framing]") {
  // libca's circuit setup, usually in one segment (§4.2).
  CaFramingBytes stream;
  encode(stream, Version{0, 13, 0});
  encode(stream, ClientName{"root"});
  encode(stream, HostName{"vm"});
  encode(stream, CreateChan{1, 13, "TEST:DOUBLE"});
  const Limits limits;
  for (std::size_t cut = 0; cut < stream.size(); ++cut) {
    const std::span<const std::uint8_t> part(stream.data(), cut);
    std::size_t at = 0;
    while (true) {
      const auto r = scan_frame(part.subspan(at), limits);
      if (std::holds_alternative<NeedMore>(r)) {
        CHECK(std::get<NeedMore>(r).bytes > 0);
        break;
      }
      REQUIRE(std::holds_alternative<Frame>(r));
      at += std::get<Frame>(r).length;
    }
    CHECK(at <= cut);
  }
  std::vector<Request> seen;
  std::span<const std::uint8_t> rest(stream);
  while (!rest.empty()) {
    const Frame f = ca_framing_expect_frame(scan_frame(rest, limits));
    auto d = decode_request(f, limits);
    REQUIRE(std::holds_alternative<Request>(d));
    seen.push_back(std::get<Request>(d));
    rest = rest.subspan(f.length);
  }
  REQUIRE(seen.size() == 4);
  CHECK(std::get<ClientName>(seen[1]).name == "root");
  CHECK(std::get<HostName>(seen[2]).name == "vm");
  CHECK(std::get<CreateChan>(seen[3]) == CreateChan{1, 13, "TEST:DOUBLE"});
}

TEST_CASE("ca framing refuses a 4 GiB payload as soon as the header is complete", "[ca][framing][hostile]") {
  const Limits limits;
  CaFramingBytes lie = {0x00, 0x04, 0xFF, 0xFF, 0x00, 0x06, 0x00, 0x00, 0, 0, 0, 1, 0, 0, 0, 1,
                        0xFF, 0xFF, 0xFF, 0xF8, 0x00, 0x00, 0x00, 0x01};
  // Only the 24 header bytes are here: the verdict does not wait for 4 GiB.
  const auto r = scan_frame(lie, limits);
  REQUIRE(std::holds_alternative<Error>(r));
  CHECK(std::get<Error>(r).code == errc::too_large);
  CHECK_THAT(std::get<Error>(r).message(), Contains("payload size 4294967288") && Contains("16896"));

  // The marker with only 16 bytes: more is needed (8), not a guess.
  const auto partial = scan_frame(std::span(lie).first(16), limits);
  REQUIRE(std::holds_alternative<NeedMore>(partial));
  CHECK(std::get<NeedMore>(partial).bytes == 8);

  // The largest accepted payload is the limit plus the metadata room; one step more is refused.
  const std::uint32_t max = static_cast<std::uint32_t>(limits.max_payload_bytes());
  CaFramingBytes at_max = lie;
  at_max[16] = static_cast<std::uint8_t>(max >> 24);
  at_max[17] = static_cast<std::uint8_t>(max >> 16);
  at_max[18] = static_cast<std::uint8_t>(max >> 8);
  at_max[19] = static_cast<std::uint8_t>(max);
  CHECK(std::holds_alternative<NeedMore>(scan_frame(at_max, limits)));
  at_max[19] = static_cast<std::uint8_t>(max + 8);
  CHECK(std::holds_alternative<Error>(scan_frame(at_max, limits)));
}

TEST_CASE("ca framing refuses misaligned sizes and reports truncation as need-more", "[ca][framing][hostile]") {
  const Limits limits;
  CaFramingBytes odd = {0x00, 0x06, 0x00, 0x0B, 0x00, 0x05, 0x00, 0x0d, 0, 0, 0, 1, 0, 0, 0, 1};
  odd.resize(16 + 11, 'A');
  const auto r = scan_frame(odd, limits);
  REQUIRE(std::holds_alternative<Error>(r));
  CHECK(std::get<Error>(r).code == errc::misaligned);
  CHECK_THAT(std::get<Error>(r).message(), Contains("payload size 11"));

  for (std::size_t n = 0; n < 16; ++n) {
    const auto t = scan_frame(std::span(ca_framing_libca_search).first(n), limits);
    REQUIRE(std::holds_alternative<NeedMore>(t));
    CHECK(std::get<NeedMore>(t).bytes == 16 - n);
  }
  // A SEARCH whose payload has not all arrived.
  const auto t = scan_frame(std::span(ca_framing_libca_search).subspan(16, 20), limits);
  REQUIRE(std::holds_alternative<NeedMore>(t));
  CHECK(std::get<NeedMore>(t).bytes == 12);
}

TEST_CASE("ca framing limit follows max_array_bytes", "[ca][framing]") {
  CHECK(Limits{}.max_payload_bytes() == 16384 + 512);
  CHECK(Limits{.max_array_bytes = 1000}.max_payload_bytes() == 1512);
  CHECK(Limits{.max_array_bytes = 1001}.max_payload_bytes() == 1520);
}

}  // namespace weft::ca
