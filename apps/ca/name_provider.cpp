// The name-provider rendezvous (public name_provider.hpp): one per bus,
// kept in a map by the bus's address while anybody is registered on it and
// erased when the last registration goes, so a later bus at the same
// address never finds a stale one. Unregistering clears the slot before
// the other side is told, so what it calls back finds nobody there.
#include "weft/apps/ca/name_provider.hpp"

#include <map>
#include <memory>
#include <stdexcept>

namespace weft::apps::ca_server {
namespace {

std::map<const Bus*, std::unique_ptr<NameProviders>>& by_bus() {
  static std::map<const Bus*, std::unique_ptr<NameProviders>> map;  // loop thread only
  return map;
}

}  // namespace

std::string_view to_string(Lookup l) noexcept {
  switch (l) {
    case Lookup::not_mine: return "not_mine";
    case Lookup::connected: return "connected";
    case Lookup::dead: return "dead";
    case Lookup::pending: return "pending";
  }
  return "?";
}

NameProviders& NameProviders::of(const Bus& bus) {
  auto& slot = by_bus()[&bus];
  if (!slot) {
    slot = std::make_unique<NameProviders>();
    slot->bus_ = &bus;
  }
  return *slot;
}

NameProviders::Registration& NameProviders::Registration::operator=(Registration&& o) noexcept {
  if (this != &o) {
    reset();
    owner_ = std::exchange(o.owner_, nullptr);
    provider_ = o.provider_;
  }
  return *this;
}

void NameProviders::Registration::reset() noexcept {
  if (NameProviders* owner = std::exchange(owner_, nullptr)) owner->drop(provider_);
}

NameProviders::Registration NameProviders::add_provider(NameProvider& p) {
  if (provider_ != nullptr) throw std::runtime_error("a CA name provider is registered already (one per box)");
  provider_ = &p;
  return Registration(this, true);
}

NameProviders::Registration NameProviders::add_consumer(NameConsumer& c) {
  if (consumer_ != nullptr) throw std::runtime_error("a CA name consumer is registered already (one ca service)");
  consumer_ = &c;
  return Registration(this, false);
}

void NameProviders::drop(bool provider) noexcept {
  if (provider) {
    provider_ = nullptr;
    if (consumer_ != nullptr) consumer_->provider_gone();
  } else {
    consumer_ = nullptr;
    if (provider_ != nullptr) provider_->consumer_gone();
  }
  if (provider_ == nullptr && consumer_ == nullptr && bus_ != nullptr) by_bus().erase(bus_);  // destroys *this
}

}  // namespace weft::apps::ca_server
