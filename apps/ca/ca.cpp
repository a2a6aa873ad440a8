// ca: every point on the bus as an EPICS Channel Access PV, for caget,
// camonitor, pyepics and the rest (issue 13). One UDP socket per interface
// answers SEARCH for the PVs it serves and sends beacons; one TCP listener per
// interface accepts circuits. Everything runs on the loop; the codec is
// drivers/ca (pure functions), so the gateway reuses it.
//
// [service.ca]
//   port = 5064                  # UDP search and TCP circuits (0: any free TCP port, UDP still needs one)
//   interfaces = []              # IPv4 addresses to bind; empty: all (0.0.0.0)
//   device = "<hostname>"        # PV names are "{device}:{point}", '.' in points mapped to ':'
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
//   type = "number"              # number, integer, text, bool, enum (+ strings = [...])
//   initial = 0.0
//   writable = false             # and an access rule must grant write
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
// the store's writer thread) and `ca puts`. Not built yet (issue 13):
// persisted soft points, point metadata from the config (units, limits,
// deadbands), the record fields other than VAL.
//
// Console: `ca puts [N]` (the last writes), `ca` (circuits, channels, subscriptions, squashed updates, bytes),
// `ca clients` (the same totals per client user@host and address),
// `ca pv NAME`, `ca trace CLIENT` (the last 64 messages of a circuit, also in
// dumps); counters as weft.ca.* points each second.
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fmt/chrono.h>
#include <array>
#include <deque>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "weft/apps/assembly/catalog.hpp"
#include "weft/apps/ca/ca_pv.hpp"
#include "weft/core/commands.hpp"
#include "weft/core/context.hpp"
#include "weft/core/dump.hpp"
#include "weft/core/point_writes.hpp"
#include "weft/core/task_group.hpp"
#include "weft/drivers/ca/convert.hpp"
#include "weft/drivers/ca/messages.hpp"
#include "weft/drivers/store/store.hpp"

namespace weft::apps {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using asio::ip::tcp;
using asio::ip::udp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// A setpoint or parameter of the box itself ([[soft_point]]): published on
// the bus at start and on every accepted CA write.
struct SoftPoint {
  std::string name;                  // the point name on the bus
  ca::ValueType type = ca::ValueType::float64;
  std::vector<std::string> strings;  // enum state names (type enumerated)
  weft::Value initial;
  bool is_bool = false;              // a bool point: ENUM "false"/"true" on the wire, bool on the bus
  bool writable = false;
};

// [[service.ca.access]]: first match wins; no match is read-only.
struct AccessRule {
  std::string pv = "*", host = "*", user = "*";  // fnmatch globs
  std::uint32_t rights = ca::access_read;
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
  std::vector<AccessRule> access;
  store::Store* store = nullptr;  // the put log's table ([store]); null: the put log is in the log only
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
  std::optional<PointInfo> info;    // the owner's description (unit, precision), when it gave one
  ca::Value value;
  std::vector<Channel*> channels;  // every open channel to this PV, on any circuit
};

// A write to the hardware, checked and converted, waiting for its owner's
// answer (run_device_write); the request's fields for the reply.
struct DeviceWrite {
  Pv* pv = nullptr;
  weft::Value value;
  std::string old_text, new_text;  // for the put log
  bool notify = false;             // WRITE_NOTIFY (reply with the status) or WRITE (ERROR on failure)
  std::uint16_t dbr_type = 0;
  std::uint32_t count = 0;
  std::uint32_t ioid = 0;
  std::uint32_t cid = 0;
  std::vector<std::uint8_t> header;  // the WRITE's header, copied into its ERROR
};

constexpr std::size_t kPutRing = 64;  // put-log entries kept for `ca puts`

struct Channel {
  Circuit* circuit = nullptr;
  Pv* pv = nullptr;
  std::uint32_t cid = 0;
  std::uint32_t sid = 0;
  std::uint32_t rights = 0;  // ACCESS_RIGHTS as sent
  std::map<std::uint32_t, Monitor> monitors;  // by subscription ID
};

struct Server {
  Server(Context& c, const Settings& settings) : ctx(c), s(settings) {}
  Context& ctx;
  const Settings& s;
  std::uint16_t tcp_port = 0;
  std::unordered_map<std::string, std::unique_ptr<Pv>> pvs;  // by PV name
  std::size_t circuits = 0;
  std::vector<Circuit*> open;  // every live circuit, for the console and dumps
  std::set<std::string> refused_addresses;  // logged once each (bounded below)
  std::uint64_t searches = 0, search_hits = 0, circuits_accepted = 0, circuits_refused = 0, malformed = 0;
  std::uint64_t squashed_closed = 0;  // squashed updates of circuits already closed
  std::uint64_t puts = 0, puts_unstored = 0;  // put-log entries; of which not in the store (no [store], not open)
  std::deque<store::PutRecord> put_ring;      // the last kPutRing, for `ca puts`

  std::uint64_t squashed_total() const;
};

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
  bool channel_limit_logged = false;       // max_channels refusals are logged once per circuit
  bool subscription_limit_logged = false;  // max_subscriptions refusals likewise
  std::deque<std::pair<std::uint32_t, std::uint32_t>> pending;  // (sid, subscription ID) with an update due
  std::optional<DeviceWrite> device_write;  // set by handle(); serve_requests awaits it before the next request
  std::vector<std::uint8_t> farewell;       // replies owed when a stop cut a device write short (sent before SERVER_DISCONN)
  std::uint64_t squashed = 0, bytes_in = 0, bytes_out = 0;
  std::array<TraceEntry, kTraceDepth> trace{};
  std::size_t traced = 0;  // messages recorded so far; the ring holds the last kTraceDepth

  void record(bool out_bound, const ca::Header& h) { trace[traced++ % kTraceDepth] = TraceEntry{out_bound, h}; }
  std::size_t subscriptions() const {
    std::size_t n = 0;
    for (const auto& [sid, ch] : channels) n += ch->monitors.size();
    return n;
  }

  Circuit(Server& srv, tcp::socket socket, std::string label)
      : server(srv), sock(std::move(socket)), peer(std::move(label)), address(peer.substr(0, peer.rfind(':'))),
        wake(sock.get_executor()), room(sock.get_executor()) {
    wake.expires_at(asio::steady_timer::time_point::max());
    room.expires_at(asio::steady_timer::time_point::max());
  }
  Circuit(const Circuit&) = delete;
  Circuit& operator=(const Circuit&) = delete;
  ~Circuit() {
    for (auto& [sid, ch] : channels) forget(*ch);
  }

