// upload: store-and-forward of recorded readings to an MQTT broker (QoS 1).
// Rows are read from the store in seq order in batches, one JSON message per
// batch (per batch and point when the topic has {point}), and marked
// delivered only when the broker's PUBACK for every message of the batch
// has arrived (durably, before the next step). Duplicates are possible only
// for batches in flight at a disconnect or a crash: they are resent, with
// the same batch id while this process lives; every reading carries its seq.
//
// What is sent: readings up to the store's committed_seq. Under
// synchronous = full they are on disk; under normal a power cut may still
// take the last of them from the store after they were sent (the broker has
// them, the store records their seqs as a gap). A seq is never given to a
// second reading (store.hpp), so dropping duplicates by seq is safe.
// While the store has given up on its file (record fails and reopens it)
// nothing new is sent, and batches acknowledged meanwhile are marked
// delivered once the store is open again (resent first on a reconnect).
//
// Live first: when the newest rows are more than one batch ahead, the next
// live batch is the newest rows, and what it jumped over becomes backlog,
// drained behind the live data at `backlog_rate` with one in-flight slot
// always kept for live data (upload_ledger.hpp draws the seq space).
//
//   connecting --CONNACK 0--> connected --lost--> backoff --> connecting
//        \--refused/unreachable/timeout--> backoff (doubling, with jitter)
// Each state change (and each new reason) is logged once, not every retry.
// Ready once the store is open, before the first connection attempt: a box
// must start with its broker down or unresolvable, and an attempt may take
// longer than a start timeout. Needs "record" (the store is open then).
// The MQTT client is driven by this coroutine only: no libmosquitto thread.
//
// Remote config (README "Remote configuration"): with accept_config, each
// connection subscribes to <topic_prefix>/config/set and hands what
// arrives to the reload coordinator (remote_config.hpp); on every
// connection, results waiting in the coordinator's outbox are published
// to <topic_prefix>/config/result (QoS 1) and reported once acknowledged:
// that is how a change touching reachability is confirmed.
//
// [service.upload]: keys in upload_config.cpp. Console: `upload`.
//
// Files in apps/upload/ (public headers apps/include/weft/apps/upload/):
//   upload.cpp          this service: connection states, batches, `upload`
//   upload_config.cpp   [service.upload]: every key, its default and check
//   upload_json.cpp     the message encoding
//   upload_ledger.cpp   in-flight ranges, live vs backlog cursors (no I/O)
#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <source_location>
#include <tuple>
#include <variant>
#include <unordered_map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "weft/apps/assembly/catalog.hpp"
#include "weft/apps/reload/reload_coordinator.hpp"
#include "weft/apps/reload/remote_config.hpp"
#include "weft/apps/upload/upload_config.hpp"
#include "weft/apps/upload/upload_json.hpp"
#include "weft/apps/upload/upload_ledger.hpp"
#include "weft/core/context.hpp"
#include "weft/core/service_stats.hpp"
#include "weft/core/timers.hpp"
#include "weft/drivers/mqtt/client.hpp"
#include "weft/drivers/store/store.hpp"

namespace weft::apps {
namespace {

using namespace boost::asio::experimental::awaitable_operators;
using boost::asio::awaitable;

struct Counters {
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_acked = 0;
  std::uint64_t messages_resent = 0;
  std::uint64_t rows_delivered = 0;
  std::uint64_t batches_delivered = 0;
  std::uint64_t connects = 0;
  std::uint64_t configs_received = 0;
  std::string state = "starting";
  std::string last_error;
};

// Rows/s for the backlog: `rate` tokens a second, at most one batch's worth.
class TokenBucket {
public:
  TokenBucket(double rate, double capacity, MonoTime now) : rate_(rate), capacity_(capacity), tokens_(capacity), at_(now) {}
  bool has(double n, MonoTime now) {
    refill(now);
    return tokens_ >= n;
  }
  void take(double n) { tokens_ -= n; }
  MonoTime ready_at(double n, MonoTime now) {
    refill(now);
    if (tokens_ >= n) return now;
    return now + std::chrono::duration_cast<Duration>(std::chrono::duration<double>((n - tokens_) / rate_));
  }

private:
  void refill(MonoTime now) {
    tokens_ = std::min(capacity_, tokens_ + std::chrono::duration<double>(now - at_).count() * rate_);
    at_ = now;
  }
  double rate_, capacity_, tokens_;
  MonoTime at_;
};

class Uploader {
public:
  Uploader(Context& ctx, const UploadSettings& s, store::Store& store, RemoteConfigLink* link)
      : ctx_(ctx),
        s_(s),
        store_(store),
        link_(link),
        set_topic_(s.topic_prefix + "/config/set"),
        result_topic_(s.topic_prefix + "/config/result"),
        ledger_(s.max_in_flight),
        backlog_batch_(std::clamp<std::size_t>(static_cast<std::size_t>(s.backlog_rate), 1, s.batch_rows)),
        bucket_(s.backlog_rate, static_cast<double>(backlog_batch_), ctx.clock().now()),
        rng_(static_cast<std::uint64_t>(ctx.clock().wall_ns())),
        wake_(ctx.executor()) {}

