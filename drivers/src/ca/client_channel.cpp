// Client requests from a channel's state, and the client's checks of what a
// server sends back. Sizes are judged before decode_dbr allocates anything:
// the count against the channel and max_array_bytes first, the payload after.
#include "weft/drivers/ca/client_channel.hpp"

#include <stdexcept>

#include "wire.hpp"

namespace weft::ca {
namespace {

constexpr std::uint16_t max_native_type = 6;

template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

std::string eca_text(Eca status) {
  return std::string(to_string(status)) + " (" + std::string(describe(status)) + ")";
}

Result<Reading> read_data(std::uint16_t type, std::uint32_t count, Eca status, const std::vector<std::uint8_t>& data,
                          const Expected& expected, const Limits& limits, std::string_view what) {
  if (type != expected.dbr_type) {
    return Error{errc::bad_type, std::string(what) + ": the server answered " + dbr_name(type) + " to a " +
                                     dbr_name(expected.dbr_type) + " request"};
  }
  const auto layout = dbr_layout(type);  // known: it equals the type asked for
  if (!layout) return Error{errc::bad_type, std::string(what) + ": DBR type " + std::to_string(type) + " above 38"};
  Reading r;
  r.status = status;
  r.dbr_type = type;
  r.count = count;
  r.family = layout->family;
  r.value.type = layout->value_type;
  if (status != Eca::normal) return r;  // zero-filled by the server: nothing to read
  if (count > expected.max_count) {
    return Error{errc::bad_count, std::string(what) + ": " + std::to_string(count) + " elements of " + dbr_name(type) +
                                      ", the channel advertised " + std::to_string(expected.max_count)};
  }
  auto decoded = decode_dbr(type, count, data, limits);
  if (auto* e = std::get_if<Error>(&decoded)) return Error{e->code, std::string(what) + ": " + e->detail};
  r.value = std::move(std::get<Decoded>(decoded).value);
  return r;
}

}  // namespace

void append_hello(std::vector<std::uint8_t>& out, const Hello& hello) {
  if (hello.priority > max_priority) {
    throw std::invalid_argument("ca client: circuit priority " + std::to_string(hello.priority) + " above " +
                                std::to_string(max_priority));
  }
  const Limits limits;
  for (const std::string* name : {&hello.user, &hello.host}) {
    if (name->size() > limits.max_name_length) {
      throw std::invalid_argument("ca client: name of " + std::to_string(name->size()) + " bytes, above " +
                                  std::to_string(limits.max_name_length));
    }
  }
  encode(out, Version{hello.priority, minor_version, 0});
  encode(out, ClientName{hello.user});
  encode(out, HostName{hello.host});
}

void append_create_channel(std::vector<std::uint8_t>& out, std::uint32_t cid, const std::string& name) {
  encode(out, CreateChan{cid, minor_version, name});
}

CreateOutcome on_create_response(PendingChannel& pending, const Response& message) {
  const auto wrong_cid = [&](std::string_view what, std::uint32_t cid) {
    return Error{errc::bad_count, std::string(what) + " for CID " + std::to_string(cid) + " while creating \"" +
                                      pending.name + "\" (CID " + std::to_string(pending.cid) + ")"};
  };
  return std::visit(
      Overload{
          [&](const AccessRights& m) -> CreateOutcome {
            if (m.cid != pending.cid) return wrong_cid("ACCESS_RIGHTS", m.cid);
            pending.rights = m.rights & (access_read | access_write);
            return ChannelWaiting{};
          },
          [&](const CreateChanReply& m) -> CreateOutcome {
            if (m.cid != pending.cid) return wrong_cid("CREATE_CHAN reply", m.cid);
            if (m.native_type > max_native_type) {
              return Error{errc::bad_type, "CREATE_CHAN reply for \"" + pending.name + "\": native type " +
                                               std::to_string(m.native_type) + " is not a value type (0..6)"};
            }
            if (m.count == 0) {
              return Error{errc::bad_count, "CREATE_CHAN reply for \"" + pending.name +
                                                "\": element count 0 (a channel has at least one)"};
            }
            return ChannelInfo{pending.cid,         m.sid, static_cast<ValueType>(m.native_type), m.count,
                               pending.rights.value_or(0), pending.server_minor};
          },
          [&](const CreateChFail& m) -> CreateOutcome {
            if (m.cid != pending.cid) return wrong_cid("CREATE_CH_FAIL", m.cid);
            return ChannelRefused{};
          },
          [&](const auto& m) -> CreateOutcome {
            return Error{errc::bad_type, std::string(to_string(command_of(Response{m}))) + " while creating \"" +
                                             pending.name + "\": not an answer to CREATE_CHAN"};
          },
      },
      message);
}

void append_subscribe(std::vector<std::uint8_t>& out, const ChannelInfo& c, std::uint16_t dbr_type,
                      std::uint32_t subscription_id, std::uint16_t mask) {
  EventAdd m;
  m.dbr_type = dbr_type;
  m.count = request_count(c);
  m.sid = c.sid;
  m.subscription_id = subscription_id;
  m.mask = mask;
  encode(out, m);
}

void append_unsubscribe(std::vector<std::uint8_t>& out, const ChannelInfo& c, std::uint16_t dbr_type,
                        std::uint32_t subscription_id) {
  encode(out, EventCancel{dbr_type, request_count(c), c.sid, subscription_id});
}

void append_read(std::vector<std::uint8_t>& out, const ChannelInfo& c, std::uint16_t dbr_type, std::uint32_t ioid) {
  encode(out, ReadNotify{dbr_type, request_count(c), c.sid, ioid});
}

void append_clear_channel(std::vector<std::uint8_t>& out, const ChannelInfo& c) {
  encode(out, ClearChannel{c.sid, c.cid});
}

std::optional<Error> append_write_notify(std::vector<std::uint8_t>& out, const ChannelInfo& c, std::uint32_t ioid,
                                         const Elements& elements, ValueType from, const Limits& limits) {
  const std::size_t n = std::visit([](const auto& v) { return v.size(); }, elements);
  if (n == 0 || n > c.count) {
    return Error{errc::bad_count, "WRITE_NOTIFY of " + std::to_string(n) + " elements to a channel of " +
                                      std::to_string(c.count)};
  }
  Value value;
  value.type = from;
  value.elements = elements;
  const std::uint16_t code = dbr_code(Family::plain, c.native_type);
  auto data = encode_dbr(code, static_cast<std::uint32_t>(n), value, limits);
  if (auto* e = std::get_if<Error>(&data)) return Error{e->code, "WRITE_NOTIFY: " + e->detail};
  WriteNotify m;
  m.dbr_type = code;
  m.count = static_cast<std::uint32_t>(n);
  m.sid = c.sid;
  m.ioid = ioid;
  m.data = std::move(std::get<std::vector<std::uint8_t>>(data));
  if (!encode(out, m, c.server_minor >= 9)) {
    return Error{errc::too_large, "WRITE_NOTIFY of " + std::to_string(m.data.size()) +
                                      " bytes needs the extended header, which a server below 4.9 does not read"};
  }
  return std::nullopt;
}

Result<Reading> decode_reading(const ReadNotifyReply& reply, const Expected& expected, const Limits& limits) {
  return read_data(reply.dbr_type, reply.count, reply.status, reply.data, expected, limits,
                   "READ_NOTIFY reply ioid " + std::to_string(reply.ioid));
}

Result<Reading> decode_reading(const EventUpdate& update, const Expected& expected, const Limits& limits) {
  return read_data(update.dbr_type, update.count, update.status, update.data, expected, limits,
                   "EVENT_ADD update subscription " + std::to_string(update.subscription_id));
}

std::optional<std::string> write_failure(const WriteNotifyReply& reply) {
  if (reply.status == Eca::normal) return std::nullopt;
  return eca_text(reply.status);
}

ErrorReport read_error(const ErrorMessage& m) {
  ErrorReport r;
  r.status = m.status;
  r.cid = m.cid;
  r.text = m.text;
  const std::span<const std::uint8_t> h(m.request_header);
  if (h.size() >= header_size) {  // decode_response guarantees 16 (or 24 for an extended copy)
    r.request.command = wire::load16(h, 0);
    r.request.payload_size = wire::load16(h, 2);
    r.request.data_type = wire::load16(h, 4);
    r.request.data_count = wire::load16(h, 6);
    r.request.p1 = wire::load32(h, 8);
    r.request.p2 = wire::load32(h, 12);
    if (r.request.payload_size == extended_marker && h.size() >= extended_header_size) {
      r.request.payload_size = wire::load32(h, 16);
      r.request.data_count = wire::load32(h, 20);
    }
  }
  return r;
}

std::string ErrorReport::message() const {
  const std::string_view name = to_string(static_cast<Command>(request.command));
  std::string text = eca_text(status) + " for " +
                     (name == "unknown" ? "command " + std::to_string(request.command) : std::string(name)) +
                     " (p1 " + std::to_string(request.p1) + ", p2 " + std::to_string(request.p2) + ")";
  if (!this->text.empty()) text += ": " + this->text;
  return text;
}

}  // namespace weft::ca
