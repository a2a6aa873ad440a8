// ca: every point on the bus as an EPICS Channel Access PV, for caget,
// camonitor, pyepics and the rest (issue 13). One UDP socket per interface
// answers SEARCH for the PVs it serves and sends beacons; one TCP listener per
// interface accepts circuits. Everything runs on the loop; the codec is
// drivers/ca (pure functions), so the gateway reuses it.
//
// [service.ca]
//   port = 5064                  # UDP search and TCP circuits (0: any free TCP port, UDP still needs one)
//   interfaces = []              # IPv4 addresses to bind; empty: all (0.0.0.0)
//   device = "<[weftd] device>"  # PV names are "{device}:{point}", '.' in points mapped to ':'
//   repeater_port = 5065         # beacons go to caRepeater on 127.0.0.1 at this port
//   beacon_period = "15s"        # beacons start at 20 ms and double up to this
//   max_array_bytes = 16384      # largest DBR payload accepted from a client
//   max_circuits = 256           # more are accepted and closed at once, logged once per address
//   max_channels = 4096          # per circuit; more get CREATE_CH_FAIL
//   max_subscriptions = 16       # per channel; more get ERROR ECA_ALLOCMEM
//   send_buffer = 262144         # bytes queued per circuit before monitor updates are squashed
//   socket_send_buffer = 65536   # SO_SNDBUF of each circuit; 0: the kernel's autotuning, which lets one
//                                # stalled client pin up to tcp_wmem's maximum (4 MiB) of kernel memory
//   client_timeout = "60s"       # a circuit whose output has not drained for this long is closed (>= 1 s; an
//                                # idle circuit has no output: libca's 30 s echo is not affected)
//   write_timeout = "5s"         # a write to the hardware not answered within this fails with ECA_PUTFAIL
//
// Circuit guarantees: requests are handled in order (a read after a write
// sees it); a monitor whose circuit is over send_buffer (or EVENTS_OFF) keeps
// only "an update is due" and sends the PV's latest value when there is room,
// so memory per circuit stays bounded and a slow client never delays another;
// a malformed message closes that circuit only, with one log line.
//
// [[soft_point]]                # the box's own setpoints, published on the bus, writable through CA
//   name = "setpoint.flow"       # the point name (PV "{device}:setpoint:flow")
//   type = "number"              # number, integer, text, bool, enum (+ strings = [...]),
//                                # array (+ max_length = N: a DOUBLE array of 0..N elements)
//   initial = 0.0                # array: a list, at most max_length numbers
//   writable = false             # and an access rule must grant write
//   persist = false              # true: the last written value survives restarts (needs [weftd] data_dir;
//                                # durable before it is applied or acknowledged: ca_persist.cpp)
//   unit = "l/min"  ...          # and the point description keys (point_info_config.hpp)
// [[service.ca.access]]          # ordered, first match wins; none matching: read-only
//   pv = "*"  host = "*"  user = "*"  grant = "read"   # globs; grant none, read or write
//
// Writes go to writable soft points (set at once) and to points whose owner
// takes writes on the bus's PointWrites (gather's `writable = true` Modbus
// registers and coils: the owner sends the Modbus write between polls and
// reads the point back; the circuit waits for that answer, at most
// write_timeout, before its next request, so a read after the write sees
// the device's value). WRITE errors come as ERROR (with the owner's text,
// e.g. the Modbus exception), WRITE_NOTIFY replies with the status
// (ECA_PUTFAIL when the device refused or did not answer). Each attempt,
// allowed or refused, is one put-log entry (who, PV, old, new, result): a
// log line, a row of the store's put_log table (with a [store]; through
// the store's writer thread) and `ca puts`. A write beyond the PV's control
// limits (DRVL..DRVH, when DRVH > DRVL) is clamped to them, as an EPICS ao
// record does. Open channels get a new ACCESS_RIGHTS when a point's
// writability changes (its owner started, stopped, was reconfigured).
// A reload that changes only the access rules or a soft point's writable
// hands them to the running service (ca_live.cpp): open channels get their
// new ACCESS_RIGHTS at once and stay connected; any other key restarts it.
// Without read access (grant = "none") READ_NOTIFY is answered
// ECA_NORDACCESS with a zeroed payload and a monitor gets one such update,
// then none until the right returns (as RSRV).
// Record fields: NAME.VAL is the value; .NAME,
// .DESC, .EGU, .PREC, .HOPR, .LOPR, .DRVH, .DRVL, .HIHI, .HIGH, .LOW,
// .LOLO, .SEVR, .STAT are read-only channels of their own (ca_pv.hpp).
//
// Metadata: a point's description (unit, precision, description, display,
// control and alarm limits, states, mdel, adel: point_info_config.hpp, the
// same keys on gather's points and soft points) comes from the bus
// (Bus::describe) and is served in DBR_GR/CTRL; the alarm limits give
// MINOR/MAJOR; monitors follow EPICS's MDEL/ADEL rules per PV.
//
// Console: `ca puts [N]` (the last writes), `ca` (circuits, channels, subscriptions, squashed updates, bytes),
// `ca clients` (the same totals per client user@host and address),
// `ca pv NAME`, `ca trace CLIENT` (the last 64 messages of a circuit, also in
// dumps); counters as weft.ca.* points each second.
//
// Names it does not serve are asked of a name provider when one is
// registered on the bus (weft/apps/ca/name_provider.hpp; the ca_gateway's
// `proxy`): searches and creates are held until it answers, the names are
// served under the name asked for, read-only (ca_provided.cpp).
//
// The files of the service are listed in ca_server.hpp (its private header).
#include <memory>
#include <stdexcept>
#include <vector>

