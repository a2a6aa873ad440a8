// The gateway's upstream PV table (issue 14, stage 1): every upstream name
// the gateway has been asked for, by name, in ca-gateway's states, with the
// last TIME reading and CTRL metadata of each, and the waiters that joined
// a pending connect. A pure state machine over time points passed in (no
// sockets, no clock): the service does the I/O and tells the table what
// happened; the table says what must be done (search, stop searching,
// forget) and when its next timeout falls due.
//
// States and timeouts (ca-gateway's gateway.h / gateServer.cc defaults):
//   connecting    searched, not yet connected; past `connect` (1 s) -> dead
//   active        connected, somebody holds it (a record entry, a client)
//   inactive      connected, nobody holds it; past `inactive` (2 h) -> forgotten
//   dead          not found within `connect`: the negative cache; a repeat
//                 request is answered "dead" at once and sends no search;
//                 past `dead` (120 s) -> forgotten (held: searched again)
//   disconnected  its circuit went away; re-searched; past `disconnect` (2 h)
//                 and not held -> forgotten
// Held names (interest > 0, the record entries) are never forgotten.
//
// Waiters: a want() of a connecting (or disconnected) name joins it; each
// waiter is called once, when the name becomes active/inactive or dead, or
// when it is forgotten (with its final state). A waiter may call back into
// the table.
//
// Size: a name costs one entry in two hash maps and one in the deadline
// heap; the maps are reserved for `expected` names at construction and
// grow geometrically beyond it; at `max_pvs` names, want() makes room for a
// new name by forgetting the dead name nobody holds that died first (a
// negative-cache entry: it only costs a search when asked for again), and
// refuses it when there is none (so a flood of requests for names nobody
// has cannot exhaust memory, nor keep the table full of dead names for
// `dead` and every real name out).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "weft/core/clock.hpp"
#include "weft/drivers/ca/client_channel.hpp"
#include "weft/drivers/ca/client_search.hpp"
#include "weft/drivers/ca/dbr.hpp"

namespace weft::apps::ca_gateway {

enum class PvState : std::uint8_t { connecting, active, inactive, dead, disconnected };
std::string_view to_string(PvState s) noexcept;  // "connecting"
inline constexpr std::size_t kPvStates = 5;

struct Timeouts {
  Duration connect = std::chrono::seconds(1);
  Duration dead = std::chrono::seconds(120);
  Duration inactive = std::chrono::hours(2);
  Duration disconnect = std::chrono::hours(2);
};

struct UpstreamPv;
using Waiter = std::function<void(const UpstreamPv&)>;

struct UpstreamPv {
  std::string name;
  std::uint32_t id = 0;  // the search ID and the circuit's CID
  PvState state = PvState::connecting;
  MonoTime since{};      // when it entered `state`
  std::size_t interest = 0;
  std::optional<ca::ServerAddress> server;   // where it was found (kept while disconnected)
  std::optional<ca::ChannelInfo> channel;    // while connected
  std::optional<ca::Value> last;             // the last DBR_TIME reading (value, alarm, stamp)
  std::optional<ca::Metadata> meta;          // the last DBR_CTRL metadata (units, limits, enum strings)
  std::uint64_t updates = 0, connects = 0, disconnects = 0;
  std::vector<Waiter> waiters;
  std::uint64_t deadline_ticket = 0;  // the table's: which heap entry is current
};

// What the caller must do after want().
enum class WantResult : std::uint8_t {
  search,     // a new name, now connecting: add it to the search schedule
  waiting,    // already connecting or disconnected: the waiter joined
  connected,  // active or inactive: the waiter was called at once
  dead,       // the negative cache: the waiter was called at once, no search
  full,       // refused: max_pvs names are in the table, none of them a dead one nobody holds
};
std::string_view to_string(WantResult r) noexcept;

// What expire() decided, for the caller to act on.
struct Expired {
  std::vector<std::uint32_t> died;        // connecting -> dead: stop searching them
  std::vector<std::uint32_t> research;    // held dead names whose dead time ended: search again
  std::vector<std::string> forgotten;     // gone from the table (stop searching; clear their channel)
  std::vector<std::uint32_t> forgotten_ids;
};

struct TableCounts {
  std::array<std::size_t, kPvStates> by_state{};
  std::size_t total = 0;
  std::uint64_t dead_hits = 0;      // want() answered from the negative cache
  std::uint64_t refused_full = 0;   // want() refused: max_pvs
  std::uint64_t evicted_dead = 0;   // dead names forgotten early to make room for a new one (also in forgotten)
  std::uint64_t forgotten = 0;
};

class UpstreamTable {
public:
  UpstreamTable(Timeouts timeouts, std::size_t expected, std::size_t max_pvs);

