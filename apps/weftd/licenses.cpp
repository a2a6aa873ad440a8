// weftd --licenses / --sbom (licenses.hpp): the loaded objects, mapped to
// Debian packages through dpkg's own files, and the build manifest.
#include "licenses.hpp"

#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "build_manifest.hpp"
#include "weft/drivers/mqtt/library.hpp"

namespace weftd {
namespace {

namespace fs = std::filesystem;

struct Loaded {
  std::string path;          // as the loader named it; the executable's real path for the program
  std::string package;       // Debian package owning the file; empty: none found
  std::string architecture;  // of that package (from its .list name or status)
  std::string version;
  std::string license = "NOASSERTION";  // Debian's name from the DEP-5 copyright
};

int collect_one(dl_phdr_info* info, std::size_t, void* data) {
  auto& out = *static_cast<std::vector<std::string>*>(data);
  out.emplace_back(info->dlpi_name != nullptr ? info->dlpi_name : "");
  return 0;
}

// The same file under the other half of the merged /usr (dpkg lists
// /lib/x86_64-linux-gnu/libc.so.6; the loader may say /usr/lib/...).
std::vector<std::string> path_variants(const std::string& path) {
  std::vector<std::string> v;
  auto add = [&](const std::string& p) {
    if (p.empty()) return;
    if (std::find(v.begin(), v.end(), p) == v.end()) v.push_back(p);
    if (p.rfind("/usr/", 0) == 0) {
      const std::string bare = p.substr(4);
      if (std::find(v.begin(), v.end(), bare) == v.end()) v.push_back(bare);
    } else {
      const std::string usr = "/usr" + p;
      if (std::find(v.begin(), v.end(), usr) == v.end()) v.push_back(usr);
    }
  };
  add(path);
  std::error_code ec;
  const fs::path real = fs::canonical(path, ec);
  if (!ec) add(real.string());
  return v;
}

// Every object in this process: the program first, then what the loader loaded.
std::vector<Loaded> loaded_objects() {
  std::vector<std::string> names;
  dl_iterate_phdr(collect_one, &names);
  std::vector<Loaded> out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    Loaded l;
    if (i == 0) {
      std::error_code ec;
      l.path = fs::read_symlink("/proc/self/exe", ec).string();
    } else {
      l.path = names[i];
    }
    if (l.path.empty()) continue;               // the vDSO (no file) has an empty name on some kernels
    if (l.path.find('/') == std::string::npos) continue;  // linux-vdso.so.1: in the kernel, no file
    out.push_back(std::move(l));
  }
  return out;
}

// Fills package/architecture from /var/lib/dpkg/info/*.list.
void find_packages(std::vector<Loaded>& objects) {
  std::unordered_map<std::string, std::size_t> wanted;
  for (std::size_t i = 0; i < objects.size(); ++i)
    for (const std::string& p : path_variants(objects[i].path)) wanted.emplace(p, i);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/var/lib/dpkg/info", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 6 || name.compare(name.size() - 5, 5, ".list") != 0) continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      const auto it = wanted.find(line);
      if (it == wanted.end() || !objects[it->second].package.empty()) continue;
      std::string pkg = name.substr(0, name.size() - 5);
      std::string arch;
      if (const auto colon = pkg.find(':'); colon != std::string::npos) {
        arch = pkg.substr(colon + 1);
        pkg.resize(colon);
      }
      objects[it->second].package = pkg;
      objects[it->second].architecture = arch;
    }
  }
}

// Version (and architecture) of installed packages, from /var/lib/dpkg/status.
void find_versions(std::vector<Loaded>& objects) {
  std::ifstream in("/var/lib/dpkg/status");
  std::string line;
  std::string pkg, arch, version, status;
  auto flush = [&] {
    if (!pkg.empty() && status.find("installed") != std::string::npos && status.find("not-installed") == std::string::npos)
      for (Loaded& l : objects)
        if (l.package == pkg && l.version.empty() && (l.architecture.empty() || l.architecture == arch)) {
          l.version = version;
          if (l.architecture.empty()) l.architecture = arch;
        }
    pkg.clear();
    arch.clear();
    version.clear();
    status.clear();
  };
  while (std::getline(in, line)) {
    if (line.empty()) {
      flush();
    } else if (line.rfind("Package: ", 0) == 0) {
      pkg = line.substr(9);
    } else if (line.rfind("Architecture: ", 0) == 0) {
      arch = line.substr(14);
    } else if (line.rfind("Version: ", 0) == 0) {
      version = line.substr(9);
    } else if (line.rfind("Status: ", 0) == 0) {
      status = line.substr(8);
    }
  }
  flush();
}

