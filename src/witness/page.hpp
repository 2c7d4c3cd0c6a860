#pragma once
// The leak-test page a browser opens (src/witness/page/: index.html, page.css, page.js), built
// into the binary at build time by cmake/embed.cmake and served by the witness's public HTTP
// listener. No external resource: the only other origins it talks to are the run's probe names.

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dnsfence::witness {

/// One file of src/witness/page/ as built into the binary.
struct EmbeddedFile {
  std::string_view name;   // "page.js"
  std::string_view bytes;  // the file's exact contents
};

/// The page's files, in the order src/witness/CMakeLists.txt lists them (a generated source).
std::span<const EmbeddedFile> embedded_files() noexcept;

/// A file of the page by its URL path.
struct PageAsset {
  std::string path;               // "/", "/page.css", "/page.js"
  std::string_view content_type;  // "text/html; charset=utf-8"
  std::string_view body;
};

/// Every asset: index.html at "/", the others at "/<name>".
std::span<const PageAsset> page_assets();
/// The asset at `path` (a query string is ignored; "/index.html" is "/"), or nullptr.
const PageAsset* find_page_asset(std::string_view path);

/// The headers of every page response: a Content-Security-Policy that lets the page load only its
/// own files and fetch only its own origin and the probe names under `zone` (http and https, any
/// port), no referrer, no MIME sniffing, no framing, no caching.
std::vector<std::pair<std::string, std::string>> page_headers(std::string_view zone);

/// The headers of a probe-name answer: any origin may read it and its timing (CORS and
/// Timing-Allow-Origin, which the Resource Timing API needs to show the lookup's duration).
std::vector<std::pair<std::string, std::string>> probe_headers();

}  // namespace dnsfence::witness
