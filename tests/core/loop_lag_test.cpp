// Loop lag histogram: log2 buckets of microseconds, percentiles as bucket
// upper bounds capped at the max, merge, and the recent window's rotation.
#include "weft/core/loop_lag.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using weft::Duration;
using weft::LagHistogram;

TEST_CASE("lag samples land in log2 microsecond buckets", "[loop_lag]") {
  CHECK(LagHistogram::bucket_lower(0) == 0us);
  CHECK(LagHistogram::bucket_upper(0) == 1us);
  CHECK(LagHistogram::bucket_lower(1) == 1us);
  CHECK(LagHistogram::bucket_upper(1) == 2us);
  CHECK(LagHistogram::bucket_lower(11) == 1024us);

  LagHistogram h;
  h.record(500ns);   // bucket 0
  h.record(1us);     // bucket 1
  h.record(3us);     // bucket 2: [2, 4)
  h.record(1500us);  // bucket 11: [1024, 2048)
  h.record(-5us);    // a clock quirk counts as no lag
  CHECK(h.count() == 5);
  CHECK(h.buckets()[0] == 2);
  CHECK(h.buckets()[1] == 1);
  CHECK(h.buckets()[2] == 1);
  CHECK(h.buckets()[11] == 1);
  CHECK(h.max() == 1500us);
}

TEST_CASE("percentiles are bucket upper bounds, never above the max", "[loop_lag]") {
  LagHistogram h;
  CHECK(h.percentile(0.99) == Duration::zero());  // empty
  for (int i = 0; i < 98; ++i) h.record(10us);     // bucket [8, 16)
  h.record(100us);                                 // [64, 128)
  h.record(5000us);                                // [4096, 8192)
  CHECK(h.percentile(0.5) == 16us);
  CHECK(h.percentile(0.98) == 16us);
  CHECK(h.percentile(0.99) == 128us);
  CHECK(h.percentile(1.0) == 5000us);  // capped at the max, not 8192 us
  CHECK(h.max() == 5000us);

  LagHistogram single;
  single.record(3us);
  CHECK(single.percentile(0.5) == 3us);
}

TEST_CASE("an enormous lag goes to the last bucket", "[loop_lag]") {
  LagHistogram h;
  h.record(std::chrono::hours(24 * 400));
  CHECK(h.buckets()[LagHistogram::kBuckets - 1] == 1);
  CHECK(h.percentile(0.5) == std::chrono::hours(24 * 400));
}

TEST_CASE("merge adds counts and keeps the larger max", "[loop_lag]") {
  LagHistogram a, b;
  a.record(10us);
  b.record(10us);
  b.record(300us);
  a.merge(b);
  CHECK(a.count() == 3);
  CHECK(a.buckets()[4] == 2);
  CHECK(a.max() == 300us);
}

TEST_CASE("the recent histogram covers the current and the previous window only", "[loop_lag]") {
  weft::LoopLag lag(10s);
  const weft::MonoTime t0{1h};
  lag.record(t0, t0 + 5ms);              // window 1
  lag.record(t0 + 11s, t0 + 11s + 1us);  // window 2 (window 1 becomes previous)
  auto s = lag.snapshot();
  CHECK(s.total.count() == 2);
  CHECK(s.recent.count() == 2);
  CHECK(s.recent.max() == 5ms);

  lag.record(t0 + 22s, t0 + 22s + 2us);  // window 3: window 1 falls out
  s = lag.snapshot();
  CHECK(s.total.count() == 3);
  CHECK(s.recent.count() == 2);
  CHECK(s.recent.max() == 2us);
  CHECK(s.total.max() == 5ms);

  lag.record(t0 + 60s, t0 + 60s + 1us);  // after a gap of two windows: nothing recent before it
  s = lag.snapshot();
  CHECK(s.recent.count() == 1);
}
