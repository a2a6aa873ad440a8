// [service.upload]: defaults, credentials from a file, TLS keys only with
// mqtts://, and errors that name file:line and the key.
#include "weft/apps/upload/upload_config.hpp"
#include "weft/apps/assembly/assemble.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>

using Catch::Matchers::Contains;
using weft::apps::read_upload_settings;
using weft::apps::UploadSettings;

namespace {
UploadSettings read_upload(const std::string& body) {
  const weft::Config c = weft::Config::parse("[service.upload]\n" + body, "upload.toml");
  const auto section = c.root().table("service")->table("upload");
  UploadSettings s = read_upload_settings(*section);
  section->reject_unknown_keys();
  return s;
}
std::string upload_error_of(const std::string& body) {
  try {
    read_upload(body);
  } catch (const weft::ConfigError& e) {
    return e.what();
  }
  FAIL("no ConfigError for: " << body);
  return {};
}
}  // namespace

TEST_CASE("upload config: defaults", "[upload][config]") {
  const UploadSettings s = read_upload("url = \"mqtt://127.0.0.1:18830\"\ndevice = \"box7\"\n");
  CHECK(s.client.url.port == 18830);
  CHECK_FALSE(s.client.url.tls);
  CHECK(s.client.client_id == "weft-box7");
  CHECK(s.topic.expand("box7", "x") == "weft/box7/readings");
  CHECK(s.batch_rows == 500);
  CHECK(s.max_in_flight == 8);
  CHECK(s.needs == std::vector<std::string>{"record"});
}

TEST_CASE("upload config: password_file, TLS and every limit", "[upload][config]") {
  const auto file = std::filesystem::temp_directory_path() / ("weft-upload-pw-" + std::to_string(::getpid()));
  std::ofstream(file) << "s3cret\n";
  const UploadSettings s = read_upload("url = \"mqtts://broker:8884\"\nusername = \"u\"\npassword_file = \"" + file.string() +
                                "\"\nca_file = \"/etc/ca.pem\"\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n"
                                "topic = \"site/{device}/{point}\"\nbatch_rows = 100\nmax_in_flight = 3\n"
                                "backlog_rate = 50\nkeepalive = \"10s\"\nmin_backoff = \"100ms\"\n"
                                "max_backoff = \"2s\"\nneeds = [\"heartbeat\"]\n");
  std::filesystem::remove(file);
  CHECK(s.client.password == "s3cret");
  CHECK(s.client.url.tls);
  CHECK(s.client.ca_file == "/etc/ca.pem");
  CHECK(s.topic.uses_point());
  CHECK(s.batch_rows == 100);
  CHECK(s.max_in_flight == 3);
  CHECK(s.backlog_rate == 50);
  CHECK(s.client.keepalive == std::chrono::seconds(10));
  CHECK(s.needs == std::vector<std::string>{"heartbeat", "record"});
}

TEST_CASE("upload config: mistakes name file:line, the key and what to do", "[upload][config]") {
  CHECK_THAT(upload_error_of(""), Contains("upload.toml") && Contains("url"));
  CHECK_THAT(upload_error_of("url = \"tcp://x\"\n"), Contains("upload.toml:2") && Contains("unknown scheme 'tcp'"));
  CHECK_THAT(upload_error_of("url = \"mqtt://x\"\nca_file = \"a\"\n"), Contains("service.upload.ca_file") && Contains("mqtts://"));
  CHECK_THAT(upload_error_of("url = \"mqtts://x\"\ncert_file = \"a\"\n"), Contains("key_file"));
  CHECK_THAT(upload_error_of("url = \"mqtt://x\"\npassword = \"p\"\n"), Contains("needs a username"));
  CHECK_THAT(upload_error_of("url = \"mqtt://x\"\nusername = \"u\"\npassword_file = \"/nonexistent/pw\"\n"),
             Contains("password_file") && Contains("cannot read '/nonexistent/pw'"));
  CHECK_THAT(upload_error_of("url = \"mqtt://x\"\ntopic = \"a/{host}\"\n"), Contains("unknown placeholder {host}"));
  CHECK_THAT(upload_error_of("url = \"mqtt://x\"\nmax_in_flight = 1\n"), Contains("max_in_flight"));
  CHECK_THAT(upload_error_of("url = \"mqtt://x\"\nbacklog_rate = 0\n"), Contains("backlog_rate"));
}

