// Names the box's CA server does not serve itself, asked of a provider
// (the seam between the ca service and a service that can find names
// elsewhere: the ca_gateway, which finds them upstream). Neither service
// knows the other: the provider and the consumer (ca) each register on the
// runtime's NameProviders (one per bus) and reach each other only through
// it, by name, at the moment they call. Neither holds a pointer, callback
// or reference into the other, so either may stop at any moment:
//
//   - a provider unregistering (its stop) tells the consumer provider_gone()
//     first: the consumer answers what it held pending (NOT_FOUND to a
//     DO_REPLY search, CREATE_CH_FAIL to a create), disconnects its channels
//     to provided names, and from then on every unknown name is not_mine
//     (today's answer: not served);
//   - a consumer unregistering (its stop) tells the provider consumer_gone():
//     every hold() it had is released; a resolution the provider sends later
//     finds no consumer and is dropped;
//   - a restarted consumer gets resolutions for names it never asked for
//     (asked by its previous run): it ignores them.
//
// Loop thread only. PendingNames (below) is the consumer's bookkeeping of
// requests waiting for a name: pure, over time points passed in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "weft/core/clock.hpp"
#include "weft/drivers/ca/dbr.hpp"

namespace weft {
class Bus;
}

namespace weft::apps::ca_server {

// What a provider says of a name.
enum class Lookup : std::uint8_t {
  not_mine,   // no provider, or not a name it provides: the consumer's own answer (not served)
  connected,  // connected, with a value: serve it now (value())
  dead,       // known not to exist (a negative cache): no search, no answer but to DO_REPLY
  pending,    // being looked for: resolved(name, ...) follows, within hold_time()
};
std::string_view to_string(Lookup l) noexcept;

struct ProvidedValue {
  ca::Value value;                // value, alarm, time stamp, metadata (units, limits, enum strings)
  std::uint32_t native_count = 1;  // the element count CREATE_CHAN gives
};

class NameProvider {
public:
  virtual ~NameProvider() = default;
  // A name the consumer does not serve. May start a search (pending).
  virtual Lookup lookup(const std::string& name) = 0;
  // How long a pending lookup may take (the consumer drops requests older than this).
  virtual Duration hold_time() const = 0;
  // The current value of a connected name (nullopt: not connected, no value yet).
  virtual std::optional<ProvidedValue> value(const std::string& name) = 0;
  // The consumer opened its first channel to `name` / closed its last one.
  virtual void hold(const std::string& name) = 0;
  virtual void release(const std::string& name) = 0;
  // The consumer stopped: every hold it had is released.
  virtual void consumer_gone() = 0;
};

class NameConsumer {
public:
  virtual ~NameConsumer() = default;
  // A pending lookup ended: connected (value() has it) or not (dead, timed out).
  virtual void resolved(const std::string& name, bool connected) = 0;
  // A held name's new value or metadata.
  virtual void update(const std::string& name, const ProvidedValue& value) = 0;
  // A held name was lost (its upstream went away): the consumer drops its channels.
  virtual void lost(const std::string& name) = 0;
  // The provider stopped (see the top).
  virtual void provider_gone() = 0;
};

// The rendezvous, one per bus. At most one provider and one consumer.
class NameProviders {
public:
  static NameProviders& of(const Bus& bus);  // created on first use; gone when nobody is registered

  // Unregisters on destruction (and tells the other side, see the top).
  class Registration {
  public:
    Registration() = default;
    Registration(Registration&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)), provider_(o.provider_) {}
    Registration& operator=(Registration&& o) noexcept;
    ~Registration() { reset(); }
    void reset() noexcept;

  private:
    friend class NameProviders;
    Registration(NameProviders* owner, bool provider) : owner_(owner), provider_(provider) {}
    NameProviders* owner_ = nullptr;
    bool provider_ = false;
  };

