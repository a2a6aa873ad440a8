// Package checks for weftctl update (update_package.hpp).
#include "update_package.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "run_command.hpp"
#include "weft/core/atomic_file.hpp"

namespace weftctl {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

CommandResult tool(std::vector<std::string> argv, double timeout_s = 60) {
  CommandSpec spec;
  spec.argv = std::move(argv);
  spec.timeout_s = timeout_s;
  return run_command(spec);
}

}  // namespace

std::string read_fields(const std::string& deb, PackageFields& out) {
  const CommandResult r = tool({"dpkg-deb", "-f", deb, "Package", "Version", "Architecture"});
  if (!r.ok()) return deb + ": not a Debian package dpkg-deb can read (" + r.summary() + ")";
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);) {
    const std::size_t colon = line.find(": ");
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon), value = trim(line.substr(colon + 2));
    if (key == "Package") out.package = value;
    else if (key == "Version") out.version = value;
    else if (key == "Architecture") out.architecture = value;
  }
  if (out.package.empty() || out.version.empty() || out.architecture.empty())
    return deb + ": its control file lacks Package, Version or Architecture";
  return {};
}

std::string machine_architecture(std::string& out) {
  const CommandResult r = tool({"dpkg", "--print-architecture"});
  if (!r.ok()) return "dpkg --print-architecture: " + r.summary();
  out = trim(r.output);
  return {};
}

bool compare_versions(const std::string& a, const std::string& op, const std::string& b, std::string& error) {
  const CommandResult r = tool({"dpkg", "--compare-versions", a, op, b});
  if (r.status == 0 || r.status == 1) return r.status == 0;
  error = "dpkg --compare-versions " + a + " " + op + " " + b + ": " + r.summary();
  return false;
}

std::string check_new_weftd(const std::string& deb, const std::string& scratch, const std::string& config,
                            BuildInfo& info, std::string& check_output) {
  std::error_code ec;
  std::filesystem::create_directories(scratch, ec);
  if (ec) return "cannot create " + scratch + ": " + ec.message();
  const CommandResult x = tool({"dpkg-deb", "-x", deb, scratch}, 300);
  if (!x.ok()) return "dpkg-deb -x " + deb + ": " + x.summary();
  const std::string weftd = scratch + "/usr/bin/weftd";
  if (::access(weftd.c_str(), X_OK) != 0) return deb + " has no executable usr/bin/weftd";

  const CommandResult b = tool({weftd, "--build-info"}, 30);
  if (!b.ok()) return "the package's weftd does not run here (" + weftd + " --build-info: " + b.summary() + ")";
  std::istringstream in(b.output);
  for (std::string line; std::getline(in, line);) {
    const std::size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = trim(line.substr(eq + 1));
    if (key == "version") info.version = value;
    else if (key == "build_id") info.build_id = value;
    else if (key == "store_schema") info.store_schema = std::atoi(value.c_str());
  }
  if (info.version.empty() || info.store_schema <= 0)
    return "the package's weftd --build-info names no version or store schema (output: " + trim(b.output) + ")";

  const CommandResult c = tool({weftd, "--check-config", config}, 60);
  check_output = trim(c.output);
  if (!c.ok())
    return "the package's weftd refuses the running config " + config + " (--check-config, " +
           (c.error.empty() ? "exit " + std::to_string(c.status) : c.error) + "):\n" + check_output;
  return {};
}

std::string copy_file_atomic(const std::string& from, const std::string& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return "cannot read " + from + ": " + std::strerror(errno);
  std::string bytes;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(in);
      return "cannot read " + from + ": " + std::strerror(e);
    }
    if (n == 0) break;
    bytes.append(buf, static_cast<std::size_t>(n));
  }
  ::close(in);
  // A package is a few MiB: one buffer, then the same atomic replace the
  // markers use (temp, fsync, rename, fsync the directory).
  if (const weft::AtomicWriteError e = weft::atomic_replace(to, bytes)) return e.message();
  return {};
}

}  // namespace weftctl
