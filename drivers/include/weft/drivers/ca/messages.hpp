// Every CA command a server receives or sends (channel-access.md §3.1), as
// typed messages with encoders and decoders. A request is what a client sends
// (over UDP or a TCP circuit), a response what a server sends; the same
// command number can mean different things in each direction (VERSION,
// EVENT_ADD, ECHO), so each direction has its own decoder. The gateway mode
// is both a server and a client, hence both directions both ways. Decoders
// take a Frame from scan_frame and copy what they keep; DBR data stays raw
// bytes here and is read with decode_dbr once the channel's type is known.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "weft/drivers/ca/errors.hpp"
#include "weft/drivers/ca/framing.hpp"
#include "weft/drivers/ca/protocol.hpp"

namespace weft::ca {

// ---- both directions --------------------------------------------------------

// VERSION. Over TCP `flags` is the circuit priority (0..99) from a client and
// 0 from a server; over UDP it is version_sequence_valid and `sequence` the
// client's datagram sequence number, which the server's reply copies.
struct Version {
  std::uint16_t flags = 0;
  std::uint16_t minor = minor_version;
  std::uint32_t sequence = 0;
  friend bool operator==(const Version&, const Version&) = default;
};
struct Echo {
  friend bool operator==(const Echo&, const Echo&) = default;
};

// ---- client to server -------------------------------------------------------

struct Search {
  std::string name;
  bool do_reply = false;  // DO_REPLY (10): answer NOT_FOUND too; anything else is DONT_REPLY
  std::uint16_t client_minor = 0;
  std::uint32_t search_id = 0;
  friend bool operator==(const Search&, const Search&) = default;
};
struct CreateChan {
  std::uint32_t cid = 0;
  std::uint16_t client_minor = 0;  // p2 (a u32 on the wire, clamped to 0xFFFF)
  std::string name;
  friend bool operator==(const CreateChan&, const CreateChan&) = default;
};
struct ReadNotify {
  std::uint16_t dbr_type = 0;
  std::uint32_t count = 0;  // 0: the current length (4.13)
  std::uint32_t sid = 0;
  std::uint32_t ioid = 0;
  friend bool operator==(const ReadNotify&, const ReadNotify&) = default;
};
struct Read {  // obsolete READ (3): same fields, no status in the reply
  std::uint16_t dbr_type = 0;
  std::uint32_t count = 0;
  std::uint32_t sid = 0;
  std::uint32_t ioid = 0;
  friend bool operator==(const Read&, const Read&) = default;
};
struct EventAdd {
  std::uint16_t dbr_type = 0;
  std::uint32_t count = 0;  // 0: dynamic length (4.13)
  std::uint32_t sid = 0;
  std::uint32_t subscription_id = 0;
  float low = 0, high = 0, timeout = 0;  // deprecated; carried, never used
  std::uint16_t mask = 0;                // dbe_* bits; unknown bits kept
  friend bool operator==(const EventAdd&, const EventAdd&) = default;
};
struct EventCancel {
  std::uint16_t dbr_type = 0;
  std::uint32_t count = 0;
  std::uint32_t sid = 0;
  std::uint32_t subscription_id = 0;
  friend bool operator==(const EventCancel&, const EventCancel&) = default;
};
struct Write {  // no reply on success; errors go back as ERROR routed by `cid`
  std::uint16_t dbr_type = 0;
  std::uint32_t count = 0;
  std::uint32_t sid = 0;
  std::uint32_t cid = 0;  // p2: libca puts the CID there (the spec says IOID)
  std::vector<std::uint8_t> data;  // the payload, padding included; read it with decode_dbr
  friend bool operator==(const Write&, const Write&) = default;
};
struct WriteNotify {
  std::uint16_t dbr_type = 0;
  std::uint32_t count = 0;
  std::uint32_t sid = 0;
  std::uint32_t ioid = 0;
  std::vector<std::uint8_t> data;
  friend bool operator==(const WriteNotify&, const WriteNotify&) = default;
};
struct ClearChannel {
  std::uint32_t sid = 0;
  std::uint32_t cid = 0;
  friend bool operator==(const ClearChannel&, const ClearChannel&) = default;
};
struct ClientName {
  std::string name;
  friend bool operator==(const ClientName&, const ClientName&) = default;
};
struct HostName {
  std::string name;
  friend bool operator==(const HostName&, const HostName&) = default;
};
struct ReadSync {
  friend bool operator==(const ReadSync&, const ReadSync&) = default;
};
struct EventsOff {
  friend bool operator==(const EventsOff&, const EventsOff&) = default;
};
struct EventsOn {
  friend bool operator==(const EventsOn&, const EventsOn&) = default;
};

using Request = std::variant<Version, Search, CreateChan, ReadNotify, Read, EventAdd, EventCancel, Write, WriteNotify,
                             ClearChannel, ClientName, HostName, Echo, ReadSync, EventsOff, EventsOn>;

// ---- server to client -------------------------------------------------------

struct SearchReply {
  std::uint16_t tcp_port = 0;
  std::uint32_t server_ip = search_reply_use_sender;  // a big-endian IPv4 as a number, 127.0.0.1 = 0x7F000001
  std::uint32_t search_id = 0;
  std::uint16_t server_minor = minor_version;  // the 8-byte payload; 0 when a (TCP) reply carried none
  friend bool operator==(const SearchReply&, const SearchReply&) = default;
};
struct NotFound {
  std::uint16_t client_minor = 0;
  std::uint32_t search_id = 0;
  friend bool operator==(const NotFound&, const NotFound&) = default;
};
struct AccessRights {
  std::uint32_t cid = 0;
  std::uint32_t rights = 0;  // access_read | access_write
  friend bool operator==(const AccessRights&, const AccessRights&) = default;
};
struct CreateChanReply {
  std::uint32_t cid = 0;
  std::uint32_t sid = 0;
  std::uint16_t native_type = 0;  // 0..6
  std::uint32_t count = 1;        // the maximum element count, at least 1
  friend bool operator==(const CreateChanReply&, const CreateChanReply&) = default;
};
struct CreateChFail {
  std::uint32_t cid = 0;
  friend bool operator==(const CreateChFail&, const CreateChFail&) = default;
};
struct ReadNotifyReply {
  std::uint16_t dbr_type = 0;
  std::uint32_t count = 0;
  Eca status = Eca::normal;
  std::uint32_t ioid = 0;
  std::vector<std::uint8_t> data;  // unpadded DBR payload; encode pads it
  friend bool operator==(const ReadNotifyReply&, const ReadNotifyReply&) = default;
};
struct EventUpdate {  // EVENT_ADD from the server: never with an empty payload (that is the cancel reply)
  std::uint16_t dbr_type = 0;
  std::uint32_t count = 0;
  Eca status = Eca::normal;
  std::uint32_t subscription_id = 0;
  std::vector<std::uint8_t> data;
  friend bool operator==(const EventUpdate&, const EventUpdate&) = default;
};
struct EventCancelReply {  // command 1 with size 0, the EVENT_ADD's fields copied
  std::uint16_t dbr_type = 0;
  std::uint32_t count = 0;
  std::uint32_t sid = 0;
  std::uint32_t subscription_id = 0;
  friend bool operator==(const EventCancelReply&, const EventCancelReply&) = default;
};
struct WriteNotifyReply {
  std::uint16_t dbr_type = 0;
  std::uint32_t count = 0;
  Eca status = Eca::normal;
  std::uint32_t ioid = 0;
  friend bool operator==(const WriteNotifyReply&, const WriteNotifyReply&) = default;
};
struct ClearChannelReply {
  std::uint32_t sid = 0;
  std::uint32_t cid = 0;
  friend bool operator==(const ClearChannelReply&, const ClearChannelReply&) = default;
};
// ERROR (11): the failing request's header as received, then a text.
struct ErrorMessage {
  std::uint32_t cid = no_cid;
  Eca status = Eca::internal;
  std::vector<std::uint8_t> request_header;  // 16 or 24 bytes (Frame::header_bytes)
  std::string text;
  friend bool operator==(const ErrorMessage&, const ErrorMessage&) = default;
};
struct ServerDisconn {
  std::uint32_t cid = 0;
  friend bool operator==(const ServerDisconn&, const ServerDisconn&) = default;
};
struct Beacon {  // RSRV_IS_UP (13), UDP to the repeater port
  std::uint16_t server_minor = minor_version;
  std::uint16_t tcp_port = 0;
  std::uint32_t beacon_id = 0;
  std::uint32_t server_ip = 0;  // 0: the repeater fills in the sender
  friend bool operator==(const Beacon&, const Beacon&) = default;
};

using Response = std::variant<Version, SearchReply, NotFound, AccessRights, CreateChanReply, CreateChFail,
                              ReadNotifyReply, EventUpdate, EventCancelReply, WriteNotifyReply, ClearChannelReply,
                              ErrorMessage, ServerDisconn, Beacon, Echo>;

// ---- encoding ---------------------------------------------------------------
// Each appends one message to `out`. The ones carrying DBR data return false
// (and append nothing) when the data needs the extended header and
// `allow_extended` is false; the others always succeed. Names are written
// with their NUL and padded; text longer than the protocol allows is the
// caller's bug and throws std::invalid_argument (a name over 0xFFF0 bytes).

void encode(std::vector<std::uint8_t>& out, const Version& m);
void encode(std::vector<std::uint8_t>& out, const Echo& m);
void encode(std::vector<std::uint8_t>& out, const Search& m);
void encode(std::vector<std::uint8_t>& out, const CreateChan& m);
void encode(std::vector<std::uint8_t>& out, const ReadNotify& m);
void encode(std::vector<std::uint8_t>& out, const Read& m);
void encode(std::vector<std::uint8_t>& out, const EventAdd& m);
void encode(std::vector<std::uint8_t>& out, const EventCancel& m);
bool encode(std::vector<std::uint8_t>& out, const Write& m, bool allow_extended = true);
bool encode(std::vector<std::uint8_t>& out, const WriteNotify& m, bool allow_extended = true);
void encode(std::vector<std::uint8_t>& out, const ClearChannel& m);
void encode(std::vector<std::uint8_t>& out, const ClientName& m);
void encode(std::vector<std::uint8_t>& out, const HostName& m);
void encode(std::vector<std::uint8_t>& out, const ReadSync& m);
void encode(std::vector<std::uint8_t>& out, const EventsOff& m);
void encode(std::vector<std::uint8_t>& out, const EventsOn& m);

void encode(std::vector<std::uint8_t>& out, const SearchReply& m);
void encode(std::vector<std::uint8_t>& out, const NotFound& m);
void encode(std::vector<std::uint8_t>& out, const AccessRights& m);
void encode(std::vector<std::uint8_t>& out, const CreateChanReply& m);
void encode(std::vector<std::uint8_t>& out, const CreateChFail& m);
bool encode(std::vector<std::uint8_t>& out, const ReadNotifyReply& m, bool allow_extended = true);
bool encode(std::vector<std::uint8_t>& out, const EventUpdate& m, bool allow_extended = true);
// The same message with its payload borrowed: one payload encoded once for
// many monitors (the server's fan-out) is copied, not rebuilt, per circuit.
bool encode_event_update(std::vector<std::uint8_t>& out, std::uint16_t dbr_type, std::uint32_t count, Eca status,
                         std::uint32_t subscription_id, std::span<const std::uint8_t> data, bool allow_extended = true);
void encode(std::vector<std::uint8_t>& out, const EventCancelReply& m);
void encode(std::vector<std::uint8_t>& out, const WriteNotifyReply& m);
void encode(std::vector<std::uint8_t>& out, const ClearChannelReply& m);
void encode(std::vector<std::uint8_t>& out, const ErrorMessage& m);
void encode(std::vector<std::uint8_t>& out, const ServerDisconn& m);
void encode(std::vector<std::uint8_t>& out, const Beacon& m);

// ---- decoding ---------------------------------------------------------------
// Errors: unknown_command, obsolete_command (SNAPSHOT, BUILD, READ_BUILD,
// REPEATER_*, SIGNAL), a command of the other direction (unknown_command,
// naming it), short_payload, unterminated_string, string_too_long. Sizes,
// counts and IDs are copied, not judged: whether a SID exists or a count fits
// the channel is the server's business (ECA_BADCHID, ECA_BADCOUNT).

Result<Request> decode_request(const Frame& frame, const Limits& limits);
Result<Response> decode_response(const Frame& frame, const Limits& limits);

Command command_of(const Request& m) noexcept;
Command command_of(const Response& m) noexcept;

}  // namespace weft::ca