  void notify() { wake.cancel(); }
  bool extended_ok() const noexcept { return minor >= 9; }

  void forget(Channel& ch) {
    auto& list = ch.pv->channels;
    list.erase(std::remove(list.begin(), list.end(), &ch), list.end());
  }

  Channel* channel(std::uint32_t sid) {
    const auto it = channels.find(sid);
    return it == channels.end() ? nullptr : it->second.get();
  }
};

std::uint64_t Server::squashed_total() const {
  std::uint64_t n = squashed_closed;
  for (const Circuit* c : open) n += c->squashed;
  return n;
}

// The client's claimed user@host ("?" for a name not sent yet).
std::string who(const Circuit& c) {
  return (c.user.empty() ? "?" : c.user) + "@" + (c.host.empty() ? "?" : c.host);
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "weft";
  return buf;
}

std::string ca_label(const ca::Header& h) {
  const std::string_view name = ca::to_string(static_cast<ca::Command>(h.command));
  return name == "unknown" ? "command " + std::to_string(h.command) : std::string(name);
}

// ---- the PVs ---------------------------------------------------------------

Pv* find_pv(Server& s, std::string_view requested) {
  const ca_pv::FieldRef ref = ca_pv::split_field(requested);
  if (ref.field != "VAL") return nullptr;
  const auto it = s.pvs.find(ref.pv);
  return it == s.pvs.end() ? nullptr : it->second.get();
}

// Resolves a request's count against the PV: 0 is the current length (4.13).
std::uint32_t resolve_count(std::uint32_t requested, const Pv& pv) {
  return requested == 0 ? static_cast<std::uint32_t>(std::max<std::size_t>(1, pv.value.size())) : requested;
}

// A DBR payload for a reply or update, or the ECA code that refuses it
// (zeroed payload of the same shape, as RSRV sends).
std::pair<ca::Eca, std::vector<std::uint8_t>> payload_for(const Server& s, const Pv& pv, std::uint16_t type,
                                                          std::uint32_t count) {
  if (count > std::max<std::size_t>(1, pv.value.size())) {
    return {ca::Eca::badcount, std::vector<std::uint8_t>(ca::dbr_payload_size(type, 1).value_or(0), 0)};
  }
  auto encoded = ca::encode_dbr(type, count, pv.value, s.s.limits);
  if (auto* e = std::get_if<ca::Error>(&encoded)) {
    return {ca::to_eca(e->code), std::vector<std::uint8_t>(ca::dbr_payload_size(type, count).value_or(0), 0)};
  }
  return {ca::Eca::normal, std::move(std::get<std::vector<std::uint8_t>>(encoded))};
}

void queue_update(Circuit& c, Channel& ch, std::uint32_t subscription_id, const Monitor& m) {
  const std::uint32_t count = resolve_count(m.count, *ch.pv);
  auto [status, data] = payload_for(c.server, *ch.pv, m.dbr_type, count);
  ca::encode(c.out, ca::EventUpdate{m.dbr_type, status == ca::Eca::badcount ? 1 : count, status, subscription_id,
                                    std::move(data)},
             c.extended_ok());
  c.notify();
}

// An event for one monitor: sent now, or marked due when the circuit is full
// or flow-controlled (a second event while due is squashed into it).
void post_update(Circuit& c, Channel& ch, std::uint32_t subscription_id, Monitor& m) {
  if (c.events_off || c.out.size() >= c.server.s.send_buffer) {
    if (m.pending) {
      ++c.squashed;
    } else {
      m.pending = true;
      c.pending.emplace_back(ch.sid, subscription_id);
    }
    return;
  }
  queue_update(c, ch, subscription_id, m);
}

// Sends due updates while there is room; what is left stays due.
void flush_pending(Circuit& c) {
  while (!c.events_off && !c.pending.empty() && c.out.size() < c.server.s.send_buffer) {
    const auto [sid, subscription_id] = c.pending.front();
    c.pending.pop_front();
    Channel* ch = c.channel(sid);
    if (ch == nullptr) continue;
    const auto it = ch->monitors.find(subscription_id);
    if (it == ch->monitors.end() || !it->second.pending) continue;
    it->second.pending = false;
    queue_update(c, *ch, subscription_id, it->second);
  }
}

ca::Value soft_value(const SoftPoint* soft, const Reading& r, ca::ValueType native) {
  ca::Value v = ca_pv::to_ca(r, native);
  if (soft != nullptr && soft->type == ca::ValueType::enumerated && !soft->is_bool) v.meta.enum_strings = soft->strings;
  return v;
}

// EGU and PREC from the point's description (PREC only for numbers that are not integers).
void apply_info(ca::Value& v, const std::optional<PointInfo>& info) {
  if (!info) return;
  v.meta.units = info->unit;
  if (v.type == ca::ValueType::float64 || v.type == ca::ValueType::float32) {
    if (info->precision) v.meta.precision = static_cast<std::int16_t>(*info->precision);
  }
}

void on_reading(Server& s, const Reading& r) {
  const std::string name = ca_pv::pv_name(s.s.device, r.point);
  auto& slot = s.pvs[name];
  if (!slot) {
    slot = std::make_unique<Pv>();
    slot->name = name;
    slot->point = r.point;
    for (const SoftPoint& sp : s.s.soft_points) {
      if (sp.name == r.point) slot->soft = &sp;
    }
    if (const PointInfo* info = s.ctx.bus().info(r.point)) slot->info = *info;
    slot->value = soft_value(slot->soft, r, slot->soft ? slot->soft->type : ca_pv::native_type(r.value));
    apply_info(slot->value, slot->info);
    return;
  }
  Pv& pv = *slot;
  ca::Value next = soft_value(pv.soft, r, pv.value.type);
  apply_info(next, pv.info);
  const std::uint16_t events = ca_pv::events_between(pv.value, next);
  pv.value = std::move(next);
  if (events == 0) return;
  for (Channel* ch : pv.channels) {
    for (auto& [id, m] : ch->monitors) {
      if ((m.mask & events) != 0) post_update(*ch->circuit, *ch, id, m);
    }
  }
}

