// Fuzz target: the Channel Access codec as the ca service receives it
// (drivers/src/ca: framing.cpp, messages.cpp, dbr.cpp): a client's byte
// stream on a TCP circuit, scanned in chunks (extended headers, the
// max_array_bytes limit), each frame through decode_request, and the data of
// every WRITE / WRITE_NOTIFY through decode_dbr with the header's type and
// count. Input: one byte of limits (ca_checks.hpp pick_limits), one of
// chunking, then the stream. Invariants beyond "no crash, no read past the
// frame" (ASan; each frame is decoded from a buffer of its own size):
// - chunk boundaries change nothing, NeedMore never understates, a framing
//   error is judged on the header alone and names the command and the size
//   (ca_checks.hpp scan_stream);
// - a refused request names its command (by name or number) and is of a
//   kind the decoder documents; unknown and obsolete commands keep the
//   circuit open, anything else closes it (as serve_requests does); the
//   ERROR reply the service sends for it (header copy, message, an ECA
//   status) decodes back to itself on the client side;
// - a decoded request is of the frame's command, its names have no NUL and
//   respect max_name_length, and decode -> encode -> decode gives it back;
// - a WRITE's DBR data decodes consistently (ca_checks.hpp check_decoded).
#include <bit>

#include "ca_checks.hpp"
#include "weft/drivers/ca/messages.hpp"