  awaitable<void> run() {
    // Record opened it; a store that failed is record's to reopen.
    if (store_.health().state == store::StoreHealth::State::closed) co_await store_.open();
    mqtt::Client client(ctx_.executor(), ctx_.timers(), s_.client);
    CommandRegistration command = ctx_.add_command({.name = "upload",
                                                    .usage = "upload",
                                                    .help = "MQTT upload: state, messages, rows delivered, backlog",
                                                    .handler = [this](const CommandArgs&) -> awaitable<CommandReply> {
                                                      CommandReply reply;
                                                      reply.text = describe();
                                                      co_return reply;
                                                    }});
    const mqtt::BlockingRunner blocking = [this](std::function<void()> work) { return ctx_.blocking(std::move(work)); };
    ctx_.log().info("uploading to {} as '{}', topic '{}', batches of {} rows, backlog at {} rows/s",
                    s_.client.url.to_string(), s_.client.client_id, s_.topic.text(), s_.batch_rows, s_.backlog_rate);
    // Ready now, before the first attempt: readings are safe in the store
    // whatever the broker does, and an attempt may outlast the start timeout
    // (a DNS lookup on a box without network, connect_timeout).
    if (s_.accept_config && link_ == nullptr)
      ctx_.log().warn("accept_config = true, but this weftd has no live reload (--simulate?): {} is not subscribed",
                      set_topic_);
    // The coordinator hears of every end of a connection, a stop included.
    // A result posted while the session sleeps wakes it (wake_); the hook
    // goes with this run, whichever way it ends.
    if (link_ != nullptr)
      link_->on_post = [this] {
        posted_ = true;
        wake_.cancel();
      };
    struct LinkDown {
      RemoteConfigLink* link;
      ~LinkDown() {
        if (link == nullptr) return;
        link->on_post = nullptr;
        link->link_down("stopped");
      }
    } link_down{link_};
    ctx_.ready();
    Duration backoff = s_.min_backoff;
    for (;;) {
      counters_.state = "connecting";
      mqtt::Error error = co_await client.connect(blocking);
      if (!error) {
        ++counters_.connects;
        backoff = s_.min_backoff;
        note_state("connected", {});
        if (link_ != nullptr) link_->link_up();
        error = co_await session(client);
        client.disconnect();
      }
      note_state(state_name(error), error);
      if (link_ != nullptr) link_->link_down(std::string(state_name(error)) + ": " + error.message);
      co_await ctx_.sleep(jittered(backoff));
      backoff = std::min(s_.max_backoff, backoff * 2);
    }
  }

private:
  static const char* state_name(const mqtt::Error& e) {
    if (e.code == mqtt::errc::refused) return "refused";
    if (e.code == mqtt::errc::connection_lost) return "disconnected";
    // No usable libmosquitto is the box's setup, as a bad option is the config's: no broker would help.
    if (e.code == mqtt::errc::bad_option || e.code == mqtt::errc::no_library) return "misconfigured";
    return "unreachable";
  }

  // One log line per change of state or reason, not one per retry.
  void note_state(const char* state, const mqtt::Error& e) {
    const std::string reason = e ? e.message : std::string();
    counters_.state = state;
    if (state == logged_state_ && reason == logged_reason_) return;
    logged_state_ = state;
    logged_reason_ = reason;
    if (!e) {
      ctx_.log().info("connected to {} (in flight {}, backlog span {} seqs)", s_.client.url.to_string(),
                      ledger_.in_flight_count(), ledger_.backlog_span());
      return;
    }
    counters_.last_error = e.message;
    if (e.code == mqtt::errc::refused)
      ctx_.log().error("{}; retrying with backoff up to {:.1f} s; check username, password and client_id",
                       e.message, std::chrono::duration<double>(s_.max_backoff).count());
    else if (e.code == mqtt::errc::bad_option || e.code == mqtt::errc::no_library)
      ctx_.log().error("{}; retrying with backoff", e.message);
    else
      ctx_.log().warn("{}; readings are kept in the store and sent when the broker is back", e.message);
  }