asio::awaitable<void> feed(Server& s) {
  Subscription sub = s.ctx.subscribe("*", 65536);
  for (const Reading* r : s.ctx.bus().latest_matching("*")) on_reading(s, *r);
  std::uint64_t reported = 0;
  for (;;) {
    const Reading r = co_await sub.receive();
    if (sub.dropped() != reported) {
      s.ctx.log().warn("ca: {} readings dropped: the PV feed fell behind the bus", sub.dropped() - reported);
      reported = sub.dropped();
    }
    on_reading(s, r);
  }
}

// ---- requests on a circuit -------------------------------------------------

void send_error(Circuit& c, const ca::Frame& f, std::uint32_t cid, ca::Eca status, const std::string& text) {
  ca::encode(c.out, ca::ErrorMessage{cid, status, std::vector<std::uint8_t>(f.header_bytes.begin(), f.header_bytes.end()),
                                     text});
  c.notify();
}

// A writable soft point, or a point whose owner takes writes (gather's `writable = true` registers).
bool writable(const Server& s, const Pv& pv) {
  if (pv.soft != nullptr) return pv.soft->writable;
  return s.ctx.bus().writes().find(pv.point) != nullptr;
}

// First matching rule wins; none: read-only. Write only for writable points.
std::uint32_t rights_for(const Server& s, const Pv& pv, const Circuit& c) {
  std::uint32_t rights = ca::access_read;
  for (const AccessRule& rule : s.s.access) {
    const bool match = ::fnmatch(rule.pv.c_str(), pv.name.c_str(), 0) == 0 &&
                       ::fnmatch(rule.host.c_str(), c.host.c_str(), FNM_CASEFOLD) == 0 &&
                       ::fnmatch(rule.user.c_str(), c.user.c_str(), 0) == 0;
    if (match) {
      rights = rule.rights;
      break;
    }
  }
  if (!writable(s, pv)) rights &= ~ca::access_write;
  return rights;
}

// The put log: every write attempt, allowed or refused, is one line in the
// log and (with a [store]) one row of the store's put_log table, written by
// the store's writer thread (never SQLite here); the last kPutRing are kept
// for `ca puts`.
void put_log(Server& s, const Circuit& c, const Pv& pv, const std::string& old_text, const std::string& new_text,
             const std::string& result) {
  s.ctx.log().info("ca: put {} by {} ({}): {} -> {}: {}", pv.name, who(c), c.peer, old_text, new_text, result);
  store::PutRecord r;
  r.wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
                  .count();
  r.who = who(c);
  r.peer = c.peer;
  r.pv = pv.name;
  r.old_value = old_text;
  r.new_value = new_text;
  r.result = result;
  ++s.puts;
  if (s.s.store != nullptr && s.s.store->accepting()) {
    s.s.store->append_put(r);
  } else {
    ++s.puts_unstored;
  }
  s.put_ring.push_back(std::move(r));
  if (s.put_ring.size() > kPutRing) s.put_ring.pop_front();
}

std::string value_text(const ca::Elements& elements, ca::ValueType type, const ca::Metadata& meta) {
  auto t = ca::convert_elements(elements, type, ca::ValueType::string, meta);
  auto* e = std::get_if<ca::Elements>(&t);
  return e ? std::get<std::vector<std::string>>(*e).front() : std::string("?");
}

// A CA write to a PV: checked (rights, type, count), decoded and converted
// to the PV's type. A soft point is set at once (a read that follows on the
// circuit sees it) and published on the bus. A point with an owner on the
// bus's PointWrites (a writable Modbus register) becomes `device`: the
// circuit then waits for the owner's answer before it takes its next
// request (run_device_write). Every refusal here is one put-log entry.
ca::Eca apply_write(Circuit& c, Channel& ch, std::uint16_t type, std::uint32_t count,
                    std::span<const std::uint8_t> data, std::string& why, std::optional<DeviceWrite>& device) {
  Server& s = c.server;
  Pv& pv = *ch.pv;
  const std::string old_text = value_text(pv.value.elements, pv.value.type, pv.value.meta);
  auto refuse = [&](std::string result, ca::Eca status) {
    put_log(s, c, pv, old_text, "?", result);
    return status;
  };
  if ((ch.rights & ca::access_write) == 0) {
    why = pv.name + (writable(s, pv) ? " is not writable by this client (access rules)"
                                     : " is read-only (its point is not configured writable = true)");
    return refuse("refused (no write access)", ca::Eca::nowtaccess);
  }
  if (type > 6) {
    why = "write with " + ca::dbr_name(type) + ": only plain types 0..6 are accepted";
    return refuse("refused (bad type)", ca::Eca::badtype);
  }
  if (count != 1) {
    why = "write of " + std::to_string(count) + " elements to a scalar";
    return refuse("refused (bad count)", ca::Eca::badcount);
  }
  const auto decoded = ca::decode_dbr(type, count, data, s.s.limits);
  if (const auto* e = std::get_if<ca::Error>(&decoded)) {
    why = e->message();
    return refuse("refused (" + why + ")", ca::to_eca(e->code));
  }
  const ca::Decoded& d = std::get<ca::Decoded>(decoded);
  const auto converted = ca::convert_elements(d.value.elements, d.value.type, pv.value.type, pv.value.meta);
  if (const auto* e = std::get_if<ca::Error>(&converted)) {
    why = e->message();
    return refuse("refused (" + why + ")", ca::Eca::noconvert);
  }
  const ca::Elements& el = std::get<ca::Elements>(converted);
  const std::string new_text = value_text(el, pv.value.type, pv.value.meta);
  if (pv.soft == nullptr) {  // the hardware's: its owner writes it (rights said it has one)
    weft::Value value;
    if (const auto* texts = std::get_if<std::vector<std::string>>(&el)) {
      value = texts->front();
    } else {
      const double n = std::get<std::vector<double>>(el).front();
      if (pv.value.type == ca::ValueType::enumerated && (n == 0 || n == 1)) value = n == 1;
      else if (pv.value.type == ca::ValueType::int32) value = static_cast<std::int64_t>(n);
      else value = n;
    }
    device.emplace();
    device->pv = &pv;
    device->value = std::move(value);
    device->old_text = old_text;
    device->new_text = new_text;
    return ca::Eca::normal;
  }
  const SoftPoint& sp = *pv.soft;
  weft::Value value;
  if (const auto* texts = std::get_if<std::vector<std::string>>(&el)) {
    value = texts->front();
  } else {
    const double n = std::get<std::vector<double>>(el).front();
    if (sp.is_bool) {
      value = n != 0;
    } else if (sp.type == ca::ValueType::enumerated) {
      if (n >= static_cast<double>(sp.strings.size())) {
        why = "state " + ca::format_number(n, true, std::nullopt) + " of " + pv.name + " is not one of its " +
              std::to_string(sp.strings.size()) + " states";
        return refuse("refused (" + why + ")", ca::Eca::putfail);
      }
      value = static_cast<std::int64_t>(n);
    } else if (sp.type == ca::ValueType::int32) {
      value = static_cast<std::int64_t>(n);
    } else {
      value = n;
    }
  }
  Reading r;
  r.point = pv.point;
  r.value = value;
  r.wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  on_reading(s, r);  // now, so the circuit's next read sees it; the bus copy then changes nothing
  s.ctx.publish(pv.point, std::move(value));
  put_log(s, c, pv, old_text, value_text(pv.value.elements, pv.value.type, pv.value.meta), "ok");
  return ca::Eca::normal;
}

