// Fuzz target: the CA client side (drivers/src/ca client_search.cpp,
// client_channel.cpp, circuit_reader.cpp, search_schedule.cpp,
// beacon_watcher.cpp) on what a hostile server or network sends.
// Input: one byte of limits (ca_checks.hpp pick_limits), one of chunking,
// one of mode and channel parameters, then the bytes.
// Mode 0 (a datagram on the search or beacon socket): decode_search_replies
// and decode_beacons. Invariants: every server found has a non-zero IP and
// port; no more replies than 16-byte messages fit; an error names the sender.
// Mode 1 (a circuit's stream): fed to a CircuitReader in chunks; every frame
// through decode_response, data replies through decode_reading against an
// expectation taken from the input, the rest through on_create_response and
// read_error. Invariants: the reader never buffers more than one message
// within the limits plus one chunk; a Refused is too_large; Broken stays
// broken; a Reading holds `count` elements, no more than the channel
// advertised nor than max_array_bytes allow; a ChannelInfo has a native type
// 0..6 and a count >= 1.
// Mode 2 (timing): the bytes as operations on a SearchSchedule and a
// BeaconWatcher on a virtual clock. Invariants: every datagram packs at most
// 1024 bytes of searches, holds only names scheduled, and next_due() is
// never in the past after take_due().
#include <chrono>
#include <map>

#include "ca_checks.hpp"
#include "weft/drivers/ca/beacon_watcher.hpp"
#include "weft/drivers/ca/circuit_reader.hpp"
#include "weft/drivers/ca/client_channel.hpp"
#include "weft/drivers/ca/client_search.hpp"
#include "weft/drivers/ca/search_schedule.hpp"

