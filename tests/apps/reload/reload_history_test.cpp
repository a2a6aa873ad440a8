// The config history file: a round trip keeps every field (text that TOML
// could not hold is escaped or replaced, never fatal), the newest 20 are
// kept, ids continue across restarts (and trimming, and damage), a damaged
// file is moved aside with a warning and never throws, a reader can leave
// it in place, outcomes are bounded, and a failed write says why.
#include "weft/apps/reload/reload_history.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <cstdio>
#include <string>

#include "support/files.hpp"

using weft::apps::HistoryDamage;
using weft::apps::ReloadHistory;
using weft::apps::ReloadOutcome;
using weft::apps::ReloadResult;
using weft::apps::ReloadTrigger;
using weft::test::contains;
namespace fs = std::filesystem;

namespace {

ReloadOutcome history_outcome(std::uint64_t id) {
  ReloadOutcome o;
  o.id = id;
  o.started_unix_ms = 1'767'225'600'000 + static_cast<std::int64_t>(id);
  o.took_us = 1'234'567;
  o.trigger = ReloadTrigger::watch;
  o.result = ReloadResult::rolled_back;
  o.file = "/etc/weft/weftd.toml";
  o.config_hash = "0123456789abcdef";
  o.errors = {"gather: not ready within 10000 ms"};
  o.services = {{"gather", "restart", false, "not ready within 10000 ms"}, {"gather", "rollback", true, ""}};
  o.live = {"weftd.log_level"};
  o.warnings = {"record: 12 readings not yet uploaded stay in the old store file"};
  return o;
}

void history_write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc | std::ios::binary);
  out << text;
}

// The file's text with its checksum line recomputed, as if weftd had written it (for edits
// that must reach the parser).
std::string history_resign(const std::string& text) {
  const std::size_t at = text.find("checksum = \"");
  REQUIRE(at != std::string::npos);
  const std::size_t nl = text.find('\n', at);
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::size_t i = nl + 1; i < text.size(); ++i) {
    h ^= static_cast<unsigned char>(text[i]);
    h *= 0x100000001b3ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return text.substr(0, at) + "checksum = \"" + hex + "\"" + text.substr(nl);
}

}  // namespace

TEST_CASE("reload history: an outcome read back equals what was appended", "[reload][history]") {
  const std::string dir = weft::test::temp_dir("weft-history-trip");
  ReloadOutcome o = history_outcome(1);
  o.errors.push_back("box.toml:3:7: \"quoted\", back\\slash, tab\there, newline\nand DEL\x7f");
  o.services.push_back({"tap", "start", true, "caf\xc3\xa9 ok"});
  const auto w = weft::apps::append_reload_history(dir, o);
  REQUIRE(w.ok());
  CHECK(w.id == 1);
  CHECK(w.warning.empty());
  CHECK(fs::exists(dir + "/reload-history.toml"));

  const ReloadHistory h = weft::apps::load_reload_history(dir);
  CHECK(h.warning.empty());
  CHECK(h.next_id == 2);
  REQUIRE(h.entries.size() == 1);
  const ReloadOutcome& r = h.entries[0];
  CHECK(r.id == o.id);
  CHECK(r.started_unix_ms == o.started_unix_ms);
  CHECK(r.took_us == o.took_us);
  CHECK(r.trigger == ReloadTrigger::watch);
  CHECK(r.result == ReloadResult::rolled_back);
  CHECK(r.file == o.file);
  CHECK(r.config_hash == o.config_hash);
  CHECK(r.errors == o.errors);
  CHECK(r.live == o.live);
  CHECK(r.warnings == o.warnings);
  REQUIRE(r.services.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(r.services[i].service == o.services[i].service);
    CHECK(r.services[i].action == o.services[i].action);
    CHECK(r.services[i].ok == o.services[i].ok);
    CHECK(r.services[i].error == o.services[i].error);
  }

  SECTION("every trigger and result") {
    int id = 2;
    for (auto t : {ReloadTrigger::signal, ReloadTrigger::console, ReloadTrigger::watch, ReloadTrigger::remote})
      for (auto res : {ReloadResult::applied, ReloadResult::unchanged, ReloadResult::refused, ReloadResult::rolled_back,
                       ReloadResult::rollback_failed, ReloadResult::interrupted}) {
        ReloadOutcome x = history_outcome(static_cast<std::uint64_t>(id++));
        x.trigger = t;
        x.result = res;
        REQUIRE(weft::apps::append_reload_history(dir, x).ok());
        const ReloadHistory back = weft::apps::load_reload_history(dir);
        REQUIRE(back.warning.empty());
        CHECK(back.entries.back().trigger == t);
        CHECK(back.entries.back().result == res);
      }
  }
  SECTION("bytes TOML cannot hold are replaced, never a damaged file") {
    ReloadOutcome bad = history_outcome(2);
    bad.errors = {std::string("raw \xff\xfe bytes and a NUL \0 here", 30)};
    REQUIRE(weft::apps::append_reload_history(dir, bad).ok());
    const ReloadHistory back = weft::apps::load_reload_history(dir);
    CHECK(back.warning.empty());
    REQUIRE(back.entries.size() == 2);
    CHECK(back.entries[1].errors[0] == std::string("raw \xef\xbf\xbd\xef\xbf\xbd bytes and a NUL \0 here", 34));
  }
  fs::remove_all(dir);
}

