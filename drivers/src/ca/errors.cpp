// The "ca" error category, the ECA code a server answers each refusal with,
// and Error's message.
#include "weft/drivers/ca/errors.hpp"

namespace weft::ca {
namespace {

class Category final : public std::error_category {
public:
  const char* name() const noexcept override { return "ca"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::truncated: return "truncated message";
      case errc::too_large: return "message too large";
      case errc::misaligned: return "payload size not a multiple of 8";
      case errc::short_payload: return "payload too short for its command";
      case errc::unterminated_string: return "string without terminator";
      case errc::string_too_long: return "name too long";
      case errc::unknown_command: return "unknown command";
      case errc::obsolete_command: return "obsolete command";
      case errc::bad_type: return "bad DBR type";
      case errc::bad_count: return "bad element count";
      case errc::no_convert: return "value does not convert";
    }
    return "unknown ca error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& category() noexcept {
  static const Category instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

Eca to_eca(errc e) noexcept {
  switch (e) {
    case errc::too_large: return Eca::tolarge;
    case errc::bad_type: return Eca::badtype;
    case errc::bad_count: return Eca::badcount;
    case errc::no_convert: return Eca::noconvert;
    case errc::unterminated_string:
    case errc::string_too_long: return Eca::badstr;
    case errc::unknown_command:
    case errc::obsolete_command: return Eca::defunct;
    case errc::truncated:
    case errc::misaligned:
    case errc::short_payload: return Eca::internal;
  }
  return Eca::internal;
}

std::string Error::message() const {
  std::string text = make_error_code(code).message();
  if (!detail.empty()) {
    text += ": ";
    text += detail;
  }
  return text;
}

}  // namespace weft::ca