// A write to the hardware, answered by the point's owner (gather): the
// circuit takes no further request until the answer came or write_timeout
// passed, so a read that follows sees the device's read-back. The client
// always gets an answer: WRITE_NOTIFY its status, a failed WRITE an ERROR
// with the owner's text (the Modbus error). A stop while waiting answers
// ECA_PUTFAIL in the circuit's farewell, before SERVER_DISCONN.
asio::awaitable<void> run_device_write(Circuit& c) {
  DeviceWrite w = std::move(*c.device_write);
  c.device_write.reset();
  Server& s = c.server;
  Pv& pv = *w.pv;
  ca::Eca status = ca::Eca::normal;
  std::string why;
  PointWriter* writer = s.ctx.bus().writes().find(pv.point);
  if (writer == nullptr) {
    status = ca::Eca::putfail;
    why = pv.name + ": nothing accepts writes to point " + pv.point + " now (is gather running?)";
  } else {
    auto request = std::make_shared<PendingWrite>(pv.point, w.value, "ca " + who(c) + " (" + c.peer + ")");
    writer->submit(request);
    bool stopped = false;
    WriteOutcome outcome;
    try {
      outcome = co_await request->wait(s.s.write_timeout);
    } catch (const boost::system::system_error&) {
      stopped = true;
    }
    if (stopped) {
      put_log(s, c, pv, w.old_text, w.new_text,
              "failed: the ca service stopped before the device answered (the write may have reached it)");
      if (w.notify) ca::encode(c.farewell, ca::WriteNotifyReply{w.dbr_type, w.count, ca::Eca::putfail, w.ioid});
      throw boost::system::system_error(asio::error::operation_aborted, "ca device write");
    }
    if (!outcome.ok) {
      status = ca::Eca::putfail;
      why = outcome.error;
    }
  }
  if (status == ca::Eca::normal) {
    // The owner read the point back before it answered: take that reading now
    // (the feed may not have run yet), so a read that follows sees it.
    if (const Reading* r = s.ctx.bus().latest(pv.point)) on_reading(s, *r);
    put_log(s, c, pv, w.old_text, w.new_text, "ok");
  } else {
    put_log(s, c, pv, w.old_text, w.new_text, "failed: " + why);
  }
  if (w.notify) {
    ca::encode(c.out, ca::WriteNotifyReply{w.dbr_type, w.count, status, w.ioid});
  } else if (status != ca::Eca::normal) {
    ca::encode(c.out, ca::ErrorMessage{w.cid, status, std::move(w.header), why});
  }
  c.notify();
}

