// Reading gather's configuration. Layout:
//
//   [[serial]]            name, path, baud, data_bits, parity ("N","E","O"),
//                         stop_bits, flow ("none","rts-cts","xon-xoff"),
//                         response_timeout, retries, pause_after_open,
//                         pause_between_requests, flush_before_request,
//                         max_quiet_wait, reopen_min, reopen_max
//   [[instrument]]        name, port, protocol ("modbus" = "modbus-rtu",
//                         or "ascii"), period
//     modbus:             unit, max_registers_per_request, max_gap,
//                         quarantine_after, probe_period
//     ascii:              format ("kv","csv","nmea"), terminator, max_line,
//                         stale_after, request;
//                         kv: pair_separator (" ",",",";"), kv_separator ("=",":");
//                         csv: delimiter, quotes; nmea: require_checksum
//   [instrument.sim]      modbus: no_answer, bad_crc, exception, garbage,
//                         disconnect, noise, response_delay
//                         ascii: no_answer, garbage, truncated, overlong,
//                         bad_checksum (nmea), disconnect, response_delay
//   [[instrument.point]]  name, unit, precision (0..17: digits to display),
//                         description, display_low/high, control_low/high,
//                         lolo, low, high, hihi, states, mdel, adel
//                         (point_info_config.hpp),
//                         sim = { model, min, max, period, step, seed }
//     modbus:             table ("holding","input","coil","discrete"),
//                         address, type, order, scale, offset,
//                         writable, write_multiple (holding and coil only)
//     ascii:              type ("number","integer","text","auto"), optional;
//                         kv: key; csv: column; nmea: sentence, field
//
// A port speaks one protocol; an ascii port carries exactly one instrument.
#include "weft/apps/gather/gather_config.hpp"

#include "weft/apps/assembly/point_info_config.hpp"

#include <cstdio>
#include <initializer_list>
#include <set>
#include <stdexcept>