// The licence of the `Files: *` paragraph of a DEP-5 copyright file, or
// NOASSERTION (not DEP-5, no such paragraph, unreadable).
std::string dep5_main_license(const std::string& copyright_path) {
  std::ifstream in(copyright_path);
  std::string line;
  if (!std::getline(in, line) || line.rfind("Format:", 0) != 0) return "NOASSERTION";
  bool files_star = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.find_first_not_of(" \t") == std::string::npos) {
      files_star = false;
    } else if (line.rfind("Files:", 0) == 0) {
      std::string pattern = line.substr(6);
      pattern.erase(0, pattern.find_first_not_of(" \t"));
      pattern.erase(pattern.find_last_not_of(" \t") + 1);
      files_star = pattern == "*";
    } else if (files_star && line.rfind("License:", 0) == 0) {
      std::string license = line.substr(8);
      license.erase(0, license.find_first_not_of(" \t"));
      license.erase(license.find_last_not_of(" \t") + 1);
      return license.empty() ? "NOASSERTION" : license;
    }
  }
  return "NOASSERTION";
}

// libmosquitto (and OpenSSL through it) is loaded only at the first MQTT
// connect: it is loaded here first so the list names everything weftd can load.
std::vector<Loaded> closure(std::ostream& err) {
  std::string mqtt_error;
  if (!weft::mqtt::preload_mqtt_library(mqtt_error)) err << "weftd: not listed: " << mqtt_error << '\n';
  std::vector<Loaded> objects = loaded_objects();
  find_packages(objects);
  find_versions(objects);
  for (Loaded& l : objects)
    if (!l.package.empty()) l.license = dep5_main_license("/usr/share/doc/" + l.package + "/copyright");
  return objects;
}

// ---- SPDX

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// A Debian licence short name as an SPDX identifier; nullopt-like "" when
// SPDX has none (the caller makes a LicenseRef).
std::string spdx_id(const std::string& debian) {
  static const std::map<std::string, std::string> kIds = {
      {"Apache-2.0", "Apache-2.0"},         {"Artistic", "Artistic-1.0-Perl"},
      {"BSD-2-clause", "BSD-2-Clause"},     {"BSD-2-Clause", "BSD-2-Clause"},
      {"BSD-3-clause", "BSD-3-Clause"},     {"BSD-3-Clause", "BSD-3-Clause"},
      {"BSD-4-clause", "BSD-4-Clause"},     {"BSL-1.0", "BSL-1.0"},
      {"CC0-1.0", "CC0-1.0"},               {"EPL-2.0", "EPL-2.0"},
      {"Expat", "MIT"},                     {"MIT", "MIT"},
      {"GPL-2", "GPL-2.0-only"},            {"GPL-2+", "GPL-2.0-or-later"},
      {"GPL-3", "GPL-3.0-only"},            {"GPL-3+", "GPL-3.0-or-later"},
      {"ISC", "ISC"},                       {"LGPL-2", "LGPL-2.0-only"},
      {"LGPL-2+", "LGPL-2.0-or-later"},     {"LGPL-2.1", "LGPL-2.1-only"},
      {"LGPL-2.1+", "LGPL-2.1-or-later"},   {"LGPL-3", "LGPL-3.0-only"},
      {"LGPL-3+", "LGPL-3.0-or-later"},     {"MPL-2.0", "MPL-2.0"},
      {"Zlib", "Zlib"},                     {"zlib", "Zlib"},
  };
  const auto it = kIds.find(debian);
  return it == kIds.end() ? "" : it->second;
}

std::string license_ref(const std::string& debian) {
  std::string id = "LicenseRef-Debian-";
  for (const char c : debian) id += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '-';
  return id;
}

