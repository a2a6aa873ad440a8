// The store's console commands, registered by the record service: a box
// (heartbeat, record into a temp store, console) runs its loop on a second
// thread; the test talks to the console socket as weftctl would. `sql`
// answers a SELECT as a table and as JSON, refuses a write, and goes away
// with the record service; `store` shows the counters and the gaps.
#include <catch2/catch.hpp>

#include <thread>

#include <boost/asio/post.hpp>

#include "../../drivers/store_support.hpp"
#include "apps/console/console_test_client.hpp"
#include "weft/apps/assembly/assemble.hpp"
#include "weft/apps/record/store_commands.hpp"
#include "weft/core/config.hpp"
#include "weft/core/runtime.hpp"

using namespace weft;
using weft::console::FrameKind;
using weft::test::ConsoleClient;
using weft::test::TempDir;

namespace {

class RecordBox {
public:
  RecordBox() : socket_(dir_.file("weftd.sock")) {
    const std::string config = "[store]\npath = \"" + dir_.file("box.db") + "\"\nbatch_age = \"10ms\"\n\n"
                               "[service.heartbeat]\nperiod = \"20ms\"\nprefix = \"t\"\n\n"
                               "[service.record]\n\n"
                               "[service.console]\nsocket = \"" + socket_ + "\"\n";
    assembly_.emplace(apps::assemble(Config::parse(config, "record-commands.toml")));
    assembly_->options.handle_signals = false;
    runtime_ = std::make_unique<Runtime>(assembly_->options);
    apps::add_services(*runtime_, *assembly_);
    loop_ = std::thread([this] { runtime_->run(); });
  }
  ~RecordBox() {
    boost::asio::post(runtime_->io_context(), [this] { runtime_->request_stop(); });
    loop_.join();
  }

