// Remote config's pure parts (weft/apps/reload/remote_config.hpp): the
// result message's JSON, and the link's outbox (bounded, removed only by
// the broker's PUBACK, withdrawn provisional results never published).
#include "weft/apps/reload/remote_config.hpp"

#include <catch2/catch.hpp>

#include <string>

using weft::apps::ReloadOutcome;
using weft::apps::ReloadResult;
using weft::apps::ReloadTrigger;
using weft::apps::RemoteConfigLink;

namespace {
ReloadOutcome remote_outcome_for_test(std::uint64_t id, ReloadResult r) {
  ReloadOutcome o;
  o.id = id;
  o.trigger = ReloadTrigger::remote;
  o.result = r;
  o.config_hash = "0123456789abcdef";
  o.took_us = 1500;
  return o;
}
}  // namespace

TEST_CASE("remote config: the result JSON has every field, errors escaped", "[reload][remote]") {
  ReloadOutcome o = remote_outcome_for_test(42, ReloadResult::rolled_back);
  o.errors = {"upload: did not \"publish\"\nin time"};
  o.services = {{"upload", "restart", false, "bad"}, {"upload", "rollback", true, ""}};
  o.live = {"weftd.log_level"};
  CHECK(weft::apps::remote_result_json(o, "fedcba9876543210", 321) ==
        "{\"id\":42,\"result\":\"rolled_back\",\"trigger\":\"remote\",\"config_hash\":\"0123456789abcdef\","
        "\"request_hash\":\"fedcba9876543210\",\"request_bytes\":321,\"took_us\":1500,"
        "\"errors\":[\"upload: did not \\\"publish\\\"\\nin time\"],"
        "\"services\":[{\"service\":\"upload\",\"action\":\"restart\",\"ok\":false,\"error\":\"bad\"},"
        "{\"service\":\"upload\",\"action\":\"rollback\",\"ok\":true,\"error\":\"\"}],"
        "\"live\":[\"weftd.log_level\"]}");
  CHECK_THAT(weft::apps::remote_result_json(remote_outcome_for_test(1, ReloadResult::rollback_failed), "", 0),
             Catch::Matchers::Contains("\"result\":\"rollback_failed\""));
  CHECK_THAT(weft::apps::remote_result_json(remote_outcome_for_test(1, ReloadResult::unchanged), "", 0),
             Catch::Matchers::Contains("\"errors\":[],\"services\":[],\"live\":[]"));
}

TEST_CASE("remote config: the outbox keeps results until their PUBACK, bounded, withdrawals never published",
          "[reload][remote]") {
  RemoteConfigLink link;
  int changes = 0;
  std::string dropped;
  link.on_change = [&] { ++changes; };
  link.on_dropped = [&](const std::string& json) { dropped = json; };
  const auto a = link.post(remote_outcome_for_test(1, ReloadResult::applied), "", 0);
  const auto b = link.post(remote_outcome_for_test(2, ReloadResult::refused), "", 0);
  REQUIRE(link.outbox().size() == 2);
  CHECK_FALSE(link.is_published(a));
  link.published(a);
  CHECK(link.is_published(a));
  CHECK_FALSE(link.is_published(b));
  CHECK(changes == 1);
  REQUIRE(link.outbox().size() == 1);
  CHECK(link.outbox().front().outcome_id == 2);
  link.published(a);  // a duplicate PUBACK changes nothing
  CHECK(link.outbox().size() == 1);
  link.withdraw(b);
  CHECK(link.outbox().empty());
  link.published(b);  // a PUBACK for a withdrawn result: not "published" (it was never meant to count)
  CHECK_FALSE(link.is_published(b));

  for (std::uint64_t i = 0; i < weft::apps::kRemoteOutbox + 3; ++i)
    link.post(remote_outcome_for_test(100 + i, ReloadResult::refused), "", 0);
  CHECK(link.outbox().size() == weft::apps::kRemoteOutbox);
  CHECK(link.outbox().front().outcome_id == 103);  // the oldest went
  CHECK_THAT(dropped, Catch::Matchers::Contains("\"id\":102"));
}

TEST_CASE("remote config: the link's state and refusals", "[reload][remote]") {
  RemoteConfigLink link;
  CHECK_FALSE(link.linked());
  link.link_up();
  CHECK(link.linked());
  link.link_down("unreachable: cannot connect");
  CHECK_FALSE(link.linked());
  CHECK(link.link_state() == "unreachable: cannot connect");
  // Without a coordinator (on_refuse unset) a refusal posts nothing.
  link.refuse("t/config/set", 10, "too big");
  CHECK(link.outbox().empty());
  link.on_refuse = [](std::string source, std::string error) {
    ReloadOutcome o = remote_outcome_for_test(0, ReloadResult::refused);
    o.file = std::move(source);
    o.errors.push_back(std::move(error));
    return o;
  };
  link.refuse("t/config/set", 5000, "config of 5000 bytes is larger than max_config_bytes = 4096");
  REQUIRE(link.outbox().size() == 1);
  CHECK_THAT(link.outbox().front().json, Catch::Matchers::Contains("\"request_bytes\":5000") &&
                                             Catch::Matchers::Contains("larger than max_config_bytes"));
}
