// Tests of the client's circuit requests and of its checks on what a server
// sends: the hello, CREATE_CHAN and camonitor's EVENT_ADD have libca's bytes
// (channel-access.md §§4.2, 4.4) and are read back by the server's decoder;
// data replies encoded by the server's encode_dbr come back as the same
// value, alarm, time stamp and metadata; a reply of the wrong type, with more
// elements than the channel advertised or than max_array_bytes, short or
// unterminated, a CREATE_CHAN reply with a bad type or count, is an error.
#include "weft/drivers/ca/client_channel.hpp"

#include <catch2/catch.hpp>

namespace weft::ca {

using Catch::Matchers::Contains;
using CaChanBytes = std::vector<std::uint8_t>;

namespace {

const Limits ca_chan_limits{};

std::vector<Request> ca_chan_requests(const CaChanBytes& bytes) {
  std::vector<Request> out;
  std::span<const std::uint8_t> rest(bytes);
  while (!rest.empty()) {
    const auto scanned = scan_frame(rest, ca_chan_limits);
    REQUIRE(std::holds_alternative<Frame>(scanned));
    const auto d = decode_request(std::get<Frame>(scanned), ca_chan_limits);
    REQUIRE(std::holds_alternative<Request>(d));
    out.push_back(std::get<Request>(d));
    rest = rest.subspan(std::get<Frame>(scanned).length);
  }
  return out;
}

ChannelInfo ca_chan_double(std::uint16_t server_minor = 13, std::uint32_t count = 1) {
  return ChannelInfo{1, 0x10, ValueType::float64, count, access_read | access_write, server_minor};
}

Value ca_chan_value() {
  Value v;
  v.type = ValueType::float64;
  v.elements = std::vector<double>{1.5};
  v.alarm = Alarm{Status::high, Severity::minor};
  v.stamp = TimeStamp{1000000000, 123456789};
  v.meta.units = "l/min";
  v.meta.precision = 3;
  v.meta.upper_disp = 10;
  v.meta.lower_disp = -1;
  v.meta.upper_alarm = 9;
  v.meta.upper_warning = 8;
  v.meta.lower_warning = 1;
  v.meta.lower_alarm = 0.5;
  v.meta.upper_ctrl = 11;
  v.meta.lower_ctrl = -2;
  return v;
}

CaChanBytes ca_chan_payload(std::uint16_t code, std::uint32_t count, const Value& v) {
  auto r = encode_dbr(code, count, v, ca_chan_limits);
  REQUIRE(std::holds_alternative<CaChanBytes>(r));
  CaChanBytes b = std::get<CaChanBytes>(r);
  b.resize(static_cast<std::size_t>(padded_size(b.size())), 0);  // as it arrives: padded
  return b;
}

}  // namespace

TEST_CASE("ca client channel: the hello and CREATE_CHAN have libca's bytes", "[ca][client]") {
  CaChanBytes out;
  append_hello(out, Hello{0, "root", "vm"});
  append_create_channel(out, 1, "TEST:DOUBLE");
  const CaChanBytes expected = {
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d, 0, 0, 0, 0, 0, 0, 0, 0,                      // VERSION
      0x00, 0x14, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'r', 'o', 'o', 't', 0, 0, 0, 0,  // CLIENT_NAME
      0x00, 0x15, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'v', 'm', 0, 0, 0, 0, 0, 0,      // HOST_NAME
      0x00, 0x12, 0x00, 0x10, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 13,                                 // CREATE_CHAN
      'T', 'E', 'S', 'T', ':', 'D', 'O', 'U', 'B', 'L', 'E', 0, 0, 0, 0, 0,
  };
  CHECK(out == expected);
  const auto r = ca_chan_requests(out);
  REQUIRE(r.size() == 4);
  CHECK(std::get<CreateChan>(r[3]) == CreateChan{1, 13, "TEST:DOUBLE"});

  CaChanBytes high;
  append_hello(high, Hello{99, "u", "h"});
  CHECK(std::get<Version>(ca_chan_requests(high)[0]).flags == 99);
  CHECK_THROWS_WITH(append_hello(high, Hello{100, "u", "h"}), Contains("priority 100"));
  CHECK_THROWS_WITH(append_hello(high, Hello{0, std::string(513, 'u'), "h"}), Contains("513 bytes"));
}

TEST_CASE("ca client channel: creating a channel checks what the server says", "[ca][client]") {
  PendingChannel p{7, "box:flow", 13, std::nullopt};
  CHECK(std::holds_alternative<ChannelWaiting>(on_create_response(p, AccessRights{7, 0xFF})));
  CHECK(p.rights == (access_read | access_write));  // unknown bits dropped
  const auto ok = on_create_response(p, CreateChanReply{7, 0x22, 6, 16});
  REQUIRE(std::holds_alternative<ChannelInfo>(ok));
  CHECK(std::get<ChannelInfo>(ok) == ChannelInfo{7, 0x22, ValueType::float64, 16, 3, 13});

  PendingChannel q{8, "box:x", 13, std::nullopt};
  const auto no_rights = on_create_response(q, CreateChanReply{8, 1, 0, 1});
  CHECK(std::get<ChannelInfo>(no_rights).rights == 0);
  CHECK(std::holds_alternative<ChannelRefused>(on_create_response(q, CreateChFail{8})));

  const auto other = on_create_response(q, CreateChanReply{9, 1, 0, 1});
  REQUIRE(std::holds_alternative<Error>(other));
  CHECK_THAT(std::get<Error>(other).detail, Contains("CID 9") && Contains("box:x"));
  const auto type7 = on_create_response(q, CreateChanReply{8, 1, 7, 1});
  CHECK(std::get<Error>(type7).code == errc::bad_type);
  const auto count0 = on_create_response(q, CreateChanReply{8, 1, 6, 0});
  CHECK(std::get<Error>(count0).code == errc::bad_count);
  const auto stray = on_create_response(q, WriteNotifyReply{});
  CHECK_THAT(std::get<Error>(stray).detail, Contains("WRITE_NOTIFY"));
}

TEST_CASE("ca client channel: camonitor's EVENT_ADD, reads, cancel and clear", "[ca][client]") {
  const ChannelInfo c = ca_chan_double();
  CaChanBytes add;
  append_subscribe(add, c, time_type(c.native_type), 4, dbe_value | dbe_alarm);
  // (1, 16, DBR_TIME_DOUBLE, 0, sid, subid) + 00000000 00000000 00000000 0005 0000 (§4.4)
  CHECK(add == CaChanBytes{0x00, 0x01, 0x00, 0x10, 0x00, 0x14, 0x00, 0x00, 0, 0, 0, 0x10, 0, 0, 0, 4,
                           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x05, 0x00, 0x00});
  CaChanBytes out;
  append_subscribe(out, c, ctrl_type(c.native_type), 5, dbe_property);
  append_read(out, c, time_type(c.native_type), 6);
  append_unsubscribe(out, c, ctrl_type(c.native_type), 5);
  append_clear_channel(out, c);
  encode(out, Echo{});
  const auto r = ca_chan_requests(out);
  REQUIRE(r.size() == 5);
  CHECK(std::get<EventAdd>(r[0]) == EventAdd{34, 0, 0x10, 5, 0, 0, 0, dbe_property});
  CHECK(std::get<ReadNotify>(r[1]) == ReadNotify{20, 0, 0x10, 6});
  CHECK(std::get<EventCancel>(r[2]) == EventCancel{34, 0, 0x10, 5});
  CHECK(std::get<ClearChannel>(r[3]) == ClearChannel{0x10, 1});
  CHECK(std::holds_alternative<Echo>(r[4]));

  // A server below 4.13 gets the channel's count, never 0.
  CaChanBytes old;
  append_read(old, ca_chan_double(12, 40), time_type(ValueType::float64), 1);
  CHECK(std::get<ReadNotify>(ca_chan_requests(old)[0]).count == 40);
}

TEST_CASE("ca client channel: WRITE_NOTIFY converts to the native type", "[ca][client]") {
  const ChannelInfo c = ca_chan_double(13, 3);
  CaChanBytes out;
  REQUIRE_FALSE(append_write_notify(out, c, 9, std::vector<std::string>{"2.5", "-1"}, ValueType::string, ca_chan_limits));
  const auto r = ca_chan_requests(out);
  REQUIRE(r.size() == 1);
  const WriteNotify& w = std::get<WriteNotify>(r[0]);
  CHECK(w.dbr_type == 6);
  CHECK(w.count == 2);
  CHECK(w.sid == 0x10);
  CHECK(w.ioid == 9);
  const auto d = decode_dbr(w.dbr_type, w.count, w.data, ca_chan_limits);
  REQUIRE(std::holds_alternative<Decoded>(d));
  CHECK(std::get<std::vector<double>>(std::get<Decoded>(d).value.elements) == std::vector<double>{2.5, -1});

  CaChanBytes none;
  const auto empty = append_write_notify(none, c, 1, std::vector<double>{}, ValueType::float64, ca_chan_limits);
  REQUIRE(empty);
  CHECK(empty->code == errc::bad_count);
  const auto four = append_write_notify(none, c, 1, std::vector<double>{1, 2, 3, 4}, ValueType::float64, ca_chan_limits);
  CHECK_THAT(four->detail, Contains("4 elements to a channel of 3"));
  const auto text = append_write_notify(none, c, 1, std::vector<std::string>{"abc"}, ValueType::string, ca_chan_limits);
  CHECK(text->code == errc::no_convert);
  ChannelInfo big = ca_chan_double(13, 1000000);
  const auto huge = append_write_notify(none, big, 1, std::vector<double>(3000, 1.0), ValueType::float64, ca_chan_limits);
  CHECK(huge->code == errc::too_large);
  CHECK(none.empty());  // nothing appended by a refused write

  CHECK_FALSE(write_failure(WriteNotifyReply{6, 1, Eca::normal, 9}));
  CHECK(write_failure(WriteNotifyReply{6, 1, Eca::nowtaccess, 9}) == "ECA_NOWTACCESS (Write access denied)");
}

TEST_CASE("ca client channel: TIME and CTRL replies from the server's encoder read back", "[ca][client]") {
  const Value v = ca_chan_value();
  SECTION("DBR_TIME_DOUBLE monitor update") {
    const EventUpdate u{20, 1, Eca::normal, 4, ca_chan_payload(20, 1, v)};
    const auto r = decode_reading(u, Expected{20, 1}, ca_chan_limits);
    REQUIRE(std::holds_alternative<Reading>(r));
    const Reading& g = std::get<Reading>(r);
    CHECK(g.family == Family::time);
    CHECK(g.value.alarm == v.alarm);
    CHECK(g.value.stamp == v.stamp);
    CHECK(std::get<std::vector<double>>(g.value.elements) == std::vector<double>{1.5});
  }
  SECTION("DBR_CTRL_DOUBLE read") {
    const ReadNotifyReply rr{34, 1, Eca::normal, 6, ca_chan_payload(34, 1, v)};
    const auto r = decode_reading(rr, Expected{34, 1}, ca_chan_limits);
    REQUIRE(std::holds_alternative<Reading>(r));
    const Reading& g = std::get<Reading>(r);
    CHECK(g.family == Family::ctrl);
    CHECK(g.value.meta == v.meta);
    CHECK(g.value.alarm == v.alarm);
  }
  SECTION("DBR_CTRL_ENUM carries the state names") {
    Value e;
    e.type = ValueType::enumerated;
    e.elements = std::vector<double>{1};
    e.meta.enum_strings = {"off", "auto", "manual"};
    const EventUpdate u{31, 1, Eca::normal, 4, ca_chan_payload(31, 1, e)};
    const auto r = decode_reading(u, Expected{31, 1}, ca_chan_limits);
    REQUIRE(std::holds_alternative<Reading>(r));
    CHECK(std::get<Reading>(r).value.meta.enum_strings == e.meta.enum_strings);
  }
  SECTION("a TIME_STRING array and a dynamic count 0") {
    Value s;
    s.type = ValueType::string;
    s.elements = std::vector<std::string>{"a", "bc"};
    const EventUpdate u{14, 2, Eca::normal, 4, ca_chan_payload(14, 2, s)};
    const auto r = decode_reading(u, Expected{14, 5}, ca_chan_limits);
    REQUIRE(std::holds_alternative<Reading>(r));
    CHECK(std::get<std::vector<std::string>>(std::get<Reading>(r).value.elements) == std::vector<std::string>{"a", "bc"});
    const EventUpdate zero{14, 0, Eca::normal, 4, ca_chan_payload(14, 0, s)};
    const auto z = decode_reading(zero, Expected{14, 5}, ca_chan_limits);
    REQUIRE(std::holds_alternative<Reading>(z));
    CHECK(std::get<Reading>(z).value.size() == 0);
  }
  SECTION("a failure status carries no value") {
    const ReadNotifyReply rr{20, 1, Eca::nordaccess, 6, CaChanBytes(24, 0)};
    const auto r = decode_reading(rr, Expected{20, 1}, ca_chan_limits);
    REQUIRE(std::holds_alternative<Reading>(r));
    CHECK(std::get<Reading>(r).status == Eca::nordaccess);
    CHECK(std::get<Reading>(r).value.size() == 0);
  }
}

TEST_CASE("ca client channel: data replies are not trusted", "[ca][client]") {
  const Value v = ca_chan_value();
  SECTION("another type than asked") {
    const EventUpdate u{20, 1, Eca::normal, 4, ca_chan_payload(20, 1, v)};
    const auto r = decode_reading(u, Expected{34, 1}, ca_chan_limits);
    REQUIRE(std::holds_alternative<Error>(r));
    CHECK(std::get<Error>(r).code == errc::bad_type);
    CHECK_THAT(std::get<Error>(r).detail, Contains("DBR_TIME_DOUBLE to a DBR_CTRL_DOUBLE") && Contains("subscription 4"));
  }
  SECTION("more elements than the channel advertised") {
    Value a = v;
    a.elements = std::vector<double>{1, 2, 3};
    const EventUpdate u{20, 3, Eca::normal, 4, ca_chan_payload(20, 3, a)};
    const auto r = decode_reading(u, Expected{20, 2}, ca_chan_limits);
    REQUIRE(std::holds_alternative<Error>(r));
    CHECK(std::get<Error>(r).code == errc::bad_count);
    CHECK_THAT(std::get<Error>(r).detail, Contains("3 elements") && Contains("advertised 2"));
  }
  SECTION("a count over max_array_bytes is refused before any allocation") {
    // 0xFFFFFFFF doubles claimed, with a payload of 24 bytes: refused on the count alone.
    const EventUpdate u{20, 0xFFFFFFFFu, Eca::normal, 4, CaChanBytes(24, 0)};
    const auto r = decode_reading(u, Expected{20, 0xFFFFFFFFu}, ca_chan_limits);
    REQUIRE(std::holds_alternative<Error>(r));
    CHECK(std::get<Error>(r).code == errc::too_large);
    CHECK_THAT(std::get<Error>(r).detail, Contains("max_array_bytes 16384"));
  }
  SECTION("a payload shorter than its count") {
    const EventUpdate u{20, 2, Eca::normal, 4, ca_chan_payload(20, 1, v)};
    const auto r = decode_reading(u, Expected{20, 2}, ca_chan_limits);
    CHECK(std::get<Error>(r).code == errc::short_payload);
  }
  SECTION("a string without its terminator") {
    CaChanBytes p(56, 'x');
    p[0] = p[1] = p[2] = p[3] = 0;
    const ReadNotifyReply rr{14, 1, Eca::normal, 6, p};
    const auto r = decode_reading(rr, Expected{14, 1}, ca_chan_limits);
    CHECK(std::get<Error>(r).code == errc::unterminated_string);
  }
  SECTION("a type code above 38") {
    const ReadNotifyReply rr{77, 1, Eca::normal, 6, CaChanBytes(8, 0)};
    CHECK(std::get<Error>(decode_reading(rr, Expected{77, 1}, ca_chan_limits)).code == errc::bad_type);
  }
}

TEST_CASE("ca client channel: an ERROR names the request that failed", "[ca][client]") {
  CaChanBytes req;
  encode(req, ReadNotify{20, 0, 0x10, 77});
  CaChanBytes wire;
  encode(wire, ErrorMessage{5, Eca::badchid, req, "no such channel"});
  const auto scanned = scan_frame(wire, ca_chan_limits);
  REQUIRE(std::holds_alternative<Frame>(scanned));
  const auto d = decode_response(std::get<Frame>(scanned), ca_chan_limits);
  REQUIRE(std::holds_alternative<Response>(d));
  const ErrorReport e = read_error(std::get<ErrorMessage>(std::get<Response>(d)));
  CHECK(e.status == Eca::badchid);
  CHECK(e.cid == 5);
  CHECK(e.request == Header{15, 0, 20, 0, 0x10, 77});
  CHECK_THAT(e.message(), Contains("ECA_BADCHID") && Contains("READ_NOTIFY") && Contains("p2 77") &&
                              Contains("no such channel"));

  // An extended copy: the real size and count are read from it.
  CaChanBytes big;
  encode(big, EventAdd{34, 100000, 5, 6, 0, 0, 0, 1});
  const ErrorReport x = read_error(ErrorMessage{no_cid, Eca::tolarge, CaChanBytes(big.begin(), big.begin() + 24), ""});
  CHECK(x.request.data_count == 100000);
  CHECK(x.request.payload_size == 16);
  // A cut-short copy (only a hand-made message can have one) leaves the header zero.
  CHECK(read_error(ErrorMessage{1, Eca::internal, CaChanBytes(3, 1), "x"}).request == Header{});
}

}  // namespace weft::ca
