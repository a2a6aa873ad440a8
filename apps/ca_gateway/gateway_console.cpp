// The gateway's console commands and counters:
//   gateway            counts by state, the upstream circuits, search and beacon counters
//   gateway pvs [STATE] the names (at most 200 shown), each with its state, server and updates
//   gateway get NAME   asks the table for NAME as a client would (not held: inactive once
//                      connected, forgotten after inactive_timeout), waits for its connect
//                      (at most connect_timeout + 1 s) and shows its state and last value;
//                      a dead name is answered from the negative cache, sending no search
// and, every second, the counters as points weft.ca_gateway.* (pvtotal, connected,
// active, inactive, connecting, dead, disconnected, circuits, search_datagrams,
// search_replies, beacon_anomalies, updates, dead_hits, own_replies_ignored, writes,
// writes_failed).
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>

#include "gateway.hpp"
#include "weft/core/timers.hpp"

namespace weft::apps::ca_gateway {

using namespace boost::asio::experimental::awaitable_operators;

namespace {

std::string value_text(const UpstreamPv& pv) {
  if (!pv.last) return "(no value yet)";
  const ca::Value& v = *pv.last;
  std::string out;
  if (const auto* t = std::get_if<std::vector<std::string>>(&v.elements)) {
    out = t->empty() ? "" : "\"" + t->front() + "\"";
  } else {
    const auto& d = std::get<std::vector<double>>(v.elements);
    out = d.empty() ? "" : fmt::format("{}", d.front());
    if (d.size() > 1) out += fmt::format(" (+{} more)", d.size() - 1);
  }
  const auto wall = ca::from_epics(v.stamp);
  out += fmt::format(" severity {} stamp {}.{:09d}", static_cast<int>(v.alarm.severity),
                     std::chrono::duration_cast<std::chrono::seconds>(wall.time_since_epoch()).count(), v.stamp.nsec);
  return out;
}

std::string pv_line(const UpstreamPv& pv) {
  return fmt::format("{} {} server {} updates {} connects {} disconnects {} value {}\n", pv.name, to_string(pv.state),
                     pv.server ? ca::to_string(*pv.server) : "-", pv.updates, pv.connects, pv.disconnects,
                     value_text(pv));
}

std::string render_summary(const Gateway& g) {
  const TableCounts c = g.table.counts();
  std::string out = fmt::format("pvs {}:", c.total);
  for (std::size_t i = 0; i < kPvStates; ++i) out += fmt::format(" {} {}", to_string(static_cast<PvState>(i)), c.by_state[i]);
  out += fmt::format("\ndead_hits {} refused_full {} forgotten {} evicted_dead {}\n", c.dead_hits, c.refused_full,
                     c.forgotten, c.evicted_dead);
  out += fmt::format("search_datagrams {} search_replies {} own_replies_ignored {} bad_replies {} scheduled {}\n",
                     g.n.search_datagrams, g.n.search_replies, g.n.own_replies_ignored, g.n.bad_replies,
                     g.schedule.size());
  out += fmt::format("beacons {} beacon_anomalies {} boosts {} updates {} published {}\n", g.n.beacons,
                     g.n.beacon_anomalies, g.n.boosts, g.n.updates, g.n.published);
  out += fmt::format("writes {} writes_ok {} writes_failed {} writes_dropped {}\n", g.n.writes, g.n.writes_ok,
                     g.n.writes_failed, g.n.writes_dropped);
  out += fmt::format("proxy patterns {} lookups {} found {} not_found {} lost {} held_downstream {} waiting {}\n",
                     g.s.proxy.size(), g.n.proxy_lookups, g.n.proxy_found, g.n.proxy_not_found, g.n.proxy_lost,
                     g.downstream.size(), g.proxy_waiting.size());
  out += fmt::format("circuits {} opened {} lost {} failed {}\n", g.circuits.size(), g.n.circuits_opened,
                     g.n.circuits_lost, g.n.circuit_failures);
  for (const auto& [server, c] : g.circuits) {
    out += fmt::format(
        "  circuit {} {} channels {} pending {} writes_in_flight {} bytes_in {} bytes_out {} echoes {} refused {}\n",
        c->peer, c->up ? "up" : c->tcp_up ? "hello" : "tcp-connect", c->channels.size(), c->pending.size(),
        c->writes.size(), c->bytes_in, c->bytes_out, c->echoes, c->refused_messages);
  }
  return out;
}

std::optional<PvState> parse_state(const std::string& s) {
  for (std::size_t i = 0; i < kPvStates; ++i) {
    if (to_string(static_cast<PvState>(i)) == s) return static_cast<PvState>(i);
  }
  return std::nullopt;
}

}  // namespace

std::vector<CommandRegistration> register_commands(Gateway& g) {
  std::vector<CommandRegistration> out;
  out.push_back(g.ctx.add_command(
      {.name = "gateway",
       .usage = "gateway",
       .help = "CA gateway: upstream PVs by state, upstream circuits, search and beacon counters",
       .handler = [&g](const CommandArgs& args) -> asio::awaitable<CommandReply> {
         if (!args.empty()) co_return CommandReply{false, "usage: gateway (or gateway pvs, gateway get NAME)\n", {}};
         co_return CommandReply{true, render_summary(g), {}};
       }}));
  out.push_back(g.ctx.add_command(
      {.name = "gateway pvs",
       .usage = "gateway pvs [STATE]",
       .help = "upstream PVs (at most 200), or those in STATE (connecting, active, inactive, dead, disconnected)",
       .handler = [&g](const CommandArgs& args) -> asio::awaitable<CommandReply> {
         std::optional<PvState> only;
         if (args.size() > 1) co_return CommandReply{false, "usage: gateway pvs [STATE]\n", {}};
         if (args.size() == 1) {
           only = parse_state(args[0]);
           if (!only) {
             co_return CommandReply{false, "gateway pvs: '" + args[0] +
                                               "' is not a state (connecting, active, inactive, dead, disconnected)\n",
                                    {}};
           }
         }
         std::vector<const UpstreamPv*> pvs;
         g.table.for_each([&](const UpstreamPv& pv) {
           if (!only || pv.state == *only) pvs.push_back(&pv);
         });
         std::sort(pvs.begin(), pvs.end(), [](auto* a, auto* b) { return a->name < b->name; });
         std::string text;
         for (std::size_t i = 0; i < pvs.size() && i < 200; ++i) text += pv_line(*pvs[i]);
         if (pvs.size() > 200) text += fmt::format("... and {} more\n", pvs.size() - 200);
         if (pvs.empty()) text = "no upstream PVs\n";
         co_return CommandReply{true, text, {}};
       }}));
  out.push_back(g.ctx.add_command(
      {.name = "gateway get",
       .usage = "gateway get NAME",
       .help = "asks for an upstream PV as a client would; waits for its connect (connect_timeout + 1 s); a dead name "
               "is answered from the negative cache",
       .handler = [&g](const CommandArgs& args) -> asio::awaitable<CommandReply> {
         if (args.size() != 1 || args[0].empty()) co_return CommandReply{false, "usage: gateway get NAME\n", {}};
         const std::string name = args[0];
         auto done = std::make_shared<asio::steady_timer>(g.ctx.executor());
         done->expires_at(asio::steady_timer::time_point::max());
         const WantResult r = g.want(name, false, [done](const UpstreamPv&) { done->cancel(); });
         if (r == WantResult::full) {
           co_return CommandReply{false, "gateway get: the table is full ([service.ca_gateway] max_pvs)\n", {}};
         }
         if (r == WantResult::search || r == WantResult::waiting) {
           const MonoTime until = g.ctx.clock().now() + g.s.timeouts.connect + std::chrono::seconds(1);
           co_await (done->async_wait(kTuple) || expires_at(g.ctx.timers(), until));
           // The service's run ended meanwhile (Commands::run cancels this
           // call): the wait above still returns normally (as_tuple), and
           // `g` is gone, so nothing of it may be touched from here on.
           const auto state = co_await asio::this_coro::cancellation_state;
           if (state.cancelled() != asio::cancellation_type::none)
             throw boost::system::system_error(asio::error::operation_aborted, "gateway get: ca_gateway stopped");
         }
         const UpstreamPv* pv = g.table.find(name);
         if (pv == nullptr) co_return CommandReply{false, name + ": not in the table (forgotten)\n", {}};
         const bool ok = pv->state == PvState::active || pv->state == PvState::inactive;
         co_return CommandReply{ok, fmt::format("{} ({})\n", pv_line(*pv).substr(0, pv_line(*pv).size() - 1),
                                                to_string(r)),
                                {}};
       }}));
  return out;
}

asio::awaitable<void> publish_counters(Gateway& g) {
  Ticker ticker = g.ctx.ticker(std::chrono::seconds(1));
  for (;;) {
    co_await ticker.next();
    const TableCounts c = g.table.counts();
    const auto state = [&](PvState s) { return static_cast<std::int64_t>(c.by_state[static_cast<std::size_t>(s)]); };
    g.ctx.publish("weft.ca_gateway.pvtotal", static_cast<std::int64_t>(c.total));
    g.ctx.publish("weft.ca_gateway.connected", state(PvState::active) + state(PvState::inactive));
    g.ctx.publish("weft.ca_gateway.active", state(PvState::active));
    g.ctx.publish("weft.ca_gateway.inactive", state(PvState::inactive));
    g.ctx.publish("weft.ca_gateway.connecting", state(PvState::connecting));
    g.ctx.publish("weft.ca_gateway.dead", state(PvState::dead));
    g.ctx.publish("weft.ca_gateway.disconnected", state(PvState::disconnected));
    g.ctx.publish("weft.ca_gateway.circuits", static_cast<std::int64_t>(g.circuits.size()));
    g.ctx.publish("weft.ca_gateway.search_datagrams", static_cast<std::int64_t>(g.n.search_datagrams));
    g.ctx.publish("weft.ca_gateway.search_replies", static_cast<std::int64_t>(g.n.search_replies));
    g.ctx.publish("weft.ca_gateway.beacon_anomalies", static_cast<std::int64_t>(g.n.beacon_anomalies));
    g.ctx.publish("weft.ca_gateway.updates", static_cast<std::int64_t>(g.n.updates));
    g.ctx.publish("weft.ca_gateway.dead_hits", static_cast<std::int64_t>(c.dead_hits));
    g.ctx.publish("weft.ca_gateway.own_replies_ignored", static_cast<std::int64_t>(g.n.own_replies_ignored));
    g.ctx.publish("weft.ca_gateway.writes", static_cast<std::int64_t>(g.n.writes));
    g.ctx.publish("weft.ca_gateway.writes_failed", static_cast<std::int64_t>(g.n.writes_failed));
  }
}

}  // namespace weft::apps::ca_gateway
