# tests for the console work: integration scripts and extra targets (included from tests/CMakeLists.txt).
# tests/console: weftd's console and weftctl as processes: weftctl --exec
# (every command, exit codes, stale and live sockets, --simulate), refusal
# of another uid (setpriv, as nobody), 100 concurrent clients and a client
# that stops reading, churn (1,000 connections dropped every way, half-open
# and byte-a-second clients: fds and RSS back to the baseline, SIGTERM with
# half-open ones held), and weftctl on a real terminal (tmux: completion,
# history); `config history`, `weftctl reload` and packaging/weftd.service;
# the live reload on a real weftd ([store] changes among them), the
# config-file watch (watch_config) and per-service log_level.
# All labelled `integration`.
if(TARGET weftctl)
  set(WEFT_CONSOLE_DIR ${CMAKE_CURRENT_SOURCE_DIR}/console)
  set(WEFT_CONSOLE_TESTS)
  foreach(script console_exec console_refusal console_clients weftctl_pty console_reload console_history weftctl_reload
                 console_churn reload_concurrent reload_stop_midway reload_watch reload_watch_stop reload_log_level)
    add_test(NAME console.${script}
             COMMAND bash ${WEFT_CONSOLE_DIR}/${script}.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl> /usr/bin/python3)
    list(APPEND WEFT_CONSOLE_TESTS console.${script})
  endforeach()
  set_tests_properties(${WEFT_CONSOLE_TESTS} PROPERTIES LABELS integration TIMEOUT 120)
  # Live reload applied to a real weftd (issue 12): gather on a weft-devsim
  # pty, record into a store, a fake notify socket; SIGHUP and weftctl reload
  # (weftctl_reload_console: a reload that restarts the console itself).
  if(TARGET weft-devsim)
    set(WEFT_RELOAD_TESTS)
    foreach(script reload_apply reload_refused_sighup reload_rollback reload_add_remove weftctl_reload_console)
      add_test(NAME console.${script}
               COMMAND bash ${WEFT_CONSOLE_DIR}/${script}.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl> /usr/bin/python3
                       $<TARGET_FILE:weft-devsim>)
      list(APPEND WEFT_RELOAD_TESTS console.${script})
    endforeach()
    set_tests_properties(${WEFT_RELOAD_TESTS} PROPERTIES LABELS integration TIMEOUT 120)
  endif()
  # A live [store] change on the same database file while 1,000 readings/s
  # flow (issue 12): applied (batch_rows, synchronous), rolled back, and
  # record switched off and on (the intake released); the ledger checked
  # with the sqlite3 CLI afterwards.
  find_program(WEFT_RELOAD_SQLITE3 sqlite3)
  if(WEFT_RELOAD_SQLITE3)
    set(WEFT_STORE_RELOAD_TESTS)
    foreach(script reload_store reload_store_rollback reload_record_off reload_store_stop reload_store_move)
      add_test(NAME console.${script}
               COMMAND bash ${WEFT_CONSOLE_DIR}/${script}.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl> /usr/bin/python3)
      set_tests_properties(console.${script} PROPERTIES ENVIRONMENT SQLITE=${WEFT_RELOAD_SQLITE3})
      list(APPEND WEFT_STORE_RELOAD_TESTS console.${script})
    endforeach()
    set_tests_properties(${WEFT_STORE_RELOAD_TESTS} PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77)
  endif()
  # The [realtime] profile read back from /proc; refusals by dropping
  # capabilities (setpriv) and limits (prlimit). Needs root: else 77.
  add_test(NAME console.realtime_profile
           COMMAND bash ${WEFT_CONSOLE_DIR}/realtime_profile.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl> /usr/bin/python3)
  set_tests_properties(console.realtime_profile PROPERTIES LABELS integration TIMEOUT 90 SKIP_RETURN_CODE 77)
  # packaging/weftd.service judged by systemd-analyze (skipped, 77, without it).
  add_test(NAME console.weftd_unit COMMAND bash ${WEFT_CONSOLE_DIR}/weftd_unit.sh $<TARGET_FILE:weftd> $<TARGET_FILE:weftctl>)
  set_tests_properties(console.weftd_unit PROPERTIES LABELS integration TIMEOUT 60 SKIP_RETURN_CODE 77)
endif()
