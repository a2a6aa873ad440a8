// The update marker and state files (weftctl update writes them, weftd
// reads them): a round trip keeps every field, text with newlines, tabs
// and backslashes included; a missing file is no error and no value; a
// damaged one (no format line, a bad step, a short history line) is an
// error that names the file, never a throw; the history keeps the newest
// 10; removing the marker is idempotent; the STATUS= note says the pending
// step, or the last outcome with its first line of why.
#include "weft/apps/update/update_record.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "support/files.hpp"

using namespace weft::update;

namespace {

Pending sample_pending() {
  Pending p;
  p.step = Step::settling;
  p.from_version = "1:0.1.0-1";
  p.from_package = "/var/lib/weft/update/packages/weft_0.1.0-1_amd64.deb";
  p.from_build_id = "00aa";
  p.to_version = "1:0.2.0-1";
  p.to_package = "/var/lib/weft/update/packages/weft_0.2.0-1_amd64.deb";
  p.to_build_id = "11bb";
  p.why = "line one\nline\ttwo \\ end";
  p.updater_pid = 4242;
  p.started_unix_ms = 1767225600123;
  p.install_cmd = "dpkg -i";
  p.restart_cmd = "systemctl restart weftd";
  p.version_cmd = "dpkg-query -W -f='${Version}' weft";
  p.socket = "/run/weft/weftd.sock";
  p.settle_s = 2.5;
  p.start_timeout_s = 150;
  return p;
}

}  // namespace

TEST_CASE("update marker: a round trip keeps every field") {
  const Pending p = sample_pending();
  Pending back;
  std::string error;
  REQUIRE(parse(render(p), back, error));
  CHECK(error.empty());
  CHECK(back.step == Step::settling);
  CHECK(back.from_version == p.from_version);
  CHECK(back.from_package == p.from_package);
  CHECK(back.from_build_id == p.from_build_id);
  CHECK(back.to_version == p.to_version);
  CHECK(back.to_package == p.to_package);
  CHECK(back.to_build_id == p.to_build_id);
  CHECK(back.why == p.why);
  CHECK(back.updater_pid == 4242);
  CHECK(back.started_unix_ms == 1767225600123);
  CHECK(back.install_cmd == p.install_cmd);
  CHECK(back.restart_cmd == p.restart_cmd);
  CHECK(back.version_cmd == p.version_cmd);
  CHECK(back.socket == p.socket);
  CHECK(back.settle_s == 2.5);
  CHECK(back.start_timeout_s == 150);
  for (Step s : {Step::installing, Step::restarting, Step::settling, Step::rolling_back, Step::committing})
    CHECK(parse_step(to_string(s)) == s);
}

TEST_CASE("update state: a round trip keeps the history, newest 10") {
  State s;
  s.current_version = "0.1.0-12";
  s.previous_version = "0.1.0-11";
  s.previous_package = "/x/weft_0.1.0-11_amd64.deb";
  for (int i = 0; i < 12; ++i)
    s.history.push_back({1000 + i, 50 + i, "0.1.0-" + std::to_string(i), "0.1.0-" + std::to_string(i + 1),
                         i % 2 ? "committed" : "rolled back", i % 2 ? "" : "weftd exited\tat start\n(status 1)"});
  State back;
  std::string error;
  REQUIRE(parse(render(s), back, error));
  CHECK(back.current_version == "0.1.0-12");
  CHECK(back.previous_version == "0.1.0-11");
  CHECK(back.previous_package == s.previous_package);
  REQUIRE(back.history.size() == kHistoryKeep);
  CHECK(back.history.front().started_unix_ms == 1002);  // the two oldest dropped
  CHECK(back.history.back().to_version == "0.1.0-12");
  CHECK(back.history[0].why == "weftd exited\tat start\n(status 1)");
  CHECK(back.history[0].result == "rolled back");
  CHECK(back.history[0].took_ms == 52);
}

TEST_CASE("update files: missing, damaged, written, removed") {
  const std::string dir = weft::test::temp_dir("weft-update-record");
  SECTION("missing: no value, no error") {
    const auto p = read_pending(dir);
    const auto s = read_state(dir);
    CHECK_FALSE(p.value);
    CHECK(p.error.empty());
    CHECK_FALSE(s.value);
    CHECK(s.error.empty());
    CHECK_FALSE(remove_pending(dir));  // nothing to remove is no error
  }
  SECTION("written atomically and read back; removal is durable and idempotent") {
    REQUIRE_FALSE(write_pending(dir, sample_pending()));
    const auto p = read_pending(dir);
    REQUIRE(p.value);
    CHECK(p.value->to_version == "1:0.2.0-1");
    CHECK_FALSE(remove_pending(dir));
    CHECK_FALSE(read_pending(dir).value);
    CHECK_FALSE(remove_pending(dir));
  }
  SECTION("damaged: an error naming the file and what is wrong") {
    auto damaged = [&](const std::string& text) {
      std::ofstream(dir + "/pending") << text;
      const auto p = read_pending(dir);
      CHECK_FALSE(p.value);
      CHECK(weft::test::contains(p.error, dir + "/pending"));
      return p.error;
    };
    CHECK(weft::test::contains(damaged(""), "empty"));
    CHECK(weft::test::contains(damaged("step=installing\n"), "format=1"));
    CHECK(weft::test::contains(damaged("format=1\nstep=sleeping\n"), "step 'sleeping'"));
    CHECK(weft::test::contains(damaged("format=1\nno equals sign\n"), "line 2"));
    std::string cut = render(sample_pending());
    cut.resize(cut.find("install_cmd"));  // a file cut short: no install command
    CHECK(weft::test::contains(damaged(cut), "install_cmd"));
    std::ofstream(dir + "/state") << "format=1\nupdate=1\t2\tonly four\n";
    const auto s = read_state(dir);
    CHECK_FALSE(s.value);
    CHECK(weft::test::contains(s.error, "6 fields"));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("update note for STATUS= and package file names") {
  CHECK(status_note(std::nullopt, std::nullopt).empty());
  CHECK(status_note(State{}, std::nullopt).empty());
  Pending p = sample_pending();
  CHECK(status_note(std::nullopt, p) == "1:0.1.0-1 -> 1:0.2.0-1 pending (settling)");
  State s;
  s.history.push_back({1, 2, "0.1.0-2", "0.1.0-3", "rolled back", "0.1.0-3 not healthy: exited\nsecond line"});
  CHECK(status_note(s, std::nullopt) == "0.1.0-2 -> 0.1.0-3 rolled back: 0.1.0-3 not healthy: exited");
  CHECK(status_note(s, p) == "1:0.1.0-1 -> 1:0.2.0-1 pending (settling)");  // the pending one wins
  s.history.push_back({3, 4, "0.1.0-2", "0.1.0-4", "committed", ""});
  CHECK(status_note(s, std::nullopt) == "0.1.0-2 -> 0.1.0-4 committed");
  CHECK(package_file_name("1:2.0-1", "amd64") == "weft_2.0-1_amd64.deb");
  CHECK(package_file_name("0.1.0", "arm64") == "weft_0.1.0_arm64.deb");
}
