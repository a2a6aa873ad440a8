// What an operator sees of the ca service: `ca`, `ca clients`, `ca pv NAME`,
// `ca trace CLIENT`, `ca puts [N]`, the "ca: circuits" dump section (every
// circuit with its trace ring) and the weft.ca.* counters each second.
// Rendering reads the service's state on the loop and changes nothing.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <map>

#include "ca_server.hpp"
#include "weft/drivers/ca/convert.hpp"

namespace weft::apps::ca_server {
namespace {

std::string render_circuits(const Server& s) {
  std::string out = fmt::format("ca: port {} (TCP {}), {} PVs, {} circuits; {} searches ({} answered), {} circuits "
                                "refused, {} malformed messages, {} updates squashed\n",
                                s.s.port, s.search.tcp_port, s.pvs.size(), s.open.size(), s.search.searches, s.search.hits,
                                s.circuits_refused, s.malformed, s.squashed_total());
  out += fmt::format("  writer: {} sends, {} left to a full socket's own drain\n", s.sends, s.slow_sends);
  const Provided& p = s.provided;
  std::size_t provided_pvs = 0;
  for (const auto& [name, pv] : s.pvs) provided_pvs += pv->provided ? 1 : 0;
  out += fmt::format("  name provider {}: {} provided PVs, {} requests held ({} searches, {} creates held so far), "
                     "{} repeats not held again, {} answered, {} not found, {} expired, {} refused (full), {} lost upstream, "
                     "{} provider stops\n",
                     NameProviders::of(s.ctx.bus()).provider() != nullptr ? "registered" : "none", provided_pvs,
                     p.held.size(), p.searches_held, p.creates_held, p.repeats, p.answered, p.failed, p.expired, p.refused_full,
                     p.lost_upstream, p.provider_stops);
  for (const Circuit* c : s.open) {
    out += fmt::format("  {} {} minor {}: {} channels, {} subscriptions, {} squashed, {} due, {} bytes in, {} out, "
                       "{} queued{}\n",
                       c->peer, who(*c), c->minor, c->channels.size(), c->subscriptions(), c->squashed,
                       c->pending.size(), c->bytes_in, c->bytes_out, c->out.size(), c->events_off ? ", events off" : "");
  }
  return out;
}

// `ca clients`: the circuits grouped by client (claimed user@host and
// address; libca opens one circuit per priority), totals per client.
std::string render_clients(const Server& s) {
  struct Totals {
    std::size_t circuits = 0, channels = 0, subscriptions = 0;
    std::uint64_t squashed = 0, bytes_in = 0, bytes_out = 0;
  };
  std::map<std::pair<std::string, std::string>, Totals> clients;  // by (user@host, address)
  for (const Circuit* c : s.open) {
    Totals& t = clients[{who(*c), c->address}];
    ++t.circuits;
    t.channels += c->channels.size();
    t.subscriptions += c->subscriptions();
    t.squashed += c->squashed;
    t.bytes_in += c->bytes_in;
    t.bytes_out += c->bytes_out;
  }
  std::string out = fmt::format("ca clients: {} clients on {} circuits\n", clients.size(), s.open.size());
  for (const auto& [key, t] : clients) {
    out += fmt::format("  {} {}: {} circuits, {} channels, {} subscriptions, {} squashed, {} bytes in, {} out\n",
                       key.first, key.second, t.circuits, t.channels, t.subscriptions, t.squashed, t.bytes_in,
                       t.bytes_out);
  }
  return out;
}

std::string render_trace(const Circuit& c) {
  std::string out = fmt::format("ca trace {} {}: last {} of {} messages\n", c.peer, who(c),
                                std::min(c.traced, kTraceDepth), c.traced);
  const std::size_t first = c.traced > kTraceDepth ? c.traced - kTraceDepth : 0;
  for (std::size_t i = first; i < c.traced; ++i) {
    const TraceEntry& e = c.trace[i % kTraceDepth];
    out += fmt::format("  {} {} size {} type {} count {} p1 {} p2 {}\n", e.out ? "->" : "<-", ca_label(e.header),
                       e.header.payload_size, e.header.data_type, e.header.data_count, e.header.p1, e.header.p2);
  }
  return out;
}

std::string render_pv(const Pv& pv) {
  std::string value;
  auto text = ca::convert_elements(pv.value.elements, pv.value.type, ca::ValueType::string, pv.value.meta);
  if (auto* e = std::get_if<ca::Elements>(&text)) {
    for (const auto& t : std::get<std::vector<std::string>>(*e)) value += (value.empty() ? "" : " ") + t;
  }
  std::size_t monitors = 0;
  for (const Channel* ch : pv.channels) monitors += ch->monitors.size();
  return fmt::format("{}: {} {} ({} {}), stamp {}.{:09d} (EPICS epoch), {} channels, {} monitors\n", pv.name,
                     ca::to_string(pv.value.type), value, ca::to_string(pv.value.alarm.severity),
                     ca::to_string(pv.value.alarm.status), pv.value.stamp.sec_past_epoch, pv.value.stamp.nsec,
                     pv.channels.size(), monitors);
}

// `ca puts [N]`: the last N put-log entries of this run, oldest first.
std::string render_puts(const Server& s, std::size_t n) {
  std::string where = s.s.store == nullptr ? "no [store]: in the log only"
                                           : "also in " + s.s.store->options().path + ", table put_log";
  std::string out = fmt::format("ca puts: {} this run ({}{}), last {}:\n", s.puts, where,
                                s.puts_unstored > 0 ? fmt::format("; {} not stored", s.puts_unstored) : "",
                                std::min(n, s.put_ring.size()));
  if (!s.s.state_path.empty()) {
    const Persist& p = s.persist;
    out += fmt::format("  persisted soft points ({}): {} writes saved in {} rounds, {} rounds failed, {} waiting\n",
                       s.s.state_path, p.saved_writes, p.rounds, p.failed_rounds, p.staged.size());
  }
  const std::size_t first = s.put_ring.size() > n ? s.put_ring.size() - n : 0;
  for (std::size_t i = first; i < s.put_ring.size(); ++i) {
    const store::PutRecord& r = s.put_ring[i];
    const auto t = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(r.wall_ns)));
    out += fmt::format("  {:%Y-%m-%dT%H:%M:%S}Z {} ({}) {}: {} -> {}: {}\n", fmt::gmtime(std::chrono::system_clock::to_time_t(t)),
                       r.who, r.peer, r.pv, r.old_value, r.new_value, r.result);
  }
  return out;
}

}  // namespace

