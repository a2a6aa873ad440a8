// Names the ca service does not serve itself, asked of the name provider
// registered on the bus (name_provider.hpp; the ca_gateway, for its
// `proxy` patterns), served under the name asked for.
//
// Guarantees:
// - A SEARCH (UDP, or over TCP) or CREATE_CHAN for a name the provider is
//   still looking for is held (at most Provided::kMaxHeld requests, each at
//   most the provider's hold_time()) and answered when it resolves: a
//   search reply / the channel when found; when not found (dead, hold time
//   over, the provider stopped) NOT_FOUND only to a DO_REPLY search,
//   CREATE_CH_FAIL to a create, nothing to other searches (pitfall 13).
// - A repeat of a held search (same client address and search ID: libca
//   repeats until answered) is not held again, so it is answered once.
// - A circuit that closes drops its held requests (drop_held, from its
//   destructor): nothing is answered on a circuit that is gone.
// - A provided PV lives in the table while a channel holds it (the provider
//   holds the name upstream meanwhile) and goes with its last channel
//   (released at the provider). Its reads come from its value, which the
//   provider's updates replace (monitors get DBE_VALUE/LOG/ALARM by the
//   value, DBE_PROPERTY when the metadata changed). It is read-only.
// - A provided name lost upstream, or the provider stopping, disconnects
//   each of its channels (SERVER_DISCONN with the channel's cid): libca
//   searches again, and a search held until the name is back reconnects it.
// - The service holds no pointer into the provider: it asks
//   NameProviders::of(bus).provider() each time (null: not served).
#include <spdlog/spdlog.h>

#include "ca_server.hpp"

