// The ca service's shared state, private to apps/ca: its settings, the PV
// table, the circuits with their channels and monitors, and the functions
// its files call across. Everything here lives on the loop thread (no
// locks); a Circuit, its Channels and their Monitors are owned by the
// circuit's session and unlinked from their Pvs when it ends.
//
// Files of the service (each says what it guarantees at its top):
//   ca.cpp            the service: sockets bound, tasks spawned, the factory
//   ca_settings.cpp   [service.ca], its [[service.ca.access]] rules, [[soft_point]]
//   ca_pvs.cpp        the bus's points as PVs (the only file that reads the bus feed)
//   ca_monitors.cpp   subscription updates: sent, or kept due and squashed
//   ca_requests.cpp   what each request does on a circuit (CREATE_CHAN, READ_NOTIFY, ...)
//   ca_writes.cpp     access rights (and their refresh), writes (soft points, device
//                     writes, control-limit clamp), the put log
//   ca_live.cpp       what a reload hands the running service (access rules, soft points'
//                     writable): ServiceSpec::take_live, without a restart
//   ca_persist.cpp    persist = true soft points: staged until durable, the state file's
//                     writer, the restore at start
//   soft_state.cpp    the state file's text codec (public soft_state.hpp, unit-tested)
//   ca_circuit.cpp    a circuit's byte stream: framing, ordering, output, limits, trace
//   ca_udp.cpp        SEARCH answers and beacons
//   ca_provided.cpp   names the service does not serve, asked of a registered NameProvider
//                     (the gateway): held searches and creates, provided PVs and their updates
//   name_provider.cpp the provider/consumer rendezvous (public name_provider.hpp)
//   ca_console.cpp    `ca ...` commands, the dump section, weft.ca.* counters
//   ca_pv.cpp         pure functions (public ca_pv.hpp, unit-tested): names, types,
//                     metadata and limit alarms, deadband events, record fields
// Seams for the gateway (issue 14): names the service does not serve are
// asked of a NameProvider (weft/apps/ca/name_provider.hpp; ca_provided.cpp),
// which knows nothing of this service's types; ca_udp.cpp knows only
// SearchSide (which names are served, the TCP port), not the PV table; ca_circuit.cpp knows
// the stream, not what a request means (handle()); only ca_pvs.cpp and
// ca_writes.cpp know the bus.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "weft/apps/ca/ca_pv.hpp"
#include "weft/apps/ca/name_provider.hpp"
#include "weft/apps/ca/soft_state.hpp"
#include "weft/core/commands.hpp"
#include "weft/core/context.hpp"
#include "weft/core/dump.hpp"
#include "weft/core/task_group.hpp"
#include "weft/drivers/ca/dbr.hpp"
#include "weft/drivers/ca/messages.hpp"
#include "weft/drivers/store/store.hpp"