  Duration jittered(Duration d) {
    std::uniform_real_distribution<double> f(0.8, 1.2);
    return std::chrono::duration_cast<Duration>(d * f(rng_));
  }

  // Runs one connection until it ends; returns why.
  awaitable<mqtt::Error> session(mqtt::Client& client) {
    mids_.clear();
    result_mids_.clear();
    results_sent_.clear();
    if (s_.accept_config && link_ != nullptr) {
      auto r = client.subscribe(set_topic_);
      if (auto* e = std::get_if<mqtt::Error>(&r)) co_return std::move(*e);
    }
    for (auto& [first, batch] : ledger_.in_flight()) {  // resent in seq order, same batch ids
      batch.acked = 0;
      if (auto e = publish(client, batch)) co_return std::move(*e);
      counters_.messages_resent += batch.messages.size();
    }
    for (;;) {
      if (auto e = publish_results(client)) co_return std::move(*e);
      if (auto e = co_await fill(client)) co_return *e;
      // expires_at, not ctx.sleep_until: a cancelled timer returns false
      // instead of throwing, so a stop ends this race with one
      // operation_aborted (from next_event), not "multiple exceptions".
      if (posted_) {  // posted while fill() ran: publish it before sleeping
        posted_ = false;
        continue;
      }
      // The wake branch completes (as_tuple: without throwing) when a result
      // is posted or the race is cancelled; like expires_at, a stop then
      // ends the race with next_event's operation_aborted alone.
      wake_.expires_at(boost::asio::steady_timer::time_point::max());
      std::variant<mqtt::Event, bool, std::tuple<boost::system::error_code>> outcome;
      {
        AwaitSiteScope site(ctx_.stats(), "mqtt PUBACK or next live poll",
                            std::source_location::current(), ctx_.clock().now());
        outcome = co_await (client.next_event() || expires_at(ctx_.timers(), next_wake(), s_.live_period / 10) ||
                            wake_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable)));
      }
      if (outcome.index() != 0) {
        posted_ = false;
        continue;
      }
      mqtt::Event event = std::move(std::get<0>(outcome));
      switch (event.kind) {
        case mqtt::Event::Kind::lost: co_return event.error;
        case mqtt::Event::Kind::subscribed: on_subscribed(event); break;
        case mqtt::Event::Kind::message: on_message(event); break;
        case mqtt::Event::Kind::acked:
          if (const auto it = result_mids_.find(event.mid); it != result_mids_.end()) {
            const std::uint64_t seq = it->second;
            result_mids_.erase(it);
            if (link_ != nullptr) link_->published(seq);
            break;
          }
          co_await on_ack(event.mid);
          break;
      }
    }
  }

  // Results the coordinator has for the broker, each once per connection
  // (again on the next one if no PUBACK came).
  std::optional<mqtt::Error> publish_results(mqtt::Client& client) {
    if (link_ == nullptr) return std::nullopt;
    for (const auto& result : link_->outbox()) {
      if (results_sent_.contains(result.seq)) continue;
      auto r = client.publish(result_topic_, result.json);
      if (auto* e = std::get_if<mqtt::Error>(&r)) return std::move(*e);
      results_sent_.insert(result.seq);
      result_mids_[std::get<int>(r)] = result.seq;
    }
    return std::nullopt;
  }

  // The SUBACK of config/set. Refused (the broker's ACL): remote config
  // cannot work on this connection; an error in the log (once until it is
  // granted again, not at every reconnect) and in `upload`, never silence.
  void on_subscribed(const mqtt::Event& event) {
    if (event.error) {
      if (remote_error_ != event.error.message)
        ctx_.log().error("remote config does not work: {} (and write access to '{}'); weft retries at the next "
                         "connection",
                         event.error.message, result_topic_);
      remote_error_ = event.error.message;
      return;
    }
    if (!remote_error_.empty()) ctx_.log().info("the broker now grants the subscription to '{}'", set_topic_);
    remote_error_.clear();
    ctx_.log().info("accepting remote config on '{}' (results on '{}', at most {} bytes)", set_topic_, result_topic_,
                    s_.max_config_bytes);
  }

  // A config/set message: to the coordinator, or refused here (retained,
  // too large). Only the topic subscribed to is accepted.
  void on_message(const mqtt::Event& event) {
    if (!s_.accept_config || link_ == nullptr || event.topic != set_topic_) return;
    ++counters_.configs_received;
    if (event.retained) {
      link_->refuse(set_topic_, event.size,
                    set_topic_ + ": a retained config/set message (" + std::to_string(event.size) +
                        " bytes) is not applied: it would be applied again at every reconnect; clear it "
                        "(mosquitto_pub -r -n -t '" + set_topic_ + "') and publish without retain");
      return;
    }
    if (event.oversized()) {
      link_->refuse(set_topic_, event.size,
                    set_topic_ + ": config of " + std::to_string(event.size) + " bytes is larger than max_config_bytes = " +
                        std::to_string(s_.max_config_bytes) +
                        " ([service.upload]); nothing changed; raise max_config_bytes or send a smaller config");
      return;
    }
    link_->submit(event.payload, set_topic_);
  }

