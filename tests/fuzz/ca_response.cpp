// Fuzz target: the Channel Access codec as a client receives it (what the
// gateway mode reads from the IOC it relays; drivers/src/ca: framing.cpp,
// messages.cpp, dbr.cpp): a server's byte stream, scanned in chunks, each
// frame through decode_response, and the data of every READ_NOTIFY reply and
// monitor update through decode_dbr with the header's type and count.
// Input: one byte of limits (ca_checks.hpp pick_limits), one of chunking,
// then the stream. Invariants beyond "no crash, no read past the frame"
// (ASan; each frame is decoded from a buffer of its own size):
// - the stream ones of ca_checks.hpp scan_stream;
// - a refused response names its command and is of a documented kind;
// - a decoded response is of the frame's command (command 1 with an empty
//   payload is the cancel confirmation, otherwise an update), an ERROR's
//   copied header is the 16 or 24 bytes its size field says and its text has
//   no NUL, and decode -> encode -> decode gives the response back;
// - reply and update data decode consistently (ca_checks.hpp check_decoded).
#include "ca_checks.hpp"
#include "weft/drivers/ca/messages.hpp"

namespace {

using namespace weft::ca;
using namespace weft::fuzz::ca_checks;

void check_data(std::uint16_t type, std::uint32_t count, const std::vector<std::uint8_t>& data, const Limits& limits) {
  const std::vector<std::uint8_t> exact(data);
  check_decoded(type, count, exact, limits, decode_dbr(type, count, exact, limits));
}

bool on_response(const Frame& f, const Limits& limits) {
  const auto decoded = decode_response(f, limits);
  const auto command = static_cast<Command>(f.header.command);
  const std::string label(to_string(command));
  if (const auto* e = std::get_if<Error>(&decoded)) {
    FUZZ_CHECK(!e->detail.empty(), "a response error without a detail");
    FUZZ_CHECK(contains(e->detail, label) || contains(e->detail, "command " + std::to_string(f.header.command)),
               "response error that does not name command %u: %s", f.header.command, e->detail.c_str());
    switch (e->code) {
      case errc::unknown_command:
      case errc::obsolete_command: return true;
      case errc::short_payload:
      case errc::unterminated_string:
        FUZZ_CHECK(command == Command::error, "%s refused as %s", label.c_str(), e->message().c_str());
        return false;  // libca drops the circuit on a malformed message
      default: FUZZ_CHECK(false, "decode_response error %d: %s", static_cast<int>(e->code), e->message().c_str());
    }
  }
  const Response& r = std::get<Response>(decoded);
  FUZZ_CHECK(command_of(r) == command, "%s decoded as %s", label.c_str(),
             std::string(to_string(command_of(r))).c_str());
  if (command == Command::event_add) {
    FUZZ_CHECK(std::holds_alternative<EventCancelReply>(r) == f.payload.empty(),
               "command 1 with %zu payload bytes decoded as the wrong kind", f.payload.size());
  }
  if (const auto* m = std::get_if<ReadNotifyReply>(&r)) check_data(m->dbr_type, m->count, m->data, limits);
  if (const auto* m = std::get_if<EventUpdate>(&r)) check_data(m->dbr_type, m->count, m->data, limits);
  if (const auto* m = std::get_if<ErrorMessage>(&r)) {
    const bool extended = f.payload[2] == 0xFF && f.payload[3] == 0xFF;
    FUZZ_CHECK(m->request_header.size() == (extended ? extended_header_size : header_size),
               "ERROR copied %zu header bytes", m->request_header.size());
    FUZZ_CHECK(std::equal(m->request_header.begin(), m->request_header.end(), f.payload.begin()),
               "ERROR header copy differs from the payload");
    FUZZ_CHECK(m->text.find('\0') == std::string::npos &&
                   m->request_header.size() + m->text.size() < f.payload.size(),
               "ERROR text runs past its NUL or the payload");
  }

  std::vector<std::uint8_t> out;
  const bool encoded = std::visit([&](const auto& m) {
    using M = std::decay_t<decltype(m)>;
    if constexpr (std::is_same_v<M, ReadNotifyReply> || std::is_same_v<M, EventUpdate>) {
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
  const auto again = decode_response(*g, limits);
  FUZZ_CHECK(std::holds_alternative<Response>(again) && std::get<Response>(again) == r,
             "%s: decode -> encode -> decode differs", label.c_str());
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  weft::fuzz::FuzzBytes in(data, size);
  const Limits limits = pick_limits(in.u8());
  const std::uint8_t chunking = in.u8();
  scan_stream(in.rest(), limits, chunking, [&](const Frame& f) { return on_response(f, limits); });
  return 0;
}
