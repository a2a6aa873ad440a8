// Persisted soft points (`persist = true`): their last written values in
// one small state file, <[weftd] data_dir>/ca-soft-points.toml
// (soft_state.hpp), replaced whole with core's atomic_replace (temp, fsync,
// rename, directory fsync) on the blocking pool, never on the loop.
//
// Guarantees:
// - A write to a persist soft point is staged, not applied: it is published
//   on the bus (so monitors, record, upload see it) and its WRITE_NOTIFY is
//   answered ECA_NORMAL only after the file holding it is durable. A plain
//   WRITE is likewise applied only once durable. A kill -9 or a power cut at
//   any instant leaves the old or the new file, never a torn one.
// - The circuit that wrote takes no other request until its writes are
//   durable (a read after the write sees it); consecutive writes to persist
//   points already received on a circuit wait together, and every write
//   staged while a round is on the disk goes out in the next one: a burst
//   costs a few fsyncs, not one per write, and other circuits never wait.
// - A failed save (disk full, read-only) applies nothing: the writes of that
//   round get ECA_PUTFAIL (WRITE: an ERROR) with the reason, one log error.
// - At start the file is read off the loop: each configured persist point
//   takes its saved value if it was saved with the same type and still fits
//   its config (an enum's state, an int32, 39 characters), else its
//   initial value (logged); values of points no longer persist = true are
//   dropped and the file rewritten without them. A file that cannot be
//   parsed is logged (file, what was wrong) and moved aside to
//   <file>.damaged-<UTC time>, and every soft point starts at its initial
//   value: a damaged file never stops the box.
// - A stop while writes wait for the disk answers their WRITE_NOTIFYs with
//   ECA_PUTFAIL (never a false ECA_NORMAL); the round on the disk finishes
//   (the pool's work is not cut) and is applied, so such a value may be
//   there after the restart; writes staged behind that round are never
//   saved (put-logged as such). The put log records each write's outcome.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include <boost/asio/this_coro.hpp>

#include "ca_server.hpp"
#include "weft/core/atomic_file.hpp"
#include "weft/drivers/ca/convert.hpp"

namespace weft::apps::ca_server {
namespace {

constexpr std::uintmax_t kMaxStateBytes = 16 * 1024 * 1024;

// What the blocking read found.
struct Loaded {
  bool found = false;
  std::string read_error;  // could not be read at all (permissions, ...)
  ca_pv::SoftStateParse parsed;
  std::string moved_to, move_error;  // a damaged file moved aside (or why not)
};

std::string utc_stamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// Blocking: on the pool only.
Loaded load_file(const std::string& path) {
  Loaded out;
  const std::filesystem::path p(path);
  remove_abandoned_temps(p.parent_path().string(), p.filename().string());
  std::error_code ec;
  const auto size = std::filesystem::file_size(p, ec);
  if (ec) {
    if (ec != std::errc::no_such_file_or_directory) out.read_error = ec.message();
    return out;
  }
  out.found = true;
  if (size > kMaxStateBytes) {
    out.parsed.error = path + ": " + std::to_string(size) + " bytes, larger than a state file can be (16 MiB)";
  } else {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in && !in.eof()) {
      out.read_error = std::strerror(errno);
      return out;
    }
    out.parsed = ca_pv::parse_soft_state(text.str(), path);
  }
  if (!out.parsed.error.empty()) {
    out.moved_to = path + ".damaged-" + utc_stamp();
    if (::rename(path.c_str(), out.moved_to.c_str()) != 0) {
      out.move_error = std::strerror(errno);
      out.moved_to.clear();
    }
  }
  return out;
}

std::string value_label(const weft::Value& v) {
  if (const auto* d = std::get_if<double>(&v)) return ca::format_number(*d, false, std::nullopt);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* text = std::get_if<std::string>(&v)) return "\"" + *text + "\"";
  return to_string(v);  // an array: its first elements and length
}

// Why a saved value does not fit the point's config now ("" when it fits).
std::string misfit(const SoftPoint& sp, const ca_pv::PersistedValue& saved) {
  if (saved.type != sp.kind) return "it was saved as " + saved.type + " and is now " + sp.kind;
  if (!ca_pv::fits_type(sp.kind, saved.value)) return "the saved value is not of type " + sp.kind;
  if (sp.kind == "enum") {
    const auto i = std::get<std::int64_t>(saved.value);
    if (i < 0 || i >= static_cast<std::int64_t>(sp.strings.size())) {
      return "state " + std::to_string(i) + " is not one of its " + std::to_string(sp.strings.size()) + " states";
    }
  }
  if (sp.kind == "integer") {
    const auto i = std::get<std::int64_t>(saved.value);
    if (i < INT32_MIN || i > INT32_MAX) return "the saved value is outside a 32-bit integer";
  }
  if (sp.kind == "text" && std::get<std::string>(saved.value).size() > 39) {
    return "the saved text is longer than CA's 39 characters";
  }
  if (sp.kind == "array" && std::get<NumberArray>(saved.value).size() > sp.max_length) {
    return "the saved array has " + std::to_string(std::get<NumberArray>(saved.value).size()) +
           " elements, more than its max_length = " + std::to_string(sp.max_length);
  }
  return {};
}

}  // namespace

