// The UDP side of the gateway: searches for the table's names paced by the
// SearchSchedule (one socket; every datagram to every `upstream` address),
// replies resolved with client_search (a reply naming the box's own CA
// server is a loop and ignored: the name stays searched), upstream beacons
// judged by the BeaconWatcher (an anomaly boosts that server's disconnected
// names to an immediate search, and applies libca's global anomaly rule),
// and the table's timeouts applied when due. Every wait is on a socket or
// a deadline raced with a kick timer, so a stop lands anywhere.
#include <array>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <spdlog/spdlog.h>

#include "gateway.hpp"
#include "weft/core/timers.hpp"

namespace weft::apps::ca_gateway {

using namespace boost::asio::experimental::awaitable_operators;

namespace {

udp::endpoint endpoint_of(ca::ServerAddress a) { return udp::endpoint(asio::ip::address_v4(a.ip), a.port); }

// Parks until `kick` is cancelled or `at` (nullopt: only the kick).
asio::awaitable<void> wait_kick_or(Gateway& g, asio::steady_timer& kick, std::optional<MonoTime> at) {
  kick.expires_at(asio::steady_timer::time_point::max());
  if (at) {
    co_await (kick.async_wait(kTuple) || expires_at(g.ctx.timers(), *at, std::chrono::milliseconds(1)));
  } else {
    co_await kick.async_wait(kTuple);
  }
}

}  // namespace

asio::awaitable<void> search_loop(Gateway& g, udp::socket& sock) {
  std::vector<ca::SearchEntry> entries;
  bool send_error_logged = false;
  for (;;) {
    const MonoTime now = g.ctx.clock().now();
    // Named, not temporaries of the range-for: the body co_awaits (GCC 12).
    const auto due = g.schedule.take_due(now);
    for (const auto& d : due) {
      entries.clear();
      for (const std::uint32_t id : d.ids) {
        const UpstreamPv* pv = g.table.find(id);
        if (pv != nullptr) entries.push_back({id, pv->name});
      }
      if (entries.empty()) continue;
      const auto datagrams = ca::build_search_datagrams(entries, d.sequence, ca::default_search_datagram_bytes);
      for (const auto& datagram : datagrams) {
        for (const ca::ServerAddress& to : g.s.upstream) {
          const udp::endpoint at = endpoint_of(to);
          auto [ec, n] = co_await sock.async_send_to(asio::buffer(datagram.bytes), at, kTuple);
          (void)n;
          if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec, "ca_gateway search");
          if (ec && !send_error_logged) {
            send_error_logged = true;
            g.ctx.log().warn("ca_gateway: a search to {} failed: {} ([service.ca_gateway] upstream); further "
                             "failures are not logged",
                             ca::to_string(to), ec.message());
          }
          if (!ec) ++g.n.search_datagrams;
        }
      }
    }
    co_await wait_kick_or(g, g.search_kick, g.schedule.next_due());
  }
}

asio::awaitable<void> reply_loop(Gateway& g, udp::socket& sock) {
  std::array<std::uint8_t, 0x4000> buf;
  udp::endpoint from;
  for (;;) {
    auto [ec, n] = co_await sock.async_receive_from(asio::buffer(buf), from, kTuple);
    if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec, "ca_gateway replies");
    if (ec) continue;  // ICMP port unreachable from an earlier search and the like
    const ca::ServerAddress sender{from.address().to_v4().to_uint(), from.port()};
    const ca::SearchReplies r =
        ca::decode_search_replies(std::span<const std::uint8_t>(buf.data(), n), sender, ca::default_server_port);
    if (r.error) {
      ++g.n.bad_replies;
      g.ctx.log().debug("ca_gateway: a search reply from {}: {}", ca::to_string(sender), r.error->message());
    }
    const MonoTime now = g.ctx.clock().now();
    for (const ca::SearchFound& f : r.found) {
      if (g.is_own(f.server)) {
        ++g.n.own_replies_ignored;  // the box's own ca service: a loop, not an upstream
        continue;
      }
      const UpstreamPv* pv = g.table.find(f.search_id);
      if (pv == nullptr || !g.schedule.lane_of(f.search_id)) continue;  // not searched (any more): late or duplicate
      ++g.n.search_replies;
      g.schedule.found(f.search_id, r.sequence, now);
      g.on_found(f.search_id, f.server);
    }
  }
}

asio::awaitable<void> beacon_loop(Gateway& g, udp::socket& sock) {
  std::array<std::uint8_t, 0x4000> buf;
  udp::endpoint from;
  for (;;) {
    auto [ec, n] = co_await sock.async_receive_from(asio::buffer(buf), from, kTuple);
    if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec, "ca_gateway beacons");
    if (ec) continue;
    const ca::ServerAddress sender{from.address().to_v4().to_uint(), from.port()};
    const ca::Beacons b =
        ca::decode_beacons(std::span<const std::uint8_t>(buf.data(), n), sender, ca::default_server_port);
    const MonoTime now = g.ctx.clock().now();
    for (const ca::BeaconSeen& seen : b.beacons) {
      if (g.is_own(seen.server)) continue;
      ++g.n.beacons;
      const ca::BeaconVerdict v = g.watcher.on_beacon(seen, now);
      if (!ca::is_anomaly(v)) continue;
      ++g.n.beacon_anomalies;
      const auto ids = g.table.disconnected_on(seen.server);
      for (const std::uint32_t id : ids) {
        if (g.schedule.boost(id, now)) ++g.n.boosts;
      }
      g.schedule.beacon_anomaly(now);
      // A starting server's fast beacons are anomalies too (libca's rules): logged only when they move names.
      g.ctx.log().log(ids.empty() ? spdlog::level::debug : spdlog::level::info,
                      "ca_gateway: beacon anomaly from {} ({}): {} disconnected name(s) searched now",
                      ca::to_string(seen.server), ca::to_string(v), ids.size());
      g.search_kick.cancel();
    }
  }
}

asio::awaitable<void> expiry_loop(Gateway& g) {
  for (;;) {
    g.apply(g.table.expire(g.ctx.clock().now()));
    co_await wait_kick_or(g, g.expiry_kick, g.table.next_deadline());
  }
}

}  // namespace weft::apps::ca_gateway