// A Debian licence expression ("EPL-2.0 or EDL-1.0", "BSD-3-clause or
// GPL-2") as an SPDX expression: atoms mapped, " or "/" and " kept, any
// atom without an SPDX id (or with an exception) a LicenseRef, recorded in
// `refs` for hasExtractedLicensingInfos.
std::string spdx_expression(const std::string& debian, std::map<std::string, std::string>& refs) {
  if (debian == "NOASSERTION") return debian;
  if (debian.find(" with ") != std::string::npos || debian.find('(') != std::string::npos) {
    const std::string ref = license_ref(debian);
    refs.emplace(ref, debian);
    return ref;
  }
  std::istringstream words(debian);
  std::string word, atom, out;
  auto close_atom = [&] {
    if (atom.empty()) return;
    std::string id = spdx_id(atom);
    if (id.empty()) {
      id = license_ref(atom);
      refs.emplace(id, atom);
    }
    out += id;
    atom.clear();
  };
  while (words >> word) {
    if (word == "or" || word == "and" || word == "OR" || word == "AND") {
      close_atom();
      out += word == "or" || word == "OR" ? " OR " : " AND ";
    } else {
      atom += (atom.empty() ? "" : "-") + word;
    }
  }
  close_atom();
  return out.empty() ? "NOASSERTION" : out;
}

std::string spdx_ref(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') c = '-';
  return "SPDXRef-" + s;
}

