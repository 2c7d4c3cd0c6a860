#pragma once
// libnftables, loaded on first use. Only the firewall commands need it; serve and the witness
// never touch nftables, so they do not pay for mapping and relocating it and its five
// dependencies (about half a MiB resident, see tests/e2e/serve/inflight_rss.sh).

#include <nftables/libnftables.h>

namespace dnsfence::firewall {

/// The libnftables functions the firewall uses.
struct LibNftables {
  decltype(&::nft_ctx_new) ctx_new;
  decltype(&::nft_ctx_free) ctx_free;
  decltype(&::nft_ctx_buffer_output) ctx_buffer_output;
  decltype(&::nft_ctx_buffer_error) ctx_buffer_error;
  decltype(&::nft_ctx_output_set_flags) ctx_output_set_flags;
  decltype(&::nft_run_cmd_from_buffer) run_cmd_from_buffer;
  decltype(&::nft_ctx_get_error_buffer) ctx_get_error_buffer;
  decltype(&::nft_ctx_get_output_buffer) ctx_get_output_buffer;
};

/// Loads libnftables.so.1 the first time (thread-safe) and returns its functions, the same ones
/// for the life of the process. Throws std::runtime_error naming the library and dlerror()'s
/// reason when it is missing or lacks a function.
const LibNftables& libnftables();

}  // namespace dnsfence::firewall
