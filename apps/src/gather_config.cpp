// Reading gather's configuration. Layout:
//
//   [[serial]]            name, path, baud, data_bits, parity ("N","E","O"),
//                         stop_bits, flow ("none","rts-cts","xon-xoff"),
//                         response_timeout, retries, pause_after_open,
//                         pause_between_requests, flush_before_request,
//                         reopen_min, reopen_max
//   [[instrument]]        name, port, protocol ("modbus-rtu"), unit, period,
//                         max_registers_per_request, max_gap,
//                         quarantine_after, probe_period
//   [instrument.sim]      no_answer, bad_crc, exception, garbage, disconnect,
//                         response_delay
//   [[instrument.point]]  name, table ("holding","input","coil","discrete"),
//                         address, type, order, scale, offset, unit,
//                         sim = { model, min, max, period, step, seed }
#include "weft/apps/gather_config.hpp"

#include <set>

namespace weft::apps {
namespace {

serial::FlowControl read_flow(const ConfigSection& s) {
  const std::string flow = s.string("flow", "none");
  if (flow == "none") return serial::FlowControl::none;
  if (flow == "rts-cts") return serial::FlowControl::rts_cts;
  if (flow == "xon-xoff") return serial::FlowControl::xon_xoff;
  s.fail("flow", "unknown flow control '" + flow + "'; use none, rts-cts or xon-xoff");
}

PortConfig read_port(const ConfigSection& s) {
  PortConfig p;
  p.where = s.where("");
  p.name = s.required_string("name");
  p.settings.path = s.required_string("path");
  p.settings.baud = static_cast<unsigned>(s.integer("baud", 9600, 50, 4'000'000));
  p.settings.data_bits = static_cast<unsigned>(s.integer("data_bits", 8, 5, 8));
  const std::string parity = s.string("parity", "N");
  if (parity != "N" && parity != "E" && parity != "O") s.fail("parity", "use \"N\", \"E\" or \"O\"");
  p.settings.parity = parity[0];
  p.settings.stop_bits = static_cast<unsigned>(s.integer("stop_bits", 1, 1, 2));
  p.settings.flow = read_flow(s);
  if (auto problem = p.settings.validate()) s.fail("baud", *problem);
  p.master.response_timeout = s.duration("response_timeout", p.master.response_timeout, std::chrono::milliseconds(1));
  p.master.retries = static_cast<int>(s.integer("retries", p.master.retries, 0, 10));
  p.master.pause_between_requests = s.duration("pause_between_requests", Duration::zero());
  p.master.flush_before_request = s.boolean("flush_before_request", true);
  p.pause_after_open = s.duration("pause_after_open", Duration::zero(), Duration::zero(), std::chrono::minutes(1));
  p.reconnect.min_delay = s.duration("reopen_min", p.reconnect.min_delay, std::chrono::milliseconds(1));
  p.reconnect.max_delay = s.duration("reopen_max", p.reconnect.max_delay, p.reconnect.min_delay);
  s.reject_unknown_keys();
  return p;
}

sim::Table read_table(const ConfigSection& s) {
  const std::string t = s.string("table", "holding");
  if (t == "holding") return sim::Table::holding;
  if (t == "input") return sim::Table::input;
  if (t == "coil") return sim::Table::coil;
  if (t == "discrete") return sim::Table::discrete_input;
  s.fail("table", "unknown table '" + t + "'; use holding, input, coil or discrete");
}

sim::ValueModel read_sim_model(const ConfigSection& point, std::size_t index) {
  sim::ValueModel m;
  m.seed = index + 1;
  const auto s = point.table("sim");
  if (!s) return m;
  const std::string kind = s->string("model", "ramp");
  const auto k = sim::ValueModel::parse_kind(kind);
  if (!k) s->fail("model", "unknown model '" + kind + "'; use constant, ramp, sine or random-walk");
  m.kind = *k;
  m.min = s->number("min", m.min);
  m.max = s->number("max", m.max);
  if (m.kind == sim::ValueModel::Kind::constant) m.min = s->number("value", m.min);
  m.period = s->duration("period", m.period, std::chrono::milliseconds(1));
  m.step = s->number("step", m.step);
  m.seed = static_cast<std::uint64_t>(s->integer("seed", static_cast<std::int64_t>(m.seed), 0));
  s->reject_unknown_keys();
  return m;
}

PointConfig read_point(const ConfigSection& s, std::size_t index) {
  PointConfig p;
  p.name = s.required_string("name");
  p.table = read_table(s);
  p.address = static_cast<std::uint16_t>(s.integer("address", 0, 0, 65535));
  const bool bit = p.table == sim::Table::coil || p.table == sim::Table::discrete_input;
  const std::string type = s.string("type", bit ? "bool" : "uint16");
  if (bit) {
    if (type != "bool") s.fail("type", "coils and discrete inputs are bits: use type = \"bool\" or leave it out");
  } else if (auto t = modbus::parse_register_type(type)) {
    p.type = *t;
  } else {
    s.fail("type", "unknown type '" + type + "'; use int16, uint16, int32, uint32, float32, int64, uint64 or float64");
  }
  const std::string order = s.string("order", "abcd");
  const auto o = modbus::parse_word_order(order);
  if (!o) s.fail("order", "unknown order '" + order + "'; use abcd, cdab, badc or dcba");
  p.order = *o;
  p.scale = s.number("scale", 1);
  if (p.scale == 0) s.fail("scale", "must not be 0");
  p.offset = s.number("offset", 0);
  p.unit = s.string("unit", "");
  p.sim = read_sim_model(s, index);
  s.reject_unknown_keys();
  return p;
}

InstrumentConfig read_instrument(const ConfigSection& s, const GatherConfig& config) {
  InstrumentConfig i;
  i.where = s.where("");
  i.name = s.required_string("name");
  i.port = s.required_string("port");
  if (config.find_port(i.port) == nullptr) s.fail("port", "no [[serial]] port is named '" + i.port + "'");
  const std::string protocol = s.string("protocol", "modbus-rtu");
  if (protocol != "modbus-rtu") s.fail("protocol", "unknown protocol '" + protocol + "'; use modbus-rtu");
  i.unit = static_cast<std::uint8_t>(s.integer("unit", 1, 1, 247));
  i.period = s.duration("period", i.period, std::chrono::milliseconds(1));
  i.max_registers_per_request = static_cast<int>(s.integer("max_registers_per_request", 125, 1, 125));
  i.max_gap = static_cast<int>(s.integer("max_gap", 0, 0, 124));
  i.quarantine_after = static_cast<int>(s.integer("quarantine_after", 3, 1, 1000));
  i.probe_period = s.duration("probe_period", std::max<Duration>(i.period, std::chrono::seconds(30)), i.period);
  if (const auto sim = s.table("sim")) {
    i.sim_faults.no_answer = sim->number("no_answer", 0);
    i.sim_faults.bad_crc = sim->number("bad_crc", 0);
    i.sim_faults.exception = sim->number("exception", 0);
    i.sim_faults.garbage = sim->number("garbage", 0);
    i.sim_faults.disconnect = sim->number("disconnect", 0);
    for (const char* key : {"no_answer", "bad_crc", "exception", "garbage", "disconnect"})
      if (double v = sim->number(key, 0); v < 0 || v > 1) sim->fail(key, "a probability: use a number from 0 to 1");
    i.sim_response_delay = sim->duration("response_delay", Duration::zero());
    sim->reject_unknown_keys();
  }
  std::set<std::string> names;
  const auto points = s.tables("point");
  for (std::size_t n = 0; n < points.size(); ++n) {
    PointConfig p = read_point(points[n], n);
    if (!names.insert(p.name).second) points[n].fail("name", "point '" + p.name + "' is defined twice in this instrument");
    i.points.push_back(std::move(p));
  }
  if (i.points.empty()) s.fail("point", "instrument '" + i.name + "' has no [[instrument.point]]; add at least one");
  s.reject_unknown_keys();
  return i;
}

}  // namespace

modbus::LineSettings line_settings(const PortConfig& port) {
  return {port.settings.baud, static_cast<int>(port.settings.data_bits), port.settings.parity,
          static_cast<int>(port.settings.stop_bits)};
}

std::vector<sim::SimUnit> simulated_units(const GatherConfig& config, const std::string& port) {
  std::vector<sim::SimUnit> units;
  for (const auto& i : config.instruments) {
    if (i.port != port) continue;
    sim::SimUnit u;
    u.unit = i.unit;
    u.faults = i.sim_faults;
    u.response_delay = i.sim_response_delay;
    for (const auto& p : i.points)
      u.points.push_back(sim::SimPoint{p.table, p.address, p.type, p.order, p.scale, p.offset, p.sim});
    units.push_back(std::move(u));
  }
  return units;
}

const PortConfig* GatherConfig::find_port(std::string_view name) const noexcept {
  for (const auto& p : ports)
    if (p.name == name) return &p;
  return nullptr;
}

GatherConfig read_gather_config(const ConfigSection& root, const ConfigSection& section) {
  GatherConfig config;
  config.lock_dir = section.string("lock_dir", "");
  std::set<std::string> names;
  for (const auto& s : root.tables("serial")) {
    PortConfig p = read_port(s);
    if (!names.insert(p.name).second) s.fail("name", "a [[serial]] port named '" + p.name + "' exists already");
    config.ports.push_back(std::move(p));
  }
  names.clear();
  for (const auto& s : root.tables("instrument")) {
    InstrumentConfig i = read_instrument(s, config);
    if (!names.insert(i.name).second) s.fail("name", "an [[instrument]] named '" + i.name + "' exists already");
    config.instruments.push_back(std::move(i));
  }
  if (config.instruments.empty())
    section.fail("", "gather has no [[instrument]] to poll; add one (see examples/demo.toml)");
  return config;
}

}  // namespace weft::apps