namespace weft::apps::ca_server {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
inline constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// A SEARCH for a name not served: what SearchSide::provide did with it.
enum class Provide : std::uint8_t { no, now, held };

// What the UDP side of a CA server needs (ca_udp.cpp): which names it
// creates channels for and where its circuits listen. The server's PV table
// fills `serves`; `provide` asks a name provider (ca_provided.cpp).
struct SearchSide {
  ca::Limits limits;
  std::uint16_t tcp_port = 0;                     // advertised in search replies and beacons
  std::function<bool(std::string_view)> serves;   // true: a CREATE_CHAN for this name succeeds
  // A name `serves` said no to, asked of a name provider: now (answer it
  // now), held (answered later, ca_provided.cpp), no (not served).
  std::function<Provide(const ca::Search&, udp::socket&, const udp::endpoint&, std::uint32_t sequence)> provide;
  std::uint64_t searches = 0, hits = 0;
};

// A setpoint or parameter of the box itself ([[soft_point]]): published on
// the bus at start and on every accepted CA write.
struct SoftPoint {
  std::string name;                  // the point name on the bus
  ca::ValueType type = ca::ValueType::float64;
  std::vector<std::string> strings;  // enum state names (type enumerated)
  weft::Value initial;
  bool is_bool = false;              // a bool point: ENUM "false"/"true" on the wire, bool on the bus
  bool writable = false;
  bool persist = false;              // its last written value is durable before it is applied, restored at start
  std::string kind;                  // its config type: number, integer, text, bool, enum, array
  std::uint32_t max_length = 1;      // array: the most elements it holds (CREATE_CHAN's count, EPICS's NELM)
  PointInfo info;                    // unit, precision, limits, ... (described on the bus like gather's points)
};

// [[service.ca.access]]: first match wins; no match is read-only.
struct AccessRule {
  std::string pv = "*", host = "*", user = "*";  // fnmatch globs
  std::uint32_t rights = ca::access_read;
};

struct Server;

// What the ca service takes while it runs (ca_live.cpp, ServiceSpec::
// take_live): its access rules and which soft points are writable. One per
// spec, shared by the spec and its runs, so a later run (a restart by
// supervision) starts with the rules a reload last gave; the run reads
// rights from here, never from Settings::access or SoftPoint::writable.
struct LiveSettings {
  std::vector<AccessRule> access;
  std::set<std::string> writable_soft;  // soft points (point names) with writable = true
  Server* running = nullptr;            // the run serving now (set for its lifetime), told at once
};

struct Settings {
  std::uint16_t port = ca::default_server_port;
  std::vector<std::string> interfaces;
  std::string device;
  std::uint16_t repeater_port = ca::default_repeater_port;
  Duration beacon_period = std::chrono::seconds(15);
  ca::Limits limits;
  std::size_t max_circuits = 256;
  std::size_t max_channels = 4096;
  std::size_t max_subscriptions = 16;
  std::size_t send_buffer = 256 * 1024;
  std::size_t socket_send_buffer = 64 * 1024;
  Duration client_timeout = std::chrono::seconds(60);
  Duration write_timeout = std::chrono::seconds(5);  // a write to the hardware: its owner's answer within this
  std::vector<SoftPoint> soft_points;
  std::string state_path;  // <[weftd] data_dir>/ca-soft-points.toml when a soft point has persist = true; else ""
  std::vector<AccessRule> access;
  store::Store* store = nullptr;  // the put log's table ([store]); null: the put log is in the log only
  std::shared_ptr<LiveSettings> live;  // access and writable as in force now (make_live); never null in a run
};

struct Circuit;
struct Channel;

// One message in a circuit's flight recorder (`ca trace`, dumps).
struct TraceEntry {
  bool out = false;  // sent by us
  ca::Header header;
};
constexpr std::size_t kTraceDepth = 64;

struct Monitor {
  std::uint16_t dbr_type = 0;
  std::uint32_t count = 0;
  std::uint16_t mask = 0;
  bool pending = false;  // an update is due but waits for room or EVENTS_ON
};

struct Pv {
  std::string name;
  std::string point;
  const SoftPoint* soft = nullptr;  // set for the box's own soft points
  std::optional<PointInfo> info;    // the owner's description (unit, limits, ...), when it gave one
  bool from_bool = false;           // its first reading was a bool (an ENUM written back as a bool)
  bool is_array = false;            // its first reading was an array (a DOUBLE array; no limit alarm, no clamp)
  std::uint32_t max_count = 1;      // the element count CREATE_CHAN gives (an array soft point's max_length)
  ca_pv::LastPosted posted;         // what the deadbands compare with
  std::uint64_t seq = 0;  // the bus's number (Reading::seq) of the last reading taken: a copy of it or an older one changes nothing
  ca::Value value;
  std::vector<Channel*> channels;  // every open channel to this PV, on any circuit
  bool provided = false;  // a name provider's (the gateway's upstream name): no bus point; gone with its last channel
};

// A write to the hardware, checked and converted, waiting for its owner's
// answer (run_device_write); the request's fields for the reply.
struct DeviceWrite {
  Pv* pv = nullptr;
  weft::Value value;
  std::string old_text, new_text;  // for the put log
  std::string note;                // the put log's note after "ok": " (7000 clamped to DRVH 180)"
  bool notify = false;             // WRITE_NOTIFY (reply with the status) or WRITE (ERROR on failure)
  std::uint16_t dbr_type = 0;
  std::uint32_t count = 0;
  std::uint32_t ioid = 0;
  std::uint32_t cid = 0;
  std::vector<std::uint8_t> header;  // the WRITE's header, copied into its ERROR
};

// A circuit waiting for its staged writes (finish_persist_writes); shared
// with the writes, so a circuit that stopped waiting leaves it safely behind.
struct PersistWaiter {
  std::size_t outstanding = 0;  // its writes whose round has not finished
  std::string error;            // non-empty: a round of its writes failed (not saved, not applied)
  asio::steady_timer* wake = nullptr;  // set while the circuit waits
};

// A write to a persist = true soft point, staged until its round of the
// state file is durable (ca_persist.cpp); applied (published) only then.
struct StagedWrite {
  Pv* pv = nullptr;
  weft::Value value;
  std::string who, peer;  // for the put log
  std::string note;       // after "ok" (a clamp)
  std::shared_ptr<PersistWaiter> waiter;
};

// The state file's writer (persist_loop): writes staged since the last
// round go to disk together in one atomic replace, off the loop; a burst
// of writes costs a few fsyncs, not one each.
struct Persist {
  explicit Persist(const asio::any_io_executor& ex) : kick(ex) { kick.expires_at(asio::steady_timer::time_point::max()); }
  ca_pv::SoftState durable;          // what the file holds
  std::vector<StagedWrite> staged;   // in the order they were accepted
  bool rewrite = false;              // write `durable` even with nothing staged (dropped entries at start)
  asio::steady_timer kick;           // wakes persist_loop
  std::uint64_t rounds = 0, failed_rounds = 0, saved_writes = 0;
};

// A reply owed for a staged write (sent once its round is finished).
struct PersistReply {
  bool notify = false;  // WRITE_NOTIFY (status reply) or WRITE (ERROR on failure only)
  std::uint16_t dbr_type = 0;
  std::uint32_t count = 0, ioid = 0, cid = 0;
  std::vector<std::uint8_t> header;  // the WRITE's header, for its ERROR
  std::vector<std::uint8_t> ready;   // a reply already made (a refused request): sent as is, in its turn
};

constexpr std::size_t kPutRing = 64;  // put-log entries kept for `ca puts`

struct Channel {
  Circuit* circuit = nullptr;
  Pv* pv = nullptr;
  std::uint32_t cid = 0;
  std::uint32_t sid = 0;
  std::uint32_t rights = 0;  // ACCESS_RIGHTS as sent
  ca_pv::Field field = ca_pv::Field::val;  // the record field it reads (".EGU"...); all but VAL read-only
  std::map<std::uint32_t, Monitor> monitors;  // by subscription ID
};

// A request waiting for a name provider's answer (ca_provided.cpp).
struct HeldSearch {  // a UDP SEARCH: answered from the socket it came in on
  udp::socket* sock = nullptr;
  udp::endpoint from;
  std::uint32_t search_id = 0, sequence = 0;
  std::uint16_t client_minor = 0;
  bool do_reply = false;
};
struct HeldCreate {  // a CREATE_CHAN (or a SEARCH over TCP) on a circuit
  Circuit* circuit = nullptr;
  std::uint32_t cid = 0;  // the CREATE_CHAN's cid, or the TCP SEARCH's search ID
  bool search = false;    // a SEARCH over TCP: a reply when found, nothing otherwise
};
using HeldRequest = std::variant<HeldSearch, HeldCreate>;

// The ca service as a NameProvider's consumer: the requests it holds, the
// names it serves for the provider. Registered by run() for its lifetime.
struct Provided final : NameConsumer {
  explicit Provided(Server& server);
  Server& s;
  static constexpr std::size_t kMaxHeld = 4096;  // more are not held: the client searches again
  PendingNames<HeldRequest> held{kMaxHeld};
  asio::steady_timer wake;  // provided_loop: the earliest hold may be sooner
  std::uint64_t searches_held = 0, creates_held = 0, answered = 0, failed = 0, expired = 0, refused_full = 0,
                lost_upstream = 0, provider_stops = 0, repeats = 0;
  void resolved(const std::string& name, bool connected) override;
  void update(const std::string& name, const ProvidedValue& value) override;
  void lost_name(const std::string& name, bool provider_there);
  void lost(const std::string& name) override { lost_name(name, true); }
  void provider_gone() override;
};

struct Server {
  Server(Context& c, const Settings& settings);  // ca_pvs.cpp: search.serves is the PV table
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  Context& ctx;
  const Settings& s;
  SearchSide search;  // the UDP side; its tcp_port is the circuits' port
  std::unordered_map<std::string, std::unique_ptr<Pv>> pvs;  // by PV name
  std::size_t circuits = 0;
  std::vector<Circuit*> open;  // every live circuit, for the console and dumps
  std::set<std::string> refused_addresses;  // logged once each (bounded below)
  std::uint64_t circuits_accepted = 0, circuits_refused = 0, malformed = 0;
  std::uint64_t descriptions_seen = 0;  // the bus's info_changes() when the PVs last took the descriptions
  std::uint64_t writes_seen = 0;    // the bus's writes().changes() when the channels' rights were last checked
  std::uint64_t rights_pushed = 0;  // ACCESS_RIGHTS sent again to open channels
  std::uint64_t squashed_closed = 0;  // squashed updates of circuits already closed
  std::uint64_t puts = 0, puts_unstored = 0;  // put-log entries; of which not in the store (no [store], not open)
  std::deque<store::PutRecord> put_ring;      // the last kPutRing, for `ca puts`
  Persist persist;                            // persist = true soft points' state file
  Provided provided;                          // names asked of a name provider (the gateway)
  // Circuits with output to send, in the order it was queued: one writer
  // (send_loop) sends for every circuit whose socket takes it at once, and
  // yields the loop after kSendSlice, so a burst fanned out to 100 circuits
  // is not 100 handlers in one pass of the loop (the ticker waited behind
  // them). A circuit whose socket is full goes to its own drain (slow).
  std::deque<Circuit*> to_send;
  asio::steady_timer send_wake;
  std::uint64_t sends = 0, slow_sends = 0;  // sends by the writer, and hand-overs to a circuit's own drain

