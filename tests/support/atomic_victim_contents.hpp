// The two config files the kill -9 test alternates between (shared by the
// victim program and the test driver). Both are valid TOML and differ in
// size (about 40 KiB and 2 KiB), so a file torn anywhere would be neither.
#pragma once

#include <string>

namespace weft::test {

inline std::string victim_config(char variant) {
  const int services = variant == 'A' ? 500 : 25;
  std::string text = "# kill -9 test config " + std::string(1, variant) + "\n[weftd]\nvariant = \"" +
                     std::string(1, variant) + "\"\nservices = " + std::to_string(services) + "\n";
  for (int i = 0; i < services; ++i)
    text += "\n[service.s" + std::to_string(i) + "]\nperiod = \"" + std::to_string(10 + i) + "ms\"\nnote = \"" +
            std::string(1, variant) + " service " + std::to_string(i) + "\"\n";
  return text;
}

}  // namespace weft::test
