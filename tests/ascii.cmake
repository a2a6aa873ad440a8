# tests for the ascii work: integration scripts and extra targets (included from tests/CMakeLists.txt).