std::uint64_t Server::squashed_total() const {
  std::uint64_t n = squashed_closed;
  for (const Circuit* c : open) n += c->squashed;
  return n;
}

std::vector<CommandRegistration> register_commands(Server& s) {
  std::vector<CommandRegistration> out;
  out.push_back(s.ctx.add_command(
      {.name = "ca puts",
       .usage = "ca puts [N]",
       .help = "the last N (default 20, at most 64) CA writes of this run, allowed or refused: who, PV, old, new, "
               "result (all of them: the store's put_log table, `sql SELECT * FROM put_log`)",
       .handler = [&s](const CommandArgs& args) -> asio::awaitable<CommandReply> {
         std::size_t n = 20;
         if (args.size() > 1) co_return CommandReply{false, "usage: ca puts [N]\n", {}};
         if (args.size() == 1) {
           char* end = nullptr;
           const unsigned long v = std::strtoul(args[0].c_str(), &end, 10);
           if (end == args[0].c_str() || *end != '\0' || v == 0)
             co_return CommandReply{false, "ca puts: N must be a positive number, not '" + args[0] + "'\n", {}};
           n = std::min<std::size_t>(v, kPutRing);
         }
         co_return CommandReply{true, render_puts(s, n), {}};
       }}));
  out.push_back(s.ctx.add_command(
      {.name = "ca",
       .usage = "ca",
       .help = "Channel Access server: circuits (client user@host, address), channels, subscriptions, squashed updates",
       .handler = [&s](const CommandArgs&) -> asio::awaitable<CommandReply> {
         co_return CommandReply{true, render_circuits(s), {}};
       }}));
  out.push_back(s.ctx.add_command(
      {.name = "ca clients",
       .usage = "ca clients",
       .help = "Channel Access clients (user@host and address): circuits, channels, subscriptions, squashed updates, "
               "bytes in/out",
       .handler = [&s](const CommandArgs& args) -> asio::awaitable<CommandReply> {
         if (!args.empty()) co_return CommandReply{false, "usage: ca clients (no arguments)\n", {}};
         co_return CommandReply{true, render_clients(s), {}};
       }}));
  out.push_back(s.ctx.add_command(
      {.name = "ca pv",
       .usage = "ca pv NAME",
       .help = "one PV: value, type, alarm, time stamp, channels and monitors",
       .handler = [&s](const CommandArgs& args) -> asio::awaitable<CommandReply> {
         if (args.size() != 1) co_return CommandReply{false, "usage: ca pv NAME\n", {}};
         const Pv* pv = find_pv(s, args[0]);
         if (pv == nullptr) co_return CommandReply{false, "no PV named " + args[0] + " (ca lists none yet?)\n", {}};
         co_return CommandReply{true, render_pv(*pv), {}};
       }}));
  out.push_back(s.ctx.add_command(
      {.name = "ca trace",
       .usage = "ca trace CLIENT",
       .help = "the last 64 CA messages in and out of a circuit (CLIENT: its address:port as `ca` shows it)",
       .handler = [&s](const CommandArgs& args) -> asio::awaitable<CommandReply> {
         if (args.size() != 1) co_return CommandReply{false, "usage: ca trace CLIENT (address:port from `ca`)\n", {}};
         for (const Circuit* c : s.open) {
           if (c->peer == args[0]) co_return CommandReply{true, render_trace(*c), {}};
         }
         co_return CommandReply{false, "no circuit from " + args[0] + "; `ca` lists them\n", {}};
       }}));
  return out;
}

// weft.ca.* counters, published each second (they are PVs too).
asio::awaitable<void> publish_counters(Server& s) {
  Ticker ticker = s.ctx.ticker(std::chrono::seconds(1));
  for (;;) {
    co_await ticker.next();
    const std::uint64_t squashed = s.squashed_total();
    std::uint64_t channels = 0, subscriptions = 0;
    for (const Circuit* c : s.open) {
      channels += c->channels.size();
      subscriptions += c->subscriptions();
    }
    s.ctx.publish("weft.ca.circuits", static_cast<std::int64_t>(s.open.size()));
    s.ctx.publish("weft.ca.channels", static_cast<std::int64_t>(channels));
    s.ctx.publish("weft.ca.subscriptions", static_cast<std::int64_t>(subscriptions));
    s.ctx.publish("weft.ca.squashed", static_cast<std::int64_t>(squashed));
    s.ctx.publish("weft.ca.searches", static_cast<std::int64_t>(s.search.searches));
    s.ctx.publish("weft.ca.malformed", static_cast<std::int64_t>(s.malformed));
    s.ctx.publish("weft.ca.pvs", static_cast<std::int64_t>(s.pvs.size()));
  }
}

DumpSectionHandle add_dump_section(Server& s) {
  return s.ctx.add_dump_section("ca: circuits", [&s] {
    std::string out = render_circuits(s);
    for (const Circuit* c : s.open) out += render_trace(*c);
    return out;
  });
}

}  // namespace weft::apps::ca_server
