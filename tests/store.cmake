# tests for the store work: integration scripts and extra targets (included from tests/CMakeLists.txt).
# The unit tests (tests/drivers/store_*_test.cpp, tag [store]) join weft_tests by the glob.

# Lock contention from another process: the sqlite3 CLI holds BEGIN IMMEDIATE
# for 3 s while weftd records; nothing may be lost, retries must be counted.
find_program(WEFT_SQLITE3_CLI sqlite3)
if(WEFT_SQLITE3_CLI)
  # The fault tests ([store][fault]) ask the CLI for a second integrity_check.
  target_compile_definitions(weft_tests PRIVATE WEFT_SQLITE3_CLI="${WEFT_SQLITE3_CLI}")
  add_test(NAME integration.store_busy_cli
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/store_busy_cli.sh $<TARGET_FILE:weftd> ${WEFT_SQLITE3_CLI})
  set_tests_properties(integration.store_busy_cli PROPERTIES LABELS integration TIMEOUT 90)
  # A start timeout landing inside record's store open (the CLI holds BEGIN
  # EXCLUSIVE for 4 s): weftd survives and restarts record (issue 9).
  add_test(NAME integration.record_start_timeout_locked
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/record_start_timeout_locked.sh $<TARGET_FILE:weftd>
                   ${WEFT_SQLITE3_CLI})
  set_tests_properties(integration.record_start_timeout_locked PROPERTIES LABELS integration TIMEOUT 90)
else()
  message(STATUS "sqlite3 CLI not found: integration.store_busy_cli and integration.record_start_timeout_locked "
                 "are not run (apt-get install sqlite3)")
endif()

# The store's console commands through weftctl against a real weftd:
# `sql SELECT` answers, `sql DELETE` exits 1 with the read-only message, `store` shows counters.
if(TARGET weftctl)
  add_test(NAME integration.store_sql_console
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/store_sql_console.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl>)
  set_tests_properties(integration.store_sql_console PROPERTIES LABELS integration TIMEOUT 90)
else()
  message(STATUS "weftctl is not built (WEFT_BUILD_TOOLS=OFF): integration.store_sql_console is not run")
endif()

# What breaks on real boxes (issue 10): a corrupt readings.db under a real
# weftd (moved aside, the box goes on), and an ext4 image that goes
# read-only under it (one error line, degraded, recovered after fsck).
find_program(WEFT_PYTHON3 python3)
if(WEFT_SQLITE3_CLI AND WEFT_PYTHON3 AND TARGET weftctl)
  find_program(WEFT_MOSQUITTO_FOR_STORE mosquitto PATHS /usr/sbin)
  if(WEFT_MOSQUITTO_FOR_STORE)
    foreach(script store_corrupt_weftd store_readonly_weftd)
      add_test(NAME integration.${script}
               COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/${script}.sh $<TARGET_FILE:weftd>
                       $<TARGET_FILE:weftctl> ${WEFT_PYTHON3})
      set_tests_properties(integration.${script} PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77)
    endforeach()
    # Not RUN_SERIAL any more: its one flake under load was the test's own
    # remount window (between unmounting the failed image and mounting the
    # checked one, record's reopen created a new readings.db in the bare
    # mount point); the checked image is now mounted on top, so the test
    # shares the machine. Its loop device is its own (mount -o loop picks
    # a free one) and so are its temp dir and ext4 error trigger.
  endif()
endif()

# A real full disk (issue 16): weftd's data dir and store on a loop-mounted
# 4 MiB ext4 image filled by 1 ms heartbeat readings: bounded, pruned
# readings in the ledger, a restart on the full card ready (no crash loop),
# recording again once room is freed. Needs root and loop devices (77: skipped).
if(WEFT_SQLITE3_CLI AND TARGET weftctl)
  add_test(NAME integration.store_disk_full_weftd
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/store_disk_full_weftd.sh $<TARGET_FILE:weftd>
                   $<TARGET_FILE:weftctl>)
  set_tests_properties(integration.store_disk_full_weftd PROPERTIES LABELS integration TIMEOUT 150 SKIP_RETURN_CODE 77)
endif()

# An upload restart resends only what was in flight and a restart of upload
# and record touches nothing in the store's backlog (issue 12): weftd, the
# console, a paused mosquitto broker, the sqlite3 CLI.
find_program(WEFT_MOSQUITTO_FOR_RESTART mosquitto PATHS /usr/sbin)
find_program(WEFT_MOSQUITTO_SUB_FOR_RESTART mosquitto_sub)
if(WEFT_SQLITE3_CLI AND WEFT_MOSQUITTO_FOR_RESTART AND WEFT_MOSQUITTO_SUB_FOR_RESTART AND TARGET weftctl)
  add_test(NAME integration.upload_restart_backlog
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/upload_restart_backlog.sh $<TARGET_FILE:weftd>
                   $<TARGET_FILE:weftctl>)
  set_tests_properties(integration.upload_restart_backlog PROPERTIES LABELS integration TIMEOUT 120)
else()
  message(STATUS "mosquitto, mosquitto_sub, sqlite3 or weftctl missing: integration.upload_restart_backlog is not run")
endif()
