// The store's console commands (store_commands.hpp): `sql`, `store`, `gaps`.
// Every SQLite call happens on the store's reader thread; the handlers only
// await and format.
#include "weft/apps/record/store_commands.hpp"

#include "weft/apps/record/record_intake.hpp"

#include <cstdio>
#include <numeric>

#include "weft/apps/console/console_format.hpp"
#include "weft/apps/console/console_protocol.hpp"
#include "weft/core/context.hpp"

namespace weft::apps {
namespace {

using namespace console_format;
using boost::asio::awaitable;

constexpr std::size_t kRecentGaps = 5;     // gaps listed by `store` (the newest)
constexpr std::size_t kListedGaps = 1000;  // gaps listed by `gaps` (the newest)
constexpr std::size_t kBlobHexBytes = 16;  // bytes of a BLOB shown in the text table

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::string real_text(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

// One cell for people: control characters escaped so the table stays aligned.
std::string cell_text(const store::QueryValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) return "NULL";
        else if constexpr (std::is_same_v<T, std::int64_t>) return std::to_string(x);
        else if constexpr (std::is_same_v<T, double>) return real_text(x);
        else if constexpr (std::is_same_v<T, std::string>) {
          std::string out;
          for (char c : x) {
            if (c == '\n') out += "\\n";
            else if (c == '\t') out += "\\t";
            else if (static_cast<unsigned char>(c) < 0x20) out += '?';
            else out += c;
          }
          return out;
        } else {
          const bool more = x.size > kBlobHexBytes;
          return "x'" + hex(std::string_view(x.bytes).substr(0, kBlobHexBytes)) + (more ? "...'" : "'") +
                 (more ? " (" + std::to_string(x.size) + " bytes)" : "");
        }
      },
      v);
}

std::string cell_json(const store::QueryValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) return "null";
        else if constexpr (std::is_same_v<T, std::int64_t>) return std::to_string(x);
        else if constexpr (std::is_same_v<T, double>) return value_json(Value{x});
        else if constexpr (std::is_same_v<T, std::string>) return console::json_string(x);
        else return JsonObject().integer("blob_bytes", static_cast<std::int64_t>(x.size)).str("hex", hex(x.bytes)).done();
      },
      v);
}

awaitable<CommandReply> sql(store::Store& store, const Command& self, const CommandArgs& args) {
  if (args.empty()) co_return usage_error(self, "give one read-only statement, e.g. sql SELECT count(*) FROM readings");
  // The console split the line into words; SQL needs them joined again
  // (blanks inside a 'string' collapse to one; "double quotes" are the console's).
  const std::string statement = std::accumulate(std::next(args.begin()), args.end(), args.front(),
                                                [](std::string a, const std::string& b) { return a + ' ' + b; });
  const store::QueryLimits limits;
  std::string error;
  try {
    const store::QueryResult r = co_await store.query(statement, limits);
    co_return CommandReply{true, render_query_text(r, limits), render_query_json(r, limits)};
  } catch (const store::QueryError& e) {
    error = e.what();
  } catch (const store::StoreError& e) {
    error = std::string("sql: ") + e.what();
  }
  co_return failure(error);
}

// `gaps`: the delivery ledger's answer to "what was recorded but never
// delivered, and why" — every lost seq range (dropped or pruned).
awaitable<CommandReply> list_gaps(store::Store& store) {
  std::vector<store::Gap> gaps;
  try {
    gaps = co_await store.gaps();
  } catch (const store::StoreError& e) {
    co_return failure(std::string("gaps: ") + e.what());
  }
  std::uint64_t lost = 0;
  for (const auto& g : gaps) lost += g.last_seq - g.first_seq + 1;
  std::string text;
  std::vector<std::string> json;
  if (gaps.empty()) text = "no gaps: every seq up to " + std::to_string(store.counters().committed_seq) +
                           " is stored or was delivered\n";
  else json = render_gaps(gaps, kListedGaps, text);
  text += std::to_string(gaps.size()) + " ranges, " + std::to_string(lost) + " readings lost\n";
  JsonObject o;
  o.integer("ranges", static_cast<std::int64_t>(gaps.size())).integer("lost", static_cast<std::int64_t>(lost));
  o.integer("committed_seq", static_cast<std::int64_t>(store.counters().committed_seq));
  o.raw("gaps", json_array(json));
  co_return CommandReply{true, text, o.done()};
}

