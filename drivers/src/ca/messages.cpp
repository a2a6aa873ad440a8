// Typed CA messages <-> frames. Each decoder reads only fields the Frame
// already bounds-checked, bounds names by the payload (a NUL must be inside
// it), and copies what it keeps, so a decoded message outlives the buffer.
#include "weft/drivers/ca/messages.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

#include "wire.hpp"

namespace weft::ca {
namespace {

using CBytes = std::span<const std::uint8_t>;

std::uint16_t clamp16(std::uint32_t v) noexcept { return v > 0xFFFFu ? std::uint16_t{0xFFFF} : static_cast<std::uint16_t>(v); }

std::string command_label(std::uint16_t command) {
  const std::string_view name = to_string(static_cast<Command>(command));
  return name == "unknown" ? "command " + std::to_string(command) : std::string(name);
}

Result<std::string> read_name(const Frame& f, const Limits& limits, std::string_view what, bool allow_empty) {
  const CBytes p = f.payload;
  const auto nul = std::find(p.begin(), p.end(), std::uint8_t{0});
  if (nul == p.end()) {
    if (p.empty() && allow_empty) return std::string();
    return Error{p.empty() ? errc::short_payload : errc::unterminated_string,
                 command_label(f.header.command) + ": " + std::string(what) +
                     (p.empty() ? " missing (empty payload)"
                                : " has no NUL within its " + std::to_string(p.size()) + "-byte payload")};
  }
  const auto length = static_cast<std::size_t>(nul - p.begin());
  if (length == 0 && !allow_empty) {
    return Error{errc::short_payload, command_label(f.header.command) + ": empty " + std::string(what)};
  }
  if (length > limits.max_name_length) {
    return Error{errc::string_too_long, command_label(f.header.command) + ": " + std::string(what) + " of " +
                                            std::to_string(length) + " characters, above the limit of " +
                                            std::to_string(limits.max_name_length)};
  }
  return std::string(p.begin(), nul);
}

template <class T>
Result<T> with_name(Result<std::string> name, T message, std::string T::*field) {
  if (auto* e = std::get_if<Error>(&name)) return std::move(*e);
  message.*field = std::move(std::get<std::string>(name));
  return message;
}

template <class Variant, class T>
Result<Variant> lift(Result<T> r) {
  if (auto* e = std::get_if<Error>(&r)) return std::move(*e);
  return Variant{std::move(std::get<T>(r))};
}

std::vector<std::uint8_t> copy(CBytes b) { return {b.begin(), b.end()}; }

void header_only(std::vector<std::uint8_t>& out, Command c, std::uint16_t type, std::uint32_t count, std::uint32_t p1,
                 std::uint32_t p2) {
  append_message(out, Header{static_cast<std::uint16_t>(c), 0, type, count, p1, p2}, {});
}

void with_name_payload(std::vector<std::uint8_t>& out, Command c, std::uint16_t type, std::uint32_t count,
                       std::uint32_t p1, std::uint32_t p2, const std::string& name) {
  if (name.size() > 0xFFF0) {
    throw std::invalid_argument("ca: " + std::string(to_string(c)) + " name of " + std::to_string(name.size()) +
                                " bytes is too long");
  }
  std::vector<std::uint8_t> payload(name.begin(), name.end());
  payload.push_back(0);
  append_message(out, Header{static_cast<std::uint16_t>(c), 0, type, count, p1, p2}, payload);
}

bool with_data(std::vector<std::uint8_t>& out, Command c, std::uint16_t type, std::uint32_t count, std::uint32_t p1,
               std::uint32_t p2, const std::vector<std::uint8_t>& data, bool allow_extended) {
  return append_message(out, Header{static_cast<std::uint16_t>(c), 0, type, count, p1, p2}, data, allow_extended);
}

Error obsolete_or_unknown(std::uint16_t command, std::string_view other_side) {
  switch (static_cast<Command>(command)) {
    case Command::snapshot:
    case Command::build:
    case Command::read_build:
    case Command::repeater_confirm:
    case Command::repeater_register:
    case Command::signal:
      return Error{errc::obsolete_command, command_label(command) + " (" + std::to_string(command) +
                                               ") is obsolete or not for a circuit"};
    default: break;
  }
  if (to_string(static_cast<Command>(command)) != "unknown") {
    return Error{errc::unknown_command,
                 command_label(command) + " (" + std::to_string(command) + ") is only sent by " + std::string(other_side)};
  }
  return Error{errc::unknown_command, "command " + std::to_string(command) + " is not a CA command"};
}

}  // namespace

// ---- encoding ---------------------------------------------------------------

void encode(std::vector<std::uint8_t>& out, const Version& m) {
  header_only(out, Command::version, m.flags, m.minor, m.sequence, 0);
}
void encode(std::vector<std::uint8_t>& out, const Echo&) { header_only(out, Command::echo, 0, 0, 0, 0); }
void encode(std::vector<std::uint8_t>& out, const Search& m) {
  with_name_payload(out, Command::search, m.do_reply ? search_do_reply : search_dont_reply, m.client_minor,
                    m.search_id, m.search_id, m.name);
}
void encode(std::vector<std::uint8_t>& out, const CreateChan& m) {
  with_name_payload(out, Command::create_chan, 0, 0, m.cid, m.client_minor, m.name);
}
void encode(std::vector<std::uint8_t>& out, const ReadNotify& m) {
  header_only(out, Command::read_notify, m.dbr_type, m.count, m.sid, m.ioid);
}
void encode(std::vector<std::uint8_t>& out, const Read& m) {
  header_only(out, Command::read, m.dbr_type, m.count, m.sid, m.ioid);
}
void encode(std::vector<std::uint8_t>& out, const EventAdd& m) {
  std::array<std::uint8_t, 16> payload{};
  wire::store_f32(payload, 0, m.low);
  wire::store_f32(payload, 4, m.high);
  wire::store_f32(payload, 8, m.timeout);
  wire::store16(payload, 12, m.mask);
  append_message(out, Header{static_cast<std::uint16_t>(Command::event_add), 0, m.dbr_type, m.count, m.sid,
                             m.subscription_id},
                 payload);
}
void encode(std::vector<std::uint8_t>& out, const EventCancel& m) {
  header_only(out, Command::event_cancel, m.dbr_type, m.count, m.sid, m.subscription_id);
}
bool encode(std::vector<std::uint8_t>& out, const Write& m, bool allow_extended) {
  return with_data(out, Command::write, m.dbr_type, m.count, m.sid, m.cid, m.data, allow_extended);
}
bool encode(std::vector<std::uint8_t>& out, const WriteNotify& m, bool allow_extended) {
  return with_data(out, Command::write_notify, m.dbr_type, m.count, m.sid, m.ioid, m.data, allow_extended);
}
void encode(std::vector<std::uint8_t>& out, const ClearChannel& m) {
  header_only(out, Command::clear_channel, 0, 0, m.sid, m.cid);
}
void encode(std::vector<std::uint8_t>& out, const ClientName& m) {
  with_name_payload(out, Command::client_name, 0, 0, 0, 0, m.name);
}
void encode(std::vector<std::uint8_t>& out, const HostName& m) {
  with_name_payload(out, Command::host_name, 0, 0, 0, 0, m.name);
}
void encode(std::vector<std::uint8_t>& out, const ReadSync&) { header_only(out, Command::read_sync, 0, 0, 0, 0); }
void encode(std::vector<std::uint8_t>& out, const EventsOff&) { header_only(out, Command::events_off, 0, 0, 0, 0); }
void encode(std::vector<std::uint8_t>& out, const EventsOn&) { header_only(out, Command::events_on, 0, 0, 0, 0); }

void encode(std::vector<std::uint8_t>& out, const SearchReply& m) {
  std::array<std::uint8_t, 8> payload{};
  wire::store16(payload, 0, m.server_minor);
  append_message(out, Header{static_cast<std::uint16_t>(Command::search), 0, m.tcp_port, 0, m.server_ip, m.search_id},
                 payload);
}
void encode(std::vector<std::uint8_t>& out, const NotFound& m) {
  header_only(out, Command::not_found, search_do_reply, m.client_minor, m.search_id, m.search_id);
}
void encode(std::vector<std::uint8_t>& out, const AccessRights& m) {
  header_only(out, Command::access_rights, 0, 0, m.cid, m.rights);
}
void encode(std::vector<std::uint8_t>& out, const CreateChanReply& m) {
  header_only(out, Command::create_chan, m.native_type, m.count, m.cid, m.sid);
}
void encode(std::vector<std::uint8_t>& out, const CreateChFail& m) {
  header_only(out, Command::create_ch_fail, 0, 0, m.cid, 0);
}
bool encode(std::vector<std::uint8_t>& out, const ReadNotifyReply& m, bool allow_extended) {
  return with_data(out, Command::read_notify, m.dbr_type, m.count, static_cast<std::uint32_t>(m.status), m.ioid,
                   m.data, allow_extended);
}
bool encode(std::vector<std::uint8_t>& out, const EventUpdate& m, bool allow_extended) {
  return encode_event_update(out, m.dbr_type, m.count, m.status, m.subscription_id, m.data, allow_extended);
}
bool encode_event_update(std::vector<std::uint8_t>& out, std::uint16_t dbr_type, std::uint32_t count, Eca status,
                         std::uint32_t subscription_id, std::span<const std::uint8_t> data, bool allow_extended) {
  return append_message(out, Header{static_cast<std::uint16_t>(Command::event_add), 0, dbr_type, count,
                                    static_cast<std::uint32_t>(status), subscription_id},
                        data, allow_extended);
}
void encode(std::vector<std::uint8_t>& out, const EventCancelReply& m) {
  header_only(out, Command::event_add, m.dbr_type, m.count, m.sid, m.subscription_id);
}
void encode(std::vector<std::uint8_t>& out, const WriteNotifyReply& m) {
  header_only(out, Command::write_notify, m.dbr_type, m.count, static_cast<std::uint32_t>(m.status), m.ioid);
}
void encode(std::vector<std::uint8_t>& out, const ClearChannelReply& m) {
  header_only(out, Command::clear_channel, 0, 0, m.sid, m.cid);
}
void encode(std::vector<std::uint8_t>& out, const ErrorMessage& m) {
  std::vector<std::uint8_t> payload(m.request_header.begin(), m.request_header.end());
  payload.insert(payload.end(), m.text.begin(), m.text.end());
  payload.push_back(0);
  append_message(out, Header{static_cast<std::uint16_t>(Command::error), 0, 0, 0, m.cid, static_cast<std::uint32_t>(m.status)},
                 payload);
}
void encode(std::vector<std::uint8_t>& out, const ServerDisconn& m) {
  header_only(out, Command::server_disconn, 0, 0, m.cid, 0);
}
void encode(std::vector<std::uint8_t>& out, const Beacon& m) {
  header_only(out, Command::rsrv_is_up, m.server_minor, m.tcp_port, m.beacon_id, m.server_ip);
}

// ---- decoding ---------------------------------------------------------------

Result<Request> decode_request(const Frame& f, const Limits& limits) {
  const Header& h = f.header;
  switch (static_cast<Command>(h.command)) {
    case Command::version: return Request{Version{h.data_type, clamp16(h.data_count), h.p1}};
    case Command::search:
      return lift<Request>(with_name(read_name(f, limits, "PV name", false),
                                     Search{{}, h.data_type == search_do_reply, clamp16(h.data_count), h.p2},
                                     &Search::name));
    case Command::create_chan:
      return lift<Request>(
          with_name(read_name(f, limits, "PV name", false), CreateChan{h.p1, clamp16(h.p2), {}}, &CreateChan::name));
    case Command::read_notify: return Request{ReadNotify{h.data_type, h.data_count, h.p1, h.p2}};
    case Command::read: return Request{Read{h.data_type, h.data_count, h.p1, h.p2}};
    case Command::event_add: {
      if (f.payload.size() < 16) {
        return Error{errc::short_payload, "EVENT_ADD: payload of " + std::to_string(f.payload.size()) +
                                              " bytes, the low/high/timeout/mask block needs 16"};
      }
      return Request{EventAdd{h.data_type, h.data_count, h.p1, h.p2, wire::load_f32(f.payload, 0),
                              wire::load_f32(f.payload, 4), wire::load_f32(f.payload, 8),
                              wire::load16(f.payload, 12)}};
    }
    case Command::event_cancel: return Request{EventCancel{h.data_type, h.data_count, h.p1, h.p2}};
    case Command::write: return Request{Write{h.data_type, h.data_count, h.p1, h.p2, copy(f.payload)}};
    case Command::write_notify: return Request{WriteNotify{h.data_type, h.data_count, h.p1, h.p2, copy(f.payload)}};
    case Command::clear_channel: return Request{ClearChannel{h.p1, h.p2}};
    case Command::client_name:
      return lift<Request>(with_name(read_name(f, limits, "user name", true), ClientName{}, &ClientName::name));
    case Command::host_name:
      return lift<Request>(with_name(read_name(f, limits, "host name", true), HostName{}, &HostName::name));
    case Command::echo: return Request{Echo{}};
    case Command::read_sync: return Request{ReadSync{}};
    case Command::events_off: return Request{EventsOff{}};
    case Command::events_on: return Request{EventsOn{}};
    default: break;
  }
  return obsolete_or_unknown(h.command, "servers");
}

Result<Response> decode_response(const Frame& f, const Limits& limits) {
  (void)limits;
  const Header& h = f.header;
  switch (static_cast<Command>(h.command)) {
    case Command::version: return Response{Version{h.data_type, clamp16(h.data_count), h.p1}};
    case Command::search: {
      const std::uint16_t minor = f.payload.size() >= 2 ? wire::load16(f.payload, 0) : std::uint16_t{0};
      return Response{SearchReply{h.data_type, h.p1, h.p2, minor}};
    }
    case Command::not_found: return Response{NotFound{clamp16(h.data_count), h.p2}};
    case Command::access_rights: return Response{AccessRights{h.p1, h.p2}};
    case Command::create_chan: return Response{CreateChanReply{h.p1, h.p2, h.data_type, h.data_count}};
    case Command::create_ch_fail: return Response{CreateChFail{h.p1}};
    case Command::read_notify:
      return Response{ReadNotifyReply{h.data_type, h.data_count, static_cast<Eca>(h.p1), h.p2, copy(f.payload)}};
    case Command::event_add:
      if (f.payload.empty()) return Response{EventCancelReply{h.data_type, h.data_count, h.p1, h.p2}};
      return Response{EventUpdate{h.data_type, h.data_count, static_cast<Eca>(h.p1), h.p2, copy(f.payload)}};
    case Command::write_notify: return Response{WriteNotifyReply{h.data_type, h.data_count, static_cast<Eca>(h.p1), h.p2}};
    case Command::clear_channel: return Response{ClearChannelReply{h.p1, h.p2}};
    case Command::error: {
      const CBytes p = f.payload;
      if (p.size() < header_size) {
        return Error{errc::short_payload, "ERROR: payload of " + std::to_string(p.size()) +
                                              " bytes cannot hold the 16-byte copy of the failing request"};
      }
      const std::size_t copied = wire::load16(p, 2) == extended_marker ? extended_header_size : header_size;
      if (p.size() < copied) {
        return Error{errc::short_payload, "ERROR: payload of " + std::to_string(p.size()) +
                                              " bytes cannot hold the 24-byte extended request header"};
      }
      const CBytes rest = p.subspan(copied);
      const auto nul = std::find(rest.begin(), rest.end(), std::uint8_t{0});
      if (nul == rest.end()) {
        return Error{errc::unterminated_string, "ERROR: text has no NUL within its " + std::to_string(rest.size()) +
                                                    " bytes"};
      }
      return Response{ErrorMessage{h.p1, static_cast<Eca>(h.p2), copy(p.subspan(0, copied)), std::string(rest.begin(), nul)}};
    }
    case Command::server_disconn: return Response{ServerDisconn{h.p1}};
    case Command::rsrv_is_up:
      return Response{Beacon{h.data_type, clamp16(h.data_count), h.p1, h.p2}};
    case Command::echo: return Response{Echo{}};
    default: break;
  }
  return obsolete_or_unknown(h.command, "clients");
}

namespace {
template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;
}  // namespace

Command command_of(const Request& m) noexcept {
  return std::visit(Overload{
                        [](const Version&) { return Command::version; },
                        [](const Search&) { return Command::search; },
                        [](const CreateChan&) { return Command::create_chan; },
                        [](const ReadNotify&) { return Command::read_notify; },
                        [](const Read&) { return Command::read; },
                        [](const EventAdd&) { return Command::event_add; },
                        [](const EventCancel&) { return Command::event_cancel; },
                        [](const Write&) { return Command::write; },
                        [](const WriteNotify&) { return Command::write_notify; },
                        [](const ClearChannel&) { return Command::clear_channel; },
                        [](const ClientName&) { return Command::client_name; },
                        [](const HostName&) { return Command::host_name; },
                        [](const Echo&) { return Command::echo; },
                        [](const ReadSync&) { return Command::read_sync; },
                        [](const EventsOff&) { return Command::events_off; },
                        [](const EventsOn&) { return Command::events_on; },
                    },
                    m);
}

Command command_of(const Response& m) noexcept {
  return std::visit(Overload{
                        [](const Version&) { return Command::version; },
                        [](const SearchReply&) { return Command::search; },
                        [](const NotFound&) { return Command::not_found; },
                        [](const AccessRights&) { return Command::access_rights; },
                        [](const CreateChanReply&) { return Command::create_chan; },
                        [](const CreateChFail&) { return Command::create_ch_fail; },
                        [](const ReadNotifyReply&) { return Command::read_notify; },
                        [](const EventUpdate&) { return Command::event_add; },
                        [](const EventCancelReply&) { return Command::event_add; },
                        [](const WriteNotifyReply&) { return Command::write_notify; },
                        [](const ClearChannelReply&) { return Command::clear_channel; },
                        [](const ErrorMessage&) { return Command::error; },
                        [](const ServerDisconn&) { return Command::server_disconn; },
                        [](const Beacon&) { return Command::rsrv_is_up; },
                        [](const Echo&) { return Command::echo; },
                    },
                    m);
}

}  // namespace weft::ca
