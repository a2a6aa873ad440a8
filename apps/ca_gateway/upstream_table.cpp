// The upstream PV table's state machine (upstream_table.hpp says what it
// guarantees). Timeouts sit in one min-heap of (deadline, id, ticket); a
// state change issues a new ticket, so an entry whose ticket is not the
// name's current one is stale and dropped when it reaches the top: each
// change costs O(log n), never a scan of the table.
#include "weft/apps/ca_gateway/upstream_table.hpp"

#include <utility>

namespace weft::apps::ca_gateway {

std::string_view to_string(PvState s) noexcept {
  switch (s) {
    case PvState::connecting: return "connecting";
    case PvState::active: return "active";
    case PvState::inactive: return "inactive";
    case PvState::dead: return "dead";
    case PvState::disconnected: return "disconnected";
  }
  return "?";
}

std::string_view to_string(WantResult r) noexcept {
  switch (r) {
    case WantResult::search: return "search";
    case WantResult::waiting: return "waiting";
    case WantResult::connected: return "connected";
    case WantResult::dead: return "dead";
    case WantResult::full: return "full";
  }
  return "?";
}

UpstreamTable::UpstreamTable(Timeouts timeouts, std::size_t expected, std::size_t max_pvs)
    : timeouts_(timeouts), max_pvs_(max_pvs) {
  by_name_.reserve(expected);
  by_id_.reserve(expected);
}

UpstreamPv* UpstreamTable::get(std::uint32_t id) {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

const UpstreamPv* UpstreamTable::find(std::uint32_t id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

const UpstreamPv* UpstreamTable::find(std::string_view name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second.get();
}

// Enters `state` at `now` and queues the state's timeout, if it has one for this name.
void UpstreamTable::enter(UpstreamPv& pv, PvState state, MonoTime now) {
  --by_state_[static_cast<std::size_t>(pv.state)];
  ++by_state_[static_cast<std::size_t>(state)];
  pv.state = state;
  pv.since = now;
  pv.deadline_ticket = next_ticket_++;
  std::optional<Duration> timeout;
  switch (state) {
    case PvState::connecting: timeout = timeouts_.connect; break;
    case PvState::active: break;
    case PvState::inactive: timeout = timeouts_.inactive; break;
    case PvState::dead: timeout = timeouts_.dead; break;
    case PvState::disconnected:
      if (pv.interest == 0) timeout = timeouts_.disconnect;
      break;
  }
  if (timeout) deadlines_.push(Deadline{now + *timeout, pv.id, pv.deadline_ticket});
  if (state == PvState::dead) {
    while (!died_.empty() && !current(died_.front())) died_.pop_front();
    died_.push_back(Deadline{now, pv.id, pv.deadline_ticket});
  }
}

bool UpstreamTable::current(const Deadline& d) const {
  const UpstreamPv* pv = find(d.id);
  return pv != nullptr && pv->deadline_ticket == d.ticket;
}

bool UpstreamTable::evict_dead() {
  for (auto it = died_.begin(); it != died_.end();) {
    if (!current(*it)) {
      it = died_.erase(it);
      continue;
    }
    UpstreamPv* pv = get(it->id);
    if (pv->interest > 0) {  // a record's: kept (searched again when its dead time ends)
      ++it;
      continue;
    }
    died_.erase(it);
    // A dead name has no waiters (called when it died; later ones at once),
    // no channel and no search: nothing to tell the caller.
    --by_state_[static_cast<std::size_t>(PvState::dead)];
    ++forgotten_;
    ++evicted_dead_;
    by_id_.erase(pv->id);
    by_name_.erase(by_name_.find(pv->name));  // destroys *pv
    return true;
  }
  return false;
}

void UpstreamTable::call_waiters(UpstreamPv& pv) {
  std::vector<Waiter> waiters;
  waiters.swap(pv.waiters);
  for (auto& w : waiters) w(pv);  // a waiter may call want(): pv.waiters is empty again by then
}

WantResult UpstreamTable::want(std::string_view name, MonoTime now, bool hold, Waiter waiter) {
  if (const auto it = by_name_.find(name); it != by_name_.end()) {
    UpstreamPv& pv = *it->second;
    if (hold) {
      ++pv.interest;
      if (pv.state == PvState::inactive) enter(pv, PvState::active, now);
      if (pv.state == PvState::disconnected) enter(pv, PvState::disconnected, now);  // no timeout while held
    }
    switch (pv.state) {
      case PvState::connecting:
      case PvState::disconnected:
        if (waiter) pv.waiters.push_back(std::move(waiter));
        return WantResult::waiting;
      case PvState::active:
      case PvState::inactive:
        if (waiter) waiter(pv);
        return WantResult::connected;
      case PvState::dead:
        ++dead_hits_;
        if (waiter) waiter(pv);
        return WantResult::dead;
    }
  }
  if (by_name_.size() >= max_pvs_ && !evict_dead()) {
    ++refused_full_;
    return WantResult::full;
  }
  auto owned = std::make_unique<UpstreamPv>();
  UpstreamPv& pv = *owned;
  pv.name = std::string(name);
  pv.id = next_id_++;
  if (next_id_ == 0) next_id_ = 1;  // after 2^32 names; an id still in use is skipped below
  while (by_id_.contains(pv.id)) pv.id = next_id_++;
  pv.interest = hold ? 1 : 0;
  pv.state = PvState::connecting;
  ++by_state_[static_cast<std::size_t>(PvState::connecting)];
  if (waiter) pv.waiters.push_back(std::move(waiter));
  by_id_.emplace(pv.id, &pv);
  const std::string_view key = pv.name;
  by_name_.emplace(std::string(key), std::move(owned));
  enter(pv, PvState::connecting, now);
  return WantResult::search;
}

void UpstreamTable::release(std::string_view name, MonoTime now) {
  const auto it = by_name_.find(name);
  if (it == by_name_.end() || it->second->interest == 0) return;
  UpstreamPv& pv = *it->second;
  --pv.interest;
  if (pv.interest > 0) return;
  if (pv.state == PvState::active) enter(pv, PvState::inactive, now);
  if (pv.state == PvState::disconnected) enter(pv, PvState::disconnected, now);  // its timeout starts
}

bool UpstreamTable::found(std::uint32_t id, ca::ServerAddress server, MonoTime) {
  UpstreamPv* pv = get(id);
  if (pv == nullptr || (pv->state != PvState::connecting && pv->state != PvState::disconnected)) return false;
  pv->server = server;
  return true;
}

bool UpstreamTable::connected(std::uint32_t id, const ca::ChannelInfo& channel, MonoTime now) {
  UpstreamPv* pv = get(id);
  if (pv == nullptr || (pv->state != PvState::connecting && pv->state != PvState::disconnected)) return false;
  pv->channel = channel;
  ++pv->connects;
  enter(*pv, pv->interest > 0 ? PvState::active : PvState::inactive, now);
  call_waiters(*pv);
  return true;
}

bool UpstreamTable::lost(std::uint32_t id, MonoTime now) {
  UpstreamPv* pv = get(id);
  if (pv == nullptr) return false;
  switch (pv->state) {
    case PvState::active:
    case PvState::inactive:
      pv->channel.reset();
      ++pv->disconnects;
      enter(*pv, PvState::disconnected, now);
      return true;
    case PvState::connecting: {
      const bool was_found = pv->server.has_value();  // found but not connected: searched again,
      pv->server.reset();                             // its connect timeout runs on
      return was_found;
    }
    case PvState::disconnected:
      return true;
    case PvState::dead:
      return false;
  }
  return false;
}

std::vector<std::uint32_t> UpstreamTable::circuit_down(ca::ServerAddress server, MonoTime now) {
  std::vector<std::uint32_t> ids;
  for (auto& [name, pv] : by_name_) {
    if (pv->server != server) continue;
    if (lost(pv->id, now)) ids.push_back(pv->id);
  }
  return ids;
}

std::vector<std::uint32_t> UpstreamTable::disconnected_on(ca::ServerAddress server) const {
  std::vector<std::uint32_t> ids;
  for (const auto& [name, pv] : by_name_) {
    if (pv->state == PvState::disconnected && pv->server == server) ids.push_back(pv->id);
  }
  return ids;
}

UpstreamPv* UpstreamTable::reading(std::uint32_t id, ca::Value value) {
  UpstreamPv* pv = get(id);
  if (pv == nullptr || !pv->channel) return nullptr;
  pv->last = std::move(value);
  ++pv->updates;
  return pv;
}

UpstreamPv* UpstreamTable::metadata(std::uint32_t id, ca::Metadata meta) {
  UpstreamPv* pv = get(id);
  if (pv == nullptr || !pv->channel) return nullptr;
  pv->meta = std::move(meta);
  return pv;
}

void UpstreamTable::forget(UpstreamPv& pv, Expired& out) {
  out.forgotten.push_back(pv.name);
  out.forgotten_ids.push_back(pv.id);
  --by_state_[static_cast<std::size_t>(pv.state)];
  ++forgotten_;
  std::vector<Waiter> waiters;
  waiters.swap(pv.waiters);
  const auto it = by_name_.find(pv.name);
  std::unique_ptr<UpstreamPv> owned = std::move(it->second);
  by_name_.erase(it);
  by_id_.erase(owned->id);
  for (auto& w : waiters) w(*owned);  // its final state; the name is no longer in the table
}

Expired UpstreamTable::expire(MonoTime now) {
  Expired out;
  while (!deadlines_.empty() && deadlines_.top().at <= now) {
    const Deadline d = deadlines_.top();
    deadlines_.pop();
    UpstreamPv* pv = get(d.id);
    if (pv == nullptr || pv->deadline_ticket != d.ticket) continue;  // stale
    switch (pv->state) {
      case PvState::connecting:
        pv->server.reset();
        enter(*pv, PvState::dead, now);
        out.died.push_back(pv->id);
        call_waiters(*pv);
        break;
      case PvState::dead:
        if (pv->interest > 0) {
          enter(*pv, PvState::connecting, now);
          out.research.push_back(pv->id);
        } else {
          forget(*pv, out);
        }
        break;
      case PvState::inactive:
      case PvState::disconnected:
        forget(*pv, out);
        break;
      case PvState::active:
        break;
    }
  }
  return out;
}

std::optional<MonoTime> UpstreamTable::next_deadline() {
  while (!deadlines_.empty()) {
    const Deadline& d = deadlines_.top();
    const UpstreamPv* pv = get(d.id);
    if (pv != nullptr && pv->deadline_ticket == d.ticket) return d.at;
    deadlines_.pop();
  }
  return std::nullopt;
}

TableCounts UpstreamTable::counts() const {
  TableCounts c;
  c.by_state = by_state_;
  c.total = by_name_.size();
  c.dead_hits = dead_hits_;
  c.refused_full = refused_full_;
  c.forgotten = forgotten_;
  c.evicted_dead = evicted_dead_;
  return c;
}

}  // namespace weft::apps::ca_gateway
