// Planning a CA write to a Modbus point (point_write.hpp): scaling and
// offset inverted and rounded, the function code chosen by width and the
// write_multiple quirk, the word order applied, and every refusal naming
// the point, its register and the range.
#include "weft/apps/gather/point_write.hpp"

#include <catch2/catch.hpp>

#include "weft/drivers/modbus/pdu.hpp"

using namespace weft;
using namespace weft::apps;
using Catch::Matchers::Contains;

namespace {
InstrumentConfig pw_instrument() {
  InstrumentConfig i;
  i.name = "boiler";
  i.unit = 3;
  return i;
}
PointConfig pw_point(sim::Table table, std::uint16_t address, modbus::RegisterType type = modbus::RegisterType::uint16) {
  PointConfig p;
  p.name = "sp";
  p.table = table;
  p.address = address;
  p.type = type;
  p.writable = true;
  return p;
}
PlannedWrite pw_ok(const std::variant<PlannedWrite, std::string>& v) {
  if (const auto* e = std::get_if<std::string>(&v)) FAIL("refused: " << *e);
  return std::get<PlannedWrite>(v);
}
}  // namespace

TEST_CASE("point write: a scaled uint16 is FC 6 with (value - offset) / scale, rounded", "[gather]") {
  PointConfig p = pw_point(sim::Table::holding, 10);
  p.scale = 0.1;
  p.offset = -5;
  const PlannedWrite w = pw_ok(plan_write(pw_instrument(), p, Value{7.34}));  // (7.34 + 5) / 0.1 = 123.4 -> 123
  CHECK(w.function == modbus::FunctionCode::write_single_register);
  CHECK(w.request == modbus::write_single_register(3, 10, 123));
  CHECK(w.raw == "register 10 = 123");
}

TEST_CASE("point write: 32-bit and float types are FC 16 in the point's word order", "[gather]") {
  PointConfig p = pw_point(sim::Table::holding, 20, modbus::RegisterType::uint32);
  p.order = modbus::WordOrder::cdab;
  const PlannedWrite w = pw_ok(plan_write(pw_instrument(), p, Value{std::int64_t{70000}}));
  const std::uint16_t regs[] = {4464, 1};  // 70000 = 0x0001'1170, low word first
  CHECK(w.function == modbus::FunctionCode::write_multiple_registers);
  CHECK(w.request == modbus::write_multiple_registers(3, 20, regs));
  CHECK(w.count == 2);
  PointConfig f = pw_point(sim::Table::holding, 30, modbus::RegisterType::float32);
  const std::uint16_t one_and_half[] = {0x3FC0, 0};
  CHECK(pw_ok(plan_write(pw_instrument(), f, Value{1.5})).request == modbus::write_multiple_registers(3, 30, one_and_half));
}

TEST_CASE("point write: write_multiple makes one register FC 16 and one coil FC 15", "[gather]") {
  PointConfig p = pw_point(sim::Table::holding, 10);
  p.write_multiple = true;
  const std::uint16_t v[] = {5};
  CHECK(pw_ok(plan_write(pw_instrument(), p, Value{5.0})).request == modbus::write_multiple_registers(3, 10, v));
  PointConfig c = pw_point(sim::Table::coil, 4);
  CHECK(pw_ok(plan_write(pw_instrument(), c, Value{true})).request == modbus::write_single_coil(3, 4, true));
  c.write_multiple = true;
  CHECK(pw_ok(plan_write(pw_instrument(), c, Value{false})).request == modbus::write_multiple_coils(3, 4, {false}));
}

TEST_CASE("point write: a coil takes false/true and 0/1, nothing else", "[gather]") {
  PointConfig c = pw_point(sim::Table::coil, 4);
  CHECK(pw_ok(plan_write(pw_instrument(), c, Value{1.0})).raw == "coil 4 = on");
  const auto refused = plan_write(pw_instrument(), c, Value{2.0});
  REQUIRE(std::holds_alternative<std::string>(refused));
  CHECK_THAT(std::get<std::string>(refused), Contains("boiler.sp (unit 3, coil 4)") && Contains("not a coil state"));
}

TEST_CASE("point write: a value beyond the register's range is refused, naming point, register and range", "[gather]") {
  PointConfig p = pw_point(sim::Table::holding, 106);
  p.scale = 0.1;
  const auto refused = plan_write(pw_instrument(), p, Value{7000.0});
  REQUIRE(std::holds_alternative<std::string>(refused));
  const std::string& why = std::get<std::string>(refused);
  CHECK_THAT(why, Contains("boiler.sp (unit 3, holding register 106, uint16, scale 0.1, offset 0)"));
  CHECK_THAT(why, Contains("7000 is outside the register's range 0..6553.5"));
  PointConfig s = pw_point(sim::Table::holding, 1, modbus::RegisterType::int16);
  CHECK(std::holds_alternative<std::string>(plan_write(pw_instrument(), s, Value{-32769.0})));
  CHECK(std::holds_alternative<PlannedWrite>(plan_write(pw_instrument(), s, Value{-32768.0})));
  CHECK(std::holds_alternative<std::string>(plan_write(pw_instrument(), s, Value{std::nan("")})));
  CHECK(std::holds_alternative<std::string>(plan_write(pw_instrument(), s, Value{std::string("12")})));
}

TEST_CASE("point write: a point without writable = true is refused", "[gather]") {
  PointConfig p = pw_point(sim::Table::holding, 10);
  p.writable = false;
  const auto refused = plan_write(pw_instrument(), p, Value{1.0});
  REQUIRE(std::holds_alternative<std::string>(refused));
  CHECK_THAT(std::get<std::string>(refused), Contains("writable = true"));
}

namespace {
std::string pw_config_error(const std::string& point_keys) {
  const std::string toml = "[service.gather]\n[[serial]]\nname = \"bus\"\npath = \"/dev/null\"\n[[instrument]]\n"
                           "name = \"boiler\"\nport = \"bus\"\n[[instrument.point]]\nname = \"sp\"\n" + point_keys;
  try {
    const Config config = Config::parse(toml, "w.toml");
    const auto root = config.root();
    read_gather_config(root, *root.table("service")->table("gather"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  FAIL("no ConfigError for:\n" << toml);
  return {};
}
}  // namespace

TEST_CASE("point write config: writable only on holding registers and coils, precision 0..17", "[gather]") {
  CHECK_THAT(pw_config_error("table = \"input\"\nwritable = true\n"),
             Contains("w.toml:") && Contains("writable") && Contains("input register table (read-only in Modbus)"));
  CHECK_THAT(pw_config_error("table = \"discrete\"\nwritable = true\n"), Contains("discrete input"));
  CHECK_THAT(pw_config_error("precision = 18\n"), Contains("precision"));
  const Config ok = Config::parse("[service.gather]\n[[serial]]\nname = \"bus\"\npath = \"/dev/null\"\n[[instrument]]\n"
                                  "name = \"b\"\nport = \"bus\"\n[[instrument.point]]\nname = \"c\"\ntable = \"coil\"\n"
                                  "writable = true\nwrite_multiple = true\nprecision = 3\n",
                                  "ok.toml");
  const auto root = ok.root();
  const GatherConfig g = read_gather_config(root, *root.table("service")->table("gather"));
  const PointConfig& c = g.instruments.at(0).points.at(0);
  CHECK(c.writable);
  CHECK(c.write_multiple);
  CHECK(c.info.precision == 3);
}
