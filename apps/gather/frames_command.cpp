// `frames` and the per-port dump sections: see frames_command.hpp. Each
// port's header line ends with the noise skipped since gather started (the
// ring forgets old frames, the totals do not); a frame reads as one table row:
//   AGE       DIR  LEN  VERDICT  BYTES
//   -0.112 s  tx   8    sent     01 03 00 0a 00 02 e4 09
//   -0.011 s  rx   0    timeout  (nothing)
// Long frames show their first 16 bytes and, when whole, their last 4 (the
// CRC, which is what a bad-crc verdict is about).
#include "frames_command.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>
#include <span>

#include "weft/apps/console/console_format.hpp"
#include "weft/core/context.hpp"
#include "weft/drivers/ascii/escape.hpp"

namespace weft::apps {
namespace {

using namespace console_format;

constexpr std::size_t kHexHead = 16;  // bytes shown at the start of a long frame
constexpr std::size_t kHexTail = 4;   // and at its end (the CRC)
constexpr std::size_t kTextShown = 64;  // characters of a line

std::string_view direction(const RecordedFrame& f) { return f.direction == FrameDirection::tx ? "tx" : "rx"; }

std::string age(const RecordedFrame& f, MonoTime now) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "-%.3f s", std::chrono::duration<double>(now - f.at).count());
  return buf;
}

std::string hex(std::span<const std::uint8_t> bytes, const char* separator) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%02x", bytes[i]);
    if (i > 0) out += separator;
    out += buf;
  }
  return out;
}

std::string_view as_text(const RecordedFrame& f) {
  return {reinterpret_cast<const char*>(f.bytes.data()), f.kept};
}

// The BYTES cell.
std::string shown_bytes(const RecordedFrame& f, bool lines) {
  if (f.length == 0) return "(nothing)";
  const std::span<const std::uint8_t> kept(f.bytes.data(), f.kept);
  const bool whole = f.kept == f.length;
  std::string out;
  if (lines) {
    out = "\"" + ascii::escape_for_log(as_text(f), kTextShown) + "\"";
  } else if (whole && f.kept <= kHexHead + kHexTail + 4) {
    out = hex(kept, " ");
  } else {
    out = hex(kept.first(std::min<std::size_t>(kHexHead, f.kept)), " ") + " ..";
    if (whole) out += " " + hex(kept.last(kHexTail), " ");
  }
  if (!whole) out += " (" + std::to_string(f.kept) + " of " + std::to_string(f.length) + " bytes kept)";
  return out;
}

std::string frame_json(const RecordedFrame& f, MonoTime now, bool lines) {
  JsonObject o;
  o.num("age_s", -std::chrono::duration<double>(now - f.at).count());
  o.integer("mono_ns", std::chrono::duration_cast<std::chrono::nanoseconds>(f.at.time_since_epoch()).count());
  o.str("dir", direction(f)).integer("length", f.length).integer("kept", f.kept);
  o.str("verdict", to_string(f.verdict)).str("hex", hex({f.bytes.data(), f.kept}, ""));
  if (lines) o.str("text", ascii::escape_non_utf8(as_text(f)));
  return o.done();
}

std::string port_names(const PortOwners& ports) {
  std::string out;
  for (const auto& p : ports) out += (out.empty() ? "" : ", ") + p->port_name();
  return out.empty() ? "(none)" : out;
}

const PortOwner* find_port(const PortOwners& ports, std::string_view name) {
  for (const auto& p : ports)
    if (p->port_name() == name) return p.get();
  return nullptr;
}

std::optional<std::size_t> count_of(std::string_view word) {
  std::size_t n = 0;
  const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), n);
  if (error != std::errc() || end != word.data() + word.size() || n == 0) return std::nullopt;
  return n;
}

constexpr const char* kUsage = "frames [PORT] [N]";

CommandReply bad_arguments(const std::string& what) {
  return failure("frames: " + what + "\nusage: " + kUsage);
}

