// A serial flight recorder: the last N frames on one bus (requests and
// answers in one ring, so N/2 transactions), with
// monotonic timestamps and a verdict, so "what was on the wire just before
// it went wrong" is answerable from the console or a crash report.
// Fixed capacity, allocated once; recording never allocates more. Frames
// are plain fixed-size slots, so a crash handler may copy the ring's raw
// memory (watch_for_crashes).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "weft/core/clock.hpp"
#include "weft/core/crash_report.hpp"

namespace weft {

enum class FrameDirection : std::uint8_t { tx, rx };
// overlong: a text line longer than its limit, dropped whole (its head is kept).
// noise: bytes that belong to no frame (before or after an answer, or arriving
// while the line should be quiet), skipped. Keep `noise` last: the crash
// report's verdict names are listed up to it.
enum class FrameVerdict : std::uint8_t {
  ok, sent, timeout, bad_crc, exception, truncated, garbage, overlong, other, noise
};
std::string_view to_string(FrameVerdict v) noexcept;

struct RecordedFrame {
  static constexpr std::size_t kMaxBytes = 256;  // longer frames are cut (the length is kept)
  MonoTime at{};
  FrameDirection direction = FrameDirection::tx;
  FrameVerdict verdict = FrameVerdict::ok;
  std::uint16_t length = 0;  // bytes on the wire
  std::uint16_t kept = 0;    // bytes stored
  std::array<std::uint8_t, kMaxBytes> bytes{};
};

class FlightRecorder {
public:
  explicit FlightRecorder(std::size_t capacity = 64);

  void record(MonoTime at, FrameDirection direction, std::span<const std::uint8_t> bytes, FrameVerdict verdict);
  // A frame of which only `bytes` were seen or kept (an over-long line
  // dropped whole): `wire_length` (at least bytes.size()) is its length.
  void record(MonoTime at, FrameDirection direction, std::span<const std::uint8_t> bytes, FrameVerdict verdict,
              std::size_t wire_length);
  // Oldest first: every frame held, or only the newest `last`.
  std::vector<RecordedFrame> frames() const;
  std::vector<RecordedFrame> frames(std::size_t last) const;
  // One line per frame: "+12.345 ms tx 01 03 00 00 00 0a c5 cd  sent".
  std::string format(MonoTime reference) const;
  std::uint64_t total() const noexcept { return total_; }  // frames ever recorded
  // Bytes and frames ever recorded as FrameVerdict::noise (also those the ring has since overwritten).
  std::uint64_t noise_bytes() const noexcept { return noise_bytes_; }
  std::uint64_t noise_frames() const noexcept { return noise_frames_; }
  std::size_t capacity() const noexcept { return ring_.size(); }
  // Puts this ring, under `title`, in every crash report while the handle
  // lives. The recorder must not move meanwhile (owners hold it in place).
  crash::RingHandle watch_for_crashes(const std::string& title) const;

private:
  std::vector<RecordedFrame> ring_;
  std::size_t next_ = 0;
  std::uint64_t total_ = 0;
  std::uint64_t noise_bytes_ = 0;
  std::uint64_t noise_frames_ = 0;
};

}  // namespace weft
