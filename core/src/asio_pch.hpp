// Precompiled header for every target that includes Asio: parsing Asio and
// spdlog once per target instead of once per file keeps a 2-core build fast.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <spdlog/spdlog.h>
#include "../include/weft/core/fmt_extern.hpp"  // after spdlog's fmt, before any log call (weft_pch has no include dirs of weft::core)
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>
