// The one translation unit that compiles Asio's implementation
// (BOOST_ASIO_SEPARATE_COMPILATION is set on weft::core for everyone else).
#include <boost/asio/impl/src.hpp>