namespace {

using namespace weft::ca;
using namespace weft::fuzz::ca_checks;

bool same_request(const Request& a, const Request& b) {
  if (a.index() != b.index()) return false;
  if (const auto* x = std::get_if<EventAdd>(&a)) {
    const auto& y = std::get<EventAdd>(b);
    return x->dbr_type == y.dbr_type && x->count == y.count && x->sid == y.sid &&
           x->subscription_id == y.subscription_id && x->mask == y.mask &&
           std::bit_cast<std::uint32_t>(x->low) == std::bit_cast<std::uint32_t>(y.low) &&
           std::bit_cast<std::uint32_t>(x->high) == std::bit_cast<std::uint32_t>(y.high) &&
           std::bit_cast<std::uint32_t>(x->timeout) == std::bit_cast<std::uint32_t>(y.timeout);
  }
  return a == b;
}

void check_name(const std::string& name, const Limits& limits, bool allow_empty) {
  FUZZ_CHECK(name.find('\0') == std::string::npos, "a name with a NUL");
  FUZZ_CHECK(name.size() <= limits.max_name_length, "a name of %zu characters above %u", name.size(),
             limits.max_name_length);
  FUZZ_CHECK(allow_empty || !name.empty(), "an empty PV name accepted");
}

void check_write_data(std::uint16_t type, std::uint32_t count, const std::vector<std::uint8_t>& data,
                      const Limits& limits) {
  const std::vector<std::uint8_t> exact(data);
  check_decoded(type, count, exact, limits, decode_dbr(type, count, exact, limits));
  // The service only takes scalar plain writes, and so does this.
  if (type <= 6 && count != 1) check_decoded(type, 1, exact, limits, decode_dbr(type, 1, exact, limits));
}

// The ERROR the service answers a refused request with (send_error): the
// request's header as received and the message; a client decodes it back.
void check_error_reply(const Frame& f, const Error& e, const Limits& limits) {
  const ErrorMessage reply{no_cid, to_eca(e.code), {f.header_bytes.begin(), f.header_bytes.end()}, e.message()};
  FUZZ_CHECK(to_string(reply.status) != "unknown", "no ECA status for errc %d", static_cast<int>(e.code));
  std::vector<std::uint8_t> out;
  encode(out, reply);
  const std::vector<std::uint8_t> exact(out);
  const auto scanned = scan_frame(exact, limits);
  const auto* g = std::get_if<Frame>(&scanned);
  FUZZ_CHECK(g != nullptr && g->length == exact.size(), "the ERROR reply does not scan as one frame");
  const auto back = decode_response(*g, limits);
  FUZZ_CHECK(std::holds_alternative<Response>(back) &&
                 std::get<ErrorMessage>(std::get<Response>(back)) == reply,
             "the ERROR reply does not decode to itself");
}

bool on_request(const Frame& f, const Limits& limits) {
  const auto decoded = decode_request(f, limits);
  const auto command = static_cast<Command>(f.header.command);
  const std::string label(to_string(command));
  if (const auto* e = std::get_if<Error>(&decoded)) {
    FUZZ_CHECK(!e->detail.empty(), "a request error without a detail");
    FUZZ_CHECK(contains(e->detail, label) || contains(e->detail, "command " + std::to_string(f.header.command)),
               "request error that does not name command %u: %s", f.header.command, e->detail.c_str());
    check_error_reply(f, *e, limits);
    switch (e->code) {
      case errc::unknown_command:
      case errc::obsolete_command: return true;  // answered with ERROR, the circuit stays
      case errc::short_payload:
      case errc::unterminated_string:
      case errc::string_too_long:
        FUZZ_CHECK(command == Command::search || command == Command::create_chan || command == Command::event_add ||
                       command == Command::client_name || command == Command::host_name,
                   "%s refused as %s", label.c_str(), e->message().c_str());
        return false;
      default: FUZZ_CHECK(false, "decode_request error %d: %s", static_cast<int>(e->code), e->message().c_str());
    }
  }
  const Request& r = std::get<Request>(decoded);
  FUZZ_CHECK(command_of(r) == command, "%s decoded as %s", label.c_str(),
             std::string(to_string(command_of(r))).c_str());
  if (const auto* s = std::get_if<Search>(&r)) check_name(s->name, limits, false);
  if (const auto* c = std::get_if<CreateChan>(&r)) check_name(c->name, limits, false);
  if (const auto* c = std::get_if<ClientName>(&r)) check_name(c->name, limits, true);
  if (const auto* c = std::get_if<HostName>(&r)) check_name(c->name, limits, true);
  if (const auto* w = std::get_if<Write>(&r)) {
    FUZZ_CHECK(std::equal(w->data.begin(), w->data.end(), f.payload.begin(), f.payload.end()), "WRITE data");
    check_write_data(w->dbr_type, w->count, w->data, limits);
  }
  if (const auto* w = std::get_if<WriteNotify>(&r)) {
    FUZZ_CHECK(std::equal(w->data.begin(), w->data.end(), f.payload.begin(), f.payload.end()), "WRITE_NOTIFY data");
    check_write_data(w->dbr_type, w->count, w->data, limits);
  }

  // decode -> encode -> decode: what a gateway forwards means the same.
  std::vector<std::uint8_t> out;
  const bool encoded = std::visit([&](const auto& m) {
    using M = std::decay_t<decltype(m)>;
    if constexpr (std::is_same_v<M, Write> || std::is_same_v<M, WriteNotify>) {
      return encode(out, m, true);
    } else {
      encode(out, m);
      return true;
    }
  }, r);
  FUZZ_CHECK(encoded && !out.empty(), "%s did not encode", label.c_str());
  const std::vector<std::uint8_t> exact(out);
  const auto scanned = scan_frame(exact, limits);
  const auto* g = std::get_if<Frame>(&scanned);
  FUZZ_CHECK(g != nullptr && g->length == exact.size(), "a re-encoded %s does not scan as one frame", label.c_str());
  const auto again = decode_request(*g, limits);
  FUZZ_CHECK(std::holds_alternative<Request>(again) && same_request(std::get<Request>(again), r),
             "%s: decode -> encode -> decode differs", label.c_str());
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  weft::fuzz::FuzzBytes in(data, size);
  const Limits limits = pick_limits(in.u8());
  const std::uint8_t chunking = in.u8();
  scan_stream(in.rest(), limits, chunking, [&](const Frame& f) { return on_request(f, limits); });
  return 0;
}
