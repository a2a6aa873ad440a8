// Why bytes from the wire were refused: `errc` (the ways a CA message can be
// malformed, std::error_code category "ca") and Error, which adds the detail
// that names the offending field and its value ("payload size 4294967280
// above the limit of 16896 bytes"). Decoders return these as values; nothing
// in drivers/ca throws on wire input.
#pragma once

#include <string>
#include <system_error>
#include <variant>

#include "weft/drivers/ca/protocol.hpp"

namespace weft::ca {

enum class errc {
  truncated = 1,        // fewer bytes than the header or its payload size says
  too_large,            // a payload size or count above the configured limit
  misaligned,           // a payload size that is not a multiple of 8
  short_payload,        // the payload is too small for what the command carries
  unterminated_string,  // no NUL within the payload (a name) or the 40-byte field (a DBR string)
  string_too_long,      // a name longer than the limit
  unknown_command,      // a command number the protocol does not define
  obsolete_command,     // SNAPSHOT, BUILD, READ_BUILD, repeater commands, SIGNAL
  bad_type,             // a DBR type code outside 0..38, or not valid where it is used
  bad_count,            // an element count the payload cannot hold, or zero where it must not be
  no_convert,           // a value that cannot be converted to the requested type
};

const std::error_category& category() noexcept;  // name() is "ca"
std::error_code make_error_code(errc e) noexcept;

// The ECA status a server reports for a refusal of this kind, for the
// requests that are answered rather than closing the circuit.
Eca to_eca(errc e) noexcept;

struct Error {
  errc code = errc::truncated;
  std::string detail;  // names the field and the value, e.g. "SEARCH: name has no NUL within its 16-byte payload"

  // "string without terminator: SEARCH: name has no NUL within its 16-byte payload"
  std::string message() const;

  friend bool operator==(const Error&, const Error&) = default;
};

// A decoder's answer: the value, or why there is none.
template <class T>
using Result = std::variant<T, Error>;

}  // namespace weft::ca

template <>
struct std::is_error_code_enum<weft::ca::errc> : std::true_type {};
