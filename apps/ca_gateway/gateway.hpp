// The ca_gateway service's shared state, private to apps/ca_gateway: its
// settings, the upstream table, the search schedule and beacon watcher, the
// upstream circuits, and the functions its files call across. Everything
// lives on the loop thread (no locks).
//
// Files of the service (each says what it guarantees at its top):
//   ca_gateway.cpp          the service: sockets bound, tasks spawned, the factory
//   gateway_settings.cpp    [service.ca_gateway] and its [[service.ca_gateway.record]] entries
//   gateway_search.cpp      UDP: searches paced by the schedule, replies, beacons, the table's timeouts
//   gateway_circuit.cpp     one TCP circuit per upstream server: hello, CREATE_CHAN,
//                           EVENT_ADD TIME and CTRL, READ_NOTIFY CTRL, ECHO liveness
//   gateway_points.cpp      record entries: upstream readings published as bus points
//   gateway_writes.cpp      writable record entries: bus write requests as WRITE_NOTIFY upstream
//   upstream_writes.cpp     one circuit's writes by IOID (public upstream_writes.hpp, unit-tested)
//   gateway_proxy.cpp       `proxy` names served downstream: the NameProvider the box's ca asks
//   gateway_console.cpp     `gateway` commands, weft.ca_gateway.* counters
//   upstream_table.cpp      the PV table's state machine (public upstream_table.hpp, unit-tested)
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "weft/apps/ca/name_provider.hpp"
#include "weft/apps/ca_gateway/upstream_table.hpp"
#include "weft/apps/ca_gateway/upstream_writes.hpp"
#include "weft/core/commands.hpp"
#include "weft/core/context.hpp"
#include "weft/core/point_writes.hpp"
#include "weft/core/task_group.hpp"
#include "weft/drivers/ca/beacon_watcher.hpp"
#include "weft/drivers/ca/circuit_reader.hpp"
#include "weft/drivers/ca/client_channel.hpp"
#include "weft/drivers/ca/client_search.hpp"
#include "weft/drivers/ca/search_schedule.hpp"

namespace weft::apps::ca_gateway {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
inline constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// [[service.ca_gateway.record]]: an upstream PV published on the bus.
struct RecordEntry {
  std::string name;   // the upstream PV
  std::string point;  // the bus point (default: the name, ':' as '.')
  bool writable = false;  // bus writes to the point go upstream as WRITE_NOTIFY
};

struct Settings {
  std::vector<ca::ServerAddress> upstream;  // search destinations
  std::uint16_t beacon_port = ca::default_repeater_port;  // where upstream beacons arrive
  std::vector<ca::ServerAddress> own;       // the box's own CA server (replies and beacons ignored)
  std::uint16_t own_port = 0;               // the box's [service.ca] port (0: no ca service): any local IP
  Timeouts timeouts;
  Duration echo_idle = std::chrono::seconds(30);     // ECHO after this long without a message
  Duration echo_timeout = std::chrono::seconds(5);   // no answer within it: the circuit is down
  Duration circuit_connect_timeout = std::chrono::seconds(5);
  Duration governor_period = std::chrono::seconds(10);  // disconnected names released to the searches
  Duration max_search_period = std::chrono::seconds(300);
  std::size_t max_pvs = 100'000;
  ca::Limits limits;
  std::string user = "weft";  // CLIENT_NAME on upstream circuits
  std::string host;           // HOST_NAME (default: [weftd] device)
  std::vector<RecordEntry> records;
  std::vector<std::string> proxy;  // fnmatch globs of upstream names served downstream under the same name
};
// A `proxy` pattern's fault ("" when it is a usable glob of a PV name).
std::string proxy_pattern_fault(const std::string& pattern, std::size_t max_name_length);
Settings read_settings(const ConfigSection& section, const ConfigSection& root);

struct Gateway;

inline constexpr std::size_t kMaxWritesPerCircuit = 1024;  // queued and on the wire; more fail at once

// One upstream server's circuit. Owned by the Gateway's map; its session
// coroutine holds a shared_ptr, so the map may drop it while it winds down.
struct Circuit {
  Circuit(Gateway& g, ca::ServerAddress server, const asio::any_io_executor& ex);
  Gateway& gw;
  ca::ServerAddress server;
  std::string peer;  // "127.0.0.1:5064"
  tcp::socket sock;
  asio::steady_timer kick;  // wakes the writer
  std::vector<std::uint8_t> out;
  bool tcp_up = false;          // TCP connected (then waiting for the server's VERSION)
  bool up = false;           // VERSION received
  bool ending = false;
  std::uint16_t server_minor = 0;
  std::unordered_map<std::uint32_t, ca::PendingChannel> pending;  // by cid (= the PV's id)
  std::unordered_map<std::uint32_t, ca::ChannelInfo> channels;    // by cid
  UpstreamWrites writes{kMaxWritesPerCircuit};                    // by IOID (gateway_writes.cpp)
  MonoTime opened{};
  std::uint64_t bytes_in = 0, bytes_out = 0, messages_in = 0, echoes = 0, refused_messages = 0;
  void send();  // wakes the writer for what was appended to `out`
};

struct Counters {
  std::uint64_t search_datagrams = 0, search_replies = 0, own_replies_ignored = 0, beacons = 0,
                beacon_anomalies = 0, boosts = 0, updates = 0, published = 0, circuits_opened = 0,
                circuits_lost = 0, circuit_failures = 0, bad_replies = 0;
  std::uint64_t writes = 0, writes_ok = 0, writes_failed = 0, writes_dropped = 0;
  std::uint64_t proxy_lookups = 0, proxy_found = 0, proxy_not_found = 0, proxy_lost = 0;
};

// The box's ca asks it for names it does not serve (gateway_proxy.cpp):
// a name matching a `proxy` pattern is looked for upstream through the
// table; its downstream channels hold it there.
struct ProxyProvider final : ca_server::NameProvider {
  explicit ProxyProvider(Gateway& gateway) : g(gateway) {}
  Gateway& g;
  ca_server::Lookup lookup(const std::string& name) override;
  Duration hold_time() const override;
  std::optional<ca_server::ProvidedValue> value(const std::string& name) override;
  void hold(const std::string& name) override;
  void release(const std::string& name) override;
  void consumer_gone() override;
};

// The PointWriter of one writable record entry.
struct RecordWriter final : PointWriter {
  RecordWriter(Gateway& g, std::uint32_t pv_id) : gw(g), id(pv_id) {}
  void submit(std::shared_ptr<PendingWrite> request) override;
  Gateway& gw;
  std::uint32_t id;
};

struct Gateway {
  Gateway(Context& c, const Settings& settings);
  ~Gateway();  // fails every write still in flight (a stop): its asker gets an answer at once
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;
  Context& ctx;
  const Settings& s;
  UpstreamTable table;
  ca::SearchSchedule schedule;
  ca::BeaconWatcher watcher;
  std::map<ca::ServerAddress, std::shared_ptr<Circuit>> circuits;
  std::unordered_map<std::uint32_t, const RecordEntry*> records;  // by PV id
  std::unordered_map<std::uint32_t, std::uint32_t> native_counts;  // a record's channel count (CREATE_CHAN), kept while disconnected
  std::set<std::uint32_t> local_ips;  // the host's IPv4 addresses (own-server check)
  asio::steady_timer search_kick;     // the schedule changed: search_loop looks again
  asio::steady_timer expiry_kick;     // the table's next deadline may be earlier
  TaskGroup* tasks = nullptr;         // the service's children (circuits are spawned here)
  Counters n;
  std::vector<std::unique_ptr<RecordWriter>> writers;       // writable record entries
  std::vector<PointWrites::Registration> write_registrations;  // declared after writers: removed first
  ProxyProvider proxy{*this};
  std::unordered_set<std::uint32_t> proxy_waiting;  // ids the box's ca asked for, not yet answered
  std::unordered_set<std::uint32_t> downstream;     // ids the box's ca holds (channels open downstream)