// Handles one decoded request; false closes the circuit.
bool handle(Circuit& c, const ca::Frame& f, const ca::Request& request) {
  Server& s = c.server;
  if (const auto* v = std::get_if<ca::Version>(&request)) {
    if (v->flags > ca::max_priority) {
      s.ctx.log().warn("ca: circuit {}: priority {} above 99; closing it", c.peer, v->flags);
      return false;
    }
    c.minor = std::min(v->minor, ca::minor_version);
    return true;
  }
  if (const auto* n = std::get_if<ca::ClientName>(&request)) {
    c.user = n->name;
    return true;
  }
  if (const auto* n = std::get_if<ca::HostName>(&request)) {
    c.host = n->name;
    return true;
  }
  if (std::holds_alternative<ca::Echo>(request)) {
    ca::encode(c.out, ca::Echo{});
    c.notify();
    return true;
  }
  if (std::holds_alternative<ca::ReadSync>(request)) {
    ca::encode(c.out, ca::ReadSync{});
    c.notify();
    return true;
  }
  if (std::holds_alternative<ca::EventsOff>(request)) {
    c.events_off = true;
    return true;
  }
  if (std::holds_alternative<ca::EventsOn>(request)) {
    c.events_off = false;
    flush_pending(c);
    return true;
  }
  if (const auto* search = std::get_if<ca::Search>(&request)) {  // over TCP (4.12 name servers)
    if (find_pv(s, search->name) != nullptr) {
      ca::encode(c.out, ca::SearchReply{s.tcp_port, ca::search_reply_use_sender, search->search_id, 0});
      // RSRV sends no payload over TCP; the encoder's 8 bytes carry minor 0, which libca ignores there.
      c.notify();
    }
    return true;
  }
  if (const auto* create = std::get_if<ca::CreateChan>(&request)) {
    if (create->client_minor != 0) c.minor = std::min(c.minor == 0 ? create->client_minor : c.minor, ca::minor_version);
    Pv* pv = find_pv(s, create->name);
    if (pv == nullptr || c.channels.size() >= s.s.max_channels) {
      if (pv != nullptr && !std::exchange(c.channel_limit_logged, true)) {
        s.ctx.log().warn("ca: circuit {} ({}): {} channels open ([service.ca] max_channels); refusing {} with "
                         "CREATE_CH_FAIL; further refusals on this circuit are not logged",
                         c.peer, who(c), s.s.max_channels, create->name);
      }
      ca::encode(c.out, ca::CreateChFail{create->cid});
      c.notify();
      return true;
    }
    std::uint32_t sid = c.next_sid;
    while (c.channels.contains(sid)) ++sid;  // IDs wrap; skip those in use
    c.next_sid = sid + 1;
    auto ch = std::make_unique<Channel>();
    ch->circuit = &c;
    ch->pv = pv;
    ch->cid = create->cid;
    ch->sid = sid;
    pv->channels.push_back(ch.get());
    c.channels.emplace(sid, std::move(ch));
    c.channels.at(sid)->rights = rights_for(s, *pv, c);
    ca::encode(c.out, ca::AccessRights{create->cid, c.channels.at(sid)->rights});
    ca::encode(c.out, ca::CreateChanReply{create->cid, sid, static_cast<std::uint16_t>(pv->value.type),
                                          static_cast<std::uint32_t>(std::max<std::size_t>(1, pv->value.size()))});
    c.notify();
    return true;
  }
  if (const auto* clear = std::get_if<ca::ClearChannel>(&request)) {
    Channel* ch = c.channel(clear->sid);
    if (ch == nullptr) {
      send_error(c, f, clear->cid, ca::Eca::badchid, "no channel with SID " + std::to_string(clear->sid));
      return true;
    }
    c.forget(*ch);
    c.channels.erase(clear->sid);
    ca::encode(c.out, ca::ClearChannelReply{clear->sid, clear->cid});
    c.notify();
    return true;
  }
  if (const auto* read = std::get_if<ca::ReadNotify>(&request)) {
    Channel* ch = c.channel(read->sid);
    if (ch == nullptr) {
      send_error(c, f, ca::no_cid, ca::Eca::badchid, "no channel with SID " + std::to_string(read->sid));
      return true;
    }
    const std::uint32_t count = resolve_count(read->count, *ch->pv);
    auto [status, data] = payload_for(s, *ch->pv, read->dbr_type, count);
    if (!ca::encode(c.out, ca::ReadNotifyReply{read->dbr_type, status == ca::Eca::badcount ? 1 : count, status,
                                               read->ioid, std::move(data)},
                    c.extended_ok())) {
      send_error(c, f, ch->cid, ca::Eca::k16karrayclient, "reply needs the extended header (client below 4.9)");
    }
    c.notify();
    return true;
  }
  if (const auto* add = std::get_if<ca::EventAdd>(&request)) {
    Channel* ch = c.channel(add->sid);
    if (ch == nullptr) {
      send_error(c, f, ca::no_cid, ca::Eca::badchid, "no channel with SID " + std::to_string(add->sid));
      return true;
    }
    if (ch->monitors.size() >= s.s.max_subscriptions && !ch->monitors.contains(add->subscription_id)) {
      if (!std::exchange(c.subscription_limit_logged, true)) {
        s.ctx.log().warn("ca: circuit {} ({}): {} subscriptions on {} ([service.ca] max_subscriptions); refusing "
                         "more with ECA_ALLOCMEM; further refusals on this circuit are not logged",
                         c.peer, who(c), s.s.max_subscriptions, ch->pv->name);
      }
      send_error(c, f, ch->cid, ca::Eca::allocmem,
                 "subscription limit of " + std::to_string(s.s.max_subscriptions) + " per channel reached");
      return true;
    }
    Monitor& m = ch->monitors[add->subscription_id];
    m = Monitor{add->dbr_type, add->count, add->mask, false};
    queue_update(c, *ch, add->subscription_id, m);  // the initial update, at once
    return true;
  }
  if (const auto* cancel = std::get_if<ca::EventCancel>(&request)) {
    Channel* ch = c.channel(cancel->sid);
    if (ch == nullptr || !ch->monitors.contains(cancel->subscription_id)) {
      send_error(c, f, ch ? ch->cid : ca::no_cid, ch ? ca::Eca::badmonid : ca::Eca::badchid,
                 "no subscription " + std::to_string(cancel->subscription_id));
      return true;
    }
    const Monitor m = ch->monitors[cancel->subscription_id];
    ch->monitors.erase(cancel->subscription_id);
    ca::encode(c.out, ca::EventCancelReply{m.dbr_type, m.count, cancel->sid, cancel->subscription_id});
    c.notify();
    return true;
  }
  if (const auto* write = std::get_if<ca::Write>(&request)) {
    Channel* ch = c.channel(write->sid);
    if (ch == nullptr) {
      send_error(c, f, write->cid, ca::Eca::badchid, "no channel with SID " + std::to_string(write->sid));
      return true;
    }
    std::string why;
    std::optional<DeviceWrite> device;
    const ca::Eca status = apply_write(c, *ch, write->dbr_type, write->count, write->data, why, device);
    if (status != ca::Eca::normal) send_error(c, f, ch->cid, status, why);
    if (device) {
      device->cid = ch->cid;
      device->header.assign(f.header_bytes.begin(), f.header_bytes.end());
      c.device_write = std::move(device);
    }
    return true;
  }
  if (const auto* write = std::get_if<ca::WriteNotify>(&request)) {
    Channel* ch = c.channel(write->sid);
    if (ch == nullptr) {
      send_error(c, f, ca::no_cid, ca::Eca::badchid, "no channel with SID " + std::to_string(write->sid));
      return true;
    }
    std::string why;
    std::optional<DeviceWrite> device;
    const ca::Eca status = apply_write(c, *ch, write->dbr_type, write->count, write->data, why, device);
    if (device) {  // answered once the device has (run_device_write)
      device->notify = true;
      device->dbr_type = write->dbr_type;
      device->count = write->count;
      device->ioid = write->ioid;
      device->cid = ch->cid;
      c.device_write = std::move(device);
      return true;
    }
    ca::encode(c.out, ca::WriteNotifyReply{write->dbr_type, write->count, status, write->ioid});
    c.notify();
    return true;
  }
  if (std::holds_alternative<ca::Read>(request)) {
    send_error(c, f, ca::no_cid, ca::Eca::defunct, "READ (3) is obsolete; use READ_NOTIFY");
    return true;
  }
  return true;
}

void log_in(Circuit& c, const ca::Frame& f) {
  c.record(false, f.header);
  auto& log = c.server.ctx.log();
  if (!log.should_log(spdlog::level::debug)) return;
  log.debug("ca: {} <- {} size {} type {} count {} p1 {} p2 {}", c.peer, ca_label(f.header), f.header.payload_size,
            f.header.data_type, f.header.data_count, f.header.p1, f.header.p2);
}

