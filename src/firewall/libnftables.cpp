#include "firewall/libnftables.hpp"

#include <dlfcn.h>

#include <stdexcept>
#include <string>

namespace dnsfence::firewall {
namespace {

constexpr const char* kSoname = "libnftables.so.1";

std::runtime_error load_error(const std::string& what) {
  const char* reason = dlerror();
  return std::runtime_error(std::string(kSoname) + ": " + what + (reason != nullptr ? std::string(": ") + reason : ""));
}

template <typename F>
void resolve(void* handle, const char* name, F& out) {
  void* p = dlsym(handle, name);
  if (p == nullptr) throw load_error(std::string("no function ") + name);
  out = reinterpret_cast<F>(p);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): dlsym's contract
}

LibNftables load() {
  // Never closed: the functions stay valid for the life of the process.
  void* h = dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) throw load_error("cannot load (is the libnftables1 package installed?)");
  LibNftables f{};
  resolve(h, "nft_ctx_new", f.ctx_new);
  resolve(h, "nft_ctx_free", f.ctx_free);
  resolve(h, "nft_ctx_buffer_output", f.ctx_buffer_output);
  resolve(h, "nft_ctx_buffer_error", f.ctx_buffer_error);
  resolve(h, "nft_ctx_output_set_flags", f.ctx_output_set_flags);
  resolve(h, "nft_run_cmd_from_buffer", f.run_cmd_from_buffer);
  resolve(h, "nft_ctx_get_error_buffer", f.ctx_get_error_buffer);
  resolve(h, "nft_ctx_get_output_buffer", f.ctx_get_output_buffer);
  return f;
}

}  // namespace

const LibNftables& libnftables() {
  static const LibNftables f = load();  // a failed load throws and is tried again next time
  return f;
}

}  // namespace dnsfence::firewall
