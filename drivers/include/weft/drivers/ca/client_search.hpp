// The client side of CA name resolution over UDP (channel-access.md §§3.1,
// 4.1; libca's udpiiu.cpp): search datagrams built (a VERSION carrying the
// datagram's sequence number, then as many SEARCH entries as fit the payload
// limit, split across datagrams), and what comes back decoded: search
// replies resolved to a server address by libca's minor-version rules,
// NOT_FOUND, and beacons keyed by the server they announce. Nothing from the
// wire is trusted: a short, misaligned or truncated message ends the
// datagram's decoding with an Error naming it, after the messages before it.
// Pure functions over byte spans; the encoders are messages.hpp's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "weft/drivers/ca/errors.hpp"
#include "weft/drivers/ca/framing.hpp"
#include "weft/drivers/ca/messages.hpp"

namespace weft::ca {

// libca's search datagrams are at most 1024 bytes (MAX_UDP_SEND).
inline constexpr std::size_t default_search_datagram_bytes = 1024;

// An IPv4 server endpoint, host byte order (127.0.0.1 = 0x7F000001).
struct ServerAddress {
  std::uint32_t ip = 0;
  std::uint16_t port = 0;
  friend auto operator<=>(const ServerAddress&, const ServerAddress&) = default;
};
std::string to_string(const ServerAddress& a);  // "127.0.0.1:5064"

struct SearchEntry {
  std::uint32_t search_id = 0;
  std::string name;
};

// Bytes one SEARCH entry for a name of this length takes: the 16-byte
// header and the name with its NUL, padded to 8. The one size rule the
// builder and the search schedule share.
constexpr std::size_t search_entry_bytes(std::size_t name_length) noexcept {
  return header_size + static_cast<std::size_t>(padded_size(name_length + 1));
}
// True when one name fits a datagram of `max_bytes` on its own (after the VERSION).
constexpr bool search_entry_fits(std::size_t name_length, std::size_t max_bytes) noexcept {
  return header_size + search_entry_bytes(name_length) <= max_bytes;
}

struct SearchDatagram {
  std::uint32_t sequence = 0;
  std::vector<std::uint8_t> bytes;
  std::vector<std::uint32_t> search_ids;  // in the order they were packed
};

// Packs `entries` in order into datagrams of at most `max_bytes` each, every
// one starting with VERSION (sequence valid, minor 13, the datagram's
// sequence number: first_sequence, then +1 per datagram). SEARCH entries are
// DONT_REPLY, as libca sends them over UDP (do_reply for a name server).
// Throws std::invalid_argument for a name that cannot fit a datagram on its
// own, or an empty one: the caller's bug, checked when names are accepted.
std::vector<SearchDatagram> build_search_datagrams(std::span<const SearchEntry> entries, std::uint32_t first_sequence,
                                                   std::size_t max_bytes = default_search_datagram_bytes,
                                                   bool do_reply = false);

// One name found: where to open the circuit. `server` follows libca
// (udpiiu::searchRespAction): from server minor 8 the IP comes from p1
// unless it is 0xFFFFFFFF (then the datagram's sender), from minor 5 the
// TCP port from the type field, before that the sender and the default port.
struct SearchFound {
  std::uint32_t search_id = 0;
  ServerAddress server;
  std::uint16_t server_minor = 0;  // 0: the reply carried no version payload
  friend bool operator==(const SearchFound&, const SearchFound&) = default;
};

struct SearchReplies {
  std::optional<std::uint32_t> sequence;  // from the datagram's VERSION, when it said the number is valid
  std::vector<SearchFound> found;
  std::vector<std::uint32_t> not_found;  // NOT_FOUND search IDs (DO_REPLY searches only)
  std::size_t ignored = 0;               // messages of other commands (beacons, ERROR, REPEATER_CONFIRM ...)
  std::optional<Error> error;            // why decoding stopped early; what came before it stands
};

// Decodes a datagram received on the client's search socket from `sender`
// (its source address; port = where its searches went, for pre-4.5 replies).
// Refused (error set): a server address of 0.0.0.0 or port 0 (pitfall 2),
// a message running past the datagram, a misaligned size.
SearchReplies decode_search_replies(std::span<const std::uint8_t> datagram, ServerAddress sender,
                                    std::uint16_t default_port = default_server_port);

// A beacon datagram (RSRV_IS_UP) decoded to the server it announces: the IP
// in p2 unless 0 (then the sender's), the port in the count field unless 0
// (then `default_port`), as libca's udpiiu::beaconAction.
struct BeaconSeen {
  ServerAddress server;
  std::uint32_t beacon_id = 0;
  std::uint16_t server_minor = 0;
  friend bool operator==(const BeaconSeen&, const BeaconSeen&) = default;
};
struct Beacons {
  std::vector<BeaconSeen> beacons;
  std::size_t ignored = 0;
  std::optional<Error> error;
};
Beacons decode_beacons(std::span<const std::uint8_t> datagram, ServerAddress sender,
                       std::uint16_t default_port = default_server_port);

}  // namespace weft::ca