asio::awaitable<std::map<std::string, weft::Value>> restore_soft_points(Server& s) {
  std::map<std::string, weft::Value> restored;
  const std::string path = s.s.state_path;
  auto load = [path] { return load_file(path); };  // a named local before the co_await (GCC 12)
  Loaded loaded = co_await s.ctx.blocking_result(std::move(load));
  auto& log = s.ctx.log();
  if (!loaded.read_error.empty()) {
    log.error("ca: cannot read the persisted soft points' file {} ({}); every soft point starts at its initial "
              "value, and the next write replaces the file: fix its permissions to keep the saved values",
              path, loaded.read_error);
    co_return restored;
  }
  if (!loaded.parsed.error.empty()) {
    if (!loaded.moved_to.empty()) {
      log.error("ca: the persisted soft points' file is damaged ({}); moved it aside to {} (look there for the "
                "values it held) and every soft point starts at its initial value",
                loaded.parsed.error, loaded.moved_to);
    } else {
      log.error("ca: the persisted soft points' file is damaged ({}) and cannot be moved aside ({}); it is ignored "
                "and every soft point starts at its initial value; the next write replaces it",
                loaded.parsed.error, loaded.move_error);
    }
    co_return restored;
  }
  ca_pv::SoftState kept;
  for (const SoftPoint& sp : s.s.soft_points) {
    if (!sp.persist) continue;
    const auto it = loaded.parsed.state.find(sp.name);
    if (it == loaded.parsed.state.end()) continue;
    if (const std::string why = misfit(sp, it->second); !why.empty()) {
      log.warn("ca: soft point {}: {} ({}), so its saved value {} is dropped and it starts at its initial value {}",
               sp.name, why, path, value_label(it->second.value), value_label(sp.initial));
      continue;
    }
    log.info("ca: soft point {} restored to {} (saved in {})", sp.name, value_label(it->second.value), path);
    restored[sp.name] = it->second.value;
    kept.emplace(sp.name, it->second);
  }
  for (const auto& [name, saved] : loaded.parsed.state) {
    if (kept.contains(name)) continue;
    bool configured = false;
    for (const SoftPoint& sp : s.s.soft_points) configured = configured || (sp.persist && sp.name == name);
    if (!configured) {
      log.info("ca: {} in {} is no longer a persist = true soft point: its saved value {} is dropped", name, path,
               value_label(saved.value));
    }
  }
  s.persist.durable = kept;
  // persist_loop's first round rewrites the file without them.
  s.persist.rewrite = loaded.found && kept != loaded.parsed.state;
  co_return restored;
}

void stage_write(Server& s, Circuit& c, Pv& pv, weft::Value value, std::string note) {
  if (!c.persist_waiter) c.persist_waiter = std::make_shared<PersistWaiter>();
  ++c.persist_waiter->outstanding;
  s.persist.staged.push_back(StagedWrite{&pv, std::move(value), who(c), c.peer, std::move(note), c.persist_waiter});
  s.persist.kick.cancel();
}

bool joins_persist_batch(Circuit& c, const ca::Request& request) {
  std::uint32_t sid = 0;
  if (const auto* w = std::get_if<ca::Write>(&request)) sid = w->sid;
  else if (const auto* wn = std::get_if<ca::WriteNotify>(&request)) sid = wn->sid;
  else return false;
  const Channel* ch = c.channel(sid);
  return ch != nullptr && ch->pv->soft != nullptr && ch->pv->soft->persist;
}

void hold_reply(Circuit& c, std::size_t out_before) {
  if (c.out.size() <= out_before) return;
  PersistReply held;
  held.ready.assign(c.out.begin() + static_cast<std::ptrdiff_t>(out_before), c.out.end());
  c.out.resize(out_before);
  c.persist_replies.push_back(std::move(held));
}

