# tests for the upload work: integration scripts and extra targets (included from tests/CMakeLists.txt).
