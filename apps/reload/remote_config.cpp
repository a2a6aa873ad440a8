// Remote configuration (remote_config.hpp) on the coordinator's side: the
// queue's merge rules for remote texts, the link upload publishes
// through, the confirmation a change touching reachability must pass
// (its provisional outcome published by upload within remote_settle), and
// the write of an applied remote text into the config file (atomic, on
// the blocking pool, only after it applied and was confirmed).
//
// Queue (enqueue): at most one file transaction and one remote text wait,
// in arrival order. A file trigger joins the queued file transaction; a
// remote text replaces the queued remote text (the older one gets a
// refused result saying so; the same text again is a duplicate, dropped).
// A remote text is never merged into a file transaction or the other way
// round: neither is lost, and neither silently replaces the other.
#include "weft/apps/reload/remote_config.hpp"

#include <algorithm>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "reload_impl.hpp"
#include "weft/apps/json/json_text.hpp"
#include "weft/apps/upload/upload_config.hpp"
#include "weft/core/atomic_file.hpp"
#include "weft/core/runtime_control.hpp"

namespace weft::apps {
namespace {

std::string result_word(ReloadResult r) {
  switch (r) {
    case ReloadResult::applied: return "applied";
    case ReloadResult::unchanged: return "unchanged";
    case ReloadResult::refused: return "refused";
    case ReloadResult::rolled_back: return "rolled_back";
    case ReloadResult::rollback_failed: return "rollback_failed";
    case ReloadResult::interrupted: return "interrupted";
  }
  return "refused";
}

std::string millis_text(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

}  // namespace

std::string remote_result_json(const ReloadOutcome& o, std::string_view request_hash, std::size_t request_bytes) {
  std::string out = "{\"id\":" + std::to_string(o.id) + ",\"result\":\"" + result_word(o.result) + "\",\"trigger\":";
  append_json_string(out, to_string(o.trigger));
  out += ",\"config_hash\":";
  append_json_string(out, o.config_hash);
  out += ",\"request_hash\":";
  append_json_string(out, request_hash);
  out += ",\"request_bytes\":" + std::to_string(request_bytes) + ",\"took_us\":" + std::to_string(o.took_us);
  out += ",\"errors\":[";
  for (std::size_t i = 0; i < o.errors.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, o.errors[i]);
  }
  out += "],\"services\":[";
  for (std::size_t i = 0; i < o.services.size(); ++i) {
    const auto& s = o.services[i];
    if (i) out += ',';
    out += "{\"service\":";
    append_json_string(out, s.service);
    out += ",\"action\":";
    append_json_string(out, s.action);
    out += std::string(",\"ok\":") + (s.ok ? "true" : "false") + ",\"error\":";
    append_json_string(out, s.error);
    out += '}';
  }
  out += "],\"live\":[";
  for (std::size_t i = 0; i < o.live.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, o.live[i]);
  }
  out += "]}";
  return out;
}

// --- the link ---

void RemoteConfigLink::submit(std::string text, std::string source) {
  if (on_submit) on_submit(std::move(text), std::move(source));
}

void RemoteConfigLink::refuse(std::string source, std::size_t bytes, std::string error) {
  if (!on_refuse) return;
  const ReloadOutcome o = on_refuse(std::move(source), std::move(error));
  post(o, "", bytes);
}

void RemoteConfigLink::link_up() {
  linked_ = true;
  state_ = "connected";
  if (on_change) on_change();
}

void RemoteConfigLink::link_down(std::string state) {
  linked_ = false;
  state_ = std::move(state);
  if (on_change) on_change();
}

void RemoteConfigLink::published(std::uint64_t seq) {
  const auto it = std::find_if(outbox_.begin(), outbox_.end(), [seq](const Result& r) { return r.seq == seq; });
  if (it == outbox_.end()) return;  // a duplicate PUBACK, or withdrawn meanwhile
  outbox_.erase(it);
  acked_.push_back(seq);
  if (acked_.size() > 4 * kRemoteOutbox) acked_.pop_front();
  if (on_change) on_change();
}

bool RemoteConfigLink::is_published(std::uint64_t seq) const noexcept {
  return std::find(acked_.begin(), acked_.end(), seq) != acked_.end();
}

