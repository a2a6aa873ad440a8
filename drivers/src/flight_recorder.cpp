// Flight recorder ring: see flight_recorder.hpp.
#include "weft/drivers/flight_recorder.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <type_traits>

namespace weft {

std::string_view to_string(FrameVerdict v) noexcept {
  switch (v) {
    case FrameVerdict::ok: return "ok";
    case FrameVerdict::sent: return "sent";
    case FrameVerdict::timeout: return "timeout";
    case FrameVerdict::bad_crc: return "bad-crc";
    case FrameVerdict::exception: return "exception";
    case FrameVerdict::truncated: return "truncated";
    case FrameVerdict::garbage: return "garbage";
    case FrameVerdict::overlong: return "overlong";
    case FrameVerdict::other: return "error";
    case FrameVerdict::noise: return "noise";
  }
  return "?";
}

FlightRecorder::FlightRecorder(std::size_t capacity) : ring_(std::max<std::size_t>(capacity, 1)) {}

void FlightRecorder::record(MonoTime at, FrameDirection direction, std::span<const std::uint8_t> bytes,
                            FrameVerdict verdict) {
  record(at, direction, bytes, verdict, bytes.size());
}

void FlightRecorder::record(MonoTime at, FrameDirection direction, std::span<const std::uint8_t> bytes,
                            FrameVerdict verdict, std::size_t wire_length) {
  RecordedFrame& f = ring_[next_];
  f.at = at;
  f.direction = direction;
  f.verdict = verdict;
  f.length = static_cast<std::uint16_t>(std::min<std::size_t>(std::max(wire_length, bytes.size()), 0xFFFF));
  f.kept = static_cast<std::uint16_t>(std::min(bytes.size(), RecordedFrame::kMaxBytes));
  std::copy_n(bytes.begin(), f.kept, f.bytes.begin());
  next_ = (next_ + 1) % ring_.size();
  ++total_;
  if (verdict == FrameVerdict::noise) {
    noise_bytes_ += std::max(wire_length, bytes.size());  // the whole run, even past the slot's 16-bit length
    ++noise_frames_;
  }
}

std::vector<RecordedFrame> FlightRecorder::frames() const { return frames(ring_.size()); }

std::vector<RecordedFrame> FlightRecorder::frames(std::size_t last) const {
  std::vector<RecordedFrame> out;
  const auto n = static_cast<std::size_t>(
      std::min({total_, static_cast<std::uint64_t>(ring_.size()), static_cast<std::uint64_t>(last)}));
  out.reserve(n);
  const std::size_t first = (next_ + ring_.size() - n) % ring_.size();
  for (std::size_t i = 0; i < n; ++i) out.push_back(ring_[(first + i) % ring_.size()]);
  return out;
}

// The crash handler reads slots as raw bytes at these offsets.
static_assert(std::is_trivially_copyable_v<RecordedFrame> && std::is_standard_layout_v<RecordedFrame>);
static_assert(sizeof(MonoTime) == sizeof(std::int64_t) && std::is_same_v<MonoTime::duration, Duration>);
static_assert(sizeof(FrameDirection) == 1 && sizeof(FrameVerdict) == 1);

crash::RingHandle FlightRecorder::watch_for_crashes(const std::string& title) const {
  crash::RingLayout layout;
  layout.stride = sizeof(RecordedFrame);
  layout.capacity = ring_.size();
  layout.mono_ns = offsetof(RecordedFrame, at);
  layout.direction = offsetof(RecordedFrame, direction);
  layout.verdict = offsetof(RecordedFrame, verdict);
  layout.length = offsetof(RecordedFrame, length);
  layout.kept = offsetof(RecordedFrame, kept);
  layout.bytes = offsetof(RecordedFrame, bytes);
  for (int v = 0; v <= static_cast<int>(FrameVerdict::noise); ++v) {
    if (v > 0) layout.verdicts += ' ';
    layout.verdicts += to_string(static_cast<FrameVerdict>(v));
  }
  static_assert(static_cast<int>(FrameDirection::tx) == 0);
  return crash::watch_ring(title, ring_.data(), layout, &next_, &total_);
}

std::string FlightRecorder::format(MonoTime reference) const {
  std::string out;
  char buf[64];
  for (const RecordedFrame& f : frames()) {
    const double ms = std::chrono::duration<double, std::milli>(f.at - reference).count();
    std::snprintf(buf, sizeof buf, "%+.3f ms %s", ms, f.direction == FrameDirection::tx ? "tx" : "rx");
    out += buf;
    for (std::size_t i = 0; i < f.kept; ++i) {
      std::snprintf(buf, sizeof buf, " %02x", f.bytes[i]);
      out += buf;
    }
    if (f.kept < f.length) out += " ... (" + std::to_string(f.length) + " bytes)";
    out += "  ";
    out += to_string(f.verdict);
    out += '\n';
  }
  return out;
}

}  // namespace weft
