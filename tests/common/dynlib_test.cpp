// DynamicLibrary: a library and its functions resolve; a missing library or function is an error
// naming it, the package to install and dlerror()'s reason.

#include "common/dynlib.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace dnsfence::common {
namespace {

std::string error_of(const auto& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(DynamicLibrary, ResolvesAFunctionThatWorks) {
  const DynamicLibrary libc("libc.so.6", "libc6");
  decltype(&::strlen) len = nullptr;
  libc.resolve("strlen", len);
  ASSERT_NE(len, nullptr);
  EXPECT_EQ(len("dnsfence"), 8U);
}

TEST(DynamicLibrary, AMissingLibraryNamesItsPackage) {
  const std::string e = error_of([] { DynamicLibrary("libdnsfence-absent.so.9", "libdnsfence-absent9"); });
  EXPECT_EQ(e.rfind("libdnsfence-absent.so.9: cannot load (is the libdnsfence-absent9 package installed?): ", 0), 0U)
      << e;
}

TEST(DynamicLibrary, AMissingFunctionIsNamed) {
  const DynamicLibrary libc("libc.so.6", "libc6");
  int (*f)() = nullptr;
  const std::string e = error_of([&] { libc.resolve("dnsfence_no_such_function", f); });
  EXPECT_EQ(e.rfind("libc.so.6: no function dnsfence_no_such_function: ", 0), 0U) << e;
  EXPECT_EQ(f, nullptr);
}

}  // namespace
}  // namespace dnsfence::common
