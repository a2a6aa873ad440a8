// ca_gateway (issue 14, stage 1: the upstream half): upstream Channel Access
// PVs gathered as points. It searches for its names on the `upstream`
// addresses (libca's back-off), opens one circuit per upstream server,
// monitors each PV's DBR_TIME value and DBR_CTRL metadata, keeps them in the
// upstream table (ca-gateway's states and timeouts, a negative cache for
// dead names), and publishes the [[service.ca_gateway.record]] PVs on the
// bus: a box gathers from IOCs as it gathers from serial instruments.
//
// [service.ca_gateway]
//   upstream = ["10.0.0.255"]      # where searches go: IPv4 host[:port] (broadcast or unicast), required
//   upstream_port = 5064           # the port of an upstream entry without one
//   beacon_port = 5065             # UDP port upstream beacons arrive on (bound by the gateway)
//   ignore = []                    # more CA servers to ignore (host:port); the box's own [service.ca] always is
//   connect_timeout = "1s"         # not found within it: dead (the negative cache)
//   dead_timeout = "120s"          # a dead name is remembered this long (repeats send no search)
//   inactive_timeout = "2h"        # a connected name nobody holds is kept this long
//   disconnect_timeout = "2h"      # a disconnected name nobody holds is kept this long
//   echo_idle = "30s"              # an ECHO after this long without a message on a circuit...
//   echo_timeout = "5s"            # ...not answered within this: the circuit is down
//   circuit_connect_timeout = "5s" # a TCP connect to an upstream server
//   disconnect_governor = "10s"    # names of a lost circuit are searched again after this (or at a beacon anomaly)
//   max_search_period = "300s"     # the search back-off's ceiling (EPICS_CA_MAX_SEARCH_PERIOD)
//   max_pvs = 100000               # names in the table; more requests are refused
//   max_array_bytes = 16384        # largest upstream payload accepted
//   user = "weft"  host = "<[weftd] device>"   # CLIENT_NAME / HOST_NAME upstream
// [[service.ca_gateway.record]]
//   name = "ioc:temp"              # the upstream PV
//   point = "ioc.temp"             # the bus point (default: the name with ':' as '.')
//   writable = false               # true: bus writes to the point go upstream (WRITE_NOTIFY)
// [service.ca_gateway] proxy = ["ioc:*"]   # globs of upstream names the box's ca serves downstream
//                                          # under the same name (gateway_proxy.cpp); empty: none
//
// Stops cleanly at any await: every task waits on a socket or a deadline.
#include <ifaddrs.h>
#include <netinet/in.h>

#include <spdlog/spdlog.h>

#include "gateway.hpp"
#include "weft/apps/assembly/catalog.hpp"