  bool is_own(ca::ServerAddress a) const;
  // Asks for a name (records hold; the console does not): schedules the search.
  WantResult want(const std::string& name, bool hold, Waiter waiter = {});
  void search(std::uint32_t id, bool disconnected);
  // A search reply: the circuit to `server` opened (or reused) and CREATE_CHAN sent.
  void on_found(std::uint32_t id, ca::ServerAddress server);
  // A channel connected / lost / read; called by the circuit.
  void on_connected(Circuit& c, const ca::ChannelInfo& info);
  void on_lost(std::uint32_t id, bool research);
  void on_circuit_end(Circuit& c, const std::string& why);
  void on_time(std::uint32_t id, ca::Value value);
  void on_ctrl(std::uint32_t id, ca::Metadata meta);
  void apply(const Expired& e);
};

// gateway_search.cpp
asio::awaitable<void> search_loop(Gateway& g, udp::socket& sock);
asio::awaitable<void> reply_loop(Gateway& g, udp::socket& sock);
asio::awaitable<void> beacon_loop(Gateway& g, udp::socket& sock);
asio::awaitable<void> expiry_loop(Gateway& g);
// gateway_circuit.cpp
asio::awaitable<void> run_circuit(std::shared_ptr<Circuit> c);
void create_channel(Circuit& c, std::uint32_t id, const std::string& name);
void subscribe_channel(Circuit& c, const ca::ChannelInfo& info);  // TIME and CTRL monitors, one CTRL read
// gateway_points.cpp
void publish_reading(Gateway& g, const RecordEntry& r, const UpstreamPv& pv);
void publish_stale(Gateway& g, const RecordEntry& r, const UpstreamPv& pv);
void describe_point(Gateway& g, const RecordEntry& r, const UpstreamPv& pv);
// gateway_writes.cpp
void register_writers(Gateway& g);  // throws std::runtime_error if a writable point has another owner
void submit_write(Gateway& g, std::uint32_t id, std::shared_ptr<PendingWrite> request);
void flush_writes(Circuit& c);  // the queued writes into c.out (abandoned ones dropped)
void on_write_reply(Circuit& c, const ca::WriteNotifyReply& reply);
bool on_write_error(Circuit& c, const ca::ErrorReport& report);  // true: it was about a write
void finish_read_back(Circuit& c, std::uint32_t ioid);           // the read-back came: the write is done
void on_refused_reply(Circuit& c, const ca::Header& h);           // a read-back above the limits: the write is done
void fail_channel_writes(Circuit& c, std::uint32_t cid, const std::string& why);
void fail_circuit_writes(Circuit& c, const std::string& why);
// gateway_proxy.cpp: the table's events, for the names the box's ca asked for or holds
bool proxies(const Gateway& g, const std::string& name);  // matches a `proxy` pattern
void proxy_on_time(Gateway& g, const UpstreamPv& pv);    // the first value answers the waiting
void proxy_on_ctrl(Gateway& g, const UpstreamPv& pv);
void proxy_on_lost(Gateway& g, const UpstreamPv& pv);    // was connected: downstream channels dropped
void proxy_on_gone(Gateway& g, std::uint32_t id, const std::string& name);  // dead or forgotten
// gateway_console.cpp
std::vector<CommandRegistration> register_commands(Gateway& g);
asio::awaitable<void> publish_counters(Gateway& g);

}  // namespace weft::apps::ca_gateway
