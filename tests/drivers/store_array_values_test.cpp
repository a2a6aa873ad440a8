// Array values in the store (rows.cpp, kind 4): written as JSON text that
// the sqlite3 CLI reads as it is, read back exactly (NaN, infinities, -0,
// the shortest and the longest doubles, an empty array), beside the four
// scalar kinds, which keep their old encoding; the schema version stays 1,
// so an older weftd still opens the file; a kind-4 row that is not such
// text reads back as text rather than as a made-up array.
#include <cmath>
#include <limits>
#include <vector>

#include "store_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {

Value array(std::vector<double> v) { return NumberArray(v); }

}  // namespace

TEST_CASE("store: arrays round-trip beside every scalar kind, as JSON text, schema 1", "[store]") {
  TempDir dir;
  const std::string path = dir.file("a.db");
  constexpr double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> awkward{1.5, -0.0, 0.1, 1e-320, std::numeric_limits<double>::max(), -inf, inf,
                                    std::numeric_limits<double>::quiet_NaN(), 123456789.125};
  {
    boost::asio::io_context ioc;
    store::Store s(options_for(path));
    run_sync(ioc, s.open());
    s.append(sample("d", 2.5));
    s.append(sample("i", std::int64_t{-7}));
    s.append(sample("b", true));
    s.append(sample("t", std::string("[1,2]")));  // text that looks like an array stays text
    s.append(sample("a", array({1.5, 2, -0.25})));
    s.append(sample("e", array({})));
    s.append(sample("w", array(awkward)));
    REQUIRE(run_sync(ioc, s.flushed()) == 7);
  }
  CHECK(sql_int(path, "SELECT version FROM schema_version") == 1);
  CHECK(sql_text(path, "SELECT value FROM readings WHERE seq = 5") == "[1.5,2,-0.25]");
  CHECK(sql_int(path, "SELECT kind FROM readings WHERE seq = 5") == 4);
  CHECK(sql_int(path, "SELECT kind FROM readings WHERE seq = 4") == 3);
  CHECK(sql_text(path, "SELECT value FROM readings WHERE seq = 6") == "[]");
  CHECK(sql_int(path, "SELECT json_array_length(value) FROM readings WHERE seq = 7") == 9);

  boost::asio::io_context ioc;
  store::Store s(options_for(path));
  run_sync(ioc, s.open());
  const auto rows = run_sync(ioc, s.undelivered(0, 100));
  REQUIRE(rows.size() == 7);
  CHECK(std::get<double>(rows[0].reading.value) == 2.5);
  CHECK(std::get<std::int64_t>(rows[1].reading.value) == -7);
  CHECK(std::get<bool>(rows[2].reading.value));
  CHECK(std::get<std::string>(rows[3].reading.value) == "[1,2]");
  CHECK(std::get<NumberArray>(rows[4].reading.value) == NumberArray(std::vector<double>{1.5, 2, -0.25}));
  CHECK(std::get<NumberArray>(rows[5].reading.value).empty());
  const auto back = std::get<NumberArray>(rows[6].reading.value).values();
  REQUIRE(back.size() == awkward.size());
  for (std::size_t i = 0; i < awkward.size(); ++i) {
    INFO("element " << i);
    if (std::isnan(awkward[i])) {
      CHECK(std::isnan(back[i]));
    } else {
      CHECK(back[i] == awkward[i]);
      CHECK(std::signbit(back[i]) == std::signbit(awkward[i]));
    }
  }
}

TEST_CASE("store: a kind-4 row that is not array text reads back as its text", "[store]") {
  TempDir dir;
  const std::string path = dir.file("a.db");
  {
    boost::asio::io_context ioc;
    store::Store s(options_for(path));
    run_sync(ioc, s.open());
    s.append(sample("a", array({1})));
    REQUIRE(run_sync(ioc, s.flushed()) == 1);
  }
  {
    store::sql::Db db(path, store::sql::OpenMode::read_write_create);
    db.exec("UPDATE readings SET value = '[1,,2]' WHERE seq = 1");
  }
  boost::asio::io_context ioc;
  store::Store s(options_for(path));
  run_sync(ioc, s.open());
  const auto rows = run_sync(ioc, s.undelivered(0, 10));
  REQUIRE(rows.size() == 1);
  CHECK(std::get<std::string>(rows[0].reading.value) == "[1,,2]");
}
