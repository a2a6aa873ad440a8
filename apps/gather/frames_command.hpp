// The serial flight recorders made visible: the console's `frames [PORT] [N]`
// and one dump section per port ("serial PORT: last frames"), both over
// gather's port owners and rendered the same way — age (relative to now),
// direction, length, verdict, and the bytes (hex for Modbus frames, escaped
// text for ASCII lines), shortened. Loop thread only; rendering copies the
// ring, recording never waits for it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "weft/apps/gather/port_owner.hpp"
#include "weft/core/clock.hpp"
#include "weft/core/commands.hpp"
#include "weft/core/dump.hpp"

namespace weft::apps {

using PortOwners = std::vector<std::unique_ptr<PortOwner>>;

inline constexpr std::size_t kDefaultFramesShown = 20;

// A header line (frames recorded, noise skipped since start) and a table of
// the newest `last` frames of one port.
std::string render_frames(const PortOwner& port, MonoTime now, std::size_t last);
// The same as one JSON object: {"port":..,"kind":"modbus"|"lines","total":..,"capacity":..,
// "noise_frames":..,"noise_bytes":..,"frames":[..]}.
std::string frames_json(const PortOwner& port, MonoTime now, std::size_t last);

// `frames [PORT] [N]` over `ports`; `idle_ports` are configured ports without
// instruments (gather does not open them), named when asked for. Keep the
// registration in run()'s frame, declared after `ports` (the handler reads them).
CommandRegistration add_frames_command(Context& ctx, const PortOwners& ports, std::vector<std::string> idle_ports);

// One section per port with every frame its recorder holds. Same lifetime rule.
std::vector<DumpSectionHandle> add_frames_dump_sections(Context& ctx, const PortOwners& ports);

}  // namespace weft::apps
