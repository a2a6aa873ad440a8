// The bus's points as PVs: one Pv per point, created when the point is
// first published (or found among the bus's latest readings at start),
// holding its value in the point's native CA type with its metadata (the
// owner's PointInfo) and alarm; each change raises the events EPICS's rules
// give (deadbands per PV, ca_pv::events_for) and is posted to the monitors
// whose mask it raises, a field's channel (".SEVR") by the field's events.
// The only file that reads the bus feed; a reply or update payload is built
// here from a channel's value alone (payload_for), so a circuit never sees
// a Reading.
#include <algorithm>

#include "ca_server.hpp"
#include "weft/apps/ca/ca_pv.hpp"

namespace weft::apps::ca_server {
namespace {

// A reading as the PV's value: converted to its native type, with a soft
// enum's state names and the point's description (metadata, limit alarm).
ca::Value pv_value(const Pv& pv, const Reading& r, ca::ValueType native) {
  ca::Value v = ca_pv::to_ca(r, native);
  if (pv.is_array) {  // never more than CREATE_CHAN said (a non-soft array that grew after its first reading)
    if (auto* numbers = std::get_if<std::vector<double>>(&v.elements); numbers && numbers->size() > pv.max_count) {
      numbers->resize(pv.max_count);
    }
  }
  if (pv.soft != nullptr && pv.soft->type == ca::ValueType::enumerated && !pv.soft->is_bool) {
    v.meta.enum_strings = pv.soft->strings;
  }
  if (pv.info) ca_pv::apply_point_info(v, *pv.info);
  return v;
}

void post_events(Pv& pv, std::uint16_t events) {
  if (events == 0) return;
  SharedPayloads shared;
  for (Channel* ch : pv.channels) {
    if (!can_read(*ch)) continue;  // no read access: silent until it returns (refresh_rights)
    const std::uint16_t raised = ca_pv::field_events(ch->field, events);
    if (raised == 0) continue;
    for (auto& [id, m] : ch->monitors) {
      if ((m.mask & raised) != 0) post_update(*ch->circuit, *ch, id, m, &shared);
    }
  }
}

// An owner described its points anew (a restart with a changed config):
// each PV whose description changed takes it, rebuilt from the point's
// latest reading, and its DBE_PROPERTY monitors get an update (DBE_ALARM
// ones too when the new limits change the alarm). The native type stays
// what clients were told at CREATE_CHAN.
void refresh_descriptions(Server& s) {
  s.descriptions_seen = s.ctx.bus().info_changes();
  for (auto& [name, pv] : s.pvs) {
    const PointInfo* now = s.ctx.bus().info(pv->point);
    if (now == nullptr ? !pv->info.has_value() : pv->info == *now) continue;
    pv->info = now == nullptr ? std::nullopt : std::optional<PointInfo>(*now);
    const Reading* latest = s.ctx.bus().latest(pv->point);
    if (latest == nullptr) continue;
    ca::Value next = pv_value(*pv, *latest, pv->value.type);
    std::uint16_t events = ca::dbe_property;
    if (next.alarm != pv->value.alarm) events |= ca::dbe_alarm;
    pv->value = std::move(next);
    post_events(*pv, events);
  }
}

}  // namespace

Server::Server(Context& c, const Settings& settings)
    : ctx(c), s(settings), persist(c.executor()), provided(*this), send_wake(c.executor()) {
  search.limits = settings.limits;
  search.serves = [this](std::string_view name) { return find_target(*this, name).pv != nullptr; };
  search.provide = [this](const ca::Search& q, udp::socket& sock, const udp::endpoint& from, std::uint32_t sequence) {
    return provide_search(*this, q, sock, from, sequence);
  };
}

Target find_target(Server& s, std::string_view requested) {
  const ca_pv::FieldRef ref = ca_pv::split_field(requested);
  const std::optional<ca_pv::Field> field = ca_pv::parse_field(ref.field);
  if (!field) return {};
  const auto it = s.pvs.find(ref.pv);
  if (it == s.pvs.end()) return {};
  return {it->second.get(), *field};
}

Pv* find_pv(Server& s, std::string_view requested) { return find_target(s, requested).pv; }

const ca::Value& channel_value(const Channel& ch, ca::Value& scratch) {
  if (ch.field == ca_pv::Field::val) return ch.pv->value;
  scratch = ca_pv::field_value(ch.field, ch.pv->value, ch.pv->name, ch.pv->info ? &*ch.pv->info : nullptr);
  return scratch;
}

// Resolves a request's count against the value: 0 is the current length
// (4.13); an empty array still sends one (zero) element, as RSRV does.
std::uint32_t resolve_count(std::uint32_t requested, const ca::Value& value) {
  return requested == 0 ? static_cast<std::uint32_t>(std::max<std::size_t>(1, value.size())) : requested;
}

std::uint32_t native_count(const Channel& ch) { return ch.field == ca_pv::Field::val ? ch.pv->max_count : 1; }

std::pair<ca::Eca, std::vector<std::uint8_t>> payload_for(const Server& s, const ca::Value& value, std::uint16_t type,
                                                          std::uint32_t count, std::uint32_t max_count) {
  if (count > std::max<std::size_t>({1, value.size(), max_count})) {
    return {ca::Eca::badcount, std::vector<std::uint8_t>(ca::dbr_payload_size(type, 1).value_or(0), 0)};
  }
  auto encoded = ca::encode_dbr(type, count, value, s.s.limits);
  if (auto* e = std::get_if<ca::Error>(&encoded)) {
    return {ca::to_eca(e->code), std::vector<std::uint8_t>(ca::dbr_payload_size(type, count).value_or(0), 0)};
  }
  return {ca::Eca::normal, std::move(std::get<std::vector<std::uint8_t>>(encoded))};
}

void on_reading(Server& s, const Reading& r) {
  if (s.ctx.bus().info_changes() != s.descriptions_seen) refresh_descriptions(s);
  if (s.ctx.bus().writes().changes() != s.writes_seen) refresh_rights(s);
  const std::string name = ca_pv::pv_name(s.s.device, r.point);
  auto& slot = s.pvs[name];
  if (slot && slot->provided) return;  // a name provider's PV under the same name: it keeps it while held
  if (!slot) {
    slot = std::make_unique<Pv>();
    slot->name = name;
    slot->point = r.point;
    for (const SoftPoint& sp : s.s.soft_points) {
      if (sp.name == r.point) slot->soft = &sp;
    }
    const PointInfo* info = s.ctx.bus().info(r.point);
    if (info != nullptr) slot->info = *info;
    slot->from_bool = std::holds_alternative<bool>(r.value);
    if (const auto* array = std::get_if<NumberArray>(&r.value)) {
      slot->is_array = true;
      // A soft point's max_length; else its owner's word (PointInfo::max_length), else the first length.
      // The owner's word is capped at the DOUBLEs a payload may carry, as a soft point's is by its
      // config: ca_gateway's is the upstream's CREATE_CHAN count, a wire value, and a read of
      // max_count elements sizes its reply (zeros, when above max_array_bytes).
      const std::uint32_t most = std::max<std::uint32_t>(1, s.s.limits.max_array_bytes / 8);
      slot->max_count = slot->soft != nullptr && slot->soft->kind == "array" ? slot->soft->max_length
                        : info != nullptr && info->max_length > 0
                            ? std::min(info->max_length, most)
                            : static_cast<std::uint32_t>(std::max<std::size_t>(1, array->size()));
    }
    slot->value = pv_value(*slot, r, slot->soft ? slot->soft->type : ca_pv::native_type(r.value, info));
    slot->posted = {slot->value.elements, slot->value.elements};
    slot->seq = r.seq;
    return;
  }
  Pv& pv = *slot;
  // A write takes its reading at once (so the circuit's next read sees it)
  // and the feed brings the same reading again, later, behind every reading
  // published before it: the same one would be posted twice (mdel < 0), an
  // older one would turn the PV back (a read and the monitors would see a
  // burst of writes replayed, or a device's read-back replaced by a poll
  // from before the write). The feed keeps publish order, and the bus
  // numbers every reading in that order (Reading::seq), so one numbered at
  // or below the PV's is one it has already passed. The number, not the
  // time stamps: two publishes in one instant (the virtual clock stands
  // still while the loop works; two WRITEs in one segment are one turn) have
  // equal stamps, and the second, a different value, was taken for a copy of
  // the first and lost: the PV kept the first value while the bus held the
  // second. A reading the bus never numbered (seq 0) is taken as it is.
  if (r.seq != 0 && r.seq <= pv.seq) return;
  if (r.seq != 0) pv.seq = r.seq;
  ca::Value next = pv_value(pv, r, pv.value.type);
  const std::uint16_t events = ca_pv::events_for(pv.posted, pv.value, next, pv.info ? pv.info->monitor_deadband : 0,
                                                 pv.info ? pv.info->archive_deadband : 0);
  pv.value = std::move(next);
  post_events(pv, events);
}

void on_provided(Server& s, Pv& pv, const ProvidedValue& v) {
  (void)s;
  ca::Value next = v.value;
  next.type = pv.value.type;  // as CREATE_CHAN said (a provider keeps the native type; defensive)
  std::uint16_t events = ca_pv::events_for(pv.posted, pv.value, next, 0, 0);
  if (next.meta != pv.value.meta) events |= ca::dbe_property;
  pv.value = std::move(next);
  post_events(pv, events);
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

}  // namespace weft::apps::ca_server