  std::uint64_t squashed_total() const;
};

// A circuit closed: the requests it held are dropped (ca_provided.cpp).
void drop_held(Server& s, const Circuit& c);
// A provided PV's last channel closed: gone from the table, released at the provider.
void drop_provided(Server& s, Pv& pv);

struct Circuit {
  Server& server;
  tcp::socket sock;
  std::string peer;     // address:port, as `ca` and `ca trace` name the circuit
  std::string address;  // the peer's address alone: `ca clients` groups by it
  std::string user, host;
  std::uint16_t minor = 0;
  std::unordered_map<std::uint32_t, std::unique_ptr<Channel>> channels;  // by SID
  std::uint32_t next_sid = 1;
  std::vector<std::uint8_t> out;
  asio::steady_timer wake;
  asio::steady_timer room;  // serve_requests waits on it while `out` is at send_buffer (drain cancels it)
  bool closing = false;
  bool events_off = false;
  bool writing = false;  // a write is in progress or was cut short (the stream's framing is lost)
  bool queued = false;   // in server.to_send
  bool slow = false;     // its socket did not take all of `out` at once: its own drain writes until it is empty
  std::size_t out_logged = 0;  // bytes at the front of `out` already in the trace (sent in part by send_loop)
  bool channel_limit_logged = false;       // max_channels refusals are logged once per circuit
  bool subscription_limit_logged = false;  // max_subscriptions refusals likewise
  std::deque<std::pair<std::uint32_t, std::uint32_t>> pending;  // (sid, subscription ID) with an update due
  std::optional<DeviceWrite> device_write;  // set by handle(); serve_requests awaits it before the next request
  std::vector<PersistReply> persist_replies;  // staged writes of this circuit not yet answered
  std::shared_ptr<PersistWaiter> persist_waiter;  // theirs (null: none staged)
  std::vector<std::uint8_t> farewell;       // replies owed when a stop cut a device write short (sent before SERVER_DISCONN)
  std::uint64_t squashed = 0, bytes_in = 0, bytes_out = 0;
  std::array<TraceEntry, kTraceDepth> trace{};
  std::size_t traced = 0;  // messages recorded so far; the ring holds the last kTraceDepth

