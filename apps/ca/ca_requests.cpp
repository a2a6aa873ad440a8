// What each request does on a circuit, one decoded message at a time, in
// order (a WRITE takes effect before the READ_NOTIFY after it): VERSION,
// names, ECHO, EVENTS_OFF/ON, SEARCH over TCP, CREATE_CHAN (ACCESS_RIGHTS
// first, pitfall 19), CLEAR_CHANNEL, READ_NOTIFY, EVENT_ADD (the initial
// update at once) and EVENT_CANCEL, WRITE and WRITE_NOTIFY. Unknown IDs get
// ERROR with ECA_BADCHID / ECA_BADMONID and the circuit stays open; limits
// (max_channels, max_subscriptions) refuse with CREATE_CH_FAIL /
// ECA_ALLOCMEM, logged once per circuit. Without read access (a rule's
// grant = "none") READ_NOTIFY and EVENT_ADD get ECA_NORDACCESS (zeroed). Returns false only for what must
// close the circuit.
#include <algorithm>
#include <utility>

#include "ca_server.hpp"

namespace weft::apps::ca_server {

void send_error(Circuit& c, const ca::Frame& f, std::uint32_t cid, ca::Eca status, const std::string& text) {
  ca::encode(c.out, ca::ErrorMessage{cid, status, std::vector<std::uint8_t>(f.header_bytes.begin(), f.header_bytes.end()),
                                     text});
  c.notify();
}

void open_channel(Circuit& c, std::uint32_t cid, const Target& target) {
  Server& s = c.server;
  Pv* pv = target.pv;
  std::uint32_t sid = c.next_sid;
  while (c.channels.contains(sid)) ++sid;  // IDs wrap; skip those in use
  c.next_sid = sid + 1;
  auto ch = std::make_unique<Channel>();
  ch->circuit = &c;
  ch->pv = pv;
  ch->cid = cid;
  ch->sid = sid;
  ch->field = target.field;
  pv->channels.push_back(ch.get());
  c.channels.emplace(sid, std::move(ch));
  Channel& created = *c.channels.at(sid);
  created.rights = rights_for(s, *pv, target.field, c);
  ca::Value scratch;
  const ca::Value& value = channel_value(created, scratch);
  ca::encode(c.out, ca::AccessRights{cid, created.rights});
  ca::encode(c.out, ca::CreateChanReply{cid, sid, static_cast<std::uint16_t>(value.type),
                                        std::max<std::uint32_t>(native_count(created),
                                                                static_cast<std::uint32_t>(value.size()))});
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
    if (find_target(s, search->name).pv != nullptr) {
      ca::encode(c.out, ca::SearchReply{s.search.tcp_port, ca::search_reply_use_sender, search->search_id, 0});
      // RSRV sends no payload over TCP; the encoder's 8 bytes carry minor 0, which libca ignores there.
      c.notify();
    } else {
      (void)provide_on_circuit(c, search->name, search->search_id, true);  // answered now, later, or never
    }
    return true;
  }
  if (const auto* create = std::get_if<ca::CreateChan>(&request)) {
    if (create->client_minor != 0) c.minor = std::min(c.minor == 0 ? create->client_minor : c.minor, ca::minor_version);
    const Target target = find_target(s, create->name);
    if (c.channels.size() >= s.s.max_channels) {
      if (!std::exchange(c.channel_limit_logged, true)) {
        s.ctx.log().warn("ca: circuit {} ({}): {} channels open ([service.ca] max_channels); refusing {} with "
                         "CREATE_CH_FAIL; further refusals on this circuit are not logged",
                         c.peer, who(c), s.s.max_channels, create->name);
      }
    } else if (target.pv != nullptr) {
      open_channel(c, create->cid, target);
      return true;
    } else if (provide_on_circuit(c, create->name, create->cid, false)) {
      return true;  // opened from a name provider, or held until it answers
    }
    ca::encode(c.out, ca::CreateChFail{create->cid});
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
    c.subscription_count -= ch->monitors.size();
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
    ca::Value scratch;
    const ca::Value& value = channel_value(*ch, scratch);
    const std::uint32_t count = resolve_count(read->count, value);
    auto [status, data] = payload_for(s, value, read->dbr_type, count, native_count(*ch));
    if (status == ca::Eca::normal && !can_read(*ch)) {  // as RSRV: the status, a zeroed payload
      status = ca::Eca::nordaccess;
      std::fill(data.begin(), data.end(), std::uint8_t{0});
    }
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
    auto [at, added] = ch->monitors.try_emplace(add->subscription_id);
    if (added) ++c.subscription_count;  // the same ID again replaces its monitor
    Monitor& m = at->second;
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
    --c.subscription_count;
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
    bool staged = false;
    const ca::Eca status = apply_write(c, *ch, write->dbr_type, write->count, write->data, why, device, staged);
    if (status != ca::Eca::normal) send_error(c, f, ch->cid, status, why);
    if (staged) {  // an ERROR only if saving it fails (finish_persist_writes)
      c.persist_replies.push_back(
          PersistReply{false, write->dbr_type, write->count, 0, ch->cid,
                       std::vector<std::uint8_t>(f.header_bytes.begin(), f.header_bytes.end()), {}});
    }
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
    bool staged = false;
    const ca::Eca status = apply_write(c, *ch, write->dbr_type, write->count, write->data, why, device, staged);
    if (staged) {  // answered once its value is durable (finish_persist_writes)
      c.persist_replies.push_back(PersistReply{true, write->dbr_type, write->count, write->ioid, ch->cid, {}, {}});
      return true;
    }
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

}  // namespace weft::apps::ca_server
