#pragma once
// Shared libraries loaded on first use (dlopen). Each library only some commands need (libnftables
// for the firewall, libpcap and sd-bus for leaktest) is loaded by those commands alone, so the
// daemons (serve, witness) do not map it, relocate it or carry its dependencies: less resident
// memory and less code in a public-facing process (see tests/e2e/serve/inflight_rss.sh).

#include <string>

namespace dnsfence::common {

/// One loaded library, never closed: the functions resolved from it stay valid for the life of
/// the process.
class DynamicLibrary {
 public:
  /// Loads `soname`. Throws std::runtime_error naming it, the Debian `package` that provides it
  /// and dlerror()'s reason.
  DynamicLibrary(const char* soname, const char* package);

  /// Sets `out` to the function `name`; throws std::runtime_error if the library lacks it.
  template <typename F>
  void resolve(const char* name, F& out) const {
    out = reinterpret_cast<F>(symbol(name));  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): dlsym's contract
  }

 private:
  [[nodiscard]] void* symbol(const char* name) const;

  std::string soname_;
  void* handle_ = nullptr;
};

}  // namespace dnsfence::common