  void record(bool out_bound, const ca::Header& h) { trace[traced++ % kTraceDepth] = TraceEntry{out_bound, h}; }
  // Kept as monitors come and go (EVENT_ADD, EVENT_CANCEL, CLEAR_CHANNEL),
  // not counted: the counters each second and the console would otherwise
  // walk every channel of every circuit (100 x 1,000: a 2.4-3.5 ms slice).
  std::size_t subscription_count = 0;
  std::size_t subscriptions() const { return subscription_count; }

  Circuit(Server& srv, tcp::socket socket, std::string label)
      : server(srv), sock(std::move(socket)), peer(std::move(label)), address(peer.substr(0, peer.rfind(':'))),
        wake(sock.get_executor()), room(sock.get_executor()) {
    wake.expires_at(asio::steady_timer::time_point::max());
    room.expires_at(asio::steady_timer::time_point::max());
  }
  Circuit(const Circuit&) = delete;
  Circuit& operator=(const Circuit&) = delete;
  ~Circuit() {
    drop_held(server, *this);
    for (auto& [sid, ch] : channels) forget(*ch);
    if (queued) {
      auto& q = server.to_send;
      q.erase(std::remove(q.begin(), q.end(), this), q.end());
    }
  }

  // Output was added: send_loop sends it, or (slow, closing) the drain.
  void notify() {
    if (slow || closing) {
      wake.cancel();
      return;
    }
    if (queued) return;
    queued = true;
    if (server.to_send.empty()) server.send_wake.cancel();
    server.to_send.push_back(this);
  }
  bool extended_ok() const noexcept { return minor >= 9; }

