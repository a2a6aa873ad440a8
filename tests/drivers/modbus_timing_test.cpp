// Tests of RTU line timing: character time from the frame format, t1.5/t3.5
// below and above the 19200 baud switch to the spec's fixed values, wire time
// of whole frames, and rejection of impossible settings.
#include "weft/drivers/modbus/timing.hpp"

#include <catch2/catch.hpp>

using namespace weft::modbus;
using namespace std::chrono_literals;

TEST_CASE("modbus bits per character count start, data, parity and stop", "[modbus][timing]") {
  CHECK(LineSettings{9600, 8, 'E', 1}.bits_per_character() == 11);
  CHECK(LineSettings{9600, 8, 'N', 1}.bits_per_character() == 10);
  CHECK(LineSettings{9600, 8, 'N', 2}.bits_per_character() == 11);
  CHECK(LineSettings{9600, 7, 'O', 1}.bits_per_character() == 10);
  CHECK(LineSettings{9600, 7, 'E', 2}.bits_per_character() == 11);
}

TEST_CASE("modbus timing at 9600 8E1", "[modbus][timing]") {
  const LineSettings line{9600, 8, 'E', 1};
  CHECK(line.character_time() == 1'145'833ns);  // 11 bits / 9600 = 1145.833 us
  CHECK(line.t1_5() == 1'718'750ns);
  CHECK(line.t3_5() == 4'010'417ns);
  CHECK(line.frame_wire_time(8) == 9'166'667ns);
  CHECK(line.frame_wire_time(0) == 0ns);
}

TEST_CASE("modbus timing at 19200 8N1 still follows the character time", "[modbus][timing]") {
  const LineSettings line{19200, 8, 'N', 1};
  CHECK(line.character_time() == 520'833ns);
  CHECK(line.t1_5() == 781'250ns);
  CHECK(line.t3_5() == 1'822'917ns);
}

TEST_CASE("modbus timing above 19200 baud uses the spec's fixed silences", "[modbus][timing]") {
  for (const std::uint32_t baud : {38400u, 57600u, 115200u, 19201u}) {
    const LineSettings line{baud, 8, 'E', 1};
    CHECK(line.t1_5() == 750us);
    CHECK(line.t3_5() == 1750us);
  }
  const LineSettings fast{115200, 8, 'N', 1};
  CHECK(fast.character_time() == 86'806ns);  // 10 bits / 115200
  CHECK(fast.frame_wire_time(256) == 22'222'222ns);
}

TEST_CASE("modbus frame wire time does not accumulate rounding", "[modbus][timing]") {
  const LineSettings line{9600, 8, 'E', 1};
  CHECK(line.frame_wire_time(9600) == 11s);
  CHECK(line.frame_wire_time(3) == 3'437'500ns);
}

TEST_CASE("modbus line settings default to the spec's 19200 8E1", "[modbus][timing]") {
  const LineSettings line;
  CHECK(line == LineSettings{19200, 8, 'E', 1});
  CHECK(line.bits_per_character() == 11);
}

TEST_CASE("modbus line settings reject impossible values by name", "[modbus][timing]") {
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH((LineSettings{0, 8, 'E', 1}.t3_5()), Contains("baud"));
  CHECK_THROWS_WITH((LineSettings{9600, 6, 'E', 1}.character_time()), Contains("data bits must be 7 or 8, got 6"));
  CHECK_THROWS_WITH((LineSettings{9600, 8, 'X', 1}.t1_5()), Contains("parity") && Contains("'X'"));
  CHECK_THROWS_WITH((LineSettings{9600, 8, 'E', 3}.validate()), Contains("stop bits must be 1 or 2, got 3"));
  CHECK_THROWS_AS((LineSettings{9600, 8, 'e', 1}.validate()), std::invalid_argument);
  CHECK_NOTHROW(LineSettings{9600, 7, 'N', 2}.validate());
}