  // Asks for `name`; `hold` adds interest (a record entry: never forgotten).
  // `waiter` (may be empty) is called as described above.
  WantResult want(std::string_view name, MonoTime now, bool hold = false, Waiter waiter = {});
  // Drops one interest (a connected name with none left becomes inactive).
  void release(std::string_view name, MonoTime now);

  // Its search was answered by `server`: still connecting until connected().
  // False when the name is not waiting to be found (dead, gone, connected).
  bool found(std::uint32_t id, ca::ServerAddress server, MonoTime now);
  // CREATE_CHAN answered: active (held) or inactive; waiters called.
  bool connected(std::uint32_t id, const ca::ChannelInfo& channel, MonoTime now);
  // The channel or its circuit went away (CREATE_CH_FAIL, SERVER_DISCONN, the
  // circuit lost): disconnected (was connected) or still connecting; the
  // caller searches it again. False for unknown ids or names not on a circuit.
  bool lost(std::uint32_t id, MonoTime now);
  // Every name found on or connected to `server`, marked lost(): the ids.
  std::vector<std::uint32_t> circuit_down(ca::ServerAddress server, MonoTime now);
  // The ids of disconnected names last on `server` (to boost on its beacon anomaly).
  std::vector<std::uint32_t> disconnected_on(ca::ServerAddress server) const;

  // A DBR_TIME update / DBR_CTRL metadata for a connected name.
  UpstreamPv* reading(std::uint32_t id, ca::Value value);
  UpstreamPv* metadata(std::uint32_t id, ca::Metadata meta);

  // Applies every timeout due at `now`.
  Expired expire(MonoTime now);
  // When expire() next has something to do (nullopt: no timeout pending).
  std::optional<MonoTime> next_deadline();

  const UpstreamPv* find(std::string_view name) const;
  const UpstreamPv* find(std::uint32_t id) const;
  TableCounts counts() const;
  std::size_t size() const noexcept { return by_name_.size(); }
  std::size_t bucket_count() const noexcept { return by_name_.bucket_count(); }
  // Every entry, in no order (console listing).
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& [name, pv] : by_name_) f(*pv);
  }
  const Timeouts& timeouts() const noexcept { return timeouts_; }

private:
  struct Deadline {
    MonoTime at;
    std::uint32_t id;
    std::uint64_t ticket;
    friend bool operator>(const Deadline& a, const Deadline& b) { return a.at > b.at; }
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  UpstreamPv* get(std::uint32_t id);
  void enter(UpstreamPv& pv, PvState state, MonoTime now);
  void call_waiters(UpstreamPv& pv);
  void forget(UpstreamPv& pv, Expired& out);
  bool current(const Deadline& d) const;  // its name is still in the state it was queued for
  bool evict_dead();  // forgets the first-died dead name nobody holds; false: none

  Timeouts timeouts_;
  std::size_t max_pvs_;
  std::unordered_map<std::string, std::unique_ptr<UpstreamPv>, Hash, std::equal_to<>> by_name_;
  std::unordered_map<std::uint32_t, UpstreamPv*> by_id_;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  // Names in the order they died (stale once the name left dead: its ticket
  // changed); trimmed at its front as names die, so it holds about the
  // deaths of one `dead` period.
  std::deque<Deadline> died_;
  std::array<std::size_t, kPvStates> by_state_{};
  std::uint32_t next_id_ = 1;
  std::uint64_t next_ticket_ = 1;
  std::uint64_t dead_hits_ = 0, refused_full_ = 0, forgotten_ = 0, evicted_dead_ = 0;
};

}  // namespace weft::apps::ca_gateway