namespace weft::apps {
namespace {

serial::FlowControl read_flow(const ConfigSection& s) {
  const std::string flow = s.string("flow", "none");
  if (flow == "none") return serial::FlowControl::none;
  if (flow == "rts-cts") return serial::FlowControl::rts_cts;
  if (flow == "xon-xoff") return serial::FlowControl::xon_xoff;
  s.fail("flow", "unknown flow control '" + flow + "'; use none, rts-cts or xon-xoff");
}

std::string milliseconds_text(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f ms", std::chrono::duration<double, std::milli>(d).count());
  return buf;
}

// The longest wait for a talking line to go quiet, before a request (and
// after a garbled answer); past it the poll fails as "line busy", unsent.
// It must outlast the silence it waits for, or a quiet line right after an
// answer would already count as busy; above a minute the bus would stall.
Duration read_max_quiet_wait(const ConfigSection& s, const PortConfig& p) {
  const Duration wait =
      s.duration("max_quiet_wait", p.master.max_quiet_wait, std::chrono::milliseconds(1), std::chrono::minutes(1));
  if (p.settings.data_bits < 7) return wait;  // not a Modbus RTU line (7 or 8 data bits): no t3.5 to compare
  const Duration t3_5 = line_settings(p).t3_5();
  const Duration silence = t3_5 + p.master.pause_between_requests;
  if (wait <= silence)
    s.fail("max_quiet_wait", milliseconds_text(wait) + " is not longer than the silence a request waits for (t3.5 " +
                                 milliseconds_text(t3_5) + " at " + std::to_string(p.settings.baud) +
                                 " baud + pause_between_requests " +
                                 milliseconds_text(p.master.pause_between_requests) +
                                 "), so every poll would fail as line busy; use e.g. \"1s\" (the default)");
  return wait;
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
  p.master.max_quiet_wait = read_max_quiet_wait(s, p);
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

// Keys that belong to the other protocol (or format) get a message that
// says so, instead of "unknown key".
void reject_keys(const ConfigSection& s, std::initializer_list<const char*> keys, const std::string& why) {
  for (const char* key : keys)
    if (s.has(key)) s.fail(key, why);
}

PointConfig read_modbus_point(const ConfigSection& s, std::size_t index) {
  PointConfig p;
  p.name = s.required_string("name");
  reject_keys(s, {"key", "column", "sentence", "field", "optional"},
              "is a key of ascii points; this instrument speaks Modbus RTU (add protocol = \"ascii\" to the "
              "[[instrument]] if it sends lines)");
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
  p.info = read_point_info(s, bit ? StateNames::two : StateNames::up_to_16);
  p.writable = s.boolean("writable", false);
  if (p.writable && p.table != sim::Table::holding && p.table != sim::Table::coil)
    s.fail("writable", "only holding registers and coils can be written; this point is in the " +
                           std::string(p.table == sim::Table::input ? "input register" : "discrete input") +
                           " table (read-only in Modbus)");
  p.write_multiple = s.boolean("write_multiple", false);
  p.sim = read_sim_model(s, index);
  s.reject_unknown_keys();
  return p;
}

const char* where_in_line(ascii::ParseSpec::Kind kind) {
  switch (kind) {
    case ascii::ParseSpec::Kind::key_value: return "by its key (key = \"T\"; default: the point's name)";
    case ascii::ParseSpec::Kind::csv: return "by its column (column = 2, counted from 0)";
    case ascii::ParseSpec::Kind::nmea: return "by sentence and field (sentence = \"GGA\", field = 2)";
  }
  return "";
}

PointConfig read_ascii_point(const ConfigSection& s, std::size_t index, ascii::ParseSpec::Kind kind) {
  using Kind = ascii::ParseSpec::Kind;
  PointConfig p;
  p.name = s.required_string("name");
  reject_keys(s, {"table", "address", "order", "scale", "offset", "writable", "write_multiple"},
              std::string("is a Modbus key; a point of an ascii instrument is found in the line ") + where_in_line(kind));
  const std::string type = s.string("type", "number");
  const auto t = ascii::field_type_from_string(type);
  if (!t) s.fail("type", "unknown type '" + type + "' for an ascii point; use number, integer, text or auto");
  p.field_type = *t;
  p.optional = s.boolean("optional", false);
  const std::string misplaced = "does not apply to format = \"" + std::string(ascii::ParseSpec::to_string(kind)) +
                                "\": its points are found " + where_in_line(kind);
  switch (kind) {
    case Kind::key_value:
      reject_keys(s, {"column", "sentence", "field"}, misplaced);
      p.key = s.string("key", p.name);
      break;
    case Kind::csv:
      reject_keys(s, {"key", "sentence", "field"}, misplaced);
      if (!s.has("column")) s.fail("column", "a csv point needs its column: add column = N (counted from 0)");
      p.column = static_cast<std::size_t>(s.integer("column", 0, 0, 1023));
      break;
    case Kind::nmea:
      reject_keys(s, {"key", "column"}, misplaced);
      p.sentence = s.required_string("sentence");
      if (!p.sentence.empty() && p.sentence.front() == '$') p.sentence.erase(0, 1);  // "$GPGGA" as printed
      if (!s.has("field")) s.fail("field", "an nmea point needs its field: add field = N (1 is the field after the address)");
      p.field = static_cast<std::size_t>(s.integer("field", 1, 1, 99));
      break;
  }
  p.info = read_point_info(s, p.field_type == ascii::FieldType::integer ? StateNames::up_to_16 : StateNames::none);
  p.sim = read_sim_model(s, index);
  s.reject_unknown_keys();
  return p;
}

// The instrument's [[instrument.point]]s, each read by `read_one`; names are unique.
template <typename ReadOne>
std::vector<PointConfig> read_points(const ConfigSection& s, ReadOne read_one) {
  std::vector<PointConfig> out;
  std::set<std::string> names;
  const auto points = s.tables("point");
  for (std::size_t n = 0; n < points.size(); ++n) {
    PointConfig p = read_one(points[n], n);
    if (!names.insert(p.name).second) points[n].fail("name", "point '" + p.name + "' is defined twice in this instrument");
    out.push_back(std::move(p));
  }
  return out;
}

Protocol read_protocol(const ConfigSection& s) {
  const std::string protocol = s.string("protocol", "modbus");
  if (protocol == "modbus" || protocol == "modbus-rtu") return Protocol::modbus_rtu;
  if (protocol == "ascii") return Protocol::ascii;
  s.fail("protocol", "unknown protocol '" + protocol + "'; use modbus (Modbus RTU) or ascii (line instruments)");
}

std::string_view protocol_name(Protocol p) { return p == Protocol::ascii ? "ascii" : "modbus"; }

double read_probability(const ConfigSection& sim, const char* key) {
  const double v = sim.number(key, 0);
  if (v < 0 || v > 1) sim.fail(key, "a probability: use a number from 0 to 1");
  return v;
}

void read_modbus_instrument(const ConfigSection& s, InstrumentConfig& i) {
  reject_keys(s, {"format", "terminator", "max_line", "stale_after", "request", "pair_separator", "kv_separator",
                  "delimiter", "quotes", "require_checksum"},
              "is a key of ascii instruments; add protocol = \"ascii\" if this instrument sends lines");
  i.unit = static_cast<std::uint8_t>(s.integer("unit", 1, 1, 247));
  i.max_registers_per_request = static_cast<int>(s.integer("max_registers_per_request", 125, 1, 125));
  i.max_gap = static_cast<int>(s.integer("max_gap", 0, 0, 124));
  i.quarantine_after = static_cast<int>(s.integer("quarantine_after", 3, 1, 1000));
  i.probe_period = s.duration("probe_period", std::max<Duration>(i.period, std::chrono::seconds(30)), i.period);
  if (const auto sim = s.table("sim")) {
    reject_keys(*sim, {"truncated", "overlong", "bad_checksum"},
                "is a fault of simulated ascii instruments; Modbus ones take no_answer, bad_crc, exception, garbage, "
                "disconnect, noise");
    i.sim_faults.no_answer = read_probability(*sim, "no_answer");
    i.sim_faults.bad_crc = read_probability(*sim, "bad_crc");
    i.sim_faults.exception = read_probability(*sim, "exception");
    i.sim_faults.garbage = read_probability(*sim, "garbage");
    i.sim_faults.disconnect = read_probability(*sim, "disconnect");
    i.sim_faults.noise = read_probability(*sim, "noise");
    i.sim_response_delay = sim->duration("response_delay", Duration::zero());
    sim->reject_unknown_keys();
  }
  i.points = read_points(s, [](const ConfigSection& p, std::size_t n) { return read_modbus_point(p, n); });
}

// A one-character key whose allowed values are listed in `allowed`.
char read_char(const ConfigSection& s, const char* key, char fallback, std::string_view allowed, const std::string& hint) {
  const std::string v = s.string(key, std::string(1, fallback));
  if (v.size() != 1 || allowed.find(v[0]) == std::string_view::npos) s.fail(key, "'" + v + "' cannot be used; " + hint);
  return v[0];
}

ascii::ParseSpec build_parse_spec(const ConfigSection& s, const InstrumentConfig& i) {
  using Kind = ascii::ParseSpec::Kind;
  const AsciiSettings& a = i.ascii;
  try {
    switch (a.format) {
      case Kind::key_value: {
        ascii::KeyValueOptions options;
        options.pair_separator = a.pair_separator;
        options.kv_separator = a.kv_separator;
        for (const auto& p : i.points) options.keys.push_back({p.key, p.name, p.field_type, p.optional});
        return ascii::ParseSpec::key_value(std::move(options));
      }
      case Kind::csv: {
        std::vector<ascii::Column> columns;
        for (const auto& p : i.points) columns.push_back({p.column, p.name, p.field_type, p.optional});
        return ascii::ParseSpec::csv(std::move(columns), a.delimiter, s.boolean("quotes", true));
      }
      case Kind::nmea: {
        std::vector<ascii::NmeaField> fields;
        for (const auto& p : i.points) fields.push_back({p.sentence, p.field, p.name, p.field_type, p.optional});
        return ascii::ParseSpec::nmea(std::move(fields), s.boolean("require_checksum", true));
      }
    }
  } catch (const std::invalid_argument& e) {
    s.fail("point", std::string(e.what()) + "; fix the [[instrument.point]] tables of '" + i.name + "'");
  }
  s.fail("format", "unsupported format");
}

void read_ascii_instrument(const ConfigSection& s, InstrumentConfig& i) {
  using Kind = ascii::ParseSpec::Kind;
  AsciiSettings& a = i.ascii;
  reject_keys(s, {"unit", "max_registers_per_request", "max_gap", "quarantine_after", "probe_period"},
              "is a Modbus key; an ascii instrument is read line by line (its keys: format, terminator, max_line, "
              "stale_after, request)");
  const std::string format = s.required_string("format");
  const auto kind = format == "key_value" ? std::optional<Kind>(Kind::key_value) : ascii::ParseSpec::kind_from_string(format);
  if (!kind) s.fail("format", "unknown format '" + format + "'; use kv (key=value pairs), csv (columns) or nmea (NMEA 0183)");
  a.format = *kind;
  a.framing.terminator = s.string("terminator", a.format == Kind::nmea ? "\r\n" : "\n");
  a.framing.max_line = static_cast<std::size_t>(s.integer("max_line", 256, 1, 65536));
  if (const auto why = ascii::LineFramer::invalid_reason(a.framing))
    s.fail("terminator", *why + "; use e.g. \"\\n\" or \"\\r\\n\"");
  a.stale_after = s.duration("stale_after", 3 * i.period, std::chrono::milliseconds(1));
  if (s.has("request")) {
    a.request = s.string("request", "");
    if (a.request.empty()) s.fail("request", "an empty request sends nothing; remove the key if the instrument streams");
  }
  const std::string format_key = "does not apply to format = \"" + format + "\"";
  switch (a.format) {
    case Kind::key_value:
      reject_keys(s, {"delimiter", "quotes", "require_checksum"}, format_key);
      a.pair_separator = read_char(s, "pair_separator", ' ', " ,;", "use \" \" (blanks), \",\" or \";\"");
      a.kv_separator = read_char(s, "kv_separator", '=', "=:", "use \"=\" or \":\"");
      break;
    case Kind::csv:
      reject_keys(s, {"pair_separator", "kv_separator", "require_checksum"}, format_key);
      a.delimiter = read_char(s, "delimiter", ',', ",;\t |", "use \",\", \";\", \"\\t\", \" \" or \"|\"");
      break;
    case Kind::nmea:
      reject_keys(s, {"pair_separator", "kv_separator", "delimiter", "quotes"}, format_key);
      break;
  }
  if (const auto sim = s.table("sim")) {
    reject_keys(*sim, {"bad_crc", "exception", "noise"}, "is a fault of simulated Modbus instruments; ascii ones take "
                                                         "no_answer, garbage, truncated, overlong, bad_checksum, disconnect");
    if (a.format != Kind::nmea)
      reject_keys(*sim, {"bad_checksum"}, "only NMEA sentences carry a checksum; remove it or use format = \"nmea\"");
    a.sim_faults.no_answer = read_probability(*sim, "no_answer");
    a.sim_faults.garbage = read_probability(*sim, "garbage");
    a.sim_faults.truncated = read_probability(*sim, "truncated");
    a.sim_faults.overlong = read_probability(*sim, "overlong");
    a.sim_faults.bad_checksum = read_probability(*sim, "bad_checksum");
    a.sim_faults.disconnect = read_probability(*sim, "disconnect");
    i.sim_response_delay = sim->duration("response_delay", Duration::zero());
    sim->reject_unknown_keys();
  }
  i.points = read_points(s, [&](const ConfigSection& p, std::size_t n) { return read_ascii_point(p, n, a.format); });
  if (!i.points.empty()) a.spec = build_parse_spec(s, i);
}

InstrumentConfig read_instrument(const ConfigSection& s, const GatherConfig& config) {
  InstrumentConfig i;
  i.where = s.where("");
  i.name = s.required_string("name");
  i.port = s.required_string("port");
  if (config.find_port(i.port) == nullptr) s.fail("port", "no [[serial]] port is named '" + i.port + "'");
  i.protocol = read_protocol(s);
  i.period = s.duration("period", i.period, std::chrono::milliseconds(1));
  if (i.protocol == Protocol::ascii) read_ascii_instrument(s, i);
  else read_modbus_instrument(s, i);
  if (i.points.empty()) s.fail("point", "instrument '" + i.name + "' has no [[instrument.point]]; add at least one");
  s.reject_unknown_keys();
  return i;
}

// One port speaks one protocol, and an ascii port carries one instrument
// (its lines say nothing about which instrument sent them).
void check_port_sharing(const ConfigSection& s, const InstrumentConfig& i, const std::vector<InstrumentConfig>& earlier) {
  for (const auto& e : earlier) {
    if (e.port != i.port) continue;
    if (e.protocol != i.protocol)
      s.fail("protocol", "port '" + i.port + "' already carries the " + std::string(protocol_name(e.protocol)) +
                             " instrument '" + e.name + "' (" + e.where + "); a port speaks one protocol: put '" +
                             i.name + "' on its own [[serial]]");
    if (i.protocol == Protocol::ascii)
      s.fail("port", "port '" + i.port + "' already carries the ascii instrument '" + e.name + "' (" + e.where +
                         "); an ascii port carries one instrument: put '" + i.name + "' on its own [[serial]]");
  }
}

// Modbus RTU frames are binary: unit, function, data and CRC bytes use all
// 8 bits, so a port with fewer data bits cannot carry them (and the master
// refused such a line only at run time). ASCII instruments may use 7 (or
// fewer).
void check_modbus_data_bits(const ConfigSection& root, const GatherConfig& config) {
  const auto serials = root.tables("serial");
  for (std::size_t n = 0; n < config.ports.size() && n < serials.size(); ++n) {
    const PortConfig& p = config.ports[n];
    if (p.settings.data_bits == 8) continue;
    for (const auto& i : config.instruments) {
      if (i.port != p.name || i.protocol != Protocol::modbus_rtu) continue;
      serials[n].fail("data_bits", "is " + std::to_string(p.settings.data_bits) + ", but port '" + p.name +
                                       "' carries the Modbus instrument '" + i.name + "' (" + i.where +
                                       "), and Modbus RTU needs 8 data bits: set data_bits = 8 (the default); "
                                       "only ascii instruments may use 7");
    }
  }
}

}  // namespace

modbus::LineSettings line_settings(const PortConfig& port) {
  return {port.settings.baud, static_cast<int>(port.settings.data_bits), port.settings.parity,
          static_cast<int>(port.settings.stop_bits)};
}

std::vector<sim::SimUnit> simulated_units(const GatherConfig& config, const std::string& port) {
  std::vector<sim::SimUnit> units;
  for (const auto& i : config.instruments) {
    if (i.port != port || i.protocol != Protocol::modbus_rtu) continue;
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

const InstrumentConfig* ascii_instrument(const GatherConfig& config, const std::string& port) {
  for (const auto& i : config.instruments)
    if (i.port == port && i.protocol == Protocol::ascii) return &i;
  return nullptr;
}

sim::AsciiDeviceSpec simulated_ascii_device(const InstrumentConfig& i) {
  sim::AsciiDeviceSpec d;
  d.format.kind = i.ascii.format;
  d.format.pair_separator = i.ascii.pair_separator;
  d.format.kv_separator = i.ascii.kv_separator;
  d.format.delimiter = i.ascii.delimiter;
  d.format.terminator = i.ascii.framing.terminator;
  for (const auto& p : i.points) d.format.fields.push_back({p.key, p.sentence, i.ascii.format == ascii::ParseSpec::Kind::csv ? p.column : p.field, p.field_type, p.sim});
  d.faults = i.ascii.sim_faults;
  d.period = i.period;
  d.request = i.ascii.request;
  d.response_delay = i.sim_response_delay;
  d.max_line = i.ascii.framing.max_line;
  return d;
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
    check_port_sharing(s, i, config.instruments);
    config.instruments.push_back(std::move(i));
  }
  if (config.instruments.empty())
    section.fail("", "gather has no [[instrument]] to poll; add one (see examples/demo.toml)");
  check_modbus_data_bits(root, config);
  return config;
}

}  // namespace weft::apps