namespace {

using namespace weft::ca;
using namespace weft::fuzz::ca_checks;

void datagram(std::span<const std::uint8_t> bytes) {
  const Bytes exact(bytes.begin(), bytes.end());
  const ServerAddress sender{0x7F000001, 5064};
  const SearchReplies r = decode_search_replies(exact, sender);
  for (const SearchFound& f : r.found) {
    FUZZ_CHECK(f.server.ip != 0 && f.server.port != 0, "a reply names %s", to_string(f.server).c_str());
  }
  FUZZ_CHECK(r.found.size() + r.not_found.size() + r.ignored <= exact.size() / header_size + 1,
             "more messages than the datagram holds");
  if (r.error) FUZZ_CHECK(contains(r.error->detail, "127.0.0.1:5064"), "error without the sender: %s",
                          r.error->detail.c_str());
  const Beacons b = decode_beacons(exact, sender);
  for (const BeaconSeen& s : b.beacons) FUZZ_CHECK(s.server.ip != 0 && s.server.port != 0, "a beacon names 0");
}

void on_frame(const Frame& f, const Limits& limits, std::uint16_t want_type, std::uint32_t max_count) {
  const auto decoded = decode_response(f, limits);
  if (!std::holds_alternative<Response>(decoded)) return;
  const Response& r = std::get<Response>(decoded);
  const auto check_reading = [&](const Result<Reading>& g, std::uint16_t asked) {
    if (const auto* reading = std::get_if<Reading>(&g)) {
      FUZZ_CHECK(reading->dbr_type == asked, "a reading of another type than asked");
      if (reading->status != Eca::normal) return;
      const auto layout = dbr_layout(reading->dbr_type);
      FUZZ_CHECK(layout && reading->value.size() == reading->count && reading->count <= max_count &&
                     std::uint64_t{reading->count} * layout->value_size <= limits.max_array_bytes,
                 "a reading of %zu elements (count %u, max %u)", reading->value.size(), reading->count, max_count);
    } else {
      FUZZ_CHECK(!std::get<Error>(g).detail.empty(), "a reading error without a detail");
    }
  };
  if (const auto* m = std::get_if<ReadNotifyReply>(&r)) {
    check_reading(decode_reading(*m, Expected{want_type, max_count}, limits), want_type);
    check_reading(decode_reading(*m, Expected{m->dbr_type, max_count}, limits), m->dbr_type);
  } else if (const auto* m = std::get_if<EventUpdate>(&r)) {
    check_reading(decode_reading(*m, Expected{want_type, max_count}, limits), want_type);
    check_reading(decode_reading(*m, Expected{m->dbr_type, max_count}, limits), m->dbr_type);
  } else if (const auto* m = std::get_if<ErrorMessage>(&r)) {
    FUZZ_CHECK(!read_error(*m).message().empty(), "an empty ERROR report");
  } else if (const auto* m = std::get_if<WriteNotifyReply>(&r)) {
    FUZZ_CHECK(write_failure(*m).has_value() == (m->status != Eca::normal), "write_failure disagrees");
  } else {
    PendingChannel p{7, "fuzz:pv", 13, std::nullopt};
    const CreateOutcome o = on_create_response(p, r);
    if (const auto* info = std::get_if<ChannelInfo>(&o)) {
      FUZZ_CHECK(static_cast<unsigned>(info->native_type) <= 6 && info->count >= 1 && info->cid == 7,
                 "a channel of type %u count %u", static_cast<unsigned>(info->native_type), info->count);
    }
  }
}

void stream(std::span<const std::uint8_t> bytes, const Limits& limits, std::uint8_t chunking, std::uint8_t params) {
  CircuitReader reader(limits);
  const std::size_t chunk = chunking == 0 ? bytes.size() + 1 : std::size_t{chunking};
  const std::uint16_t want_type = static_cast<std::uint16_t>(14 + (params >> 3) % 28);  // TIME_ .. CTRL_
  const std::uint32_t max_count = (params & 4u) ? 1u : 0xFFFFFFFFu;
  bool broken = false;
  std::size_t at = 0;
  while (true) {
    while (true) {
      auto n = reader.next();
      if (std::holds_alternative<NeedMore>(n)) break;
      if (const auto* b = std::get_if<Broken>(&n)) {
        FUZZ_CHECK(!b->error.detail.empty(), "broken without a reason");
        broken = true;
        break;
      }
      FUZZ_CHECK(!broken, "a message after the stream broke");
      if (const auto* x = std::get_if<Refused>(&n)) {
        FUZZ_CHECK(x->error.code == errc::too_large && x->header.payload_size > limits.max_payload_bytes(),
                   "refused as %s", x->error.message().c_str());
        continue;
      }
      // Each frame from a buffer of its own size: a read past it is an ASan report.
      const Frame& f = std::get<Frame>(n);
      const Bytes copy(f.header_bytes.begin(), f.header_bytes.end());
      Bytes whole(copy);
      whole.insert(whole.end(), f.payload.begin(), f.payload.end());
      const auto again = scan_frame(whole, limits);
      FUZZ_CHECK(std::holds_alternative<Frame>(again), "a frame that does not scan alone");
      on_frame(std::get<Frame>(again), limits, want_type, max_count);
    }
    if (broken) {
      FUZZ_CHECK(std::holds_alternative<Broken>(reader.next()), "a broken reader recovered");
      return;
    }
    FUZZ_CHECK(reader.buffered() <= limits.max_payload_bytes() + extended_header_size + chunk,
               "the reader holds %zu bytes", reader.buffered());
    if (at >= bytes.size()) return;
    const std::size_t take = std::min(chunk, bytes.size() - at);
    reader.feed(bytes.subspan(at, take));
    at += take;
  }
}

void timing(weft::fuzz::FuzzBytes& in) {
  using Clock = SearchSchedule::Clock;
  auto now = Clock::time_point{} + std::chrono::hours(1);
  SearchSchedule s({}, now);
  BeaconWatcher w(now);
  const ServerAddress server{0x7F000001, 5064};
  std::map<std::uint32_t, std::size_t> lengths;  // of the names scheduled
  for (int step = 0; step < 400 && !in.empty(); ++step) {
    const std::uint8_t op = in.u8();
    const std::uint32_t id = in.u8();
    switch (op % 9) {
      case 0: {
        const std::size_t length = 1 + in.u8() * 4u;
        if (s.add(id, length, now)) lengths[id] = length;
        break;
      }
      case 1: {
        const std::size_t length = 1 + in.u8();
        if (s.add_disconnected(id, length, now)) lengths[id] = length;
        break;
      }
      case 2: s.found(id, in.flag() ? std::optional<std::uint32_t>(in.u16()) : std::nullopt, now); break;
      case 3: s.remove(id); break;
      case 4: s.beacon_anomaly(now); break;
      case 5: s.boost(id, now); break;
      case 6: now += std::chrono::milliseconds(in.u16()); break;
      case 7: {
        for (const auto& d : s.take_due(now)) {
          FUZZ_CHECK(!d.ids.empty(), "an empty datagram");
          std::size_t bytes = header_size;
          for (const std::uint32_t x : d.ids) {
            FUZZ_CHECK(s.lane_of(x).has_value() && lengths.contains(x), "a datagram for %u, not scheduled", x);
            bytes += search_entry_bytes(lengths[x]);
          }
          FUZZ_CHECK(bytes <= default_search_datagram_bytes, "a datagram of %zu bytes", bytes);
        }
        const auto due = s.next_due();
        FUZZ_CHECK(!due || *due > now, "still due after take_due");
        break;
      }
      case 8: {
        const BeaconSeen b{server, in.u16() * 1u, static_cast<std::uint16_t>(in.u8() % 14)};
        (void)w.on_beacon(b, now);
        if (in.flag()) w.circuit_down(server);
        break;
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  weft::fuzz::FuzzBytes in(data, size);
  const Limits limits = pick_limits(in.u8());
  const std::uint8_t chunking = in.u8();
  const std::uint8_t mode = in.u8();
  switch (mode % 3) {
    case 0: datagram(in.rest()); break;
    case 1: stream(in.rest(), limits, chunking, mode); break;
    case 2: timing(in); break;
  }
  return 0;
}
