// libpcap and sd-bus are loaded on first use (serve and the witness never map them): every
// function leaktest calls resolves, the same table each time, and each one works offline.

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "detector/libpcap.hpp"
#include "detector/libsdbus.hpp"

namespace dnsfence::detector {
namespace {

// load() throws at the first function the library lacks: loading at all means every one resolved.
TEST(LibPcap, LoadsEveryFunctionOnce) {
  const LibPcap* f = nullptr;
  ASSERT_NO_THROW(f = &libpcap());
  EXPECT_EQ(&libpcap(), f);
}

// Calls through the table, root or not: a handle on a device that does not exist is created,
// fails to activate, and says why in its own buffer.
TEST(LibPcap, CreatesAHandleAndReportsErrors) {
  const LibPcap& f = libpcap();
  std::array<char, PCAP_ERRBUF_SIZE> err{};
  pcap_t* p = f.create("dnsfence-none0", err.data());
  ASSERT_NE(p, nullptr) << err.data();
  EXPECT_LT(f.activate(p), 0) << "no such device";
  EXPECT_FALSE(std::string(f.geterr(p)).empty());
  f.close(p);
}

TEST(LibSdBus, LoadsEveryFunctionOnce) {
  const LibSdBus* loaded = nullptr;
  ASSERT_NO_THROW(loaded = &libsdbus());
  EXPECT_EQ(&libsdbus(), loaded);
  const LibSdBus& f = *loaded;
  sd_bus_error e = SD_BUS_ERROR_NULL;
  f.error_free(&e);  // a call through the table: freeing an empty error is always allowed
  EXPECT_EQ(e.name, nullptr);
}

}  // namespace
}  // namespace dnsfence::detector