// The line a transaction leaves when it begins (interrupted, under the id it
// was given even when the file is behind it) stays if nothing replaces it,
// and is replaced by the outcome appended with the same id.
TEST_CASE("reload history: a reservation leaves an interrupted line that the outcome replaces", "[reload][history]") {
  const std::string dir = weft::test::temp_dir("weft-history-started");
  ReloadOutcome started = history_outcome(5);
  started.result = ReloadResult::interrupted;
  started.services.clear();
  const auto r = weft::apps::reserve_reload_id(dir, 5, &started);
  REQUIRE(r.ok());
  CHECK(r.id == 5);
  ReloadHistory h = weft::apps::load_reload_history(dir);
  REQUIRE(h.entries.size() == 1);
  CHECK(h.entries[0].id == 5);
  CHECK(h.entries[0].result == ReloadResult::interrupted);
  CHECK(h.next_id == 6);
  REQUIRE(weft::apps::reserve_reload_id(dir, 6).ok());  // no line: the id only
  CHECK(weft::apps::load_reload_history(dir).entries.size() == 1);
  ReloadOutcome done = history_outcome(5);
  done.result = ReloadResult::applied;
  REQUIRE(weft::apps::append_reload_history(dir, done).ok());
  h = weft::apps::load_reload_history(dir);
  REQUIRE(h.entries.size() == 1);
  CHECK(h.entries[0].result == ReloadResult::applied);
  CHECK(h.next_id == 7);
  fs::remove_all(dir);
}

TEST_CASE("reload history keeps the newest 20, oldest first", "[reload][history]") {
  const std::string dir = weft::test::temp_dir("weft-history-trim");
  for (std::uint64_t id = 1; id <= 25; ++id) REQUIRE(weft::apps::append_reload_history(dir, history_outcome(id)).ok());
  const ReloadHistory h = weft::apps::load_reload_history(dir);
  REQUIRE(h.entries.size() == weft::apps::kReloadHistoryKeep);
  CHECK(h.entries.front().id == 6);
  CHECK(h.entries.back().id == 25);
  CHECK(h.next_id == 26);
  // An entry appended again (same id) replaces, never duplicates.
  ReloadOutcome again = history_outcome(25);
  again.result = ReloadResult::applied;
  REQUIRE(weft::apps::append_reload_history(dir, again).ok());
  const ReloadHistory h2 = weft::apps::load_reload_history(dir);
  CHECK(h2.entries.size() == 20);
  CHECK(h2.entries.back().result == ReloadResult::applied);
  fs::remove_all(dir);
}