awaitable<CommandReply> store_status(store::Store& store, const RecordIntake& intake) {
  const store::StoreCounters c = store.counters();
  const store::StoreHealth health = store.health();
  std::vector<store::Gap> gaps;
  std::string gaps_error;
  try {
    if (health.state != store::StoreHealth::State::open) throw store::StoreError("not readable while the store is " +
                                                                                 std::string(to_string(health.state)));
    gaps = co_await store.gaps();
  } catch (const store::StoreError& e) {
    gaps_error = e.what();
  }
  std::uint64_t lost = 0;
  for (const auto& g : gaps) lost += g.last_seq - g.first_seq + 1;

  const auto u = [](std::uint64_t v) { return std::to_string(v); };
  const double commit_ms = std::chrono::duration<double, std::milli>(c.last_commit_latency).count();
  Table t({"path:", store.options().path});
  t.add({"state:", std::string(to_string(health.state)) + (health.error.empty() ? "" : " (" + health.error + ")")});
  t.add({"committed seq:", u(c.committed_seq)});
  t.add({"rows written:", u(c.rows_written)});
  t.add({"batches:", u(c.batches)});
  t.add({"last commit:", millis(std::chrono::nanoseconds(c.last_commit_latency).count()) + " ms"});
  t.add({"queue depth:", std::to_string(c.queue_depth) + " of " + std::to_string(store.options().queue_capacity)});
  t.add({"db size:", u(c.db_size_bytes) + " bytes"});
  t.add({"busy retries:", u(c.busy_retries) + " in " + u(c.busy_episodes) + " episodes"});
  t.add({"pruned:", u(c.pruned_delivered) + " delivered, " + u(c.pruned_undelivered) + " undelivered (lost)"});
  t.add({"dropped:", u(c.dropped) + " (queue full, lost)"});
  t.add({"bus queue:", std::to_string(intake.depth()) + " waiting of " + std::to_string(intake.capacity()) + " ('" +
                           intake.pattern() + "'), " + u(intake.dropped()) + " dropped (lost, recorded as gaps)"});
  t.add({"disk full:", u(c.disk_full)});
  t.add({"gaps:", gaps_error.empty() ? u(gaps.size()) + " ranges, " + u(lost) + " readings lost" : gaps_error});
  std::string text = t.render();
  std::vector<std::string> recent_json;
  if (!gaps.empty()) {
    text += "\n";
    recent_json = render_gaps(gaps, kRecentGaps, text);
  }
  std::vector<std::string> incidents_json;
  if (!health.incidents.empty()) {
    text += "\nincidents (this run of weftd, newest last):\n";
    for (const auto& i : health.incidents) {
      text += "  " + i + "\n";
      incidents_json.push_back(console::json_string(i));
    }
  }

  const auto i64 = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };
  JsonObject o;
  o.str("path", store.options().path).str("state", to_string(health.state)).str("error", health.error);
  o.raw("incidents", json_array(incidents_json)).integer("committed_seq", i64(c.committed_seq));
  o.integer("rows_written", i64(c.rows_written)).integer("batches", i64(c.batches));
  o.num("last_commit_ms", commit_ms).integer("queue_depth", static_cast<std::int64_t>(c.queue_depth));
  o.integer("queue_capacity", static_cast<std::int64_t>(store.options().queue_capacity));
  o.integer("db_size_bytes", i64(c.db_size_bytes)).integer("busy_retries", i64(c.busy_retries));
  o.integer("busy_episodes", i64(c.busy_episodes)).integer("pruned_delivered", i64(c.pruned_delivered));
  o.integer("pruned_undelivered", i64(c.pruned_undelivered)).integer("dropped", i64(c.dropped));
  o.integer("disk_full", i64(c.disk_full)).integer("bus_dropped", i64(intake.dropped()));
  o.integer("bus_queue_depth", static_cast<std::int64_t>(intake.depth()));
  o.integer("bus_queue_capacity", static_cast<std::int64_t>(intake.capacity()));
  JsonObject gj;
  if (gaps_error.empty()) gj.integer("ranges", static_cast<std::int64_t>(gaps.size())).integer("lost", i64(lost));
  else gj.str("error", gaps_error);
  gj.raw("recent", json_array(recent_json));
  o.raw("gaps", gj.done());
  co_return CommandReply{true, text, o.done()};
}

}  // namespace

