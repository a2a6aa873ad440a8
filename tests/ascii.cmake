# tests for the ascii work: integration scripts and extra targets (included from tests/CMakeLists.txt).

# Integration tests against real peers (label "integration"): a pyserial
# writer (tests/integration/ascii_line_peer.py, no weft code) plays an ASCII
# instrument on a socat pty pair read by the real weftd; pyserial reads
# weft-devsim's simulated ASCII instruments on a pty and checks the NMEA
# checksums itself.
set(WEFT_ASCII_PEER ${CMAKE_CURRENT_SOURCE_DIR}/integration/ascii_line_peer.py)
add_test(NAME integration.weftd_ascii_pty
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/weftd_ascii_pty.sh $<TARGET_FILE:weftd>
                 ${WEFT_ASCII_PEER} /usr/bin/python3)
set(WEFT_ASCII_INTEGRATION integration.weftd_ascii_pty)
if(TARGET weft-devsim)
  add_test(NAME integration.devsim_ascii_pyserial
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/devsim_ascii_pyserial.sh $<TARGET_FILE:weft-devsim>
                   ${WEFT_ASCII_PEER} /usr/bin/python3)
  list(APPEND WEFT_ASCII_INTEGRATION integration.devsim_ascii_pyserial)
endif()
set_tests_properties(${WEFT_ASCII_INTEGRATION} PROPERTIES LABELS integration TIMEOUT 90)
