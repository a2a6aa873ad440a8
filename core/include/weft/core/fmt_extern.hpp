// Keeps fmt's formatting engine out of every object file that logs.
//
// spdlog formats each log call with fmt::detail::vformat_to<char>, a
// template that fmt 9's headers define without declaring its char
// instantiation extern (fmt 10 does). So every translation unit that logs
// instantiated the whole engine again: integer, float (Dragonbox and the
// Dragon4 fallback, bigint), padding and escaping, about 15 KiB per file,
// 70 copies of format_dragon alone in weftd (365 KB), most of it left dead
// by the linker keeping one weak copy but not the local clones it calls.
// libfmt (shared or static, not the header-only build) already holds this
// instantiation (src/format.cc instantiates it), so declaring it extern
// makes every caller use that one copy. A build against an fmt without it
// fails to link, loudly, rather than running differently.
#pragma once

#include <fmt/format.h>

#if !defined(FMT_HEADER_ONLY) && FMT_VERSION >= 90000 && FMT_VERSION < 100000
FMT_BEGIN_NAMESPACE
namespace detail {
extern template FMT_API void vformat_to<char>(buffer<char>& buf, basic_string_view<char> fmt,
                                              basic_format_args<FMT_BUFFER_CONTEXT(type_identity_t<char>)> args,
                                              locale_ref loc);
}  // namespace detail
FMT_END_NAMESPACE
#endif
