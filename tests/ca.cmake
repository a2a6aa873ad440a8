# tests for the Channel Access work (issue 13), included from tests/CMakeLists.txt.
# The codec's unit tests live in tests/drivers/ca/ (tag [ca]); the glob of
# tests/CMakeLists.txt does not descend into subfolders, so they join
# weft_tests here, unity-batched like the rest.
file(GLOB WEFT_CA_DRIVER_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/drivers/ca/*_test.cpp)
target_sources(weft_tests PRIVATE ${WEFT_CA_DRIVER_TESTS})

# The ca service against real libca (pyepics, Debian's python3-pyepics), a
# real weftd on a free loopback port: caget, monitors, a refused caput,
# hostile raw input (label integration; skipped, 77, without pyepics).
if(TARGET weftd AND TARGET weftctl)
  add_test(NAME integration.ca_pyepics
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_pyepics.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_pyepics_client.py /usr/bin/python3)
  set_tests_properties(integration.ca_pyepics PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77)
endif()

# A client that stops reading beside a pyepics monitor, points at 1 kHz: the
# monitor is not delayed, the stalled circuit stays bounded and squashes.
if(TARGET weftd AND TARGET weftctl)
  add_test(NAME integration.ca_slow_client
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_slow_client.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_slow_client.py /usr/bin/python3)
  set_tests_properties(integration.ca_slow_client PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77)
endif()

# A stop landing amid a monitor's stream: SERVER_DISCONN, then the close, exit 0.
if(TARGET weftd)
  add_test(NAME integration.ca_stop
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_stop.sh $<TARGET_FILE:weftd>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_stop_client.py /usr/bin/python3)
  set_tests_properties(integration.ca_stop PROPERTIES LABELS integration TIMEOUT 90)
endif()

# Soft points of every type through pyepics: reads, caput wait=True, monitors, refusals, the put log.
if(TARGET weftd)
  add_test(NAME integration.ca_soft_points
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_soft_points.sh $<TARGET_FILE:weftd>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_soft_points_client.py /usr/bin/python3)
  set_tests_properties(integration.ca_soft_points PROPERTIES LABELS integration TIMEOUT 90 SKIP_RETURN_CODE 77)
endif()

# Three WRITEs to a soft point in one turn of the virtual clock (equal stamps): the PV takes each.
if(TARGET weftd)
  add_test(NAME integration.ca_same_instant
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_same_instant.sh $<TARGET_FILE:weftd>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_same_instant_client.py /usr/bin/python3)
  set_tests_properties(integration.ca_same_instant PROPERTIES LABELS integration TIMEOUT 60)
endif()

# A client that floods READ_NOTIFY and never reads the replies: weftd's memory stays bounded.
if(TARGET weftd)
  add_test(NAME integration.ca_request_flood
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_request_flood.sh $<TARGET_FILE:weftd>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_request_flood_client.py /usr/bin/python3)
  set_tests_properties(integration.ca_request_flood PROPERTIES LABELS integration TIMEOUT 90)
endif()

# The limits, small in the test's config: max_circuits, max_channels,
# max_subscriptions, client_timeout, a malformed message; `ca clients`.
if(TARGET weftd AND TARGET weftctl)
  add_test(NAME integration.ca_limits
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_limits.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_limits_client.py /usr/bin/python3)
  set_tests_properties(integration.ca_limits PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77)
endif()

# Circuits reset, closed, half-closed and abandoned while updates stream to
# them (the writer holds them queued when they end).
if(TARGET weftd AND TARGET weftctl)
  add_test(NAME integration.ca_churn
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_churn.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_churn_client.py /usr/bin/python3)
  set_tests_properties(integration.ca_churn PROPERTIES LABELS integration TIMEOUT 120)
endif()

# 100 circuits x 100 monitored channels, one more client stopped with
# SIGSTOP: nobody else is delayed, its queue stays bounded and squashes.
if(TARGET weftd AND TARGET weftctl)
  add_test(NAME integration.ca_fanout
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_fanout.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_fanout_client.py /usr/bin/python3)
  set_tests_properties(integration.ca_fanout PROPERTIES LABELS integration TIMEOUT 120)
endif()

# CA writes to Modbus points against the libmodbus server on a pty: caput
# wait=True, the register set in the server, the put log in the store
# (sqlite3 CLI), PUTFAIL for range / exception / timeout, NOWTACCESS, and a
# SIGTERM while a WRITE_NOTIFY waits for the device; the points' metadata in
# DBR_CTRL, limit alarms, DBE_PROPERTY after a reload changes a unit.
if(TARGET weftd AND TARGET weftctl AND TARGET modbus_rtu_server)
  add_test(NAME integration.ca_modbus_write
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_modbus_write.sh $<TARGET_FILE:weftd>
                   $<TARGET_FILE:modbus_rtu_server> ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_modbus_write_client.py
                   /usr/bin/python3 $<TARGET_FILE:weftctl>)
  set_tests_properties(integration.ca_modbus_write PROPERTIES LABELS integration TIMEOUT 150 SKIP_RETURN_CODE 77)
endif()

# A reload that changes only ca's access rules, applied to the running ca:
# pyepics and a raw circuit keep their channels, get ACCESS_RIGHTS pushed,
# writes refused by the new rules (put log), ECA_NORDACCESS and a silent
# monitor without read access; SIGTERM right behind such a reload.
if(TARGET weftd AND TARGET weftctl)
  add_test(NAME integration.ca_live_rules
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_live_rules.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_live_rules_client.py /usr/bin/python3)
  set_tests_properties(integration.ca_live_rules PROPERTIES LABELS integration TIMEOUT 150 SKIP_RETURN_CODE 77)
endif()

# Monitor deadbands through pyepics: fixed writes to soft points with mdel,
# adel and alarm limits; each subscription (DBE_VALUE, DBE_LOG, DBE_ALARM)
# sees exactly the updates the EPICS rules give.
if(TARGET weftd)
  add_test(NAME integration.ca_deadband
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_deadband.sh $<TARGET_FILE:weftd>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_deadband_client.py /usr/bin/python3)
  set_tests_properties(integration.ca_deadband PROPERTIES LABELS integration TIMEOUT 90 SKIP_RETURN_CODE 77)
endif()

# `weft-bench ca` at tiny sizes: the benchmark runs end to end (real weftd,
# weft-devsim, CA circuits of the bench's own) and prints its figures.
if(TARGET weft-bench)
  add_test(NAME integration.ca_bench_smoke
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_bench_smoke.sh $<TARGET_FILE:weft-bench>)
  set_tests_properties(integration.ca_bench_smoke PROPERTIES LABELS integration TIMEOUT 90)
endif()

# weft's own CA client (drivers/ca client_*, circuit_reader, search_schedule,
# beacon_watcher) over real sockets against a weftd serving soft points:
# search, circuit, CTRL read, TIME monitor, WRITE_NOTIFY and its update, a
# reply refused above max_array_bytes; then weftd restarted on the same port,
# found again through the beacon anomaly alone.
add_executable(ca_client_check integration/ca_client_check.cpp)
target_link_libraries(ca_client_check PRIVATE weft::drivers)
weft_warnings(ca_client_check)
if(TARGET weftd)
  add_test(NAME integration.ca_client
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_client.sh $<TARGET_FILE:weftd>
                   $<TARGET_FILE:ca_client_check> /usr/bin/python3)
  set_tests_properties(integration.ca_client PROPERTIES LABELS integration TIMEOUT 120)
endif()

# Persisted soft points: kill -9 and restart, a burst coalesced, SIGTERM
# while a save is held in fsync (LD_PRELOAD gate), a damaged state file, a
# type change. The gate shim holds fsync of the state file on cue.
add_library(weft_gate_fsync SHARED ${CMAKE_CURRENT_SOURCE_DIR}/integration/gate_fsync.cpp)
target_link_libraries(weft_gate_fsync PRIVATE dl)
if(TARGET weftd AND TARGET weftctl)
  add_test(NAME integration.ca_persist
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_persist.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_persist_client.py /usr/bin/python3
                   $<TARGET_FILE:weft_gate_fsync>)
  set_tests_properties(integration.ca_persist PROPERTIES LABELS integration TIMEOUT 240 SKIP_RETURN_CODE 77)
endif()

# An array soft point through pyepics, the store (sqlite3 CLI), the upload
# (mosquitto_sub) and a restart (persist = true).
if(TARGET weftd)
  add_test(NAME integration.ca_array
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_array.sh $<TARGET_FILE:weftd>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_array_client.py /usr/bin/python3)
  set_tests_properties(integration.ca_array PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77)
  # No read access and an absurd EVENT_ADD count: ECA_BADCOUNT at once, not a payload of that count.
  add_test(NAME integration.ca_nordaccess_count
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_nordaccess_count.sh $<TARGET_FILE:weftd>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_nordaccess_count_client.py /usr/bin/python3)
  set_tests_properties(integration.ca_nordaccess_count PROPERTIES LABELS integration TIMEOUT 60)
endif()

# ca_gateway (issue 14, stage 1) against a real upstream weftd: record entries
# published with the upstream's values and time stamps (both stores), served
# by the gateway box's own ca (pyepics), the negative cache, the own-server
# loop, kill -9 of the upstream (stale) and its restart (updates within 2 s
# of its first beacon).
if(TARGET weftd AND TARGET weftctl)
  add_test(NAME integration.ca_gateway
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_gateway.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_gateway_client.py /usr/bin/python3)
  set_tests_properties(integration.ca_gateway PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77)
  # Stops landing with a search pending, inside a TCP connect, inside a circuit read.
  # ca_gateway stage 2: writes through the gateway (ok, refused upstream, the
  # upstream gone, a circuit lost and a stop with a write on the wire) and an
  # upstream array as an array PV, pyepics against a real upstream weftd.
  add_test(NAME integration.ca_gateway_write
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_gateway_write.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_gateway_write_client.py /usr/bin/python3)
  set_tests_properties(integration.ca_gateway_write PROPERTIES LABELS integration TIMEOUT 150 SKIP_RETURN_CODE 77)

  add_test(NAME integration.ca_gateway_stop
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_gateway_stop.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_gateway_fake_upstream.py /usr/bin/python3)
  set_tests_properties(integration.ca_gateway_stop PROPERTIES LABELS integration TIMEOUT 120)
  # An upstream that answers searches but refuses the circuit: no search/connect storm.
  add_test(NAME integration.ca_gateway_refused
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_gateway_refused.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_gateway_fake_upstream.py /usr/bin/python3)
  set_tests_properties(integration.ca_gateway_refused PROPERTIES LABELS integration TIMEOUT 60)
  # Downstream search proxying (proxy = [...]): pyepics through the box only, against a real upstream weftd.
  add_test(NAME integration.ca_gateway_proxy
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_gateway_proxy.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_gateway_proxy_client.py /usr/bin/python3)
  set_tests_properties(integration.ca_gateway_proxy PROPERTIES LABELS integration TIMEOUT 150 SKIP_RETURN_CODE 77)
  # Its stop paths, the box under valgrind: the gateway stopped with a search and a create held, the ca
  # stopped with its channels held upstream and a resolution still to come.
  add_test(NAME integration.ca_gateway_proxy_stop
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_gateway_proxy_stop.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl>
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_gateway_proxy_client.py /usr/bin/python3)
  set_tests_properties(integration.ca_gateway_proxy_stop PROPERTIES LABELS integration TIMEOUT 240 SKIP_RETURN_CODE 77)
  # `gateway get` cut short by a restart of ca_gateway: weftd under valgrind, no read of the freed Gateway.
  add_test(NAME integration.ca_gateway_console_restart
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ca_gateway_console_restart.sh $<TARGET_FILE:weftd>
                   $<TARGET_FILE:weftctl> /usr/bin/python3)
  set_tests_properties(integration.ca_gateway_console_restart PROPERTIES LABELS integration TIMEOUT 180 SKIP_RETURN_CODE 77)
endif()
