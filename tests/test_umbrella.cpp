// The umbrella header from two translation units (support/umbrella_a.cpp and umbrella_b.cpp).
#include <catch2/catch.hpp>
#include <charlstm/charlstm.hpp>

int umbrella_a();
int umbrella_b();

TEST_CASE("The umbrella header links from several translation units", "[build]") {
  CHECK(umbrella_a() == 7);  // a b e l m r u
  CHECK(umbrella_b() == 7);
  CHECK(std::string(charlstm::version_string) == "0.1.0");
}