TEST_CASE("reload history: ids continue across restarts, trimming and reservations", "[reload][history]") {
  const std::string dir = weft::test::temp_dir("weft-history-ids");
  CHECK(weft::apps::load_reload_history(dir).next_id == 1);  // no file yet
  const auto first = weft::apps::reserve_reload_id(dir);
  REQUIRE(first.ok());
  CHECK(first.id == 1);
  const auto second = weft::apps::reserve_reload_id(dir);
  CHECK(second.id == 2);  // the first transaction never wrote its outcome (died with the box): 1 stays used
  REQUIRE(weft::apps::append_reload_history(dir, history_outcome(second.id)).ok());
  // "Restart": nothing but the file carries state.
  CHECK(weft::apps::load_reload_history(dir).next_id == 3);
  CHECK(weft::apps::reserve_reload_id(dir).id == 3);
  // No id reserved: the next one.
  const auto unreserved = weft::apps::append_reload_history(dir, history_outcome(0));
  CHECK(unreserved.id == 4);
  for (std::uint64_t id = 5; id <= 40; ++id) REQUIRE(weft::apps::append_reload_history(dir, history_outcome(id)).ok());
  CHECK(weft::apps::reserve_reload_id(dir).id == 41);  // 20 kept, ids go on
  // The coordinator gave id 43 at enqueue (42 went to a superseded remote
  // config): 43 is reserved, so the next weftd never gives 43 again.
  CHECK(weft::apps::reserve_reload_id(dir, 43).id == 43);
  CHECK(weft::apps::load_reload_history(dir).next_id == 44);
  CHECK(weft::apps::reserve_reload_id(dir, 10).id == 44);  // never below the file's next id
  fs::remove_all(dir);
}