std::vector<std::string> render_gaps(const std::vector<store::Gap>& gaps, std::size_t most, std::string& text) {
  const auto u = [](std::uint64_t v) { return std::to_string(v); };
  std::vector<std::string> json;
  Table g({"FIRST SEQ", "LAST SEQ", "READINGS", "WHY"});
  const std::size_t from = gaps.size() > most ? gaps.size() - most : 0;
  for (std::size_t i = from; i < gaps.size(); ++i) {
    g.add({u(gaps[i].first_seq), u(gaps[i].last_seq), u(gaps[i].last_seq - gaps[i].first_seq + 1), gaps[i].why});
    json.push_back(JsonObject()
                       .integer("first_seq", static_cast<std::int64_t>(gaps[i].first_seq))
                       .integer("last_seq", static_cast<std::int64_t>(gaps[i].last_seq))
                       .str("why", gaps[i].why)
                       .done());
  }
  text += g.render();
  if (from > 0) text += "(the newest " + std::to_string(most) + " of " + u(gaps.size()) + " gaps)\n";
  return json;
}

std::string render_query_text(const store::QueryResult& r, const store::QueryLimits& limits) {
  std::string text;
  if (!r.columns.empty()) {
    Table t(r.columns);
    for (const auto& row : r.rows) {
      std::vector<std::string> cells;
      for (const auto& v : row) cells.push_back(cell_text(v));
      t.add(std::move(cells));
    }
    text = t.render();
  }
  if (r.truncated) text += "(truncated at " + std::to_string(limits.max_rows) + " rows)\n";
  else text += "(" + std::to_string(r.rows.size()) + (r.rows.size() == 1 ? " row)\n" : " rows)\n");
  if (r.cell_cut) text += "(cells longer than " + std::to_string(limits.max_cell_bytes) + " bytes were cut)\n";
  return text;
}

std::string render_query_json(const store::QueryResult& r, const store::QueryLimits& limits) {
  std::vector<std::string> columns, rows;
  for (const auto& c : r.columns) columns.push_back(console::json_string(c));
  for (const auto& row : r.rows) {
    std::vector<std::string> cells;
    for (const auto& v : row) cells.push_back(cell_json(v));
    rows.push_back(json_array(cells));
  }
  JsonObject o;
  o.raw("columns", json_array(columns)).raw("rows", json_array(rows));
  o.boolean("truncated", r.truncated).integer("max_rows", static_cast<std::int64_t>(limits.max_rows));
  o.boolean("cells_cut", r.cell_cut).num("elapsed_ms", std::chrono::duration<double, std::milli>(r.elapsed).count());
  return o.done();
}

std::vector<CommandRegistration> add_store_commands(Context& ctx, store::Store& store, const RecordIntake& intake) {
  Command sql_command{"sql", "sql SELECT ...",
                      "one read-only SQL statement on the store (read-only connection; at most 1000 rows and 2 s)",
                      {}};
  Command store_command{"store", "store", "the store's counters (rows, batches, busy, pruned, size) and its gaps", {}};
  // The handlers keep a copy of their Command (name and usage) for usage errors.
  sql_command.handler = [&store, self = sql_command](const CommandArgs& args) { return sql(store, self, args); };
  store_command.handler = [&store, &intake, self = store_command](const CommandArgs& args) -> awaitable<CommandReply> {
    if (!args.empty()) co_return usage_error(self, "takes no arguments");
    co_return co_await store_status(store, intake);
  };
  Command gaps_command{"gaps", "gaps",
                       "seq ranges recorded but never delivered (dropped or pruned), with why", {}};
  gaps_command.handler = [&store, self = gaps_command](const CommandArgs& args) -> awaitable<CommandReply> {
    if (!args.empty()) co_return usage_error(self, "takes no arguments");
    co_return co_await list_gaps(store);
  };
  std::vector<CommandRegistration> out;
  out.push_back(ctx.add_command(std::move(sql_command)));
  out.push_back(ctx.add_command(std::move(store_command)));
  out.push_back(ctx.add_command(std::move(gaps_command)));
  return out;
}

}  // namespace weft::apps