namespace weft::apps {
namespace ca_gateway {
namespace {

ca::SearchScheduleConfig schedule_config(const Settings& s) {
  ca::SearchScheduleConfig c;
  c.max_search_period = std::chrono::duration<double>(s.max_search_period);
  c.disconnect_governor_period = std::chrono::duration<double>(s.governor_period);
  return c;
}

// The host's IPv4 addresses (getifaddrs reads the kernel's table: no I/O wait).
std::set<std::uint32_t> host_addresses() {
  std::set<std::uint32_t> out{0x7F000001u};
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    out.insert(ntohl(reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr));
  }
  ::freeifaddrs(list);
  return out;
}

udp::socket bind_udp(Context& ctx, std::uint16_t port, const char* what) {
  udp::socket sock(ctx.executor());
  boost::system::error_code ec;
  sock.open(udp::v4(), ec);
  if (!ec) sock.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) sock.set_option(asio::socket_base::broadcast(true), ec);
  if (!ec) sock.bind(udp::endpoint(udp::v4(), port), ec);
  if (ec) {
    throw std::runtime_error("ca_gateway: cannot bind the " + std::string(what) + " UDP port " + std::to_string(port) +
                             ": " + ec.message() + (port != 0 ? "; is caRepeater or another gateway on it? set "
                                                                "[service.ca_gateway] beacon_port"
                                                              : ""));
  }
  return sock;
}

asio::awaitable<void> run(Context& ctx, const Settings& settings) {
  Gateway g(ctx, settings);
  udp::socket search = bind_udp(ctx, 0, "search");
  udp::socket beacons = bind_udp(ctx, settings.beacon_port, "beacon");
  const std::vector<CommandRegistration> commands = register_commands(g);
  // `proxy`: the box's ca asks the gateway for names it does not serve.
  // Declared after g and before the tasks: unregistered (the ca answers
  // what it held and drops the proxied channels) before g goes.
  ca_server::NameProviders::Registration provider;
  if (!settings.proxy.empty()) provider = ca_server::NameProviders::of(ctx.bus()).add_provider(g.proxy);
  std::string to;
  for (const auto& a : settings.upstream) to += (to.empty() ? "" : ", ") + ca::to_string(a);
  ctx.log().info("ca_gateway: searching {} on {}, beacons on UDP {}, {} record entr{}, {} proxy pattern(s)",
                 "upstream PVs", to, settings.beacon_port, settings.records.size(),
                 settings.records.size() == 1 ? "y" : "ies", settings.proxy.size());
  TaskGroup tasks(ctx.executor());
  g.tasks = &tasks;
  for (const RecordEntry& r : settings.records) {
    g.want(r.name, true);
    g.records.emplace(g.table.find(r.name)->id, &r);
  }
  register_writers(g);
  ctx.ready();
  tasks.spawn(search_loop(g, search));
  tasks.spawn(reply_loop(g, search));
  tasks.spawn(beacon_loop(g, beacons));
  tasks.spawn(expiry_loop(g));
  tasks.spawn(publish_counters(g));
  co_await tasks.join();
}

}  // namespace

Gateway::Gateway(Context& c, const Settings& settings)
    : ctx(c), s(settings), table(settings.timeouts, std::max<std::size_t>(1024, 2 * settings.records.size()),
                                 settings.max_pvs),
      schedule(schedule_config(settings), c.clock().now()), watcher(c.clock().now()), local_ips(host_addresses()),
      search_kick(c.executor()), expiry_kick(c.executor()) {}

Gateway::~Gateway() {
  write_registrations.clear();  // no request reaches a gateway on its way out
  for (auto& [server, c] : circuits) fail_circuit_writes(*c, "ca_gateway stopped");
}

bool Gateway::is_own(ca::ServerAddress a) const {
  for (const auto& o : s.own) {
    if (o == a) return true;
  }
  return s.own_port != 0 && a.port == s.own_port && local_ips.contains(a.ip);
}

WantResult Gateway::want(const std::string& name, bool hold, Waiter waiter) {
  const WantResult r = table.want(name, ctx.clock().now(), hold, std::move(waiter));
  if (r == WantResult::search) {
    search(table.find(name)->id, false);
    expiry_kick.cancel();  // its connect deadline may be the earliest now
  }
  return r;
}

void Gateway::search(std::uint32_t id, bool disconnected) {
  const UpstreamPv* pv = table.find(id);
  if (pv == nullptr) return;
  const MonoTime now = ctx.clock().now();
  if (disconnected) {
    schedule.add_disconnected(id, pv->name.size(), now);
  } else {
    schedule.add(id, pv->name.size(), now);
  }
  search_kick.cancel();
}

void Gateway::on_found(std::uint32_t id, ca::ServerAddress server) {
  const UpstreamPv* pv = table.find(id);
  if (pv == nullptr) return;
  if (!table.found(id, server, ctx.clock().now())) return;
  auto& slot = circuits[server];
  if (!slot) {
    slot = std::make_shared<Circuit>(*this, server, ctx.executor());
    tasks->spawn(run_circuit(slot));
  }
  create_channel(*slot, id, pv->name);
}

void Gateway::on_connected(Circuit& c, const ca::ChannelInfo& info) {
  if (!table.connected(info.cid, info, ctx.clock().now())) {
    // Dead or forgotten meanwhile (its circuit took longer than connect_timeout): not kept open.
    ca::append_clear_channel(c.out, info);
    c.send();
    c.channels.erase(info.cid);
    return;
  }
  expiry_kick.cancel();
  if (const auto r = records.find(info.cid); r != records.end()) {
    native_counts[info.cid] = info.count;
    describe_point(*this, *r->second, *table.find(info.cid));
  }
  subscribe_channel(c, info);
}

