// The UDP side: SEARCH answered for the names SearchSide::serves, or that
// SearchSide::provide finds or holds (a name provider's; a held one is
// answered later by ca_provided.cpp) (NOT_FOUND only when the client asked
// DO_REPLY, pitfall 13), each reply datagram
// starting with VERSION and the TCP port in the type field (pitfall 2),
// clients below minor 4 and everything but SEARCH ignored (pitfall 20); a
// malformed datagram is dropped from where it stops parsing. Beacons go to
// caRepeater on loopback: 20 ms apart at start, doubling up to
// beacon_period, IDs increasing by one (pitfall 14). Never waits but on the
// socket; a full socket buffer drops a reply and the client searches again.
#include <algorithm>
#include <array>
#include <chrono>

#include "ca_server.hpp"

namespace weft::apps::ca_server {

asio::awaitable<void> search_loop(SearchSide& side, udp::socket& sock) {
  std::array<std::uint8_t, 0x4000> buf;
  udp::endpoint from;
  std::vector<std::uint8_t> reply;
  for (;;) {
    auto [ec, n] = co_await sock.async_receive_from(asio::buffer(buf), from, kTuple);
    if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec, "ca search");
    if (ec) continue;  // ICMP errors from earlier replies and the like
    reply.clear();
    std::uint32_t sequence = 0;
    std::uint16_t client_minor = 0;
    std::span<const std::uint8_t> rest(buf.data(), n);
    while (!rest.empty()) {
      const auto scanned = ca::scan_frame(rest, side.limits);
      if (!std::holds_alternative<ca::Frame>(scanned)) break;  // truncated or malformed: the rest is noise
      const ca::Frame& f = std::get<ca::Frame>(scanned);
      rest = rest.subspan(f.length);
      const auto decoded = ca::decode_request(f, side.limits);
      if (!std::holds_alternative<ca::Request>(decoded)) continue;
      const ca::Request& r = std::get<ca::Request>(decoded);
      if (const auto* v = std::get_if<ca::Version>(&r)) {
        if (v->flags == ca::version_sequence_valid) sequence = v->sequence;
        client_minor = v->minor;
        continue;
      }
      const auto* search = std::get_if<ca::Search>(&r);
      if (search == nullptr) continue;  // only SEARCH is acted on (pitfall 20)
      if (search->client_minor < ca::min_served_minor) continue;
      ++side.searches;
      bool found = side.serves(search->name);
      if (!found && side.provide) {
        const Provide p = side.provide(*search, sock, from, sequence);
        if (p == Provide::held) continue;  // answered when the provider has it (ca_provided.cpp)
        found = p == Provide::now;
      }
      if (!found && !search->do_reply) continue;
      if (reply.empty()) ca::encode(reply, ca::Version{ca::version_sequence_valid, ca::minor_version, sequence});
      if (found) {
        ++side.hits;
        ca::encode(reply, ca::SearchReply{side.tcp_port, ca::search_reply_use_sender, search->search_id, ca::minor_version});
      } else {
        ca::encode(reply, ca::NotFound{search->client_minor, search->search_id});
      }
      if (reply.size() > 1400) break;  // one datagram; libca searches again for the rest
    }
    (void)client_minor;
    if (reply.empty()) continue;
    // A full socket buffer drops this reply; the client searches again.
    auto [sec, sent] = co_await sock.async_send_to(asio::buffer(reply), from, kTuple);
    (void)sec;
    (void)sent;
  }
}

asio::awaitable<void> beacon_loop(const SearchSide& side, udp::socket& sock, std::uint16_t repeater_port,
                                  Duration beacon_period) {
  const udp::endpoint repeater(asio::ip::address_v4::loopback(), repeater_port);
  asio::steady_timer timer(sock.get_executor());
  Duration interval = std::chrono::milliseconds(20);
  std::uint32_t id = 0;
  std::vector<std::uint8_t> beacon;
  for (;;) {
    beacon.clear();
    ca::encode(beacon, ca::Beacon{ca::minor_version, side.tcp_port, id++, 0});
    auto [ec, n] = co_await sock.async_send_to(asio::buffer(beacon), repeater, kTuple);
    if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec, "ca beacon");
    (void)n;
    timer.expires_after(interval);
    co_await timer.async_wait(asio::use_awaitable);
    interval = std::min(interval * 2, beacon_period);
  }
}

}  // namespace weft::apps::ca_server