std::string created_time() {
  std::time_t t = std::time(nullptr);
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch != nullptr && *epoch != '\0')
    t = static_cast<std::time_t>(std::strtoll(epoch, nullptr, 10));
  char buf[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

int print_licenses(std::ostream& out, std::ostream& err) {
  const std::vector<Loaded> objects = closure(err);
  if (objects.empty()) {
    err << "weftd --licenses: dl_iterate_phdr listed no object\n";
    return 1;
  }
  out << "weftd " << build_manifest::kVersion << ": Apache-2.0 (/usr/share/doc/weft/copyright)\n\n";
  out << "Loaded by the dynamic loader (dl_iterate_phdr; package, version and licence from dpkg):\n";
  out << "PATH\tPACKAGE\tVERSION\tLICENSE\n";
  for (std::size_t i = 1; i < objects.size(); ++i) {
    const Loaded& l = objects[i];
    out << l.path << '\t' << (l.package.empty() ? "-" : l.package + (l.architecture.empty() ? "" : ":" + l.architecture))
        << '\t' << (l.version.empty() ? "-" : l.version) << '\t' << l.license << '\n';
  }
  out << "\nBuilt into the binary (from the build manifest):\n";
  out << "COMPONENT\tVERSION\tLICENSE\tHOW\n";
  for (const auto& c : build_manifest::kComponents)
    out << c.name << '\t' << c.version << '\t' << c.license << '\t' << c.how << '\n';
  out << "\nbuilt with " << build_manifest::kCompiler << "\n";
  std::size_t unowned = 0;
  for (std::size_t i = 1; i < objects.size(); ++i) unowned += objects[i].package.empty() ? 1 : 0;
  if (unowned > 0) out << unowned << " loaded objects belong to no Debian package (PACKAGE -)\n";
  return 0;
}

int print_sbom(std::ostream& out, std::ostream& err) {
  const std::vector<Loaded> objects = closure(err);
  if (objects.empty()) {
    err << "weftd --sbom: dl_iterate_phdr listed no object\n";
    return 1;
  }
  std::map<std::string, std::string> refs;
  std::ostringstream packages, relationships;
  const std::string root = "SPDXRef-weftd";
  std::string identity = build_manifest::kVersion;
  packages << "    {\"SPDXID\": \"" << root << "\", \"name\": \"weftd\", \"versionInfo\": "
           << json_string(build_manifest::kVersion)
           << ", \"supplier\": \"Organization: weft developers\", \"downloadLocation\": \"NOASSERTION\", "
              "\"filesAnalyzed\": false, \"licenseConcluded\": \"Apache-2.0\", \"licenseDeclared\": \"Apache-2.0\", "
              "\"copyrightText\": \"2025-2026 weft developers\", \"primaryPackagePurpose\": \"APPLICATION\"}";
  relationships << "    {\"spdxElementId\": \"SPDXRef-DOCUMENT\", \"relationshipType\": \"DESCRIBES\", "
                   "\"relatedSpdxElement\": \""
                << root << "\"}";
  std::set<std::string> seen;
  for (std::size_t i = 1; i < objects.size(); ++i) {
    const Loaded& l = objects[i];
    const std::string name = l.package.empty() ? fs::path(l.path).filename().string() : l.package;
    const std::string id = spdx_ref("deb-" + name);
    if (!seen.insert(id).second) continue;
    identity += "|" + name + "=" + l.version;
    const std::string lic = spdx_expression(l.license, refs);
    packages << ",\n    {\"SPDXID\": \"" << id << "\", \"name\": " << json_string(name)
             << ", \"versionInfo\": " << json_string(l.version.empty() ? "NOASSERTION" : l.version)
             << ", \"downloadLocation\": \"NOASSERTION\", \"filesAnalyzed\": false, \"licenseConcluded\": \"NOASSERTION\", "
                "\"licenseDeclared\": "
             << json_string(lic) << ", \"copyrightText\": \"NOASSERTION\", \"primaryPackagePurpose\": \"LIBRARY\""
             << ", \"comment\": " << json_string("loaded as " + l.path + "; licence: the Files: * paragraph of /usr/share/doc/" + name + "/copyright");
    if (!l.package.empty() && !l.version.empty())
      packages << ", \"externalRefs\": [{\"referenceCategory\": \"PACKAGE-MANAGER\", \"referenceType\": \"purl\", "
                  "\"referenceLocator\": "
               << json_string("pkg:deb/debian/" + l.package + "@" + l.version +
                              (l.architecture.empty() ? "" : "?arch=" + l.architecture))
               << "}]";
    packages << "}";
    relationships << ",\n    {\"spdxElementId\": \"" << root << "\", \"relationshipType\": \"DYNAMIC_LINK\", "
                  << "\"relatedSpdxElement\": \"" << id << "\"}";
  }
  for (const auto& c : build_manifest::kComponents) {
    const std::string id = spdx_ref(std::string("built-in-") + c.name);
    identity += std::string("|") + c.name + "=" + c.version;
    packages << ",\n    {\"SPDXID\": \"" << id << "\", \"name\": " << json_string(c.name)
             << ", \"versionInfo\": " << json_string(c.version)
             << ", \"downloadLocation\": \"NOASSERTION\", \"filesAnalyzed\": false, \"licenseConcluded\": \"NOASSERTION\", "
                "\"licenseDeclared\": "
             << json_string(c.license) << ", \"copyrightText\": \"NOASSERTION\", \"primaryPackagePurpose\": \"LIBRARY\", "
             << "\"comment\": " << json_string(c.how) << "}";
    relationships << ",\n    {\"spdxElementId\": \"" << root << "\", \"relationshipType\": \"STATIC_LINK\", "
                  << "\"relatedSpdxElement\": \"" << id << "\"}";
  }
  out << "{\n  \"spdxVersion\": \"SPDX-2.3\",\n  \"dataLicense\": \"CC0-1.0\",\n  \"SPDXID\": \"SPDXRef-DOCUMENT\",\n"
      << "  \"name\": " << json_string(std::string("weftd-") + build_manifest::kVersion) << ",\n"
      << "  \"documentNamespace\": "
      << json_string(std::string("https://example.org/weft/spdx/weftd-") + build_manifest::kVersion + "-" +
                     std::to_string(std::hash<std::string>{}(identity)))
      << ",\n  \"creationInfo\": {\"created\": " << json_string(created_time())
      << ", \"creators\": [\"Tool: weftd --sbom\"], \"comment\": "
      << json_string(std::string("the closure of weftd as its dynamic loader loaded it on the build machine; built with ") +
                     build_manifest::kCompiler)
      << "},\n  \"packages\": [\n"
      << packages.str() << "\n  ],\n  \"relationships\": [\n"
      << relationships.str() << "\n  ]";
  if (!refs.empty()) {
    out << ",\n  \"hasExtractedLicensingInfos\": [";
    bool first = true;
    for (const auto& [id, text] : refs) {
      out << (first ? "\n" : ",\n") << "    {\"licenseId\": \"" << id << "\", \"name\": " << json_string(text)
          << ", \"extractedText\": "
          << json_string("The licence named '" + text + "' in a Debian copyright file (see /usr/share/doc/PACKAGE/copyright)")
          << "}";
      first = false;
    }
    out << "\n  ]";
  }
  out << "\n}\n";
  return 0;
}

}  // namespace weftd