void Gateway::on_lost(std::uint32_t id, bool research) {
  const UpstreamPv* pv = table.find(id);
  if (pv == nullptr) return;
  const bool was_connected = pv->state == PvState::active || pv->state == PvState::inactive;
  if (!table.lost(id, ctx.clock().now())) return;
  expiry_kick.cancel();
  if (was_connected) {
    if (const auto r = records.find(id); r != records.end()) publish_stale(*this, *r->second, *pv);
  }
  if (was_connected) proxy_on_lost(*this, *pv);
  // Through the disconnect governor, whether it was connected or still
  // connecting: a server that answers searches but refuses the circuit (or
  // CREATE_CHAN) would otherwise be searched and connected to again at once,
  // thousands of times a second until connect_timeout makes the name dead.
  if (research) search(id, true);
}

void Gateway::on_circuit_end(Circuit& c, const std::string& why) {
  const MonoTime now = ctx.clock().now();
  watcher.circuit_down(c.server);
  std::vector<std::uint32_t> ids;
  for (const auto& [cid, ch] : c.channels) ids.push_back(cid);
  for (const auto& [cid, p] : c.pending) ids.push_back(cid);
  ctx.log().warn("ca_gateway: circuit to {} ended ({}): {} name(s) disconnected, searched again", c.peer, why,
                 ids.size());
  fail_circuit_writes(c, "the circuit ended (" + why + ")");
  c.channels.clear();
  c.pending.clear();
  if (const auto it = circuits.find(c.server); it != circuits.end() && it->second.get() == &c) circuits.erase(it);
  for (const std::uint32_t id : ids) on_lost(id, true);
  (void)now;
}

void Gateway::on_time(std::uint32_t id, ca::Value value) {
  const UpstreamPv* pv = table.reading(id, std::move(value));
  if (pv == nullptr) return;
  ++n.updates;
  if (const auto r = records.find(id); r != records.end()) publish_reading(*this, *r->second, *pv);
  proxy_on_time(*this, *pv);
}

void Gateway::on_ctrl(std::uint32_t id, ca::Metadata meta) {
  const UpstreamPv* pv = table.metadata(id, std::move(meta));
  if (pv == nullptr) return;
  if (const auto r = records.find(id); r != records.end()) describe_point(*this, *r->second, *pv);
  proxy_on_ctrl(*this, *pv);
}

void Gateway::apply(const Expired& e) {
  for (const std::uint32_t id : e.died) {
    schedule.remove(id);
    const UpstreamPv* pv = table.find(id);
    if (pv == nullptr) continue;  // a waiter's want() cannot remove it; defensive
    proxy_on_gone(*this, id, pv->name);
    ctx.log().info("ca_gateway: {} not found within {} ms: dead (no search for it for {} s)", pv->name,
                   std::chrono::duration_cast<std::chrono::milliseconds>(s.timeouts.connect).count(),
                   std::chrono::duration_cast<std::chrono::seconds>(s.timeouts.dead).count());
  }
  for (const std::uint32_t id : e.research) search(id, false);
  for (std::size_t i = 0; i < e.forgotten_ids.size(); ++i) {
    const std::uint32_t id = e.forgotten_ids[i];
    if (i < e.forgotten.size()) proxy_on_gone(*this, id, e.forgotten[i]);
    schedule.remove(id);
    for (auto& [server, c] : circuits) {
      const auto ch = c->channels.find(id);
      if (ch == c->channels.end()) continue;
      fail_channel_writes(*c, id, "the PV was forgotten");
      ca::append_clear_channel(c->out, ch->second);
      c->send();
      c->channels.erase(ch);
    }
    records.erase(id);  // (records are held, never forgotten)
  }
}

}  // namespace ca_gateway

ServiceFactory ca_gateway_factory() {
  return {"ca_gateway", "gathers upstream EPICS Channel Access PVs (IOCs) as points",
          [](const ConfigSection& section, const ConfigSection& root, RestartPolicy policy) {
            ca_gateway::Settings s = ca_gateway::read_settings(section, root);
            return coroutine_service("ca_gateway", {}, policy,
                                     [s](Context& ctx) { return ca_gateway::run(ctx, s); });
          }};
}

}  // namespace weft::apps