// Our own messages, for the trace ring and the debug log. We built them, so
// the scan cannot fail; the limit is only what the scanner needs.
void log_out(Circuit& c, std::span<const std::uint8_t> bytes) {
  auto& log = c.server.ctx.log();
  const bool debug = log.should_log(spdlog::level::debug);
  const ca::Limits any{.max_array_bytes = 0xFFFF0000u};
  while (!bytes.empty()) {
    const auto scanned = ca::scan_frame(bytes, any);
    if (!std::holds_alternative<ca::Frame>(scanned)) break;
    const ca::Frame& f = std::get<ca::Frame>(scanned);
    c.record(true, f.header);
    if (debug) {
      log.debug("ca: {} -> {} size {} type {} count {} p1 {} p2 {}", c.peer, ca_label(f.header), f.header.payload_size,
                f.header.data_type, f.header.data_count, f.header.p1, f.header.p2);
    }
    bytes = bytes.subspan(f.length);
  }
}

asio::awaitable<void> serve_requests(Circuit& c) {
  Server& s = c.server;
  std::vector<std::uint8_t> in;
  std::array<std::uint8_t, 16384> chunk;
  while (!c.closing) {
    auto [ec, n] = co_await c.sock.async_read_some(asio::buffer(chunk), kTuple);
    if (ec) break;
    c.bytes_in += n;
    in.insert(in.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    std::size_t at = 0;
    bool keep = true;
    while (keep) {
      // Replies to requests (READ_NOTIFY, CREATE_CHAN, ...) are not
      // squashed like monitor updates: while the output is at send_buffer,
      // no more requests are taken (the client's own TCP window then
      // pushes back), so memory per circuit stays bounded even for a
      // client that sends requests and never reads the replies. A client
      // that stops reading altogether is closed by drain's client_timeout.
      while (!c.closing && c.out.size() >= s.s.send_buffer) {
        c.room.expires_at(asio::steady_timer::time_point::max());
        co_await c.room.async_wait(kTuple);
        const auto state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) c.closing = true;
      }
      if (c.closing) {
        keep = false;
        break;
      }
      const auto scanned = ca::scan_frame(std::span<const std::uint8_t>(in).subspan(at), s.s.limits);
      if (std::holds_alternative<ca::NeedMore>(scanned)) break;
      if (const auto* e = std::get_if<ca::Error>(&scanned)) {
        ++s.malformed;
        s.ctx.log().warn("ca: circuit {} ({}): {}; closing it", c.peer, who(c), e->message());
        keep = false;
        break;
      }
      const ca::Frame& f = std::get<ca::Frame>(scanned);
      log_in(c, f);
      const auto decoded = ca::decode_request(f, s.s.limits);
      if (const auto* e = std::get_if<ca::Error>(&decoded)) {
        send_error(c, f, ca::no_cid, ca::to_eca(e->code), e->message());
        if (e->code != ca::errc::unknown_command && e->code != ca::errc::obsolete_command) {
          ++s.malformed;
          s.ctx.log().warn("ca: circuit {} ({}): {}; closing it", c.peer, who(c), e->message());
          keep = false;
        }
      } else {
        keep = handle(c, f, std::get<ca::Request>(decoded));
      }
      at += f.length;
      if (keep && c.device_write) co_await run_device_write(c);
    }
    in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(std::min(at, in.size())));
    if (!keep) break;
  }
  c.closing = true;
  c.notify();
}

// Writes the output buffer; a write that has not finished within
// client_timeout closes the circuit (the client stopped reading).
asio::awaitable<void> drain(Circuit& c) {
  std::vector<std::uint8_t> sending;
  for (;;) {
    while (c.out.empty()) {
      if (c.closing) co_return;
      c.wake.expires_at(asio::steady_timer::time_point::max());
      co_await c.wake.async_wait(kTuple);
    }
    sending.clear();
    std::swap(sending, c.out);
    c.room.cancel();  // serve_requests may take requests again
    log_out(c, sending);
    asio::steady_timer stall(c.sock.get_executor());
    stall.expires_after(c.server.s.client_timeout);
    c.writing = true;
    auto result = co_await (asio::async_write(c.sock, asio::buffer(sending), kTuple) || stall.async_wait(kTuple));
    if (result.index() == 0 && !std::get<0>(std::get<0>(result))) c.writing = false;
    if (result.index() == 1) {
      c.server.ctx.log().warn("ca: circuit {} ({}): output not drained for {} ms ([service.ca] client_timeout, {} "
                              "updates squashed); closing it",
                              c.peer, who(c),
                              std::chrono::duration_cast<std::chrono::milliseconds>(c.server.s.client_timeout).count(),
                              c.squashed);
      break;
    }
    if (std::get<0>(std::get<0>(result))) break;  // the client went away
    c.bytes_out += sending.size();
    flush_pending(c);
  }
  c.closing = true;
  c.room.cancel();
  boost::system::error_code ignored;
  c.sock.close(ignored);
}

asio::awaitable<void> circuit_session(Server& s, tcp::socket sock, std::string peer) {
  Circuit c(s, std::move(sock), std::move(peer));  // s.circuits was counted by accept_loop
  s.open.push_back(&c);
  boost::system::error_code ignored;
  c.sock.set_option(tcp::no_delay(true), ignored);
  c.sock.set_option(asio::socket_base::keep_alive(true), ignored);
  if (s.s.socket_send_buffer != 0) {
    c.sock.set_option(asio::socket_base::send_buffer_size(static_cast<int>(s.s.socket_send_buffer)), ignored);
  }
  ca::encode(c.out, ca::Version{0, ca::minor_version, 0});  // at once after accept (pitfall 3)
  // A stop cancels both halves; their waits return operation_aborted as a
  // value (as_tuple), so the stop is seen here either as an exception or in
  // the cancellation state.
  bool stopped = false;
  try {
    co_await (serve_requests(c) && drain(c));
    const auto state = co_await asio::this_coro::cancellation_state;
    stopped = state.cancelled() != asio::cancellation_type::none;
  } catch (const std::exception& e) {
    stopped = true;
    s.ctx.log().debug("ca: circuit {} ended: {}", c.peer, e.what());
  }
  if (stopped && !c.writing) {
    // Tell the client its channels are gone, best effort, never waiting. Not
    // after a write cut short: its rest is lost, so the stream is no longer
    // framed; the close alone then tells libca the same.
    std::vector<std::uint8_t> bye = std::move(c.farewell);  // replies owed (a WRITE_NOTIFY cut short by the stop)
    for (const auto& [sid, ch] : c.channels) ca::encode(bye, ca::ServerDisconn{ch->cid});
    if (!bye.empty() && c.sock.is_open()) {
      c.sock.non_blocking(true, ignored);
      c.sock.write_some(asio::buffer(bye), ignored);
    }
  }
  --s.circuits;
  s.open.erase(std::remove(s.open.begin(), s.open.end(), &c), s.open.end());
  s.squashed_closed += c.squashed;
  s.ctx.log().debug("ca: circuit {} ({}@{}) closed: {} bytes in, {} out, {} updates squashed", c.peer, c.user, c.host,
                    c.bytes_in, c.bytes_out, c.squashed);
}

