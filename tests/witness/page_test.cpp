// The leak-test page as built into the binary: exactly the files of src/witness/page/, small, and
// with nothing that loads from elsewhere, stores anything in the browser, or tracks.
#include "witness/page.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

namespace dnsfence::witness {
namespace {

std::string source(std::string_view name) {
  std::ifstream in(std::string(DNSFENCE_TEST_DATA) + "/../../src/witness/page/" + std::string(name), std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string body(std::string_view path) {
  const PageAsset* a = find_page_asset(path);
  return a == nullptr ? std::string() : std::string(a->body);
}

TEST(Page, ServesEachFileByPathWithItsType) {
  ASSERT_NE(find_page_asset("/"), nullptr);
  EXPECT_EQ(find_page_asset("/")->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(find_page_asset("/index.html"), find_page_asset("/"));
  EXPECT_EQ(find_page_asset("/?utm=x"), find_page_asset("/"));
  ASSERT_NE(find_page_asset("/page.css"), nullptr);
  EXPECT_EQ(find_page_asset("/page.css")->content_type, "text/css; charset=utf-8");
  ASSERT_NE(find_page_asset("/page.js"), nullptr);
  EXPECT_EQ(find_page_asset("/page.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(find_page_asset("/runs"), nullptr);
  EXPECT_EQ(find_page_asset("/../etc/passwd"), nullptr);
  EXPECT_EQ(find_page_asset(""), nullptr);
}

TEST(Page, EmbeddedBytesAreTheSourceFiles) {
  ASSERT_EQ(embedded_files().size(), 3U);
  for (const auto& f : embedded_files()) {
    const std::string want = source(f.name);
    ASSERT_FALSE(want.empty()) << f.name;
    EXPECT_EQ(f.bytes, want) << f.name << " differs from its source: the build did not re-embed it";
  }
}

TEST(Page, WholePageIsUnder50KiB) {
  std::size_t total = 0;
  for (const auto& a : page_assets()) total += a.body.size();
  EXPECT_LT(total, 50U * 1024U) << "the issue's budget for the page, all files together";
  EXPECT_GT(total, 0U);
}

TEST(Page, LoadsNothingFromElsewhere) {
  const std::string html = body("/");
  // Every src/href is a path on the witness itself ("/page.js"), never a scheme or "//host".
  const std::regex ref(R"((src|href)\s*=\s*"([^"]*)\")");
  int refs = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), ref); it != std::sregex_iterator(); ++it) {
    const std::string target = (*it)[2];
    EXPECT_TRUE(target.starts_with("/") && !target.starts_with("//")) << target;
    ++refs;
  }
  EXPECT_EQ(refs, 2) << "page.css and page.js";
  const std::string css = body("/page.css");
  EXPECT_EQ(css.find("url("), std::string::npos);
  EXPECT_EQ(css.find("@import"), std::string::npos);
  // The script builds probe URLs from location.protocol: no absolute URL of its own.
  const std::string js = body("/page.js");
  for (const char* s : {"http://", "https://", "import(", "importScripts", "<script"})
    EXPECT_EQ(js.find(s), std::string::npos) << s;
}

TEST(Page, StoresNothingInTheBrowserAndSendsNoCredentials) {
  const std::string js = body("/page.js");
  for (const char* s : {"document.cookie", "localStorage", "sessionStorage", "indexedDB", "navigator.sendBeacon"})
    EXPECT_EQ(js.find(s), std::string::npos) << s;
  // Every fetch omits credentials (no cookie could ride along even if one existed).
  const std::regex fetches(R"(fetch\()");
  const auto n_fetch = std::distance(std::sregex_iterator(js.begin(), js.end(), fetches), std::sregex_iterator());
  const std::regex omit(R"(credentials: 'omit')");
  const auto n_omit = std::distance(std::sregex_iterator(js.begin(), js.end(), omit), std::sregex_iterator());
  EXPECT_EQ(n_fetch, n_omit);
}

TEST(Page, IsUsableOnAPhoneAndWithAScreenReader) {
  const std::string html = body("/");
  EXPECT_NE(html.find("<html lang=\"en\">"), std::string::npos);
  EXPECT_NE(html.find("name=\"viewport\" content=\"width=device-width"), std::string::npos);
  // Progress is announced (a live status region); the verdict is a heading that gets focus.
  EXPECT_NE(html.find("role=\"status\" aria-live=\"polite\""), std::string::npos);
  EXPECT_NE(html.find("<h2 id=\"verdict\" tabindex=\"-1\">"), std::string::npos);
  EXPECT_NE(html.find("<button id=\"start\" type=\"button\">"), std::string::npos);
  // Details one click away: native <details>, keyboard- and reader-friendly without ARIA tricks.
  EXPECT_NE(html.find("<details id=\"privacy\">"), std::string::npos);
  EXPECT_NE(body("/page.js").find("el('details')"), std::string::npos);
}

TEST(Page, SaysWhatItKeepsAndForHowLong) {
  const std::string html = body("/");
  EXPECT_NE(html.find("What this test keeps"), std::string::npos);
  EXPECT_NE(html.find("Nothing about any other lookup"), std::string::npos);
  EXPECT_NE(html.find("id=\"retention\""), std::string::npos);
}

TEST(PageHeaders, PolicyAllowsOnlyTheWitnessAndItsProbeNames) {
  std::string csp;
  for (const auto& [k, v] : page_headers("leak.test.")) {
    if (k == "Content-Security-Policy") csp = v;
  }
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("connect-src 'self' http://*.leak.test:* https://*.leak.test:*"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe"), std::string::npos);
}

TEST(PageHeaders, ProbeAnswersAllowCorsAndTiming) {
  const auto h = probe_headers();
  auto has = [&](std::string_view k, std::string_view v) {
    return std::any_of(h.begin(), h.end(), [&](const auto& p) { return p.first == k && p.second == v; });
  };
  EXPECT_TRUE(has("Access-Control-Allow-Origin", "*"));
  EXPECT_TRUE(has("Timing-Allow-Origin", "*"));
  EXPECT_TRUE(has("Cache-Control", "no-store"));
}

}  // namespace
}  // namespace dnsfence::witness