TEST_CASE("upload config: the service needs the store and the record service", "[upload][config]") {
  const std::string upload = "[service.upload]\nurl = \"mqtt://127.0.0.1:1883\"\ndevice = \"d\"\n";
  const std::string store = "[store]\npath = \"/nonexistent/weft-upload-test.db\"\n";
  auto assemble_text = [](const std::string& text) {
    return weft::apps::assemble(weft::Config::parse(text, "box.toml"));
  };
  CHECK_THROWS_WITH(assemble_text(upload + "[service.record]\n"), Contains("no store to upload from"));
  CHECK_THROWS_WITH(assemble_text(store + upload), Contains("[service.record] is not enabled"));
  CHECK_THROWS_WITH(assemble_text(store + upload + "[service.record]\nenabled = false\n"),
                    Contains("[service.record] is not enabled"));
  const auto assembly = assemble_text(store + upload + "[service.record]\n");
  REQUIRE(assembly.services.size() == 2);
  for (const auto& s : assembly.services)
    if (s.spec.name == "upload") CHECK(s.spec.needs == std::vector<std::string>{"record"});
}

TEST_CASE("upload config: remote config keys, their defaults and checks", "[upload][config][remote]") {
  const UploadSettings d = read_upload("url = \"mqtt://127.0.0.1:1883\"\ndevice = \"box7\"\n");
  CHECK_FALSE(d.accept_config);
  CHECK(d.topic_prefix == "weft/box7");
  CHECK(d.max_config_bytes == 256 * 1024);
  CHECK(d.client.max_incoming_bytes == 256 * 1024);
  CHECK(d.remote_settle == std::chrono::seconds(60));

  const UploadSettings s = read_upload(
      "url = \"mqtt://127.0.0.1:1883\"\ndevice = \"box7\"\naccept_config = true\ntopic_prefix = \"site/{device}/cfg\"\n"
      "max_config_bytes = 4096\nremote_settle = \"2s\"\n");
  CHECK(s.accept_config);
  CHECK(s.topic_prefix == "site/box7/cfg");
  CHECK(s.max_config_bytes == 4096);
  CHECK(s.client.max_incoming_bytes == 4096);
  CHECK(s.remote_settle == std::chrono::seconds(2));

  CHECK_THAT(upload_error_of("url = \"mqtt://h\"\ntopic_prefix = \"weft/#\"\n"),
             Contains("upload.toml:3") && Contains("topic_prefix") && Contains("wildcards"));
  CHECK_THAT(upload_error_of("url = \"mqtt://h\"\ntopic_prefix = \"weft/\"\n"), Contains("topic_prefix"));
  CHECK_THAT(upload_error_of("url = \"mqtt://h\"\ntopic_prefix = \"weft/{point}\"\n"), Contains("topic_prefix"));
  CHECK_THAT(upload_error_of("url = \"mqtt://h\"\nmax_config_bytes = 10\n"), Contains("max_config_bytes"));
  CHECK_THAT(upload_error_of("url = \"mqtt://h\"\nremote_settle = \"1ms\"\n"), Contains("remote_settle"));
}

TEST_CASE("upload config: read_remote_settle of a whole config", "[upload][config][remote]") {
  const weft::Config with = weft::Config::parse("[service.upload]\nurl = \"mqtt://h\"\nremote_settle = \"5s\"\n", "a.toml");
  CHECK(weft::apps::read_remote_settle(with.root()) == std::chrono::seconds(5));
  const weft::Config without = weft::Config::parse("[service.heartbeat]\n", "b.toml");
  CHECK(weft::apps::read_remote_settle(without.root()) == std::chrono::seconds(60));
}
