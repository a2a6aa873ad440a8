// Subscription updates (EVENT_ADD monitors): an update is encoded into the
// circuit's output at once while there is room; while the circuit is over
// send_buffer or flow-controlled (EVENTS_OFF) a monitor keeps only "an
// update is due" (one entry in the circuit's pending list), and a further
// event meanwhile is squashed into it (counted). The due update carries the
// PV's value when it is finally sent, so the latest value always arrives
// and memory per circuit stays bounded whatever the update rate. One event
// of a PV is encoded once per (field, type, count) for all its monitors.
// A channel without read access gets ECA_NORDACCESS with a zeroed payload
// instead (its initial update, and the one update when the right goes:
// refresh_rights; the PV's events skip it).
#include <algorithm>

#include "ca_server.hpp"

namespace weft::apps::ca_server {

namespace {

const SharedPayloads::Entry& payload_entry(SharedPayloads& shared, const Circuit& c, const Channel& ch,
                                           const Monitor& m) {
  for (const auto& e : shared.entries) {
    if (e.field == ch.field && e.dbr_type == m.dbr_type && e.count == m.count) return e;
  }
  ca::Value scratch;
  const ca::Value& value = channel_value(ch, scratch);
  const std::uint32_t count = resolve_count(m.count, value);
  auto [status, data] = payload_for(c.server, value, m.dbr_type, count, native_count(ch));
  return shared.entries.emplace_back(SharedPayloads::Entry{ch.field, m.dbr_type, m.count, status,
                                                           status == ca::Eca::badcount ? 1 : count, std::move(data)});
}

}  // namespace

void queue_update(Circuit& c, Channel& ch, std::uint32_t subscription_id, const Monitor& m, SharedPayloads* shared) {
  if (!can_read(ch)) {  // never from the shared payloads: they hold the value
    // Shaped as a readable channel's would be (payload_for: a count above
    // the channel's is ECA_BADCOUNT with one element), then zeroed: the
    // client's count is never trusted to size the payload.
    ca::Value scratch;
    const ca::Value& value = channel_value(ch, scratch);
    const std::uint32_t count = resolve_count(m.count, value);
    auto [status, zeros] = payload_for(c.server, value, m.dbr_type, count, native_count(ch));
    std::fill(zeros.begin(), zeros.end(), std::uint8_t{0});
    if (status == ca::Eca::normal) status = ca::Eca::nordaccess;
    ca::encode_event_update(c.out, m.dbr_type, status == ca::Eca::badcount ? 1 : count, status, subscription_id, zeros,
                            c.extended_ok());
    c.notify();
    return;
  }
  SharedPayloads own;
  const SharedPayloads::Entry& e = payload_entry(shared != nullptr ? *shared : own, c, ch, m);
  ca::encode_event_update(c.out, e.dbr_type, e.resolved, e.status, subscription_id, e.data, c.extended_ok());
  c.notify();
}


// An event for one monitor: sent now, or marked due when the circuit is full
// or flow-controlled (a second event while due is squashed into it).
void post_update(Circuit& c, Channel& ch, std::uint32_t subscription_id, Monitor& m, SharedPayloads* shared) {
  if (c.events_off || c.out.size() >= c.server.s.send_buffer) {
    if (m.pending) {
      ++c.squashed;
    } else {
      m.pending = true;
      c.pending.emplace_back(ch.sid, subscription_id);
    }
    return;
  }
  queue_update(c, ch, subscription_id, m, shared);
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

}  // namespace weft::apps::ca_server
