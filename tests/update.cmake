# tests for weftctl update (included from tests/CMakeLists.txt): a real
# weftd updated, rolled back and resumed after a kill -9, without systemd
# or root (tests/update/weftctl_update.sh: .debs built with dpkg-deb,
# installed into a prefix). The same with real dpkg is in tools/package-check.
if(TARGET weftd AND TARGET weftctl AND TARGET weft-health-box)
  add_test(NAME integration.weftctl_update
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/update/weftctl_update.sh $<TARGET_FILE:weftd>
                   $<TARGET_FILE:weftctl> /usr/bin/python3 $<TARGET_FILE:weft-health-box>)
  # ~50 s here; under ASan on a loaded 2-core machine it ran past 120 s
  set_tests_properties(integration.weftctl_update PROPERTIES LABELS "integration;update" TIMEOUT 300
                                                             SKIP_RETURN_CODE 77)
endif()
if(TARGET weftd AND TARGET weftctl)
  add_test(NAME integration.weftctl_update_boot
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/update/weftctl_update_boot.sh $<TARGET_FILE:weftd>
                   $<TARGET_FILE:weftctl> /usr/bin/python3 ${PROJECT_SOURCE_DIR}/packaging/weft-update-resume.service)
  # ~40 s here with its ten cases; 126 s under ASan on a loaded 2-core machine
  set_tests_properties(integration.weftctl_update_boot PROPERTIES LABELS "integration;update" TIMEOUT 300
                                                                  SKIP_RETURN_CODE 77)
endif()
