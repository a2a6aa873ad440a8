// What `weftctl update` learns from a package before it changes anything:
// its control fields (dpkg-deb -f), this machine's architecture (dpkg
// --print-architecture), version order (dpkg --compare-versions), and its
// weftd, extracted to a scratch dir (dpkg-deb -x) and run there: its
// --build-info (version, ELF build id, store schema) and its
// --check-config on the running config. Blocking; every tool bounded.
#pragma once

#include <string>

namespace weftctl {

struct PackageFields {
  std::string package, version, architecture;
};

struct BuildInfo {
  std::string version;
  std::string build_id;
  int store_schema = 0;
};

// "": ok; else why not (for people, naming the file).
std::string read_fields(const std::string& deb, PackageFields& out);
std::string machine_architecture(std::string& out);
// dpkg --compare-versions A OP B; `error` set when dpkg cannot tell.
bool compare_versions(const std::string& a, const std::string& op, const std::string& b, std::string& error);

// Extracts `deb` into `scratch` (created; the caller removes it) and checks
// its weftd: runs, reports build info, accepts `config`. "" ok, else why
// not; `check_output` gets --check-config's line.
std::string check_new_weftd(const std::string& deb, const std::string& scratch, const std::string& config,
                            BuildInfo& info, std::string& check_output);

// Copies `from` to `to` whole: a temp beside it, fsync, rename, fsync the
// directory. "" ok, else why not.
std::string copy_file_atomic(const std::string& from, const std::string& to);

}  // namespace weftctl