namespace weft::apps::ca_server {
namespace {

NameProvider* provider(const Server& s) { return NameProviders::of(s.ctx.bus()).provider(); }

void send_datagram(udp::socket& sock, const udp::endpoint& to, std::vector<std::uint8_t> bytes) {
  auto buf = std::make_shared<std::vector<std::uint8_t>>(std::move(bytes));
  // Never waits; a full socket buffer drops it (the client searches again).
  sock.async_send_to(asio::buffer(*buf), to, [buf](const boost::system::error_code&, std::size_t) {});
}

void answer_search(Server& s, const HeldSearch& q, bool found) {
  if (!found && !q.do_reply) return;
  std::vector<std::uint8_t> out;
  ca::encode(out, ca::Version{ca::version_sequence_valid, ca::minor_version, q.sequence});
  if (found) {
    ca::encode(out, ca::SearchReply{s.search.tcp_port, ca::search_reply_use_sender, q.search_id, ca::minor_version});
  } else {
    ca::encode(out, ca::NotFound{q.client_minor, q.search_id});
  }
  send_datagram(*q.sock, q.from, std::move(out));
}

void answer_on_circuit(Server& s, const std::string& name, const HeldCreate& h, bool found) {
  Circuit& c = *h.circuit;
  if (h.search) {  // over TCP: only a hit is answered
    if (found) {
      ca::encode(c.out, ca::SearchReply{s.search.tcp_port, ca::search_reply_use_sender, h.cid, 0});
      c.notify();
    }
    return;
  }
  Pv* pv = found && c.channels.size() < s.s.max_channels ? provided_pv(s, name) : nullptr;
  if (pv != nullptr) {
    open_channel(c, h.cid, Target{pv, ca_pv::Field::val});
    return;
  }
  ca::encode(c.out, ca::CreateChFail{h.cid});
  c.notify();
}

void answer(Server& s, const std::string& name, const HeldRequest& r, bool found) {
  if (const auto* q = std::get_if<HeldSearch>(&r)) {
    answer_search(s, *q, found);
  } else {
    answer_on_circuit(s, name, std::get<HeldCreate>(r), found);
  }
}

bool hold(Server& s, NameProvider& p, const std::string& name, HeldRequest r) {
  Provided& pr = s.provided;
  const bool idle = pr.held.size() == 0;
  if (!pr.held.add(name, std::move(r), s.ctx.clock().now() + p.hold_time())) {
    if (pr.refused_full++ == 0) {
      s.ctx.log().warn("ca: {} requests already wait for a name provider; {} not held (the client searches again); "
                       "further refusals are not logged",
                       Provided::kMaxHeld, name);
    }
    return false;
  }
  if (idle) pr.wake.cancel();  // every hold lasts hold_time: only the first can be the earliest
  return true;
}

}  // namespace

Provided::Provided(Server& server) : s(server), wake(server.ctx.executor()) {
  wake.expires_at(asio::steady_timer::time_point::max());
}

Provide provide_search(Server& s, const ca::Search& q, udp::socket& sock, const udp::endpoint& from,
                       std::uint32_t sequence) {
  NameProvider* p = provider(s);
  if (p == nullptr) return Provide::no;
  const std::string name = q.name;
  switch (p->lookup(name)) {
    case Lookup::connected: return Provide::now;
    case Lookup::pending: {
      // libca repeats a search until it is answered: a repeat of one held already is not held twice
      // (it would be answered twice).
      const bool repeat = s.provided.held.holds(name, [&](const HeldRequest& r) {
        const auto* h = std::get_if<HeldSearch>(&r);
        return h != nullptr && h->from == from && h->search_id == q.search_id;
      });
      if (repeat) {
        ++s.provided.repeats;
        return Provide::held;
      }
      if (!hold(s, *p, name, HeldSearch{&sock, from, q.search_id, sequence, q.client_minor, q.do_reply})) {
        return Provide::no;
      }
      ++s.provided.searches_held;
      return Provide::held;
    }
    case Lookup::dead:
    case Lookup::not_mine: break;
  }
  return Provide::no;
}

bool provide_on_circuit(Circuit& c, const std::string& name, std::uint32_t cid, bool search) {
  Server& s = c.server;
  NameProvider* p = provider(s);
  if (p == nullptr) return false;
  switch (p->lookup(name)) {
    case Lookup::connected: answer_on_circuit(s, name, HeldCreate{&c, cid, search}, true); return true;
    case Lookup::pending:
      if (!hold(s, *p, name, HeldCreate{&c, cid, search})) return false;
      ++s.provided.creates_held;
      return true;
    case Lookup::dead:
    case Lookup::not_mine: break;
  }
  return false;
}

Pv* provided_pv(Server& s, const std::string& name) {
  if (const auto it = s.pvs.find(name); it != s.pvs.end()) return it->second.get();
  NameProvider* p = provider(s);
  if (p == nullptr) return nullptr;
  std::optional<ProvidedValue> v = p->value(name);
  if (!v) return nullptr;
  auto pv = std::make_unique<Pv>();
  pv->name = name;
  pv->provided = true;
  pv->max_count = std::max<std::uint32_t>(1, v->native_count);
  pv->is_array = v->native_count > 1;
  pv->value = std::move(v->value);
  pv->posted = {pv->value.elements, pv->value.elements};
  Pv* raw = pv.get();
  s.pvs.emplace(name, std::move(pv));
  p->hold(name);
  return raw;
}

void drop_provided(Server& s, Pv& pv) {
  const std::string name = pv.name;  // pv goes with the erase
  s.pvs.erase(name);
  if (NameProvider* p = provider(s)) p->release(name);
}

void drop_held(Server& s, const Circuit& c) {
  s.provided.held.remove_if([&c](const HeldRequest& r) {
    const auto* h = std::get_if<HeldCreate>(&r);
    return h != nullptr && h->circuit == &c;
  });
}

void Provided::resolved(const std::string& name, bool connected) {
  const std::vector<HeldRequest> requests = held.take(name);
  if (requests.empty()) return;  // not asked by this run (an earlier one's), or answered already
  for (const HeldRequest& r : requests) answer(s, name, r, connected);
  (connected ? answered : failed) += requests.size();
}

void Provided::update(const std::string& name, const ProvidedValue& value) {
  const auto it = s.pvs.find(name);
  if (it == s.pvs.end() || !it->second->provided) return;
  on_provided(s, *it->second, value);
}

void Provided::lost_name(const std::string& name, bool provider_there) {
  const auto it = s.pvs.find(name);
  if (it == s.pvs.end() || !it->second->provided) return;
  ++lost_upstream;
  const std::vector<Channel*> channels = std::move(it->second->channels);
  it->second->channels.clear();
  for (Channel* ch : channels) {
    Circuit& c = *ch->circuit;
    ca::encode(c.out, ca::ServerDisconn{ch->cid});
    c.notify();
    c.subscription_count -= ch->monitors.size();
    c.channels.erase(ch->sid);  // destroys *ch
  }
  s.pvs.erase(it);
  if (!provider_there) return;
  if (NameProvider* p = provider(s)) p->release(name);
}

void Provided::provider_gone() {
  ++provider_stops;
  const auto requests = held.take_all();
  for (const auto& [name, r] : requests) answer(s, name, r, false);
  std::vector<std::string> names;
  for (const auto& [name, pv] : s.pvs) {
    if (pv->provided) names.push_back(name);
  }
  for (const std::string& name : names) lost_name(name, false);
  if (!requests.empty() || !names.empty()) {
    s.ctx.log().info("ca: the name provider stopped: {} held request(s) answered as not found, {} provided PV(s) "
                     "disconnected",
                     requests.size(), names.size());
  }
}

asio::awaitable<void> provided_loop(Server& s) {
  Provided& pr = s.provided;
  for (;;) {
    const MonoTime now = s.ctx.clock().now();
    for (const auto& [name, r] : pr.held.expire(now)) {
      answer(s, name, r, false);
      ++pr.expired;
    }
    const std::optional<MonoTime> next = pr.held.next_deadline();
    if (next) {
      pr.wake.expires_after(std::chrono::duration_cast<asio::steady_timer::duration>(*next - now));
    } else {
      pr.wake.expires_at(asio::steady_timer::time_point::max());
    }
    co_await pr.wake.async_wait(kTuple);
    const auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return;
  }
}

}  // namespace weft::apps::ca_server
