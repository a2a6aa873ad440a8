# tests for the Channel Access work (issue 13), included from tests/CMakeLists.txt.
# The codec's unit tests live in tests/drivers/ca/ (tag [ca]); the glob of
# tests/CMakeLists.txt does not descend into subfolders, so they join
# weft_tests here, unity-batched like the rest.
file(GLOB WEFT_CA_DRIVER_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/drivers/ca/*_test.cpp)
target_sources(weft_tests PRIVATE ${WEFT_CA_DRIVER_TESTS})