asio::awaitable<void> accept_loop(Server& s, tcp::acceptor& acceptor, TaskGroup& circuits) {
  for (;;) {
    auto [ec, sock] = co_await acceptor.async_accept(kTuple);
    if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec, "ca accept");
    if (ec) {
      s.ctx.log().warn("ca: accept failed: {}; retrying in 1 s", ec.message());
      asio::steady_timer pause(acceptor.get_executor());
      pause.expires_after(std::chrono::seconds(1));
      co_await pause.async_wait(asio::use_awaitable);
      continue;
    }
    boost::system::error_code pe;
    const auto remote = sock.remote_endpoint(pe);
    std::string peer = pe ? "?" : remote.address().to_string() + ":" + std::to_string(remote.port());
    if (s.circuits >= s.s.max_circuits) {
      ++s.circuits_refused;
      const std::string address = pe ? "?" : remote.address().to_string();
      if (s.refused_addresses.size() < 1024 && s.refused_addresses.insert(address).second) {
        s.ctx.log().warn("ca: refusing a circuit from {}: {} circuits open ([service.ca] max_circuits); "
                         "further refusals of this address are not logged",
                         address, s.circuits);
      }
      sock.close(pe);
      continue;
    }
    ++s.circuits_accepted;
    ++s.circuits;  // now, not when the session starts: a burst of accepts must see each one
    circuits.spawn(circuit_session(s, std::move(sock), std::move(peer)));
  }
}

// ---- UDP: searches and beacons ---------------------------------------------

asio::awaitable<void> search_loop(Server& s, udp::socket& sock) {
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
      const auto scanned = ca::scan_frame(rest, s.s.limits);
      if (!std::holds_alternative<ca::Frame>(scanned)) break;  // truncated or malformed: the rest is noise
      const ca::Frame& f = std::get<ca::Frame>(scanned);
      rest = rest.subspan(f.length);
      const auto decoded = ca::decode_request(f, s.s.limits);
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
      ++s.searches;
      const bool found = find_pv(s, search->name) != nullptr;
      if (!found && !search->do_reply) continue;
      if (reply.empty()) ca::encode(reply, ca::Version{ca::version_sequence_valid, ca::minor_version, sequence});
      if (found) {
        ++s.search_hits;
        ca::encode(reply, ca::SearchReply{s.tcp_port, ca::search_reply_use_sender, search->search_id, ca::minor_version});
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

asio::awaitable<void> beacon_loop(Server& s, udp::socket& sock) {
  const udp::endpoint repeater(asio::ip::address_v4::loopback(), s.s.repeater_port);
  asio::steady_timer timer(sock.get_executor());
  Duration interval = std::chrono::milliseconds(20);
  std::uint32_t id = 0;
  std::vector<std::uint8_t> beacon;
  for (;;) {
    beacon.clear();
    ca::encode(beacon, ca::Beacon{ca::minor_version, s.tcp_port, id++, 0});
    auto [ec, n] = co_await sock.async_send_to(asio::buffer(beacon), repeater, kTuple);
    if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec, "ca beacon");
    (void)n;
    timer.expires_after(interval);
    co_await timer.async_wait(asio::use_awaitable);
    interval = std::min(interval * 2, s.s.beacon_period);
  }
}

// ---- console, dumps, counters ---------------------------------------------

std::string render_circuits(const Server& s) {
  std::string out = fmt::format("ca: port {} (TCP {}), {} PVs, {} circuits; {} searches ({} answered), {} circuits "
                                "refused, {} malformed messages, {} updates squashed\n",
                                s.s.port, s.tcp_port, s.pvs.size(), s.open.size(), s.searches, s.search_hits,
                                s.circuits_refused, s.malformed, s.squashed_total());
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
    s.ctx.publish("weft.ca.searches", static_cast<std::int64_t>(s.searches));
    s.ctx.publish("weft.ca.malformed", static_cast<std::int64_t>(s.malformed));
    s.ctx.publish("weft.ca.pvs", static_cast<std::int64_t>(s.pvs.size()));
  }
}

asio::ip::address_v4 interface_address(const std::string& text, const ConfigSection* section) {
  boost::system::error_code ec;
  const auto a = asio::ip::make_address_v4(text, ec);
  if (ec && section) section->fail("interfaces", "'" + text + "' is not an IPv4 address (e.g. \"127.0.0.1\")");
  return a;
}