CommandReply frames(const PortOwners& ports, const std::vector<std::string>& idle_ports,
                    MonoTime now, const CommandArgs& args) {
  if (args.size() > 2) return bad_arguments("takes at most a port and a count");
  std::vector<const PortOwner*> shown;
  std::size_t last = kDefaultFramesShown;
  std::size_t next = 0;
  if (!args.empty()) {
    if (const PortOwner* p = find_port(ports, args[0])) {
      shown.push_back(p);
      next = 1;
    } else if (args.size() == 2 || !count_of(args[0])) {
      for (const std::string& idle : idle_ports)
        if (idle == args[0])
          return failure("frames: port \"" + idle + "\" has no instruments, so gather does not open it; ports: " +
                         port_names(ports));
      return failure("frames: no port \"" + args[0] + "\"; ports: " + port_names(ports));
    }
  }
  if (next < args.size()) {
    const auto n = count_of(args[next]);
    if (!n) return bad_arguments("the count must be a positive whole number, not \"" + args[next] + "\"");
    last = *n;
  }
  if (shown.empty())
    for (const auto& p : ports) shown.push_back(p.get());
  if (shown.empty()) return CommandReply{true, "gather has no open ports\n", "{\"ports\":[]}"};
  std::string text;
  std::vector<std::string> json;
  for (const PortOwner* p : shown) {
    text += (text.empty() ? "" : "\n") + render_frames(*p, now, last);
    json.push_back(frames_json(*p, now, last));
  }
  return CommandReply{true, std::move(text), JsonObject().raw("ports", json_array(json)).done()};
}

}  // namespace

std::string render_frames(const PortOwner& port, MonoTime now, std::size_t last) {
  const FlightRecorder& r = port.recorder();
  const std::vector<RecordedFrame> recorded = r.frames(last);
  std::string out = "serial " + port.port_name() + ": ";
  if (recorded.empty()) return out + "no frames yet\n";
  out += "last " + std::to_string(recorded.size()) + " of " + std::to_string(r.total()) + " frames (" +
         (port.frames_are_lines() ? "lines" : "Modbus RTU") + ", ring of " + std::to_string(r.capacity()) + ")";
  // The ring forgets; the totals say how noisy the line has been since gather started.
  if (!port.frames_are_lines() || r.noise_frames() > 0)
    out += "; noise skipped since start: " + std::to_string(r.noise_bytes()) + " bytes in " +
           std::to_string(r.noise_frames()) + " frames";
  out += "\n";
  Table t({"AGE", "DIR", "LEN", "VERDICT", "BYTES"});
  for (const RecordedFrame& f : recorded)
    t.add({age(f, now), std::string(direction(f)), std::to_string(f.length), std::string(to_string(f.verdict)),
           shown_bytes(f, port.frames_are_lines())});
  return out + t.render();
}

std::string frames_json(const PortOwner& port, MonoTime now, std::size_t last) {
  const FlightRecorder& r = port.recorder();
  std::vector<std::string> frames;
  for (const RecordedFrame& f : r.frames(last)) frames.push_back(frame_json(f, now, port.frames_are_lines()));
  return JsonObject()
      .str("port", port.port_name())
      .str("kind", port.frames_are_lines() ? "lines" : "modbus")
      .integer("total", static_cast<std::int64_t>(r.total()))
      .integer("capacity", static_cast<std::int64_t>(r.capacity()))
      .integer("noise_frames", static_cast<std::int64_t>(r.noise_frames()))
      .integer("noise_bytes", static_cast<std::int64_t>(r.noise_bytes()))
      .raw("frames", json_array(frames))
      .done();
}

CommandRegistration add_frames_command(Context& ctx, const PortOwners& ports, std::vector<std::string> idle_ports) {
  return ctx.add_command(Command{
      .name = "frames",
      .usage = kUsage,
      .help = "the last N (20) frames on a serial port, or on every port: age, direction, bytes, verdict",
      .handler = [&ctx, &ports, idle = std::move(idle_ports)](const CommandArgs& args)
          -> boost::asio::awaitable<CommandReply> { co_return frames(ports, idle, ctx.clock().now(), args); },
      .complete_args = [&ports] {
        std::vector<std::string> names;
        for (const auto& p : ports) names.push_back(p->port_name());
        return names;
      }});
}

std::vector<DumpSectionHandle> add_frames_dump_sections(Context& ctx, const PortOwners& ports) {
  std::vector<DumpSectionHandle> out;
  for (const auto& p : ports)
    out.push_back(ctx.add_dump_section("serial " + p->port_name() + ": last frames",
                                       [&ctx, port = p.get()] {
                                         return render_frames(*port, ctx.clock().now(), port->recorder().capacity());
                                       }));
  return out;
}

}  // namespace weft::apps
