// Search datagrams out, search replies and beacons in. Every message of a
// received datagram is found with scan_frame (sizes judged before use) and
// decoded with decode_response; this file only adds what a client decides:
// which address a reply names, and when a datagram stops being trusted.
#include "weft/drivers/ca/client_search.hpp"

#include <stdexcept>

namespace weft::ca {
namespace {

Limits udp_limits() {
  Limits l;
  l.max_array_bytes = 0xFFFF;  // a datagram bounds everything anyway
  return l;
}

std::string dotted(std::uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xFF) + "." + std::to_string((ip >> 8) & 0xFF) +
         "." + std::to_string(ip & 0xFF);
}

// Walks the datagram's messages; `on` gets each decoded response and returns
// an error to stop. Returns why the walk stopped early, if it did.
template <class On>
std::optional<Error> walk(std::span<const std::uint8_t> datagram, const ServerAddress& sender, On on) {
  static const Limits limits = udp_limits();
  std::size_t at = 0;
  std::size_t index = 0;
  while (at < datagram.size()) {
    const auto rest = datagram.subspan(at);
    const auto scanned = scan_frame(rest, limits);
    const std::string where = "datagram from " + to_string(sender) + ", message " + std::to_string(index);
    if (const auto* more = std::get_if<NeedMore>(&scanned)) {
      return Error{errc::truncated, where + ": " + std::to_string(rest.size()) + " bytes left, " +
                                        std::to_string(rest.size() + more->bytes) + " needed"};
    }
    if (const auto* e = std::get_if<Error>(&scanned)) return Error{e->code, where + ": " + e->detail};
    const Frame& frame = std::get<Frame>(scanned);
    if (frame.extended) return Error{errc::bad_count, where + ": an extended header has no place in a datagram"};
    auto decoded = decode_response(frame, limits);
    if (auto* e = std::get_if<Error>(&decoded)) {
      on(nullptr, frame);  // not a response: counted as ignored by the caller
    } else if (auto stop = on(&std::get<Response>(decoded), frame)) {
      return Error{stop->code, where + ": " + stop->detail};
    }
    at += frame.length;
    ++index;
  }
  return std::nullopt;
}

}  // namespace

std::string to_string(const ServerAddress& a) { return dotted(a.ip) + ":" + std::to_string(a.port); }

std::vector<SearchDatagram> build_search_datagrams(std::span<const SearchEntry> entries, std::uint32_t first_sequence,
                                                   std::size_t max_bytes, bool do_reply) {
  std::vector<SearchDatagram> out;
  std::uint32_t sequence = first_sequence;
  for (const SearchEntry& e : entries) {
    if (e.name.empty() || !search_entry_fits(e.name.size(), max_bytes)) {
      throw std::invalid_argument("ca search: the name \"" + e.name.substr(0, 60) + "\" (" +
                                  std::to_string(e.name.size()) + " bytes) does not fit a " +
                                  std::to_string(max_bytes) + "-byte search datagram");
    }
    if (out.empty() || out.back().bytes.size() + search_entry_bytes(e.name.size()) > max_bytes) {
      SearchDatagram d;
      d.sequence = sequence++;
      encode(d.bytes, Version{version_sequence_valid, minor_version, d.sequence});
      out.push_back(std::move(d));
    }
    encode(out.back().bytes, Search{e.name, do_reply, minor_version, e.search_id});
    out.back().search_ids.push_back(e.search_id);
  }
  return out;
}

SearchReplies decode_search_replies(std::span<const std::uint8_t> datagram, ServerAddress sender,
                                    std::uint16_t default_port) {
  SearchReplies r;
  r.error = walk(datagram, sender, [&](const Response* m, const Frame& frame) -> std::optional<Error> {
    if (m == nullptr) {
      ++r.ignored;
      return std::nullopt;
    }
    if (const auto* v = std::get_if<Version>(m)) {
      if (v->flags & version_sequence_valid) r.sequence = v->sequence;
    } else if (const auto* s = std::get_if<SearchReply>(m)) {
      SearchFound f;
      f.search_id = s->search_id;
      // decode_response reads the minor only from a payload of at least 2
      // bytes; libca wants 4 before it believes one (sizeof(ca_uint32_t)).
      f.server_minor = frame.payload.size() >= 4 ? s->server_minor : std::uint16_t{0};
      f.server.ip = sender.ip;
      f.server.port = default_port;
      if (f.server_minor >= 8 && s->server_ip != search_reply_use_sender) f.server.ip = s->server_ip;
      if (f.server_minor >= 5) f.server.port = s->tcp_port;
      if (f.server.ip == 0 || f.server.port == 0) {
        return Error{errc::bad_count, "SEARCH reply for search ID " + std::to_string(s->search_id) +
                                          " names the server " + to_string(f.server) +
                                          ", which no circuit can reach"};
      }
      r.found.push_back(f);
    } else if (const auto* n = std::get_if<NotFound>(m)) {
      r.not_found.push_back(n->search_id);
    } else {
      ++r.ignored;
    }
    return std::nullopt;
  });
  return r;
}

Beacons decode_beacons(std::span<const std::uint8_t> datagram, ServerAddress sender, std::uint16_t default_port) {
  Beacons r;
  r.error = walk(datagram, sender, [&](const Response* m, const Frame&) -> std::optional<Error> {
    const auto* b = m ? std::get_if<Beacon>(m) : nullptr;
    if (b == nullptr) {
      ++r.ignored;
      return std::nullopt;
    }
    BeaconSeen s;
    s.server.ip = b->server_ip != 0 ? b->server_ip : sender.ip;
    s.server.port = b->tcp_port != 0 ? b->tcp_port : default_port;
    s.beacon_id = b->beacon_id;
    s.server_minor = b->server_minor;
    r.beacons.push_back(s);
    return std::nullopt;
  });
  return r;
}

}  // namespace weft::ca