asio::awaitable<void> finish_persist_writes(Circuit& c) {
  Server& s = c.server;
  std::vector<PersistReply> replies = std::move(c.persist_replies);
  c.persist_replies.clear();
  const std::shared_ptr<PersistWaiter> w = std::move(c.persist_waiter);
  c.persist_waiter.reset();
  asio::steady_timer wake(c.sock.get_executor());
  wake.expires_at(asio::steady_timer::time_point::max());
  bool stopped = false;
  if (w) {
    w->wake = &wake;
    struct Unhook {  // whatever ends the wait: persist_loop must never wake a timer that is gone
      PersistWaiter& w;
      ~Unhook() { w.wake = nullptr; }
    } unhook{*w};
    try {
      while (w->outstanding > 0 && !stopped) {
        co_await wake.async_wait(kTuple);
        const auto state = co_await asio::this_coro::cancellation_state;
        stopped = state.cancelled() != asio::cancellation_type::none;
      }
    } catch (const boost::system::system_error&) {  // a stop seen as an exception (cancelled before the wait)
      stopped = true;
    }
  }
  const std::string error = w ? w->error : std::string();
  if (w && w->outstanding > 0) {  // stopped: the round may still finish; the put log says how it ended
    std::size_t owed = 0, writes = 0;
    for (const PersistReply& r : replies) {
      c.farewell.insert(c.farewell.end(), r.ready.begin(), r.ready.end());
      if (r.ready.empty()) ++writes;
      if (!r.notify) continue;
      ca::encode(c.farewell, ca::WriteNotifyReply{r.dbr_type, r.count, ca::Eca::putfail, r.ioid});
      ++owed;
    }
    s.ctx.log().warn("ca: circuit {} ({}): stopped while {} write(s) to persisted soft points waited for the disk; "
                     "{} answered ECA_PUTFAIL (the value may still have been saved: read it back after the restart)",
                     c.peer, who(c), writes, owed);
    throw boost::system::system_error(asio::error::operation_aborted, "ca persisted write");
  }
  for (PersistReply& r : replies) {
    if (!r.ready.empty()) {
      c.out.insert(c.out.end(), r.ready.begin(), r.ready.end());
    } else if (r.notify) {
      ca::encode(c.out, ca::WriteNotifyReply{r.dbr_type, r.count, error.empty() ? ca::Eca::normal : ca::Eca::putfail,
                                             r.ioid});
    } else if (!error.empty()) {
      ca::encode(c.out, ca::ErrorMessage{r.cid, ca::Eca::putfail, std::move(r.header), error});
    }
  }
  c.notify();
}

namespace {

// A stop before their round started: the staged writes are never saved nor
// applied; each still gets its put-log entry (its circuit answers
// ECA_PUTFAIL in its farewell, finish_persist_writes).
void abandon_staged(Server& s) {
  Persist& p = s.persist;
  for (const StagedWrite& w : p.staged) {
    put_log(s, w.who, w.peer, *w.pv, value_text(*w.pv), value_label(w.value),
            "failed: the ca service stopped before it was saved (not applied)");
  }
  p.staged.clear();
}

}  // namespace

asio::awaitable<void> persist_loop(Server& s) {
  Persist& p = s.persist;
  for (;;) {
    while (p.staged.empty() && !p.rewrite) {
      p.kick.expires_at(asio::steady_timer::time_point::max());
      co_await p.kick.async_wait(kTuple);
      const auto state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none) {
        abandon_staged(s);
        throw boost::system::system_error(asio::error::operation_aborted, "ca persist");
      }
    }
    // A stop that landed while the last round was on the disk: the next
    // co_await would throw (throw-on-cancel) and drop these writes unlogged.
    if (const auto state = co_await asio::this_coro::cancellation_state;
        state.cancelled() != asio::cancellation_type::none) {
      abandon_staged(s);
      throw boost::system::system_error(asio::error::operation_aborted, "ca persist");
    }
    p.rewrite = false;
    std::vector<StagedWrite> round = std::move(p.staged);
    p.staged.clear();
    ca_pv::SoftState next = p.durable;
    for (const StagedWrite& w : round) next[w.pv->soft->name] = ca_pv::PersistedValue{w.pv->soft->kind, w.value};
    const std::string text = ca_pv::format_soft_state(next);
    const std::string path = s.s.state_path;
    // Not cancellable: a stop waits for the disk (bounded by [weftd] stop_grace).
    auto save = [&path, &text] { return atomic_replace(path, text); };
    const AtomicWriteError err = co_await s.ctx.blocking_result(save);
    ++p.rounds;
    std::string error;
    if (err) {
      ++p.failed_rounds;
      error = "not saved, so not applied: " + err.message();
      s.ctx.log().error("ca: cannot save the persisted soft points ({}); {} write(s) failed with ECA_PUTFAIL and "
                        "were not applied; check the free space and permissions of [weftd] data_dir",
                        err.message(), round.size());
    } else {
      p.durable = std::move(next);
      p.saved_writes += round.size();
    }
    for (StagedWrite& w : round) {  // in the order accepted, so the bus ends with what the file holds
      const std::string old_text = value_text(*w.pv);
      if (!error.empty()) {
        put_log(s, w.who, w.peer, *w.pv, old_text, value_label(w.value), "failed: " + error);
        w.waiter->error = error;
      } else {
        publish_soft(s, *w.pv, std::move(w.value));
        put_log(s, w.who, w.peer, *w.pv, old_text, value_text(*w.pv), "ok" + w.note);
      }
      if (--w.waiter->outstanding == 0 && w.waiter->wake != nullptr) w.waiter->wake->cancel();
    }
  }
}

}  // namespace weft::apps::ca_server