  MonoTime next_wake() {
    const MonoTime now = ctx_.clock().now();
    MonoTime wake = now + s_.live_period;
    if (ledger_.backlog_pending() && ledger_.backlog_slot_free())
      wake = std::min(wake, bucket_.ready_at(static_cast<double>(backlog_batch_), now));
    return std::max(wake, now + std::chrono::milliseconds(1));
  }

  // Publishes what the in-flight slots and the backlog rate allow. Every
  // step awaits the store, so a huge backlog yields the loop at each batch.
  awaitable<std::optional<mqtt::Error>> fill(mqtt::Client& client) {
    if (!store_.is_open()) co_return std::nullopt;  // record reopens it; nothing to read meanwhile
    while (!unmarked_.empty()) {
      const std::uint64_t first = *unmarked_.begin();
      unmarked_.erase(unmarked_.begin());
      co_await settle(first);
      if (!store_.is_open()) co_return std::nullopt;
    }
    for (bool progressed = true; progressed;) {
      progressed = false;
      if (ledger_.live_slot_free()) {
        const std::uint64_t committed = store_.committed_seq();
        if (committed > ledger_.live_cursor()) {
          std::vector<store::StoredReading> fetched;
          UploadLedger::Rows rows;
          if (committed - ledger_.live_cursor() > s_.batch_rows) {
            fetched = co_await store_.newest_undelivered(s_.batch_rows);
            rows = ledger_.take_newest(fetched, committed);
          } else {
            fetched = co_await store_.undelivered(ledger_.live_cursor(), s_.batch_rows);
            rows = ledger_.take_live(fetched, committed);
          }
          if (!rows.empty()) {
            if (auto e = send_new(client, rows, false)) co_return e;
            progressed = true;
          }
        }
      }
      const MonoTime now = ctx_.clock().now();
      if (ledger_.backlog_slot_free() && ledger_.backlog_pending() &&
          bucket_.has(static_cast<double>(backlog_batch_), now)) {
        const auto fetched = co_await store_.undelivered(ledger_.backlog_query_after(), backlog_batch_);
        const UploadLedger::Rows rows = ledger_.take_backlog(fetched);
        if (!rows.empty()) {
          bucket_.take(static_cast<double>(rows.size()));
          if (auto e = send_new(client, rows, true)) co_return e;
        }
        progressed = true;  // a batch, or the cursor moved on
      }
    }
    co_return std::nullopt;
  }

  std::optional<mqtt::Error> send_new(mqtt::Client& client, const UploadLedger::Rows& rows, bool backlog) {
    Batch batch;
    batch.first_seq = rows.front()->seq;
    batch.last_seq = rows.back()->seq;
    batch.rows = rows.size();
    batch.backlog = backlog;
    const BatchHeader header{batch.first_seq, batch.last_seq, s_.device, backlog};
    if (s_.topic.uses_point()) {
      std::map<std::string_view, UploadLedger::Rows> by_point;  // one message per point, readings ascending
      for (const auto* r : rows) by_point[r->reading.point].push_back(r);
      for (const auto& [point, group] : by_point)
        batch.messages.push_back({s_.topic.expand(s_.device, point), encode_batch(header, group)});
    } else {
      batch.messages.push_back({s_.topic.expand(s_.device, ""), encode_batch(header, rows)});
    }
    const std::uint64_t first = batch.first_seq;
    ledger_.add(std::move(batch));
    return publish(client, *ledger_.find(first));
  }

  std::optional<mqtt::Error> publish(mqtt::Client& client, Batch& batch) {
    ++batch.sends;
    for (std::size_t i = 0; i < batch.messages.size(); ++i) {
      auto r = client.publish(batch.messages[i].topic, batch.messages[i].payload);
      if (auto* e = std::get_if<mqtt::Error>(&r)) return std::move(*e);
      mids_[std::get<int>(r)] = {batch.first_seq, i};
      ++counters_.messages_sent;
    }
    return std::nullopt;
  }