  // Throws std::runtime_error when one is registered already.
  [[nodiscard]] Registration add_provider(NameProvider& p);
  [[nodiscard]] Registration add_consumer(NameConsumer& c);
  NameProvider* provider() const noexcept { return provider_; }
  NameConsumer* consumer() const noexcept { return consumer_; }

  // For tests: a rendezvous not tied to a bus.
  NameProviders() = default;
  NameProviders(const NameProviders&) = delete;
  NameProviders& operator=(const NameProviders&) = delete;

private:
  void drop(bool provider) noexcept;
  NameProvider* provider_ = nullptr;
  NameConsumer* consumer_ = nullptr;
  const Bus* bus_ = nullptr;  // the key it is kept under (null: a test's own)
};

// Requests waiting for names, each with a deadline. A name's requests are
// taken together (its resolution) or one by one as their deadline passes;
// at most `max` requests in all (add() refuses more).
template <typename Request>
class PendingNames {
public:
  explicit PendingNames(std::size_t max) : max_(max) {}

  struct Entry {
    Request request;
    MonoTime deadline;
  };
  // False: `max` requests are waiting already (not added).
  bool add(const std::string& name, Request request, MonoTime deadline) {
    if (size_ >= max_) return false;
    by_name_[name].push_back(Entry{std::move(request), deadline});
    ++size_;
    return true;
  }
  // Every request waiting for `name`, removed.
  std::vector<Request> take(const std::string& name) {
    std::vector<Request> out;
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) return out;
    for (auto& e : it->second) out.push_back(std::move(e.request));
    size_ -= it->second.size();
    by_name_.erase(it);
    return out;
  }
  // The requests whose deadline is at or before `now`, removed, with their names.
  std::vector<std::pair<std::string, Request>> expire(MonoTime now) {
    std::vector<std::pair<std::string, Request>> out;
    for (auto it = by_name_.begin(); it != by_name_.end();) {
      auto& list = it->second;
      for (auto e = list.begin(); e != list.end();) {
        if (e->deadline <= now) {
          out.emplace_back(it->first, std::move(e->request));
          e = list.erase(e);
          --size_;
        } else {
          ++e;
        }
      }
      it = list.empty() ? by_name_.erase(it) : std::next(it);
    }
    return out;
  }
  // Removes every request `pred` is true for (a circuit that closed).
  template <typename Pred>
  void remove_if(Pred pred) {
    for (auto it = by_name_.begin(); it != by_name_.end();) {
      auto& list = it->second;
      for (auto e = list.begin(); e != list.end();) {
        if (pred(e->request)) {
          e = list.erase(e);
          --size_;
        } else {
          ++e;
        }
      }
      it = list.empty() ? by_name_.erase(it) : std::next(it);
    }
  }
  // Everything, removed (the provider stopped).
  std::vector<std::pair<std::string, Request>> take_all() {
    std::vector<std::pair<std::string, Request>> out;
    for (auto& [name, list] : by_name_) {
      for (auto& e : list) out.emplace_back(name, std::move(e.request));
    }
    by_name_.clear();
    size_ = 0;
    return out;
  }
  std::optional<MonoTime> next_deadline() const {
    std::optional<MonoTime> next;
    for (const auto& [name, list] : by_name_) {
      for (const auto& e : list) {
        if (!next || e.deadline < *next) next = e.deadline;
      }
    }
    return next;
  }
  bool waiting(const std::string& name) const { return by_name_.contains(name); }
  // True when a request waiting for `name` satisfies `pred` (a repeat of one held already).
  template <typename Pred>
  bool holds(const std::string& name, Pred pred) const {
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) return false;
    for (const auto& e : it->second) {
      if (pred(e.request)) return true;
    }
    return false;
  }
  std::size_t size() const noexcept { return size_; }

private:
  std::size_t max_;
  std::size_t size_ = 0;
  std::unordered_map<std::string, std::vector<Entry>> by_name_;
};

}  // namespace weft::apps::ca_server
