// EPICS Channel Access 4.13: the numbers of the protocol (commands, ECA status
// codes, alarm status and severity, event masks, access rights, ports), as
// ../shared/docs/channel-access.md §§1, 3 and 5.4 list them. Constants and
// names only: no I/O, no allocation, no Asio; every enum keeps unknown wire
// values unchanged and to_string names them "unknown".
#pragma once

#include <cstdint>
#include <string_view>

namespace weft::ca {

inline constexpr std::uint16_t major_version = 4;
inline constexpr std::uint16_t minor_version = 13;  // what this side advertises
inline constexpr std::uint16_t default_server_port = 5064;
inline constexpr std::uint16_t default_repeater_port = 5065;
inline constexpr std::uint16_t max_priority = 99;  // VERSION priority above this: RSRV drops the circuit
inline constexpr std::uint16_t min_served_minor = 4;  // RSRV serves clients at 4.4 and above only

// Header command numbers (§3).
enum class Command : std::uint16_t {
  version = 0,
  event_add = 1,      // also the EVENT_CANCEL confirmation (size 0)
  event_cancel = 2,
  read = 3,           // obsolete: libca no longer sends it
  write = 4,
  snapshot = 5,       // obsolete
  search = 6,
  build = 7,          // obsolete
  events_off = 8,
  events_on = 9,
  read_sync = 10,
  error = 11,
  clear_channel = 12,
  rsrv_is_up = 13,    // beacon
  not_found = 14,
  read_notify = 15,
  read_build = 16,    // obsolete
  repeater_confirm = 17,
  create_chan = 18,
  write_notify = 19,
  client_name = 20,
  host_name = 21,
  access_rights = 22,
  echo = 23,
  repeater_register = 24,
  signal = 25,        // never on the wire
  create_ch_fail = 26,
  server_disconn = 27,
};

std::string_view to_string(Command command) noexcept;  // "CREATE_CHAN", or "unknown"

// SEARCH reply flag, in the request's data type field.
inline constexpr std::uint16_t search_do_reply = 10;
inline constexpr std::uint16_t search_dont_reply = 5;
// VERSION over UDP: data type 1 says p1 carries a sequence number.
inline constexpr std::uint16_t version_sequence_valid = 1;
// SEARCH reply p1: "use the address the datagram came from".
inline constexpr std::uint32_t search_reply_use_sender = 0xFFFFFFFFu;
// ERROR p1 when the failing request names no channel.
inline constexpr std::uint32_t no_cid = 0xFFFFFFFFu;

// ACCESS_RIGHTS p2 bits.
inline constexpr std::uint32_t access_read = 1;
inline constexpr std::uint32_t access_write = 2;

// EVENT_ADD mask bits; unknown bits are ignored, as RSRV does.
inline constexpr std::uint16_t dbe_value = 1;
inline constexpr std::uint16_t dbe_log = 2;  // a.k.a. DBE_ARCHIVE
inline constexpr std::uint16_t dbe_alarm = 4;
inline constexpr std::uint16_t dbe_property = 8;

// ECA status codes: (message number << 3) | severity, from caerr.h (§3.3).
enum class Eca : std::uint32_t {
  normal = 1,
  allocmem = 48,
  tolarge = 72,
  badtype = 114,
  internal = 142,
  getfail = 152,
  putfail = 160,
  badcount = 176,
  badstr = 186,
  badmonid = 242,
  defunct = 278,
  badmask = 330,
  putcbinprog = 362,
  nordaccess = 368,
  nowtaccess = 376,
  noconvert = 400,
  badchid = 410,
  unavailinserv = 432,
  k16karrayclient = 464,
};

std::string_view to_string(Eca code) noexcept;  // "ECA_NOWTACCESS", or "unknown"
// The text libca prints for the code, e.g. "Write access denied"; ERROR
// messages carry it so a client shows something useful.
std::string_view describe(Eca code) noexcept;

// Alarm severity and status (§5.4), int16 on the wire.
enum class Severity : std::uint16_t { no_alarm = 0, minor = 1, major = 2, invalid = 3 };

enum class Status : std::uint16_t {
  no_alarm = 0,
  read = 1,
  write = 2,
  hihi = 3,
  high = 4,
  lolo = 5,
  low = 6,
  state = 7,
  cos = 8,
  comm = 9,
  timeout = 10,
  hwlimit = 11,
  calc = 12,
  scan = 13,
  link = 14,
  soft = 15,
  bad_sub = 16,
  udf = 17,
  disable = 18,
  simm = 19,
  read_access = 20,
  write_access = 21,
};

std::string_view to_string(Severity severity) noexcept;  // "MAJOR", or "unknown"
std::string_view to_string(Status status) noexcept;      // "HIHI", or "unknown"

}  // namespace weft::ca
