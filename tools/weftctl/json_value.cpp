// weftctl's JSON reader (json_value.hpp): recursive descent, depth bounded.
#include "json_value.hpp"

#include <cstdlib>

namespace weftctl {
namespace {

class Parser {
public:
  explicit Parser(std::string_view text) : s_(text) {}

  std::optional<JsonValue> document(std::string& error) {
    JsonValue v;
    if (!value(v, 0) || (skip(), i_ != s_.size())) {
      error = "at byte " + std::to_string(i_) + ": " + (error_.empty() ? "trailing characters" : error_);
      return std::nullopt;
    }
    return v;
  }

private:
  static constexpr int kMaxDepth = 64;

  bool fail(const char* why) {
    if (error_.empty()) error_ = why;
    return false;
  }
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return fail("bad literal");
    i_ += word.size();
    return true;
  }

  static void utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  bool hex4(unsigned& out) {
    if (i_ + 4 > s_.size()) return fail("short \\u escape");
    out = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      out <<= 4;
      if (c >= '0' && c <= '9') out |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') out |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') out |= static_cast<unsigned>(c - 'A' + 10);
      else return fail("bad \\u escape");
    }
    return true;
  }

  bool string(std::string& out) {
    ++i_;  // the opening quote
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ == s_.size()) break;
      const char e = s_[i_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          unsigned cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xd800 && cp < 0xdc00 && s_.substr(i_, 2) == "\\u") {
            i_ += 2;
            unsigned low = 0;
            if (!hex4(low)) return false;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          }
          utf8(out, cp);
          break;
        }
        default: out += e;  // \" \\ \/
      }
    }
    return fail("unterminated string");
  }

  bool value(JsonValue& v, int depth) {
    if (depth > kMaxDepth) return fail("nested too deep");
    skip();
    if (i_ >= s_.size()) return fail("unexpected end");
    const char c = s_[i_];
    if (c == '"') {
      v.kind = JsonValue::Kind::string;
      return string(v.string);
    }
    if (c == '{') {
      v.kind = JsonValue::Kind::object;
      ++i_;
      skip();
      if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
      for (;;) {
        skip();
        if (i_ >= s_.size() || s_[i_] != '"') return fail("expected a member name");
        std::string key;
        if (!string(key)) return false;
        skip();
        if (i_ >= s_.size() || s_[i_] != ':') return fail("expected ':'");
        ++i_;
        JsonValue member;
        if (!value(member, depth + 1)) return false;
        v.members.emplace_back(std::move(key), std::move(member));
        skip();
        if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
        if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
        return fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      v.kind = JsonValue::Kind::array;
      ++i_;
      skip();
      if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
      for (;;) {
        JsonValue item;
        if (!value(item, depth + 1)) return false;
        v.items.push_back(std::move(item));
        skip();
        if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
        if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
        return fail("expected ',' or ']'");
      }
    }
    if (c == 't') return v.kind = JsonValue::Kind::boolean, v.boolean = true, literal("true");
    if (c == 'f') return v.kind = JsonValue::Kind::boolean, v.boolean = false, literal("false");
    if (c == 'n') return v.kind = JsonValue::Kind::null, literal("null");
    const std::string rest(s_.substr(i_, 64));
    char* end = nullptr;
    v.number = std::strtod(rest.c_str(), &end);
    if (end == rest.c_str()) return fail("expected a value");
    v.kind = JsonValue::Kind::number;
    i_ += static_cast<std::size_t>(end - rest.c_str());
    return true;
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::string error_;
};

}  // namespace

const JsonValue* JsonValue::get(std::string_view key) const {
  if (kind != Kind::object) return nullptr;
  for (const auto& [k, v] : members)
    if (k == key) return &v;
  return nullptr;
}

std::string JsonValue::str(std::string_view key, std::string fallback) const {
  const JsonValue* v = get(key);
  return v != nullptr && v->kind == Kind::string ? v->string : fallback;
}

double JsonValue::num(std::string_view key, double fallback) const {
  const JsonValue* v = get(key);
  return v != nullptr && v->kind == Kind::number ? v->number : fallback;
}

bool JsonValue::flag(std::string_view key, bool fallback) const {
  const JsonValue* v = get(key);
  return v != nullptr && v->kind == Kind::boolean ? v->boolean : fallback;
}

std::optional<JsonValue> parse_json(std::string_view text, std::string& error) { return Parser(text).document(error); }

}  // namespace weftctl
