// libnftables is loaded on first use (serve and the witness never map it): every function the
// firewall calls resolves, and a context runs a script offline (no root: a parse-only check).

#include "firewall/libnftables.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dnsfence::firewall {
namespace {

TEST(LibNftables, LoadsEveryFunctionOnce) {
  const LibNftables& f = libnftables();
  EXPECT_NE(f.ctx_new, nullptr);
  EXPECT_NE(f.ctx_free, nullptr);
  EXPECT_NE(f.ctx_buffer_output, nullptr);
  EXPECT_NE(f.ctx_buffer_error, nullptr);
  EXPECT_NE(f.ctx_output_set_flags, nullptr);
  EXPECT_NE(f.run_cmd_from_buffer, nullptr);
  EXPECT_NE(f.ctx_get_error_buffer, nullptr);
  EXPECT_NE(f.ctx_get_output_buffer, nullptr);
  EXPECT_EQ(&libnftables(), &f);
}

TEST(LibNftables, ReportsAScriptError) {
  const LibNftables& f = libnftables();
  nft_ctx* ctx = f.ctx_new(NFT_CTX_DEFAULT);
  ASSERT_NE(ctx, nullptr);
  f.ctx_buffer_output(ctx);
  f.ctx_buffer_error(ctx);
  EXPECT_NE(f.run_cmd_from_buffer(ctx, "add table inet"), 0);  // no table name: a syntax error
  EXPECT_NE(std::string(f.ctx_get_error_buffer(ctx)).find("syntax error"), std::string::npos);
  f.ctx_free(ctx);
}

}  // namespace
}  // namespace dnsfence::firewall
