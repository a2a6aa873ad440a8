# tests for the health work: integration scripts and extra targets (included from tests/CMakeLists.txt).
# weft-health-box is weftd's run path plus test-only services (stall, hang,
# crash, uncaught exception), so weftd itself ships no crash button. The
# scripts in tests/health drive it (and weftd) as real processes: a fake
# NOTIFY_SOCKET (Unix datagram socket, tests/health/notify_listener.py),
# SIGUSR1, SIGSEGV, a hung loop, two processes on one data dir, a stderr
# nobody reads, a full data disk (a small tmpfs; skipped where mounting is
# not allowed: exit 77).
add_executable(weft-health-box ${CMAKE_CURRENT_SOURCE_DIR}/health/weft_health_box.cpp)
target_link_libraries(weft-health-box PRIVATE weft_services CLI11::CLI11)
weft_warnings(weft-health-box)
weft_asio_pch(weft-health-box)

set(WEFT_HEALTH_TESTS)
foreach(script health_notify_hang health_hang_snapshot health_crash health_dump health_lock health_log_fifo
               health_disk_full)
  add_test(NAME integration.${script}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/health/${script}.sh $<TARGET_FILE:weft-health-box>
                   $<TARGET_FILE:weftd> /usr/bin/python3)
  list(APPEND WEFT_HEALTH_TESTS integration.${script})
endforeach()
# Memory budgets: memhog over its memory_limit beside heartbeat, record and
# the console (weftctl mem), then a stop landing at the refusal.
add_test(NAME integration.health_memory_limit
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/health/health_memory_limit.sh $<TARGET_FILE:weft-health-box>
                 $<TARGET_FILE:weftctl> /usr/bin/sqlite3)
list(APPEND WEFT_HEALTH_TESTS integration.health_memory_limit)
set_tests_properties(${WEFT_HEALTH_TESTS} PROPERTIES LABELS "integration;health" TIMEOUT 90)
set_tests_properties(integration.health_disk_full PROPERTIES SKIP_RETURN_CODE 77)
