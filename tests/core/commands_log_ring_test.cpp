// The in-memory ring of recent log lines behind `log tail`: lines arrive
// in order with increasing sequence numbers, can be filtered by logger,
// and the ring keeps only the newest kRingLines.
#include "weft/core/log.hpp"

#include <catch2/catch.hpp>

#include <spdlog/spdlog.h>

using namespace weft;

TEST_CASE("log ring: recent lines, in order, by logger, after a sequence number", "[commands][log]") {
  auto a = logging::make_logger("ring-test-a");
  auto b = logging::make_logger("ring-test-b");
  const std::uint64_t before = logging::last_line_seq();
  a->warn("first {}", 1);
  b->warn("second");
  a->warn("third");
  logging::flush();  // the ring is filled by the log thread
  const auto all = logging::recent_lines(before, 100);
  std::vector<std::string> texts;
  for (const auto& l : all)
    if (l.logger.starts_with("ring-test")) texts.push_back(l.logger + ":" + l.text);
  CHECK(texts == std::vector<std::string>{"ring-test-a:first 1", "ring-test-b:second", "ring-test-a:third"});
  for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i].seq > all[i - 1].seq);

  const auto only_a = logging::recent_lines(before, 100, "ring-test-a");
  REQUIRE(only_a.size() == 2);
  CHECK(only_a[1].text == "third");
  CHECK(only_a[1].level == spdlog::level::warn);
  // At most `max`, the newest ones.
  const auto newest = logging::recent_lines(before, 1, "ring-test-a");
  REQUIRE(newest.size() == 1);
  CHECK(newest[0].text == "third");
  CHECK(logging::format_line(newest[0]).find("[ring-test-a] third") != std::string::npos);
}

TEST_CASE("log ring: bounded to kRingLines, the oldest lines go", "[commands][log]") {
  auto logger = logging::make_logger("ring-test-flood");
  const std::uint64_t before = logging::last_line_seq();
  // In chunks the log queue holds (1024 lines, log.cpp), each flushed: a
  // burst larger than the queue loses its oldest lines before they reach
  // the ring, and this is about the ring's own bound.
  for (std::size_t i = 0; i < logging::kRingLines + 100; ++i) {
    logger->warn("line {}", i);
    if (i % 512 == 511) REQUIRE(logging::flush());
  }
  REQUIRE(logging::flush());
  const auto lines = logging::recent_lines(before, logging::kRingLines * 2, "ring-test-flood");
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.size() <= logging::kRingLines);
  CHECK(lines.back().text == "line " + std::to_string(logging::kRingLines + 99));
  CHECK(lines.front().text != "line 0");
}
