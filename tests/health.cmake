# tests for the health work: integration scripts and extra targets (included from tests/CMakeLists.txt).
