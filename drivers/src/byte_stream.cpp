// ByteStream's key function (the out-of-line destructor), so its vtable
// and type info are emitted in one object file of weft::drivers.
#include "weft/drivers/byte_stream.hpp"

namespace weft {
ByteStream::~ByteStream() = default;
}
