// The record service and the [store] table: on the virtual clock, heartbeat
// readings go into the store with contiguous seqs (checked in the file
// after the box stops), the store counters are published as points, a
// clock event is recorded; [store] errors name file:line and the key, and
// [service.record] without [store] says to add one.
#include "weft/apps/assembly/store_config.hpp"

#include <catch2/catch.hpp>

#include "../../drivers/store_support.hpp"
#include "weft/apps/assembly/assemble.hpp"
#include "weft/core/bus.hpp"
#include "weft/core/runtime.hpp"

using namespace std::chrono_literals;
using namespace weft;
using namespace weft::test;

namespace {

std::string box(const std::string& db) {
  return "[store]\npath = \"" + db +
         "\"\nbatch_age = \"10ms\"\n"
         "[service.heartbeat]\nperiod = \"1s\"\nprefix = \"box\"\n"
         "[service.record]\nreport_period = \"1s\"\n";
}

std::string config_error(const std::string& toml) {
  try {
    apps::assemble(Config::parse(toml, "box.toml"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("record: a minute of heartbeat on the virtual clock is recorded without a hole", "[store][record]") {
  TempDir dir;
  const std::string db = dir.file("box.db");
  std::uint64_t published_committed = 0;
  int published = 0;
  {
    auto assembly = apps::assemble(Config::parse(box(db), "box.toml"));
    REQUIRE(assembly.store);
    assembly.options.virtual_time = true;
    assembly.options.handle_signals = false;
    {
      Runtime runtime(assembly.options);
      apps::add_services(runtime, assembly);
      auto sub = runtime.bus().subscribe("weft.store.committed_seq", 1000);
      runtime.stop_after(60s);
      REQUIRE(runtime.run() == kExitOk);
      // On the virtual clock the minute passes in milliseconds of real time,
      // faster than the writer's real batch_age: the value may still be 0.
      while (auto r = sub.try_receive()) {
        published_committed = static_cast<std::uint64_t>(std::get<std::int64_t>(r->value));
        ++published;
      }
      const auto c = assembly.store->counters();
      CHECK(c.dropped == 0);
    }
  }  // the store closes after the runtime: what it still held is committed
  const std::int64_t rows = sql_int(db, "SELECT count(*) FROM readings");
  CHECK(rows >= 5 * 59);  // 5 heartbeat points a second, plus the store's own
  CHECK(sql_int(db, "SELECT max(seq) FROM readings") == rows);
  CHECK(sql_int(db, "SELECT min(seq) FROM readings") == 1);
  CHECK(sql_int(db, "SELECT count(*) FROM lost") == 0);
  CHECK(sql_int(db, "SELECT count(*) FROM readings r JOIN points p ON p.id = r.point "
                    "WHERE p.name = 'weft.store.committed_seq'") >= 50);
  CHECK(sql_int(db, "SELECT count(*) FROM clock_events") >= 1);
  CHECK(published >= 59);  // one per report_period
  CHECK(static_cast<std::int64_t>(published_committed) <= rows);
}

TEST_CASE("record: [service.record] without [store] is a config error saying what to add", "[store][record]") {
  const std::string msg = config_error("[service.record]\n");
  CHECK_THAT(msg, Catch::Contains("box.toml:1"));
  CHECK_THAT(msg, Catch::Contains("add a [store] table with path"));
}

TEST_CASE("record: [store] keys are checked with file:line", "[store][record]") {
  const auto with = [](const std::string& keys) { return "[store]\n" + keys + "\n[service.heartbeat]\n"; };
  CHECK_THAT(config_error(with("path = \"/tmp/x.db\"\nsynchronous = \"sometimes\"")),
             Catch::Contains("box.toml:3") && Catch::Contains("store.synchronous") && Catch::Contains("\"full\""));
  CHECK_THAT(config_error(with("path = \"/tmp/x.db\"\nbatch_rows = 0")), Catch::Contains("store.batch_rows"));
  CHECK_THAT(config_error(with("path = \"/tmp/x.db\"\nmax_db_size = \"12 parsecs\"")),
             Catch::Contains("store.max_db_size") && Catch::Contains("64MiB"));
  CHECK_THAT(config_error(with("path = \"/tmp/x.db\"\nbatch_size = 5")), Catch::Contains("batch_size"));
  CHECK_THAT(config_error(with("batch_rows = 5")), Catch::Contains("path"));

  const auto root = Config::parse(with("path = \"/tmp/x.db\"\nmax_db_size = \"64MiB\"\nsynchronous = \"full\"\n"
                                       "retention = \"30d\"\nbatch_age = \"1s\"\nbusy_deadline = \"2s\"\n"
                                       "queue_capacity = 7\nbatch_rows = 9"),
                                  "box.toml");
  const auto o = apps::read_store_config(root.root());
  REQUIRE(o);
  CHECK(o->max_db_size == 64u * 1024 * 1024);
  CHECK(o->synchronous == store::StoreOptions::Synchronous::full);
  CHECK(o->retention == std::chrono::hours(24 * 30));
  CHECK(o->batch_age == 1s);
  CHECK(o->busy_deadline == 2s);
  CHECK(o->queue_capacity == 7);
  CHECK(o->batch_rows == 9);
  CHECK_FALSE(apps::read_store_config(Config::parse("[weftd]\n", "x.toml").root()));
}
