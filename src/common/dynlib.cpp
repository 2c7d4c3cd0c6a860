#include "common/dynlib.hpp"

#include <dlfcn.h>

#include <stdexcept>

namespace dnsfence::common {
namespace {

std::runtime_error load_error(const std::string& soname, const std::string& what) {
  const char* reason = dlerror();
  return std::runtime_error(soname + ": " + what + (reason != nullptr ? std::string(": ") + reason : ""));
}

}  // namespace

DynamicLibrary::DynamicLibrary(const char* soname, const char* package)
    : soname_(soname), handle_(dlopen(soname, RTLD_NOW | RTLD_LOCAL)) {
  if (handle_ == nullptr)
    throw load_error(soname_, std::string("cannot load (is the ") + package + " package installed?)");
}

void* DynamicLibrary::symbol(const char* name) const {
  void* p = dlsym(handle_, name);
  if (p == nullptr) throw load_error(soname_, std::string("no function ") + name);
  return p;
}

}  // namespace dnsfence::common