TEST_CASE("reload history: a damaged file is moved aside with a warning and the history restarts", "[reload][history]") {
  const std::string dir = weft::test::temp_dir("weft-history-damaged");
  const std::string path = dir + "/reload-history.toml";
  for (std::uint64_t id = 1; id <= 7; ++id) REQUIRE(weft::apps::append_reload_history(dir, history_outcome(id)).ok());
  const std::string good = weft::test::read_file(path);

  SECTION("torn in the middle of an entry") {
    history_write_text(path, good.substr(0, good.rfind("trigger = ") + 10));
    const ReloadHistory h = weft::apps::load_reload_history(dir);
    CHECK(h.entries.empty());
    CHECK(h.next_id == 8);  // the ids the damaged text still shows
    CHECK(contains(h.warning, "the reload history " + path + " is damaged ("));
    CHECK(contains(h.warning, "moved it to " + path + ".damaged and started a new history (ids continue from 8)"));
    CHECK_FALSE(fs::exists(path));
    CHECK(weft::test::read_file(path + ".damaged") == good.substr(0, good.rfind("trigger = ") + 10));
    // The next write starts the new file; the damaged one stays for a person to read.
    const auto w = weft::apps::append_reload_history(dir, history_outcome(h.next_id));
    REQUIRE(w.ok());
    CHECK(w.warning.empty());
    const ReloadHistory after = weft::apps::load_reload_history(dir);
    REQUIRE(after.entries.size() == 1);
    CHECK(after.entries[0].id == 8);
    CHECK(fs::exists(path + ".damaged"));
  }
  SECTION("cut short at a table boundary, where it would still parse") {
    history_write_text(path, good.substr(0, good.rfind("[[reload]]")));
    const ReloadHistory h = weft::apps::load_reload_history(dir);
    CHECK(h.entries.empty());
    CHECK(contains(h.warning, "checksum mismatch"));
    CHECK(contains(h.warning, "cut short or altered"));
    CHECK(h.next_id == 8);  // entry 7 went with the cut, but next_id = 8 at the top did not
  }
  SECTION("empty") {
    history_write_text(path, "");
    const ReloadHistory h = weft::apps::load_reload_history(dir);
    CHECK(h.entries.empty());
    CHECK(h.next_id == 1);
    CHECK(contains(h.warning, "no checksum line"));
  }
  SECTION("signed, but not a history") {
    history_write_text(path, history_resign("checksum = \"\"\nanswer = 42\n"));
    CHECK(contains(weft::apps::load_reload_history(dir).warning, "version: missing"));
  }
  SECTION("binary garbage") {
    history_write_text(path, std::string("\x00\x01\xff\xfe garbage", 13));
    CHECK(contains(weft::apps::load_reload_history(dir).warning, "is damaged"));
  }
  SECTION("a field of the wrong type, or an unknown value") {
    std::string text = good;
    text.replace(text.find("result = \"rolled back\""), 22, "result = \"exploded\"");
    history_write_text(path, text);
    CHECK(contains(weft::apps::load_reload_history(dir, HistoryDamage::leave).warning, "checksum mismatch"));
    history_write_text(path, history_resign(text));
    const ReloadHistory h = weft::apps::load_reload_history(dir);
    CHECK(contains(h.warning, "unknown result 'exploded'"));
    CHECK(h.next_id == 8);
  }
  SECTION("another version") {
    std::string text = good;
    text.replace(text.find("version = 1"), 11, "version = 9");
    history_write_text(path, history_resign(text));
    CHECK(contains(weft::apps::load_reload_history(dir).warning, "is 9; this weftd reads version 1"));
  }
  SECTION("a reader may leave it where it is") {
    history_write_text(path, "version = ");
    const ReloadHistory h = weft::apps::load_reload_history(dir, HistoryDamage::leave);
    CHECK(contains(h.warning, "weftd moves it aside at the next reload"));
    CHECK(fs::exists(path));
    CHECK_FALSE(fs::exists(path + ".damaged"));
  }
  SECTION("a reservation over a damaged file continues the ids") {
    history_write_text(path, good.substr(0, good.size() - 5));
    const auto w = weft::apps::reserve_reload_id(dir);
    CHECK(w.ok());
    CHECK(w.id == 8);
    CHECK(contains(w.warning, "is damaged"));
  }
  fs::remove_all(dir);
}

TEST_CASE("reload history bounds what it keeps of an outcome", "[reload][history]") {
  const std::string dir = weft::test::temp_dir("weft-history-bounds");
  ReloadOutcome o = history_outcome(1);
  o.result = ReloadResult::refused;
  o.errors.clear();
  for (int i = 0; i < 100; ++i) o.errors.push_back("box.toml:" + std::to_string(i) + ":1: bad");
  o.errors[0] = std::string(5000, 'x');
  REQUIRE(weft::apps::append_reload_history(dir, o).ok());
  const ReloadHistory h = weft::apps::load_reload_history(dir);
  REQUIRE(h.entries.size() == 1);
  const auto& errors = h.entries[0].errors;
  REQUIRE(errors.size() == weft::apps::kMaxErrors + 1);
  CHECK(errors.back() == "[... and 68 more]");
  CHECK(errors[0] == std::string(weft::apps::kMaxText, 'x') + " [... 3000 more bytes]");
  CHECK(errors[1] == "box.toml:1:1: bad");
  fs::remove_all(dir);
}

TEST_CASE("reload history: a write that fails says why", "[reload][history]") {
  const std::string dir = weft::test::temp_dir("weft-history-nowrite");
  const auto w = weft::apps::append_reload_history(dir + "/missing", history_outcome(1));
  CHECK_FALSE(w.ok());
  CHECK(contains(w.error, "cannot write the reload history: cannot create " + dir + "/missing/reload-history.toml"));
  fs::remove_all(dir);
}
