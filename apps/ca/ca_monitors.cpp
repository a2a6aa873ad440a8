// Subscription updates (EVENT_ADD monitors): an update is encoded into the
// circuit's output at once while there is room; while the circuit is over
// send_buffer or flow-controlled (EVENTS_OFF) a monitor keeps only "an
// update is due" (one entry in the circuit's pending list), and a further
// event meanwhile is squashed into it (counted). The due update carries the
// PV's value when it is finally sent, so the latest value always arrives
// and memory per circuit stays bounded whatever the update rate.
#include "ca_server.hpp"

namespace weft::apps::ca_server {

void queue_update(Circuit& c, Channel& ch, std::uint32_t subscription_id, const Monitor& m) {
  ca::Value scratch;
  const ca::Value& value = channel_value(ch, scratch);
  const std::uint32_t count = resolve_count(m.count, value);
  auto [status, data] = payload_for(c.server, value, m.dbr_type, count);
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

}  // namespace weft::apps::ca_server
