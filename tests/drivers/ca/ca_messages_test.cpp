// Tests of the typed CA messages: every request and every response survives
// encode -> scan -> decode unchanged; the exact bytes of libca's circuit setup
// replies, camonitor's EVENT_ADD and the cancel confirmation (command 1, size
// 0) follow channel-access.md §§3.1 and 4; hostile payloads (names without
// NUL, empty or oversized names, short EVENT_ADD, unknown, obsolete and
// wrong-direction commands, an ERROR too short for its header copy) are
// refused with an error naming the command and what was wrong.
#include "weft/drivers/ca/messages.hpp"

#include <catch2/catch.hpp>

// Inside weft::ca, not `using namespace`: in a unity batch another file's
// using-directive would make names like Value or Error ambiguous.
namespace weft::ca {

using Catch::Matchers::Contains;
using CaMessagesBytes = std::vector<std::uint8_t>;

namespace {

const Limits ca_messages_limits{};

Frame ca_messages_frame(const CaMessagesBytes& bytes) {
  const auto r = scan_frame(bytes, ca_messages_limits);
  REQUIRE(std::holds_alternative<Frame>(r));
  REQUIRE(std::get<Frame>(r).length == bytes.size());
  return std::get<Frame>(r);
}

template <class T>
void ca_messages_request_round_trip(const T& m) {
  CaMessagesBytes out;
  encode(out, m);
  const auto d = decode_request(ca_messages_frame(out), ca_messages_limits);
  REQUIRE(std::holds_alternative<Request>(d));
  const Request& r = std::get<Request>(d);
  REQUIRE(std::holds_alternative<T>(r));
  CHECK(std::get<T>(r) == m);
  CHECK(command_of(r) == command_of(Request{m}));
}

template <class T>
void ca_messages_response_round_trip(const T& m) {
  CaMessagesBytes out;
  encode(out, m);
  const auto d = decode_response(ca_messages_frame(out), ca_messages_limits);
  REQUIRE(std::holds_alternative<Response>(d));
  const Response& r = std::get<Response>(d);
  REQUIRE(std::holds_alternative<T>(r));
  CHECK(std::get<T>(r) == m);
}

Error ca_messages_request_error(const CaMessagesBytes& bytes) {
  const auto d = decode_request(ca_messages_frame(bytes), ca_messages_limits);
  REQUIRE(std::holds_alternative<Error>(d));
  return std::get<Error>(d);
}

CaMessagesBytes ca_messages_raw(std::uint16_t command, std::uint16_t type, std::uint16_t count, std::uint32_t p1,
                                std::uint32_t p2, const CaMessagesBytes& payload) {
  CaMessagesBytes out;
  REQUIRE(append_message(out, Header{command, 0, type, count, p1, p2}, payload));
  return out;
}

}  // namespace

TEST_CASE("ca messages: every request round-trips", "[ca][messages]") {
  ca_messages_request_round_trip(Version{3, 13, 0});
  ca_messages_request_round_trip(Version{version_sequence_valid, 13, 77});
  ca_messages_request_round_trip(Search{"box:temp", true, 13, 0xDEADBEEF});
  ca_messages_request_round_trip(Search{"box:temp", false, 12, 1});
  ca_messages_request_round_trip(CreateChan{0xFFFFFFFF, 13, "box:temp.EGU"});
  ca_messages_request_round_trip(ReadNotify{20, 0, 5, 6});
  ca_messages_request_round_trip(Read{6, 1, 5, 6});
  ca_messages_request_round_trip(EventAdd{20, 0, 5, 6, 1.5f, -2.5f, 0.0f, dbe_value | dbe_alarm});
  ca_messages_request_round_trip(EventAdd{34, 100000, 5, 6, 0, 0, 0, 0xFFFF});  // extended header
  ca_messages_request_round_trip(EventCancel{20, 0, 5, 6});
  ca_messages_request_round_trip(Write{0, 1, 5, 1, {'4', '2', 0, 0, 0, 0, 0, 0}});
  ca_messages_request_round_trip(WriteNotify{6, 1, 5, 9, {0x3f, 0xf8, 0, 0, 0, 0, 0, 0}});
  ca_messages_request_round_trip(ClearChannel{5, 1});
  ca_messages_request_round_trip(ClientName{"root"});
  ca_messages_request_round_trip(ClientName{""});
  ca_messages_request_round_trip(HostName{"vm"});
  ca_messages_request_round_trip(Echo{});
  ca_messages_request_round_trip(ReadSync{});
  ca_messages_request_round_trip(EventsOff{});
  ca_messages_request_round_trip(EventsOn{});
}

TEST_CASE("ca messages: every response round-trips", "[ca][messages]") {
  ca_messages_response_round_trip(Version{0, 13, 0});
  ca_messages_response_round_trip(SearchReply{5064, 0x7F000001, 42, 13});
  ca_messages_response_round_trip(NotFound{13, 42});
  ca_messages_response_round_trip(AccessRights{1, access_read | access_write});
  ca_messages_response_round_trip(CreateChanReply{1, 2, 6, 1});
  ca_messages_response_round_trip(CreateChanReply{1, 2, 6, 200000});  // extended header
  ca_messages_response_round_trip(CreateChFail{7});
  ca_messages_response_round_trip(ReadNotifyReply{20, 1, Eca::normal, 3, CaMessagesBytes(24, 1)});
  ca_messages_response_round_trip(ReadNotifyReply{20, 1, Eca::nordaccess, 3, CaMessagesBytes(24, 0)});
  ca_messages_response_round_trip(EventUpdate{20, 1, Eca::normal, 4, CaMessagesBytes(24, 2)});
  ca_messages_response_round_trip(EventCancelReply{20, 0, 5, 4});
  ca_messages_response_round_trip(WriteNotifyReply{6, 1, Eca::putfail, 9});
  ca_messages_response_round_trip(ClearChannelReply{5, 1});
  ca_messages_response_round_trip(ErrorMessage{1, Eca::nowtaccess, CaMessagesBytes(16, 3), "Write access denied"});
  ca_messages_response_round_trip(ErrorMessage{no_cid, Eca::internal, CaMessagesBytes{0, 4, 0xFF, 0xFF, 0, 6, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1}, ""});
  ca_messages_response_round_trip(ServerDisconn{3});
  ca_messages_response_round_trip(Beacon{13, 5064, 7, 0});
  ca_messages_response_round_trip(Echo{});
}

TEST_CASE("ca messages: the circuit setup replies have RSRV's bytes", "[ca][messages]") {
  CaMessagesBytes out;
  encode(out, AccessRights{1, 3});
  encode(out, CreateChanReply{1, 0x10, 6, 1});
  const CaMessagesBytes expected = {
      0x00, 0x16, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03,
      0x00, 0x12, 0x00, 0x00, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10,
  };
  CHECK(out == expected);

  // p1 carries the ECA status in replies (pitfall 4).
  CaMessagesBytes wn;
  encode(wn, WriteNotifyReply{6, 1, Eca::putfail, 9});
  CHECK(wn == CaMessagesBytes{0x00, 0x13, 0x00, 0x00, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0xA0, 0x00, 0x00, 0x00, 0x09});
  // NOT_FOUND copies the request: DO_REPLY, client minor, the search ID twice.
  CaMessagesBytes nf;
  encode(nf, NotFound{13, 42});
  CHECK(nf == CaMessagesBytes{0x00, 0x0E, 0x00, 0x00, 0x00, 0x0A, 0x00, 0x0D, 0, 0, 0, 42, 0, 0, 0, 42});
  // A beacon: minor in the type field, the TCP port in the count field.
  CaMessagesBytes beacon;
  encode(beacon, Beacon{13, 15064, 2, 0});
  CHECK(beacon == CaMessagesBytes{0x00, 0x0D, 0x00, 0x00, 0x00, 0x0D, 0x3A, 0xD8, 0, 0, 0, 2, 0, 0, 0, 0});
}

TEST_CASE("ca messages: camonitor's EVENT_ADD and the cancel confirmation", "[ca][messages]") {
  // (1, 16, DBR_TIME_DOUBLE, 0, sid, subid) + 00000000 00000000 00000000 0005 0000 (§4.4)
  const CaMessagesBytes add = {0x00, 0x01, 0x00, 0x10, 0x00, 0x14, 0x00, 0x00, 0, 0, 0, 9, 0, 0, 0, 4,
                               0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x05, 0x00, 0x00};
  const auto d = decode_request(ca_messages_frame(add), ca_messages_limits);
  REQUIRE(std::holds_alternative<Request>(d));
  CHECK(std::get<EventAdd>(std::get<Request>(d)) == EventAdd{20, 0, 9, 4, 0, 0, 0, 5});

  CaMessagesBytes confirm;
  encode(confirm, EventCancelReply{20, 0, 9, 4});
  CHECK(confirm == CaMessagesBytes{0x00, 0x01, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0, 0, 0, 9, 0, 0, 0, 4});
}

TEST_CASE("ca messages: ERROR copies the failing request's header and ends its text", "[ca][messages]") {
  CaMessagesBytes request;
  encode(request, Write{0, 1, 5, 77, {'x', 0, 0, 0, 0, 0, 0, 0}});
  const Frame f = ca_messages_frame(request);
  CaMessagesBytes out;
  encode(out, ErrorMessage{77, Eca::nowtaccess,
                           CaMessagesBytes(f.header_bytes.begin(), f.header_bytes.end()), "no"});
  REQUIRE(out.size() == 16 + 24);  // 16 copied + "no\0" padded to 24
  CHECK(CaMessagesBytes(out.begin() + 16, out.begin() + 32) == CaMessagesBytes(request.begin(), request.begin() + 16));
  CHECK(out[32] == 'n');
  CHECK(out[34] == 0);
}

TEST_CASE("ca messages: names without a NUL, empty or too long are refused", "[ca][messages][hostile]") {
  const Error unterminated = ca_messages_request_error(ca_messages_raw(6, 5, 13, 1, 1, CaMessagesBytes(16, 'A')));
  CHECK(unterminated.code == errc::unterminated_string);
  CHECK_THAT(unterminated.message(), Contains("SEARCH") && Contains("no NUL within its 16-byte payload"));

  const Error empty = ca_messages_request_error(ca_messages_raw(18, 0, 0, 1, 13, {}));
  CHECK(empty.code == errc::short_payload);
  CHECK_THAT(empty.message(), Contains("CREATE_CHAN") && Contains("PV name missing"));

  const Error blank = ca_messages_request_error(ca_messages_raw(18, 0, 0, 1, 13, CaMessagesBytes(8, 0)));
  CHECK(blank.code == errc::short_payload);
  CHECK_THAT(blank.message(), Contains("empty PV name"));

  CaMessagesBytes long_name(600, 'n');
  long_name.push_back(0);
  const Error too_long = ca_messages_request_error(ca_messages_raw(20, 0, 0, 0, 0, long_name));
  CHECK(too_long.code == errc::string_too_long);
  CHECK_THAT(too_long.message(), Contains("CLIENT_NAME") && Contains("600 characters") && Contains("512"));
  // 512 is still accepted.
  CaMessagesBytes max_name(512, 'n');
  max_name.push_back(0);
  CHECK(std::holds_alternative<Request>(
      decode_request(ca_messages_frame(ca_messages_raw(20, 0, 0, 0, 0, max_name)), ca_messages_limits)));
}

TEST_CASE("ca messages: short EVENT_ADD, unknown, obsolete and wrong-direction commands", "[ca][messages][hostile]") {
  const Error short_add = ca_messages_request_error(ca_messages_raw(1, 20, 0, 9, 4, CaMessagesBytes(8, 0)));
  CHECK(short_add.code == errc::short_payload);
  CHECK_THAT(short_add.message(), Contains("EVENT_ADD") && Contains("8 bytes"));

  const Error unknown = ca_messages_request_error(ca_messages_raw(99, 0, 0, 0, 0, {}));
  CHECK(unknown.code == errc::unknown_command);
  CHECK_THAT(unknown.message(), Contains("command 99"));

  for (const std::uint16_t obsolete : {5, 7, 16, 17, 24, 25}) {
    CHECK(ca_messages_request_error(ca_messages_raw(obsolete, 0, 0, 0, 0, {})).code == errc::obsolete_command);
  }
  const Error from_server = ca_messages_request_error(ca_messages_raw(22, 0, 0, 1, 3, {}));
  CHECK(from_server.code == errc::unknown_command);
  CHECK_THAT(from_server.message(), Contains("ACCESS_RIGHTS") && Contains("only sent by servers"));

  const auto client_cmd = decode_response(ca_messages_frame(ca_messages_raw(20, 0, 0, 0, 0, {'a', 0})), ca_messages_limits);
  REQUIRE(std::holds_alternative<Error>(client_cmd));
  CHECK_THAT(std::get<Error>(client_cmd).message(), Contains("CLIENT_NAME") && Contains("only sent by clients"));
}

TEST_CASE("ca messages: an ERROR too short for its header copy or without a text end", "[ca][messages][hostile]") {
  const auto short_copy = decode_response(ca_messages_frame(ca_messages_raw(11, 0, 0, 0, 1, CaMessagesBytes(8, 0))),
                                          ca_messages_limits);
  REQUIRE(std::holds_alternative<Error>(short_copy));
  CHECK(std::get<Error>(short_copy).code == errc::short_payload);

  // The copied header says "extended" but only 16 bytes follow.
  CaMessagesBytes copy = {0, 4, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  const auto lying = decode_response(ca_messages_frame(ca_messages_raw(11, 0, 0, 0, 1, copy)), ca_messages_limits);
  REQUIRE(std::holds_alternative<Error>(lying));
  CHECK_THAT(std::get<Error>(lying).message(), Contains("24-byte extended"));

  CaMessagesBytes no_end(16, 0);
  no_end.resize(24, 'x');
  const auto unterminated = decode_response(ca_messages_frame(ca_messages_raw(11, 0, 0, 0, 1, no_end)), ca_messages_limits);
  REQUIRE(std::holds_alternative<Error>(unterminated));
  CHECK(std::get<Error>(unterminated).code == errc::unterminated_string);
}

TEST_CASE("ca messages: command 1 from a server is an update unless its payload is empty", "[ca][messages]") {
  const auto update = decode_response(ca_messages_frame(ca_messages_raw(1, 6, 1, 1, 4, CaMessagesBytes(8, 0))), ca_messages_limits);
  REQUIRE(std::holds_alternative<Response>(update));
  CHECK(std::holds_alternative<EventUpdate>(std::get<Response>(update)));
  const auto cancel = decode_response(ca_messages_frame(ca_messages_raw(1, 6, 1, 9, 4, {})), ca_messages_limits);
  REQUIRE(std::holds_alternative<Response>(cancel));
  CHECK(std::get<EventCancelReply>(std::get<Response>(cancel)) == EventCancelReply{6, 1, 9, 4});
}

}  // namespace weft::ca