std::uint64_t RemoteConfigLink::post(const ReloadOutcome& outcome, std::string_view request_hash,
                                     std::size_t request_bytes) {
  if (outbox_.size() >= kRemoteOutbox) {
    if (on_dropped) on_dropped(outbox_.front().json);
    outbox_.pop_front();
  }
  const std::uint64_t seq = next_seq_++;
  outbox_.push_back(Result{seq, outcome.id, remote_result_json(outcome, request_hash, request_bytes)});
  if (on_post) on_post();
  return seq;
}

void RemoteConfigLink::withdraw(std::uint64_t seq) {
  std::erase_if(outbox_, [seq](const Result& r) { return r.seq == seq; });
}

// --- the coordinator's side ---

std::uint64_t ReloadCoordinator::Impl::enqueue(QueuedReload request) {
  spdlog::logger& log = *control->logger("weft");
  const bool remote_text = request.text.has_value();
  std::size_t index = 0;
  for (; index < queue.size(); ++index)
    if (queue[index].text.has_value() == remote_text) break;
  std::uint64_t id = 0;
  if (index < queue.size()) {
    QueuedReload& queued = queue[index];
    id = queued.id;
    if (!remote_text) {
      log.info("reload ({}): merged with the reload already queued", to_string(request.trigger));
    } else if (*queued.text == *request.text) {
      log.info("remote config from {}: the same text is already queued (a redelivery?); dropped", request.source);
    } else {
      log.warn("remote config from {}: replaces the remote config queued before it (it never ran)", request.source);
      ReloadOutcome superseded;
      superseded.id = queued.id;
      superseded.trigger = ReloadTrigger::remote;
      superseded.file = queued.source;
      superseded.result = ReloadResult::refused;
      superseded.config_hash = running_hash;
      superseded.errors.push_back(queued.source +
                                  ": superseded by a newer config/set received before this one started (request " +
                                  config_hash(*request.text) + "); nothing changed for it");
      remote.post(superseded, config_hash(*queued.text), queued.text->size());
      recent.push_back(std::move(superseded));  // outcome(id) of the superseded one answers
      if (recent.size() > kRecentReloadOutcomes) recent.pop_front();
      control->notify_change();  // ... now: its waiter need not wait for the running transaction
      id = next_id++;
      request.id = id;
      queued = std::move(request);
    }
  } else {
    id = next_id++;
    request.id = id;
    queue.push_back(std::move(request));
  }
  ensure_runner();
  return id;
}

void ReloadCoordinator::Impl::wire_remote() {
  remote.on_submit = [this](std::string text, std::string source) {
    if (control == nullptr) return;  // not attached: nothing runs yet
    control->logger("weft")->info("remote config: {} bytes from {} (request {})", text.size(), source,
                                  config_hash(text));
    enqueue(QueuedReload{.trigger = ReloadTrigger::remote, .text = std::move(text), .source = std::move(source)});
  };
  remote.on_refuse = [this](std::string source, std::string error) {
    ReloadOutcome o;
    o.trigger = ReloadTrigger::remote;
    o.file = std::move(source);
    o.result = ReloadResult::refused;
    o.config_hash = running_hash;
    o.errors.push_back(std::move(error));
    if (control != nullptr) control->logger("weft")->error("remote config refused: {}", o.errors.front());
    return o;
  };
  remote.on_change = [this] {
    if (control != nullptr) control->notify_change();
  };
  remote.on_dropped = [this](const std::string& json) {
    if (control != nullptr)
      control->logger("weft")->warn("remote config: result dropped unpublished (outbox full, {} kept): {}",
                                    kRemoteOutbox, json.substr(0, 200));
  };
  // Every remote outcome goes out once; the confirmed one already went.
  observers.push_back([this](const ReloadOutcome& o) {
    if (o.trigger != ReloadTrigger::remote) return;
    if (o.id == remote_confirmed_id && o.result == ReloadResult::applied && o.errors.empty()) return;
    remote.post(o, remote_request_hash, remote_request_bytes);
  });
}

bool ReloadCoordinator::Impl::needs_confirmation(const ReloadOutcome& out, const ReloadPlan& plan) const {
  if (out.trigger == ReloadTrigger::remote) return true;
  // A local change is confirmed when it touches [service.upload] itself
  // (added, or its own keys changed): that is what can cut the box off. A
  // restart of upload for its [store] or a service it needs changes
  // nothing about how it reaches the broker, and must not be rolled back
  // merely because the broker is down at the time.
  return std::any_of(plan.services.begin(), plan.services.end(), [](const PlanEntry& e) {
    if (e.service != "upload" || e.action == PlanAction::stop) return false;
    if (e.action == PlanAction::start) return true;
    return std::any_of(e.changes.begin(), e.changes.end(),
                       [](const KeyChange& k) { return k.key.starts_with("service.upload"); });
  });
}