  void forget(Channel& ch) {
    auto& list = ch.pv->channels;
    list.erase(std::remove(list.begin(), list.end(), &ch), list.end());
    if (list.empty() && ch.pv->provided) drop_provided(server, *ch.pv);
  }

  Channel* channel(std::uint32_t sid) {
    const auto it = channels.find(sid);
    return it == channels.end() ? nullptr : it->second.get();
  }
};

// ---- ca_settings.cpp
Settings read_settings(const ConfigSection& section, const ConfigSection& root, store::Store* store);
// `text` as an IPv4 address; with a section, a bad one fails at its `interfaces` key.
asio::ip::address_v4 interface_address(const std::string& text, const ConfigSection* section);

// ---- ca_live.cpp
// The live part of freshly read settings (settings.live is set to it).
std::shared_ptr<LiveSettings> make_live(const Settings& settings);
// Takes `next`'s rules into `live` and, when a run serves, sends every open
// channel whose rights changed its new ACCESS_RIGHTS at once.
void take_live(LiveSettings& live, const Settings& next);
// Marks `s` as the run serving `live` while it is alive.
class LiveRun {
public:
  explicit LiveRun(Server& s);
  ~LiveRun();
  LiveRun(const LiveRun&) = delete;
  LiveRun& operator=(const LiveRun&) = delete;

private:
  Server& s_;
};

// ---- ca_pvs.cpp
// The PV and field a client asked for ("NAME", "NAME.VAL", "NAME.EGU");
// pv null when not served (no such PV, or a field not served).
struct Target {
  Pv* pv = nullptr;
  ca_pv::Field field = ca_pv::Field::val;
};
Target find_target(Server& s, std::string_view requested);
Pv* find_pv(Server& s, std::string_view requested);  // find_target's PV, whatever the field
// What a channel reads: its PV's value, or its field's (built in `scratch`).
const ca::Value& channel_value(const Channel& ch, ca::Value& scratch);
// A request's count against the value: 0 is the current length (4.13).
std::uint32_t resolve_count(std::uint32_t requested, const ca::Value& value);
// The channel's element count as CREATE_CHAN gives it: its PV's max_count
// for VAL, 1 for a record field.
std::uint32_t native_count(const Channel& ch);
// A DBR payload for a reply or update, or the ECA code that refuses it
// (zeroed payload of the same shape, as RSRV sends): a count above
// `max_count` is ECA_BADCOUNT; up to it, elements past the value's length
// are zero (an array read with a fixed count, as EPICS pads).
std::pair<ca::Eca, std::vector<std::uint8_t>> payload_for(const Server& s, const ca::Value& value, std::uint16_t type,
                                                          std::uint32_t count, std::uint32_t max_count);
// A reading of a point: its PV created or updated, monitors told.
void on_reading(Server& s, const Reading& r);
// A provided PV's new value or metadata from its provider: monitors told.
void on_provided(Server& s, Pv& pv, const ProvidedValue& v);
// Every reading on the bus into on_reading, until cancelled.
asio::awaitable<void> feed(Server& s);

// ---- ca_monitors.cpp
// The payloads built for one event of one PV, shared by all its monitors
// (most ask for the same field, type and count): encoded once, copied into
// each circuit's output. Valid only while the PV's value does not change.
struct SharedPayloads {
  struct Entry {
    ca_pv::Field field;
    std::uint16_t dbr_type;
    std::uint32_t count;  // as the monitor asked (0: the current length)
    ca::Eca status;
    std::uint32_t resolved;  // the count sent
    std::vector<std::uint8_t> data;
  };
  std::vector<Entry> entries;
};
void queue_update(Circuit& c, Channel& ch, std::uint32_t subscription_id, const Monitor& m,
                  SharedPayloads* shared = nullptr);
void post_update(Circuit& c, Channel& ch, std::uint32_t subscription_id, Monitor& m, SharedPayloads* shared = nullptr);
void flush_pending(Circuit& c);

// ---- ca_writes.cpp
// The first matching access rule's rights; write only for a writable point's VAL.
std::uint32_t rights_for(const Server& s, const Pv& pv, ca_pv::Field field, const Circuit& c);
// ACCESS_RIGHTS again to every open channel whose rights changed (`why`
// for the log line); a monitor whose read right went gets one update with
// ECA_NORDACCESS and then none, one whose read right came back the value.
void refresh_rights(Server& s, std::string_view why = "the points' owner started, stopped or was reconfigured");
bool can_read(const Channel& ch);
// `device` set: the owner must answer (run_device_write); `staged`: a
// persist soft point's value waits for the disk (finish_persist_writes).
ca::Eca apply_write(Circuit& c, Channel& ch, std::uint16_t type, std::uint32_t count,
                    std::span<const std::uint8_t> data, std::string& why, std::optional<DeviceWrite>& device,
                    bool& staged);
// A soft point's new value: published, and taken by its PV at once.
void publish_soft(Server& s, Pv& pv, weft::Value value);
// The PV's value as the put log shows it: a scalar as text (with PREC),
// an array as "[1.5, 2, ... (N elements)]" (its first 8 elements).
std::string value_text(const Pv& pv);
void put_log(Server& s, const std::string& who, const std::string& peer, const Pv& pv, const std::string& old_text,
             const std::string& new_text, const std::string& result);
asio::awaitable<void> run_device_write(Circuit& c);

// ---- ca_persist.cpp
// The saved values of persist = true soft points, by point name, read off
// the loop; a damaged file is logged and moved aside (then: none).
asio::awaitable<std::map<std::string, weft::Value>> restore_soft_points(Server& s);
// Stages a persist soft point's write (applied once durable).
void stage_write(Server& s, Circuit& c, Pv& pv, weft::Value value, std::string note);
// The request is a write to a persist soft point on this circuit: it joins the waiting batch.
bool joins_persist_batch(Circuit& c, const ca::Request& request);
// Waits until this circuit's staged writes are durable (or failed) and
// sends their replies. A stop answers WRITE_NOTIFY with ECA_PUTFAIL in the
// farewell and rethrows.
asio::awaitable<void> finish_persist_writes(Circuit& c);
// While writes wait in the batch, a request that did not join it (refused
// at once) has its reply, the bytes `c.out` gained since `out_before`, held
// behind theirs: replies go out in request order.
void hold_reply(Circuit& c, std::size_t out_before);
asio::awaitable<void> persist_loop(Server& s);

// ---- ca_provided.cpp
// SearchSide::provide: a UDP SEARCH for a name not served.
Provide provide_search(Server& s, const ca::Search& q, udp::socket& sock, const udp::endpoint& from,
                       std::uint32_t sequence);
// A provided name's PV: from the table, or made from the provider's value
// (and held there); null when the provider has none.
Pv* provided_pv(Server& s, const std::string& name);
// A CREATE_CHAN (or TCP SEARCH: `search`) for a name the table lacks:
// true when answered now or held (answered later), false when not served.
bool provide_on_circuit(Circuit& c, const std::string& name, std::uint32_t cid, bool search);
// Held requests past their hold time dropped (NOT_FOUND to DO_REPLY, CREATE_CH_FAIL), until cancelled.
asio::awaitable<void> provided_loop(Server& s);

// ---- ca_requests.cpp
// A channel to `target` opened on `c` for `cid`: ACCESS_RIGHTS, the CREATE_CHAN reply.
void open_channel(Circuit& c, std::uint32_t cid, const Target& target);
// ERROR for the request in `f` (its header copied verbatim, pitfall 17).
void send_error(Circuit& c, const ca::Frame& f, std::uint32_t cid, ca::Eca status, const std::string& text);
bool handle(Circuit& c, const ca::Frame& f, const ca::Request& request);

// ---- ca_circuit.cpp
std::string who(const Circuit& c);
// The writer for every circuit's output (Server::to_send), until cancelled.
constexpr std::chrono::microseconds kSendSlice{200};
asio::awaitable<void> send_loop(Server& s);
std::string ca_label(const ca::Header& h);
asio::awaitable<void> accept_loop(Server& s, tcp::acceptor& acceptor, TaskGroup& circuits);

// ---- ca_udp.cpp
asio::awaitable<void> search_loop(SearchSide& side, udp::socket& sock);
asio::awaitable<void> beacon_loop(const SearchSide& side, udp::socket& sock, std::uint16_t repeater_port,
                                  Duration beacon_period);

// ---- ca_console.cpp
// Keep these in run()'s frame after the Server (their handlers read it).
std::vector<CommandRegistration> register_commands(Server& s);
DumpSectionHandle add_dump_section(Server& s);
asio::awaitable<void> publish_counters(Server& s);

}  // namespace weft::apps::ca_server
