// own_build_id reads the running executable's GNU build id from memory:
// the same hex string readelf -n prints for the file (the test binary is
// linked with the toolchain's default --build-id).
#include "weft/core/build_id.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>

TEST_CASE("own_build_id is the build id readelf reads from the file") {
  const std::string id = weft::own_build_id();
  REQUIRE(id.size() >= 16);
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  // /proc/self inside popen would be the shell's: name this process's file.
  char exe[4096] = {};
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  REQUIRE(n > 0);
  const std::string command = "readelf -n '" + std::string(exe, static_cast<std::size_t>(n)) + "' 2>/dev/null";
  std::FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int status = ::pclose(p);
  if (status != 0 || out.find("Build ID: ") == std::string::npos) {
    WARN("readelf is not available or printed no build id; only the form was checked");
    return;
  }
  CHECK(out.find("Build ID: " + id) != std::string::npos);
}