std::string ReloadCoordinator::Impl::remote_refusal(const ReloadPlan& plan, const ConfigSection& next_root) const {
  for (const PlanEntry& e : plan.services)
    if (e.service == "upload" && e.action == PlanAction::stop)
      return "a remote config must keep [service.upload] enabled: without it the box could not be reached to undo "
             "the change; nothing changed (change it locally: edit the file, then SIGHUP or `weftctl reload`)";
  // Upload kept running but no longer subscribed to config/set is out of
  // reach just the same: no later remote config could undo it.
  const auto services = next_root.table("service");
  const auto upload = services ? services->table("upload") : std::nullopt;
  if (upload && !upload->boolean("accept_config", false))
    return "a remote config must keep [service.upload] accept_config = true: without it config/set is not subscribed "
           "to and no remote config could undo the change; nothing changed (change it locally: edit the file, then "
           "SIGHUP or `weftctl reload`)";
  return {};
}

boost::asio::awaitable<Confirmation> ReloadCoordinator::Impl::confirm(const ReloadOutcome& out,
                                                                      const std::string& new_text) {
  RuntimeControl& rc = *control;
  spdlog::logger& log = *rc.logger("weft");
  // The running (previous) config's remote_settle: the bound is set by the
  // config known to reach the broker, not by the one on trial.
  const Duration limit = running ? read_remote_settle(running->root()) : std::chrono::seconds(60);
  ReloadOutcome provisional = out;
  provisional.result = ReloadResult::applied;
  provisional.config_hash = config_hash(new_text);
  provisional.took_us = rc.clock().wall_ns() / 1000 - out.started_unix_ms * 1000;
  const std::string request = out.trigger == ReloadTrigger::remote ? remote_request_hash : std::string();
  const std::uint64_t seq = remote.post(provisional, request, remote_request_bytes);
  log.info("reload {}: waiting up to {} (remote_settle) for upload to publish the outcome", out.id, millis_text(limit));
  const MonoTime deadline = rc.clock().now() + limit;
  Confirmation result;
  for (;;) {
    if (remote.is_published(seq)) {
      if (out.trigger == ReloadTrigger::remote) remote_confirmed_id = out.id;
      co_return result;
    }
    if (rc.stopping()) {
      remote.withdraw(seq);
      result.stopping = true;
      co_return result;
    }
    if (rc.clock().now() >= deadline) break;
    co_await rc.wait_change(deadline);
  }
  remote.withdraw(seq);  // the provisional "applied" must never go out now
  result.failure = "did not publish the outcome within remote_settle (" + millis_text(limit) +
                   "): the box would be out of reach (upload: " + remote.link_state() + ")";
  co_return result;
}

boost::asio::awaitable<std::string> ReloadCoordinator::Impl::persist_remote(const std::string& text,
                                                                            const std::string& previous_text) {
  const std::string path = options.file.string();
  std::string error, warning;
  auto work = [&] {
    // Edited by hand since it last applied: kept beside it, not lost.
    std::string on_disk;
    bool readable = true;
    try {
      on_disk = read_config_text(path);
    } catch (const ConfigError&) {
      readable = false;
    }
    if (readable && on_disk != previous_text && on_disk != text) {
      const std::string aside = path + ".local";
      if (const AtomicWriteError e = atomic_replace(aside, on_disk))
        warning = path + " was edited by hand and not reloaded; it could not be kept (" + e.message() +
                  "): replaced by the remote config";
      else
        warning = path + " was edited by hand and not reloaded; that version is kept in " + aside +
                  " and the file now holds the remote config";
    }
    if (const AtomicWriteError e = atomic_replace(path, text))
      error = "applied but not written to " + path + ": " + e.message() +
              "; a restart of weftd would run the old file (fix the cause and publish it again)";
  };
  co_await control->blocking(work);
  spdlog::logger& log = *control->logger("weft");
  if (!warning.empty()) log.warn("remote config: {}", warning);
  if (!error.empty()) log.error("remote config: {}", error);
  else log.info("remote config: written to {} ({} bytes)", path, text.size());
  co_return error;
}

}  // namespace weft::apps
