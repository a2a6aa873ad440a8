// Runs a child under callgrind with its output files in a temporary
// directory, reads the window dump's "totals:" line and removes the directory.
#include "callgrind_count.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include <unistd.h>

namespace weft::bench {
namespace {

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string candidate = dirs.substr(start, end - start) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

// The instructions of the dump the child made at its window's end, found by
// its trigger line among the files callgrind wrote in `dir`.
double window_totals(const std::filesystem::path& dir) {
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path());
    std::string line;
    bool window = false;
    while (std::getline(in, line)) {
      if (line.rfind("desc: Trigger: Client Request: window", 0) == 0) window = true;
      if (window && line.rfind("totals:", 0) == 0) return std::stod(line.substr(7));
    }
  }
  throw std::runtime_error("callgrind wrote no dump of the window in " + dir.string() +
                           " (weft-bench built without valgrind/callgrind.h?)");
}

}  // namespace

CallgrindCount run_self_under_callgrind(const std::vector<std::string>& child_args) {
  if (!on_path("valgrind")) throw std::runtime_error("--instructions needs valgrind: apt-get install valgrind");
  std::string dir_template = (std::filesystem::temp_directory_path() / "weft-bench-cg-XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) throw std::runtime_error("mkdtemp " + dir_template + " failed");
  const std::filesystem::path dir = dir_template;
  const std::filesystem::path out = dir / "callgrind.out";
  CallgrindCount count;
  try {
    count.result = run_self(child_args, {"valgrind", "--tool=callgrind", "--quiet", "--callgrind-out-file=" + out.string()});
    count.window_instructions = window_totals(dir);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    throw;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return count;
}

}  // namespace weft::bench
