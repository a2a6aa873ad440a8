# tests for the console work: integration scripts and extra targets (included from tests/CMakeLists.txt).