  awaitable<void> on_ack(int mid) {
    const auto it = mids_.find(mid);
    if (it == mids_.end()) co_return;  // not ours on this connection
    const std::uint64_t first = it->second.first;
    mids_.erase(it);
    ++counters_.messages_acked;
    Batch* batch = ledger_.find(first);
    if (batch == nullptr || ++batch->acked < batch->messages.size()) co_return;
    co_await settle(first);
  }

  // Every message of the batch is acknowledged: mark it delivered (durable
  // before we go on). A store that has failed keeps the batch for later.
  awaitable<void> settle(std::uint64_t first) {
    Batch* batch = ledger_.find(first);
    if (batch == nullptr) co_return;
    const std::uint64_t last = batch->last_seq;
    const std::size_t rows = batch->rows;
    try {
      co_await store_.mark_delivered(first, last);
    } catch (const store::StoreError& e) {
      if (store_.is_open()) throw;  // not the store failing: a bug, fail the service
      if (unmarked_.empty())
        ctx_.log().warn("acknowledged batch {}..{} not marked delivered: {}; marked once the store is open again",
                        first, last, e.what());
      unmarked_.insert(first);
      co_return;
    }
    ledger_.erase(first);
    counters_.rows_delivered += rows;
    ++counters_.batches_delivered;
  }

  std::string describe() const {
    const auto& c = counters_;
    return fmt::format(
        "broker {} ({}), client id {}\nstate {}{}\nmessages sent {}, acked {}, resent {}\nrows delivered {} in {} "
        "batches; in flight {} batches; live up to seq {}; backlog span {} seqs\nremote config {} ({} received; "
        "results on {})\n",
        s_.client.url.to_string(), s_.topic.text(), s_.client.client_id, c.state,
        c.last_error.empty() ? "" : " (last error: " + c.last_error + ")", c.messages_sent, c.messages_acked,
        c.messages_resent, c.rows_delivered, c.batches_delivered, ledger_.in_flight_count(), ledger_.live_cursor(),
        ledger_.backlog_span(),
        !s_.accept_config           ? std::string("not accepted")
        : !remote_error_.empty()    ? "NOT WORKING: " + remote_error_
                                    : "accepted on " + set_topic_,
        c.configs_received, result_topic_);
  }

  Context& ctx_;
  const UploadSettings& s_;
  store::Store& store_;
  RemoteConfigLink* link_;  // null: no live reload (--simulate, tests)
  std::string set_topic_;
  std::string result_topic_;
  std::unordered_map<int, std::uint64_t> result_mids_;  // this connection: message id -> outbox seq
  std::set<std::uint64_t> results_sent_;                // outbox seqs published on this connection
  UploadLedger ledger_;
  std::size_t backlog_batch_;  // rows per backlog batch: at most one second of backlog_rate
  TokenBucket bucket_;
  std::mt19937_64 rng_;
  boost::asio::steady_timer wake_;  // cancelled by RemoteConfigLink::on_post
  bool posted_ = false;             // a result was posted since the last publish_results
  // Message id -> (batch first_seq, message index), for the current connection only.
  std::unordered_map<int, std::pair<std::uint64_t, std::size_t>> mids_;
  std::set<std::uint64_t> unmarked_;  // first seqs of acknowledged batches not yet marked delivered (store failed)
  Counters counters_;
  std::string logged_state_;  // the last state and reason logged: one line per change
  std::string logged_reason_;
  std::string remote_error_;  // the broker refused config/set (SUBACK 0x80): why; empty once granted
};

}  // namespace

ServiceFactory upload_factory(const RunMode& mode, store::Store* store) {
  RemoteConfigLink* link = mode.reload != nullptr ? &mode.reload->remote() : nullptr;
  return {"upload", "sends recorded readings to an MQTT broker (QoS 1, store-and-forward)",
          [store, link](const ConfigSection& section, const ConfigSection&, RestartPolicy policy) {
            auto settings = std::make_shared<const UploadSettings>(read_upload_settings(section));
            auto needs = settings->needs;
            return coroutine_service("upload", std::move(needs), policy, [settings, store, link](Context& ctx) -> awaitable<void> {
              Uploader uploader(ctx, *settings, *store, link);
              co_await uploader.run();
            });
          },
          {},
          [store](const ConfigSection& section, const ConfigSection& root) {
            if (store == nullptr)
              throw ConfigError(section.where("") + ": service.upload: there is no store to upload from; add a "
                                                    "[store] table and enable [service.record]");
            const auto services = root.table("service");
            const auto record = services ? services->table("record") : std::nullopt;
            if (!record || !record->boolean("enabled", true))
              throw ConfigError(section.where("") + ": service.upload: uploads what the record service stores, "
                                                    "but [service.record] is not enabled; add a [service.record] table");
          }};
}

}  // namespace weft::apps
