#include "witness/page.hpp"

#include <algorithm>

namespace dnsfence::witness {
namespace {

std::string_view content_type(std::string_view name) noexcept {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace

std::span<const PageAsset> page_assets() {
  // Built once, on first use (the embedded bytes are static; only the paths are allocated).
  static const std::vector<PageAsset> assets = [] {
    std::vector<PageAsset> out;
    for (const auto& f : embedded_files()) {
      std::string path(1, '/');  // appended: "/" + a temporary is g++ 12's false -Wrestrict at -O3
      if (f.name != "index.html") path += f.name;
      out.push_back({std::move(path), content_type(f.name), f.bytes});
    }
    return out;
  }();
  return assets;
}

const PageAsset* find_page_asset(std::string_view path) {
  path = path.substr(0, path.find('?'));
  if (path == "/index.html") path = "/";
  const auto assets = page_assets();
  const auto it = std::find_if(assets.begin(), assets.end(), [&](const PageAsset& a) { return a.path == path; });
  return it == assets.end() ? nullptr : &*it;
}

std::vector<std::pair<std::string, std::string>> page_headers(std::string_view zone) {
  std::string z(zone);
  if (z.ends_with('.')) z.pop_back();
  const std::string probes = "http://*." + z + ":* https://*." + z + ":*";
  return {{"Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' " +
                                          probes + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
          {"Referrer-Policy", "no-referrer"},
          {"X-Content-Type-Options", "nosniff"},
          {"Cache-Control", "no-store"}};
}

std::vector<std::pair<std::string, std::string>> probe_headers() {
  return {{"Access-Control-Allow-Origin", "*"},
          {"Timing-Allow-Origin", "*"},
          {"Cache-Control", "no-store"},
          {"X-Content-Type-Options", "nosniff"}};
}

}  // namespace dnsfence::witness
