// What a reload does around record and its store: see record_reload.hpp.
#include "record_reload.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <system_error>

#include <spdlog/spdlog.h>

#include "weft/apps/record/record_intake.hpp"
#include "weft/drivers/store/store.hpp"

namespace weft::apps {

namespace {

std::string claim_name(const std::string& path) {
  std::error_code ec;
  const auto abs = std::filesystem::absolute(path, ec);
  return (ec ? std::filesystem::path(path) : abs).lexically_normal().string();
}

}  // namespace

void prepare_store_reopen(PreparedReload& p, const std::string& running_text, const std::filesystem::path& file,
                          const RunMode& mode, store::Store* running_store) {
  if (!p.store_changed || !p.assembly || !p.assembly->store || running_store == nullptr) return;
  const std::string& from = running_store->options().path;
  const std::string& to = p.assembly->store->options().path;
  bool same = claim_name(from) == claim_name(to);
  if (!same) {
    std::error_code ec;
    same = std::filesystem::equivalent(from, to, ec) && !ec;
  }
  if (!same) return;
  if (p.plan.store_moved) {
    const std::string uncounted = store_move_warning(p.plan.store_moved->first, p.plan.store_moved->second, std::nullopt);
    std::erase(p.plan.warnings, uncounted);
    p.plan.store_moved.reset();
  }
  p.store_reopened = true;
  p.rollback = std::make_shared<Assembly>(assemble(Config::parse(running_text, file.string()), mode, nullptr));
}

const std::vector<std::string>& store_users() {
  static const std::vector<std::string> users{"record", "upload", "ca"};
  return users;
}

StoreSwap::StoreSwap(ReloadCoordinator::Impl& c, PreparedReload& p, std::shared_ptr<Assembly> fresh)
    : c_(c), rc_(*c.control), p_(p), fresh_(std::move(fresh)) {}

std::string StoreSwap::unsafe_to_close(const std::string& which) const {
  for (const std::string& name : store_users()) {
    const auto info = rc_.service(name);
    if (!info) continue;
    const std::string& state = info->snapshot.state;
    if (info->abandoned_runs > 0)
      return name + " left a run behind that did not stop within the stop grace (" + std::to_string(info->abandoned_runs) +
             " abandoned); it may still write to " + which + ", which therefore cannot be closed (two writers on one file)";
    if (state != "stopped" && state != "failed")
      return name + " is " + state + ", not stopped; it may still use " + which + ", which therefore cannot be closed";
  }
  return {};
}

namespace {

// Test hook (tests/console/reload_store_stop.sh): with WEFT_TEST_STORE_SWAP_FIFO
// naming a fifo, the blocking pool thread that closed the running Store
// waits (open for reading, then read to EOF) until a writer has come and
// gone, so a stop lands between the old Store's close and the new one's
// open every time. Read once; never set in production: then this is one
// branch on a string.
void test_hook_after_store_close(spdlog::logger& log) {
  static const char* const fifo = std::getenv("WEFT_TEST_STORE_SWAP_FIFO");
  if (fifo == nullptr || *fifo == '\0') return;
  log.warn("test hook: the running store is closed; waiting on {} (WEFT_TEST_STORE_SWAP_FIFO)", fifo);
  if (std::FILE* f = std::fopen(fifo, "r")) {
    char buffer[64];
    while (std::fread(buffer, 1, sizeof buffer, f) > 0) {
    }
    std::fclose(f);
  }
  log.warn("test hook: released");
}

}  // namespace

boost::asio::awaitable<std::string> StoreSwap::close_running() {
  if (!active() || !c_.current || !c_.current->store) co_return std::string();
  spdlog::logger& log = *rc_.logger("weft");
  const std::string path = c_.current->store->options().path;
  const std::string which = "the running store " + path;
  if (const std::string why = unsafe_to_close(which); !why.empty())
    co_return "[store] changed on " + path + " but " + why +
        "; the reload was not applied: run `systemctl restart weftd` to apply it";
  log.info("reload: closing the store {} (record and upload stopped; readings wait in record's bus queue) to reopen "
           "it with the new [store] settings",
           path);
  std::unique_ptr<store::Store> old = std::move(c_.current->store);
  closed_ = true;
  // ~Store commits what it holds and joins its threads: never on the loop.
  auto work = [&old, &log] {
    old.reset();
    test_hook_after_store_close(log);
  };
  co_await rc_.blocking(work);
  co_return std::string();
}

boost::asio::awaitable<void> StoreSwap::before_rollback(std::map<std::string, ServiceDefinition>& previous,
                                                        std::vector<std::string>& errors) {
  if (!closed_ || !p_.rollback) co_return;  // the running Store was not closed: the previous specs still hold it
  spdlog::logger& log = *rc_.logger("weft");
  const std::string path = p_.rollback->store ? p_.rollback->store->options().path : std::string("(no store)");
  const std::string which = "the new store on " + path;
  if (const std::string why = unsafe_to_close(which); !why.empty()) {
    // Kept alive (a run may use it): the previous settings' open then waits
    // for its close and fails, naming the file. Never two writers.
    errors.push_back("rollback: " + why + "; the previous [store] settings cannot open " + path +
                     " while it may: run `systemctl restart weftd`");
    log.critical("reload: rollback: {}; the previous [store] settings cannot open {} while it may: run `systemctl "
                 "restart weftd`",
                 why, path);
    c_.pinned.push_back(fresh_);
  } else if (fresh_ && fresh_->store) {
    log.info("reload: closing the new store on {} to reopen it with the previous [store] settings", path);
    std::unique_ptr<store::Store> rejected = std::move(fresh_->store);
    auto work = [&rejected] { rejected.reset(); };
    co_await rc_.blocking(work);
  }
  for (ConfiguredService& s : p_.rollback->services) {
    auto it = previous.find(s.spec.name);
    if (it == previous.end() || std::find(store_users().begin(), store_users().end(), s.spec.name) == store_users().end())
      continue;
    it->second = ServiceDefinition{std::move(s.spec), s.section};
  }
  // The running store from now on (its Assembly's other specs are unused).
  c_.current->store = std::move(p_.rollback->store);
  closed_ = false;
}

void release_record_intake(ReloadCoordinator::Impl& c, const ReloadPlan& plan) {
  RecordIntake* intake = c.options.mode.record_intake;
  if (intake == nullptr || !intake->subscribed()) return;
  const bool stopped = std::any_of(plan.services.begin(), plan.services.end(), [](const PlanEntry& e) {
    return e.service == "record" && e.action == PlanAction::stop;
  });
  if (!stopped) return;
  const std::uint64_t before = intake->released_unrecorded();
  intake->release();
  spdlog::logger* log = c.control->logger("record");
  if (log == nullptr) log = c.control->logger("weft");
  log->info("reload: record is off: its bus queue is released ({} readings that came after it stopped are not "
            "recorded); enabled again, it records from then on, with no gap in the ledger",
            intake->released_unrecorded() - before);
}

boost::asio::awaitable<std::vector<std::string>> store_move_warnings(ReloadCoordinator::Impl& c, const ReloadPlan& plan) {
  std::vector<std::string> out = plan.warnings;
  if (!plan.store_moved) co_return out;
  const std::string uncounted = store_move_warning(plan.store_moved->first, plan.store_moved->second, std::nullopt);
  const auto it = std::find(out.begin(), out.end(), uncounted);
  if (it == out.end()) co_return out;  // upload runs on neither side: nothing is owed
  store::Store* store = c.current ? c.current->store.get() : nullptr;
  std::optional<std::uint64_t> undelivered;
  if (store != nullptr && store->is_open()) {
    // Readings outside every delivered range; delivered is keyed by first_seq.
    const std::string statement =
        "SELECT count(*) FROM readings r WHERE NOT EXISTS (SELECT 1 FROM delivered d WHERE d.first_seq = "
        "(SELECT max(first_seq) FROM delivered WHERE first_seq <= r.seq) AND d.last_seq >= r.seq)";
    store::QueryLimits limits;
    limits.timeout = std::chrono::seconds(1);
    limits.max_rows = 1;
    try {
      const store::QueryResult r = co_await store->query(statement, limits);
      if (!r.rows.empty() && !r.rows[0].empty())
        if (const auto* n = std::get_if<std::int64_t>(&r.rows[0][0])) undelivered = static_cast<std::uint64_t>(*n);
    } catch (const std::exception& e) {
      c.control->logger("weft")->info("reload: the backlog left in {} was not counted: {}", store->options().path, e.what());
    }
  }
  *it = store_move_warning(plan.store_moved->first, plan.store_moved->second, undelivered);
  co_return out;
}

}  // namespace weft::apps
