#include "firewall/libnftables.hpp"

#include "common/dynlib.hpp"

namespace dnsfence::firewall {
namespace {

LibNftables load() {
  const common::DynamicLibrary lib("libnftables.so.1", "libnftables1");
  LibNftables f{};
  lib.resolve("nft_ctx_new", f.ctx_new);
  lib.resolve("nft_ctx_free", f.ctx_free);
  lib.resolve("nft_ctx_buffer_output", f.ctx_buffer_output);
  lib.resolve("nft_ctx_buffer_error", f.ctx_buffer_error);
  lib.resolve("nft_ctx_output_set_flags", f.ctx_output_set_flags);
  lib.resolve("nft_run_cmd_from_buffer", f.run_cmd_from_buffer);
  lib.resolve("nft_ctx_get_error_buffer", f.ctx_get_error_buffer);
  lib.resolve("nft_ctx_get_output_buffer", f.ctx_get_output_buffer);
  return f;
}

}  // namespace

const LibNftables& libnftables() {
  static const LibNftables f = load();  // a failed load throws and is tried again next time
  return f;
}

}  // namespace dnsfence::firewall
