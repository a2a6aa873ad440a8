// What a server's beacons say (libca's bhe.cpp and cac::beaconNotify, from
// epics-base, as a pure state machine; time points passed in). Per server
// address: the last beacon ID and time, and a running estimate of the beacon
// period (the second beacon's interval, then avg = 1/8 new + 7/8 avg).
//
// The rules carried over from libca:
// - The first beacon of an unknown server only records it: one beacon cannot
//   tell a new server from one heard for the first time since start-up.
// - Beacon IDs (servers at 4.10 and above): an ID equal to the last one, or
//   up to 256 behind it, is a duplicate (a redundant route); one 2 or 3 ahead
//   is discarded too (queue overrun or duplicate route). Neither is judged.
// - The second beacon: an anomaly ("new server") when its interval is not
//   longer than the time between this watcher's start and the first beacon
//   (a server heard late, not one that was there all along).
// - Later: an interval of >= 3.25 x the average (three missed beacons: the
//   network or the server came back) or <= 0.8 x (a restarted server beacons
//   fast: 20 ms, doubling to its period) is an anomaly. >= 1.25 x (one missed)
//   only tells a connected circuit to check its server (libca's circuit
//   notice); anything else is a healthy beacon.
// - A server known only through a circuit (circuit_up() before any beacon):
//   its first beacon only records it (libca notifies the circuit); when its
//   circuit goes down its time and period estimate are forgotten, so the
//   beacons of a server restarted meanwhile count as a new server's.
// Added here: a beacon ID that went backwards beyond the duplicate window,
// or back to 0 (a server's counter starts at 0), is a restart and an anomaly
// at once, even as the first beacon after its circuit went down: without it
// the restart shows only at the restarted server's second beacon.
// An anomaly means: re-search that server's disconnected names now
// (SearchSchedule::boost for them, beacon_anomaly for the rest, as libca).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>

#include "weft/drivers/ca/client_search.hpp"

namespace weft::ca {

enum class BeaconVerdict {
  first,        // a server not seen before: recorded
  duplicate,    // discarded by the ID rules
  regular,      // as expected
  late,         // one beacon missed: a connected circuit should check (ECHO)
  new_server,   // anomaly: second beacon of a server that appeared after start-up
  restarted,    // anomaly: beacons came much faster than the period, or the ID restarted
  reappeared,   // anomaly: three or more beacons missed, the server is back
};
std::string_view to_string(BeaconVerdict v) noexcept;  // "restarted"
constexpr bool is_anomaly(BeaconVerdict v) noexcept {
  return v == BeaconVerdict::new_server || v == BeaconVerdict::restarted || v == BeaconVerdict::reappeared;
}

class BeaconWatcher {
public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  using Seconds = std::chrono::duration<double>;

  explicit BeaconWatcher(TimePoint program_begin) : begin_(program_begin) {}

  BeaconVerdict on_beacon(const BeaconSeen& beacon, TimePoint now);
  // A circuit to `server` was opened / has ended.
  void circuit_up(ServerAddress server);
  void circuit_down(ServerAddress server);

  // The period estimate (nullopt before two beacons).
  std::optional<Seconds> period(ServerAddress server) const;
  std::size_t size() const noexcept { return servers_.size(); }
  // Forgets servers not heard from since `before` and without a circuit
  // (bounds the table against a network full of servers coming and going).
  std::size_t forget_older_than(TimePoint before);

private:
  struct Server {
    std::optional<TimePoint> last;  // nullopt: known through a circuit only
    std::optional<double> average;  // seconds
    std::uint32_t last_id = 0;
    bool have_id = false;
    bool circuit = false;
  };
  TimePoint begin_;
  std::map<ServerAddress, Server> servers_;
};

}  // namespace weft::ca
