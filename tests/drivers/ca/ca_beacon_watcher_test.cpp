// Tests of the beacon watcher (libca's bhe.cpp rules) on a virtual clock: a
// server beaconing steadily is regular; its first beacon only records it; a
// server that appears after start-up is new at its second beacon; a missed
// beacon is late, three are "reappeared"; fast beacons after a steady period
// are a restart; libca's ID rules discard duplicates and small jumps; an ID
// back to 0 is a restart at once, even as the first beacon after the circuit
// went down; servers below 4.10 are judged by time alone.
#include "weft/drivers/ca/beacon_watcher.hpp"

#include <catch2/catch.hpp>

namespace weft::ca {

namespace {

using CaBeaconTime = BeaconWatcher::TimePoint;
const CaBeaconTime ca_beacon_t0 = CaBeaconTime{} + std::chrono::hours(2000);
const ServerAddress ca_beacon_server{0x7F000001, 5064};

CaBeaconTime ca_beacon_at(double seconds) {
  return ca_beacon_t0 + std::chrono::duration_cast<CaBeaconTime::duration>(std::chrono::duration<double>(seconds));
}

BeaconSeen ca_beacon(std::uint32_t id, std::uint16_t minor = 13) { return BeaconSeen{ca_beacon_server, id, minor}; }

// Beacons every 15 s from t = 1 s (a server there all along): ids 0..n-1.
void ca_beacon_steady(BeaconWatcher& w, std::uint32_t n) {
  CHECK(w.on_beacon(ca_beacon(0), ca_beacon_at(1)) == BeaconVerdict::first);
  for (std::uint32_t i = 1; i < n; ++i) CHECK(w.on_beacon(ca_beacon(i), ca_beacon_at(1 + 15.0 * i)) == BeaconVerdict::regular);
}

}  // namespace

TEST_CASE("ca beacon watcher: steady beacons are regular, the period is estimated", "[ca][client]") {
  BeaconWatcher w(ca_beacon_t0);
  CHECK_FALSE(w.period(ca_beacon_server));
  ca_beacon_steady(w, 10);
  REQUIRE(w.period(ca_beacon_server));
  CHECK(w.period(ca_beacon_server)->count() == Approx(15.0));
  CHECK(w.size() == 1);
}

TEST_CASE("ca beacon watcher: a server that appears after start-up is new at its second beacon", "[ca][client]") {
  BeaconWatcher w(ca_beacon_t0);
  CHECK(w.on_beacon(ca_beacon(0), ca_beacon_at(100)) == BeaconVerdict::first);
  const BeaconVerdict v = w.on_beacon(ca_beacon(1), ca_beacon_at(100.02));
  CHECK(v == BeaconVerdict::new_server);
  CHECK(is_anomaly(v));
  CHECK(to_string(v) == "new server");
}

TEST_CASE("ca beacon watcher: missed beacons and a restart by the period", "[ca][client]") {
  BeaconWatcher w(ca_beacon_t0);
  ca_beacon_steady(w, 5);  // last at t = 61
  CHECK(w.on_beacon(ca_beacon(5), ca_beacon_at(61 + 30)) == BeaconVerdict::late);  // one missed (2x)
  CHECK_FALSE(is_anomaly(BeaconVerdict::late));
  BeaconWatcher x(ca_beacon_t0);
  ca_beacon_steady(x, 5);
  CHECK(x.on_beacon(ca_beacon(5), ca_beacon_at(61 + 50)) == BeaconVerdict::reappeared);  // 3.33x
  BeaconWatcher y(ca_beacon_t0);
  ca_beacon_steady(y, 5);
  // Beacons come much faster (an ID that goes on: the period rule alone).
  CHECK(y.on_beacon(ca_beacon(5), ca_beacon_at(61 + 2)) == BeaconVerdict::restarted);
  CHECK(y.on_beacon(ca_beacon(6), ca_beacon_at(61 + 2 + 15)) == BeaconVerdict::regular);
}

TEST_CASE("ca beacon watcher: libca's ID rules", "[ca][client]") {
  BeaconWatcher w(ca_beacon_t0);
  ca_beacon_steady(w, 300);  // ids 0..299, last at 1 + 15 * 299
  double t = 1 + 15.0 * 299;
  CHECK(w.on_beacon(ca_beacon(299), ca_beacon_at(t + 1)) == BeaconVerdict::duplicate);  // same ID
  CHECK(w.on_beacon(ca_beacon(290), ca_beacon_at(t + 2)) == BeaconVerdict::duplicate);  // just behind
  CHECK(w.on_beacon(ca_beacon(292), ca_beacon_at(t + 3)) == BeaconVerdict::duplicate);  // +2
  CHECK(w.on_beacon(ca_beacon(295), ca_beacon_at(t + 4)) == BeaconVerdict::duplicate);  // +3
  // +4 from the last ID seen (295): accepted, 15 s after the last accepted beacon.
  CHECK(w.on_beacon(ca_beacon(299), ca_beacon_at(t + 15)) == BeaconVerdict::regular);
  t += 15;
  // Far behind (beyond the 256 window), or 0: the server's counter restarted.
  CHECK(w.on_beacon(ca_beacon(3), ca_beacon_at(t + 15)) == BeaconVerdict::restarted);
  BeaconWatcher z(ca_beacon_t0);
  ca_beacon_steady(z, 4);
  CHECK(z.on_beacon(ca_beacon(0), ca_beacon_at(1 + 15 * 4)) == BeaconVerdict::restarted);
}

TEST_CASE("ca beacon watcher: IDs wrap around without an anomaly", "[ca][client]") {
  BeaconWatcher w(ca_beacon_t0);
  CHECK(w.on_beacon(ca_beacon(0xFFFFFFFEu), ca_beacon_at(1)) == BeaconVerdict::first);
  CHECK(w.on_beacon(ca_beacon(0xFFFFFFFFu), ca_beacon_at(16)) == BeaconVerdict::regular);
  CHECK(w.on_beacon(ca_beacon(1), ca_beacon_at(31)) == BeaconVerdict::regular);  // libca's advance: 1
}

TEST_CASE("ca beacon watcher: a circuit's server restarted while it was down", "[ca][client]") {
  BeaconWatcher w(ca_beacon_t0);
  w.circuit_up(ca_beacon_server);
  CHECK(w.on_beacon(ca_beacon(40), ca_beacon_at(5)) == BeaconVerdict::first);  // known through the circuit
  CHECK(w.on_beacon(ca_beacon(41), ca_beacon_at(20)) == BeaconVerdict::regular);
  w.circuit_down(ca_beacon_server);
  CHECK_FALSE(w.period(ca_beacon_server));
  // The restarted server's first beacon: its ID is 0, a restart at once.
  const BeaconVerdict v = w.on_beacon(ca_beacon(0), ca_beacon_at(30));
  CHECK(v == BeaconVerdict::restarted);
  CHECK(is_anomaly(v));

  // A server below 4.10 has no beacon IDs: libca's rule, new at the second beacon.
  BeaconWatcher old(ca_beacon_t0);
  old.circuit_up(ca_beacon_server);
  CHECK(old.on_beacon(ca_beacon(7, 9), ca_beacon_at(5)) == BeaconVerdict::first);
  old.circuit_down(ca_beacon_server);
  CHECK(old.on_beacon(ca_beacon(0, 9), ca_beacon_at(30)) == BeaconVerdict::first);
  CHECK(old.on_beacon(ca_beacon(0, 9), ca_beacon_at(30.02)) == BeaconVerdict::new_server);
}

TEST_CASE("ca beacon watcher: servers gone quiet are forgotten, ones with a circuit kept", "[ca][client]") {
  BeaconWatcher w(ca_beacon_t0);
  const ServerAddress other{0x7F000001, 5070};
  w.on_beacon(ca_beacon(0), ca_beacon_at(1));
  w.on_beacon(BeaconSeen{other, 0, 13}, ca_beacon_at(1));
  w.circuit_up(other);
  CHECK(w.forget_older_than(ca_beacon_at(100)) == 1);
  CHECK(w.size() == 1);
}

}  // namespace weft::ca
