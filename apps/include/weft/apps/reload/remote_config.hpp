// Remote configuration over MQTT: where the upload service (the link to
// the broker) meets the reload coordinator. Upload hands a TOML document
// received on {topic_prefix}/config/set to submit(); the coordinator runs
// it as a reload transaction (trigger remote) and puts its outcome, as
// JSON, into the outbox; upload publishes every outbox entry on
// {topic_prefix}/config/result (QoS 1) whenever it is connected, and
// reports the broker's PUBACK (published()), which removes the entry.
//
// Reachability: a transaction triggered remotely, or one that adds upload or
// changes its own keys, is kept only once upload has published its outcome
// (connected again, PUBACK received) within remote_settle; the
// coordinator waits for that here (reload_coordinator.cpp, remote_config.cpp).
//
// Bounded: the outbox holds at most kRemoteOutbox results (the oldest goes,
// logged). Plain data and callbacks, no Asio. Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include "weft/apps/reload/reload_outcome.hpp"

namespace weft::apps {

inline constexpr std::size_t kRemoteOutbox = 8;

// The result message (README "Remote configuration"): one JSON object.
//   {"id":42,"result":"applied","trigger":"remote","config_hash":"...",
//    "request_hash":"...","request_bytes":123,"took_us":1234,
//    "errors":["..."],"services":[{"service":"upload","action":"restart","ok":true,"error":""}],
//    "live":["weftd.log_level"]}
// result: applied, unchanged, refused, rolled_back, rollback_failed.
// request_hash: FNV-1a 64 of the config/set payload ("" when not kept).
std::string remote_result_json(const ReloadOutcome& outcome, std::string_view request_hash, std::size_t request_bytes);

class RemoteConfigLink {
public:
  struct Result {
    std::uint64_t seq = 0;       // increasing; published(seq) removes it
    std::uint64_t outcome_id = 0;
    std::string json;
  };

  // --- upload's side ---
  // A config/set payload (at most max_config_bytes): queued as a remote
  // transaction. `source` names it in errors ("weft/box/config/set").
  void submit(std::string text, std::string source);
  // A config/set message refused before any transaction (oversized,
  // retained): its refused result goes to the outbox at once.
  void refuse(std::string source, std::size_t bytes, std::string error);
  // Upload connected (and subscribed) / lost its connection or stopped.
  // `state` is said in a remote_settle failure ("unreachable: cannot connect ...").
  void link_up();
  void link_down(std::string state);
  bool linked() const noexcept { return linked_; }
  const std::string& link_state() const noexcept { return state_; }
  // What is to be published, oldest first.
  const std::deque<Result>& outbox() const noexcept { return outbox_; }
  // The broker acknowledged the result `seq`.
  void published(std::uint64_t seq);

  // --- the coordinator's side ---
  std::uint64_t post(const ReloadOutcome& outcome, std::string_view request_hash, std::size_t request_bytes);
  bool is_published(std::uint64_t seq) const noexcept;
  void withdraw(std::uint64_t seq);  // not to be published any more (a provisional outcome that failed)
  std::function<void(std::string text, std::string source)> on_submit;  // queues the transaction
  std::function<ReloadOutcome(std::string source, std::string error)> on_refuse;  // makes (and logs) the outcome
  std::function<void()> on_change;  // wakes the coordinator's waits
  // Wakes the upload run linked now (set and cleared by it): a result
  // posted while it sleeps is published at once, not at its next live poll.
  std::function<void()> on_post;
  std::function<void(const std::string&)> on_dropped;  // a result dropped from a full outbox (logs it)

private:
  std::deque<Result> outbox_;
  std::deque<std::uint64_t> acked_;  // the last few seqs the broker acknowledged (is_published)
  std::uint64_t next_seq_ = 1;
  bool linked_ = false;
  std::string state_ = "not started";
};

}  // namespace weft::apps