asio::awaitable<void> run(Context& ctx, const Settings& settings) {
  Server s(ctx, settings);
  std::vector<asio::ip::address_v4> addresses;
  for (const auto& text : settings.interfaces) addresses.push_back(interface_address(text, nullptr));
  if (addresses.empty()) addresses.push_back(asio::ip::address_v4::any());

  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::vector<std::unique_ptr<udp::socket>> udps;
  for (const auto& a : addresses) {
    auto acceptor = std::make_unique<tcp::acceptor>(ctx.executor());
    const tcp::endpoint at(a, s.tcp_port != 0 ? s.tcp_port : settings.port);
    boost::system::error_code ec;
    acceptor->open(at.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor->bind(at, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::runtime_error("ca: cannot listen on TCP " + a.to_string() + ":" + std::to_string(at.port()) + ": " +
                               ec.message() + "; is another CA server on this port? set [service.ca] port");
    }
    s.tcp_port = acceptor->local_endpoint().port();
    acceptors.push_back(std::move(acceptor));

    auto udp_sock = std::make_unique<udp::socket>(ctx.executor());
    const udp::endpoint uat(a, settings.port != 0 ? settings.port : s.tcp_port);
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
                 settings.device, settings.port, s.tcp_port, addresses.size());
  const std::vector<CommandRegistration> commands = register_commands(s);
  const DumpSectionHandle dump = ctx.add_dump_section("ca: circuits", [&s] {
    std::string out = render_circuits(s);
    for (const Circuit* c : s.open) out += render_trace(*c);
    return out;
  });
  if (settings.store != nullptr && !settings.store->accepting()) {
    // Normally record opened it already; without record the put log still gets its table.
    try {
      co_await settings.store->open();
    } catch (const std::exception& e) {
      ctx.log().error("ca: the store {} cannot be opened ({}); the put log goes to the log only",
                      settings.store->options().path, e.what());
    }
  }
  ctx.ready();

  for (const SoftPoint& sp : settings.soft_points) ctx.publish(sp.name, sp.initial);

  TaskGroup tasks(ctx.executor());
  tasks.spawn(feed(s));
  tasks.spawn(publish_counters(s));
  for (auto& a : acceptors) tasks.spawn(accept_loop(s, *a, tasks));
  for (auto& u : udps) tasks.spawn(search_loop(s, *u));
  if (!udps.empty()) tasks.spawn(beacon_loop(s, *udps.front()));
  co_await tasks.join();
}

// [[soft_point]] name, type (number, integer, text, bool, enum + strings), initial, writable.
SoftPoint read_soft_point(const ConfigSection& t) {
  SoftPoint sp;
  sp.name = t.required_string("name");
  if (sp.name.empty()) t.fail("name", "must not be empty");
  const std::string type = t.string("type", "number");
  if (type == "number") {
    sp.type = ca::ValueType::float64;
    sp.initial = t.number("initial", 0.0);
  } else if (type == "integer") {
    sp.type = ca::ValueType::int32;
    sp.initial = t.integer("initial", 0, INT32_MIN, INT32_MAX);
  } else if (type == "text") {
    sp.type = ca::ValueType::string;
    sp.initial = t.string("initial", "");
    if (std::get<std::string>(sp.initial).size() > 39) t.fail("initial", "CA strings hold at most 39 characters");
  } else if (type == "bool") {
    sp.type = ca::ValueType::enumerated;
    sp.is_bool = true;
    sp.initial = t.boolean("initial", false);
  } else if (type == "enum") {
    sp.type = ca::ValueType::enumerated;
    sp.strings = t.string_array("strings");
    if (sp.strings.empty() || sp.strings.size() > ca::max_enum_states) {
      t.fail("strings", "an enum needs 1 to 16 state names");
    }
    for (const auto& name : sp.strings) {
      if (name.size() > 25) t.fail("strings", "'" + name + "' is longer than CA's 25 characters per state");
    }
    sp.initial = t.integer("initial", 0, 0, static_cast<std::int64_t>(sp.strings.size()) - 1);
  } else {
    t.fail("type", "'" + type + "' is not one of number, integer, text, bool, enum");
  }
  sp.writable = t.boolean("writable", false);
  if (t.boolean("persist", false)) {
    t.fail("persist", "persisting soft points across restarts is not built yet (issue 13); remove it");
  }
  t.reject_unknown_keys();
  return sp;
}

}  // namespace

ServiceFactory ca_factory(store::Store* store) {
  return {"ca", "serves the bus's points as EPICS Channel Access PVs (caget, camonitor, pyepics)",
          [store](const ConfigSection& section, const ConfigSection& root, RestartPolicy policy) {
            Settings s;
            s.store = store;
            s.write_timeout = section.duration("write_timeout", std::chrono::seconds(5), std::chrono::milliseconds(100));
            s.port = static_cast<std::uint16_t>(section.integer("port", ca::default_server_port, 0, 65535));
            s.interfaces = section.string_array("interfaces");
            for (const auto& i : s.interfaces) interface_address(i, &section);
            s.device = section.string("device", host_name());
            if (s.device.empty()) section.fail("device", "must not be empty");
            s.repeater_port =
                static_cast<std::uint16_t>(section.integer("repeater_port", ca::default_repeater_port, 1, 65535));
            s.beacon_period = section.duration("beacon_period", std::chrono::seconds(15), std::chrono::milliseconds(100));
            s.limits.max_array_bytes =
                static_cast<std::uint32_t>(section.integer("max_array_bytes", 16384, 16384, 64 * 1024 * 1024));
            s.max_circuits = static_cast<std::size_t>(section.integer("max_circuits", 256, 1, 100'000));
            s.max_channels = static_cast<std::size_t>(section.integer("max_channels", 4096, 1, 1'000'000));
            s.max_subscriptions = static_cast<std::size_t>(section.integer("max_subscriptions", 16, 1, 1024));
            s.send_buffer = static_cast<std::size_t>(section.integer("send_buffer", 256 * 1024, 4096, 64 * 1024 * 1024));
            s.socket_send_buffer = static_cast<std::size_t>(
                section.integer("socket_send_buffer", 64 * 1024, 0, 64 * 1024 * 1024));
            if (s.socket_send_buffer != 0 && s.socket_send_buffer < 4096) {
              section.fail("socket_send_buffer", "must be 0 (the kernel's default) or at least 4096");
            }
            s.client_timeout =
                section.duration("client_timeout", std::chrono::seconds(60), std::chrono::seconds(1));
            for (const ConfigSection& rule : section.tables("access")) {
              AccessRule a;
              a.pv = rule.string("pv", "*");
              a.host = rule.string("host", "*");
              a.user = rule.string("user", "*");
              const std::string grant = rule.string("grant", "read");
              if (grant == "none") {
                a.rights = 0;
              } else if (grant == "read") {
                a.rights = ca::access_read;
              } else if (grant == "write") {
                a.rights = ca::access_read | ca::access_write;
              } else {
                rule.fail("grant", "'" + grant + "' is not one of none, read, write");
              }
              rule.reject_unknown_keys();
              s.access.push_back(std::move(a));
            }
            for (const ConfigSection& t : root.tables("soft_point")) s.soft_points.push_back(read_soft_point(t));
            return coroutine_service("ca", {}, policy, [s](Context& ctx) { return run(ctx, s); });
          },
          {"soft_point"}};
}

}  // namespace weft::apps
