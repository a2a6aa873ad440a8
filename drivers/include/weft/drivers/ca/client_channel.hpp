// The client side of a CA circuit (channel-access.md §§3.1, 4.2-4.6): the
// requests a client sends, built from what the server said about the channel
// (ChannelInfo), and the checks a client makes on what comes back, because a
// server's sizes, counts, types, IDs and strings are not to be trusted:
// a CREATE_CHAN reply with a type above 6 or a count of 0, a data reply of
// another type than asked, with more elements than the channel advertised or
// more than max_array_bytes (refused before anything is allocated: ca-gateway
// PR #47, the 100 % CPU hang), an ERROR whose copied header is cut short.
// Pure functions; the encoders and decoders underneath are messages.hpp's and
// dbr.hpp's, used as they are.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "weft/drivers/ca/dbr.hpp"
#include "weft/drivers/ca/errors.hpp"
#include "weft/drivers/ca/framing.hpp"
#include "weft/drivers/ca/messages.hpp"

namespace weft::ca {

// ---- circuit setup ------------------------------------------------------------

struct Hello {
  std::uint16_t priority = 0;  // 0..99
  std::string user;            // CLIENT_NAME
  std::string host;            // HOST_NAME
};

// What libca sends first on a new circuit, in one segment: VERSION
// (priority, minor 13), CLIENT_NAME, HOST_NAME. Throws std::invalid_argument
// for a priority above 99 or a name over 512 bytes (the caller's config).
void append_hello(std::vector<std::uint8_t>& out, const Hello& hello);

// CREATE_CHAN for `name` with the client's `cid` and minor 13.
void append_create_channel(std::vector<std::uint8_t>& out, std::uint32_t cid, const std::string& name);

// ---- a channel once created -----------------------------------------------------

struct ChannelInfo {
  std::uint32_t cid = 0;
  std::uint32_t sid = 0;
  ValueType native_type = ValueType::float64;
  std::uint32_t count = 1;  // the maximum element count the server advertised, >= 1
  std::uint32_t rights = 0; // access_read | access_write, from ACCESS_RIGHTS (0 if none came)
  std::uint16_t server_minor = 0;  // from the server's VERSION on this circuit
  friend bool operator==(const ChannelInfo&, const ChannelInfo&) = default;
};

// One channel being created: what was asked, and the ACCESS_RIGHTS seen
// before the reply (RSRV sends it first).
struct PendingChannel {
  std::uint32_t cid = 0;
  std::string name;
  std::uint16_t server_minor = 0;
  std::optional<std::uint32_t> rights;
};

struct ChannelWaiting {
  friend bool operator==(const ChannelWaiting&, const ChannelWaiting&) = default;
};
// CREATE_CH_FAIL: the server refused; libca searches again.
struct ChannelRefused {
  friend bool operator==(const ChannelRefused&, const ChannelRefused&) = default;
};
using CreateOutcome = std::variant<ChannelWaiting, ChannelInfo, ChannelRefused, Error>;

// Feeds one message about `pending.cid` (ACCESS_RIGHTS, the CREATE_CHAN
// reply, CREATE_CH_FAIL; anything else is a bad_type Error). Errors: a CID
// that is not pending.cid, a native type above 6 (bad_type), a count of 0
// (bad_count: caproto #399).
CreateOutcome on_create_response(PendingChannel& pending, const Response& message);

// DBR_TIME_<native> / DBR_CTRL_<native>: what caget/camonitor and pyepics ask for.
constexpr std::uint16_t time_type(ValueType t) noexcept { return dbr_code(Family::time, t); }
constexpr std::uint16_t ctrl_type(ValueType t) noexcept { return dbr_code(Family::ctrl, t); }

// The count to ask for: 0 (the current length) from a 4.13 server, else the
// channel's count, as libca does.
constexpr std::uint32_t request_count(const ChannelInfo& c) noexcept { return c.server_minor >= 13 ? 0 : c.count; }

// EVENT_ADD for `dbr_type` (time_type / ctrl_type of the native type, or any
// code 0..34) with `mask` (dbe_* bits; camonitor uses value | alarm).
void append_subscribe(std::vector<std::uint8_t>& out, const ChannelInfo& c, std::uint16_t dbr_type,
                      std::uint32_t subscription_id, std::uint16_t mask);
void append_unsubscribe(std::vector<std::uint8_t>& out, const ChannelInfo& c, std::uint16_t dbr_type,
                        std::uint32_t subscription_id);
void append_read(std::vector<std::uint8_t>& out, const ChannelInfo& c, std::uint16_t dbr_type, std::uint32_t ioid);
void append_clear_channel(std::vector<std::uint8_t>& out, const ChannelInfo& c);

// WRITE_NOTIFY of `elements` (of type `from`) converted to the channel's
// native plain type. Errors: an element count of 0 or above the channel's
// (bad_count), data above max_array_bytes (too_large), elements that do not
// convert (no_convert). Nothing is appended on error.
std::optional<Error> append_write_notify(std::vector<std::uint8_t>& out, const ChannelInfo& c, std::uint32_t ioid,
                                         const Elements& elements, ValueType from, const Limits& limits);

// ---- what comes back --------------------------------------------------------------

// What a data reply was the answer to.
struct Expected {
  std::uint16_t dbr_type = 0;      // the type asked for
  std::uint32_t max_count = 1;     // the channel's advertised count
};

// A READ_NOTIFY reply or monitor update read: the value in the requested
// type (value.type), its alarm, time stamp (TIME) and metadata (GR/CTRL).
// A status other than ECA_NORMAL carries no value (the server zero-fills).
struct Reading {
  Eca status = Eca::normal;
  std::uint16_t dbr_type = 0;
  std::uint32_t count = 0;
  Family family = Family::plain;
  Value value;
  friend bool operator==(const Reading&, const Reading&) = default;
};

// Errors: a type other than the one asked for (bad_type), more elements than
// the channel advertised (bad_count), more than max_array_bytes (too_large),
// and decode_dbr's (short_payload, unterminated_string, bad_count).
Result<Reading> decode_reading(const ReadNotifyReply& reply, const Expected& expected, const Limits& limits);
Result<Reading> decode_reading(const EventUpdate& update, const Expected& expected, const Limits& limits);

// A WRITE_NOTIFY reply: nullopt when the server says the write succeeded;
// otherwise what it reported, "ECA_NOWTACCESS (Write access denied)".
std::optional<std::string> write_failure(const WriteNotifyReply& reply);

// An ERROR message taken apart: which request failed (its header, copied
// back by the server), the channel (p1, or no_cid) and the status.
struct ErrorReport {
  Eca status = Eca::internal;
  std::uint32_t cid = no_cid;
  Header request;  // command, type, count, p1, p2 of the failed request
  std::string text;
  // "ECA_BADCHID (Invalid channel identifier) for READ_NOTIFY (p1 16, p2 77): text"
  std::string message() const;
  friend bool operator==(const ErrorReport&, const ErrorReport&) = default;
};
ErrorReport read_error(const ErrorMessage& m);

}  // namespace weft::ca