#include "ca_server.hpp"
#include "weft/apps/assembly/catalog.hpp"

namespace weft::apps {
namespace ca_server {
namespace {

asio::awaitable<void> run(Context& ctx, const Settings& settings) {
  Server s(ctx, settings);
  const LiveRun live(s);  // a reload's new access rules reach this run (ca_live.cpp)
  std::vector<asio::ip::address_v4> addresses;
  for (const auto& text : settings.interfaces) addresses.push_back(interface_address(text, nullptr));
  if (addresses.empty()) addresses.push_back(asio::ip::address_v4::any());

  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::vector<std::unique_ptr<udp::socket>> udps;
  for (const auto& a : addresses) {
    auto acceptor = std::make_unique<tcp::acceptor>(ctx.executor());
    const tcp::endpoint at(a, s.search.tcp_port != 0 ? s.search.tcp_port : settings.port);
    boost::system::error_code ec;
    acceptor->open(at.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor->bind(at, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::runtime_error("ca: cannot listen on TCP " + a.to_string() + ":" + std::to_string(at.port()) + ": " +
                               ec.message() + "; is another CA server on this port? set [service.ca] port");
    }
    s.search.tcp_port = acceptor->local_endpoint().port();
    acceptors.push_back(std::move(acceptor));

    auto udp_sock = std::make_unique<udp::socket>(ctx.executor());
    const udp::endpoint uat(a, settings.port != 0 ? settings.port : s.search.tcp_port);
    udp_sock->open(uat.protocol(), ec);
    if (!ec) udp_sock->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) udp_sock->bind(uat, ec);
    if (ec) {
      throw std::runtime_error("ca: cannot bind UDP " + a.to_string() + ":" + std::to_string(uat.port()) + ": " +
                               ec.message() + "; set [service.ca] port or interfaces");
    }
    udps.push_back(std::move(udp_sock));
  }
  ctx.log().info("ca: serving the bus's points as PVs \"{}:<point>\" on port {} (TCP {}), {} interface(s)",
                 settings.device, settings.port, s.search.tcp_port, addresses.size());
  const std::vector<CommandRegistration> commands = register_commands(s);
  const DumpSectionHandle dump = add_dump_section(s);
  if (settings.store != nullptr && !settings.store->accepting()) {
    // Normally record opened it already; without record the put log still gets its table.
    try {
      co_await settings.store->open();
    } catch (const std::exception& e) {
      ctx.log().error("ca: the store {} cannot be opened ({}); the put log goes to the log only",
                      settings.store->options().path, e.what());
    }
  }
  std::map<std::string, weft::Value> restored;  // persist = true soft points' saved values
  if (!settings.state_path.empty()) restored = co_await restore_soft_points(s);
  ctx.ready();

  for (const SoftPoint& sp : settings.soft_points) {
    ctx.bus().describe(sp.name, sp.info);  // as gather describes its points: before the first reading
    const auto saved = restored.find(sp.name);
    ctx.publish(sp.name, saved != restored.end() ? saved->second : sp.initial);
  }

  // Names not served here are asked of a name provider (the gateway's
  // proxy), through the bus's rendezvous. Declared after the sockets held
  // searches are answered on and before the tasks: gone after the circuits,
  // before the sockets (the provider is told consumer_gone()).
  const NameProviders::Registration consumer = NameProviders::of(ctx.bus()).add_consumer(s.provided);
  TaskGroup tasks(ctx.executor());
  tasks.spawn(provided_loop(s));
  if (!settings.state_path.empty()) tasks.spawn(persist_loop(s));
  tasks.spawn(feed(s));
  tasks.spawn(send_loop(s));
  tasks.spawn(publish_counters(s));
  for (auto& a : acceptors) tasks.spawn(accept_loop(s, *a, tasks));
  for (auto& u : udps) tasks.spawn(search_loop(s.search, *u));
  if (!udps.empty()) tasks.spawn(beacon_loop(s.search, *udps.front(), settings.repeater_port, settings.beacon_period));
  co_await tasks.join();
}

}  // namespace
}  // namespace ca_server

ServiceFactory ca_factory(store::Store* store) {
  return {"ca", "serves the bus's points as EPICS Channel Access PVs (caget, camonitor, pyepics)",
          [store](const ConfigSection& section, const ConfigSection& root, RestartPolicy policy) {
            ca_server::Settings s = ca_server::read_settings(section, root, store);
            s.live = ca_server::make_live(s);
            ServiceSpec spec = coroutine_service("ca", {}, policy, [s](Context& ctx) { return ca_server::run(ctx, s); });
            spec.take_live = [live = s.live, store](const ConfigSection& next, const ConfigSection& next_root) {
              ca_server::take_live(*live, ca_server::read_settings(next, next_root, store));
            };
            return spec;
          },
          {"soft_point"},
          {},
          // Taken by the running service (ca_live.cpp): the access rules, a soft point's writable.
          {"service.ca.access[*", "soft_point[*].writable"}};
}

}  // namespace weft::apps
