// The one Catch2 main of the test suite.
#define CATCH_CONFIG_MAIN
// ctest registers each test case from `--list-test-names-only`: names must never be wrapped.
#define CATCH_CONFIG_CONSOLE_WIDTH 400
#include <catch2/catch.hpp>
