# tests for the upload work: integration scripts and extra targets (included from tests/CMakeLists.txt).
# The MQTT client's own tests against a real broker are Catch2 cases in
# integration/upload_mqtt_client_test.cpp (globbed into weft_integration_tests,
# tag [mqtt]). The scripts below run weftd (record + upload) against a
# mosquitto broker on a free loopback port, with mosquitto_sub collecting
# and the sqlite3 CLI checking the store; upload_check.py compares the two.
find_program(WEFT_MOSQUITTO mosquitto PATHS /usr/sbin)
find_program(WEFT_MOSQUITTO_SUB mosquitto_sub)
find_program(WEFT_SQLITE3 sqlite3)
if(WEFT_MOSQUITTO AND WEFT_MOSQUITTO_SUB AND WEFT_SQLITE3)
  set(WEFT_UPLOAD_SCRIPTS)
  foreach(script upload_roundtrip upload_outage upload_bad_credentials upload_kill9 upload_remote_config upload_remote_stop upload_remote_reach upload_remote_ids upload_remote_wake mqtt_on_demand)
    add_test(NAME integration.${script} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/${script}.sh
                                                $<TARGET_FILE:weftd>)
    list(APPEND WEFT_UPLOAD_SCRIPTS integration.${script})
  endforeach()
  # Needs weftctl too (the `upload` console command).
  add_test(NAME integration.upload_remote_acl COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/upload_remote_acl.sh
                                                      $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl>)
  list(APPEND WEFT_UPLOAD_SCRIPTS integration.upload_remote_acl)
  set_tests_properties(${WEFT_UPLOAD_SCRIPTS} PROPERTIES LABELS integration TIMEOUT 90)
  # The kill -9 loop (22 kills, then a drain) is bounded well under 2 minutes.
  set_tests_properties(integration.upload_kill9 PROPERTIES TIMEOUT 120)
  # Wall-clock warps (+1 day, back) under weftd polling weft-devsim, across a
  # broker outage: libfaketime (Debian faketime) preloaded into weftd;
  # without it the script skips (77). About 20 s.
  # Asio's monotonic timerfd is kept out of libfaketime's reach by a shim
  # (integration/timerfd_direct.cpp says why).
  if(TARGET weft-devsim)
    add_library(weft_timerfd_direct SHARED ${CMAKE_CURRENT_SOURCE_DIR}/integration/timerfd_direct.cpp)
    add_test(NAME integration.clock_warp COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/clock_warp.sh
                                                 $<TARGET_FILE:weftd> $<TARGET_FILE:weft-devsim>
                                                 $<TARGET_FILE:weft_timerfd_direct>)
    set_tests_properties(integration.clock_warp PROPERTIES LABELS integration TIMEOUT 90 SKIP_RETURN_CODE 77)
  endif()
else()
  message(STATUS "mosquitto, mosquitto_sub or sqlite3 not found: upload integration tests are not run "
                 "(apt-get install mosquitto mosquitto-clients sqlite3)")
endif()
