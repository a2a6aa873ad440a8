# tests for the store work: integration scripts and extra targets (included from tests/CMakeLists.txt).
