// Downstream search proxying: the gateway as the NameProvider the box's ca
// service asks for names it does not serve (weft/apps/ca/name_provider.hpp).
// A name matching a `proxy` pattern is wanted in the upstream table (not
// held): a new one is searched, a connecting or disconnected one joined, a
// dead one answered from the negative cache (no search). The box's ca holds
// the client's search or create meanwhile and is told resolved(name, true)
// with the name's first value after its connect (so the channel it then
// opens has a value to read), or resolved(name, false) when the name dies
// (connect_timeout) or is forgotten. Downstream channels hold the name
// (active); the last one closed releases it (inactive, then forgotten after
// inactive_timeout). Every TIME update and CTRL metadata of a held name
// goes to the consumer once, whatever the number of downstream clients (one
// upstream channel and subscription per name). A held name lost upstream
// is reported lost(): the box drops its channels (clients search again and
// are answered once it is back).
//
// The gateway holds nothing of the consumer: it asks
// NameProviders::of(bus).consumer() each time; with none (ca stopped) every
// answer is dropped, and consumer_gone() released every downstream hold.
#include <fnmatch.h>

#include "gateway.hpp"

namespace weft::apps::ca_gateway {
namespace {

using ca_server::Lookup;

ca_server::NameConsumer* consumer(const Gateway& g) { return ca_server::NameProviders::of(g.ctx.bus()).consumer(); }

bool connected_with_value(const UpstreamPv& pv) {
  return (pv.state == PvState::active || pv.state == PvState::inactive) && pv.last.has_value() && pv.channel;
}

ca_server::ProvidedValue provided(const UpstreamPv& pv) {
  ca_server::ProvidedValue v;
  v.value = *pv.last;
  if (pv.meta) v.value.meta = *pv.meta;
  v.value.type = pv.channel->native_type;
  v.native_count = pv.channel->count;
  return v;
}

}  // namespace

std::string proxy_pattern_fault(const std::string& pattern, std::size_t max_name_length) {
  if (pattern.empty()) return "an empty pattern matches no PV name";
  if (pattern.size() > max_name_length) {
    return "is " + std::to_string(pattern.size()) + " characters; a PV name has at most " +
           std::to_string(max_name_length);
  }
  int depth = 0;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const auto ch = static_cast<unsigned char>(pattern[i]);
    if (ch <= 0x20 || ch >= 0x7F) return "has a space, control or non-ASCII character at position " + std::to_string(i + 1);
    if (ch == '\\') return "has a '\\' (a glob over PV names needs no escapes; use [*] or [?] for a literal * or ?)";
    if (ch == '[') ++depth;
    if (ch == ']' && depth > 0) --depth;
  }
  if (depth != 0) return "has a '[' without its ']'";
  return {};
}

bool proxies(const Gateway& g, const std::string& name) {
  for (const std::string& p : g.s.proxy) {
    if (::fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

Lookup ProxyProvider::lookup(const std::string& name) {
  if (!proxies(g, name)) return Lookup::not_mine;
  ++g.n.proxy_lookups;
  if (const UpstreamPv* pv = g.table.find(name); pv != nullptr && connected_with_value(*pv)) return Lookup::connected;
  switch (g.want(name, false)) {
    case WantResult::dead:
    case WantResult::full: return Lookup::dead;  // negative cache / no room: no search
    case WantResult::search:
    case WantResult::waiting:
    case WantResult::connected: break;  // connected without a value yet: its first value answers
  }
  g.proxy_waiting.insert(g.table.find(name)->id);
  return Lookup::pending;
}

Duration ProxyProvider::hold_time() const { return g.s.timeouts.connect; }

std::optional<ca_server::ProvidedValue> ProxyProvider::value(const std::string& name) {
  const UpstreamPv* pv = g.table.find(name);
  if (pv == nullptr || !connected_with_value(*pv)) return std::nullopt;
  return provided(*pv);
}

void ProxyProvider::hold(const std::string& name) {
  const UpstreamPv* pv = g.table.find(name);
  if (pv == nullptr || g.downstream.contains(pv->id)) return;
  g.want(name, true);
  g.downstream.insert(pv->id);
}

void ProxyProvider::release(const std::string& name) {
  const UpstreamPv* pv = g.table.find(name);
  if (pv == nullptr || g.downstream.erase(pv->id) == 0) return;
  g.table.release(name, g.ctx.clock().now());
  g.expiry_kick.cancel();  // its inactive (or disconnect) timeout starts
}

void ProxyProvider::consumer_gone() {
  const MonoTime now = g.ctx.clock().now();
  for (const std::uint32_t id : g.downstream) {
    if (const UpstreamPv* pv = g.table.find(id)) g.table.release(pv->name, now);
  }
  g.downstream.clear();
  g.proxy_waiting.clear();
  g.expiry_kick.cancel();
}

void proxy_on_time(Gateway& g, const UpstreamPv& pv) {
  ca_server::NameConsumer* c = consumer(g);
  if (g.proxy_waiting.erase(pv.id) != 0 && connected_with_value(pv)) {
    ++g.n.proxy_found;
    if (c != nullptr) c->resolved(pv.name, true);
    return;  // a channel opened now has this value already
  }
  if (c != nullptr && g.downstream.contains(pv.id) && connected_with_value(pv)) c->update(pv.name, provided(pv));
}

void proxy_on_ctrl(Gateway& g, const UpstreamPv& pv) {
  ca_server::NameConsumer* c = consumer(g);
  if (c != nullptr && g.downstream.contains(pv.id) && connected_with_value(pv)) c->update(pv.name, provided(pv));
}

void proxy_on_lost(Gateway& g, const UpstreamPv& pv) {
  if (!g.downstream.contains(pv.id)) return;
  ++g.n.proxy_lost;
  if (ca_server::NameConsumer* c = consumer(g)) {
    c->lost(pv.name);  // releases the hold (ProxyProvider::release)
  } else {
    g.downstream.erase(pv.id);
    g.table.release(pv.name, g.ctx.clock().now());
  }
}

void proxy_on_gone(Gateway& g, std::uint32_t id, const std::string& name) {
  g.downstream.erase(id);  // (a held name is never forgotten; defensive)
  if (g.proxy_waiting.erase(id) == 0) return;
  ++g.n.proxy_not_found;
  if (ca_server::NameConsumer* c = consumer(g)) c->resolved(name, false);
}

}  // namespace weft::apps::ca_gateway