  // A client past the hello frame, once the socket answers (bounded).
  std::unique_ptr<ConsoleClient> client() {
    for (int i = 0; i < 1000; ++i) {
      try {
        auto c = std::make_unique<ConsoleClient>(socket_);
        if (auto hello = c->frame(); hello && hello->kind == FrameKind::hello) return c;
      } catch (const std::runtime_error&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("the console did not answer on " << socket_);
    return nullptr;
  }

private:
  TempDir dir_;
  std::string socket_;
  std::optional<apps::Assembly> assembly_;
  std::unique_ptr<Runtime> runtime_;
  std::thread loop_;
};

// Polls `line` until it succeeds and its reply satisfies `pred` (bounded: 20 s).
template <typename Pred>
std::string eventually(ConsoleClient& c, const std::string& line, Pred pred) {
  std::string last;
  for (int i = 0; i < 2000; ++i) {
    const auto f = c.request(line);
    last = f.payload;
    if (f.kind == FrameKind::ok && pred(last)) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("'" << line << "' never answered as expected; last reply: " << last);
  return last;
}

// The number in the first data line of a one-cell table ("n\n42\n(1 row)\n").
long first_cell(const std::string& table) {
  const auto start = table.find('\n') + 1;
  return std::stol(table.substr(start, table.find('\n', start) - start));
}

}  // namespace

TEST_CASE("record commands: sql answers a SELECT and refuses a write", "[store][record][console]") {
  RecordBox box;
  auto c = box.client();
  const std::string count =
      eventually(*c, "sql SELECT count(*) AS n FROM readings", [](const std::string& r) { return first_cell(r) > 0; });
  CHECK_THAT(count, Catch::StartsWith("n\n") && Catch::EndsWith("(1 row)\n"));

  auto r = c->request("sql SELECT p.name, count(*) AS n FROM readings r JOIN points p ON p.id = r.point "
                      "WHERE p.name = 't.uptime_s' GROUP BY p.name");
  CHECK(r.kind == FrameKind::ok);
  CHECK_THAT(r.payload, Catch::StartsWith("name        n") && Catch::Contains("t.uptime_s  "));

  r = c->request("sql WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1500) SELECT x FROM c");
  CHECK(r.kind == FrameKind::ok);
  CHECK_THAT(r.payload, Catch::Contains("\n1000\n") && Catch::EndsWith("\n(truncated at 1000 rows)\n"));
  CHECK(r.payload.find("\n1001\n") == std::string::npos);

  r = c->request("--json sql SELECT seq FROM readings ORDER BY seq LIMIT 2");
  CHECK(r.kind == FrameKind::ok);
  CHECK_THAT(r.payload, Catch::StartsWith("{\"columns\":[\"seq\"],\"rows\":[[1],[2]],\"truncated\":false,"));

  r = c->request("sql DELETE FROM readings");
  CHECK(r.kind == FrameKind::error);
  CHECK(r.payload ==
        "sql: only read-only statements (SELECT, WITH, EXPLAIN, read-only PRAGMA) are allowed (in \"DELETE FROM "
        "readings\")\n");
  r = c->request("sql");
  CHECK(r.kind == FrameKind::error);
  CHECK_THAT(r.payload, Catch::Contains("usage: sql SELECT ..."));
  r = c->request("sql SELECT * FROM nosuch");
  CHECK(r.kind == FrameKind::error);
  CHECK_THAT(r.payload, Catch::Contains("sql: no such table: nosuch"));

  // `store`: the counters (text and JSON) and the gaps.
  r = c->request("store");
  CHECK(r.kind == FrameKind::ok);
  CHECK_THAT(r.payload, Catch::Contains("committed seq:") && Catch::Contains("rows written:") &&
                            Catch::Contains("busy retries:") && Catch::Contains("gaps:           0 ranges, 0 readings lost"));
  r = c->request("--json store");
  CHECK(r.kind == FrameKind::ok);
  CHECK_THAT(r.payload, Catch::StartsWith("{\"path\":") && Catch::Contains("\"rows_written\":") &&
                            Catch::Contains("\"gaps\":{\"ranges\":0,\"lost\":0,\"recent\":[]}"));
  r = c->request("gaps");
  CHECK(r.kind == FrameKind::ok);
  CHECK_THAT(r.payload, Catch::StartsWith("no gaps: every seq up to ") && Catch::Contains("0 ranges, 0 readings lost"));
  r = c->request("gaps 3");
  CHECK(r.kind == FrameKind::error);
  CHECK_THAT(r.payload, Catch::Contains("usage: gaps"));
  r = c->request("store now");
  CHECK(r.kind == FrameKind::error);
  CHECK_THAT(r.payload, Catch::Contains("usage: store"));

  // The commands belong to the record service's run.
  r = c->request("help");
  CHECK_THAT(r.payload, Catch::Contains("sql SELECT ...") && Catch::Contains("store"));
  r = c->request("stop record");
  CHECK(r.kind == FrameKind::ok);
  r = c->request("sql SELECT 1");
  CHECK(r.kind == FrameKind::error);
  CHECK_THAT(r.payload, Catch::StartsWith("unknown command"));
  r = c->request("start record");
  CHECK(r.kind == FrameKind::ok);
  eventually(*c, "sql SELECT 1", [](const std::string& s) { return s == "1\n1\n(1 row)\n"; });
}

TEST_CASE("record commands: a query result renders as a table with its limits", "[store][record]") {
  store::QueryResult r;
  r.columns = {"name", "v"};
  r.rows = {{std::string("a\nb"), std::int64_t{1}}, {std::monostate{}, 2.5},
            {store::QueryBlob{std::string(20, '\x01'), 40}, std::int64_t{3}}};
  store::QueryLimits limits;
  CHECK(apps::render_query_text(r, limits) ==
        "name                                               v\n"
        "a\\nb                                               1\n"
        "NULL                                               2.5\n"
        "x'01010101010101010101010101010101...' (40 bytes)  3\n"
        "(3 rows)\n");
  r.truncated = true;
  limits.max_rows = 3;
  CHECK_THAT(apps::render_query_text(r, limits), Catch::EndsWith("(truncated at 3 rows)\n"));
  CHECK_THAT(apps::render_query_json(r, limits),
             Catch::StartsWith("{\"columns\":[\"name\",\"v\"],\"rows\":[[\"a\\nb\",1],[null,2.5],[{\"blob_bytes\":40,"
                               "\"hex\":\"0101") &&
                 Catch::Contains("\"truncated\":true,\"max_rows\":3,"));
}

TEST_CASE("record commands: gaps render newest last, with their size and why", "[store][record]") {
  const std::vector<store::Gap> gaps{{5, 9, "dropped (queue full)"}, {20, 20, "pruned (size cap)"},
                                     {31, 40, "pruned (retention)"}};
  std::string text;
  const auto json = weft::apps::render_gaps(gaps, 2, text);
  CHECK(text ==
        "FIRST SEQ  LAST SEQ  READINGS  WHY\n"
        "20         20        1         pruned (size cap)\n"
        "31         40        10        pruned (retention)\n"
        "(the newest 2 of 3 gaps)\n");
  REQUIRE(json.size() == 2);
  CHECK(json[1] == "{\"first_seq\":31,\"last_seq\":40,\"why\":\"pruned (retention)\"}");
}
